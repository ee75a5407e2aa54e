"""A local OTLP/HTTP receiver: what an exporter really sent, decoded into plain Python data.

    with OtlpReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
               "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
        ...  # run an app that exports over OTLP/HTTP
        receiver.wait_for_spans(lambda spans: len(spans) >= 3)
        for span in receiver.spans(): ...

It speaks the OTLP/HTTP binary protobuf encoding on ``/v1/traces``, ``/v1/metrics`` and ``/v1/logs``
(gzip or not), answers 200 with an empty export response, and keeps every request. Decoding needs
``opentelemetry-proto`` (a dependency of the OTLP exporters); it is imported lazily so the rest of
``llmotel.testing`` does not need it.
"""

from __future__ import annotations

import gzip
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OtlpReceiver", "ReceivedLogRecord", "ReceivedMetricPoint", "ReceivedSpan"]


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as it arrived: ids in lowercase hex, times in ns, attributes decoded to Python
    values."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_time: int
    end_time: int
    attributes: Mapping[str, Any]
    status_code: int
    status_message: str
    events: tuple[tuple[str, Mapping[str, Any]], ...]
    links: tuple[tuple[str, str, Mapping[str, Any]], ...]
    resource: Mapping[str, Any]
    scope: str

    @property
    def duration_s(self) -> float:
        return (self.end_time - self.start_time) / 1e9


@dataclass(frozen=True)
class ReceivedMetricPoint:
    """One data point: ``value`` for sums and gauges; ``count``/``sum``/``bucket_counts`` for
    histograms."""

    name: str
    unit: str
    kind: str  # "sum" | "gauge" | "histogram"
    attributes: Mapping[str, Any]
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    bucket_counts: tuple[int, ...] = ()
    explicit_bounds: tuple[float, ...] = ()
    resource: Mapping[str, Any] = field(default_factory=dict)
    scope: str = ""


@dataclass(frozen=True)
class ReceivedLogRecord:
    event_name: str
    body: Any
    attributes: Mapping[str, Any]
    trace_id: str
    span_id: str
    resource: Mapping[str, Any]
    scope: str


def _any_value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which)


def _attrs(key_values: Any) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in key_values}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        signal = self.path.rstrip("/").rsplit("/", 1)[-1]
        if signal not in ("traces", "metrics", "logs"):
            self._reply(404)
            return
        try:
            self.server.receiver._ingest(signal, body)
        # A body we cannot decode is the exporter's bug, not a reason to hang it.
        except Exception:  # noqa: BLE001
            self._reply(400)
            return
        self._reply(200)
        self.server.receiver._forward(self.path, body)

    def _reply(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # listen() backlog: the default of 5 resets most of a burst of exporters flushing at once.
    request_queue_size = 1024
    receiver: OtlpReceiver


class OtlpReceiver:
    """An OTLP/HTTP (protobuf) receiver on ``host`` (127.0.0.1) and ``port`` (0 = a free one).

    ``url`` is what ``OTEL_EXPORTER_OTLP_ENDPOINT`` should be set to. Use it as a context manager or
    call ``start()``/``stop()``. Thread-safe; ``clear()`` forgets what was received. With
    ``forward_to`` (an OTLP/HTTP base URL) every request is also relayed there unchanged, e.g. to
    show the same telemetry in a UI.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, forward_to: str | None = None
    ) -> None:
        self._forward_to = forward_to.rstrip("/") if forward_to else None
        self._host = host
        self._port = port
        # Condition() wraps an RLock: wait_for's predicate may call spans()/metric_points() while
        # holding it.
        self._lock = threading.Condition()
        self._spans: list[ReceivedSpan] = []
        self._points: list[ReceivedMetricPoint] = []
        self._logs: list[ReceivedLogRecord] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("OtlpReceiver is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OtlpReceiver:
        server = _Server((self._host, self._port), _Handler)
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="otlp-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()
            self._points.clear()
            self._logs.clear()

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def metric_points(self, name: str | None = None) -> list[ReceivedMetricPoint]:
        with self._lock:
            return [p for p in self._points if name is None or p.name == name]

    def logs(self) -> list[ReceivedLogRecord]:
        with self._lock:
            return list(self._logs)

    def wait_for(self, predicate: Callable[[OtlpReceiver], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(self)`` holds (checked on every arrival) or ``timeout`` seconds
        pass."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def _forward(self, path: str, body: bytes) -> None:
        if not self._forward_to:
            return
        request = urllib.request.Request(
            self._forward_to + path, data=body, headers={"Content-Type": "application/x-protobuf"}
        )
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except OSError:
            pass  # the relay is a convenience: what this receiver holds is the record

    def _ingest(self, signal: str, body: bytes) -> None:
        if signal == "traces":
            spans = _decode_traces(body)
            with self._lock:
                self._spans.extend(spans)
                self._lock.notify_all()
        elif signal == "metrics":
            points = _decode_metrics(body)
            with self._lock:
                self._points.extend(points)
                self._lock.notify_all()
        else:
            logs = _decode_logs(body)
            with self._lock:
                self._logs.extend(logs)
                self._lock.notify_all()


def _decode_traces(body: bytes) -> list[ReceivedSpan]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest.FromString(body)
    out = []
    for resource_spans in request.resource_spans:
        resource = _attrs(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                out.append(  # noqa: PERF401
                    ReceivedSpan(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        name=s.name,
                        kind=s.kind,
                        start_time=s.start_time_unix_nano,
                        end_time=s.end_time_unix_nano,
                        attributes=_attrs(s.attributes),
                        status_code=s.status.code,
                        status_message=s.status.message,
                        events=tuple((e.name, _attrs(e.attributes)) for e in s.events),
                        links=tuple(
                            (link.trace_id.hex(), link.span_id.hex(), _attrs(link.attributes))
                            for link in s.links
                        ),
                        resource=resource,
                        scope=scope_spans.scope.name,
                    )
                )
    return out


def _decode_metrics(body: bytes) -> list[ReceivedMetricPoint]:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    request = ExportMetricsServiceRequest.FromString(body)
    out = []
    for resource_metrics in request.resource_metrics:
        resource = _attrs(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for m in scope_metrics.metrics:
                data = m.WhichOneof("data")
                if data in ("sum", "gauge"):
                    for p in getattr(m, data).data_points:
                        number = p.as_double if p.WhichOneof("value") == "as_double" else p.as_int
                        out.append(
                            ReceivedMetricPoint(
                                m.name,
                                m.unit,
                                data,
                                _attrs(p.attributes),
                                value=number,
                                resource=resource,
                                scope=scope,
                            )
                        )
                elif data == "histogram":
                    for p in m.histogram.data_points:
                        out.append(  # noqa: PERF401
                            ReceivedMetricPoint(
                                m.name,
                                m.unit,
                                "histogram",
                                _attrs(p.attributes),
                                count=p.count,
                                sum=p.sum,
                                bucket_counts=tuple(p.bucket_counts),
                                explicit_bounds=tuple(p.explicit_bounds),
                                resource=resource,
                                scope=scope,
                            )
                        )
    return out


def _decode_logs(body: bytes) -> list[ReceivedLogRecord]:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = ExportLogsServiceRequest.FromString(body)
    out = []
    for resource_logs in request.resource_logs:
        resource = _attrs(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for r in scope_logs.log_records:
                out.append(  # noqa: PERF401
                    ReceivedLogRecord(
                        event_name=r.event_name,
                        body=_any_value(r.body),
                        attributes=_attrs(r.attributes),
                        trace_id=r.trace_id.hex(),
                        span_id=r.span_id.hex(),
                        resource=resource,
                        scope=scope_logs.scope.name,
                    )
                )
    return out
