"""The sandbox: where the model's Python runs, with the repository tools bridged in.

``Interpreter`` is the protocol the recursive loop depends on; ``DenoInterpreter`` implements it with Pyodide inside a
locked-down Deno (see ``deno.py`` for the lifecycle and limits, ``runner.js`` for the lock-down). ``ensure_runtime``
fetches Pyodide from the npm registry once (``audit-repo doctor`` calls it); afterwards no network is used.
"""

from __future__ import annotations

from repo_auditor.sandbox.deno import DenoInterpreter
from repo_auditor.sandbox.doctor import check_sandbox
from repo_auditor.sandbox.protocol import ExecutionResult, Interpreter, SubmitCall
from repo_auditor.sandbox.runtime import PYODIDE_DIR_ENV, PYODIDE_VERSION, Runtime, ensure_runtime

__all__ = [
    "DenoInterpreter",
    "ExecutionResult",
    "Interpreter",
    "PYODIDE_DIR_ENV",
    "PYODIDE_VERSION",
    "Runtime",
    "SubmitCall",
    "check_sandbox",
    "ensure_runtime",
]
