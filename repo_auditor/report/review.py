"""A ReviewResult -> text in each output format: ``markdown`` (the PR comment or review summary), ``json``,
``sarif``, ``github`` (annotations); and the bodies of its inline review comments."""

from __future__ import annotations

import json
import re
from typing import Any

from repo_auditor.errors import ConfigurationError
from repo_auditor.report.annotations import to_annotations
from repo_auditor.report.sarif import to_sarif
from repo_auditor.review.inline import InlineComment
from repo_auditor.review.pipeline import ReviewResult

FORMATS = ("markdown", "json", "sarif", "github")
PLATFORMS = ("github", "gitlab")


def render_result(result: ReviewResult, format: str = "markdown", template_dir: str | None = None, *,
                  inline: bool = False) -> str:
    """``result`` in ``format``; ``inline=True`` (markdown only) renders the summary of a review whose findings in
    the diff are posted as inline comments, so it lists those in one line each. Paths are written as the model saw
    them (``ReviewResult.shown``)."""
    result = result.shown()
    if format == "markdown":
        from repo_auditor.report.render import render_review

        return render_review(result.report, _template_view(result, inline), template_dir=template_dir)
    if format == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if format == "sarif":
        sarif = to_sarif(result.report, suppressed=[(s.finding, s.suppression.reason) for s in result.suppressed],
                         run_properties=result.run_properties())
        return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"
    if format == "github":
        return to_annotations(result.report)
    raise ConfigurationError(f"unknown review format {format!r}; use one of: {', '.join(FORMATS)}")


def render_inline(result: ReviewResult, platform: str, template_dir: str | None = None
                  ) -> list[tuple[InlineComment, str]]:
    """Each inline comment of ``result`` with its Markdown body for ``platform`` (github or gitlab): the finding,
    its check, and a committable suggestion block when the fix applies cleanly. The comment keeps the raw path
    (where the platform places it); its body names files as the model saw them (``ReviewResult.shown``)."""
    from repo_auditor.report.render import render_review_comment

    if platform not in PLATFORMS:
        raise ConfigurationError(f"unknown platform {platform!r}; use one of: {', '.join(PLATFORMS)}")
    rendered = []
    for comment, shown in zip(result.inline, result.shown().inline, strict=True):
        header = "suggestion"
        if platform == "gitlab" and comment.start_line is not None:
            header = f"suggestion:-{comment.line - comment.start_line}+0"  # GitLab counts lines above the note
        view = {"marker": comment.marker, "platform": platform, "suggestion": comment.suggestion,
                "suggestion_problem": comment.suggestion_problem, "suggestion_header": header,
                "fence": _fence(comment.suggestion or "")}
        rendered.append((comment, render_review_comment(result.report, shown.finding, view,
                                                        template_dir=template_dir)))
    return rendered


def _fence(code: str) -> str:
    """Backticks one longer than the longest run in ``code`` (at least three), so the code cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def _template_view(result: ReviewResult, inline: bool) -> dict[str, Any]:
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
            "kept": result.kept, "resolved": result.resolved, "budget_chars": result.plan.budget_chars,
            "rules": [r.to_dict() for r in result.rules], "suppressed": [s.to_dict() for s in result.suppressed],
            "inline_ids": [c.finding.fingerprint for c in result.inline] if inline else [], **groups}
