"""The library versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("mistralai >= 1.2.0",)
_supports_metrics = True
