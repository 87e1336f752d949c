"""Ctrl-C a real ``audit-repo`` process while its model request is in flight (the partial-report tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any


def interrupt_mid_request(server: Any, args: list[str], requests: int = 2) -> tuple[int, str, str]:
    """Run the console script with ``args``, send SIGINT once ``server`` has seen ``requests`` chat requests (the
    last one in flight), and return (exit code, stdout, stderr). A process that does not end is killed, so it is
    not left behind for later tests to trip over."""
    # SIGINT back to its default in the child: a suite started as a background job (`pytest ... &` from a script)
    # inherits SIGINT ignored, and Python keeps an ignored SIGINT ignored, so the Ctrl-C would never arrive.
    proc = subprocess.Popen([sys.executable, "-c", "from repo_auditor.cli import run; run()", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while len(server.chat_requests) < requests and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the last request is in flight
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err
