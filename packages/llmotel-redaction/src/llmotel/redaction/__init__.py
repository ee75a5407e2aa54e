"""PII and secret redaction of spans and logs, inside prompt and completion content."""
