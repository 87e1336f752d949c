"""The JSONL trace of an RLM run: one JSON object per line, written as things happen, for debugging and replay.

Every record has ``t`` (seconds since the run started) and ``kind``:

=================  ====================================================================================
kind               other keys
=================  ====================================================================================
``run_start``      ``signature``, ``inputs`` (name -> type and length; never the values), ``model``, ``limits``
``request``        ``iteration``, ``model``, ``messages`` (exactly what was sent), ``purpose`` ("turn"/"extract")
``reply``          ``iteration``, ``text``, ``prompt_tokens``, ``completion_tokens``, ``cost``, ``duration``
``execution``      ``iteration``, ``code``, ``output``, ``value``, ``error``, ``error_type``, ``submit``,
                   ``state_lost``, ``duration``
``tool_call``      ``name``, ``args`` (reprs, capped), ``result`` (repr, capped), ``error``, ``duration``
``sub_call``       ``model``, ``prompt``, ``text`` or ``error``, tokens, ``cost``, ``duration``
``run_end``        ``finished_by``, ``extracted``, ``outputs``, ``usage``, ``duration``
``run_error``      ``error``: the exception that ended the run (a root-model failure, a sandbox that cannot start)
=================  ====================================================================================

Replaying a run means feeding the ``reply`` texts back in order to a scripted model (see ``load_trace``).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, TextIO

MAX_FIELD_CHARS = 20_000  # per string in tool_call records: keeps a trace of a 10 MB read_file readable


class TraceWriter:
    """Appends records to a JSONL file; safe to call from the sub-call threads. Close it when the run ends."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()

    def write(self, kind: str, **data: Any) -> None:
        record = {"t": round(time.perf_counter() - self._t0, 4), "kind": kind, **data}
        line = json.dumps(record, ensure_ascii=False, default=repr)
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class NullTrace:
    """A trace that records nothing (no ``trace=`` path given)."""

    def write(self, kind: str, **data: Any) -> None:
        pass

    def close(self) -> None:
        pass


def cap(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` cut to ``limit`` characters with a visible marker."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit:,} more chars]"


def load_trace(path: str | Path) -> list[dict[str, Any]]:
    """Read a trace back as a list of records (for replay and tests)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
