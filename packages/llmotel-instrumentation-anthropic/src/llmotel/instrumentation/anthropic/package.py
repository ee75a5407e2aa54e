"""The library versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("anthropic >= 0.60.0",)
_supports_metrics = True
