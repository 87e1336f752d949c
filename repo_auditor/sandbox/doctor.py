"""One call for ``audit-repo doctor``: fetch Pyodide if needed, build the snapshot, run one cell, say how it went."""

from __future__ import annotations

from repo_auditor.sandbox.deno import DenoInterpreter
from repo_auditor.sandbox.runtime import ensure_runtime


def check_sandbox(fetch: bool = True) -> str:
    """Return a one-line status such as "sandbox ready: Python 3.14.2 in Pyodide 314.0.7 (started in 0.31 s)".

    Raises SandboxError (with the fix in its message) if Deno or Pyodide cannot be made to work.
    """
    runtime = ensure_runtime(fetch=fetch)
    with DenoInterpreter() as interp:
        result = interp.execute("import sys\nsys.version.split()[0]")
        started = interp.last_start_seconds or 0.0
    if result.error:
        return f"sandbox started but a test cell failed: {result.error.splitlines()[-1]}"
    version = (result.value or "?").strip("'")
    return f"sandbox ready: Python {version} in Pyodide from {runtime.pyodide_dir} (started in {started:.2f} s)"
