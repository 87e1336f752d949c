"""repo_auditor: audit whole codebases with a language model.

The public API is ``__all__``; names are imported lazily so that ``import repo_auditor`` (and ``audit-repo --help``)
stays fast and never imports litellm, tree-sitter or git until they are used.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
import warnings
from typing import Any

# litellm otherwise fetches its model cost map from the internet at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

_LAZY = {
    "Repository": "repo_auditor.repository",
    "FileEntry": "repo_auditor.repository",
    "RepoTools": "repo_auditor.tools",
    "read_file": "repo_auditor.tools",
    "grep": "repo_auditor.tools",
    "symbols": "repo_auditor.tools",
    "Interpreter": "repo_auditor.sandbox",
    "ExecutionResult": "repo_auditor.sandbox",
    "DenoInterpreter": "repo_auditor.sandbox",
    "RLM": "repo_auditor.rlm",
    "configure": "repo_auditor.rlm",
    "Prediction": "repo_auditor.rlm",
    "Step": "repo_auditor.rlm",
    "InputField": "repo_auditor.rlm",
    "OutputField": "repo_auditor.rlm",
    "Signature": "repo_auditor.rlm",
    "LM": "repo_auditor.rlm",
    "Completion": "repo_auditor.rlm",
    "Usage": "repo_auditor.rlm",
    "ModelCheck": "repo_auditor.rlm",
    "Finding": "repo_auditor.findings",
    "Severity": "repo_auditor.findings",
    "Location": "repo_auditor.findings",
    "Coverage": "repo_auditor.findings",
    "Report": "repo_auditor.findings",
    "RepoInfo": "repo_auditor.findings",
    "verify_findings": "repo_auditor.findings",
    "build_report": "repo_auditor.findings",
    "render": "repo_auditor.report",
    "audit": "repo_auditor.audit",
    "RepoAuditor": "repo_auditor.audit",
    "Budgets": "repo_auditor.audit",
    "review": "repo_auditor.review",
    "ReviewResult": "repo_auditor.review",
    "build_inventory": "repo_auditor.architecture",
    "narrate": "repo_auditor.architecture.narrative",
    "ArchitectureReport": "repo_auditor.architecture.report",
}

# Modules of the first layout -> where they live now. Importing an old path still works (it is the new module under
# the old name) and warns once with the new place.
_MOVED = {
    "repo_auditor.loader": "repo_auditor.repository",
    "repo_auditor.languages": "repo_auditor.repository.languages",
    "repo_auditor.cache": "repo_auditor.repository.cache",
    "repo_auditor.cachedb": "repo_auditor.repository.cachedb",
    "repo_auditor.parse_worker": "repo_auditor.parsing.worker",
    "repo_auditor.auditor": "repo_auditor.audit",
    "repo_auditor.synthesis": "repo_auditor.findings.verify",
    "repo_auditor.reviewer": "repo_auditor.review",
    **{f"repo_auditor.{name}": f"repo_auditor.rlm.{name}" for name in (
        "lm", "prompt", "reply", "signature", "budget", "prediction", "subcalls", "trace", "settings")},
}

__all__ = sorted([*_LAZY, "errors", "__version__"])


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves an old module path (``repo_auditor.repository``) as the module that replaced it, with a warning."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        new = _MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module: types.ModuleType) -> None:
        pass


if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder())


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("repo_auditor.errors")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'repo_auditor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
