"""The progress display: a ticking line on a real terminal (a pseudo-terminal), one line per stage and turn in logs,
GitHub Actions groups, nothing with --quiet; the architecture scan too."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

from repo_auditor.cli import main
from tests.cli.conftest import QUESTION
from tests.cli.test_audit_cli import (
    audit,
    script_exploration,
    submit_reply,
    synthesis_reply,
)
from tests.support.openai_server import Reply
from tests.support.scripted_lm import code_reply

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(args: list[str], env: dict[str, str], timeout: float = 240) -> tuple[str, str, int]:
    """Run the CLI with stderr on a pseudo-terminal; (terminal output, stdout, exit status)."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", "from repo_auditor.cli import run; run()", *args],
                               stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    os.close(slave)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO once the child has closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stdout, _ = process.communicate(timeout=timeout)
    reader.join(timeout=10)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace"), stdout.decode(), process.returncode


def test_a_terminal_shows_a_line_that_keeps_ticking_during_a_model_call(server, shop, tmp_path):
    server.enqueue(
        Reply(code_reply('print(grep("execute", glob="*.py"))', "Find the queries."), delay=2.6),
        submit_reply(), synthesis_reply(),
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test-cli", "TERM": "xterm",
           "COLUMNS": "160", "REPO_AUDITOR_CONFIG_DIR": str(tmp_path / "cfg")}
    env.pop("GITHUB_ACTIONS", None)
    terminal, stdout, status = run_in_terminal(
        [str(shop.path), QUESTION, "--model", "openai/x", "--api-base", server.url], env)
    assert status == 0, terminal
    assert stdout.startswith("# Audit:")  # the report stays on stdout
    frames = [ANSI.sub("", frame).strip() for frame in re.split(r"\r|\n", terminal)]
    frames = [f for f in frames if f]
    before_first_reply = [f for f in frames if f.count("exploring") and "turn" not in f]
    seconds = {int(m[1]) for f in before_first_reply if (m := re.search(r"· (\d+) s$", f))}
    assert {0, 1, 2} <= seconds, frames  # the clock moved while the first model call was under way
    after = [f for f in frames if re.search(r"turn [12]/20", f)]  # a redraw may land on turn 1 or 2
    assert after and "0 sub-calls" in after[0] and "tokens" in after[0] and "cost unknown" in after[0]
    assert any(f.startswith(("synthesis and verification",)) or "synthesis and verification" in f for f in frames)
    assert "\x1b[" in terminal  # rich redraws the line in place


def test_a_log_gets_one_line_per_stage_and_turn(runner, server, shop):
    script_exploration(server)
    result = audit(runner, server, shop.path)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert re.fullmatch(r"\[\s+\d+ s\] exploring", lines[0])
    assert [line.split("] ", 1)[1].split(" · ")[1] for line in lines[1:5]] == [f"turn {k}/20" for k in range(1, 5)]
    assert "synthesis and verification" in lines[5]
    assert lines[6].split("] ", 1)[1].startswith("done: synthesis and verification · turn 4/20")
    assert "cost unknown" in lines[6]  # openai/x has no price in litellm's table


def test_github_actions_gets_log_groups(runner, server, shop, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    script_exploration(server)
    result = audit(runner, server, shop.path)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "::group::exploring"
    assert lines.index("::endgroup::") < lines.index("::group::synthesis and verification")
    assert lines[-1] == "::endgroup::"


def test_quiet_prints_nothing(runner, server, shop):
    script_exploration(server)
    result = audit(runner, server, shop.path, "--quiet")
    assert result.exit_code == 0 and result.stderr == ""


def test_the_architecture_scan_reports_its_stage(runner, shop):
    result = runner.invoke(main, ["architecture", str(shop.path), "--no-llm"])
    assert result.exit_code == 0, result.stderr
    assert re.match(r"\[\s+\d+ s\] scanning\n\[\s+\d+ s\] done: scanning\n", result.stderr)
