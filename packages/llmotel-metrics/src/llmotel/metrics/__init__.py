"""Token and cost metrics for LLM calls, with the Views that bucket and bound them."""
