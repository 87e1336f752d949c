"""A snapshot that cannot be written (a full disk) never fails the sandbox and never leaves its temporary file behind;
temporary files left by a process that died mid-write are swept away."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from repo_auditor.sandbox import snapshot

# A file-size limit below the snapshot's size (tens of MB) makes its write fail with EFBIG, as a full disk would.
SCRIPT = """
import json, resource, signal, sys
from repo_auditor.sandbox import DenoInterpreter
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))
with DenoInterpreter(snapshot_dir=sys.argv[1]) as sandbox:
    result = sandbox.execute("6 * 7")
print(json.dumps({"value": result.value, "error": result.error}))
"""


def test_a_snapshot_that_cannot_be_written_falls_back_to_a_cold_start(tmp_path: Path):
    folder = tmp_path / "snapshots"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert '"value": "42"' in done.stdout, done.stdout
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


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
