"""Starting the runtime: snapshot cache (corrupt -> rebuilt), background start, clear errors when Pyodide is missing."""

from __future__ import annotations

import os
import signal
import struct
import time
from pathlib import Path

import pytest

from repo_auditor.errors import SandboxStartError
from repo_auditor.sandbox import PYODIDE_DIR_ENV, DenoInterpreter, snapshot
from repo_auditor.sandbox import runtime as rt


@pytest.mark.slow
def test_corrupt_snapshot_is_rebuilt_not_fatal(runtime_ready: None, tmp_path: Path) -> None:
    runtime = rt.resolve()
    path = snapshot.snapshot_path(tmp_path, runtime)
    garbage = b"\x13\x37" * 4096
    path.write_bytes(snapshot.MAGIC + struct.pack("<Q", len(garbage)) + garbage)  # a valid header over garbage
    assert snapshot.is_intact(path)
    with DenoInterpreter(snapshot_dir=tmp_path) as interp:
        assert interp.execute("6 * 7").value == "42"
        assert interp.last_snapshot_build_seconds is not None
    assert snapshot.is_intact(path)
    assert path.stat().st_size > 1_000_000  # a real snapshot replaced the garbage
    # A truncated file fails the header check and is rebuilt before any start is attempted.
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
    assert not snapshot.is_intact(path)


@pytest.mark.slow
def test_start_without_snapshot_works(runtime_ready: None, tmp_path: Path) -> None:
    with DenoInterpreter(use_snapshot=False, snapshot_dir=tmp_path) as interp:
        assert interp.execute("import sys\nsys.version_info[:2] >= (3, 12)").value == "True"
    assert list(tmp_path.iterdir()) == []


def test_background_start_then_execute(runtime_ready: None) -> None:
    with DenoInterpreter(variables={"given": "v"}) as interp:
        interp.start_background()
        assert interp.execute("given").value == "'v'"


def test_missing_pyodide_folder_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(SandboxStartError, match="lacks pyodide.mjs.*audit-repo doctor"):
        DenoInterpreter(pyodide_dir=tmp_path).start()


def test_pyodide_folder_from_environment(runtime_ready: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(PYODIDE_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(SandboxStartError, match=PYODIDE_DIR_ENV):
        rt.resolve()
    monkeypatch.setenv(PYODIDE_DIR_ENV, str(rt.npm_pyodide_dir(rt.default_deno_dir())))
    with DenoInterpreter() as interp:
        assert interp.execute("1 + 1").value == "2"


def test_unfetched_pyodide_names_the_doctor_command(tmp_path: Path) -> None:
    with pytest.raises(SandboxStartError, match="not fetched yet.*audit-repo doctor"):
        rt.resolve(None, deno_dir=tmp_path)


def test_background_start_failure_surfaces_on_execute(tmp_path: Path) -> None:
    interp = DenoInterpreter(pyodide_dir=tmp_path)
    interp.start_background()
    with pytest.raises(SandboxStartError):
        interp.execute("1")
    interp.shutdown()


def test_crash_during_execution_is_reported_and_recovered(runtime_ready: None) -> None:
    holder: dict[str, DenoInterpreter] = {}

    def crash() -> str:
        """Kill the sandbox from the host side while it waits for this tool."""
        os.kill(holder["interp"].pid, signal.SIGKILL)
        while holder["interp"].pid is not None:  # make the death certain before replying
            time.sleep(0.01)
        return "unreachable"

    with DenoInterpreter(tools={"crash": crash}, variables={"given": 1}) as interp:
        holder["interp"] = interp
        result = interp.execute("before = 1\ncrash()")
        assert result.error_type == "SandboxCrashedError"
        assert result.state_lost
        assert interp.execute("given, 'before' in globals()").value == "(1, False)"


def test_check_sandbox_reports_ready(runtime_ready: None) -> None:
    from repo_auditor.sandbox import check_sandbox

    assert check_sandbox(fetch=False).startswith("sandbox ready: Python 3.")
