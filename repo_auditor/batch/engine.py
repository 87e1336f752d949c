"""What the engines share: the messages a run ends with, and the retry rule for lost workers.

An engine (``LocalEngine`` here, ``RayEngine`` in ``ray_engine.py``) takes tasks and yields, for each, ``Done``
(the rows: ok or failed) or ``Stopped`` (not run, or cut by the batch budget: no row, a later batch does it). A worker
that dies mid-task (killed, out of memory) costs that attempt: the task is given to a live worker again, and after
``MAX_ATTEMPTS`` lost workers it ends as a failed row saying so, so one poisonous repository cannot stop a batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from repo_auditor import __version__
from repo_auditor.batch.limiter import BATCH_BUDGET
from repo_auditor.batch.plan import Task
from repo_auditor.batch.worker import Outcome, Worker
from repo_auditor.errors import BudgetExceededError

MAX_ATTEMPTS = 3  # a task whose worker died this many times is a failed row: it is probably what kills them


@dataclass(frozen=True)
class Done:
    task: Task
    outcome: Outcome


@dataclass(frozen=True)
class Stopped:
    task: Task
    reason: str


Result = Done | Stopped
StartFilter = Callable[[Task], bool]  # False: do not start this task (the batch budget is spent)
StartedHook = Callable[[Task, str], None]  # called with the worker's host:pid when a task is handed out


class Engine(Protocol):
    workers: int

    def run(self, tasks: Iterable[Task], should_start: StartFilter, on_started: StartedHook) -> Iterator[Result]: ...

    def limiter_state(self) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


def execute(worker: Worker, task: Task, attempts: int | None) -> tuple[str, Any]:
    """Run ``task`` in a worker process: ``("done", Outcome)`` or ``("stopped", reason)``."""
    try:
        return "done", worker.run(task, attempts=attempts)
    except BudgetExceededError as exc:
        if exc.budget != BATCH_BUDGET:
            raise
        return "stopped", str(exc)


def lost(task: Task, attempts: int | None, reason: str) -> Outcome:
    """The failed row of a task whose workers kept dying."""
    now = dt.datetime.now(dt.timezone.utc)
    return Outcome(run={
        "key": task.key, "repository": task.repository.name, "location": task.repository.identity,
        "ref": task.repository.ref, "commit": task.commit, "base": task.base, "job": task.job.name,
        "kind": task.job.kind, "status": "failed", "partial": False, "error_type": "WorkerLost", "error": reason,
        "findings": 0, "verified": 0, "attempts": attempts, "started_at": now, "finished_at": now, "seconds": 0.0,
        "repo_auditor_version": __version__,
    })


NOT_STARTED = "not started: the batch budget is spent; rerun with a larger budget to do it"
