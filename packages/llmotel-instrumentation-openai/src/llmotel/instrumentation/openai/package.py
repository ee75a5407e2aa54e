"""The library versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("openai >= 1.66.0",)
_supports_metrics = True
