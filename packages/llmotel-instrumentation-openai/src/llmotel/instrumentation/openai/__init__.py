"""OpenTelemetry instrumentation for the openai SDK, following the GenAI semantic conventions."""
