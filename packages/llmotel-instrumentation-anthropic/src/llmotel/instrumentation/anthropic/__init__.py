"""OpenTelemetry instrumentation for the anthropic SDK, following the GenAI semantic conventions."""
