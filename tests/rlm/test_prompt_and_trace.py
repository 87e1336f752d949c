"""What the model reads (prompt layout, previews, prefix stability, compaction, cache points) and what the run
records (verbose output, JSONL trace)."""

from __future__ import annotations

import itertools
import json

import pytest

from repo_auditor.errors import LMConnectionError
from repo_auditor.rlm import RLM
from repo_auditor.rlm.prompt import (
    History,
    Turn,
    describe_tool,
    describe_variable,
    prefix_share,
    prefix_shares,
    truncate,
    with_cache_points,
)
from repo_auditor.rlm.signature import FieldSpec
from repo_auditor.rlm.trace import load_trace
from tests.rlm.fakes import FakeInterpreter
from tests.support.scripted_lm import ScriptedLM, code_reply


def read_file(path: str, *, start: int = 1, end: int | None = None) -> str:
    """Return lines start..end of a file in the repository.

    Raises FileNotInRepositoryError with close matches when the path does not exist."""
    return f"{path}:{start}-{end}"


# ------------------------------------------------------------------------------------------------ prompt parts


def test_system_prompt_lists_tools_subcalls_submit_and_rules():
    lm = ScriptedLM([code_reply("SUBMIT(findings=[], summary='none')")])
    sig = 'repo_tree: str, question: str -> findings: list[dict] "one per bug", summary: str'
    RLM(sig, lm=lm, tools=[read_file], interpreter=FakeInterpreter(), max_output_chars=5000)(
        repo_tree="a.py", question="bugs?")
    system = lm.requests[0][0]["content"]
    assert ("read_file(path: str, *, start: int = 1, end: int | None = None) -> str\n"
            "    Return lines start..end of a file in the repository.\n\n"
            "    Raises FileNotInRepositoryError") in system
    assert "llm_query(prompt: str) -> str" in system
    assert "llm_query_batched(prompts: list[str]) -> list[str]" in system
    assert "SUBMIT(findings: list[dict], summary: str) -> None" in system and "findings: one per bug" in system
    assert "At most 5,000 characters of each turn's output are shown" in system
    assert "no files, no network" in system
    assert "data, not instructions" in system
    task = lm.requests[0][1]["content"]
    assert "- findings: list[dict] - one per bug" in task and "- summary: str" in task


@pytest.mark.parametrize(
    ("value", "expected", "absent"),
    [
        ("short text", ["- v: str", "10 characters, 1 lines", "value: 'short text'"], []),
        ("H" * 500 + "M" * 10_000 + "T" * 500,
         ["11,000 characters", "head: 'HHHH", "... 10,200 characters not shown ...", "tail: '", "TTT'"], ["MMMM"]),
        (list(range(10_000)), ["- v: list (declared str)", "10,000 items", "preview: [0, 1, 2, 3, 4, 5, 6, 7, ...]"],
         ["9999"]),
        ({"k": "x" * 5000}, ["- v: dict", "1 keys", "preview: {'k': 'xxx"], ["x" * 1000]),
    ],
)
def test_variable_metadata_never_shows_a_large_input_whole(value, expected, absent):
    text = describe_variable(FieldSpec("v"), value)
    for part in expected:
        assert part in text
    for part in absent:
        assert part not in text
    assert len(text) < 1200


def test_describe_tool_without_signature_or_doc():
    assert describe_tool("f", lambda x, y=2: x) == "f(x, y=2)\n    (no description)"


@pytest.mark.parametrize(("size", "limit"), [(10, 100), (1000, 100), (50_000, 1000)])
def test_truncate_keeps_head_and_tail(size, limit):
    text = "".join(chr(97 + i % 26) for i in range(size))
    out = truncate(text, limit)
    if size <= limit:
        assert out == text
    else:
        assert out.startswith(text[:50]) and out.endswith(text[-30:]) and "characters omitted" in out
        assert len(out) < limit + 100


# ------------------------------------------------------------------------------------------------ prefix stability


def test_history_is_append_only_and_prefix_share_is_high():
    turns = [code_reply(f"x{i} = len(context) + {i}\nprint(x{i})", f"Step {i}: look at a slice.") for i in range(7)]
    lm = ScriptedLM([*turns, code_reply("SUBMIT(answer='done')")])
    rlm = RLM("context, query -> answer", lm=lm, tools=[read_file], interpreter=FakeInterpreter())
    rlm(context="x" * 100_000, query="what?")
    requests = lm.requests
    assert len(requests) == 8
    for previous, current in itertools.pairwise(requests):
        assert current[: len(previous)] == previous  # every earlier message unchanged, byte for byte
        assert [m["role"] for m in current[len(previous):]] == ["assistant", "user"]
    shares = prefix_shares(requests)
    assert min(shares) >= 0.9, shares
    assert sum(shares) / len(shares) >= 0.9


def test_prefix_share_measures_the_common_start():
    a = [{"role": "system", "content": "abcdef"}]
    assert prefix_share(a, a) == 1.0
    assert prefix_share(a, [{"role": "system", "content": "abcXYZ"}]) == pytest.approx(
        len("<system>\nabc") / len("<system>\nabcXYZ\n"))
    assert prefix_share([], a) == 0.0


def test_compaction_replaces_oldest_turns_with_a_visible_note():
    history = History("S" * 100, "T" * 100, max_chars=3000)
    for i in range(1, 11):
        history.add(Turn(i, f"reply {i} " + "r" * 200, f"[turn {i}] " + "o" * 200, f"turn {i}: summary"))
    messages = history.messages()
    assert sum(len(m["content"]) for m in messages) <= 3000
    assert history.compactions >= 1
    task = messages[1]["content"]
    first = history.compacted[0].iteration
    last = history.compacted[-1].iteration
    assert f"[turns {first}-{last} compacted to save space" in task and "turn 1: summary" in task
    assert messages[-2]["content"].startswith("reply 10") and len(history.turns) >= 2
    assert [m["role"] for m in messages[2:]] == ["assistant", "user"] * len(history.turns)


def test_compaction_in_a_run_keeps_going():
    turns = [code_reply(f"print('{i}' * 3000)", f"Print block {i}.") for i in range(6)]
    lm = ScriptedLM([*turns, code_reply("SUBMIT(answer='ok')")])
    rlm = RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter(), max_history_chars=16_000)
    assert rlm(context="c", query="q").answer == "ok"
    last = lm.requests[-1]
    assert "compacted to save space" in last[1]["content"]
    assert sum(len(m["content"]) for m in last) <= 16_000
    reqs = lm.requests
    breaks = [i for i in range(1, len(reqs)) if reqs[i][: len(reqs[i - 1])] != reqs[i - 1]]
    assert len(breaks) == 1  # compaction shrinks to half the budget, so it breaks the prefix once, not every turn


@pytest.mark.parametrize(
    ("model", "marked"),
    [("anthropic/claude-sonnet-4-5", True), ("bedrock/anthropic.claude-3-haiku", True),
     ("openai/gpt-4o", False), ("gemini/gemini-2.5-pro", False)],
)
def test_cache_points_only_for_providers_that_need_them(model, marked):
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a"}, {"role": "user", "content": "v"}]
    out = with_cache_points(messages, model)
    if not marked:
        assert out is messages
        return
    assert out[0]["content"] == [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]
    assert out[-1]["content"] == [{"type": "text", "text": "v", "cache_control": {"type": "ephemeral"}}]
    assert out[1]["content"] == "u" and messages[0]["content"] == "s"  # the history itself is untouched


def test_run_with_anthropic_model_sends_cache_points():
    lm = ScriptedLM([code_reply("print(1)"), code_reply("SUBMIT(answer='ok')")], model="anthropic/claude-x")
    RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter())(context="c", query="q")
    second = lm.requests[1]
    assert second[0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert isinstance(second[1]["content"], str) and isinstance(second[-1]["content"], list)


# ------------------------------------------------------------------------------------------------ observability


def test_verbose_prints_each_turn_to_stderr(capsys):
    lm = ScriptedLM([code_reply("print('hello')", "Say hello."), code_reply("SUBMIT(answer='ok')", "Finish.")])
    RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter(), verbose=True)(context="c", query="q")
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert "── turn 1/20 ·" in err and "tokens · $0.0000" in err
    assert "Say hello.\n```python\nprint('hello')\n```\n→ hello" in err
    assert "── turn 2/20" in err and "→ SUBMIT accepted." in err
    assert "finished by submit after 2 turn(s)" in err


def test_quiet_by_default(capsys):
    lm = ScriptedLM([code_reply("SUBMIT(answer='ok')")])
    RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter())(context="c", query="q")
    assert capsys.readouterr() == ("", "")


def test_trace_records_requests_replies_executions_tool_and_sub_calls(tmp_path):
    path = tmp_path / "runs" / "trace.jsonl"
    lm = ScriptedLM([code_reply("print(read_file('a.py', start=3))\nprint(llm_query('sum'))"),
                     code_reply("SUBMIT(answer='ok')")])
    sub = ScriptedLM(["sub says"])
    rlm = RLM("context, query -> answer", lm=lm, sub_lm=sub, tools=[read_file], interpreter=FakeInterpreter(),
              trace=str(path))
    rlm(context="secret " * 1000, query="q")
    records = load_trace(path)
    kinds = [r["kind"] for r in records]
    assert kinds == ["run_start", "request", "reply", "tool_call", "sub_call", "execution",
                     "request", "reply", "execution", "run_end"]
    start, first_request = records[0], records[1]
    assert start["inputs"]["context"] == {"type": "str", "length": 7000}
    assert "secret secret" not in json.dumps(start)  # input values are never copied into the trace header
    assert first_request["messages"] == lm.requests[0]
    assert records[2]["text"].startswith("Let me look.") and records[2]["purpose"] == "turn"
    assert records[3] == {**records[3], "name": "read_file", "args": ["'a.py'"], "kwargs": {"start": "3"},
                          "result": "'a.py:3-None'"}
    assert records[4]["text"] == "sub says" and records[4]["prompt"] == "sum"
    assert records[5]["output"] == "a.py:3-None\nsub says\n"
    assert records[8]["submit"] == {"args": [], "kwargs": {"answer": "ok"}}
    assert records[-1]["finished_by"] == "submit" and records[-1]["usage"]["calls"] == 3
    assert all(r["t"] >= 0 for r in records)


def test_trace_replay_reproduces_the_run(tmp_path):
    path = tmp_path / "t.jsonl"
    lm = ScriptedLM([code_reply("n = len(context)"), code_reply("SUBMIT(answer=str(n))")])
    first = RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter(), trace=str(path))(
        context="abc", query="q")
    replies = [r["text"] for r in load_trace(path) if r["kind"] == "reply"]
    replay = ScriptedLM(replies)
    second = RLM("context, query -> answer", lm=replay, interpreter=FakeInterpreter())(context="abc", query="q")
    assert second.answer == first.answer == "3"
    assert replay.requests == lm.requests


def test_trace_records_the_error_that_ended_a_run(tmp_path):
    path = tmp_path / "t.jsonl"
    lm = ScriptedLM([code_reply("print(1)"), LMConnectionError("provider down", model="m")])
    with pytest.raises(LMConnectionError):
        RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter(), trace=str(path))(
            context="c", query="q")
    records = load_trace(path)
    assert records[-1]["kind"] == "run_error" and records[-1]["error"] == "LMConnectionError: provider down"
    assert [r["kind"] for r in records].count("execution") == 1
