"""FakeInterpreter: the Interpreter protocol with ``exec`` in this process. TEST ONLY: it is no sandbox."""

from __future__ import annotations

import ast
import io
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from repo_auditor.errors import SandboxCrashedError
from repo_auditor.sandbox.protocol import ExecutionResult, SubmitCall


class _Submitted(BaseException):
    def __init__(self, call: SubmitCall):
        self.call = call


class FakeInterpreter:
    """Implements the Interpreter protocol with ``exec`` in this process. Knobs for tests:

    ``lose_state_before`` - execute numbers (1-based) before which the namespace is wiped (state_lost=True);
    ``crash_on`` - execute numbers that raise SandboxCrashedError (the namespace is wiped too)."""

    def __init__(self, *, lose_state_before: tuple[int, ...] = (), crash_on: tuple[int, ...] = ()):
        self.tools: dict[str, Callable[..., Any]] = {}
        self.variables: dict[str, Any] = {}
        self.namespace: dict[str, Any] = {}
        self.executed: list[str] = []
        self.timeouts: list[float | None] = []
        self.started = 0
        self.shutdowns = 0
        self.lose_state_before = lose_state_before
        self.crash_on = crash_on

    def register_tool(self, name: str, fn: Callable[..., Any]) -> None:
        self.tools[name] = fn
        self.namespace[name] = fn

    def set_variables(self, variables: dict[str, Any]) -> None:
        self.variables = dict(variables)
        self.namespace.update(variables)

    def start(self) -> None:
        self.started += 1

    def _reset(self) -> None:
        self.namespace = {**self.tools, **self.variables}

    def execute(self, code: str, *, timeout: float | None = None) -> ExecutionResult:
        self.executed.append(code)
        self.timeouts.append(timeout)
        number = len(self.executed)
        if number in self.crash_on:
            self._reset()
            raise SandboxCrashedError("deno exited with signal 9")
        state_lost = number in self.lose_state_before
        if state_lost:
            self._reset()

        def submit(*args: Any, **kwargs: Any) -> None:
            raise _Submitted(SubmitCall(list(args), dict(kwargs)))

        self.namespace["SUBMIT"] = submit
        out = io.StringIO()
        # print() goes to this execute's buffer (not a swapped sys.stdout), so child runs in threads stay apart
        self.namespace["print"] = lambda *args, **kwargs: print(*args, **{"file": out, **kwargs})
        result = ExecutionResult(state_lost=state_lost)
        t0 = time.perf_counter()
        try:
            tree = ast.parse(code)
            last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            if last is not None:
                tree.body.pop()
            exec(compile(tree, "<code>", "exec"), self.namespace)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), "<code>", "eval"), self.namespace)
                if value is not None:
                    result.value = repr(value)
        except _Submitted as s:
            result.submit = s.call
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_tb(exc.__traceback__)[-1:])
            result.error_type = type(exc).__name__
        result.output = out.getvalue()
        result.duration = time.perf_counter() - t0
        return result

    def shutdown(self) -> None:
        self.shutdowns += 1


class Concurrency:
    """Counts the callers inside ``with meter:`` at once; ``peak`` is the most seen (for concurrency tests)."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Concurrency:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.active -= 1
