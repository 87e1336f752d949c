"""Host callables as sandbox functions: their signature and docstring go in, calls come back out.

Inside the sandbox each tool is a plain Python function with the host function's parameters (names, kinds, defaults,
annotations as text) and docstring, so ``help(grep)`` reads like the real thing and a wrong call fails inside with
Python's own ``TypeError``. Defaults that are not literals are shown by their repr and applied by the host.
"""

from __future__ import annotations

import inspect
import json
import keyword
from collections.abc import Callable
from typing import Any

from repo_auditor.errors import ConfigurationError
from repo_auditor.sandbox.values import to_plain

RESERVED_NAMES = frozenset({"SUBMIT", "print", "help", "input", "open", "exec", "eval"})


def check_name(name: str, what: str) -> None:
    """Reject names that cannot be Python identifiers inside the sandbox."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_ra_"):
        raise ConfigurationError(f"{what} name {name!r} is not a usable Python identifier; rename it (e.g. 'my_tool')")
    if name in RESERVED_NAMES:
        raise ConfigurationError(f"{what} name {name!r} would hide a built-in the model relies on; choose another name")


def tool_spec(name: str, fn: Callable[..., Any]) -> str:
    """The JSON description of ``fn`` that ``_inside.install_tool`` turns back into a function."""
    if not callable(fn):
        raise ConfigurationError(f"tool {name!r} must be callable, got {type(fn).__name__}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = inspect.Signature([
            inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ])
    params = []
    for p in signature.parameters.values():
        entry: dict[str, Any] = {"name": p.name, "kind": p.kind.name}
        if p.default is not inspect.Parameter.empty:
            entry["default"] = repr(p.default)
        if p.annotation is not inspect.Parameter.empty:
            entry["annotation"] = _annotation_text(p.annotation)
        params.append(entry)
    spec: dict[str, Any] = {"name": name, "params": params, "doc": inspect.getdoc(fn) or ""}
    if signature.return_annotation is not inspect.Signature.empty:
        spec["returns"] = _annotation_text(signature.return_annotation)
    return json.dumps(spec)


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return inspect.formatannotation(annotation)


def call_tool(tools: dict[str, Callable[..., Any]], name: str, args: list[Any], kwargs: dict[str, Any]) -> bytes:
    """Run one tool call from the sandbox (already checked by ``untrusted.parse_call``); the reply carries the value
    or the exception's type name and message. Only a BaseException that is not an Exception (Ctrl-C) propagates."""
    fn = tools.get(name)
    if fn is None:
        return error_reply("ToolError", f"malformed tool call: there is no tool {name[:100]!r}")
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:  # the model sees the tool's failure as a Python exception and can recover
        return error_reply(type(exc).__name__, _message(exc))
    try:  # the common case: plain values, encoded directly
        return _encode({"ok": True, "value": value})
    except (TypeError, ValueError, RecursionError):  # sets, bytes, objects, cycles, huge ints: convert first
        return _encode({"ok": True, "value": to_plain(value, [], f"{name}() result")})


def error_reply(type_name: str, message: str) -> bytes:
    """A reply that raises ``type_name(message)`` inside the sandbox."""
    return _encode({"ok": False, "type": type_name, "message": message})


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # an exception whose __str__ fails is still reported
        return f"<{type(exc).__name__} message unavailable>"


def _encode(reply: dict[str, Any]) -> bytes:
    # surrogatepass: a lone surrogate (a non-UTF-8 file name read with surrogateescape) must not raise here; the
    # runner's UTF-8 decoder shows it as U+FFFD.
    return json.dumps(reply, ensure_ascii=False).encode("utf-8", "surrogatepass")
