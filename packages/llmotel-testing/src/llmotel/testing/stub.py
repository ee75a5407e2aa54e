"""Run the stub server from the command line: ``python -m llmotel.testing.stub --port 0``.

The first line on stdout is the server's URL (flushed at once), so a parent process can start it and
read where it listens; it serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from llmotel.testing._server import StubServer

__all__ = ["StubServer", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmotel.testing.stub",
        description="A local OpenAI/Anthropic stub server: prints its URL, serves until a signal.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind; 0 picks a free one (default)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds to wait before every response"
    )
    parser.add_argument(
        "--chunk-delay", type=float, default=0.0, help="seconds to wait after every stream event"
    )
    parser.add_argument(
        "--model-suffix", default="", help="appended to the request's model in responses"
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    server = StubServer(
        args.host,
        args.port,
        latency=args.latency,
        chunk_delay=args.chunk_delay,
        model_suffix=args.model_suffix,
    )
    with server:
        print(server.url, flush=True)
        hint = f"OPENAI_BASE_URL={server.openai_base_url} ANTHROPIC_BASE_URL={server.url}"
        print(hint, file=sys.stderr, flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
