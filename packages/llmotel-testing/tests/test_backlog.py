"""A burst of concurrent clients is queued by the stub's and the OTLP receiver's listen backlog, not reset."""

from __future__ import annotations

import http.client
import json
import threading

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmotel.testing import StubServer
from llmotel.testing.otlp import OtlpReceiver

CLIENTS = 200
CHAT = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})


def test_two_hundred_simultaneous_connections_are_all_answered() -> None:
    statuses: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    # Every client connects at the same instant; the latency keeps the first ones busy meanwhile.
    barrier = threading.Barrier(CLIENTS)
    with StubServer(latency=0.2) as stub:

        def call() -> None:
            barrier.wait()
            conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=10)
            try:
                conn.request(
                    "POST",
                    "/v1/chat/completions",
                    body=CHAT,
                    headers={"content-type": "application/json"},
                )
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses.append(response.status)
            except OSError as exc:
                with lock:
                    errors.append(repr(exc))
            finally:
                conn.close()

        threads = [threading.Thread(target=call) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(stub.requests) == CLIENTS
    assert errors == []
    assert statuses == [200] * CLIENTS


def _one_span_request() -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "chat m"
    return request.SerializeToString()


BODY = _one_span_request()


def test_two_hundred_simultaneous_exports_are_all_received() -> None:
    statuses: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)
    with OtlpReceiver() as receiver:

        def export() -> None:
            barrier.wait()
            conn = http.client.HTTPConnection(receiver.url.removeprefix("http://"), timeout=10)
            try:
                conn.request(
                    "POST",
                    "/v1/traces",
                    body=BODY,
                    headers={"content-type": "application/x-protobuf"},
                )
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses.append(response.status)
            except OSError as exc:
                with lock:
                    errors.append(repr(exc))
            finally:
                conn.close()

        threads = [threading.Thread(target=export) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(receiver.spans()) == CLIENTS
    assert errors == []
    assert statuses == [200] * CLIENTS
