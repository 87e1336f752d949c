"""repo_auditor: audit whole codebases with a language model.

The public API is ``__all__``; names are imported lazily so that ``import repo_auditor`` (and ``audit-repo --help``)
stays fast and never imports litellm, tree-sitter or git until they are used.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# litellm otherwise fetches its model cost map from the internet at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

_LAZY = {
    "Repository": "repo_auditor.loader",
    "FileEntry": "repo_auditor.loader",
    "RepoTools": "repo_auditor.tools",
    "read_file": "repo_auditor.tools",
    "grep": "repo_auditor.tools",
    "symbols": "repo_auditor.tools",
    "Interpreter": "repo_auditor.sandbox",
    "ExecutionResult": "repo_auditor.sandbox",
    "DenoInterpreter": "repo_auditor.sandbox",
    "RLM": "repo_auditor.rlm",
    "configure": "repo_auditor.settings",
    "Prediction": "repo_auditor.prediction",
    "Step": "repo_auditor.prediction",
    "InputField": "repo_auditor.signature",
    "OutputField": "repo_auditor.signature",
    "Signature": "repo_auditor.signature",
    "LM": "repo_auditor.lm",
    "Completion": "repo_auditor.lm",
    "Usage": "repo_auditor.lm",
    "ModelCheck": "repo_auditor.lm",
    "Finding": "repo_auditor.findings",
    "Severity": "repo_auditor.findings",
    "Location": "repo_auditor.findings",
    "Coverage": "repo_auditor.findings",
    "Report": "repo_auditor.findings",
    "RepoInfo": "repo_auditor.findings",
    "verify_findings": "repo_auditor.synthesis",
    "build_report": "repo_auditor.synthesis",
    "render": "repo_auditor.report",
    "audit": "repo_auditor.auditor",
    "RepoAuditor": "repo_auditor.auditor",
    "Budgets": "repo_auditor.auditor",
    "review": "repo_auditor.reviewer",
    "ReviewResult": "repo_auditor.reviewer",
    "build_inventory": "repo_auditor.architecture",
    "narrate": "repo_auditor.architecture.narrative",
    "ArchitectureReport": "repo_auditor.architecture.report",
}

__all__ = sorted([*_LAZY, "errors", "__version__"])


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
