"""Hostile model code against the host (issue 11): whatever comes out of the sandbox is checked, the session token
stays inside the runner, deadlines hold against loops of tool calls, and the standard library's randomness works.

Each test here reproduced a failure before the fix: the host raised, the token leaked, a rewritten frame was taken for
a real one, a cell ran for minutes past its limit, or ``os.urandom`` crashed the runtime.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from repo_auditor.sandbox import DenoInterpreter, ExecutionResult


class RunawayError(BaseException):
    """Raised by a test tool when a cell keeps running long past its limit, so a regression fails instead of hanging."""


@pytest.fixture()
def fresh(runtime_ready: None, tools: dict[str, Any]) -> Iterator[DenoInterpreter]:
    with DenoInterpreter(tools=tools, variables={"given": [1, 2]}, timeout=30) as interp:
        interp.start()
        yield interp


def assert_well_formed(result: ExecutionResult) -> None:
    """What the RLM loop relies on: every field has its type, whatever the code did."""
    assert isinstance(result.output, str)
    assert result.value is None or isinstance(result.value, str)
    assert result.error is None or isinstance(result.error, str)
    assert result.error_type is None or isinstance(result.error_type, str)
    assert all(isinstance(note, str) for note in result.notes)
    if result.submit is not None:
        assert isinstance(result.submit.args, list) and isinstance(result.submit.kwargs, dict)


def assert_fresh_and_usable(interp: DenoInterpreter) -> None:
    after = interp.execute("given, echo(1)['args']")
    assert after.value == "([1, 2], [1])", after


# ---------------------------------------------------------------- 1. values out of the sandbox are untrusted


@pytest.mark.parametrize("poison", [
    "5",  # run_cell fails inside: reported as a crash
    "{'args': 5, 'kwargs': {}, 'notes': []}",  # reached the host: TypeError 'int' object is not iterable
    "{'args': [], 'kwargs': [], 'notes': 7}",
])
def test_poisoned_submission_list_is_an_observation(fresh: DenoInterpreter, poison: str) -> None:
    result = fresh.execute(f"import _ra_inside\n_ra_inside._submitted.append({poison})\n"
                           "raise _ra_inside._SubmitSignal()")
    assert_well_formed(result)
    assert result.submit is None
    assert result.error_type in ("SandboxError", "SandboxCrashedError")
    assert result.state_lost
    assert_fresh_and_usable(fresh)


def test_replaced_capture_renderer_is_an_observation(fresh: DenoInterpreter) -> None:
    result = fresh.execute("import _ra_inside\n_ra_inside._Capture.render = lambda self: 5\nprint('hi')")
    assert_well_formed(result)  # the host used to keep output=5 and the loop failed on it
    assert result.error_type == "SandboxError" and "malformed" in result.error
    assert result.state_lost
    assert_fresh_and_usable(fresh)


def test_replacing_json_dumps_for_own_use_does_not_break_the_runner(fresh: DenoInterpreter) -> None:
    result = fresh.execute("import json\n_dumps = json.dumps\njson.dumps = lambda *a, **k: '[1]'\n'set'")
    assert_well_formed(result)
    assert result.value == "'set'" and not result.state_lost
    result = fresh.execute("SUBMIT(answer={'k': [1, 2]})")
    assert result.submit is not None and result.submit.kwargs == {"answer": {"k": [1, 2]}}
    assert fresh.execute("json.dumps = _dumps\njson.dumps({'a': 1})").value == "'{\"a\": 1}'"


@pytest.mark.parametrize("returned", [
    "'[1]'",  # the host used to call .get on a list (AttributeError)
    "'not json at all'",
    "'{\"output\": 5}'",
    "'{\"output\": \"\", \"submit\": {\"args\": 5, \"kwargs\": {}}}'",
    "'{\"output\": \"\", \"surprise\": 1}'",
    "'[' * 200_000 + ']' * 200_000",  # RecursionError on the host
    "'{\"output\": \"\", \"submit\": {\"args\": ' + '[' * 500 + ']' * 500 + ', \"kwargs\": {}}}'",
    "'\"' + 'x' * 10 + '\"'",
])
def test_runner_that_returns_garbage_is_restarted(fresh: DenoInterpreter, returned: str) -> None:
    tamper = fresh.execute(f"import _ra_inside\n_ra_inside.run_cell.__code__ = (lambda code, limit, timeout: "
                           f"{returned}).__code__")
    assert tamper.error is None, tamper.error
    result = fresh.execute("1")  # now the runner answers with whatever the code chose
    assert_well_formed(result)
    assert result.error_type == "SandboxError"
    assert result.state_lost and any("restarted" in note for note in result.notes)
    assert_fresh_and_usable(fresh)


def test_lone_surrogates_from_the_sandbox_cannot_break_utf8_on_the_host(fresh: DenoInterpreter) -> None:
    result = fresh.execute("import _ra_inside\n_ra_inside._host_call('{\"tool\": \"echo\", \"args\": "
                           "[\"\\\\ud800\"], \"kwargs\": {}}')")
    assert result.error is None, result.error
    result = fresh.execute("SUBMIT('a\\ud800b', {'k\\udfff': 1})")
    assert result.submit is not None
    for text in (*result.submit.args[:1], *result.submit.args[1]):
        text.encode("utf-8")  # would raise UnicodeEncodeError when the report is written
    result.output.encode("utf-8")


def test_two_hundred_thousand_deep_tool_argument_is_a_python_error_inside(fresh: DenoInterpreter) -> None:
    deep = "'{\"tool\": \"echo\", \"args\": [' + '[' * 200_000 + ']' * 200_000 + '], \"kwargs\": {}}'"
    result = fresh.execute(f"import _ra_inside, json\nreply = json.loads(_ra_inside._host_call({deep}))\n"
                           "reply['ok'], reply['type'], 'deeper' in reply['message']")
    assert result.error is None, result.error  # the host used to die with RecursionError
    assert result.value == "(False, 'ValueError', True)" and not result.state_lost
    result = fresh.execute("deep = []\nfor _ in range(200_000):\n    deep = [deep]\n'too deep' in str(echo(deep))")
    assert result.value == "True", result  # the sandbox's own conversion stops at 50


@pytest.mark.parametrize("payload", ["'[1, 2]'", "'{\"tool\": 5, \"args\": [], \"kwargs\": {}}'",
                                     "'{\"tool\": \"echo\", \"args\": {}, \"kwargs\": []}'", "'nonsense'",
                                     "'{\"tool\": \"echo\", \"args\": [], \"kwargs\": {}, \"x\": 1}'"])
def test_malformed_tool_calls_are_python_errors_inside(fresh: DenoInterpreter, payload: str) -> None:
    result = fresh.execute(f"import _ra_inside, json\nreply = json.loads(_ra_inside._host_call({payload}))\n"
                           "reply['ok'], reply['type']")
    assert result.error is None, result.error
    assert result.value == "(False, 'ValueError')"
    assert not result.state_lost


def test_oversized_tool_argument_is_refused_and_the_session_continues(fresh: DenoInterpreter,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from repo_auditor.sandbox import untrusted

    monkeypatch.setattr(untrusted, "MAX_VALUE_BYTES", 1 << 20)
    result = fresh.execute("try:\n    echo('x' * (2 << 20))\nexcept ValueError as exc:\n    print(exc)\n"
                           "echo('small')['args']")
    assert result.error is None, result.error
    assert "MB" in result.output and "limit" in result.output
    assert result.value == "['small']"
    result = fresh.execute("SUBMIT('y' * (2 << 20))")
    assert_well_formed(result)
    assert result.submit is None and result.error_type == "ValueError" and "limit" in result.error
    assert not result.state_lost
    assert fresh.execute("given").value == "[1, 2]"


# ---------------------------------------------------------------- 2. the token and the frames stay the runner's

STEAL = r"""
(() => {
  const seen = globalThis.__seen = [];
  const TA = Object.getPrototypeOf(Uint8Array.prototype);
  const origSet = TA.set, origSub = TA.subarray, origSlice = TA.slice;
  const lenGet = Object.getOwnPropertyDescriptor(TA, 'length').get;
  const bufGet = Object.getOwnPropertyDescriptor(TA, 'buffer').get;
  const abLen = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  const grab = (x) => {
    try {
      const b = ArrayBuffer.isView(x) ? bufGet.call(x) : x;
      if (seen.length < 5000 && abLen.call(b) < (1 << 20)) seen.push(origSlice.call(new Uint8Array(b)));
    } catch (e) {}
  };
  TA.set = function (src, off) { grab(this); if (ArrayBuffer.isView(src)) grab(src); return origSet.call(this, src, off); };
  TA.subarray = function (a, b) { grab(this); return origSub.call(this, a, b); };
  Object.defineProperty(TA, 'length', { get() { grab(this); return lenGet.call(this); }, configurable: true });
  const origEncode = TextEncoder.prototype.encode;
  TextEncoder.prototype.encode = function (s) { const out = origEncode.call(this, s); grab(out); return out; };
  const origSetU32 = DataView.prototype.setUint32;
  const dvBuf = Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer').get;
  DataView.prototype.setUint32 = function (...a) { grab(dvBuf.call(this)); return origSetU32.apply(this, a); };
  const origDecode = TextDecoder.prototype.decode;
  TextDecoder.prototype.decode = function (x, o) { if (x) grab(x); return origDecode.call(this, x, o); };
  return 'hooked';
})()
"""


def test_prototype_hooks_never_see_the_session_token(fresh: DenoInterpreter) -> None:
    token = fresh._reader._token  # type: ignore[union-attr]
    result = fresh.execute(f"import js\nprint(js.eval({STEAL!r}))\necho('a call frame')\nprint('more output')")
    assert result.error is None, result.error
    assert "hooked" in result.output
    result = fresh.execute(f"import js\ntoken = bytes.fromhex({token.hex()!r})\n"
                           "grabbed = [bytes(a.to_py()) for a in js.__seen]\n"
                           "len(grabbed) > 0, any(token in g for g in grabbed)")
    assert result.value == "(True, False)", result
    assert fresh.execute("echo(2)['args']").value == "[2]"


REWRITES = {
    "JSON.stringify": r"""(() => { const orig = JSON.stringify;
        JSON.stringify = function (v, ...r) { if (v && v.op === 'call') v = { op: 'result' }; return orig.call(this, v, ...r); };
        return 'hooked'; })()""",
    "TextEncoder.encode": r"""(() => { const orig = TextEncoder.prototype.encode;
        TextEncoder.prototype.encode = function (s) {
          if (typeof s === 'string') s = s.replace('{"op":"call"', '{"op":"result"');
          return orig.call(this, s); };
        return 'hooked'; })()""",
    "Uint8Array.set": r"""(() => { const TA = Object.getPrototypeOf(Uint8Array.prototype); const orig = TA.set;
        const needle = Array.from(new TextEncoder().encode('"op":"call"'));
        TA.set = function (src, off) {
          const r = orig.call(this, src, off);
          try {
            if (this.length < 4096) for (let i = 0; i + needle.length <= this.length; i++) {
              if (needle.every((b, j) => this[i + j] === b)) { orig.call(this, new TextEncoder().encode('"op":"done"'), i); }
            }
          } catch (e) {}
          return r; };
        return 'hooked'; })()""",
    "Object.prototype setter": r"""(() => {
        Object.defineProperty(Object.prototype, 'op', { set(v) { Object.defineProperty(this, 'op', {
          value: v === 'call' ? 'result' : v, enumerable: true, writable: true, configurable: true }); },
          configurable: true });
        return 'hooked'; })()""",
}


@pytest.mark.parametrize("hook", list(REWRITES))
def test_rewritten_frames_are_not_taken_for_real_ones(fresh: DenoInterpreter, hook: str) -> None:
    result = fresh.execute(f"import js\nprint(js.eval({REWRITES[hook]!r}))\nprint(echo('through')['args'])\n'end'")
    assert_well_formed(result)
    if result.error is None:  # the hook had no effect on the runner
        assert result.output == "hooked\n['through']\n" and result.value == "'end'"
    else:  # it broke the sandbox's own JavaScript: a restart, never a forged result
        assert result.state_lost
    following = fresh.execute("40 + 2")
    assert following.value == "42" and following.error is None, following  # never a stale answer
    assert fresh.execute("'next'").value == "'next'"


# ---------------------------------------------------------------- 3. deadlines that hold


STUBBORN_TOOL_LOOP = """
while True:
    try:
        while True:
            try:
                while True:
                    try:
                        tick()
                    except BaseException:
                        pass
            except BaseException:
                pass
    except BaseException:
        pass
"""


def test_tool_call_loop_swallowing_interrupts_cannot_outlast_the_limit(runtime_ready: None) -> None:
    calls: list[float] = []
    t0 = time.monotonic()

    def tick() -> int:
        """Count the call."""
        calls.append(time.monotonic())
        if time.monotonic() - t0 > 40:
            raise RunawayError("the cell ran 40 s against a 1 s limit")
        return 1

    with DenoInterpreter(tools={"tick": tick}, timeout=30, grace=1) as interp:
        interp.start()
        interp.execute("kept = 1")
        t0 = time.monotonic()
        result = interp.execute(STUBBORN_TOOL_LOOP, timeout=1)
        took = time.monotonic() - t0 - (interp.last_start_seconds or 0 if result.state_lost else 0)  # not the restart
    assert result.error_type == "TimeoutError"
    # it used to run until the interrupt happened to land outside every try: 30-90 s (bounds leave room for a
    # loaded machine: limit 1 s + grace 1 s, typically 2.1 s)
    assert took < 8, took
    assert calls and max(calls) - t0 < 4  # tools are refused once the limit has passed (else: calls until 30 s)


def test_tool_in_flight_at_the_limit_finishes_and_state_is_kept(runtime_ready: None) -> None:
    def slow(seconds: float) -> str:
        """Sleep, then answer."""
        time.sleep(seconds)
        return "slept"

    with DenoInterpreter(tools={"slow": slow}, timeout=30, grace=1) as interp:
        interp.execute("kept = 'yes'")
        result = interp.execute("r = slow(2.5)\nwhile True:\n    pass", timeout=1)
        assert result.error_type == "TimeoutError" and not result.state_lost
        assert interp.execute("kept").value == "'yes'"  # (the interrupt may land before `r` is assigned)
        t0 = time.monotonic()
        interp.overrun_cap = 0.5  # a tool may not stretch the hard deadline past timeout + grace + 0.5 s
        result = interp.execute("r2 = slow(4)\n'done'", timeout=1)
        assert result.error_type == "TimeoutError" and result.state_lost
        assert time.monotonic() - t0 - (interp.last_start_seconds or 0) < 4 + 1.5  # the restart itself not counted


# ---------------------------------------------------------------- 4. randomness and temp files


def test_standard_library_randomness_and_temp_files(fresh: DenoInterpreter) -> None:
    code = (
        "import os, uuid, secrets, random, tempfile\n"
        "a, b = os.urandom(16), os.urandom(16)\n"
        "u = uuid.uuid4()\n"
        "random.seed()\n"
        "fd, path = tempfile.mkstemp(suffix='.txt')\n"
        "os.write(fd, b'temp data'); os.close(fd)\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        "    open(os.path.join(d, 'f'), 'w').write('x')\n"
        "    listed = os.listdir(d)\n"
        "big = os.urandom(200_000)\n"
        "(len(a), a != b, u.version, len(secrets.token_hex()), 0 <= random.random() < 1,\n"
        " 0 <= random.SystemRandom().random() < 1, open(path).read(), listed, len(set(big)) > 200)"
    )
    result = fresh.execute(code)
    assert result.error is None, result.error
    assert result.value == "(16, True, 4, 64, True, True, 'temp data', ['f'], True)"
    assert not result.state_lost
    gone = fresh.execute("import js\n[str(js.eval('typeof ' + n)) for n in ('Deno', 'process', 'require')]")
    assert gone.value == "['undefined', 'undefined', 'undefined']"


def test_each_session_has_its_own_random_sequence(runtime_ready: None) -> None:
    values = []
    for _ in range(2):
        with DenoInterpreter() as interp:
            values.append(interp.execute("import random, uuid\nrandom.random(), str(uuid.uuid4())").value)
    assert values[0] != values[1]
