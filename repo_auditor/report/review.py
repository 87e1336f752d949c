"""A ReviewResult -> text in each output format: ``markdown`` (the PR comment), ``json``, ``sarif``, ``github``."""

from __future__ import annotations

import json
from typing import Any

from repo_auditor.errors import ConfigurationError
from repo_auditor.report.annotations import to_annotations
from repo_auditor.report.sarif import to_sarif
from repo_auditor.review.pipeline import ReviewResult

FORMATS = ("markdown", "json", "sarif", "github")


def render_result(result: ReviewResult, format: str = "markdown", template_dir: str | None = None) -> str:
    if format == "markdown":
        from repo_auditor.report.render import render_review

        return render_review(result.report, _template_view(result), template_dir=template_dir)
    if format == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if format == "sarif":
        return json.dumps(to_sarif(result.report), indent=2, ensure_ascii=False) + "\n"
    if format == "github":
        return to_annotations(result.report)
    raise ConfigurationError(f"unknown review format {format!r}; use one of: {', '.join(FORMATS)}")


def _template_view(result: ReviewResult) -> dict[str, Any]:
    shown = {p.file.path: p for p in result.plan.files}
    groups: dict[str, list[dict[str, Any]]] = {"reviewed": [], "skimmed": [], "skipped": []}
    for planned in result.changes.files:
        # incremental: files changed in the PR but not since the last review were covered by the earlier review
        current = shown.get(planned.file.path)
        if current is None:
            entry = {**planned.file.to_dict(), "coverage": "skipped", "reason": "unchanged since the last review"}
        else:
            entry = current.to_dict()
        groups[entry["coverage"]].append(entry)
    return {"marker": result.marker().render(), "base_ref": result.base_ref, "base": result.base_sha,
            "head": result.head_sha, "focus": result.focus, "incremental_from": result.incremental_from,
            "kept": result.kept, "resolved": result.resolved, "budget_chars": result.plan.budget_chars, **groups}
