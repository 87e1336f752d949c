"""Pyodide's memory snapshot: built once per Pyodide + deno + runner version, kept in the cache, rebuilt when damaged.

The build runs the runner in ``snapshot`` mode, which loads Pyodide and our Python sources, then sends the snapshot
bytes back over the pipe; the host writes the file. No Deno process ever gets write permission, and the build runs no
model code. File layout: ``MAGIC`` + u64 LE payload length + payload, so a truncated file is caught before use.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
import subprocess
import time
from pathlib import Path

from repo_auditor.errors import SandboxStartError
from repo_auditor.sandbox import runtime as rt
from repo_auditor.sandbox import wire

MAGIC = b"RASNAP1\0"
HEADER_BYTES = len(MAGIC) + 8
# A cold Pyodide load is ~2-4 s on a busy 2-core machine; leave room for slow disks.
BUILD_TIMEOUT_S = 120
KEEP_OTHER_SNAPSHOTS = 2  # snapshots of other versions kept in a shared cache (see _remove_stale)


def snapshot_path(folder: Path, runtime: rt.Runtime) -> Path:
    return folder / f"pyodide-{rt.PYODIDE_VERSION}-{rt.snapshot_key(runtime)}.snap"


def mark_used(path: Path) -> None:
    """Record that ``path`` was just used, so a shared cache keeps it over snapshots nobody starts any more."""
    with contextlib.suppress(OSError):
        os.utime(path)


def is_intact(path: Path) -> bool:
    """True if the file exists, starts with our header and has the length the header promises."""
    try:
        with path.open("rb") as fh:
            head = fh.read(HEADER_BYTES)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return False
    if len(head) != HEADER_BYTES or head[: len(MAGIC)] != MAGIC:
        return False
    (length,) = struct.unpack("<Q", head[len(MAGIC):])
    return length > 0 and size == HEADER_BYTES + length


def deno_command(runtime: rt.Runtime, readable: list[Path]) -> list[str]:
    """The deno command line: no network, env, run, write, ffi or sys; read access only to ``readable``."""
    paths = [str(p) for p in readable]
    if any("," in p for p in paths):
        raise SandboxStartError(f"a sandbox path contains a comma, which deno's --allow-read cannot take: {paths}")
    return [
        str(runtime.deno), "run", "--no-prompt", "--no-config", "--no-lock", "--no-remote", "--no-npm",
        "--cached-only", f"--allow-read={','.join(paths)}", str(rt.RUNNER),
    ]


def boot_message(runtime: rt.Runtime, token: bytes, mode: str, snapshot: Path | None) -> dict[str, object]:
    return {
        "op": "boot", "token": token.hex(), "mode": mode, "pyodide_module": runtime.pyodide_module,
        "pyodide_dir": str(runtime.pyodide_dir) + os.sep, "snapshot": str(snapshot) if snapshot else None,
        "snapshot_offset": HEADER_BYTES, **rt.sources(),
    }


# A snapshot build takes seconds; a temporary file older than this belongs to a process that died mid-write.
STALE_TMP_SECONDS = 600


def build(runtime: rt.Runtime, path: Path) -> float:
    """Build the snapshot into ``path`` (atomically); return the seconds it took."""
    t0 = time.monotonic()
    token = secrets.token_bytes(wire.TOKEN_BYTES)
    proc = subprocess.Popen(deno_command(runtime, [runtime.pyodide_dir]), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=rt.runner_env(runtime))
    try:
        wire.write_frame(proc.stdin.fileno(), boot_message(runtime, token, "snapshot", None))
        reader = wire.FrameReader(proc.stdout.fileno(), token)
        try:
            msg, payload = reader.read(time.monotonic() + BUILD_TIMEOUT_S)
        except (wire.ChannelClosedError, wire.DeadlineError, wire.ForgedFrameError) as exc:
            proc.kill()
            err = proc.stderr.read().decode("utf-8", "replace")[-2000:]
            raise SandboxStartError(f"building the Pyodide snapshot failed ({exc}): {err.strip()}") from exc
        if msg.get("op") != "snapshot" or not payload:
            raise SandboxStartError(f"building the Pyodide snapshot failed: {msg.get('message', msg)}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")  # concurrent builds never collide
    try:
        with tmp.open("wb") as fh:
            fh.write(MAGIC + struct.pack("<Q", len(payload)))
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:  # a full disk, an interrupt: never leave 30 MB of half a snapshot behind
        tmp.unlink(missing_ok=True)
        raise
    _remove_stale(path)
    return time.monotonic() - t0


def _remove_stale(current: Path) -> None:
    """Snapshots are 30 MB each: besides the current one, only the ``KEEP_OTHER_SNAPSHOTS`` most recently built or
    used are kept (two checkouts of different versions sharing the cache each keep theirs instead of rebuilding in
    turn); older ones go. Temporary files left by a process that died while writing one are removed once they are old
    enough not to be another build's."""
    others = []
    for old in current.parent.glob("pyodide-*.snap"):
        if old != current:
            with contextlib.suppress(OSError):
                others.append((old.stat().st_mtime, old))
    for _, old in sorted(others, reverse=True)[KEEP_OTHER_SNAPSHOTS:]:
        old.unlink(missing_ok=True)
    for leftover in current.parent.glob("pyodide-*.snap.*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > STALE_TMP_SECONDS:
                leftover.unlink()
