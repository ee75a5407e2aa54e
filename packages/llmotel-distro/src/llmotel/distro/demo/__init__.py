"""Small LLM apps the ``llmotel demo`` runs under ``opentelemetry-instrument`` against the local stub server.

They are ordinary programs: the SDK clients read ``OPENAI_BASE_URL``/``ANTHROPIC_BASE_URL`` and the API keys from the
environment, and nothing in them is llmotel-specific except the ``using_session``/``using_user`` context.
"""
