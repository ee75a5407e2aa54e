"""The span/log pipeline and the LLM semantic-convention span processors for the OpenTelemetry SDK."""
