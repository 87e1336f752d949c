"""Pure-Python parts of the sandbox, no Deno needed: value conversion, framing, tool specs, names."""

from __future__ import annotations

import json
import math
import os
import struct

import pytest

from repo_auditor.errors import ConfigurationError
from repo_auditor.sandbox import bridge, wire
from repo_auditor.sandbox.values import to_plain


class Opaque:
    def __repr__(self) -> str:
        return "Opaque()"


class HostileRepr:
    def __repr__(self) -> str:
        raise RuntimeError("boom")


cyclic: list[object] = []
cyclic.append(cyclic)


@pytest.mark.parametrize(
    ("value", "expected", "noted"),
    [
        ({1, 3, 2}, [1, 2, 3], False),
        ((1, (2, 3)), [1, [2, 3]], False),
        (frozenset({"b", "a"}), ["a", "b"], False),
        ({1, "a"}, None, False),  # unsortable: still a list, any order
        (b"caf\xc3\xa9", "café", True),
        ({1: "x", None: "y"}, {"1": "x", "None": "y"}, True),
        (2**200, 2**200, False),
        (Opaque(), "Opaque()", True),
        (cyclic, ["<cycle>"], True),
        (True, True, False),
    ],
)
def test_to_plain(value: object, expected: object, noted: bool) -> None:
    notes: list[str] = []
    out = to_plain(value, notes)
    if expected is None:
        assert sorted(map(str, out)) == ["1", "a"]
    else:
        assert out == expected
    assert bool(notes) == noted
    json.dumps(out)  # always encodable


def test_to_plain_edge_values() -> None:
    notes: list[str] = []
    out = to_plain({"nan": float("nan"), "inf": float("-inf"), "huge": 10**5000, "bad": HostileRepr()}, notes)
    assert math.isnan(out["nan"]) and out["inf"] == float("-inf")
    assert out["huge"].startswith("<int with ")
    assert "repr failed" in out["bad"]
    deep: list[object] = []
    node = deep
    for _ in range(200):
        node.append([])
        node = node[0]  # type: ignore[assignment]
    assert "<too deep>" in json.dumps(to_plain(deep))


def test_frame_reader_accepts_token_and_rejects_forgery() -> None:
    token = os.urandom(wire.TOKEN_BYTES)
    r, w = os.pipe()
    try:
        body = b'{"op": "ready"}'
        os.write(w, token + struct.pack("<II", len(body), 3) + body + b"abc")
        reader = wire.FrameReader(r, token)
        assert reader.read(None) == ({"op": "ready"}, b"abc")
        os.write(w, b"\x00" * wire.TOKEN_BYTES + struct.pack("<II", len(body), 0) + body)
        with pytest.raises(wire.ForgedFrameError):
            reader.read(None)
    finally:
        os.close(r)
        os.close(w)


def test_frame_reader_deadline_and_close() -> None:
    r, w = os.pipe()
    reader = wire.FrameReader(r, b"t" * wire.TOKEN_BYTES)
    with pytest.raises(wire.DeadlineError):
        reader.read(0.0)
    os.close(w)
    with pytest.raises(wire.ChannelClosedError):
        reader.read(None)
    os.close(r)


def test_tool_spec_describes_signature() -> None:
    def grep(pattern: str, *paths: str, limit: int = 50, flags: object = Opaque()) -> list[str]:
        """Search the repository."""
        return []

    spec = json.loads(bridge.tool_spec("grep", grep))
    assert spec["doc"] == "Search the repository."
    assert [(p["name"], p["kind"], p.get("default")) for p in spec["params"]] == [
        ("pattern", "POSITIONAL_OR_KEYWORD", None),
        ("paths", "VAR_POSITIONAL", None),
        ("limit", "KEYWORD_ONLY", "50"),
        ("flags", "KEYWORD_ONLY", "Opaque()"),
    ]
    assert spec["returns"] == "list[str]"


def test_call_tool_reports_exceptions_and_malformed_calls() -> None:
    def boom(x: int) -> int:
        raise KeyError(x)

    reply = json.loads(bridge.call_tool({"boom": boom}, b'{"tool": "boom", "args": [1], "kwargs": {}}'))
    assert reply == {"ok": False, "type": "KeyError", "message": "1"}
    reply = json.loads(bridge.call_tool({"boom": boom}, b'{"tool": "nope", "args": [], "kwargs": {}}'))
    assert reply["ok"] is False and "malformed tool call" in reply["message"]


@pytest.mark.parametrize("name", ["1abc", "with space", "class", "SUBMIT", "_ra_x", ""])
def test_bad_names_are_rejected(name: str) -> None:
    with pytest.raises(ConfigurationError):
        bridge.check_name(name, "tool")


def test_deno_interpreter_implements_the_protocol() -> None:
    from repo_auditor.sandbox import DenoInterpreter, Interpreter

    interp = DenoInterpreter()  # nothing starts until start() or execute()
    assert isinstance(interp, Interpreter)
    assert interp.pid is None
    interp.shutdown()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"timeout": 0}, "timeout"), ({"max_output_chars": 10}, "max_output_chars"), ({"max_memory_mb": 1}, "max_memory")],
)
def test_bad_limits_are_rejected(kwargs: dict[str, int], message: str) -> None:
    from repo_auditor.sandbox import DenoInterpreter

    with pytest.raises(ConfigurationError, match=message):
        DenoInterpreter(**kwargs)
