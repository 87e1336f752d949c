"""Parsing worker processes for large cold scans: ``python -m repo_auditor.parsing.worker TASK``.

tree-sitter holds the GIL while it parses, so parallel parsing needs processes. These are plain subprocesses, not
``multiprocessing``: spawning through multiprocessing re-imports the caller's ``__main__`` in every worker, which
breaks (or re-runs) any script without an ``if __name__ == "__main__"`` guard, including ``python -c`` one-liners.

Tasks (``TASKS``): ``definitions`` (the symbol index: definitions per file), ``imports`` (the architecture
scanner: imports and entry lines per file) and ``imports+definitions`` (both from one parse, ``[scan, definitions]``:
a cold ``architecture`` run). Each answers with JSON-ready data.

Wire protocol, over the worker's stdin and stdout, batch after batch:

    request   one line of JSON  [[key, language, byte_count], ...]\\n  then the sources' bytes, back to back
    reply     one line of JSON  [[key, <the task's result>], ...]\\n

End of input ends the worker. A worker answers its batches in order. The pool keeps up to ``IN_FLIGHT_BYTES`` of
them queued per worker and never blocks on a pipe (non-blocking writes and reads, one selector), so neither side
can wait on the other with a full pipe.

``run_pool`` parses in the calling process too: ``workers=N`` is this process and N - 1 worker processes. Their
start (~0.2 s of imports each) is paid on other cores, and at the end this process takes back what a worker has
not started, so on a machine with no free core a pool costs little more than one process.
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
Reply = list[tuple[str, Any]]  # (cache key, the task's result) per job of a batch

# A worker process takes another batch while it has less than this much source queued (and always when it has
# none): it parses the next while the pool, busy parsing its own batch, has not yet collected the last reply,
# and a huge file does not queue more work behind it.
IN_FLIGHT_BYTES = 400_000
# Bytes read from a worker's stdout at once.
_READ_CHUNK = 1 << 20


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
    """One worker process for ``task``, driven without blocking: ``send`` queues a batch and writes what the pipe
    takes, ``flush`` writes more when the pipe has room, ``receive`` returns the replies complete so far."""

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
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        os.set_blocking(self.stdin.fileno(), False)
        os.set_blocking(self.stdout.fileno(), False)
        self.in_flight: list[list[Job]] = []  # batches sent and not yet answered, in order
        self.taken_back = 0  # how many of the last in-flight batches the pool parses itself: their replies are dropped
        self._unsent = bytearray()
        self._received = bytearray()

    @property
    def pending(self) -> int:
        """In-flight batches still awaited (those taken back are not)."""
        return len(self.in_flight) - self.taken_back

    @property
    def unsent(self) -> bool:
        return bool(self._unsent)

    @property
    def hungry(self) -> bool:
        """True when the worker should take another batch (see ``IN_FLIGHT_BYTES``)."""
        return sum(len(source) for jobs in self.in_flight for _, _, source in jobs) < IN_FLIGHT_BYTES

    def send(self, jobs: list[Job]) -> None:
        self._unsent += encode_request(jobs)
        self.in_flight.append(jobs)
        self.flush()

    def take_back(self) -> list[Job] | None:
        """The last in-flight batch behind the one the worker is on, for the pool to parse itself (a starved
        worker must not hold the end of a scan); None when there is none."""
        if self.pending < 2:
            return None
        self.taken_back += 1
        return self.in_flight[-self.taken_back]

    def flush(self) -> None:
        """Write as much of the queued requests as the pipe takes now."""
        while self._unsent:
            try:
                written = os.write(self.stdin.fileno(), self._unsent)
            except BlockingIOError:
                return
            except BrokenPipeError:
                raise self._died() from None
            del self._unsent[:written]

    def receive(self) -> list[Reply]:
        """The replies completed by what the pipe holds now (none when it is empty)."""
        try:
            data = os.read(self.stdout.fileno(), _READ_CHUNK)
        except BlockingIOError:
            return []
        if not data:
            raise self._died()
        self._received += data
        replies = []
        while (end := self._received.find(b"\n")) >= 0:
            line = bytes(self._received[:end])
            del self._received[: end + 1]
            self.in_flight.pop(0)
            if len(self.in_flight) < self.taken_back:  # that batch was taken back, and is parsed already
                self.taken_back -= 1
                continue
            replies.append([(key, result) for key, result in json.loads(line)])
        return replies

    def _died(self) -> ToolError:
        code = self.process.wait(timeout=5)
        return ToolError(
            f"a {self.task} parser worker exited with code {code} (its error is on stderr); "
            f"retry with workers=1 to parse in this process"
        )

    def close(self) -> None:
        """End the process: close its input, wait briefly, kill it if it lingers (at once if it still has
        batches: their replies are not wanted any more)."""
        if self.in_flight and self.process.poll() is None:
            self.process.kill()
        if not self.stdin.closed:
            try:
                self.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stdout.close()


def run_pool(task: str, batches: Iterable[list[Job]], workers: int) -> Iterator[Reply]:
    """Spread ``batches`` over this process and ``workers - 1`` worker processes; yields each reply (a list of
    ``(key, result)``) as it comes, in no particular order.

    Each worker process is kept ``IN_FLIGHT_BYTES`` ahead; this process parses the next batch itself, collecting
    the workers' replies between files. When no batch is left, this process takes back the batches that workers
    have not started and parses them too, so a worker starved of CPU does not hold up the end (hand the biggest
    batches first: the last ones decide when all is done). Batches are taken lazily (callers read sources as
    batches are handed out); empty ones are skipped."""
    todo = (jobs for jobs in batches if jobs)
    helpers = [Worker(task) for _ in range(workers - 1)]
    try:
        with selectors.DefaultSelector() as selector:
            for helper in helpers:
                selector.register(helper.stdout, selectors.EVENT_READ, helper)
            pool = _Pool(TASKS[task], selector, helpers)
            for jobs in todo:
                if not pool.top_up(jobs):
                    yield from pool.parse_here(jobs)
            while pool.busy():
                jobs = pool.take_back()
                if jobs is None:
                    yield from pool.collect(timeout=None)
                else:
                    yield from pool.parse_here(jobs)
    finally:
        for helper in helpers:
            helper.close()


class _Pool:
    """The worker processes of one ``run_pool`` and their selector: who gets the next batch, replies as they come."""

    def __init__(self, run: Callable[[str, bytes], Any], selector: selectors.BaseSelector, helpers: list[Worker]):
        self.run = run
        self.selector = selector
        self.helpers = helpers

    def top_up(self, jobs: list[Job]) -> bool:
        """Send ``jobs`` to a worker that is ``hungry``; False when none is."""
        for helper in self.helpers:
            if helper.hungry:
                helper.send(jobs)
                if helper.unsent:
                    self._watch_writes(helper)
                return True
        return False

    def busy(self) -> bool:
        return any(helper.pending for helper in self.helpers)

    def take_back(self) -> list[Job] | None:
        return next((jobs for helper in self.helpers if (jobs := helper.take_back()) is not None), None)

    def parse_here(self, jobs: list[Job]) -> Iterator[Reply]:
        """Parse ``jobs`` in this process, collecting the workers' replies between files; yields those, then
        this batch's."""
        reply = []
        for key, language, source in jobs:
            reply.append((key, self.run(language, source)))
            yield from self.collect(timeout=0)
        yield reply

    def collect(self, timeout: float | None) -> Iterator[Reply]:
        """Write queued requests and read replies, waiting up to ``timeout`` seconds (None: until something
        happens)."""
        for key, _ in self.selector.select(timeout):
            helper = key.data
            if key.fileobj is helper.stdin:
                helper.flush()
                if not helper.unsent:
                    self.selector.unregister(helper.stdin)
            else:
                yield from helper.receive()

    def _watch_writes(self, helper: Worker) -> None:
        try:
            self.selector.get_key(helper.stdin)
        except KeyError:
            self.selector.register(helper.stdin, selectors.EVENT_WRITE, helper)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer, sys.argv[1] if len(sys.argv) > 1 else "definitions")
