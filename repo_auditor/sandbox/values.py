"""Turn any Python value into one that crosses the sandbox boundary as JSON, and say what was changed.

The same source runs on both sides: the host converts tool results with it, and its text is loaded inside Pyodide to
convert tool arguments and ``SUBMIT`` values. Only the standard library is used, so it works in both interpreters.

Conversions (never an exception): tuple and set -> list (sets sorted when their items allow it), bytes -> str (UTF-8,
bad bytes replaced), non-string dict keys -> ``str(key)``, ints beyond what ``int()``/``str()`` can print -> a short
description, NaN and infinities stay floats (JSON carries them as ``NaN``/``Infinity``; both sides are Python), anything
else -> its ``repr`` (capped). Containers deeper than ``MAX_DEPTH`` or cyclic become a marker string.
"""

from __future__ import annotations

import json
from typing import Any

# Deep enough for any sensible finding or tool result, shallow enough that recursion cannot blow Python's stack.
MAX_DEPTH = 50
# A repr of an arbitrary object is a hint to the model, not data; keep it short.
MAX_REPR_CHARS = 2_000


def to_plain(value: Any, notes: list[str] | None = None, where: str = "value") -> Any:
    """Return ``value`` as str/int/float/bool/None/list/dict only; append a note for every lossy change."""
    sink: list[str] = notes if notes is not None else []
    return _convert(value, sink, where, 0, set())


def dumps(value: Any, notes: list[str] | None = None, where: str = "value") -> str:
    """``to_plain`` then JSON, so the result always encodes."""
    return json.dumps(to_plain(value, notes, where), ensure_ascii=False)


def _convert(value: Any, notes: list[str], where: str, depth: int, seen: set[int]) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return _int(value, notes, where)
    if isinstance(value, float):
        return value
    if depth >= MAX_DEPTH:
        notes.append(f"{where}: nested deeper than {MAX_DEPTH} levels; replaced by a marker")
        return "<too deep>"
    if isinstance(value, (bytes, bytearray, memoryview)):
        notes.append(f"{where}: bytes decoded as UTF-8 text")
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        if id(value) in seen:
            notes.append(f"{where}: refers to itself; the cycle was replaced by a marker")
            return "<cycle>"
        seen.add(id(value))
        try:
            return _container(value, notes, where, depth, seen)
        finally:
            seen.discard(id(value))
    text = _safe_repr(value)
    notes.append(f"{where}: {type(value).__name__} object replaced by its repr")
    return text


def _container(value: Any, notes: list[str], where: str, depth: int, seen: set[int]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                notes.append(f"{where}: dict key {_safe_repr(key)[:80]} turned into a string")
                key = str(key) if isinstance(key, (int, float, bool)) or key is None else _safe_repr(key)
            out[key] = _convert(item, notes, f"{where}[{key!r}]", depth + 1, seen)
        return out
    items = list(value)
    if isinstance(value, (set, frozenset)):
        try:
            items = sorted(items)
        except TypeError:
            pass
    return [_convert(item, notes, f"{where}[{i}]", depth + 1, seen) for i, item in enumerate(items)]


def _int(value: int, notes: list[str], where: str) -> Any:
    plain = int(value)  # int subclasses (IntEnum, ...) travel as plain ints
    try:
        str(plain)  # Python refuses to print ints over sys.get_int_max_str_digits() digits
    except ValueError:
        notes.append(f"{where}: integer with about {plain.bit_length() * 0.30103:.0f} digits replaced by a description")
        return f"<int with {plain.bit_length()} bits>"
    return plain


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a hostile __repr__ must not break the conversion
        text = f"<{type(value).__name__} object (repr failed: {type(exc).__name__})>"
    if len(text) > MAX_REPR_CHARS:
        text = text[:MAX_REPR_CHARS] + "...>"
    return text
