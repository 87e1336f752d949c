"""A snapshot that cannot be written never fails the sandbox (it starts cold); temporary files left by a process that
died mid-write are swept away."""

from __future__ import annotations

import os
import time
from pathlib import Path

from repo_auditor.sandbox import DenoInterpreter, snapshot


def test_a_snapshot_that_cannot_be_written_falls_back_to_a_cold_start(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("where the snapshot folder should be\n")
    with DenoInterpreter(snapshot_dir=blocker / "snapshots") as sandbox:  # cannot be created: NotADirectoryError
        result = sandbox.execute("6 * 7")
    assert result.error is None and result.value == "42"
    assert sandbox.last_snapshot_build_seconds is None


def test_stale_temporary_snapshots_are_swept(tmp_path: Path):
    current = tmp_path / "pyodide-new.snap"
    current.write_bytes(b"x")
    stale = tmp_path / "pyodide-new.snap.123-abcd.tmp"
    fresh = tmp_path / "pyodide-new.snap.456-ef01.tmp"
    for leftover in (stale, fresh):
        leftover.write_bytes(b"half a snapshot")
    old = time.time() - snapshot.STALE_TMP_SECONDS - 60
    os.utime(stale, (old, old))
    snapshot._remove_stale(current)
    assert not stale.exists() and fresh.exists()  # a build in progress in another process is left alone


def test_a_shared_cache_keeps_the_recently_used_snapshots_of_other_versions(tmp_path: Path):
    """Two checkouts of different versions share ~/.cache: each keeps its snapshot instead of rebuilding in turn;
    only snapshots beyond the most recent others are removed."""
    current = tmp_path / "pyodide-1-current.snap"
    current.write_bytes(b"x")
    ages = {"pyodide-1-other.snap": 10, "pyodide-1-older.snap": 1000, "pyodide-1-oldest.snap": 100_000}
    for name, age in ages.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (time.time() - age, time.time() - age))
    snapshot._remove_stale(current)
    assert sorted(p.name for p in tmp_path.glob("*.snap")) == [
        "pyodide-1-current.snap", "pyodide-1-older.snap", "pyodide-1-other.snap"]
    snapshot.mark_used(tmp_path / "pyodide-1-older.snap")
    (tmp_path / "pyodide-1-newer.snap").write_bytes(b"x")
    os.utime(tmp_path / "pyodide-1-newer.snap", (time.time() - 5, time.time() - 5))
    snapshot._remove_stale(current)  # "other" (10 s old) is now the least recently used
    assert sorted(p.name for p in tmp_path.glob("*.snap")) == [
        "pyodide-1-current.snap", "pyodide-1-newer.snap", "pyodide-1-older.snap"]
