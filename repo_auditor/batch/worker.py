"""What one worker process does with one task: get the repository, run the job, turn the result into rows.

A ``Worker`` lives as long as its process (a local pool process or a Ray actor) and keeps what is worth keeping
between tasks: a warm sandbox, the clones of remote repositories and the tool caches (blob stats, symbol index,
import scan, extracted trees) in its ``workspace``. The sandbox is warm but never shared between repositories: each
model run gets a sandbox started while the previous run was working, and it is shut down when the run ends, so
nothing one repository's run leaves in the sandbox can reach the next.

``Worker.run`` never raises for a problem of the task (a repository that cannot be cloned or opened, a failing job):
the outcome is a failed run row with the error's type and one-line message. The batch budget is the exception: a run
stopped by it raises ``BudgetExceededError`` so that no row is written and a later, larger batch does it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repo_auditor import __version__
from repo_auditor.batch.jobs import JOBS
from repo_auditor.batch.limiter import BATCH_BUDGET, Limiter, MeteredLM
from repo_auditor.batch.plan import Task
from repo_auditor.batch.rows import SEVERITY_RANK
from repo_auditor.batch.sandboxes import WarmSandbox
from repo_auditor.errors import BudgetExceededError, RepositoryError, SandboxStartError

# A sandbox that cannot start is this machine's problem, not the repository's: the job is tried again with a fresh
# sandbox this many times before the failure becomes the run's row (e.g. several workers building the first snapshot).
SANDBOX_START_RETRIES = 2
CLONE_TIMEOUT_S = 1800  # a very large repository over a slow link; a stuck clone must still end
MAX_ERROR_CHARS = 2_000  # one line in a table; the full traceback is the worker's log's business


@dataclass
class Outcome:
    """The rows one task produced."""

    run: dict[str, Any]
    findings: list[dict[str, Any]] = field(default_factory=list)


class Worker:
    """Runs tasks one at a time (see the module docstring). ``limiter``: the batch's rate limiter, or None."""

    def __init__(self, workspace: str | Path, *, limiter: Limiter | None = None,
                 sandbox_factory: Any = None):
        self.workspace = Path(workspace)
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.limiter = limiter
        self.sandboxes = WarmSandbox(sandbox_factory)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._models: dict[tuple[str | None, str | None], Any] = {}

    def warm_up(self, max_output_chars: int) -> None:
        """Before the first model job: import litellm (seconds, once per process) while the first sandbox starts."""
        from repo_auditor.rlm.provider import litellm_module

        self.sandboxes.prestart(max_output_chars)
        litellm_module()

    def describe(self) -> dict[str, Any]:
        return {"worker": self.name, "pid": os.getpid(), "version": __version__}

    def run(self, task: Task, *, attempts: int | None = 1) -> Outcome:
        started = dt.datetime.now(dt.timezone.utc)
        clock = time.monotonic()
        row: dict[str, Any] = {
            "key": task.key, "repository": task.repository.name, "location": task.repository.identity,
            "ref": task.repository.ref, "commit": task.commit, "base": task.base, "job": task.job.name,
            "kind": task.job.kind, "attempts": attempts, "worker": self.name, "started_at": started,
            "repo_auditor_version": __version__, "partial": False, "findings": 0, "verified": 0,
        }
        findings: list[dict[str, Any]] = []
        try:
            if task.problem is not None:
                raise RepositoryError(task.problem)
            with self._open(task) as repo:
                row["commit"] = repo.commit
                result = self._run_job(task, repo)
            row.update(result.run)
            findings = result.findings
            row["status"] = "ok"
        except BudgetExceededError as exc:
            if exc.budget == BATCH_BUDGET:
                raise
            _failed(row, exc)
        except Exception as exc:  # a failing job is a row, never the end of the batch
            _failed(row, exc)
        finished = dt.datetime.now(dt.timezone.utc)
        row.update(finished_at=finished, seconds=round(time.monotonic() - clock, 3))
        common = {"key": task.key, "repository": task.repository.name, "commit": row["commit"],
                  "job": task.job.name, "kind": task.job.kind, "finished_at": finished}
        findings = [{**common, **finding} for finding in findings]
        row["findings"] = len(findings)
        row["verified"] = sum(1 for f in findings if f["verified"] is True)
        ranked = [f["severity_rank"] for f in findings if f["verified"] is not False]
        row["worst_severity"] = _SEVERITY_NAME[max(ranked)] if ranked else None
        return Outcome(run=row, findings=findings)

    def close(self) -> None:
        self.sandboxes.close()

    def _run_job(self, task: Task, repo: Any) -> Any:
        for attempt in range(SANDBOX_START_RETRIES + 1):
            try:
                return JOBS[task.job.kind](self, task, repo)
            except SandboxStartError:
                if attempt == SANDBOX_START_RETRIES:
                    raise
                self.sandboxes.close()  # the spare may be broken the same way
        raise AssertionError("unreachable")  # pragma: no cover

    # -- repositories --------------------------------------------------------------------------------------

    def _open(self, task: Task) -> Any:
        from repo_auditor.repository import Repository

        location = task.repository.location
        if task.repository.is_url:
            location = str(self._clone(task.repository.location, task.commit or "HEAD", task.base))
        return Repository.open(location, ref=task.commit, cache_root=self.workspace / "cache")

    def _clone(self, url: str, *commits: str | None) -> Path:
        """A clone of ``url`` (no work tree checked out) holding ``commits``; reused and fetched into later."""
        clones = self.workspace / "clones"
        clones.mkdir(exist_ok=True)
        target = clones / hashlib.sha256(url.encode()).hexdigest()[:16]
        wanted = [c for c in commits if c]
        with open(clones / f"{target.name}.lock", "w") as lock:  # workers on one machine share the clones
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (target / ".git").is_dir():
                tmp = clones / f".{target.name}.{os.getpid()}"
                _run_git(["clone", "--no-checkout", "--quiet", "--", url, str(tmp)], None, f"cannot clone {url}")
                os.replace(tmp, target)
            if not all(_has_commit(target, c) for c in wanted):
                _run_git(["fetch", "--quiet", "--tags", "--force", "origin", "+refs/heads/*:refs/remotes/origin/*"],
                         target, f"cannot fetch {url}")
            for commit in wanted:
                if not _has_commit(target, commit):
                    raise RepositoryError(f"{url} has no commit {commit} (fetched every branch and tag)", path=url)
        return target

    # -- models and sandboxes ------------------------------------------------------------------------------

    def models(self, task: Task) -> tuple[Any, Any]:
        settings = task.job.settings
        return self._model(settings.model, settings.api_base), (
            self._model(settings.sub_model, settings.api_base) if settings.sub_model else None)

    def _model(self, name: str | None, api_base: str | None) -> Any:
        if (name, api_base) not in self._models:
            from repo_auditor.rlm.lm import LM

            lm = LM(name, api_base=api_base)
            if api_base and lm.check().missing_env_vars:
                lm = LM(name, api_base=api_base, api_key="no-key")  # self-hosted endpoints usually need none
            self._models[(name, api_base)] = lm
        lm = self._models[(name, api_base)]
        return MeteredLM(lm, self.limiter) if self.limiter is not None else lm


def _failed(row: dict[str, Any], exc: BaseException) -> None:
    message = " ".join(str(exc).split()) or "(no message)"
    row.update(status="failed", error_type=type(exc).__name__, error=message[:MAX_ERROR_CHARS])


def _run_git(args: list[str], cwd: Path | None, what: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=CLONE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise RepositoryError(f"{what}: git did not finish within {CLONE_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise RepositoryError(f"{what}: {' '.join(done.stderr.split()) or f'git exited with {done.returncode}'}")


def _has_commit(clone: Path, commit: str) -> bool:
    done = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=clone, capture_output=True,
                          stdin=subprocess.DEVNULL, check=False)
    return done.returncode == 0


_SEVERITY_NAME = {rank: name for name, rank in SEVERITY_RANK.items()}
