"""One warm sandbox per worker, fresh for every run.

Starting Deno + Pyodide costs about a quarter of a second; a worker that runs hundreds of model jobs should not pay it
on each. But a sandbox that served one repository must not serve the next (a hostile repository could persuade the
model to leave something behind). So ``take()`` hands out the sandbox that has been starting in the background and
at once starts the next one; the run that took it shuts it down when it ends. A worker whose batch has model jobs
starts the first one when it starts (``prestart``); a worker that only runs jobs without a model never starts one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any


def _deno(max_output_chars: int) -> Any:
    from repo_auditor.sandbox import DenoInterpreter

    return DenoInterpreter(max_output_chars=max_output_chars)


class WarmSandbox:
    """Hands out started sandboxes, one per run. ``factory(max_output_chars)`` makes one (default: Deno)."""

    def __init__(self, factory: Callable[[int], Any] | None = None):
        self.factory = factory or _deno
        self._spare: Any = None
        self._spare_chars: int | None = None
        self.started = 0

    @contextlib.contextmanager
    def take(self, max_output_chars: int) -> Iterator[Any]:
        """A started (or starting) sandbox for one run; shut down when the block ends."""
        sandbox = self._spare if self._spare_chars == max_output_chars else None
        if sandbox is None:
            self.close()
            sandbox = self._start(max_output_chars)
        self._spare = self._start(max_output_chars)
        self._spare_chars = max_output_chars
        try:
            yield sandbox
        finally:
            sandbox.shutdown()

    def prestart(self, max_output_chars: int) -> None:
        """Start the spare now, so the first run finds it ready."""
        if self._spare is None:
            self._spare = self._start(max_output_chars)
            self._spare_chars = max_output_chars

    def close(self) -> None:
        """Shut the spare down (idempotent)."""
        if self._spare is not None:
            self._spare.shutdown()
        self._spare = self._spare_chars = None

    def _start(self, max_output_chars: int) -> Any:
        sandbox = self.factory(max_output_chars)
        start = getattr(sandbox, "start_background", None)
        if start is not None:
            start()
        self.started += 1
        return sandbox
