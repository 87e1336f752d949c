"""The review job: a pull request's change reviewed by the RLM, findings verified on the head tree.

::

    diff.py         git diff -> changed files, line ranges -> reviewed / skimmed / skipped plan within a budget
    pipeline.py     the run: merge base, plan, RepoAuditor with ReviewSignature, on_changed_line, incremental
    marker.py       the hidden marker of the PR comment (reviewed head, fingerprints, findings to carry over)
    render.py       ReviewResult -> markdown (templates/review.md.j2) | json | sarif | github annotations
    sarif.py        SARIF 2.1.0 for code scanning
    annotations.py  GitHub Actions workflow commands
    github.py       the REST client that creates or updates the one review comment
"""

from __future__ import annotations

from repo_auditor.reviewer.pipeline import FOCUS_AREAS, ReviewResult, ReviewSignature, review

__all__ = ["FOCUS_AREAS", "ReviewResult", "ReviewSignature", "review"]
