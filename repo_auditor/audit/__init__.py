"""The audit job: repository -> file-tree context -> exploring RLM -> synthesis -> verified report.

``repo_auditor.audit(path, question)`` is the one-call form; ``RepoAuditor`` the reusable composition whose stages can
be swapped. This package is also callable, so ``repo_auditor.audit(...)`` calls the function whether Python resolved
the name to the function or to this package (importing a submodule rebinds the parent's attribute).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from repo_auditor.audit.pipeline import AuditSignature, Budgets, LMSynthesizer, RepoAuditor, audit

__all__ = ["AuditSignature", "Budgets", "LMSynthesizer", "RepoAuditor", "audit"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return audit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
