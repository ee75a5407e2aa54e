"""Arize Phoenix as a local trace UI, installed in a virtual environment of its own.

Phoenix pins a large dependency tree (FastAPI, SQLAlchemy, pandas, grpc …) that must not leak into the
application's environment, so it lives in ``$XDG_CACHE_HOME/llmotel/phoenix`` (override: ``LLMOTEL_PHOENIX_VENV``),
created with ``uv`` on first use. It accepts OTLP/HTTP on the same port as its UI (``/v1/traces``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

__all__ = ["Phoenix", "exit_on_sigterm"]

_PHOENIX_REQUIREMENT = "arize-phoenix >= 8"


def _default_venv() -> Path:
    override = os.environ.get("LLMOTEL_PHOENIX_VENV")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "llmotel" / "phoenix"


@contextlib.contextmanager
def exit_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` as Ctrl-C raises ``KeyboardInterrupt``.

    Python's default for SIGTERM ends the process at once, so no ``finally`` or ``with`` exit runs and a child in
    its own session (Phoenix) and its temporary folder outlive us. Only the main thread can install handlers;
    elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Phoenix:
    """A Phoenix server on 127.0.0.1: ``start()`` installs it if needed and waits until it answers."""

    def __init__(self, port: int | None = None, venv: Path | None = None) -> None:
        self.port = port or _free_port()
        self.venv = venv or _default_venv()
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    ui_url = url
    otlp_url = url

    def install(self, out: TextIO | None = None) -> Path:
        """Create the venv and install Phoenix unless it is already there; returns the ``phoenix`` executable."""
        exe = self.venv / "bin" / "phoenix"
        if exe.exists():
            return exe
        if out:
            out.write(f"installing Arize Phoenix into {self.venv} (first run only) …\n")
            out.flush()
        subprocess.run(
            [*_uv(), "venv", "--quiet", "--python", sys.executable, str(self.venv)], check=True
        )
        subprocess.run(
            [
                *_uv(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(self.venv / "bin" / "python"),
                _PHOENIX_REQUIREMENT,
            ],
            check=True,
        )
        return exe

    def start(self, out: TextIO | None = None, timeout: float = 180.0) -> None:
        """Install if needed, start ``phoenix serve`` (own session, own temporary working folder) and wait until
        it answers. Whatever interrupts it (a timeout, Ctrl-C, SIGTERM under :func:`exit_on_sigterm`) stops it."""
        try:
            self._start(out, timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, out: TextIO | None, timeout: float) -> None:
        exe = self.install(out)
        self._workdir = tempfile.mkdtemp(prefix="llmotel-phoenix-")
        env = dict(os.environ)
        env.update(
            {
                "PHOENIX_PORT": str(self.port),
                "PHOENIX_HOST": "127.0.0.1",
                "PHOENIX_WORKING_DIR": self._workdir,
                "PHOENIX_TELEMETRY_ENABLED": "false",
                "PHOENIX_GRPC_PORT": str(_free_port()),
            }
        )
        self._process = subprocess.Popen(
            [str(exe), "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"Phoenix exited during start-up (code {self._process.returncode})"
                )
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"Phoenix did not answer on {self.url} within {timeout:.0f} s")

    def wait(self) -> None:
        """Block until Ctrl-C, then stop Phoenix."""
        try:
            while self._process is not None and self._process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
        self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Phoenix:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
