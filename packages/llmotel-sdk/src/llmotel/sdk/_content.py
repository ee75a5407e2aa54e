"""Which attributes carry message content: what a fail-closed pipeline strips."""

from __future__ import annotations

from llmotel.semconv.attributes import (
    CONTENT_ATTRIBUTES,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
)
from llmotel.semconv.extensions import LLMOTEL_CONTENT_REMOVED

__all__ = ["CONTENT_REMOVED_ATTRIBUTE", "is_content_attribute", "is_event_content_attribute"]

#: Set on a record whose content the pipeline removed; the value says why (see llmotel.semconv.extensions).
CONTENT_REMOVED_ATTRIBUTE = LLMOTEL_CONTENT_REMOVED

# Other conventions put content under indexed or free-form keys (see docs/normalization.md):
# OpenInference (llm.input_messages.0.message.content, input.value, ...) and OpenLLMetry
# (gen_ai.prompt.0.content, traceloop.entity.input, ...).
_FOREIGN_CONTENT_PREFIXES = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.prompts",
    "llm.prompt_template.",
    "llm.tools.",
    "llm.request.functions.",
    "input.value",
    "output.value",
    "message.content",
    "tool.parameters",
    "tool_call.function.arguments",
    "embedding.embeddings.",
    "retrieval.documents.",
    "reranker.input_documents.",
    "reranker.output_documents.",
    "reranker.query",
    "traceloop.entity.input",
    "traceloop.entity.output",
)

# Exception events repeat whatever text the exception carried, which may be prompt text.
_EVENT_TEXT = frozenset({EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE})

_CONTENT = CONTENT_ATTRIBUTES


def is_content_attribute(key: str) -> bool:
    """Whether a span, link or log attribute named ``key`` may hold prompt/response content."""
    return key in _CONTENT or key.startswith(_FOREIGN_CONTENT_PREFIXES)


def is_event_content_attribute(key: str) -> bool:
    """Like :func:`is_content_attribute`, plus the free text of exception events."""
    return key in _EVENT_TEXT or is_content_attribute(key)
