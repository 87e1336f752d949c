"""Every run budget, and the sub-calls (llm_query, llm_query_batched) that draw on them."""

from __future__ import annotations

import time

import pytest

from repo_auditor.errors import LMConnectionError
from repo_auditor.rlm import RLM
from tests.rlm.fakes import Concurrency, FakeInterpreter
from tests.support.scripted_lm import ScriptedLM, ScriptedReply, code_reply

FENCE = "```"


def make(replies, sub_replies=(), sig="context, query -> answer", **kwargs):
    lm = ScriptedLM(replies)
    sub = ScriptedLM(sub_replies, model="scripted/sub")
    rlm = RLM(sig, lm=lm, sub_lm=sub, interpreter=FakeInterpreter(), **kwargs)
    return rlm, lm, sub


# ------------------------------------------------------------------------------------------------ sub-calls


def test_llm_query_uses_sub_lm_and_counts_usage():
    rlm, _, sub = make([code_reply("a = llm_query('Summarize: ' + context)\nSUBMIT(answer=a)")],
                        [ScriptedReply("short", cost=0.01, prompt_tokens=10, completion_tokens=2)])
    result = rlm(context="long text", query="q")
    assert result.answer == "short"
    assert sub.requests == [[{"role": "user", "content": "Summarize: long text"}]]
    assert (result.sub_calls, result.sub_usage.calls, result.sub_usage.cost) == (1, 1, 0.01)
    assert result.usage.calls == 2 and result.trajectory[0].sub_calls == 1
    assert result.trajectory[0].cost == pytest.approx(0.01)


def test_sub_calls_default_to_the_root_model():
    lm = ScriptedLM([code_reply("SUBMIT(answer=llm_query('hi'))"), "from root"])
    rlm = RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter())
    assert rlm(context="c", query="q").answer == "from root"


def test_batched_keeps_order_under_concurrency():
    meter = Concurrency()

    def echo(messages):
        prompt = messages[-1]["content"]
        with meter:
            time.sleep(0.05 if prompt.endswith("0") else 0.01)  # early items finish last
        return prompt.upper()

    prompts = [f"p{i}" for i in range(10)]
    rlm, _, _ = make([code_reply(f"r = llm_query_batched({prompts!r})\nSUBMIT(answer=','.join(r))")],
                       [echo] * 10, max_workers=4)
    result = rlm(context="c", query="q")
    assert result.answer == ",".join(p.upper() for p in prompts)
    assert result.sub_calls == 10 and result.trajectory[0].sub_calls == 10
    assert 2 <= meter.peak <= 4


def test_batched_failed_item_is_an_error_string_in_its_slot():
    def by_prompt(messages):
        if messages[-1]["content"] == "bad":
            raise LMConnectionError("timed out", model="sub")
        return "ok:" + messages[-1]["content"]

    rlm, _, _ = make([code_reply("SUBMIT(answer='|'.join(llm_query_batched(['a', 'bad', 'c'])))")],
                     [by_prompt] * 3)
    answer = rlm(context="c", query="q").answer.split("|")
    assert answer[0] == "ok:a" and answer[2] == "ok:c"
    assert answer[1] == "[llm_query error: LMConnectionError: timed out]"


def test_single_sub_call_error_is_a_string():
    rlm, _, _ = make([code_reply("SUBMIT(answer=llm_query('x'))")], [LMConnectionError("down", model="s")])
    assert rlm(context="c", query="q").answer.startswith("[llm_query error: LMConnectionError: down")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("llm_query(['a'])", "TypeError: llm_query takes one str prompt, got list"),
        ("llm_query('  ')", "ValueError: llm_query got an empty prompt"),
        ("llm_query_batched('abc')", "TypeError: llm_query_batched takes a list of str prompts, got str"),
        ("llm_query_batched(['a', 3])", "prompts[1] is int, not str"),
    ],
)
def test_sub_call_misuse_is_explained(code, message):
    rlm, lm, sub = make([code_reply(code), code_reply("SUBMIT(answer='x')")])
    rlm(context="c", query="q")
    assert message in lm.requests[1][-1]["content"]
    assert sub.requests == []


def test_max_llm_calls_refusal_is_catchable_and_tells_model_to_aggregate():
    code = """
    try:
        llm_query_batched(['a', 'b', 'c'])
    except Exception as exc:
        print(type(exc).__name__, exc)
    print(llm_query('one'), llm_query('two'))
    try:
        llm_query('three')
    except Exception as exc:
        print(type(exc).__name__, exc)
    """
    rlm, lm, sub = make([code_reply(code), code_reply("SUBMIT(answer='done')")], ["1", "2"], max_llm_calls=2)
    result = rlm(context="c", query="q")
    seen = lm.requests[1][-1]["content"]
    assert "BudgetExceededError llm_query_batched refused: it needs 3 sub-calls but only 2 of 2 are left" in seen
    assert "1 2" in seen
    assert "llm_query refused: all 2 sub-calls of this run are used" in seen
    assert "aggregate the answers you already have in Python and SUBMIT" in seen
    assert len(sub.requests) == 2 and result.finished_by == "submit" and result.sub_calls == 2


def test_max_llm_calls_ends_run_after_grace_turns():
    spam = [code_reply(f"try:\n    llm_query('x{i}')\nexcept Exception as e:\n    print(e)") for i in range(4)]
    rlm, lm, _ = make([*spam, '{"answer": "partial"}'], ["first"], max_llm_calls=1)
    result = rlm(context="c", query="q")
    assert (result.finished_by, result.extracted, result.answer) == ("max_llm_calls", True, "partial")
    assert result.iterations == 4  # refused in turn 2, then two grace turns (3 and 4)
    assert "the sub-call budget (1) is used up" in lm.requests[-1][-1]["content"]


def test_budget_line_ends_each_user_message_and_counts_down():
    rlm, lm, _ = make([code_reply("llm_query('a')"), code_reply("SUBMIT(answer='x')")], ["s"],
                      max_iterations=5, max_llm_calls=3, max_cost=1.0, max_tokens=100_000, max_time=600)
    rlm(context="c", query="q")
    first, second = lm.requests[0][-1]["content"], lm.requests[1][-1]["content"]
    assert first.endswith("]") and first.splitlines()[-1].startswith("[Budget: turn 1 of 5; sub-calls left 3 of 3; "
                                                                     "cost left $1.0000 of $1.00; tokens left")
    assert "time left" in first.splitlines()[-1]
    assert second.splitlines()[-1].startswith("[Budget: turn 2 of 5; sub-calls left 2 of 3")


# ------------------------------------------------------------------------------------------------ run budgets


def test_max_cost_counts_root_and_sub_calls_and_ends_with_extract():
    lm = ScriptedLM([ScriptedReply(code_reply("llm_query('a')"), cost=0.4),
                     ScriptedReply(code_reply("print(1)"), cost=0.4),
                     ScriptedReply('{"answer": "cheap"}', cost=0.4)])
    sub = ScriptedLM([ScriptedReply("s", cost=0.3)])
    rlm = RLM("context, query -> answer", lm=lm, sub_lm=sub, interpreter=FakeInterpreter(), max_cost=1.0)
    result = rlm(context="c", query="q")
    # turn 1: 0.4 root + 0.3 sub; turn 2: +0.4 -> 1.1 >= 1.0, stop; the extract call is allowed over the limit
    assert (result.finished_by, result.extracted, result.answer, result.iterations) == (
        "max_cost", True, "cheap", 2)
    assert result.usage.cost == pytest.approx(1.5)
    assert "the cost budget ($1) is used up" in lm.requests[-1][-1]["content"]


def test_sub_calls_refused_once_cost_is_spent():
    lm = ScriptedLM([ScriptedReply(code_reply(
        "print(llm_query('a'))\ntry:\n    llm_query('b')\nexcept Exception as e:\n    print(e)"), cost=0.0),
        '{"answer": "x"}'])
    sub = ScriptedLM([ScriptedReply("s", cost=2.0)])
    rlm = RLM("context, query -> answer", lm=lm, sub_lm=sub, interpreter=FakeInterpreter(), max_cost=1.0)
    result = rlm(context="c", query="q")
    assert "llm_query refused: the run's cost budget is used up" in result.trajectory[0].output
    assert result.finished_by == "max_cost" and len(sub.requests) == 1


def test_max_tokens_ends_run():
    lm = ScriptedLM([ScriptedReply(code_reply("print(1)"), prompt_tokens=600, completion_tokens=10),
                     ScriptedReply(code_reply("print(2)"), prompt_tokens=600, completion_tokens=10),
                     '{"answer": "t"}'])
    rlm = RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter(), max_tokens=1000)
    result = rlm(context="c", query="q")
    assert (result.finished_by, result.iterations, result.answer) == ("max_tokens", 2, "t")


def test_max_time_ends_run_and_bounds_execution_timeout():
    def slow(messages):
        time.sleep(0.3)
        return code_reply("print('slow')")

    interp = FakeInterpreter()
    lm = ScriptedLM([code_reply("print(1)"), slow, '{"answer": "late"}'])
    rlm = RLM("context, query -> answer", lm=lm, interpreter=interp, max_time=0.25, execution_timeout=30)
    result = rlm(context="c", query="q")
    assert (result.finished_by, result.iterations, result.answer) == ("max_time", 2, "late")
    assert interp.timeouts[0] <= 0.25  # the time left, not the 30 s execution_timeout
    assert "the time budget (0.25 s) is used up" in lm.requests[-1][-1]["content"]
