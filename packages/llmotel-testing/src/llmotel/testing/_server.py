"""``StubServer``: a local HTTP server that speaks enough of the OpenAI, Anthropic, Mistral AI and
Google Gen AI APIs for the real SDKs."""

from __future__ import annotations

import collections
import itertools
import json
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from llmotel.testing import _anthropic, _bedrock, _google_genai, _mistral, _openai
from llmotel.testing._common import Call, JsonResponse, Rendered, SseEvent, StreamResponse
from llmotel.testing._replies import Reply


@dataclass(frozen=True)
class RecordedRequest:
    """A request the stub received: what an SDK actually sent.

    ``headers`` has lower-case names; ``json`` is the parsed body, or ``None`` when the body is
    empty or not JSON.
    """

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    json: Any = field(default=None)


class StubServer:
    """A local LLM stub server: OpenAI (chat completions, completions, embeddings, Responses),
    Anthropic (messages), Mistral AI (chat, embeddings; under ``/mistral``), Google Gen AI
    (generateContent, embeddings; Gemini API and Vertex AI paths) and Amazon Bedrock Runtime
    (Converse, InvokeModel, both streamed too; under ``/bedrock``) over real HTTP, with
    deterministic default answers and scriptable replies.

    Usage::

        with StubServer() as stub:          # 127.0.0.1, a free port
            client = openai.OpenAI(base_url=stub.openai_base_url, api_key="test")
            stub.enqueue(text_reply("Hi!"))  # the next request gets this answer
            client.chat.completions.create(model="gpt-4o", messages=[...])
            assert stub.requests[-1].json["model"] == "gpt-4o"

    ``latency`` (seconds) delays every response, ``chunk_delay`` every stream event; both can be
    changed while running and overridden per reply. ``model_suffix`` is appended to the request's
    model in responses (e.g. ``"-2024-08-06"`` to mimic dated model ids). All methods are
    thread-safe.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        model_suffix: str = "",
    ) -> None:
        self.latency = latency
        self.chunk_delay = chunk_delay
        self.model_suffix = model_suffix
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._queue: collections.deque[Reply] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._counter = itertools.count(1)
        self._responses_store: dict[str, Any] = {}
        self._cache_prefixes: set[str] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    # -----------------------------------------------------------------------------------------
    def start(self) -> StubServer:
        """Bind and serve on a background thread; returns ``self``. Idempotent."""
        with self._lock:
            if self._httpd is not None:
                return self
            httpd = _HTTPServer((self._host, self._port), _Handler, self)
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="llmotel-stub",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection. Idempotent."""
        with self._lock:
            httpd, self._httpd = self._httpd, None
            thread, self._thread = self._thread, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses
    # -----------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the stub server is not running: call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` — the Anthropic SDK's ``base_url``."""
        if self._httpd is None:
            raise RuntimeError("the stub server is not running: call start()")
        host = str(self._httpd.server_address[0])
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``<url>/v1`` — the OpenAI SDK's ``base_url`` (``OPENAI_BASE_URL``)."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``<url>`` — the Anthropic SDK's ``base_url`` (``ANTHROPIC_BASE_URL``); it appends
        ``/v1/messages``."""
        return self.url

    @property
    def mistral_base_url(self) -> str:
        """``<url>/mistral`` — the Mistral SDK's ``server_url``; it appends ``/v1/chat/completions``."""
        return self.url + _mistral.PREFIX

    @property
    def google_genai_base_url(self) -> str:
        """``<url>`` — ``http_options={"base_url": ...}`` of the Google Gen AI SDK (Gemini API
        and Vertex AI clients); it appends ``/v1/models/{model}:generateContent`` and the like."""
        return self.url

    @property
    def bedrock_base_url(self) -> str:
        """``<url>/bedrock`` — botocore's ``endpoint_url`` for a ``bedrock-runtime`` client; it
        appends ``/model/{modelId}/converse`` and the like."""
        return self.url + _bedrock.PREFIX

    # scripting
    # -----------------------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        """Queue replies: each request the stub receives takes the next one, in order (whatever the
        endpoint). With the queue empty, requests get the deterministic default answer.
        """
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(
                    f"expected a Reply (see text_reply, error_reply, ...), got {reply!r}"
                )
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """How many queued replies no request has taken yet."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received since the last :meth:`reset`, oldest first."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget recorded requests, queued replies, stored responses and cache prefixes; restart
        ids at 1."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._counter = itertools.count(1)
            self._responses_store.clear()
            self._cache_prefixes.clear()

    # called by the handler
    # -----------------------------------------------------------------------------
    def _begin(self, request: RecordedRequest) -> tuple[int, Reply | None]:
        with self._lock:
            self._requests.append(request)
            seq = next(self._counter)
            reply = self._queue.popleft() if self._queue else None
        return seq, reply

    def _render(self, call: Call) -> Rendered:
        routed = _ROUTED.get(_family(call.path))
        if routed is not None:
            with self._lock:
                return routed.render(call)  # type: ignore[no-any-return]
        path = call.path
        if path.startswith("/v1/"):
            path = path[3:]
        with self._lock:
            if _anthropic.owns(path):
                return _anthropic.render(call, path)
            return _openai.render(call, path)


# API families the stub tells apart by the whole request path (they own their error format too).
_ROUTED: dict[str, Any] = {m.FAMILY: m for m in (_mistral, _google_genai, _bedrock)}


def _family(path: str) -> str:
    routed = next((name for name, m in _ROUTED.items() if m.owns(path)), None)
    if routed is not None:
        return routed
    return "anthropic" if _anthropic.owns(path.removeprefix("/v1")) else "openai"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # listen() backlog: the default of 5 resets most of a burst of concurrent clients (load tests, stress).
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], handler: type[_Handler], stub: StubServer) -> None:
        self.stub = stub
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a stream closed after [DONE], a cancelled request) is normal here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            conns = list(self.open_connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, a reused connection waits ~40 ms
    # for the delayed ACK before the body leaves.
    disable_nagle_algorithm = True
    server: _HTTPServer
    server_version = "llmotel-stub"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``stub.requests`` instead of a log."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    # ----------------------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        stub = self.server.stub
        raw = self._read_body()
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        split = urlsplit(self.path)
        recorded = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=raw,
            json=parsed,
        )
        seq, reply = stub._begin(recorded)
        delay = reply.latency if reply is not None and reply.latency is not None else stub.latency
        if delay > 0:
            time.sleep(delay)
        family = _family(split.path)
        request_id_header = getattr(_ROUTED.get(family), "REQUEST_ID_HEADER", None) or (
            "request-id" if family == "anthropic" else "x-request-id"
        )
        base_headers = {request_id_header: f"req_stub_{seq:06d}"}
        try:
            if reply is not None and reply.kind == "raw":
                self._send_raw(reply)
                return
            if reply is not None and reply.kind == "error":
                self._send_json(
                    _error(family, reply.status, reply, seq, parsed), base_headers, reply
                )
                return
            if raw and parsed is None:
                self._send_json(
                    _error(
                        family,
                        400,
                        Reply(
                            kind="error",
                            message="We could not parse the JSON body of your request.",
                        ),
                        seq,
                        parsed,
                    ),
                    base_headers,
                )
                return
            call = Call(
                seq=seq,
                method=self.command,
                path=split.path,
                body=parsed,
                reply=reply,
                model_suffix=stub.model_suffix,
                responses_store=stub._responses_store,
                cache_prefixes=stub._cache_prefixes,
            )
            if reply is not None and reply.stream_error is not None and not call.stream:
                err = reply.stream_error
                scripted = Reply(
                    kind="error",
                    status=err.status,
                    message=err.message,
                    error_type=err.type,
                    code=err.code,
                )
                self._send_json(_error(family, err.status, scripted, seq, parsed), base_headers)
                return
            rendered = stub._render(call)
            if isinstance(rendered, StreamResponse):
                chunk_delay = (
                    reply.chunk_delay
                    if reply is not None and reply.chunk_delay is not None
                    else stub.chunk_delay
                )
                self._send_stream(rendered, reply, chunk_delay, base_headers)
            else:
                self._send_json(rendered, base_headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_json(
        self, response: JsonResponse, base_headers: Mapping[str, str], reply: Reply | None = None
    ) -> None:
        data = json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in {**base_headers, **response.headers}.items():
            self.send_header(name, value)
        if reply is not None:
            for name, value in reply.headers:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_raw(self, reply: Reply) -> None:
        data = reply.body or b""
        self.send_response(reply.status)
        names = {name.lower() for name, _ in reply.headers}
        for name, value in reply.headers:
            self.send_header(name, value)
        if "content-length" not in names and "transfer-encoding" not in names:
            self.send_header("content-length", str(len(data)))
        self.end_headers()
        if reply.truncate_at is not None:
            self.wfile.write(data[: reply.truncate_at])
            self._abort()
            return
        self.wfile.write(data)

    def _send_stream(
        self,
        stream: StreamResponse,
        reply: Reply | None,
        chunk_delay: float,
        base_headers: Mapping[str, str],
    ) -> None:
        self.send_response(200)
        self.send_header("content-type", stream.content_type)
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        for name, value in base_headers.items():
            self.send_header(name, value)
        self.end_headers()
        cut = reply.cut_after if reply is not None else None
        error = reply.stream_error if reply is not None else None
        encode = stream.encode or _sse
        for index, event in enumerate(stream.events):
            if error is not None and error.after_events == index:
                self._write_chunk(encode(stream.error_event(error)))
                break
            if cut is not None and cut == index:
                self._abort()
                return
            self._write_chunk(encode(event))
            if chunk_delay > 0:
                time.sleep(chunk_delay)
        else:
            if error is not None:
                self._write_chunk(encode(stream.error_event(error)))
            elif cut is not None:
                self._abort()
                return
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, encoded: bytes) -> None:
        self.wfile.write(f"{len(encoded):x}\r\n".encode() + encoded + b"\r\n")

    def _abort(self) -> None:
        """Close the connection now, mid-body: the client sees an incomplete response."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _sse(event: SseEvent) -> bytes:
    name, data = event
    payload = data if isinstance(data, str) else json.dumps(data)
    return ((f"event: {name}\n" if name else "") + f"data: {payload}\n\n").encode()


def _error(family: str, status: int, reply: Reply, seq: int, request: Any) -> JsonResponse:
    if family in _ROUTED:
        return _ROUTED[family].error_response(status, reply, seq)  # type: ignore[no-any-return]
    if family == "anthropic":
        return _anthropic.error_response(status, reply, seq)
    return _openai.error_response(status, reply, request)
