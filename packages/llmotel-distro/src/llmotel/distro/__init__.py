"""Zero-code llmotel setup under opentelemetry-instrument, and the llmotel CLI."""
