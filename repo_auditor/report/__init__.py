"""Report data -> what people and machines read: Markdown (jinja2 templates), JSON, SARIF, CI annotations.

::

    render.py       Markdown through the templates (strict: a missing value is an error) and JSON; escaping filters
    review.py       a review's result -> markdown | json | sarif | github annotations
    sarif.py        SARIF 2.1.0 for code scanning
    annotations.py  GitHub Actions workflow commands
    trace_view.py   a JSONL trace -> one self-contained HTML page to look at the run (audit-repo trace view)

The only package that imports jinja2. It reads the jobs' result types; no job imports it.
"""

from __future__ import annotations

from repo_auditor.report.render import (
    check_templates,
    code_block,
    escape_markdown,
    escape_prose,
    inline_code,
    render,
    render_architecture,
    render_review,
    shipped_template_dir,
)

__all__ = [
    "check_templates", "code_block", "escape_markdown", "escape_prose", "inline_code", "render", "render_architecture", "render_review",
    "shipped_template_dir",
]
