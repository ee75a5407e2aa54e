"""The library versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("llmgine >= 0.0.1",)
