"""The Python half of the sandbox runner: runs inside Pyodide, never on the host.

``runner.js`` executes this source (and ``values.py`` as module ``_ra_values``) while building the memory snapshot, so
importing it must not touch JavaScript. ``boot`` then receives the one JavaScript function that reaches the host.

The model's code runs in ``NAMESPACE``; tools, ``SUBMIT`` and the input variables are placed there. Everything printed
lands in one bounded capture, so nothing the code prints reaches the real stdout that carries the host protocol:
``print`` and ``sys.stdout``/``sys.stderr`` in order as written; writes that bypass them (``os.write(1, ...)``, C-level
output, ``js.console.log``) are queued by the runner and appended when the cell ends.

The model's code can change anything here (this module is ``sys.modules["_ra_inside"]``), so the host trusts nothing
this side sends and checks every result and tool call (``untrusted.py``). What this module does is keep ordinary code
from breaking it by accident: it encodes with its own JSON encoder objects, so ``json.dumps = ...`` in a cell changes
nothing here.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import linecache
import pydoc  # noqa: F401  # help() imports it; loading it here puts it in the snapshot
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import _ra_values

RUNNER_FILE = "<repo_auditor sandbox>"

NAMESPACE: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}

# Conversion notes beyond this many are summarised in one line: the model needs the gist, not 10,000 lines.
MAX_NOTES = 20

# Our own encoder and decoder: a cell that replaces json.dumps or json.loads for its own use does not reach these.
_encode = json.JSONEncoder(ensure_ascii=False).encode
_decode = json.JSONDecoder().decode

_SCALARS = frozenset({str, int, float, bool, type(None)})

_host_call: Callable[[str], str] | None = None
_cell_counter = 0
_max_output_chars = 10_000


class _SubmitSignal(BaseException):
    """Raised by SUBMIT to end the cell; a BaseException so ``except Exception:`` cannot swallow it."""


class _Capture:
    """Keeps the first and last ``limit // 2`` characters written and counts the rest, in write order."""

    def __init__(self, limit: int) -> None:
        self.head_limit = max(limit // 2, 1)
        self.tail_limit = max(limit - self.head_limit, 1)
        self.head: list[str] = []
        self.head_size = 0
        self.tail: deque[str] = deque()
        self.tail_size = 0
        self.total = 0

    def write(self, text: str) -> None:
        self.total += len(text)
        room = self.head_limit - self.head_size
        if room > 0:
            self.head.append(text[:room])
            self.head_size += min(room, len(text))
            text = text[room:]
            if not text:
                return
        if len(text) >= self.tail_limit:
            self.tail.clear()
            self.tail.append(text[-self.tail_limit:])
            self.tail_size = self.tail_limit
            return
        self.tail.append(text)
        self.tail_size += len(text)
        while self.tail_size - len(self.tail[0]) >= self.tail_limit:
            self.tail_size -= len(self.tail.popleft())

    def render(self) -> str:
        head = "".join(self.head)
        tail = "".join(self.tail)
        kept_tail = min(self.tail_size, self.tail_limit)
        tail = tail[len(tail) - kept_tail:]
        omitted = self.total - len(head) - len(tail)
        if omitted <= 0:
            return head + tail
        return f"{head}\n... [{omitted:,} characters omitted] ...\n{tail}"


class _Stream:
    """A text stream (sys.stdout / sys.stderr) that writes into the current capture."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.encoding = "utf-8"
        self.errors = "replace"

    def write(self, text: Any) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        _capture.write(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1 if self.name == "stdout" else 2


_capture = _Capture(_max_output_chars)
_submitted: list[Any] = []


_take_raw: Callable[[], str] | None = None


# ---------------------------------------------------------------- host calls


_remote_errors: dict[str, type[BaseException]] = {}


def _remote_error(name: str) -> type[BaseException]:
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        return builtin
    if name not in _remote_errors:
        safe = name if name.isidentifier() else "ToolError"
        _remote_errors[name] = type(safe, (Exception,), {"__module__": "tools"})
    return _remote_errors[name]


def _call_host(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    plain = {"tool": name, "args": args, "kwargs": kwargs}
    # Containers are converted first, with their depth limited: JSON's C encoder recursing through a very deep list
    # exhausts the JavaScript stack under WebAssembly and takes the whole runtime down.
    if not all(type(a) in _SCALARS for a in args) or not all(type(v) in _SCALARS for v in kwargs.values()):
        plain = {"tool": name, "args": _ra_values.to_plain(args, None, "args"),
                 "kwargs": _ra_values.to_plain(kwargs, None, "kwargs")}
    try:  # the common case: plain values, encoded directly
        payload = _encode(plain)
    except (TypeError, ValueError, RecursionError):  # str subclasses, huge ints...: convert first
        payload = _encode({"tool": name, "args": _ra_values.to_plain(args, None, "args"),
                           "kwargs": _ra_values.to_plain(kwargs, None, "kwargs")})
    reply = _decode(_host_call(payload))
    if reply.get("ok"):
        return reply.get("value")
    raise _remote_error(str(reply.get("type") or "ToolError"))(str(reply.get("message") or ""))


class _Annotation:
    """A host annotation shown as written (a plain string would be shown quoted)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _HostDefault:
    """Shown as a default that only the host knows; omitting the argument lets the host apply it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def install_tool(spec_json: str) -> None:
    """Create ``NAMESPACE[name]``: a function with the host callable's signature and docstring."""
    spec = _decode(spec_json)
    name = spec["name"]
    params = []
    for p in spec["params"]:
        default: Any = inspect.Parameter.empty
        if "default" in p:
            try:
                default = ast.literal_eval(p["default"])
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                default = _HostDefault(p["default"])
        annotation = _Annotation(p["annotation"]) if "annotation" in p else inspect.Parameter.empty
        params.append(inspect.Parameter(p["name"], getattr(inspect.Parameter, p["kind"]), default=default,
                                        annotation=annotation))
    returns = _Annotation(spec["returns"]) if "returns" in spec else inspect.Signature.empty
    signature = inspect.Signature(params, return_annotation=returns)

    def tool(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)  # a wrong call fails here, with Python's own TypeError
        call_args = [a for a in bound.args if not isinstance(a, _HostDefault)]
        call_kwargs = {k: v for k, v in bound.kwargs.items() if not isinstance(v, _HostDefault)}
        return _call_host(name, call_args, call_kwargs)

    tool.__name__ = tool.__qualname__ = name
    tool.__doc__ = spec.get("doc") or None
    tool.__signature__ = signature  # type: ignore[attr-defined]
    tool.__module__ = "tools"
    NAMESPACE[name] = tool


# ---------------------------------------------------------------- variables


def set_variable(name: str, kind: str, data: Any) -> None:
    """Place one input variable; ``data`` is a JS Uint8Array of UTF-8 text (``str``) or JSON (``json``)."""
    raw = data.to_bytes()
    text = raw.decode("utf-8", errors="surrogatepass")
    del raw
    NAMESPACE[name] = text if kind == "str" else _decode(text)


# ---------------------------------------------------------------- SUBMIT


def SUBMIT(*args: Any, **kwargs: Any) -> None:
    """Finish the task with your final answer (any arguments). The code stops here and the answer is returned.

    Values are sent as plain data: tuples and sets become lists, other objects become their repr. ``except
    Exception`` does not stop SUBMIT; a bare ``except:`` can catch it and let the code go on, but the first SUBMIT
    of a step is still the one returned.
    """
    if not _submitted:
        notes: list[str] = []
        _submitted.append({"args": _ra_values.to_plain(list(args), notes, "SUBMIT args"),
                           "kwargs": _ra_values.to_plain(kwargs, notes, "SUBMIT kwargs"), "notes": notes})
    raise _SubmitSignal()


# ---------------------------------------------------------------- cells


def _format_error(exc: BaseException) -> str:
    """The exception with a traceback that only shows the model's cells (and library frames they called)."""
    try:
        te = traceback.TracebackException.from_exception(exc, limit=None)
        _strip_runner_frames(te)
        return _cap("".join(te.format()).rstrip("\n"))
    except Exception as failure:  # an exception whose __str__ raises must still be reported
        return f"{type(exc).__name__}: <message unavailable: {type(failure).__name__}>"


def _strip_runner_frames(te: traceback.TracebackException) -> None:
    seen: set[int] = set()
    while te is not None and id(te) not in seen:
        seen.add(id(te))
        kept = [f for f in te.stack if f.filename != RUNNER_FILE]
        te.stack = traceback.StackSummary.from_list(kept)
        te = te.__cause__ or te.__context__  # type: ignore[assignment]


def _compile_cell(code: str, filename: str) -> tuple[Any, Any]:
    tree = ast.parse(code, filename=filename, mode="exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    expr = compile(last, filename, "eval") if last is not None else None
    return body, expr


def _cap(text: str) -> str:
    """Head and tail of ``text`` within the output limit, with a visible marker in between."""
    if len(text) <= _max_output_chars:
        return text
    half = _max_output_chars // 2
    return f"{text[:half]}\n... [{len(text) - 2 * half:,} characters omitted] ...\n{text[-half:]}"


def _safe_value_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr failed: {type(exc).__name__}: {exc}>"
    return _cap(text)


def _cap_notes(notes: list[str]) -> list[str]:
    if len(notes) <= MAX_NOTES:
        return notes
    return [*notes[:MAX_NOTES], f"... and {len(notes) - MAX_NOTES} more conversions like these"]


def run_cell(code: str, limit: int, timeout: float) -> str:
    """Run one cell of model code; return the result as JSON text (see ``deno.py`` for the fields)."""
    global _cell_counter, _capture, _max_output_chars
    _cell_counter += 1
    _max_output_chars = limit
    filename = f"<cell {_cell_counter}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    _capture = _Capture(limit)
    _submitted.clear()
    result: dict[str, Any] = {"value": None, "error": None, "error_type": None, "submit": None, "notes": []}
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _STDOUT, _STDERR
    try:
        # The time-limit interrupt is for the model's code only: the watchdog repeats it every 100 ms until the cell
        # is over, and one landing while the result below is built would escape run_cell and crash the runtime.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            body, expr = _compile_cell(code, filename)
            exec(body, NAMESPACE)
            if expr is not None:
                value = eval(expr, NAMESPACE)
                if value is not None:
                    result["value"] = _safe_value_repr(value)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except _SubmitSignal:
        pass
    except KeyboardInterrupt as exc:
        if not _submitted:
            result["error_type"] = "TimeoutError"
            where = _format_error(exc).rsplit("\n", 1)[0]
            result["error"] = (f"{where}\nTimeoutError: the code was stopped after the {timeout:g} s time limit; "
                               "variables set before this point are kept")
    except SyntaxError as exc:
        result["error_type"] = type(exc).__name__
        result["error"] = _cap("".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n"))
    except BaseException as exc:  # SystemExit, MemoryError, RecursionError... all are the model's observations
        result["error_type"] = type(exc).__name__
        result["error"] = _format_error(exc)
    finally:
        sys.stdout, sys.stderr = old
        raw = _take_raw() if _take_raw is not None else ""
        if raw:
            _capture.write(raw)
    if _submitted:
        call = _submitted[0]
        result["submit"] = {"args": call["args"], "kwargs": call["kwargs"]}
        result["notes"].extend(_cap_notes(call["notes"]))
    result["output"] = _capture.render()
    return _encode(result)


_STDOUT = _Stream("stdout")
_STDERR = _Stream("stderr")


def boot(host_call: Callable[[str], str], take_raw: Callable[[], str]) -> None:
    """Connect to the host and make stray writes harmless. Called once per process, after the snapshot is loaded."""
    global _host_call, _take_raw
    _host_call = host_call
    _take_raw = take_raw
    NAMESPACE["SUBMIT"] = SUBMIT
    sys.stdout, sys.stderr = _STDOUT, _STDERR
    sys.stdin = None  # type: ignore[assignment]  # input() then fails with a clear RuntimeError
    # Emscripten would hand system() to Node's child_process, which Deno denies by throwing through WebAssembly and
    # taking the whole runtime down; fail politely instead.
    import os
    import posix

    os.system = posix.system = _no_subprocess  # type: ignore[assignment]
    # The memory snapshot froze the random module's state (if it was loaded): give every session its own sequence.
    if "random" in sys.modules:
        sys.modules["random"].seed()


def _no_subprocess(*args: Any, **kwargs: Any) -> Any:
    """Subprocesses are not available in the sandbox."""
    raise PermissionError("subprocesses are not available in the sandbox; use the provided tools instead")
