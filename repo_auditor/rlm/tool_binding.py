"""The tools an RLM offers inside the sandbox: checked against the reserved names and the signature, and traced."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from repo_auditor.errors import ConfigurationError, ToolError
from repo_auditor.rlm.children import RESERVED_NAMES
from repo_auditor.rlm.signature import Signature
from repo_auditor.rlm.trace import cap


def normalize_tools(tools: Any, signature: Signature) -> dict[str, Callable[..., Any]]:
    if tools is None:
        return {}
    if isinstance(tools, dict):
        items = list(tools.items())
    elif isinstance(tools, (list, tuple)):
        items = []
        for i, fn in enumerate(tools):
            if not callable(fn) and callable(getattr(fn, "func", None)):  # a dspy.Tool: its name and function
                fn, name = fn.func, getattr(fn, "name", None) or getattr(fn.func, "__name__", None)
            else:
                name = getattr(fn, "__name__", None)
            if not isinstance(name, str):
                raise ConfigurationError(f"tool #{i + 1} ({type(fn).__name__}) has no __name__; "
                                         f"pass tools as a dict {{name: function}}")
            items.append((name, fn))
    else:
        raise ConfigurationError(f"tools must be a list of functions or a dict name -> function, "
                                 f"got {type(tools).__name__}")
    result: dict[str, Callable[..., Any]] = {}
    for name, fn in items:
        if not callable(fn):
            raise ConfigurationError(f"tool {name!r} is not callable ({type(fn).__name__})")
        if not name.isidentifier():
            raise ConfigurationError(f"tool name {name!r} is not a Python identifier; pass tools as a dict "
                                     f"{{name: function}} to name it")
        if name in RESERVED_NAMES:
            raise ConfigurationError(f"tool name {name!r} is reserved by the RLM; rename the tool")
        if name in signature.input_names:
            raise ConfigurationError(f"tool name {name!r} collides with the input variable of the same name; "
                                     f"rename one of them")
        if name in result:
            raise ConfigurationError(f"two tools are named {name!r}; pass a dict to name them apart")
        result[name] = fn
    return result


def traced_tool(name: str, fn: Callable[..., Any], trace: Any) -> Callable[..., Any]:
    """``fn`` with every call written to the trace; signature and docstring are kept for the sandbox bridge."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        record = {"name": name, "args": [cap(repr(a), 500) for a in args],
                  "kwargs": {k: cap(repr(v), 500) for k, v in kwargs.items()}}
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            trace.write("tool_call", **record, error=f"{type(exc).__name__}: {exc}",
                        duration=round(time.perf_counter() - t0, 4))
            raise
        trace.write("tool_call", **record, result=cap(repr(result)), duration=round(time.perf_counter() - t0, 4))
        return result

    return wrapper


# Parameters that take a path (or a file, a folder): a model that passes an input variable's name here meant the
# variable, or confused the file tree it holds with a file (small models do: ``grep(..., path='repo_tree')``).
PATH_PARAMETERS = frozenset({"path", "paths", "file", "filename", "file_path", "folder", "directory", "dir"})


def guard_input_names(fn: Callable[..., Any], input_names: list[str]) -> Callable[..., Any]:
    """``fn``, refusing with a ToolError that says so an input variable's name given to a path parameter."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn
    if not any(p in PATH_PARAMETERS or p.endswith("_path") for p in signature.parameters) or not input_names:
        return fn
    names = set(input_names)

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError:
            return fn(*args, **kwargs)  # let the tool report its own usage error
        for param, value in bound.arguments.items():
            if (param in PATH_PARAMETERS or param.endswith("_path")) and isinstance(value, str) \
                    and value.strip() in names:
                name = value.strip()
                raise ToolError(
                    f"{param}={value!r} is the name of the input variable `{name}`, not a path in the repository. "
                    f"`{name}` is already a Python variable: use it in code (e.g. print({name}[:1000])). For "
                    f"{param}, pass a path as it appears in the file tree, like 'src/app.py' (or '.' for all).")
        return fn(*args, **kwargs)

    return guarded
