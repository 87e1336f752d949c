"""``DspyInterpreter``: our Deno + Pyodide sandbox behind dspy's ``CodeInterpreter`` protocol, for ``dspy.RLM``.

dspy's own ``PythonInterpreter`` loads Pyodide and a Deno library from the internet on every start; this one runs
offline once ``audit-repo doctor`` (or ``ensure_runtime()``) has fetched Pyodide::

    import dspy
    from repo_auditor.sandbox.dspy_compat import DspyInterpreter
    from repo_auditor.tools import RepoTools

    rlm = dspy.RLM("question -> answer", tools=RepoTools(".").as_list(), interpreter_factory=DspyInterpreter)

Lifecycle (dspy's): ``dspy.RLM`` calls the class once per run, fills the mutable ``tools`` dict and
``output_fields``, then ``start`` / ``execute`` ... / ``shutdown``; this object owns one ``DenoInterpreter`` and with
it the Deno process, which ``shutdown`` ends. Tools are (re)registered inside before each ``execute``.

Two tiers of failure, as dspy expects: the model's exceptions (its own or a tool's) and time-outs raise
``CodeExecutionError`` (syntax errors ``SyntaxError``), which dspy shows to the model; a sandbox that cannot start
raises ``SandboxStartError`` (a ``RepoAuditorError``) to the host. dspy is imported on first use only, so this module
imports without the ``dspy`` extra.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from repo_auditor.sandbox.deno import DenoInterpreter

_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)


class DspyInterpreter:
    """A ``dspy.RLM`` interpreter running the model's code in repo_auditor's sandbox; ``deno_options`` go to
    ``DenoInterpreter`` (``timeout``, ``max_output_chars``, ``max_memory_mb``, ...)."""

    execution_instructions = (
        "Code runs in Pyodide (CPython compiled to WebAssembly) inside a locked-down Deno: no network, no files, "
        "no subprocesses. Variables, imports and functions persist between steps. Tools and SUBMIT are global "
        "functions and take positional or keyword arguments; help(name) shows a tool's documentation."
    )

    def __init__(self, tools: dict[str, Callable[..., Any]] | None = None,
                 output_fields: list[dict[str, Any]] | None = None, **deno_options: Any):
        self.tools: dict[str, Callable[..., Any]] = dict(tools or {})
        self.output_fields = output_fields
        self._deno = DenoInterpreter(**deno_options)
        self._registered: dict[str, Callable[..., Any]] = {}

    @classmethod
    def factory(cls, **deno_options: Any) -> Callable[[], DspyInterpreter]:
        """An ``interpreter_factory`` with options, e.g. ``DspyInterpreter.factory(timeout=300)``; it carries
        ``execution_instructions``, which dspy reads from the factory to describe the runtime in its prompt."""
        make = functools.partial(cls, **deno_options)
        make.execution_instructions = cls.execution_instructions  # type: ignore[attr-defined]
        return make

    @property
    def pid(self) -> int | None:
        """The Deno process id while running (for monitoring; do not signal it yourself)."""
        return self._deno.pid

    def start(self) -> None:
        """Start Deno + Pyodide now (idempotent); ``execute`` starts it on demand otherwise."""
        self._register_new_tools()
        self._deno.start()

    def execute(self, code: str, variables: dict[str, Any] | None = None) -> Any:
        """Run ``code``; return its printed output (or None), or ``FinalOutput`` when it called SUBMIT."""
        from dspy.primitives.code_interpreter import CodeExecutionError, FinalOutput

        self._register_new_tools()
        if variables:  # dspy passes the inputs with every call, as LocalInterpreter re-injects them
            self._deno.set_variables(variables)
        result = self._deno.execute(code)
        shown = "\n".join(text for text in (*result.notes, result.output.rstrip("\n")) if text)
        if result.error is not None:
            if result.error_type == "SyntaxError":
                raise SyntaxError(result.error)
            raise CodeExecutionError("\n".join(text for text in (shown, result.error) if text))
        if result.submit is not None:
            return FinalOutput(self._submitted(result.submit.args, result.submit.kwargs))
        return "\n".join(text for text in (shown, result.value) if text) or None

    def shutdown(self) -> None:
        """End the Deno process (idempotent); dspy.RLM calls this when a run ends."""
        self._deno.shutdown()

    def __enter__(self) -> DspyInterpreter:  # noqa: PYI034 - Self needs Python 3.11
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _register_new_tools(self) -> None:
        """Bring tools added or replaced in ``self.tools`` (dspy does both between runs) into the sandbox."""
        for name, fn in self.tools.items():
            if self._registered.get(name) is not fn:
                self._deno.register_tool(name, _by_keyword(fn))
                self._registered[name] = fn

    def _submitted(self, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """SUBMIT's values by output field name: positional values fill the fields in the signature's order."""
        from dspy.primitives.code_interpreter import CodeExecutionError

        names = [field["name"] for field in self.output_fields or []]
        if len(args) > len(names):
            raise CodeExecutionError(f"SUBMIT takes at most {len(names)} positional values ({', '.join(names)}), "
                                     f"got {len(args)}; pass them by name, e.g. SUBMIT({names[0]}=...)"
                                     if names else "SUBMIT got positional values but no output fields are known")
        return {**dict(zip(names, args)), **kwargs}


def _by_keyword(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` called with every argument by name when its signature allows it.

    dspy.RLM wraps each user tool as ``invoke(**kwargs)``, so ``grep("TODO")`` would fail on the host with
    "takes 0 positional arguments"; the sandbox sends positional values, and this binds them to their names first.
    """
    signature = inspect.signature(fn)
    if any(p.kind not in _BY_NAME for p in signature.parameters.values()):
        return fn

    def call(*args: Any, **kwargs: Any) -> Any:
        named = dict(signature.bind(*args, **kwargs).arguments)
        extra = next((p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.VAR_KEYWORD), None)
        if extra is not None:
            named.update(named.pop(extra, {}))
        return fn(**named)

    functools.update_wrapper(call, fn)
    call.__signature__ = signature  # type: ignore[attr-defined]
    return call
