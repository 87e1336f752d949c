"""The driver: plan the manifest, skip what is done, hand the rest to an engine, write shards, write the summary.

Rows are buffered and written as a shard every ``SHARD_ROWS`` runs or ``SHARD_SECONDS`` seconds, and whatever is
buffered when the batch ends or is interrupted (Ctrl-C) is written before leaving; a driver killed outright loses at
most the buffered runs, which the next run of the batch does again. When every task has a row, the shards are
compacted into one. Tasks with the same key (the same repository listed twice) run once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repo_auditor.batch.engine import Done, Engine, Stopped
from repo_auditor.batch.manifest import Manifest
from repo_auditor.batch.plan import Task, plan
from repo_auditor.batch.store import ResultStore
from repo_auditor.batch.summary import render_summary

SHARD_ROWS = 200  # runs per shard: small enough that a crash redoes little, large enough to keep files few
SHARD_SECONDS = 30.0  # and at least this often while runs trickle in


@dataclass
class BatchRun:
    """What one invocation of a batch did."""

    planned: int = 0
    skipped: int = 0  # already had a row
    ok: int = 0
    failed: int = 0
    stopped: list[str] = field(default_factory=list)  # not run: why (the batch budget)
    shards: int = 0
    seconds: float = 0.0
    limiter: dict[str, Any] | None = None
    summary_path: Path | None = None

    @property
    def ran(self) -> int:
        return self.ok + self.failed

    def line(self) -> str:
        parts = [f"{self.planned} runs planned", f"{self.skipped} already done", f"{self.ok} ok",
                 f"{self.failed} failed"]
        if self.stopped:
            parts.append(f"{len(self.stopped)} not started (batch budget spent)")
        return ", ".join(parts) + f" in {self.seconds:.1f} s"


Event = Callable[[str, Task, Any], None]  # ("started", task, "host:pid") | ("done", task, run row) | ("stopped", ...)


def run_batch(manifest: Manifest, results: str | Path, engine: Engine, *, on_event: Event | None = None,
              shard_rows: int = SHARD_ROWS, shard_seconds: float = SHARD_SECONDS) -> BatchRun:
    """Run the manifest's tasks that have no row in ``results`` on ``engine``; see the module docstring."""
    started = time.monotonic()
    notify = on_event or (lambda kind, task, value: None)
    report = BatchRun()
    with ResultStore(results) as store:
        tasks = plan(manifest)
        report.planned = len(tasks)
        done = store.keys()
        todo, seen = [], set(done)
        for task in tasks:
            if task.key in seen:
                report.skipped += task.key in done
                continue
            seen.add(task.key)
            todo.append(task)
        budget_spent = False
        runs: list[dict[str, Any]] = []
        findings: list[dict[str, Any]] = []
        last_flush = time.monotonic()

        def should_start(task: Task) -> bool:
            return not (budget_spent and task.job.uses_model)

        def flush() -> None:
            nonlocal last_flush
            if store.write_shard(runs, findings) is not None:
                report.shards += 1
            runs.clear()
            findings.clear()
            last_flush = time.monotonic()

        try:
            for result in engine.run(todo, should_start, lambda task, where: notify("started", task, where)):
                if isinstance(result, Stopped):
                    budget_spent = True
                    report.stopped.append(result.task.key)
                    notify("stopped", result.task, result.reason)
                    continue
                assert isinstance(result, Done)
                runs.append(result.outcome.run)
                findings.extend(result.outcome.findings)
                if result.outcome.run["status"] == "ok":
                    report.ok += 1
                else:
                    report.failed += 1
                notify("done", result.task, result.outcome.run)
                if len(runs) >= shard_rows or time.monotonic() - last_flush >= shard_seconds:
                    flush()
        finally:
            flush()
        report.limiter = engine.limiter_state()
        if not report.stopped and len(store.shards()) > 1:
            store.compact()
        report.seconds = time.monotonic() - started
        summary = render_summary(list(store.rows("runs")), list(store.rows("findings")), title=manifest.path.stem,
                                 batch=report)
        report.summary_path = store.write_text("summary.md", summary)
    return report


def check_models(manifest: Manifest) -> None:
    """Fail before any work when a job's model is unknown or its key is missing (one line, like `audit-repo`)."""
    from repo_auditor.errors import LMAuthenticationError, LMNotFoundError
    from repo_auditor.rlm.lm import LM

    seen = set()
    for job in manifest.jobs:
        if not job.uses_model:
            continue
        for name in filter(None, (job.settings.model, job.settings.sub_model)):
            if (name, job.settings.api_base) in seen:
                continue
            seen.add((name, job.settings.api_base))
            check = LM(name, api_base=job.settings.api_base).check()
            if check.provider is None:
                raise LMNotFoundError(check.problems[0], model=name)
            if check.missing_env_vars and not job.settings.api_base:
                raise LMAuthenticationError(check.problems[-1], model=name)


def forwarded_environment(manifest: Manifest) -> dict[str, str]:
    """The variables named after the manifest's model providers (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``,
    ``AZURE_API_BASE``...) that are set here, for workers on other machines, which do not share this environment."""
    import os

    from repo_auditor.rlm.provider import provider_of

    prefixes = set()
    for job in manifest.jobs:
        if job.uses_model:
            for model in filter(None, (job.settings.model, job.settings.sub_model)):
                provider = provider_of(model)
                if provider:
                    prefixes.add(provider.upper().replace("-", "_") + "_")
    return {name: value for name, value in os.environ.items() if name.startswith(tuple(prefixes))} if prefixes else {}
