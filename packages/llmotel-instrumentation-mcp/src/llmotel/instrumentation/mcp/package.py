"""The library versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("mcp >= 1.9.0",)
_supports_metrics = True
