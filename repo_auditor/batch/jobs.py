"""The three batch jobs, each a thin call of the job package that does the work, and its result as rows.

``architecture``: ``build_inventory`` (and ``narrate`` with a model). Its findings are the import cycles (category
``import-cycle``, verified: they come from the parsed code) and the narrative's risks (``architecture-risk``).
``audit``: ``RepoAuditor``; findings in category ``audit``. ``review``: ``review`` of base..head; category
``review:<focus>``. Each job gets the worker's warm sandbox and models (see ``worker.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from repo_auditor.batch.rows import SEVERITY_RANK


@dataclass
class JobResult:
    """A job's contribution to its run row, and its findings (without the columns the worker fills in)."""

    run: dict[str, Any]
    findings: list[dict[str, Any]] = field(default_factory=list)


def architecture(worker: Any, task: Any, repo: Any) -> JobResult:
    from repo_auditor.architecture import build_inventory

    settings = task.job.settings
    inventory = build_inventory(repo, since_days=settings.since_days, top_n=settings.top,
                                cache_path=worker.workspace / "cache")
    findings = [_cycle_finding(inventory, cycle) for cycle in inventory.cycles]
    headline = (f"{len(inventory.components)} components, {len(inventory.edges)} dependencies, "
                f"{len(inventory.cycles)} cycles")
    run: dict[str, Any] = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
    if task.job.uses_model:
        from repo_auditor.architecture.narrative import narrate

        lm, sub_lm = worker.models(task)
        with worker.sandboxes.take(settings.max_output_chars) as sandbox:
            story = narrate(repo, inventory, lm=lm, sub_lm=sub_lm, budgets=budgets_of(task), interpreter=sandbox)
        headline += f"; {story.headline()}"
        run = {**usage_columns(story.usage, story.coverage), "finished_by": story.finished_by}
        findings += [_risk_finding(risk) for risk in story.risks]
    return JobResult(run={**run, "headline": headline}, findings=findings)


def audit(worker: Any, task: Any, repo: Any) -> JobResult:
    from repo_auditor.audit.pipeline import RepoAuditor

    lm, sub_lm = worker.models(task)
    settings = task.job.settings
    with worker.sandboxes.take(settings.max_output_chars) as sandbox:
        # The warm sandbox is the point of a batch worker, and runs stay comparable across repositories of any size:
        # batches always explore with the RLM.
        auditor = RepoAuditor(lm=lm, sub_lm=sub_lm, budgets=budgets_of(task), interpreter=sandbox,
                              synthesizer="model" if settings.synthesize else None, strategy="rlm")
        report = auditor(repo, task.job.options["question"])
    return _report_result(report, "audit")


def review(worker: Any, task: Any, repo: Any) -> JobResult:
    from repo_auditor.review.pipeline import review as review_change

    lm, sub_lm = worker.models(task)
    options = task.job.options
    with worker.sandboxes.take(task.job.settings.max_output_chars) as sandbox:
        result = review_change(repo, task.base, focus=options["focus"], question=options.get("question"), lm=lm,
                               sub_lm=sub_lm, budgets=budgets_of(task), interpreter=sandbox)
    return _report_result(result.report, f"review:{options['focus']}")


JOBS: dict[str, Callable[[Any, Any, Any], JobResult]] = {"architecture": architecture, "audit": audit,
                                                          "review": review}


def budgets_of(task: Any) -> Any:
    from repo_auditor.audit.pipeline import Budgets

    s = task.job.settings
    return Budgets(max_iterations=s.max_iterations, max_llm_calls=s.max_llm_calls,
                   max_output_chars=s.max_output_chars, max_cost=s.max_cost, max_time=s.max_time)


def usage_columns(usage: Any, coverage: Any) -> dict[str, Any]:
    """calls, tokens, cost and ``partial`` from a run's ``usage`` (ModelUsage per model) and ``coverage``."""
    costs = [u.cost for u in usage]
    return {"calls": sum(u.calls for u in usage), "prompt_tokens": sum(u.prompt_tokens for u in usage),
            "completion_tokens": sum(u.completion_tokens for u in usage),
            "cost_usd": None if any(c is None for c in costs) else round(sum(costs), 6),
            "partial": coverage.budget_hit is not None}


def finding_row(*, fingerprint: str, severity: Any, category: str, title: str, path: str | None, line: int | None,
                end_line: int | None, verified: bool | None) -> dict[str, Any]:
    label = str(severity)
    return {"fingerprint": fingerprint, "severity": label, "severity_rank": SEVERITY_RANK[label],
            "category": category, "title": title, "path": path, "line": line, "end_line": end_line,
            "verified": verified}


def _report_result(report: Any, category: str) -> JobResult:
    report = report.shown()  # the rows name files as the model saw them
    findings = [finding_row(fingerprint=f.fingerprint, severity=f.severity, category=category, title=f.title,
                            path=f.location.path, line=f.location.line, end_line=f.location.end_line,
                            verified=f.verified) for f in report.findings]
    finished_by = (report.coverage.budget_hit or "submit").split(";")[0]
    return JobResult(run={**usage_columns(report.usage, report.coverage), "headline": report.headline(),
                          "finished_by": finished_by}, findings=findings)


def _cycle_finding(inventory: Any, cycle: Any) -> dict[str, Any]:
    loop = list(cycle.path)
    if len(loop) > 1 and loop[0] == loop[-1]:  # the path comes back to where it started
        loop.pop()
    steps = set(zip(loop, loop[1:] + loop[:1]))
    edge = next((e for e in inventory.edges if (e.source, e.target) in steps), None)
    digest = hashlib.sha256("\0".join(["import-cycle", *sorted(cycle.components)]).encode()).hexdigest()[:16]
    return finding_row(fingerprint=digest, severity="medium", category="import-cycle",
                       title="import cycle: " + " -> ".join([*loop, loop[0]]) if loop else "import cycle",
                       path=edge.example_path if edge else None, line=edge.example_line if edge else None,
                       end_line=None, verified=True)


def _risk_finding(risk: Any) -> dict[str, Any]:
    cited = next((c for c in risk.citations if c.verified is True), risk.citations[0] if risk.citations else None)
    title = " ".join(risk.title.lower().split())
    where = cited.location.path if cited else ""
    digest = hashlib.sha256("\0".join(["architecture-risk", where, title]).encode()).hexdigest()[:16]
    return finding_row(fingerprint=digest, severity=risk.severity, category="architecture-risk", title=risk.title,
                       path=cited.location.path if cited else None, line=cited.location.line if cited else None,
                       end_line=cited.location.end_line if cited else None, verified=risk.verified)
