"""``python -m llmotel.testing.stub`` as a subprocess: prints its URL, serves, stops on a signal."""

from __future__ import annotations

import signal
import subprocess
import sys

import openai


def test_cli_prints_url_serves_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "llmotel.testing.stub", "--port", "0", "--model-suffix=-dated"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        chat = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "cli"}]
        )
        assert chat.choices[0].message.content == "Stub reply from gpt-4o: cli"
        assert chat.model == "gpt-4o-dated"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_stops_on_sigint() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "llmotel.testing.stub", "--port", "0", "--latency", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("http://")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmotel.testing.stub", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--port" in result.stdout
    assert "--latency" in result.stdout
