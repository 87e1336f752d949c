"""Time and memory limits, crashes and restarts: each test owns its interpreter because most of them restart it."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from repo_auditor.sandbox import DenoInterpreter


def wait_until_exited(interp: DenoInterpreter) -> None:
    deadline = time.monotonic() + 10
    while interp.pid is not None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_infinite_loop_is_interrupted_and_state_kept(runtime_ready: None) -> None:
    with DenoInterpreter(timeout=30) as interp:
        interp.execute("kept = 'still here'")
        pid = interp.pid
        result = interp.execute("while True:\n    pass", timeout=1)
        assert result.error_type == "TimeoutError"
        assert "time limit" in result.error and "<cell 2>" in result.error
        assert not result.state_lost
        assert interp.execute("kept").value == "'still here'"
        assert interp.pid == pid


def test_loop_that_swallows_the_interrupt_is_killed_and_restarted(runtime_ready: None, tools: dict[str, Any]) -> None:
    with DenoInterpreter(timeout=30, grace=1, tools=tools, variables={"given": [1, 2]}) as interp:
        interp.execute("mine = 1")
        pid = interp.pid
        stubborn = ("while True:\n    try:\n        while True:\n            pass\n"
                    "    except BaseException:\n        pass")
        result = interp.execute(stubborn, timeout=1)
        assert result.error_type == "TimeoutError"
        assert result.state_lost
        assert any("restarted" in note for note in result.notes)
        assert interp.pid != pid
        after = interp.execute("given, echo(1)['args'], 'mine' in globals()")
        assert after.value == "([1, 2], [1], False)"
        assert not after.state_lost


def test_killed_process_is_restarted_with_variables_and_tools(runtime_ready: None, tools: dict[str, Any]) -> None:
    with DenoInterpreter(tools=tools, variables={"given": "text"}) as interp:
        interp.execute("mine = 1")
        os.kill(interp.pid, signal.SIGKILL)
        wait_until_exited(interp)
        result = interp.execute("given, echo('x')['args'], 'mine' in globals()")
        assert result.state_lost
        assert any("restarted" in note and "signal 9" in note for note in result.notes)
        assert result.value == "('text', ['x'], False)"
        assert interp.restarts == 1


def test_memory_limit_kills_and_restarts(runtime_ready: None) -> None:
    with DenoInterpreter(max_memory_mb=400, variables={"given": 7}) as interp:
        result = interp.execute("hog = []\nwhile True:\n    hog.append(b'x' * (32 << 20))", timeout=60)
        assert result.error_type == "MemoryError"
        assert "400 MB" in result.error
        assert result.state_lost
        assert interp.execute("given").value == "7"


def test_values_that_cannot_be_shown_do_not_break_the_session(runtime_ready: None) -> None:
    with DenoInterpreter() as interp:
        code = "class Bad:\n    def __repr__(self):\n        raise RuntimeError('no repr')\nBad()"
        result = interp.execute(code)
        assert result.value is not None and "repr failed" in result.value
        assert interp.execute("2**200").value == str(2**200)
        assert interp.execute("raise SystemExit(3)").error_type == "SystemExit"
        assert interp.execute("1").value == "1"


def test_dropped_interpreter_does_not_leave_deno_running(runtime_ready: None) -> None:
    import gc

    interp = DenoInterpreter()
    interp.start()
    pid = interp.pid
    assert pid is not None
    del interp
    gc.collect()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}") and not _is_zombie(pid):
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{pid}") or _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().split(b")")[-1].split()[0] == b"Z"
    except OSError:
        return True


def test_host_side_interrupt_during_a_tool_leaves_no_stale_state(runtime_ready: None) -> None:
    def interrupt() -> None:
        """Behave like Ctrl-C on the host while the sandbox waits for this tool."""
        raise KeyboardInterrupt

    with DenoInterpreter(tools={"interrupt": interrupt}, variables={"given": 5}) as interp:
        with pytest.raises(KeyboardInterrupt):
            interp.execute("interrupt()")
        result = interp.execute("given")
        assert result.value == "5"
        assert result.state_lost


def test_memory_limit_holds_during_a_stream_of_tool_calls(runtime_ready: None) -> None:
    def ping() -> int:
        """Answer at once."""
        return 1

    with DenoInterpreter(max_memory_mb=400, tools={"ping": ping}) as interp:
        result = interp.execute("hog = []\nwhile True:\n    hog.append(b'x' * (1 << 20))\n    ping()", timeout=60)
        assert result.error_type == "MemoryError"
        assert result.state_lost
