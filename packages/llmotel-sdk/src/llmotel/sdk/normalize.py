"""Rewriting spans of other LLM instrumentations into GenAI semconv v1.41.

:class:`ConventionNormalizer` is a span pipeline stage; ``docs/normalization.md`` lists what maps
to what.
"""

from llmotel.sdk._normalizer import MCP_SDK_CLIENT_PREFIX, ConventionNormalizer, NormalizeMode

__all__ = ["MCP_SDK_CLIENT_PREFIX", "ConventionNormalizer", "NormalizeMode"]
