"""The review job: a pull request's change reviewed by the RLM, findings verified on the head tree.

::

    diff.py      git diff -> changed files, line ranges -> reviewed / skimmed / skipped plan within a budget
    pipeline.py  the run: merge base, plan, RepoAuditor with ReviewSignature, on_changed_line, incremental
    marker.py    the hidden marker of the PR comment (reviewed head, fingerprints, findings to carry over)
    github.py    the REST client that creates or updates the one review comment

Rendering (Markdown, JSON, SARIF, annotations) lives in ``repo_auditor.report``. Like ``repo_auditor.audit``, this
package is callable: ``repo_auditor.review(...)`` runs a review.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from repo_auditor.review.pipeline import FOCUS_AREAS, ReviewResult, ReviewSignature, review

__all__ = ["FOCUS_AREAS", "ReviewResult", "ReviewSignature", "review"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return review(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
