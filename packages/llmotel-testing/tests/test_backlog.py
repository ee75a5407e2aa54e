"""A burst of concurrent clients is queued by the stub's listen backlog, not reset."""

from __future__ import annotations

import http.client
import json
import threading

from llmotel.testing import StubServer

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
