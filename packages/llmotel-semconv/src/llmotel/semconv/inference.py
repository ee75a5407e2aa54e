"""One GenAI inference call → one CLIENT span, its metrics and its details event.

Every llmotel LLM instrumentation (openai, anthropic, llmgine) emits through this module, so the
telemetry of a call does not depend on which SDK made it. Provider code fills an :class:`Invocation`
from the SDK's arguments and response; an :class:`InferenceTelemetry` (one per instrumentor) turns it
into telemetry::

    telemetry = InferenceTelemetry("llmotel.instrumentation.openai", __version__)
    if telemetry.should_skip():          # suppressed, or another GenAI span is already open for it
        return call()
    inv = Invocation("chat", "openai", request_model="gpt-4o-mini")
    telemetry.start(inv)                 # starts `chat gpt-4o-mini` and makes it current
    try:
        result = call()
    except BaseException as exc:
        telemetry.fail(inv, exc)         # error.type, ERROR status, recorded exception
        raise
    inv.input_tokens = result.usage.prompt_tokens
    telemetry.finish(inv)                # attributes, metrics, details event

What is emitted follows GenAI semantic conventions v1.41.0, or the newest experimental names when
``OTEL_SEMCONV_STABILITY_OPT_IN`` has ``gen_ai_latest_experimental``; message content only when
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for it (see :mod:`llmotel.semconv.capture`).
No method of :class:`InferenceTelemetry` raises: a failure inside is logged once and the call goes on.
"""

from __future__ import annotations

import importlib
import json
import logging
import operator
import os
import time
import traceback
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import LoggerProvider, LogRecord, SeverityNumber, get_logger
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context
from opentelemetry.metrics import MeterProvider, NoOpMeter, get_meter
from opentelemetry.trace import (
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TracerProvider,
)
from opentelemetry.util.types import AttributeValue

from llmotel.semconv import attributes as semconv_attrs
from llmotel.semconv import events as semconv_events
from llmotel.semconv import latest as semconv_latest
from llmotel.semconv import messages as _msg
from llmotel.semconv import metrics as semconv_metrics
from llmotel.semconv import points as _points
from llmotel.semconv.capture import CaptureSettings, capture_settings_from_env
from llmotel.semconv.extensions import LLMOTEL_RECORDED_METRICS, LLMOTEL_STREAM_ABANDONED

__all__ = [
    "DURATION_BUCKETS",
    "INSTRUMENTATION_CONFLICT",
    "STREAM_ABANDONED",
    "TOKEN_BUCKETS",
    "InferenceTelemetry",
    "Invocation",
    "inference_in_progress",
    "release_peers",
    "settle_peers",
]

_log = logging.getLogger(__name__)

#: Advisory bucket boundaries of the semconv duration histograms (seconds).
DURATION_BUCKETS: Final = semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION_BUCKETS
#: Advisory bucket boundaries of the semconv token histograms (powers of 4 up to 4**13).
TOKEN_BUCKETS: Final = semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE_BUCKETS
#: Set (``True``) on the span of a stream that was garbage-collected before it was read to the end.
STREAM_ABANDONED: Final = LLMOTEL_STREAM_ABANDONED

# Set in the context while one of our inference spans is current: nested SDK calls (``parse`` →
# ``create``, a stream helper → ``create``) and a second instrumentation of ours see it and skip.
_IN_PROGRESS_KEY: Final = otel_context.create_key("llmotel-genai-inference")
_LLM_KINDS: Final = frozenset({"LLM", "EMBEDDING"})  # openinference.span.kind of a peer's LLM span
_OPENINFERENCE_KIND: Final = "openinference.span.kind"

_CLIENT = SpanKind.CLIENT


# (duration and chunk times, input tokens, output tokens) attributes of one call's metric points
_MetricAttributeSets = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]
_ATTRIBUTE_SETS_LIMIT: Final = 512  # distinct metric attribute sets cached per emitter
_INFERENCE_OPERATIONS: Final = frozenset({"chat", "text_completion", "generate_content"})


def _qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def inference_in_progress(ctx: Context | None = None) -> bool:
    """Whether an llmotel inference span is current in ``ctx`` (default: the current context)."""
    return bool(otel_context.get_value(_IN_PROGRESS_KEY, ctx))


class Invocation:
    """One inference call, as the provider-specific code describes it.

    Construct it with what is known before the call (the operation name, the provider's semconv name
    and the request), hand it to :meth:`InferenceTelemetry.start`, set the response fields, then
    :meth:`InferenceTelemetry.finish` or :meth:`~InferenceTelemetry.fail`. Fields left ``None`` are not
    emitted. Message fields hold :mod:`llmotel.semconv.messages` models or their dict form (the
    semconv JSON structure); fill them only when :attr:`InferenceTelemetry.capture_content`.

    ``attributes`` holds what a provider's own conventions add (``openai.*``, ``anthropic.*``): what
    is in it at :meth:`~InferenceTelemetry.start` goes on the span from its start, the rest when it
    ends; the details event carries them all.
    """

    __slots__ = (
        "_chunk_times",
        "_context",
        "_ended",
        "_named",
        "_span",
        "_start",
        "_start_attributes",
        "_token",
        "attributes",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "choice_count",
        "conversation_id",
        "dimension_count",
        "encoding_formats",
        "finish_reasons",
        "frequency_penalty",
        "input_messages",
        "input_tokens",
        "max_tokens",
        "operation",
        "output_messages",
        "output_tokens",
        "output_type",
        "presence_penalty",
        "provider",
        "reasoning_output_tokens",
        "request_model",
        "response_id",
        "response_model",
        "seed",
        "server_address",
        "server_port",
        "stop_sequences",
        "stream",
        "system_instructions",
        "temperature",
        "tool_definitions",
        "top_k",
        "top_p",
    )

    def __init__(
        self,
        operation: str,
        provider: str,
        *,
        request_model: str | None = None,
        server_address: str | None = None,
        server_port: int | None = None,
        stream: bool = False,
    ) -> None:
        self.operation = operation
        self.provider = provider
        self.request_model = request_model
        self.server_address = server_address
        self.server_port = server_port
        self.stream = stream
        self.max_tokens: int | None = None
        self.choice_count: int | None = None
        self.temperature: float | None = None
        self.top_p: float | None = None
        self.top_k: float | None = None
        self.stop_sequences: Sequence[str] | None = None
        self.frequency_penalty: float | None = None
        self.presence_penalty: float | None = None
        self.seed: int | None = None
        self.encoding_formats: Sequence[str] | None = None
        self.output_type: str | None = None
        self.conversation_id: str | None = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: Sequence[str] | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_input_tokens: int | None = None
        self.cache_creation_input_tokens: int | None = None
        self.reasoning_output_tokens: int | None = None
        self.dimension_count: int | None = None
        self.input_messages: Sequence[_msg.InputMessage | Mapping[str, Any]] | None = None
        self.output_messages: Sequence[_msg.OutputMessage | Mapping[str, Any]] | None = None
        self.system_instructions: Sequence[_msg.Part | Mapping[str, Any]] | None = None
        self.tool_definitions: Sequence[_msg.ToolDefinition | Mapping[str, Any]] | None = None
        self.attributes: dict[str, AttributeValue] | None = None
        self._span: Span | None = None
        self._context: Context | None = None  # the span's context: the metric points' exemplars
        self._start_attributes: dict[str, AttributeValue] | None = None
        self._token: object = None
        self._start = 0.0
        self._chunk_times: array[float] | None = None  # perf_counter() of each streamed chunk
        self._named = False
        self._ended = False

    @property
    def span(self) -> Span | None:
        """The span of this call once started (``None`` before :meth:`InferenceTelemetry.start`)."""
        return self._span


class InferenceTelemetry:
    """Emits the telemetry of inference calls for one instrumentation scope.

    Args:
        scope_name: the tracer/meter/logger name, e.g. ``"llmotel.instrumentation.openai"``.
        version: the instrumentation's version.
        tracer_provider, meter_provider, logger_provider: default to the global providers.
        settings: content capture and naming; default: read from the environment now
            (:func:`~llmotel.semconv.capture.capture_settings_from_env`, which raises ``ValueError``
            on a bad value).
    """

    def __init__(
        self,
        scope_name: str,
        version: str,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
        settings: CaptureSettings | None = None,
    ) -> None:
        self.settings = capture_settings_from_env() if settings is None else settings
        latest = self.settings.latest_experimental
        # Declared on the tracer's scope: the metrics recorded here, which llmotel-metrics skips.
        recorded = (
            (
                semconv_latest.GEN_AI_CLIENT_INFERENCE_DURATION,
                semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS,
            )
            if latest
            else (
                semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
                semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
            )
        )
        self._tracer = trace.get_tracer(
            scope_name,
            version,
            tracer_provider,
            attributes={LLMOTEL_RECORDED_METRICS: recorded},
        )
        meter = get_meter(scope_name, version, meter_provider)
        # A no-op meter (NoOpMeterProvider, OTEL_SDK_DISABLED) records nothing: skip building the
        # points (and queueing a stream's chunk times for a collection that never comes).
        self._metrics_on = not isinstance(meter, NoOpMeter)
        self._meter = meter
        # gen_ai.client.operation.exception is emitted whatever the content capture mode; the
        # details event only when content capture asks for events.
        self._exception_logger = get_logger(scope_name, version, logger_provider)
        self._logger = self._exception_logger if self.settings.content.on_event else None
        self._content_on_span = self.settings.content.on_span
        self._capture_content = self.settings.content.any
        self._latest = latest
        self._cache_creation_key = (
            semconv_latest.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS
            if latest
            else semconv_attrs.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
        )
        self._duration = meter.create_histogram(
            semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
            unit=semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION_UNIT,
            description=semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION_DESCRIPTION,
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self._time_to_first_chunk = meter.create_histogram(
            semconv_latest.GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK
            if latest
            else semconv_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from the request to the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        # A call's points are recorded when a metric reader collects, on its thread (points.py).
        _points.watch(meter)
        self._time_per_output_chunk = meter.create_histogram(
            semconv_latest.GEN_AI_CLIENT_INFERENCE_TIME_PER_OUTPUT_CHUNK
            if latest
            else semconv_metrics.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
            unit="s",
            description="Time between chunks of a streamed response, after the first.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        if latest:
            self._inference_duration = meter.create_histogram(
                semconv_latest.GEN_AI_CLIENT_INFERENCE_DURATION,
                unit="s",
                description="Duration of GenAI inference calls.",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            )
            self._input_hist = meter.create_histogram(
                semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS,
                unit="{token}",
                description="Input tokens per GenAI inference call.",
                explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
            )
            self._output_hist = meter.create_histogram(
                semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS,
                unit="{token}",
                description="Output tokens per GenAI inference call.",
                explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
            )
        else:
            self._inference_duration = self._duration
            self._input_hist = self._output_hist = meter.create_histogram(
                semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
                unit=semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE_UNIT,
                description=semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE_DESCRIPTION,
                explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
            )
        self._warned: set[str] = set()
        self._metric_attribute_sets: dict[tuple[Any, ...], _MetricAttributeSets] = {}
        # False once the instrumentation is removed: a wrapper the SDK cached (with_raw_response
        # binds the method it wraps once per client) then passes calls through untouched.
        self.active = True

    @property
    def capture_content(self) -> bool:
        """Whether the provider code should build the message fields of an invocation."""
        return self._capture_content

    # -- the call ---------------------------------------------------------------------------------

    def should_skip(self) -> bool:
        """Whether to leave this call alone: the instrumentation was removed, instrumentation is
        suppressed, or a GenAI client span (ours, or a peer instrumentation's LLM span) is already
        current for it."""
        if not self.active:
            return True
        try:
            ctx = otel_context.get_current()
            if ctx.get(_IN_PROGRESS_KEY) or ctx.get(_SUPPRESS_INSTRUMENTATION_KEY):
                return True
            span = trace.get_current_span(ctx)
            attributes = getattr(span, "attributes", None)
            if not attributes or not span.is_recording():
                return False
            if (
                getattr(span, "kind", None) is _CLIENT
                and semconv_attrs.GEN_AI_OPERATION_NAME in attributes
            ):
                return True
            return attributes.get(_OPENINFERENCE_KIND) in _LLM_KINDS
        except Exception:  # noqa: BLE001
            self.warn_once("should_skip")
            return False

    def start(self, inv: Invocation) -> None:
        """Start the span of ``inv`` (``{operation} {model}``, CLIENT) and make it current."""
        try:
            attrs: dict[str, AttributeValue] = {
                semconv_attrs.GEN_AI_OPERATION_NAME: inv.operation,
                semconv_attrs.GEN_AI_PROVIDER_NAME: inv.provider,
            }
            model = inv.request_model
            if model:
                attrs[semconv_attrs.GEN_AI_REQUEST_MODEL] = model
                name = f"{inv.operation} {model}"
                inv._named = True
            else:
                name = inv.operation
            if inv.server_address:
                attrs[semconv_attrs.SERVER_ADDRESS] = inv.server_address
                if inv.server_port is not None:
                    attrs[semconv_attrs.SERVER_PORT] = inv.server_port
            self._request_attributes(inv, attrs)
            if inv.attributes:
                attrs.update(inv.attributes)
            span = self._tracer.start_span(name, kind=_CLIENT, attributes=attrs)
            inv._span = span
            inv._start_attributes = attrs
            ctx = inv._context = trace.set_span_in_context(
                span, otel_context.set_value(_IN_PROGRESS_KEY, True)
            )
            inv._token = otel_context.attach(ctx)
            inv._start = time.perf_counter()
        except Exception:  # noqa: BLE001
            self.warn_once("start")

    def detach(self, inv: Invocation) -> None:
        """Stop ``inv``'s span from being current without ending it (a stream outlives the call)."""
        token = inv._token
        if token is not None:
            inv._token = None
            try:
                otel_context.detach(token)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001
                self.warn_once("detach")

    def chunk(self, inv: Invocation) -> None:
        """Note one chunk of a streamed response: the first one sets the time to first chunk, each
        later one adds a time-per-output-chunk point (recorded after the span ends, so that the
        points carry the response's attributes)."""
        self.chunk_times(inv).append(time.perf_counter())

    @staticmethod
    def chunk_times(inv: Invocation) -> array[float]:
        """The array a stream reader appends each chunk's ``time.perf_counter()`` to (what
        :meth:`chunk` does, without a call per chunk)."""
        times = inv._chunk_times
        if times is None:
            times = inv._chunk_times = array("d")
        return times

    def finish(self, inv: Invocation) -> None:
        """End ``inv``'s span with its response, record the metrics, emit the details event."""
        if inv._ended:
            return
        inv._ended = True
        end = time.perf_counter()
        self.detach(inv)
        span = inv._span
        if span is None:
            return
        try:
            attrs = self._response_attributes(inv)
            content = self._content(inv)
            if self._content_on_span and content:
                span.set_attributes({**attrs, **content})
            else:
                span.set_attributes(attrs)
            self._record(inv, end, None)
            if self._logger is not None and inv.operation in _INFERENCE_OPERATIONS:
                self._emit_event(inv, attrs, content)
        except Exception:  # noqa: BLE001
            self.warn_once("finish")
        finally:
            span.end()

    def fail(self, inv: Invocation, error: BaseException, *, error_type: str | None = None) -> None:
        """End ``inv``'s span as failed by ``error``: ``error.type`` (``error_type`` or the exception's
        class name), ERROR status, the exception recorded; then metrics and event as in :meth:`finish`."""
        if inv._ended:
            return
        inv._ended = True
        end = time.perf_counter()
        self.detach(inv)
        span = inv._span
        if span is None:
            return
        try:
            etype = error_type or type(error).__qualname__
            attrs = self._response_attributes(inv)
            attrs[semconv_attrs.ERROR_TYPE] = etype
            content = self._content(inv)
            if self._content_on_span and content:
                span.set_attributes({**attrs, **content})
            else:
                span.set_attributes(attrs)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            self._record(inv, end, etype)
            self._emit_exception(inv, error)
            if self._logger is not None and inv.operation in _INFERENCE_OPERATIONS:
                self._emit_event(inv, attrs, content)
        except Exception:  # noqa: BLE001
            self.warn_once("fail")
        finally:
            span.end()

    def abandon(self, inv: Invocation) -> None:
        """End the span of a stream that nobody read to the end (it was garbage-collected)."""
        if inv._ended or inv._span is None:
            return
        try:
            inv._span.set_attribute(STREAM_ABANDONED, True)
        except Exception:  # noqa: BLE001
            self.warn_once("abandon")
        # The finalizer may run in another thread: only end, never detach someone else's context.
        inv._token = None
        self.finish(inv)

    # -- building attributes ----------------------------------------------------------------------

    @staticmethod
    def _request_attributes(inv: Invocation, attrs: dict[str, AttributeValue]) -> None:
        if inv.stream:
            attrs[semconv_attrs.GEN_AI_REQUEST_STREAM] = True
        if inv.max_tokens is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_MAX_TOKENS] = inv.max_tokens
        if inv.choice_count is not None and inv.choice_count != 1:
            attrs[semconv_attrs.GEN_AI_REQUEST_CHOICE_COUNT] = inv.choice_count
        if inv.temperature is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_TEMPERATURE] = inv.temperature
        if inv.top_p is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_TOP_P] = inv.top_p
        if inv.top_k is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_TOP_K] = inv.top_k
        if inv.stop_sequences is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_STOP_SEQUENCES] = list(inv.stop_sequences)
        if inv.frequency_penalty is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_FREQUENCY_PENALTY] = inv.frequency_penalty
        if inv.presence_penalty is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_PRESENCE_PENALTY] = inv.presence_penalty
        if inv.seed is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_SEED] = inv.seed
        if inv.encoding_formats is not None:
            attrs[semconv_attrs.GEN_AI_REQUEST_ENCODING_FORMATS] = list(inv.encoding_formats)
        if inv.output_type is not None:
            attrs[semconv_attrs.GEN_AI_OUTPUT_TYPE] = inv.output_type
        if inv.conversation_id is not None:
            attrs[semconv_attrs.GEN_AI_CONVERSATION_ID] = inv.conversation_id

    def _response_attributes(self, inv: Invocation) -> dict[str, AttributeValue]:
        attrs: dict[str, AttributeValue] = {}
        if not inv._named and inv.request_model and inv._span is not None:
            # Known only from the response (e.g. retrieving a stored response): name the span now.
            inv._named = True
            attrs[semconv_attrs.GEN_AI_REQUEST_MODEL] = inv.request_model
            inv._span.update_name(f"{inv.operation} {inv.request_model}")
        if inv.response_id is not None:
            attrs[semconv_attrs.GEN_AI_RESPONSE_ID] = inv.response_id
        if inv.response_model is not None:
            attrs[semconv_attrs.GEN_AI_RESPONSE_MODEL] = inv.response_model
        if inv.finish_reasons:
            attrs[semconv_attrs.GEN_AI_RESPONSE_FINISH_REASONS] = list(inv.finish_reasons)
        if inv.input_tokens is not None:
            attrs[semconv_attrs.GEN_AI_USAGE_INPUT_TOKENS] = inv.input_tokens
        if inv.output_tokens is not None:
            attrs[semconv_attrs.GEN_AI_USAGE_OUTPUT_TOKENS] = inv.output_tokens
        if inv.cache_read_input_tokens is not None:
            attrs[semconv_attrs.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = inv.cache_read_input_tokens
        if inv.cache_creation_input_tokens is not None:
            attrs[self._cache_creation_key] = inv.cache_creation_input_tokens
        if inv.reasoning_output_tokens is not None:
            attrs[semconv_attrs.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = inv.reasoning_output_tokens
        if inv.dimension_count is not None:
            attrs[semconv_attrs.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = inv.dimension_count
        if inv._chunk_times:
            attrs[semconv_attrs.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (
                inv._chunk_times[0] - inv._start
            )
        if inv.attributes:
            attrs.update(inv.attributes)
        return attrs

    def _content(self, inv: Invocation) -> dict[str, str] | None:
        """The content attributes as JSON strings, when content is captured (on spans the
        structured values travel as one JSON string: what backends index today)."""
        if not self._capture_content:
            return None
        attrs: dict[str, str] = {}
        if inv.input_messages is not None:
            attrs[semconv_attrs.GEN_AI_INPUT_MESSAGES] = _msg.encode_input_messages(
                inv.input_messages
            )
        if inv.output_messages is not None:
            attrs[semconv_attrs.GEN_AI_OUTPUT_MESSAGES] = _msg.encode_output_messages(
                inv.output_messages
            )
        if inv.system_instructions is not None:
            attrs[semconv_attrs.GEN_AI_SYSTEM_INSTRUCTIONS] = _msg.encode_system_instructions(
                inv.system_instructions
            )
        if inv.tool_definitions is not None:
            attrs[semconv_attrs.GEN_AI_TOOL_DEFINITIONS] = _msg.encode_tool_definitions(
                inv.tool_definitions
            )
        return attrs

    # -- metrics and event ------------------------------------------------------------------------

    def _metric_attributes(self, inv: Invocation, error_type: str | None) -> _MetricAttributeSets:
        """The attributes of the call's metric points: (duration and chunk times, input tokens,
        output tokens). Built once per distinct set of values and shared: the SDK copies them."""
        key = (
            inv.operation,
            inv.provider,
            inv.request_model,
            inv.response_model,
            inv.server_address,
            inv.server_port,
            error_type,
        )
        found = self._metric_attribute_sets.get(key)
        if found is not None:
            return found
        attrs: dict[str, Any] = {
            semconv_attrs.GEN_AI_OPERATION_NAME: inv.operation,
            semconv_attrs.GEN_AI_PROVIDER_NAME: inv.provider,
        }
        if inv.request_model:
            attrs[semconv_attrs.GEN_AI_REQUEST_MODEL] = inv.request_model
        if inv.response_model:
            attrs[semconv_attrs.GEN_AI_RESPONSE_MODEL] = inv.response_model
        if inv.server_address:
            attrs[semconv_attrs.SERVER_ADDRESS] = inv.server_address
            if inv.server_port is not None:
                attrs[semconv_attrs.SERVER_PORT] = inv.server_port
        if error_type is not None:
            attrs[semconv_attrs.ERROR_TYPE] = error_type
        if self._latest:  # the token histograms are per token type: no gen_ai.token.type
            found = (attrs, attrs, attrs)
        else:
            found = (
                attrs,
                {**attrs, semconv_attrs.GEN_AI_TOKEN_TYPE: "input"},
                {**attrs, semconv_attrs.GEN_AI_TOKEN_TYPE: "output"},
            )
        if len(self._metric_attribute_sets) >= _ATTRIBUTE_SETS_LIMIT:
            self._metric_attribute_sets.clear()
        self._metric_attribute_sets[key] = found
        return found

    def _record(self, inv: Invocation, end: float, error_type: str | None) -> None:
        """Hand the call's points to the next collection (or record them now when too many wait);
        nothing when no metric reader would read them."""
        if not self._metrics_on or _points.unread(self._meter):
            return
        times = inv._chunk_times
        input_tokens = output_tokens = None
        if error_type is None:
            input_tokens = inv.input_tokens
            output_tokens = inv.output_tokens
        span = inv._span
        args = (
            self._metric_attributes(inv, error_type),
            inv.operation in _INFERENCE_OPERATIONS,
            end - inv._start,
            times[0] - inv._start if times else None,
            times,
            input_tokens,
            output_tokens,
            span.get_span_context() if span is not None else None,
        )
        size = _points.CALL_BYTES + (8 * len(times) if times else 0)
        _points.defer(self._add_points, args, size)

    def _add_points(
        self,
        points: _points.Points,
        attribute_sets: _MetricAttributeSets,
        inference: bool,
        duration: float,
        first_chunk: float | None,
        times: array[float] | None,
        input_tokens: int | None,
        output_tokens: int | None,
        span_context: SpanContext | None,
    ) -> None:
        """Add one call's points to ``points``; their exemplars name the call's span."""
        attrs, input_attrs, output_attrs = attribute_sets
        duration_histogram = self._inference_duration if inference else self._duration
        points.add(duration_histogram, duration, attrs, span_context)
        if first_chunk is not None:
            points.add(self._time_to_first_chunk, first_chunk, attrs, span_context)
        if times is not None and len(times) > 1:
            gaps = map(operator.sub, times[1:], times[:-1])
            points.extend(self._time_per_output_chunk, gaps, attrs, span_context)
        if input_tokens is not None:
            points.add(self._input_hist, input_tokens, input_attrs, span_context)
        if output_tokens is not None:
            points.add(self._output_hist, output_tokens, output_attrs, span_context)

    def _emit_event(
        self, inv: Invocation, response: dict[str, AttributeValue], content: dict[str, str] | None
    ) -> None:
        """The details event, from what the span got: its start attributes, ``response`` (the
        response attributes :meth:`finish` / :meth:`fail` built) and ``content`` (the JSON strings
        of the content attributes)."""
        assert self._logger is not None
        attrs: dict[str, Any] = dict(inv._start_attributes or ())
        attrs.update(response)
        if content:
            # On the event the structured values stay structured (log attributes take any value);
            # decoding the span's JSON turns whatever an SDK left in tool arguments into plain values.
            for key, encoded in content.items():
                attrs[key] = json.loads(encoded)
        self._logger.emit(
            LogRecord(
                event_name=semconv_events.GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS,
                attributes=attrs,
                context=inv._context,
            )
        )

    def _emit_exception(self, inv: Invocation, error: BaseException) -> None:
        # The span's exception event already carries the stack trace: the log record stays small.
        attrs: dict[str, Any] = {
            semconv_attrs.EXCEPTION_TYPE: _qualified_name(type(error)),
            semconv_attrs.EXCEPTION_MESSAGE: str(error),
        }
        if inv.request_model:
            attrs[semconv_attrs.GEN_AI_REQUEST_MODEL] = inv.request_model
        if inv.input_tokens is not None:
            attrs[semconv_attrs.GEN_AI_USAGE_INPUT_TOKENS] = inv.input_tokens
        if inv.cache_read_input_tokens is not None:
            attrs[semconv_attrs.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = inv.cache_read_input_tokens
        if inv.reasoning_output_tokens is not None:
            attrs[semconv_attrs.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = inv.reasoning_output_tokens
        self._exception_logger.emit(
            LogRecord(
                event_name=semconv_events.GEN_AI_CLIENT_OPERATION_EXCEPTION,
                severity_number=SeverityNumber.WARN,
                attributes=attrs,
                context=inv._context,
            )
        )

    def warn_once(self, where: str) -> None:
        """Log that telemetry failed in ``where`` (with the traceback) once at WARNING, then at DEBUG: for
        provider code around an :class:`Invocation`, whose failures must not reach the caller either."""
        # The traceback goes into the message as text: a record holding exc_info would keep the
        # failing frames alive (with the caller's stream or response in them) for as long as any
        # handler keeps the record, and an abandoned stream's span would end only after that.
        if where not in self._warned:
            self._warned.add(where)
            _log.warning(
                "llmotel: GenAI telemetry failed in %s; the call goes on\n%s",
                where,
                traceback.format_exc().rstrip(),
            )
        else:
            _log.debug(
                "llmotel: GenAI telemetry failed in %s\n%s", where, traceback.format_exc().rstrip()
            )


# -- other instrumentations of the same SDK -------------------------------------------------------

#: Which instrumentation makes the spans of an SDK that another one (upstream's, OpenLLMetry's,
#: OpenInference's) instruments too: ``llmotel`` (default) or ``peer``.
INSTRUMENTATION_CONFLICT: Final = "LLMOTEL_INSTRUMENTATION_CONFLICT"
_RULES: Final = ("llmotel", "peer")
_settled: set[str] = set()


def _installed_peers(peers: Sequence[tuple[str, str]]) -> list[Any]:
    found = []
    for module_name, class_name in peers:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except Exception:  # noqa: BLE001 - not installed, or broken: not a peer that can run
            continue
        found.append(cls)
    return found


def _declined(*args: Any, **kwargs: Any) -> None:
    _log.debug(
        "llmotel: %s is off (%s=llmotel)", INSTRUMENTATION_CONFLICT, INSTRUMENTATION_CONFLICT
    )


def settle_peers(library: str, peers: Sequence[tuple[str, str]]) -> bool:
    """Apply ``LLMOTEL_INSTRUMENTATION_CONFLICT`` to the other installed instrumentations of
    ``library`` (``peers``: the module and class of each one's ``BaseInstrumentor``); return
    whether llmotel instruments ``library``.

    ``llmotel`` (the default): llmotel does, and every installed peer is switched off: one that
    already instrumented is uninstrumented, and its own ``instrument()`` (now, or later under
    ``opentelemetry-instrument``, whatever the load order) does nothing until llmotel's
    :func:`release_peers`. ``peer``: llmotel leaves ``library`` to the installed peers (and
    instruments it when none is installed). Either way one call makes one GenAI span, and the
    decision is logged once per library.
    """
    rule = (os.environ.get(INSTRUMENTATION_CONFLICT) or "llmotel").strip().lower()
    if rule not in _RULES:
        _log.warning(
            "llmotel: %s=%r is not one of %s; using llmotel", INSTRUMENTATION_CONFLICT, rule, _RULES
        )
        rule = "llmotel"
    found = _installed_peers(peers)
    if not found:
        return True
    names = ", ".join(f"{c.__module__}.{c.__qualname__}" for c in found)
    first = library not in _settled
    _settled.add(library)
    if rule == "peer":
        if first:
            _log.warning(
                "llmotel: %s is also instrumented by %s; %s=peer leaves it to them",
                library,
                names,
                INSTRUMENTATION_CONFLICT,
            )
        return False
    for cls in found:
        try:
            peer = cls()  # BaseInstrumentor: one instance per class
            if getattr(peer, "_is_instrumented_by_opentelemetry", False):
                peer.uninstrument()
            peer.instrument = _declined
        except Exception:  # noqa: BLE001
            _log.warning("llmotel: could not switch off %s", cls, exc_info=True)
    if first:
        _log.warning(
            "llmotel: %s instruments %s; switched off %s (set %s=peer to keep them instead)",
            "llmotel",
            library,
            names,
            INSTRUMENTATION_CONFLICT,
        )
    return True


def release_peers(peers: Sequence[tuple[str, str]]) -> None:
    """Undo :func:`settle_peers`' switch-off: the peers' ``instrument()`` works again."""
    for cls in _installed_peers(peers):
        try:
            peer = cls()
            if vars(peer).get("instrument") is _declined:
                del peer.instrument
        except Exception:  # noqa: BLE001
            _log.debug("llmotel: could not release %s", cls, exc_info=True)
