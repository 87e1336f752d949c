"""The ScriptedLM test double that later tests hand to the RLM loop in place of a real LM."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

from repo_auditor.errors import LMConnectionError
from repo_auditor.rlm.lm import Completion
from tests.support.scripted_lm import ScriptedLM, ScriptedReply, code_reply

HELLO = [{"role": "user", "content": "Say hello."}]


def test_replies_come_back_in_order_as_completions():
    lm = ScriptedLM(["one", "two"], model="scripted/main")
    first = lm.complete(HELLO)
    assert isinstance(first, Completion)
    assert (first.text, first.model, first.finish_reason) == ("one", "scripted/main", "stop")
    assert lm.complete(HELLO).text == "two"
    assert lm.remaining == 0


def test_token_counts_are_estimated_from_text_length():
    lm = ScriptedLM(["x" * 40])
    completion = lm.complete(
        [
            {"role": "system", "content": "s" * 20},
            {"role": "user", "content": [{"type": "text", "text": "u" * 20}]},
        ]
    )
    assert (completion.prompt_tokens, completion.completion_tokens) == (10, 10)


def test_requests_are_recorded_as_copies():
    lm = ScriptedLM(["a"])
    messages = [{"role": "user", "content": "original"}]
    lm.complete(messages, temperature=0.5)
    messages[0]["content"] = "changed later"
    assert lm.requests == [[{"role": "user", "content": "original"}]]
    assert lm.overrides == [{"temperature": 0.5}]


def test_callable_replies_see_the_messages():
    lm = ScriptedLM([lambda messages: messages[-1]["content"].upper()])
    assert lm("shout") == "SHOUT"


def test_exception_replies_are_raised_and_still_recorded():
    error = LMConnectionError("scripted/model: down", model="scripted/model")
    lm = ScriptedLM([error, "after"])
    with pytest.raises(LMConnectionError, match="down"):
        lm.complete(HELLO)
    assert lm.complete(HELLO).text == "after"
    assert len(lm.requests) == 2
    assert lm.usage.calls == 1


def test_running_out_of_replies_is_a_clear_assertion():
    lm = ScriptedLM(["only"])
    lm("first")
    with pytest.raises(AssertionError, match=r"ran out of replies at request #2; enqueue more.*'second'"):
        lm("second")


def test_enqueue_appends_and_rejects_other_types():
    lm = ScriptedLM()
    lm.enqueue("a", "b")
    assert [lm("q"), lm("q")] == ["a", "b"]
    with pytest.raises(TypeError, match="got int"):
        lm.enqueue(42)


def test_cost_per_call_and_usage():
    lm = ScriptedLM(
        [
            "cheap",
            ScriptedReply(
                "priced",
                cost=0.25,
                prompt_tokens=100,
                completion_tokens=5,
                cached_tokens=80,
                finish_reason="length",
            ),
            ScriptedReply("unknown", cost=None),
        ],
        cost=0.01,
    )
    assert lm.complete(HELLO).cost == 0.01
    priced = lm.complete(HELLO)
    assert (priced.cost, priced.prompt_tokens, priced.cached_tokens, priced.finish_reason) == (
        0.25,
        100,
        80,
        "length",
    )
    assert lm.complete(HELLO).cost is None
    assert lm.usage.calls == 3 and lm.usage.cost == pytest.approx(0.26) and lm.usage.unknown_cost_calls == 1


def test_concurrent_calls_each_take_one_reply():
    replies = [f"reply {i}" for i in range(64)]
    lm = ScriptedLM(replies)
    results: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        text = lm("q")
        with lock:
            results.append(text)

    threads = [threading.Thread(target=call) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(replies)
    assert lm.usage.calls == 64 and len(lm.requests) == 64


def test_acomplete_returns_the_next_reply():
    lm = ScriptedLM(["async reply"])
    assert asyncio.run(lm.acomplete(HELLO)).text == "async reply"


def test_repr_is_short():
    assert repr(ScriptedLM(["a"])) == "ScriptedLM(model='scripted/model', remaining=1, requests=0)"


@pytest.mark.parametrize(
    ("code", "reasoning", "expected"),
    [
        ("print(1)", "Let me look.", "Let me look.\n\n```python\nprint(1)\n```"),
        ("\n    x = 1\n    print(x)\n", "Check x.", "Check x.\n\n```python\nx = 1\nprint(x)\n```"),
    ],
)
def test_code_reply_builds_one_python_block(code, reasoning, expected):
    reply = code_reply(code, reasoning)
    assert reply == expected
    assert len(re.findall(r"```python\n(.*?)\n```", reply, re.S)) == 1
