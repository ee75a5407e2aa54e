"""The library versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("botocore >= 1.35.0",)
_supports_metrics = True
