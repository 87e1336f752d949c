"""The tools an RLM offers inside the sandbox: checked against the reserved names and the signature, and traced."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from repo_auditor.errors import ConfigurationError
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
