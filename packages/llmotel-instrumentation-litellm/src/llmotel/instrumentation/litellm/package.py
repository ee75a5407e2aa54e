"""The library versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("litellm >= 1.74.0",)
_supports_metrics = True
