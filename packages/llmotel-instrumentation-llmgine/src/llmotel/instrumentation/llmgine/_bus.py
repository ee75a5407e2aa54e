"""The wrappers around LLMgine's ``MessageBus`` and ``BusSession``, and the telemetry they emit.

Every wrapper has the ``wrapt`` signature ``(wrapped, instance, args, kwargs)`` and is an
``async def`` like the method it wraps. Bookkeeping is guarded: a failure in here is logged once
per kind and the bus call goes on exactly as without instrumentation; exceptions of the bus or of
user handlers pass through unchanged.
"""

from __future__ import annotations

import json
import logging
import sys
import weakref
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Meter
from opentelemetry.trace import NonRecordingSpan, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from llmotel.semconv import points
from llmotel.semconv.attributes import (
    ERROR_TYPE,
    GEN_AI_OPERATION_NAME,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_NAME,
    GEN_AI_TOOL_TYPE,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    SESSION_ID,
    GenAiOperationNameValues,
    MessagingOperationTypeValues,
)
from llmotel.semconv.context import ContextAttributes, get_context_attributes, using_session

from . import _names as n
from ._carrier import ContextCarrier, FailureContexts

_log = logging.getLogger(__name__)

_EXECUTE_TOOL: Final = GenAiOperationNameValues.EXECUTE_TOOL.value
_SEND: Final = MessagingOperationTypeValues.SEND.value
_PROCESS: Final = MessagingOperationTypeValues.PROCESS.value
_INTERNAL: Final = SpanKind.INTERNAL
_PRODUCER: Final = SpanKind.PRODUCER
_CONSUMER: Final = SpanKind.CONSUMER
#: Most distinct metric attribute sets kept built (they are type and function names).
_COMMAND_KEYS: Final = (n.COMMAND_TYPE, ERROR_TYPE)
_HANDLER_KEYS: Final = (n.EVENT_TYPE, n.HANDLER_NAME, ERROR_TYPE)
# LLMgine's marker for "not in a session" (bus-scoped handlers and messages).
_BUS_SCOPE: Final = "BUS"


class _CommandRun:
    """One ``execute`` in progress, keyed by command id while it runs.

    A plain slotted object: LLMgine keeps the frames an event was created in alive until the
    cyclic garbage collector runs (``Event.__post_init__`` holds its own frame), and the
    ``execute`` wrapper's frame is one of them. :meth:`BusTelemetry._end_command` empties the run
    (the span, contexts and exception go at once, even when the wrapper's frame is kept, as on
    the exception path) and the wrapper drops it before returning.
    """

    __slots__ = ("command_id", "command_type", "error", "session", "span", "start", "token")

    def __init__(
        self,
        span: Span | None,
        token: object,
        session: ContextAttributes | None,
        command_type: str,
        command_id: str,
        start: float,
    ) -> None:
        self.span = span
        self.token = token
        self.session = session
        self.command_type = command_type
        self.command_id = command_id
        self.start = start
        # The exception the handler (or a middleware) raised; LLMgine turns it into a failed
        # CommandResult and publishes a CommandResultEvent in its ``except`` block.
        self.error: BaseException | None = None


@dataclass(slots=True)
class _SessionState:
    span: Span
    token: object
    session: ContextAttributes
    ctx: Context = field(default_factory=Context)


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs[name]


def _session_of(message: object) -> str | None:
    """The message's session id, or ``None`` for bus-scoped (``"BUS"``) or empty ids."""
    sid = getattr(message, "session_id", None)
    if not sid or sid == _BUS_SCOPE:
        return None
    return str(sid)


def _handler_name(handler: object) -> str:
    # LLMgine wraps sync handlers in an ``async_wrapper`` and keeps the original as ``.function``.
    target = getattr(handler, "function", handler)
    name = getattr(target, "__qualname__", None)
    return name if isinstance(name, str) else type(target).__qualname__


def _error_type(error: BaseException) -> str:
    return type(error).__qualname__


class BusTelemetry:
    """Turns bus calls into spans and metrics; one instance per ``instrument()``."""

    def __init__(
        self,
        tracer: Tracer,
        meter: Meter,
        *,
        bus_event_types: frozenset[type],
        command_result_type: type | None,
        tool_event_type: type | None,
        capture_content: bool,
    ) -> None:
        self._tracer = tracer
        self._bus_event_types = bus_event_types
        self._command_result_type = command_result_type
        self._runs: dict[str, _CommandRun] = {}
        self._last_carried: tuple[Context, Context] | None = None
        # The attribute dicts of the duration points, one per combination (type, function and
        # error-class names: a small set)
        self._command_attrs = points.AttributeSets(_COMMAND_KEYS)
        self._handler_attrs = points.AttributeSets(_HANDLER_KEYS)
        self._tool_event_type = tool_event_type
        self._capture_content = capture_content
        self.carrier = ContextCarrier()
        self.failures = FailureContexts()
        self._sessions: weakref.WeakKeyDictionary[object, _SessionState] = (
            weakref.WeakKeyDictionary()
        )
        self._warned: set[str] = set()
        # One histogram per kind and no separate counters: a histogram point's count is the number
        # of commands (handler invocations), the ones with error.type are the failures; a second
        # instrument would double the SDK's per-call cost for the same numbers. The points are
        # recorded when a metric reader collects, off the event loop (llmotel.semconv.points).
        points.watch(meter)
        self._command_duration = meter.create_histogram(
            n.METRIC_COMMAND_DURATION,
            unit="s",
            description="Duration of MessageBus.execute (handler and middleware included); "
            "its count is the number of commands, with error.type when the command failed.",
            explicit_bucket_boundaries_advisory=n.DURATION_BUCKETS,
        )
        self._handler_duration = meter.create_histogram(
            n.METRIC_HANDLER_DURATION,
            unit="s",
            description="Duration of one event handler invocation (middleware included); its "
            "count is the number of events handled, with error.type when the handler raised.",
            explicit_bucket_boundaries_advisory=n.DURATION_BUCKETS,
        )

    @property
    def open_sessions(self) -> int:
        """Sessions started and not yet ended (for tests)."""
        return len(self._sessions)

    def _warn(self, where: str) -> None:
        if where not in self._warned:
            self._warned.add(where)
            _log.warning(
                "llmgine instrumentation failed in %s; the bus goes on", where, exc_info=True
            )

    # --- MessageBus.execute ------------------------------------------------------------------

    async def execute(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``MessageBus.execute(command)``: span ``execute {CommandType}`` around the call."""
        try:
            command = args[0] if args else kwargs["command"]
            run = self._start_command(command)
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("execute")
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            self._end_command(run, command, instance, None, exc)
            raise
        self._end_command(run, command, instance, result, None)
        # The events the command created keep this frame alive until the cyclic collector runs
        # (LLMgine's ``Event.__post_init__`` holds its frame): leave it holding nothing of ours.
        del run, wrapped, args, kwargs
        return result

    def _start_command(self, command: Any) -> _CommandRun:
        ctype = type(command).__name__
        cid = str(command.command_id)
        attrs: dict[str, AttributeValue] = {n.COMMAND_TYPE: ctype, n.COMMAND_ID: cid}
        sid = _session_of(command)
        if sid is not None:
            attrs[SESSION_ID] = sid
        span = self._tracer.start_span(f"execute {ctype}", kind=_INTERNAL, attributes=attrs)
        token = otel_context.attach(trace.set_span_in_context(span))
        session = None
        # A command may name its session without running inside ``bus.session()``: put the id in
        # context so spans under the handler (LLM calls) carry it too.
        if sid is not None and get_context_attributes().get(SESSION_ID) != sid:
            session = using_session(sid)
            session.__enter__()
        run = _CommandRun(span, token, session, ctype, cid, perf_counter())
        self._runs[cid] = run
        return run

    def _note_command_result(self, event: Any) -> None:
        """``CommandResultEvent`` published: if LLMgine is handling the exception of the handler
        (or of a middleware) that made this result, remember it for the command span.

        LLMgine catches that exception in ``execute`` and publishes the failed result from its
        ``except`` block, where ``sys.exception()`` is the exception; the result's ``error`` is
        ``"{type}: {message}"`` of it, which tells it apart from an exception an enclosing
        ``except`` of the caller is handling. (A wrapper around ``_execute_with_middleware`` would
        catch it directly, but its frame would then be kept alive with every event the handler
        creates.)
        """
        result = getattr(event, "command_result", None)
        if result is None or result.success:
            return
        error = sys.exception()
        if error is None:
            return
        run = self._runs.get(str(result.command_id))
        if run is not None and result.error == f"{type(error).__name__}: {error!s}":
            run.error = error

    def _end_command(
        self,
        run: _CommandRun,
        command: Any,
        instance: Any,
        result: Any,
        raised: BaseException | None,
    ) -> None:
        duration = perf_counter() - run.start
        span, error = run.span, raised or run.error
        # The wrapper's frame (and so ``run``) may live on in a reference cycle LLMgine's events
        # create: keep only strings in it.
        run.span = run.error = None
        self._last_carried = None
        try:
            if self._runs.get(run.command_id) is run:
                del self._runs[run.command_id]
            if run.session is not None:
                run.session.__exit__(None, None, None)
                run.session = None
            otel_context.detach(run.token)  # type: ignore[arg-type]
            run.token = None
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("execute (context)")
        if span is None:
            return
        try:
            error_type: str | None = None
            if raised is None:
                success = bool(getattr(result, "success", True))
                span.set_attribute(n.COMMAND_SUCCESS, success)
            else:
                success = False
            if not success:
                if error is not None:
                    error_type = _error_type(error)
                    span.record_exception(error)
                else:
                    error_type = self._why_failed(instance, command)
                message = getattr(result, "error", None) if error is None else str(error)
                span.set_status(Status(StatusCode.ERROR, message or error_type))
                span.set_attribute(ERROR_TYPE, error_type)
            points.record_later(
                self._command_duration,
                duration,
                self._command_attrs.get((run.command_type, error_type)),
                span.get_span_context(),
            )
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("execute (end)")
        finally:
            span.end()

    @staticmethod
    def _why_failed(instance: Any, command: Any) -> str:
        """``error.type`` of a failed command that raised nothing: no handler, or the handler
        returned ``CommandResult(success=False)``."""
        if instance._registry.get_command_handler(type(command), command.session_id) is None:
            return n.NO_HANDLER
        return n.COMMAND_FAILED

    # --- MessageBus.publish ------------------------------------------------------------------

    def publish(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``MessageBus.publish(event)``: carry the publisher's context with the event.

        Events the bus publishes about itself (command started/result, handler failed, session
        start/end) carry the current context (the command, session or failed handler span) and
        get no span of their own; the bus's coroutine is returned as is. ``ToolExecuteResultEvent``
        gets an ``execute_tool {name}`` span, any other event a PRODUCER span
        ``publish {EventType}``; the spans of its handlers are children of that span.
        """
        try:
            event = args[0] if args else kwargs["event"]
            etype = type(event)
            if etype in self._bus_event_types:
                if etype is self._command_result_type:
                    self._note_command_result(event)
                self.carrier.put(event, self._to_carry(otel_context.get_current()))
                return wrapped(*args, **kwargs)
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("publish")
            return wrapped(*args, **kwargs)
        return self._publish_in_span(event, wrapped, args, kwargs)

    async def _publish_in_span(
        self, event: Any, wrapped: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        try:
            if self._tool_event_type is not None and isinstance(event, self._tool_event_type):
                span = self._start_tool(event)
            else:
                span = self._start_publish(event, type(event).__name__)
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("publish")
            return await wrapped(*args, **kwargs)
        token: object = None
        try:
            base = otel_context.get_current()
            token = otel_context.attach(trace.set_span_in_context(span, base))
            self.carrier.put(event, _parent_context(span, base))
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("publish (context)")
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.set_attribute(ERROR_TYPE, _error_type(exc))
            raise
        finally:
            if token is not None:
                otel_context.detach(token)  # type: ignore[arg-type]
            span.end()

    def _start_publish(self, event: Any, etype: str) -> Span:
        attrs: dict[str, AttributeValue] = {
            MESSAGING_SYSTEM: n.SYSTEM,
            MESSAGING_OPERATION_TYPE: _SEND,
            MESSAGING_OPERATION_NAME: "publish",
            MESSAGING_DESTINATION_NAME: etype,
            MESSAGING_MESSAGE_ID: str(event.event_id),
        }
        sid = _session_of(event)
        if sid is not None:
            attrs[SESSION_ID] = sid
        return self._tracer.start_span(f"publish {etype}", kind=_PRODUCER, attributes=attrs)

    def _start_tool(self, event: Any) -> Span:
        info = event.tool_info if isinstance(event.tool_info, dict) else {}
        name = str(event.tool_name or info.get("name") or "")
        attrs: dict[str, AttributeValue] = {
            GEN_AI_OPERATION_NAME: _EXECUTE_TOOL,
            GEN_AI_TOOL_NAME: name,
        }
        if event.tool_call_id:
            attrs[GEN_AI_TOOL_CALL_ID] = str(event.tool_call_id)
        if isinstance(info.get("type"), str):
            attrs[GEN_AI_TOOL_TYPE] = info["type"]
        sid = _session_of(event)
        if sid is not None:
            attrs[SESSION_ID] = sid
        if self._capture_content:
            attrs[GEN_AI_TOOL_CALL_ARGUMENTS] = json.dumps(event.tool_args, default=str)
            if event.execution_succeed:
                attrs[GEN_AI_TOOL_CALL_RESULT] = str(event.tool_result)
        failed = not event.execution_succeed
        if failed:
            attrs[ERROR_TYPE] = n.TOOL_FAILED
        span_name = f"{_EXECUTE_TOOL} {name}" if name else _EXECUTE_TOOL
        span = self._tracer.start_span(span_name, kind=_INTERNAL, attributes=attrs)
        if failed:
            span.set_status(Status(StatusCode.ERROR, n.TOOL_FAILED))
        return span

    def _to_carry(self, ctx: Context) -> Context:
        """The current context ``ctx`` to carry with a bus event, its recording span replaced as
        by :func:`_parent_context`. The events of one command are published in the same context
        object: the last answer is reused (and forgotten when a command, session or failed
        handler's scope ends, so that it keeps no span alive)."""
        last = self._last_carried
        if last is not None and last[0] is ctx:
            return last[1]
        span = trace.get_current_span(ctx)
        carried = _parent_context(span, ctx) if span.is_recording() else ctx
        self._last_carried = (ctx, carried)
        return carried

    # --- MessageBus._handle_event_with_middleware (one handler, one event) --------------------

    async def handle_event(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """One handler invocation → CONSUMER span ``process {EventType}``, child of the context the
        event was published in (a root span when the event was not carried)."""
        try:
            event = args[0] if args else kwargs["event"]
            handler = args[1] if len(args) > 1 else kwargs["handler"]
            etype = type(event).__name__
            hname = _handler_name(handler)
            # Not the processing loop's own context: that belongs to whoever called ``start()``.
            parent = self.carrier.get(event) or Context()
            attrs: dict[str, AttributeValue] = {
                MESSAGING_SYSTEM: n.SYSTEM,
                MESSAGING_OPERATION_TYPE: _PROCESS,
                MESSAGING_OPERATION_NAME: "process",
                MESSAGING_DESTINATION_NAME: etype,
                MESSAGING_MESSAGE_ID: str(event.event_id),
                n.HANDLER_NAME: hname,
            }
            sid = _session_of(event)
            if sid is not None:
                attrs[SESSION_ID] = sid
            span = self._tracer.start_span(
                f"process {etype}", context=parent, kind=_CONSUMER, attributes=attrs
            )
            ctx = trace.set_span_in_context(span, parent)
            token = otel_context.attach(ctx)
            start = perf_counter()
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("event handler")
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            self._end_handler(span, ctx, token, etype, hname, perf_counter() - start, exc)
            raise
        self._end_handler(span, ctx, token, etype, hname, perf_counter() - start, None)
        # Events the handler created keep this frame alive until the cyclic collector runs
        # (LLMgine's ``Event.__post_init__`` holds its frame): let go of the span and contexts.
        del span, ctx, token, parent, wrapped, args, kwargs
        return result

    def _end_handler(
        self,
        span: Span,
        ctx: Context,
        token: object,
        etype: str,
        hname: str,
        duration: float,
        error: BaseException | None,
    ) -> None:
        try:
            otel_context.detach(token)  # type: ignore[arg-type]
            error_type: str | None = None
            if error is not None:
                error_type = _error_type(error)
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                span.set_attribute(ERROR_TYPE, error_type)
                if isinstance(error, Exception):  # the only kind the bus reports
                    self.failures.put(error, ctx)
            points.record_later(
                self._handler_duration,
                duration,
                self._handler_attrs.get((etype, hname, error_type)),
                span.get_span_context(),
            )
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("event handler (end)")
        finally:
            span.end()

    async def handle_event_error(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``MessageBus._handle_event_error``: run in the failed handler's span context so the
        ``EventHandlerFailedEvent`` it publishes (and that event's handlers) hang under it."""
        ctx: Context | None = None
        try:
            ctx = self.failures.pop(_arg(args, kwargs, 2, "error"))
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("handler failure")
        if ctx is None:
            return await wrapped(*args, **kwargs)
        token = otel_context.attach(ctx)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)
            self._last_carried = None

    # --- BusSession ----------------------------------------------------------------------------

    async def session_start(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``BusSession.start()`` / ``__aenter__``: open the session span and make it (and
        ``session.id``) current in the calling task until the session ends."""
        self._open_session(instance)
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as exc:
            self._close_session(instance, exc)
            raise

    async def session_end(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``BusSession.end()``: end the session span after the ``SessionEndEvent`` was handled."""
        error: BaseException | None = None
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._close_session(instance, error)

    async def session_exit(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``BusSession.__aexit__``: like :meth:`session_end`; an exception that left the ``async
        with`` body is recorded on the session span."""
        error: BaseException | None = args[1] if len(args) > 1 else kwargs.get("exc_value")
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._close_session(instance, error)

    def bus_session(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``MessageBus.session()``: LLMgine does not pass the body's exception to ``end()``; this
        scope records it on the session span before the session ends."""
        return _SessionScope(self, wrapped(*args, **kwargs))

    def session_failed(self, session: object, error: BaseException) -> None:
        """Record ``error``, which left the body of ``session``, on the session's span."""
        try:
            state = self._sessions.get(session)
            if state is not None:
                _fail(state.span, error)
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("session body")

    def _open_session(self, session: object) -> None:
        try:
            if session in self._sessions:
                return
            sid = str(getattr(session, "session_id", ""))
            span = self._tracer.start_span(
                n.SESSION_SPAN, kind=_INTERNAL, attributes={SESSION_ID: sid}
            )
            token = otel_context.attach(trace.set_span_in_context(span))
            attrs = using_session(sid)
            attrs.__enter__()
            self._sessions[session] = _SessionState(span, token, attrs, otel_context.get_current())
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("session start")

    def _close_session(self, session: object, error: BaseException | None) -> None:
        try:
            state = self._sessions.pop(session, None)
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("session end")
            return
        self._last_carried = None
        if state is None:
            return
        span = state.span
        try:
            # Only unwind what we attached, in the task that attached it: a session ended from
            # another task (or under a context someone left attached) leaves that context alone.
            if otel_context.get_current() is state.ctx:
                state.session.__exit__(None, None, None)
                otel_context.detach(state.token)  # type: ignore[arg-type]
            if error is not None:
                _fail(span, error)
        except Exception:  # noqa: BLE001 - never raise into the bus
            self._warn("session end")
        finally:
            span.end()


def _parent_context(span: Span, base: Context) -> Context:
    """``base`` with ``span`` current, for carrying with an event to its handlers' spans.

    A recording span is replaced by a non-recording stand-in with the same span context: that is
    all a child span needs, and the carried context lives as long as the event, which LLMgine
    frees only in the cyclic garbage collector (``Event.__post_init__`` keeps its own frame).
    Holding the SDK span itself would keep it and everything it holds alive until then too.
    """
    if span.is_recording():
        span = NonRecordingSpan(span.get_span_context())
    return trace.set_span_in_context(span, base)


def _fail(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, str(error)))
    span.set_attribute(ERROR_TYPE, _error_type(error))


class _SessionScope:
    """Wraps the async context manager ``MessageBus.session()`` returns (see ``bus_session``)."""

    __slots__ = ("_cm", "_session", "_telemetry")

    def __init__(self, telemetry: BusTelemetry, cm: Any) -> None:
        self._telemetry = telemetry
        self._cm = cm
        self._session: object = None

    async def __aenter__(self) -> Any:
        self._session = await self._cm.__aenter__()
        return self._session

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        if exc is not None and self._session is not None:
            self._telemetry.session_failed(self._session, exc)
        return await self._cm.__aexit__(exc_type, exc, tb)
