"""OpenTelemetry instrumentation for the ``mcp`` SDK (Model Context Protocol), client and server,
following the MCP semantic conventions v1.41.0.

Usage::

    from llmotel.instrumentation.mcp import MCPInstrumentor

    MCPInstrumentor().instrument()   # or instrument(tracer_provider=..., meter_provider=...)

    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.call_tool("add", {"a": 1, "b": 2})
    # → CLIENT span "tools/call add" (mcp.method.name, gen_ai.operation.name execute_tool,
    #   gen_ai.tool.name, jsonrpc.request.id, network.transport pipe); the request's params._meta
    #   carries its W3C trace context, so the server's SERVER span "tools/call add" (in the server
    #   process, instrumented the same way) is its child: one trace.

    MCPInstrumentor().uninstrument()  # the SDK is exactly as before

Instrumented (mcp 1.x): every request a session sends (``BaseSession.send_request``: the client's
``initialize``, ``tools/call``, ``tools/list``, ``resources/read``, ``prompts/get``, ``ping`` …, and
the server's requests to the client) and every notification it sends (``send_notification``:
``notifications/initialized``, the server's log messages and progress …) as a CLIENT span; every
request and notification the low-level ``Server`` (so ``FastMCP``) handles, ``initialize``
included, and every server request or notification a ``ClientSession`` handles (sampling, roots,
log messages) as a SERVER span. A notification's spans carry no ``jsonrpc.request.id`` (it has
none); its trace context travels in ``params._meta`` as a request's does. mcp 2.x emits spans of its own
(``mcp.shared._otel``) and propagates through ``_meta`` itself: this instrumentation leaves it alone
there (see the README's "The SDK's own spans"). Under ``opentelemetry-instrument`` it loads by
itself (entry point ``llmotel_mcp``); ``LLMOTEL_INSTRUMENTATION_CONFLICT`` decides between it and
OpenLLMetry's or OpenInference's MCP instrumentation when one is installed too.
"""

from __future__ import annotations

import contextvars
import importlib.util
import logging
import os
import time
import traceback
import weakref
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import Histogram, get_meter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.mcp import _extract as extract
from llmotel.instrumentation.mcp.package import _instruments
from llmotel.instrumentation.mcp.version import __version__
from llmotel.semconv import attributes as A
from llmotel.semconv import metrics as M
from llmotel.semconv import points
from llmotel.semconv.calls import Patches, server_of_url
from llmotel.semconv.capture import content_capture_from_env
from llmotel.semconv.inference import release_peers, settle_peers

__all__ = ["MCPInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.mcp"
_log = logging.getLogger(__name__)

# The other instrumentations of the mcp SDK (module, BaseInstrumentor class):
# LLMOTEL_INSTRUMENTATION_CONFLICT picks one; `llmotel doctor` reads this to say which.
PEERS = (
    ("opentelemetry.instrumentation.mcp", "McpInstrumentor"),  # OpenLLMetry
    ("openinference.instrumentation.mcp", "MCPInstrumentor"),  # OpenInference
)

_PIPE = A.NetworkTransportValues.PIPE.value
_TCP = A.NetworkTransportValues.TCP.value
# Attributes of a span that the operation-duration metrics carry too (the conventions' list).
_METRIC_KEYS = (
    A.MCP_METHOD_NAME,
    A.MCP_PROTOCOL_VERSION,
    A.GEN_AI_OPERATION_NAME,
    A.GEN_AI_TOOL_NAME,
    A.GEN_AI_PROMPT_NAME,
    A.NETWORK_TRANSPORT,
    A.NETWORK_PROTOCOL_NAME,
    A.ERROR_TYPE,
    A.RPC_RESPONSE_STATUS_CODE,
)


class _Link:
    """What the transport a session runs over tells (set while its context manager is open)."""

    __slots__ = ("address", "port", "session_id", "transport")

    def __init__(
        self,
        transport: str,
        address: str | None = None,
        port: int | None = None,
        session_id: Callable[[], Any] | None = None,
    ) -> None:
        self.transport = transport
        self.address = address
        self.port = port
        self.session_id = session_id


_LINK: contextvars.ContextVar[_Link | None] = contextvars.ContextVar(
    "llmotel_mcp_link", default=None
)


class _Reply:
    """The response the server sent for the request it is handling (``RequestResponder.respond``)."""

    __slots__ = ("request_id", "response")

    def __init__(self, request_id: Any) -> None:
        self.request_id = request_id
        self.response: Any = None


_REPLY: contextvars.ContextVar[_Reply | None] = contextvars.ContextVar(
    "llmotel_mcp_reply", default=None
)


class _TransportScope:
    """The transport's own async context manager, with ``_LINK`` set while it is open."""

    __slots__ = ("_inner", "_make", "_token")

    def __init__(self, inner: Any, make: Callable[[Any], _Link]) -> None:
        self._inner = inner
        self._make = make
        self._token: contextvars.Token[_Link | None] | None = None

    async def __aenter__(self) -> Any:
        streams = await self._inner.__aenter__()
        try:
            self._token = _LINK.set(self._make(streams))
        except Exception:  # noqa: BLE001 - telemetry never breaks the transport
            _log.debug("llmotel: could not read the MCP transport", exc_info=True)
        return streams

    async def __aexit__(self, *exc: Any) -> Any:
        if self._token is not None:
            try:
                _LINK.reset(self._token)
            except ValueError:  # exited in another context than it was entered in
                pass
            self._token = None
        return await self._inner.__aexit__(*exc)


_Make = Callable[[Any, tuple[Any, ...], dict[str, Any], Any], _Link]


def _transport_wrapper(make: _Make) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return _TransportScope(
            wrapped(*args, **kwargs), lambda streams: make(instance, args, kwargs, streams)
        )

    return wrapper


def _pipe(instance: Any, args: Any, kwargs: Any, streams: Any) -> _Link:
    return _Link(_PIPE)


def _http_client(instance: Any, args: Any, kwargs: Any, streams: Any) -> _Link:
    address, port = server_of_url(args[0] if args else kwargs.get("url"))
    get_id = streams[2] if isinstance(streams, tuple) and len(streams) > 2 else None
    return _Link(_TCP, address, port, get_id if callable(get_id) else None)


def _http_server(instance: Any, args: Any, kwargs: Any, streams: Any) -> _Link:
    # StreamableHTTPServerTransport.connect(): one transport per MCP session.
    return _Link(_TCP, session_id=lambda: getattr(instance, "mcp_session_id", None))


def _http_sse_server(instance: Any, args: Any, kwargs: Any, streams: Any) -> _Link:
    return _Link(_TCP)


# mcp 1.x's transports: (module, [class.]function, what it tells), each where it is defined, then
# where it is re-exported: the hooks patch the defining module first (it is imported inside the
# re-exporting one), so a re-export binds the wrapper; listed, it gets the original back at
# uninstrument() (Patches.wrap).
_TRANSPORTS = (
    ("mcp.client.stdio", "stdio_client", _pipe),
    ("mcp", "stdio_client", _pipe),
    ("mcp.client.streamable_http", "streamablehttp_client", _http_client),
    ("mcp.client.streamable_http", "streamable_http_client", _http_client),
    ("mcp.client.session_group", "streamable_http_client", _http_client),
    ("mcp.client.session_group", "streamablehttp_client", _http_client),
    ("mcp.server.stdio", "stdio_server", _pipe),
    ("mcp", "stdio_server", _pipe),
    ("mcp.server.fastmcp.server", "stdio_server", _pipe),
    ("mcp.server.streamable_http", "StreamableHTTPServerTransport.connect", _http_server),
    ("mcp.client.sse", "sse_client", _http_client),
    ("mcp.client.session_group", "sse_client", _http_client),
    ("mcp.server.sse", "SseServerTransport.connect_sse", _http_sse_server),
)


def _sdk_traces_itself() -> bool:
    # mcp 2.x ships its own spans (and _meta propagation) in mcp.shared._otel. Looked up on disk,
    # without importing mcp (a submodule's find_spec would import its packages).
    try:
        spec = importlib.util.find_spec("mcp")
    except (ImportError, ValueError):
        return False
    for location in (spec.submodule_search_locations or ()) if spec is not None else ():
        shared = os.path.join(location, "shared")
        if os.path.isfile(os.path.join(shared, "_otel.py")) or os.path.isdir(
            os.path.join(shared, "_otel")
        ):
            return True
    return False


_versions: tuple[Any, str | None] | None = None


def _negotiated(requested: Any) -> str | None:
    # What ServerSession answers to initialize: the client's version when supported, else latest.
    global _versions
    if _versions is None:
        try:
            from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS
            from mcp.types import LATEST_PROTOCOL_VERSION
        except ImportError:
            _versions = ((), None)
        else:
            _versions = (tuple(SUPPORTED_PROTOCOL_VERSIONS), str(LATEST_PROTOCOL_VERSION))
    supported, latest = _versions
    if isinstance(requested, str) and requested in supported:
        return requested
    return latest


class _Telemetry:
    """Makes the spans and duration points of MCP requests, on both sides."""

    def __init__(
        self, tracer: trace.Tracer, client: Histogram, server: Histogram, content: bool
    ) -> None:
        self._tracer = tracer
        self._content = content  # tool arguments and results on the spans (opt-in)
        self._client = client
        self._server = server
        # The protocol version each session agreed on (client side: from the initialize result).
        self._versions: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._warned: set[str] = set()
        # The duration points' attribute dicts, one per combination of values.
        self._metric_attrs = points.AttributeSets(_METRIC_KEYS)

    def _version_of(self, session: Any) -> str | None:
        """The protocol version ``session`` agreed on: a ClientSession's from its initialize result,
        a ServerSession's what it answered its client's initialize with."""
        version = self._versions.get(session)
        if version is None:
            params = getattr(session, "client_params", None)  # a ServerSession's
            if params is not None:
                version = _negotiated(getattr(params, "protocolVersion", None))
        return version

    def failed(self, where: str) -> None:
        if where not in self._warned:
            self._warned.add(where)
            _log.warning(
                "llmotel: MCP telemetry failed in %s; the request goes on\n%s",
                where,
                traceback.format_exc().rstrip(),
            )

    # -- client side: the session sends a request or a notification -----------------------------

    async def send_request(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        # BaseSession.send_request(request, result_type, ...)
        return await self._send(wrapped, instance, args, kwargs, "request", True)

    async def send_notification(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        # BaseSession.send_notification(notification, related_request_id=None)
        return await self._send(wrapped, instance, args, kwargs, "notification", False)

    async def _send(
        self, wrapped: Any, instance: Any, args: Any, kwargs: Any, arg: str, request: bool
    ) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        span: trace.Span | None = None
        try:
            message = args[0] if args else kwargs[arg]
            root = extract.root_of(message)
            method = extract.method_of(root)
            if method is None:
                return await wrapped(*args, **kwargs)
            name, attrs = extract.request_attributes(root, method, self._content)
            if request:
                request_id = getattr(instance, "_request_id", None)  # the id send_request assigns
                if request_id is not None:
                    attrs[A.JSONRPC_REQUEST_ID] = str(request_id)
            link = _LINK.get()
            if link is not None:
                attrs[A.NETWORK_TRANSPORT] = link.transport
                if link.address is not None:
                    attrs[A.SERVER_ADDRESS] = link.address
                    attrs[A.NETWORK_PROTOCOL_NAME] = "http"
                    if link.port is not None:
                        attrs[A.SERVER_PORT] = link.port
            version = self._version_of(instance)
            if version is not None:
                attrs[A.MCP_PROTOCOL_VERSION] = version
            span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attrs)
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=trace.set_span_in_context(span))
            try:
                sent = extract.with_meta(message, carrier)
            except Exception:  # noqa: BLE001 - the message goes out as it was, without the context
                self.failed("inject")
                sent = message
            args = (sent, *args[1:]) if args else args
            if not args:
                kwargs = {**kwargs, arg: sent}
            started = time.perf_counter()
        except Exception:  # noqa: BLE001
            self.failed("send")
            if span is not None:
                span.end()
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            self._end(span, self._client, started, attrs, exc=exc, session_of=link)
            raise
        self._end(
            span, self._client, started, attrs, result=result, session_of=link, owner=instance
        )
        return result

    # -- server side: the server handles a request or a notification ------------------------------

    async def handle_message(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        # Server._handle_message(message, session, lifespan_context, raise_exceptions): a request
        # (a RequestResponder) or a notification the server's loop dispatches to its handlers
        try:
            message = args[0] if args else kwargs["message"]
            session = args[1] if len(args) > 1 else kwargs["session"]
        except (IndexError, KeyError):
            return await wrapped(*args, **kwargs)
        request = extract.field(message, "request")
        if request is not None:  # a RequestResponder
            return await self._serve(
                wrapped, args, kwargs, message, extract.root_of(request), session
            )
        # a ClientNotification (or an exception the transport read: no method, passed through)
        return await self._serve(wrapped, args, kwargs, None, extract.root_of(message), session)

    async def client_received_notification(
        self, wrapped: Any, instance: Any, args: Any, kwargs: Any
    ) -> Any:
        # ClientSession._received_notification(notification): the server's notifications (log
        # messages, progress, list changes), which the client handles.
        notification = args[0] if args else kwargs.get("notification")
        req = extract.root_of(notification)
        return await self._serve(wrapped, args, kwargs, None, req, instance)

    async def received_request(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        # ServerSession._received_request(responder) answers initialize itself.
        responder = args[0] if args else kwargs.get("responder")
        req = extract.root_of(getattr(responder, "request", None))
        if extract.method_of(req) != "initialize":
            return await wrapped(*args, **kwargs)
        return await self._serve(wrapped, args, kwargs, responder, req, instance)

    async def client_received_request(
        self, wrapped: Any, instance: Any, args: Any, kwargs: Any
    ) -> Any:
        # ClientSession._received_request(responder): the server's requests (sampling, roots,
        # elicitation), which the client serves.
        responder = args[0] if args else kwargs.get("responder")
        req = extract.root_of(getattr(responder, "request", None))
        return await self._serve(wrapped, args, kwargs, responder, req, instance)

    async def respond(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        reply = _REPLY.get()
        if reply is not None and reply.request_id == getattr(instance, "request_id", None):
            reply.response = args[0] if args else kwargs.get("response")
        return await wrapped(*args, **kwargs)

    async def _serve(
        self, wrapped: Any, args: Any, kwargs: Any, message: Any, req: Any, session: Any
    ) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        try:
            method = extract.method_of(req)
            if method is None:
                return await wrapped(*args, **kwargs)
            name, attrs = extract.request_attributes(req, method, self._content)
            request_id = getattr(message, "request_id", None)
            if request_id is not None:
                attrs[A.JSONRPC_REQUEST_ID] = str(request_id)
            self._server_transport(message, attrs)
            if method == "initialize":
                version = _negotiated(extract.param(req, "protocolVersion"))
            else:
                version = self._version_of(session)
            if version is not None:
                attrs[A.MCP_PROTOCOL_VERSION] = version
            parent = None
            carrier = extract.meta_carrier(req)
            if carrier:
                extracted = propagate.extract(carrier)
                if trace.get_current_span(extracted).get_span_context().is_valid:
                    parent = extracted
            span = self._tracer.start_span(
                name, context=parent, kind=SpanKind.SERVER, attributes=attrs
            )
            reply = _Reply(request_id)  # a notification has none: nothing responds
            reply_token = _REPLY.set(reply)
            span_token = otel_context.attach(trace.set_span_in_context(span))
            started = time.perf_counter()
        except Exception:  # noqa: BLE001
            self.failed("serve")
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            self._end(span, self._server, started, attrs, exc=exc)
            raise
        finally:
            otel_context.detach(span_token)
            _REPLY.reset(reply_token)
        self._end(span, self._server, started, attrs, result=reply.response)
        return result

    @staticmethod
    def _server_transport(message: Any, attrs: dict[str, Any]) -> None:
        # message: the RequestResponder (None for a notification: the transport's link only)
        metadata = getattr(message, "message_metadata", None)
        http = getattr(metadata, "request_context", None)  # the starlette Request, over HTTP
        if http is not None:
            attrs[A.NETWORK_TRANSPORT] = _TCP
            attrs[A.NETWORK_PROTOCOL_NAME] = "http"
            headers = getattr(http, "headers", None)
            session_id = headers.get("mcp-session-id") if headers is not None else None
            if isinstance(session_id, str) and session_id:
                attrs[A.MCP_SESSION_ID] = session_id
            peer = getattr(http, "client", None)
            if peer is not None and getattr(peer, "host", None):
                attrs[A.CLIENT_ADDRESS] = peer.host
                if isinstance(getattr(peer, "port", None), int):
                    attrs[A.CLIENT_PORT] = peer.port
            return
        link = _LINK.get()
        if link is not None:
            attrs[A.NETWORK_TRANSPORT] = link.transport
            if link.transport == _TCP:
                attrs[A.NETWORK_PROTOCOL_NAME] = "http"
            session_id = link.session_id() if link.session_id is not None else None
            if isinstance(session_id, str) and session_id:
                attrs[A.MCP_SESSION_ID] = session_id

    # -- both: the outcome -------------------------------------------------------------------------

    def _end(
        self,
        span: trace.Span,
        histogram: Histogram,
        started: float,
        attrs: dict[str, Any],
        *,
        result: Any = None,
        exc: BaseException | None = None,
        session_of: _Link | None = None,
        owner: Any = None,
    ) -> None:
        try:
            elapsed = time.perf_counter() - started
            outcome: dict[str, Any] = {}
            if exc is not None:
                error = getattr(exc, "error", None)  # McpError: the JSON-RPC error
                code = getattr(error, "code", None)
                if isinstance(code, int):
                    outcome[A.ERROR_TYPE] = outcome[A.RPC_RESPONSE_STATUS_CODE] = str(code)
                    span.set_status(StatusCode.ERROR, str(getattr(error, "message", "")))
                else:
                    outcome[A.ERROR_TYPE] = type(exc).__qualname__
                    if isinstance(exc, Exception):
                        span.record_exception(exc)
                    span.set_status(StatusCode.ERROR, str(exc))
            else:
                self._result(span, result, attrs, outcome, owner)
            if session_of is not None and session_of.session_id is not None:
                session_id = session_of.session_id()
                if isinstance(session_id, str) and session_id:
                    outcome[A.MCP_SESSION_ID] = session_id
            if outcome:
                span.set_attributes(outcome)
                attrs.update(outcome)
            points.record_later(
                histogram,
                elapsed,
                self._metric_attrs.get(tuple(map(attrs.get, _METRIC_KEYS))),
                span.get_span_context(),
            )
        except Exception:  # noqa: BLE001
            self.failed("end")
        finally:
            span.end()

    def _result(
        self,
        span: trace.Span,
        result: Any,
        attrs: dict[str, Any],
        outcome: dict[str, Any],
        owner: Any,
    ) -> None:
        result = extract.root_of(result)
        code = extract.field(result, "code")
        if isinstance(code, int):  # the ErrorData a server answered with
            outcome[A.ERROR_TYPE] = outcome[A.RPC_RESPONSE_STATUS_CODE] = str(code)
            span.set_status(StatusCode.ERROR, str(extract.field(result, "message")))
        elif attrs[A.MCP_METHOD_NAME] == "tools/call":
            if extract.is_tool_error(result):
                outcome[A.ERROR_TYPE] = extract.TOOL_ERROR
                span.set_status(StatusCode.ERROR)
            if self._content:
                text = extract.tool_result(result)
                if text is not None:
                    span.set_attribute(A.GEN_AI_TOOL_CALL_RESULT, text)
        elif attrs[A.MCP_METHOD_NAME] == "initialize":
            version = extract.field(result, "protocolVersion")
            if isinstance(version, str):
                outcome[A.MCP_PROTOCOL_VERSION] = version
                if owner is not None:
                    self._versions[owner] = version


def _histogram(meter: Any, name: str, unit: str, description: str, buckets: Any) -> Histogram:
    try:
        return meter.create_histogram(  # type: ignore[no-any-return]
            name,
            unit=unit,
            description=description,
            explicit_bucket_boundaries_advisory=list(buckets),
        )
    except TypeError:  # an API older than the advisory
        return meter.create_histogram(name, unit=unit, description=description)  # type: ignore[no-any-return]


class MCPInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``mcp`` SDK, client and server (see the module docstring for what and how).

    ``instrument()`` accepts ``tracer_provider`` and ``meter_provider`` (default: the global ones).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        self._patches = Patches()
        self._settled = False
        if _sdk_traces_itself():
            _log.info(
                "llmotel: this mcp SDK makes its own MCP spans (mcp.shared._otel); "
                "llmotel-instrumentation-mcp leaves it alone"
            )
            return
        if not settle_peers("mcp", PEERS):
            return
        self._settled = True
        tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=kwargs.get("tracer_provider"))
        meter = get_meter(SCOPE, __version__, meter_provider=kwargs.get("meter_provider"))
        points.watch(meter)  # the duration points are recorded when a reader collects
        telemetry = _Telemetry(
            tracer,
            _histogram(
                meter,
                M.MCP_CLIENT_OPERATION_DURATION,
                M.MCP_CLIENT_OPERATION_DURATION_UNIT,
                M.MCP_CLIENT_OPERATION_DURATION_DESCRIPTION,
                M.MCP_CLIENT_OPERATION_DURATION_BUCKETS,
            ),
            _histogram(
                meter,
                M.MCP_SERVER_OPERATION_DURATION,
                M.MCP_SERVER_OPERATION_DURATION_UNIT,
                M.MCP_SERVER_OPERATION_DURATION_DESCRIPTION,
                M.MCP_SERVER_OPERATION_DURATION_BUCKETS,
            ),
            content_capture_from_env().on_span,
        )
        # Patched when the application imports each module (now, if it has): an installed mcp
        # the application never imports costs nothing at start-up.
        targets = (
            ("mcp.shared.session", "BaseSession.send_request", telemetry.send_request),
            ("mcp.shared.session", "BaseSession.send_notification", telemetry.send_notification),
            ("mcp.shared.session", "RequestResponder.respond", telemetry.respond),
            ("mcp.server.lowlevel.server", "Server._handle_message", telemetry.handle_message),
            ("mcp.server.session", "ServerSession._received_request", telemetry.received_request),
            (
                "mcp.client.session",
                "ClientSession._received_request",
                telemetry.client_received_request,
            ),
            (
                "mcp.client.session",
                "ClientSession._received_notification",
                telemetry.client_received_notification,
            ),
        )
        for module_name, path, wrapper in targets:
            self._patches.wrap_on_import(module_name, path, wrapper)
        for module_name, path, make in _TRANSPORTS:
            self._patches.wrap_on_import(module_name, path, _transport_wrapper(make))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._patches.restore()
        if self._settled:
            release_peers(PEERS)
