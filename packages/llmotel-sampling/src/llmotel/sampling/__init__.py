"""Session-consistent head sampling and LLM-aware tail sampling with bounded memory."""
