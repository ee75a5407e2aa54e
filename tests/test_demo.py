"""The README's first command runs ``llmotel demo``: it must work and show real telemetry — what was kept and
dropped by tail sampling and why, what was redacted — and ``--ui`` must not leave Phoenix behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    env.update({"NO_COLOR": "1", "PYTHONUNBUFFERED": "1", **extra})
    return env


@pytest.fixture(scope="module")
def demo_output() -> str:
    result = subprocess.run(
        [str(BIN / "llmotel"), "demo"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _models(output: str) -> dict[str, list[float]]:
    table = output.split("per model", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        name, *numbers = line.split()
        if name != "total":
            rows[name] = [float(n) for n in numbers]
    return rows


def test_demo_reports_every_model_from_the_metrics(demo_output: str) -> None:
    models = _models(demo_output)
    assert set(models) == {"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "claude-haiku-4-5"}
    for model, (calls, input_tokens, _output, _cached, cost) in models.items():
        assert calls >= 1, model
        assert input_tokens > 0, model
        assert cost > 0, model
    assert models["claude-sonnet-4-5"][3] > 0  # cache reads
    # The failed call and the dropped trace count too: metrics see every call.
    assert models["claude-haiku-4-5"][0] == 2


def test_demo_shows_what_tail_sampling_kept_and_dropped_and_why(demo_output: str) -> None:
    assert (
        "kept 6 of 7 traces: 2 by attribute:user.id, 1 by cost, 1 by error, 2 by tokens"
        in demo_output
    )
    assert "dropped 1 trace of demo-anthropic: no policy kept it" in demo_output
    kept = re.findall(r"kept by tail sampling: (\S+)\n\s+└─ (.+)", demo_output)
    by_root = {root.split("  ")[0]: policy for policy, root in kept}
    assert by_root == {
        "handle support ticket": "cost",
        "chat claude-haiku-4-5": "error",
        "chat claude-sonnet-4-5": "tokens",
        "llmgine session": "attribute:user.id",
        "answer order question": "attribute:user.id",
    }
    assert "ERROR OverloadedError" in next(root for _, root in kept if "haiku" in root)


def test_demo_shows_one_trace_across_the_mcp_client_and_server(demo_output: str) -> None:
    # The assistant's tools/call (CLIENT) and the desk's (SERVER, another process, its own service)
    # are parent and child, and the tool's LLM call in the desk nests under the desk's span.
    tree = demo_output.split("conversation session-mcp-1  (demo-mcp)\n", 1)[1].split("\n\n", 1)[0]
    lines = tree.splitlines()
    call = next(
        i
        for i, line in enumerate(lines)
        if "├─ tools/call order_status" in line or "└─ tools/call order_status" in line
    )
    client, served, llm = lines[call : call + 3]
    assert "in demo-mcp-desk" not in client
    assert re.search(r"^\s+└─ tools/call order_status  [\d.]+ ms  in demo-mcp-desk$", served), (
        served
    )
    assert re.search(
        r"^\s+└─ chat gpt-4o-mini  [\d.]+ ms  in demo-mcp-desk  \d+ in / \d+ out tok  \$", llm
    ), llm
    for method in ("initialize", "notifications/initialized", "tools/list"):
        assert sum(f"─ {method}  " in line for line in lines) == 2, method  # one span per side


def test_demo_shows_redactions_by_entity_type_and_one_redacted_message(demo_output: str) -> None:
    first_call = next(line for line in demo_output.splitlines() if "chat gpt-4o-mini" in line)
    assert first_call.endswith("redacted 1 CREDIT_CARD, 2 EMAIL_ADDRESS, 1 PHONE_NUMBER")
    totals = demo_output.split("redacted before export: ", 1)[1].splitlines()[0]
    for entity in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE"):
        assert re.search(rf"\b[1-9]\d* {entity}\b", totals), entity
    assert (
        "a user message as exported (chat gpt-4o-mini, demo-openai):\n"
        "    Hi, I'm Jane (<EMAIL_ADDRESS>, <PHONE_NUMBER>). My card <CREDIT_CARD> was charged twice"
        " for order A-1042.\n"
    ) in demo_output
    for raw in ("jane.doe@example.com", "4111 1111 1111 1111", "415-555-0134"):
        assert raw not in demo_output


# A stand-in for Phoenix with the same contract (`phoenix serve`, PHOENIX_PORT, PHOENIX_WORKING_DIR, /healthz,
# OTLP on /v1/traces), so `llmotel demo --ui` runs its real child-process code without the 600 MB install.
_FAKE_PHOENIX = """\
    import http.server, os, pathlib
    pathlib.Path(os.environ["FAKE_PHOENIX_RECORD"]).write_text(
        f"{os.getpid()}\\n{os.environ['PHOENIX_WORKING_DIR']}\\n"
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def _ok(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _ok

        def log_message(self, *args):
            pass

    port = int(os.environ["PHOENIX_PORT"])
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state  # a zombie has exited; only its entry waits for a reaper


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_demo_ui_stops_phoenix_and_removes_its_folder(
    tmp_path: Path, signum: int, code: int
) -> None:
    venv = tmp_path / "phoenix-venv"
    (venv / "bin").mkdir(parents=True)
    exe = venv / "bin" / "phoenix"
    exe.write_text(f"#!{sys.executable}\n" + textwrap.dedent(_FAKE_PHOENIX))
    exe.chmod(0o755)
    record = tmp_path / "phoenix.record"
    demo = subprocess.Popen(
        [str(BIN / "llmotel"), "demo", "--ui"],
        env=_clean_env(
            LLMOTEL_PHOENIX_VENV=str(venv), FAKE_PHOENIX_RECORD=str(record), PYTHONFAULTHANDLER="1"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A shell without job control starts background commands with SIGINT ignored, and Python
        # keeps an inherited SIG_IGN: the demo gets SIGINT's default whatever ran this suite.
        preexec_fn=_default_sigint,
    )
    try:
        assert demo.stdout is not None
        seen = ""
        # Phoenix answered once the demo moves on to its apps.
        while "running the openai app" not in seen:
            line = demo.stdout.readline()
            assert line, seen
            seen += line
        phoenix_pid, workdir = record.read_text().split()
        assert not _gone(int(phoenix_pid))
        assert Path(workdir).is_dir()

        demo.send_signal(signum)
        try:
            exit_code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            # PYTHONFAULTHANDLER: SIGABRT makes the demo print every thread's stack, to say where it hung.
            demo.send_signal(signal.SIGABRT)
            demo.wait(timeout=30)
            pytest.fail(
                f"the demo did not exit 60 s after signal {signum}:\n{seen}{demo.stdout.read()}"
            )
        assert exit_code == code, seen + demo.stdout.read()
        deadline = time.monotonic() + 10
        while not _gone(int(phoenix_pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(int(phoenix_pid))
        assert not Path(workdir).exists()
    finally:
        demo.kill()
        demo.wait()
