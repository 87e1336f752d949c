"""The JSONL trace of an RLM run: one JSON object per line, written as things happen, for debugging and replay.

Every record has ``t`` (seconds since the run started), ``kind`` and its place in the tree of runs: ``run_id`` (a
root run's id is random; a child's is its parent's id plus ``.n``), ``parent_id`` (None for a root run) and ``depth``
(1 for a root run, 2 for its child runs, ...). Records of concurrent child runs interleave; group them by ``run_id``.

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
``child_run``      written by the parent when a child run ends: ``child_id``, ``prompt``, ``variables`` (names),
                   ``answer`` or ``error``, ``usage``, ``duration``
``run_end``        ``finished_by``, ``extracted``, ``outputs``, ``usage``, ``duration``
``run_error``      ``error``: the exception that ended the run (a root-model failure, a sandbox that cannot start)
``findings``       appended by a job after its run (no position; it belongs to the root run before it): ``job``
                   ("audit", "architecture"), ``answer``, ``findings`` (each as in the job's JSON report, verified)
=================  ====================================================================================

Replaying a run means feeding the ``reply`` texts back in order to a scripted model (see ``load_trace``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any, TextIO

MAX_FIELD_CHARS = 20_000  # per string in tool_call records: keeps a trace of a 10 MB read_file readable


class _Sink:
    """The open file and clock that a root run and all its child runs write to."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: TextIO | None = path.open("a", encoding="utf-8")
        self.lock = threading.Lock()
        self.t0 = time.perf_counter()


class TraceWriter:
    """Appends records to a JSONL file; safe to call from the sub-call threads. Close it when the run ends.

    ``child(n)`` is the writer for the n-th child run: same file and clock, its own position in the tree."""

    def __init__(self, path: str | Path, *, _sink: _Sink | None = None, _position: dict[str, Any] | None = None):
        self.path = Path(path)
        self._sink = _sink or _Sink(self.path)
        self._owner = _sink is None
        self.position: dict[str, Any] = _position or {"run_id": secrets.token_hex(4), "parent_id": None, "depth": 1}

    def write(self, kind: str, **data: Any) -> None:
        sink = self._sink
        record = {"t": round(time.perf_counter() - sink.t0, 4), "kind": kind, **self.position, **data}
        line = json.dumps(record, ensure_ascii=False, default=repr)
        with sink.lock:
            if sink.file is not None:
                sink.file.write(line + "\n")
                sink.file.flush()

    def child(self, number: int) -> TraceWriter:
        run_id = self.position["run_id"]
        return TraceWriter(self.path, _sink=self._sink, _position={
            "run_id": f"{run_id}.{number}", "parent_id": run_id, "depth": self.position["depth"] + 1})

    def close(self) -> None:
        """Close the file (only the root run's writer does; a child's close is a no-op)."""
        if not self._owner:
            return
        with self._sink.lock:
            if self._sink.file is not None:
                self._sink.file.close()
                self._sink.file = None


class NullTrace:
    """A trace that records nothing (no ``trace=`` path given)."""

    position: dict[str, Any] = {"run_id": "1", "parent_id": None, "depth": 1}

    def write(self, kind: str, **data: Any) -> None:
        pass

    def child(self, number: int) -> NullTrace:
        return self

    def close(self) -> None:
        pass


def cap(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` cut to ``limit`` characters with a visible marker."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit:,} more chars]"


def append_record(path: str | Path, kind: str, **data: Any) -> None:
    """Append one record outside any run (e.g. a job's verified findings) to the trace at ``path``."""
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, **data}, ensure_ascii=False, default=repr) + "\n")


def load_trace(path: str | Path) -> list[dict[str, Any]]:
    """Read a trace back as a list of records (for replay and tests)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
