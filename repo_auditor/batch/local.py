"""The default engine: a pool of worker processes on this machine, one per core.

Each process holds one ``Worker`` (a warm sandbox, clones and tool caches) and runs one task at a time, so the
driver always knows which task each process has: when a process dies, that task goes to another process (up to
``MAX_ATTEMPTS`` times) and a fresh process takes the dead one's place. The rate limiter lives in a manager
process that every worker talks to. Processes are started with ``spawn`` (no inherited threads or locks).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

from repo_auditor.batch.engine import (
    MAX_ATTEMPTS,
    NOT_STARTED,
    Done,
    Result,
    StartedHook,
    StartFilter,
    Stopped,
    execute,
    lost,
)
from repo_auditor.batch.limiter import Limits, RateLimiter
from repo_auditor.batch.plan import Task
from repo_auditor.errors import RepoAuditorError

# Processes that die before finishing any task (a broken install, no memory) would be replaced forever: give up after
# this many replacements per worker slot.
MAX_REPLACEMENTS_PER_WORKER = 5


class _LimiterManager(BaseManager):
    pass


_LimiterManager.register("RateLimiter", RateLimiter)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class LocalEngine:
    """``workers`` processes (default: the usable cores); ``workspace`` holds their clones and caches."""

    def __init__(self, workspace: str | Path, *, workers: int | None = None, limits: Limits = Limits(),
                 warm_up: int | None = None, sandbox_factory: Any = None):
        self.workers = workers or default_workers()
        self.warm_up = warm_up  # max_output_chars of a sandbox each worker starts at once (None: no model jobs)
        self.workspace = Path(workspace)
        self.sandbox_factory = sandbox_factory
        self._context = multiprocessing.get_context("spawn")
        self._manager: _LimiterManager | None = None
        self.limiter: Any = None
        if limits.any:
            self._manager = _LimiterManager(ctx=self._context)
            self._manager.start()
            self.limiter = self._manager.RateLimiter(limits)  # type: ignore[attr-defined]
        self._procs: dict[Connection, Any] = {}
        self.replacements = 0

    def run(self, tasks: Iterable[Task], should_start: StartFilter, on_started: StartedHook) -> Iterator[Result]:
        upcoming = iter(tasks)
        retries: deque[tuple[Task, int]] = deque()
        busy: dict[Connection, tuple[Task, int]] = {}
        while len(self._procs) < self.workers:
            self._spawn()
        while True:
            for conn in [c for c in self._procs if c not in busy]:
                picked = self._next(retries, upcoming, should_start)
                while isinstance(picked, Stopped):
                    yield picked
                    picked = self._next(retries, upcoming, should_start)
                if picked is None:
                    break
                task, attempts = picked
                conn.send((task, attempts))
                busy[conn] = (task, attempts)
                on_started(task, f"{os.uname().nodename}:{self._procs[conn].pid}")
            if not busy:
                return
            sentinels = {self._procs[c].sentinel: c for c in busy}
            for ready in wait([*busy, *sentinels]):
                conn = sentinels.get(ready, ready)
                if conn not in busy:
                    continue  # both its pipe and its sentinel were ready
                message = self._receive(conn)
                task, attempts = busy.pop(conn)
                if message is None:
                    code = self._bury(conn)
                    reason = f"the worker process died while running this task ({_exit(code)})"
                    if attempts < MAX_ATTEMPTS:
                        retries.append((task, attempts + 1))
                    else:
                        yield Done(task, lost(task, attempts, f"{reason}, {attempts} times; not retried again"))
                    self._spawn()
                    continue
                kind, value = message
                yield Done(task, value) if kind == "done" else Stopped(task, value)

    def limiter_state(self) -> dict[str, Any] | None:
        return self.limiter.state() if self.limiter is not None else None

    def close(self) -> None:
        for conn, proc in list(self._procs.items()):
            try:
                conn.send(None)
            except OSError:
                pass
        for conn, proc in list(self._procs.items()):
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
            conn.close()
        self._procs.clear()
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs.values()]

    # -- internals -----------------------------------------------------------------------------------------

    def _next(self, retries: deque[tuple[Task, int]], upcoming: Iterator[Task],
              should_start: StartFilter) -> tuple[Task, int] | Stopped | None:
        if retries:
            task, attempts = retries.popleft()
        else:
            task = next(upcoming, None)
            if task is None:
                return None
            attempts = 1
        return (task, attempts) if should_start(task) else Stopped(task, NOT_STARTED)

    def _spawn(self) -> None:
        if self.replacements > MAX_REPLACEMENTS_PER_WORKER * self.workers:
            raise RepoAuditorError(f"batch worker processes keep dying ({self.replacements} replaced); see their "
                                   "exit codes above, fix the cause and rerun (finished results are kept)")
        if self._procs:
            self.replacements += 1
        parent, child = self._context.Pipe()
        proc = self._context.Process(target=_worker_main, args=(child, str(self.workspace), self.limiter,
                                                                self.warm_up, self.sandbox_factory), daemon=True,
                                     name="repo-auditor-batch-worker")
        proc.start()
        child.close()
        self._procs[parent] = proc

    def _receive(self, conn: Connection) -> tuple[str, Any] | None:
        try:
            return conn.recv() if conn.poll() else None
        except (EOFError, OSError):
            return None

    def _bury(self, conn: Connection) -> int | None:
        proc = self._procs.pop(conn)
        proc.join(timeout=10)
        conn.close()
        return proc.exitcode


def _exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def _worker_main(conn: Connection, workspace: str, limiter: Any, warm_up: int | None, sandbox_factory: Any) -> None:
    from repo_auditor.batch.worker import Worker

    worker = Worker(workspace, limiter=limiter, sandbox_factory=sandbox_factory)
    try:
        if warm_up is not None:
            worker.warm_up(warm_up)
        while True:
            message = conn.recv()
            if message is None:
                return
            task, attempts = message
            conn.send(execute(worker, task, attempts))
    except (EOFError, KeyboardInterrupt):
        return
    finally:
        worker.close()
