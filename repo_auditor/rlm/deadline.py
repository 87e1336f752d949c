"""Waiting for a model call no longer than the run's time budget allows.

A synchronous model client cannot be interrupted from outside, so ``call_before`` runs the call in a daemon thread
and stops waiting when the time is up: the run ends on time, and the abandoned request ends on its own (the adapter's
request timeout, 120 s by default); whatever it still costs is not counted. Ctrl-C interrupts the wait at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The call did not finish within ``seconds``; it was abandoned, not cancelled."""

    def __init__(self, seconds: float):
        super().__init__(f"no reply within {seconds:.1f} s")
        self.seconds = seconds


def call_before(fn: Callable[[], T], seconds: float | None) -> T:
    """``fn()``, or DeadlineExceeded once ``seconds`` pass (None: wait as long as it takes, in this thread)."""
    if seconds is None:
        return fn()
    if seconds <= 0:
        raise DeadlineExceeded(0.0)
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=run, name="rlm-model-call", daemon=True).start()
    if not finished.wait(seconds):
        raise DeadlineExceeded(seconds)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
