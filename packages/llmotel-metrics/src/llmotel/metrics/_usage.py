"""Reading a GenAI span's operation, provider, models and token counts from its attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple

from llmotel.semconv import attributes as semconv_attrs
from llmotel.semconv import latest as semconv_latest
from llmotel.semconv.deprecated import SYSTEM_TO_PROVIDER_NAME

__all__ = ["INFERENCE_OPERATIONS", "SpanUsage", "read_usage", "totals"]

#: Operations that are one model call: only these carry token usage worth metering. Agent and
#: workflow spans may repeat their children's usage as a total; counting them would count twice.
INFERENCE_OPERATIONS: Final = frozenset(
    {"chat", "text_completion", "generate_content", "embeddings"}
)

_OP = semconv_attrs.GEN_AI_OPERATION_NAME
_PROVIDER = semconv_attrs.GEN_AI_PROVIDER_NAME
_SYSTEM = (
    semconv_attrs.GEN_AI_SYSTEM
)  # deprecated predecessor of gen_ai.provider.name, still emitted by some
_INPUT = semconv_attrs.GEN_AI_USAGE_INPUT_TOKENS
_INPUT_OLD = semconv_attrs.GEN_AI_USAGE_PROMPT_TOKENS
_OUTPUT = semconv_attrs.GEN_AI_USAGE_OUTPUT_TOKENS
_OUTPUT_OLD = semconv_attrs.GEN_AI_USAGE_COMPLETION_TOKENS
_CACHE_READ = semconv_attrs.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
_CACHE_WRITE_V141 = semconv_attrs.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
_CACHE_WRITE = semconv_latest.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS
_REASONING = semconv_attrs.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
_REQUEST_MODEL = semconv_attrs.GEN_AI_REQUEST_MODEL
_RESPONSE_MODEL = semconv_attrs.GEN_AI_RESPONSE_MODEL


class SpanUsage(NamedTuple):
    """What a GenAI span says about its call. Token counts are ``None`` when the span has none.

    ``input_tokens`` includes the cache counts (semantic conventions): when a span reports cache
    counts larger than its input count, its instrumentation followed the provider's own convention
    (Anthropic's ``input_tokens`` excludes cache tokens) and the cache counts are added back.
    """

    operation: str
    provider: str
    request_model: str | None
    response_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int

    @property
    def model(self) -> str | None:
        """The model to price: the one that answered, else the one asked for."""
        return self.response_model or self.request_model


_new_tuple = tuple.__new__


def _count(value: object) -> int | None:
    if type(value) is int and value >= 0:
        return value
    if type(value) is float and value >= 0 and value.is_integer():
        return int(value)
    return None


def _str(value: object) -> str | None:
    return value if type(value) is str and value else None


def totals(input_tokens: int, output_tokens: int, cache: int, reasoning: int) -> tuple[int, int]:
    """Input and output totals as the semantic conventions define them: the input count includes the
    cache reads and writes (``cache``), the output count the reasoning tokens.

    A cache count larger than the input count means the instrumentation followed its provider's
    convention (Anthropic's ``input_tokens`` excludes cache tokens): the cache tokens are added back.
    Reasoning tokens larger than the output count are added the same way. This is the one place
    that rule lives; :func:`read_usage` and :meth:`Pricing.cost` both apply it.
    """
    if cache > input_tokens:
        input_tokens += cache
    if reasoning > output_tokens:
        output_tokens += reasoning
    return input_tokens, output_tokens


def read_usage(attributes: Mapping[str, object] | None) -> SpanUsage | None:
    """The usage of a finished span, or ``None`` when it is not a GenAI inference span."""
    if not attributes:
        return None
    operation = attributes.get(_OP)
    if operation not in INFERENCE_OPERATIONS:
        return None
    get = attributes.get
    # Runs for every inference span on the application thread: the common case (a non-negative
    # int count, a non-empty str) is checked inline; anything else goes through _count/_str.
    provider = get(_PROVIDER)
    if type(provider) is not str or not provider:
        system = _str(get(_SYSTEM))
        provider = SYSTEM_TO_PROVIDER_NAME.get(system, system) if system else "unknown"
    input_tokens = get(_INPUT)
    if type(input_tokens) is not int or input_tokens < 0:
        input_tokens = _count(input_tokens)
        if input_tokens is None:
            input_tokens = _count(get(_INPUT_OLD))
    output_tokens = get(_OUTPUT)
    if type(output_tokens) is not int or output_tokens < 0:
        output_tokens = _count(output_tokens)
        if output_tokens is None:
            output_tokens = _count(get(_OUTPUT_OLD))
    cache_read = get(_CACHE_READ)
    cache_read = 0 if cache_read is None else _count(cache_read) or 0
    cache_write = get(_CACHE_WRITE)
    cache_write = None if cache_write is None else _count(cache_write)
    if not cache_write:
        cache_write_v141 = get(_CACHE_WRITE_V141)
        cache_write = 0 if cache_write_v141 is None else _count(cache_write_v141) or 0
    reasoning = get(_REASONING)
    reasoning = 0 if reasoning is None else _count(reasoning) or 0
    if input_tokens is not None and output_tokens is not None:
        input_tokens, output_tokens = totals(
            input_tokens, output_tokens, cache_read + cache_write, reasoning
        )
    elif input_tokens is not None:
        input_tokens = totals(input_tokens, 0, cache_read + cache_write, 0)[0]
    elif output_tokens is not None:
        output_tokens = totals(0, output_tokens, 0, reasoning)[1]
    request_model = get(_REQUEST_MODEL)
    if type(request_model) is not str or not request_model:
        request_model = None
    response_model = get(_RESPONSE_MODEL)
    if type(response_model) is not str or not response_model:
        response_model = None
    # tuple.__new__ builds the same SpanUsage without NamedTuple's Python-level __new__.
    return _new_tuple(
        SpanUsage,
        (
            operation,
            provider,
            request_model,
            response_model,
            input_tokens,
            output_tokens,
            cache_read,
            cache_write,
            reasoning,
        ),
    )
