"""Parsing worker processes for large cold scans: ``python -m repo_auditor.parsing.worker TASK``.

tree-sitter holds the GIL while it parses, so parallel parsing needs processes. These are plain subprocesses, not
``multiprocessing``: spawning through multiprocessing re-imports the caller's ``__main__`` in every worker, which
breaks (or re-runs) any script without an ``if __name__ == "__main__"`` guard, including ``python -c`` one-liners.

Tasks (``TASKS``): ``definitions`` (the symbol index: definitions per file), ``imports`` (the architecture
scanner: imports and entry lines per file) and ``imports+definitions`` (both from one parse, ``[scan, definitions]``:
a cold ``architecture`` run). Each answers with JSON-ready data.

Wire protocol, over the worker's stdin and stdout, one batch at a time:

    request   one line of JSON  [[key, language, byte_count], ...]\\n  then the sources' bytes, back to back
    reply     one line of JSON  [[key, <the task's result>], ...]\\n

End of input ends the worker. A worker holds one batch at a time, so neither side can block the other on a full pipe.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from repo_auditor.errors import ToolError

Job = tuple[str, str, bytes]  # (cache key, language, source)


def _definitions(language: str, source: bytes) -> Any:
    from repo_auditor.parsing.definitions import parse_definitions

    return parse_definitions(language, source)


def _imports(language: str, source: bytes) -> Any:
    from repo_auditor.parsing.imports import scan_source

    return scan_source(language, source).to_json()


def _imports_and_definitions(language: str, source: bytes) -> Any:
    from repo_auditor.parsing.imports import scan_with_definitions

    scan, definitions = scan_with_definitions(language, source)
    return [scan.to_json(), definitions]


TASKS: dict[str, Callable[[str, bytes], Any]] = {
    "definitions": _definitions,
    "imports": _imports,
    "imports+definitions": _imports_and_definitions,
}


def encode_request(jobs: Iterable[Job]) -> bytes:
    jobs = list(jobs)
    header = json.dumps([[key, language, len(source)] for key, language, source in jobs])
    return header.encode() + b"\n" + b"".join(source for _, _, source in jobs)


def serve(stdin: BinaryIO, stdout: BinaryIO, task: str = "definitions") -> None:
    """Answer batches with ``TASKS[task]`` until end of input."""
    run = TASKS[task]
    while True:
        line = stdin.readline()
        if not line:
            return
        reply = []
        for key, language, size in json.loads(line):
            source = stdin.read(size)
            reply.append([key, run(language, source)])
        stdout.write(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
        stdout.flush()


class Worker:
    """One worker process for ``task``. ``send`` a batch, then ``receive`` its reply before sending the next."""

    def __init__(self, task: str = "definitions") -> None:
        if task not in TASKS:
            raise ValueError(f"unknown parse task {task!r}; one of {', '.join(TASKS)}")
        self.task = task
        package_parent = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "repo_auditor.parsing.worker", task],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    @property
    def stdout(self) -> BinaryIO:
        assert self.process.stdout is not None
        return self.process.stdout

    def send(self, jobs: list[Job]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(encode_request(jobs))
            self.process.stdin.flush()
        except BrokenPipeError:
            raise self._died() from None

    def receive(self) -> list[tuple[str, Any]]:
        line = self.stdout.readline()
        if not line:
            raise self._died()
        return [(key, result) for key, result in json.loads(line)]

    def _died(self) -> ToolError:
        code = self.process.wait(timeout=5)
        return ToolError(
            f"a {self.task} parser worker exited with code {code} (its error is on stderr); "
            f"retry with workers=1 to parse in this process"
        )

    def close(self) -> None:
        """End the process: close its input, wait briefly, kill it if it lingers."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stdout.close()


def run_pool(task: str, batches: Iterator[list[Job]], workers: int) -> Iterator[list[tuple[str, Any]]]:
    """Spread ``batches`` over ``workers`` processes; yields each reply (a list of ``(key, result)``) as it comes.

    Empty batches are skipped, so callers may produce them lazily (reading sources as batches are handed out)."""
    pool = [Worker(task) for _ in range(workers)]

    def send_next(worker: Worker) -> bool:
        for jobs in batches:
            if jobs:
                worker.send(jobs)
                return True
        return False

    try:
        with selectors.DefaultSelector() as selector:
            for worker in pool:
                if send_next(worker):
                    selector.register(worker.stdout, selectors.EVENT_READ, worker)
            while selector.get_map():
                for ready, _ in selector.select():
                    worker = ready.data
                    yield worker.receive()
                    if not send_next(worker):
                        selector.unregister(worker.stdout)
    finally:
        for worker in pool:
            worker.close()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer, sys.argv[1] if len(sys.argv) > 1 else "definitions")
