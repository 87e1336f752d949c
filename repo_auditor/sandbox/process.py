"""The Deno process seen from outside: stopping it, draining its stderr, reading its memory use (Linux /proc)."""

from __future__ import annotations

import contextlib
import subprocess
from collections import deque
from typing import Any

STDERR_TAIL_BYTES = 8_000  # Deno's own stderr, kept for error messages only


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        with contextlib.suppress(OSError):
            stream.close()


def drain(stream: Any, tail: deque[bytes]) -> None:
    """Keep the last STDERR_TAIL_BYTES of Deno's stderr; reading it also keeps Deno from blocking on a full pipe."""
    size = 0
    try:
        for chunk in iter(lambda: stream.read1(4096), b""):
            tail.append(chunk)
            size += len(chunk)
            while size > STDERR_TAIL_BYTES and len(tail) > 1:
                size -= len(tail.popleft())
    except (OSError, ValueError):
        pass


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB (Linux /proc); None where unavailable."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
