"""Pure-Python parts of the sandbox, no Deno needed: value conversion, framing, tool specs, names."""

from __future__ import annotations

import json
import math
import os
import struct
import threading
import time

import pytest

from repo_auditor.errors import ConfigurationError
from repo_auditor.sandbox import bridge, untrusted, wire
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


def frame(token: bytes, header: dict[str, object] | bytes, payload: bytes = b"") -> bytes:
    body = header if isinstance(header, bytes) else json.dumps(header).encode()
    return token + struct.pack("<II", len(body), len(payload)) + body + payload


def test_frame_reader_accepts_token_and_rejects_forgery() -> None:
    token = os.urandom(wire.TOKEN_BYTES)
    r, w = os.pipe()
    try:
        reader = wire.FrameReader(r, token)
        os.write(w, frame(token, {"op": "ready", "n": 1, "re": 0}, b"abc"))
        assert reader.read(None) == ({"op": "ready", "n": 1, "re": 0}, b"abc")
        os.write(w, frame(b"\x00" * wire.TOKEN_BYTES, {"op": "ready", "n": 2, "re": 0}))
        with pytest.raises(wire.ForgedFrameError):
            reader.read(None)
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("header", [
    {"op": "result", "n": 1, "re": 1},  # a second frame 1: replayed or inserted
    {"op": "result", "n": 3, "re": 1},  # a frame skipped
    {"op": "result", "re": 1},
    {"op": "result", "n": "2", "re": 1},
    {"op": "nonsense", "n": 2, "re": 1},
    {"op": ["result"], "n": 2, "re": 1},
    [1, 2],
    b"[" * 100_000 + b"]" * 100_000,
    b"not json",
])
def test_frame_reader_rejects_frames_out_of_sequence_or_malformed(header: object) -> None:
    token = os.urandom(wire.TOKEN_BYTES)
    r, w = os.pipe()
    try:
        reader = wire.FrameReader(r, token)
        os.write(w, frame(token, {"op": "ready", "n": 1, "re": 0}))
        reader.read(None)
        data = frame(token, header)  # type: ignore[arg-type]
        threading.Thread(target=os.write, args=(w, data), daemon=True).start()
        with pytest.raises(wire.ForgedFrameError):
            reader.read(time.monotonic() + 5)
    finally:
        os.close(r)
        os.close(w)


def test_frame_reader_drops_an_oversized_payload_and_stays_in_step() -> None:
    token = os.urandom(wire.TOKEN_BYTES)
    r, w = os.pipe()
    try:
        reader = wire.FrameReader(r, token)
        data = frame(token, {"op": "call", "n": 1, "re": 4}, b"x" * 300_000) + frame(token, {"op": "result", "n": 2,
                                                                                           "re": 4}, b"{}")
        threading.Thread(target=os.write, args=(w, data), daemon=True).start()
        with pytest.raises(wire.OversizedPayloadError) as caught:
            reader.read(time.monotonic() + 5, max_payload=1000)
        assert caught.value.size == 300_000 and caught.value.msg["op"] == "call"
        assert reader.read(time.monotonic() + 5, max_payload=1000) == ({"op": "result", "n": 2, "re": 4}, b"{}")
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


def test_call_tool_reports_exceptions_and_unknown_tools() -> None:
    def boom(x: int) -> int:
        raise KeyError(x)

    reply = json.loads(bridge.call_tool({"boom": boom}, "boom", [1], {}))
    assert reply == {"ok": False, "type": "KeyError", "message": "1"}
    reply = json.loads(bridge.call_tool({"boom": boom}, "nope", [], {}))
    assert reply["ok"] is False and "no tool 'nope'" in reply["message"]
    reply = json.loads(bridge.call_tool({"boom": boom}, "boom", [], {"y": 1}))
    assert reply["ok"] is False and reply["type"] == "TypeError"
    assert json.loads(bridge.call_tool({"name": lambda: "caf\udce9"}, "name", [], {}))["ok"]  # no UnicodeEncodeError


@pytest.mark.parametrize(("payload", "message"), [
    (b"[" * 200_000 + b"]" * 200_000, "deeper"),
    (b'{"tool": "t", "args": ' + b"[" * 80 + b"]" * 80 + b', "kwargs": {}}', "deeper"),
    (b"\xff\xfe garbage", "not valid JSON"),
    (b"[1]", "malformed"),
    (b'{"tool": "t", "args": [], "kwargs": {}, "more": 1}', "malformed"),
    (b'{"tool": 1, "args": [], "kwargs": {}}', "malformed"),
    (b'{"tool": "t", "args": 1e999999999, "kwargs": {}}', "malformed"),
    (b'{"tool": "t", "args": [' + b"1" * 5000 + b'], "kwargs": {}}', "not valid JSON"),
])
def test_untrusted_tool_calls_never_raise_anything_else(payload: bytes, message: str) -> None:
    with pytest.raises(untrusted.UntrustedValueError, match=message):
        untrusted.parse_call(payload)


def test_untrusted_result_is_typed_capped_and_valid_utf8() -> None:
    payload = json.dumps({"output": "o" * 500, "value": "\ud800", "error": None, "error_type": None,
                          "submit": {"args": ["a\udfffb", {"k\ud800": ["\udc00"]}], "kwargs": {}},
                          "notes": ["n"] * 40}).encode()
    data = untrusted.parse_result(payload, 100)
    assert len(data.output) < 100 + untrusted.MARKER_ROOM + 50 and "characters omitted" in data.output
    assert data.value == "\ufffd"
    json.dumps(data.submit, ensure_ascii=False).encode("utf-8")
    assert len(data.notes) == untrusted.MAX_NOTES + 1
    with pytest.raises(untrusted.UntrustedValueError):
        untrusted.parse_result(b'{"output": "", "value": 5}', 100)


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
