"""The interpreter protocol: what the recursive loop needs from a place that runs the model's code.

INTERFACE (the Deno + Pyodide implementation lives in ``deno.py``). Lifecycle::

    interp = SomeInterpreter(...)           # nothing started yet
    interp.register_tool("grep", fn)        # before start (or between executes): exposed inside as grep(...)
    interp.set_variables({"context": s})    # injected once per session; re-injected automatically after a restart
    interp.start()                          # optional; execute() starts on demand; start_background() overlaps it
    r = interp.execute("x = 1\nx + 1")      # -> ExecutionResult; state persists across calls
    interp.shutdown()                       # idempotent; also via the context manager

The interpreter owns its process; ``shutdown`` (or garbage collection of the context manager) ends it. The model's own
errors (exceptions, syntax errors, time-outs) are returned in ``ExecutionResult``; only a failure of the runtime itself
raises ``SandboxError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable


@dataclass
class SubmitCall:
    """The code called ``SUBMIT(...)``: positional ``args`` and keyword ``kwargs`` as Python values."""

    args: list[Any]
    kwargs: dict[str, Any]


@dataclass
class ExecutionResult:
    """What one ``execute`` produced, ready to show the model."""

    output: str = ""  # stdout and stderr interleaved in order, capped with a visible head/tail marker
    value: str | None = None  # repr of a trailing expression's value, if the code ended in one that is not None
    error: str | None = None  # "TypeName: message" plus a traceback into the model's code, or None
    error_type: str | None = None  # e.g. "SyntaxError", "TimeoutError", "MemoryError"
    submit: SubmitCall | None = None  # set when the code called SUBMIT(...)
    state_lost: bool = False  # the runtime was restarted before/while running this code: variables were lost
    duration: float = 0.0  # seconds
    notes: list[str] = field(default_factory=list)  # plain-language notes for the model (restart, truncation, ...)


@runtime_checkable
class Interpreter(Protocol):
    """Runs untrusted Python with host tools bridged in. See the module docstring for the lifecycle."""

    def register_tool(self, name: str, fn: Callable[..., Any]) -> None: ...

    def set_variables(self, variables: dict[str, Any]) -> None: ...

    def start(self) -> None: ...

    def execute(self, code: str, *, timeout: float | None = None) -> ExecutionResult: ...

    def shutdown(self) -> None: ...
