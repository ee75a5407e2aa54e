"""A local LLM stub server (OpenAI and Anthropic HTTP APIs) and pytest fixtures for in-memory telemetry capture."""
