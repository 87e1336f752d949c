"""Everything that comes out of the sandbox is untrusted data: it is parsed and checked here before the host uses it.

The model's code can patch anything in the Python world of the sandbox (the runner's own module included), so a tool
call or a cell result may be any bytes at all. ``parse_call`` and ``parse_result`` turn them into plain, well-typed
values or raise ``UntrustedValueError`` with a message meant for the model; they never raise anything else, and what
they return can be used on the host without further checks:

* at most ``MAX_VALUE_BYTES`` of JSON (the frame reader skips larger payloads unread, see ``wire.OversizedPayloadError``);
* nested at most ``MAX_JSON_DEPTH`` levels (``values.MAX_DEPTH`` plus the envelope), checked without recursion, so
  neither parsing nor any later walk over the value can exhaust the host's stack;
* strings are valid Unicode: a lone surrogate (``"\\ud800"`` in the JSON) becomes U+FFFD, so writing a report or a trace
  as UTF-8 cannot fail;
* exactly the fields of the schema, each of its type; text fields of a result are capped like the sandbox caps them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from repo_auditor.sandbox.values import MAX_DEPTH

# The largest tool call or cell result the host reads. Legitimate ones are prompts, tool arguments and submitted
# answers: text for a model or a report, far below this; the cap bounds what one step can make the host parse and keep.
MAX_VALUE_BYTES = 64 << 20
# The sandbox's own conversion stops at ``MAX_DEPTH`` levels; the frame's envelope (result -> submit -> args) adds 3.
MAX_JSON_DEPTH = MAX_DEPTH + 8
# Result notes beyond what the sandbox sends (it summarises after 20) and each note's length, for a tampered runner.
MAX_NOTES = 25
MAX_NOTE_CHARS = 2_000
MAX_ERROR_TYPE_CHARS = 200
# The sandbox keeps ``limit`` characters of a long text plus a "... [N characters omitted] ..." line between them.
MARKER_ROOM = 100

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_RESULT_TEXT = ("output", "value", "error", "error_type")
_RESULT_FIELDS = frozenset({*_RESULT_TEXT, "submit", "notes"})


class UntrustedValueError(ValueError):
    """A value from the sandbox does not fit its schema or limits; the message is written for the model."""


@dataclass
class CellResult:
    """A checked cell result (see ``deno._run``); ``submit`` is ``(args, kwargs)`` or None."""

    output: str
    value: str | None
    error: str | None
    error_type: str | None
    submit: tuple[list[Any], dict[str, Any]] | None
    notes: list[str]


def parse_json(payload: bytes, what: str) -> Any:
    """JSON from the sandbox, within the size and depth limits, with valid strings; or UntrustedValueError."""
    if len(payload) > MAX_VALUE_BYTES:
        raise UntrustedValueError(too_large(what, len(payload)))
    try:
        value = json.loads(payload)
    except RecursionError:
        raise UntrustedValueError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, TypeError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise UntrustedValueError(f"{what} is not valid JSON ({str(exc)[:200]})") from None
    except MemoryError:
        raise UntrustedValueError(f"{what} is too large to read") from None
    return _checked(value, what, bool(_SURROGATE_ESCAPE.search(payload)))


def too_large(what: str, size: int) -> str:
    return f"{what} is {size / 1e6:,.1f} MB, over the {MAX_VALUE_BYTES / 1e6:,.0f} MB limit"


def parse_call(payload: bytes) -> tuple[str, list[Any], dict[str, Any]]:
    """A tool call: ``{"tool": str, "args": list, "kwargs": dict}`` and nothing else."""
    data = parse_json(payload, "the tool call's arguments")
    if not isinstance(data, dict) or set(data) != {"tool", "args", "kwargs"}:
        raise UntrustedValueError("malformed tool call: expected an object with tool, args and kwargs")
    name, args, kwargs = data["tool"], data["args"], data["kwargs"]
    if not isinstance(name, str) or not isinstance(args, list) or not isinstance(kwargs, dict):
        raise UntrustedValueError("malformed tool call: tool must be a string, args a list and kwargs an object")
    return name, args, kwargs


def parse_result(payload: bytes, max_chars: int) -> CellResult:
    """A cell result as ``_inside.run_cell`` writes it; text fields capped at ``max_chars`` (head and tail kept) plus
    room for the marker the sandbox adds when it caps them itself."""
    max_chars += MARKER_ROOM
    data = parse_json(payload, "the cell's result")
    if not isinstance(data, dict):
        raise UntrustedValueError(f"malformed result: expected an object, got {_kind(data)}")
    extra = set(data) - _RESULT_FIELDS
    if extra or "output" not in data:
        raise UntrustedValueError(f"malformed result: fields {sorted(data)[:10]!r}"[:300])
    texts: dict[str, str | None] = {}
    for key in _RESULT_TEXT:
        item = data.get(key)
        if item is not None and not isinstance(item, str) or (key == "output" and item is None):
            raise UntrustedValueError(f"malformed result: {key} is {_kind(item)}")
        texts[key] = item
    submit = data.get("submit")
    if submit is not None:
        if (not isinstance(submit, dict) or set(submit) != {"args", "kwargs"} or not isinstance(submit["args"], list)
                or not isinstance(submit["kwargs"], dict)):
            raise UntrustedValueError("malformed result: submit must be an object with an args list and kwargs")
        submit = (submit["args"], submit["kwargs"])
    notes = data.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
        raise UntrustedValueError("malformed result: notes must be a list of strings")
    if len(notes) > MAX_NOTES:
        notes = [*notes[:MAX_NOTES], f"... and {len(notes) - MAX_NOTES} more notes"]
    error_type = texts["error_type"]
    return CellResult(
        output=cap(texts["output"] or "", max_chars),
        value=None if texts["value"] is None else cap(texts["value"], max_chars),
        error=None if texts["error"] is None else cap(texts["error"], max_chars),
        error_type=None if error_type is None else error_type[:MAX_ERROR_TYPE_CHARS],
        submit=submit,
        notes=[cap(note, MAX_NOTE_CHARS) for note in notes],
    )


def cap(text: str, limit: int) -> str:
    """Head and tail of ``text`` within ``limit`` characters, with the marker the sandbox itself uses."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - 2 * half:,} characters omitted] ...\n{text[-half:]}"


def _kind(value: Any) -> str:
    return "missing" if value is None else type(value).__name__


def _checked(value: Any, what: str, fix_text: bool) -> Any:
    """Check the depth without recursion; with ``fix_text``, replace lone surrogates in strings (keys too)."""
    if not isinstance(value, (dict, list)):
        return _text(value) if fix_text and isinstance(value, str) else value
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise UntrustedValueError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))
                elif fix_text and isinstance(item, str):
                    node[i] = _text(item)
        else:
            if fix_text and not all(key.isascii() for key in node):
                fixed = {_text(key): item for key, item in node.items()}
                node.clear()
                node.update(fixed)
            for key, item in node.items():
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))
                elif fix_text and isinstance(item, str):
                    node[key] = _text(item)
    return value


def _text(text: str) -> str:
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)  # after json.loads every surrogate left in a str is a lone one
