"""The library versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("google-genai >= 1.32.0",)
_supports_metrics = True
