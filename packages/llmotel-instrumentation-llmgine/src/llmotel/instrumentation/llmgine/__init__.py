"""OpenTelemetry instrumentation for LLMgine's MessageBus."""
