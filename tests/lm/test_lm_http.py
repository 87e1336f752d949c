"""The real litellm HTTP path against the fake OpenAI-compatible server: replies, usage, cost, secrets."""

from __future__ import annotations

import logging

import pytest

from repo_auditor.errors import ConfigurationError, LMAuthenticationError
from repo_auditor.rlm.lm import LM
from repo_auditor.rlm.provider import litellm_module as _litellm_module
from tests.lm.conftest import SECRET
from tests.support.openai_server import Fault, Reply

HELLO = [{"role": "user", "content": "Say hello."}]


def test_reply_text_and_usage_come_from_the_response(make_lm, openai_server):
    openai_server.enqueue(
        Reply(
            "Hello there.", prompt_tokens=120, completion_tokens=7, cached_tokens=100, finish_reason="length"
        )
    )
    completion = make_lm().complete(HELLO)
    assert completion.text == "Hello there."
    assert (completion.prompt_tokens, completion.completion_tokens, completion.cached_tokens) == (120, 7, 100)
    assert completion.finish_reason == "length"
    assert completion.model == "openai/x"
    assert completion.duration > 0


def test_messages_reach_the_server_untouched_with_the_key_as_bearer(make_lm, openai_server):
    openai_server.enqueue("ok")
    messages = [
        {"role": "system", "content": "You audit code."},
        {"role": "user", "content": "Look at main.py"},
    ]
    make_lm(temperature=0.2, max_tokens=50).complete(messages)
    (request,) = openai_server.chat_requests
    assert request.body["messages"] == messages
    assert request.body["model"] == "x"
    assert request.body["temperature"] == 0.2 and request.body["max_tokens"] == 50
    assert "stream" not in request.body or request.body["stream"] is False
    assert request.headers["authorization"] == f"Bearer {SECRET}"


def test_per_call_overrides_win_over_constructor_defaults(make_lm, openai_server):
    openai_server.enqueue("ok")
    make_lm(temperature=0.2).complete(HELLO, temperature=0.9, top_p=0.5)
    assert openai_server.chat_requests[0].body["temperature"] == 0.9
    assert openai_server.chat_requests[0].body["top_p"] == 0.5


def test_usage_sums_calls_and_counts_unknown_costs(make_lm, openai_server):
    openai_server.enqueue(
        Reply("a", prompt_tokens=10, completion_tokens=2),
        Reply("b", prompt_tokens=30, completion_tokens=4, cached_tokens=20),
    )
    lm = make_lm()  # openai/x is not in litellm's price table
    first = lm.complete(HELLO)
    lm.complete(HELLO)
    assert first.cost is None
    assert lm.usage.to_dict() == {
        "calls": 2,
        "prompt_tokens": 40,
        "completion_tokens": 6,
        "cached_tokens": 20,
        "cost": 0.0,
        "unknown_cost_calls": 2,
    }


def test_price_override_sets_the_cost(make_lm, openai_server):
    openai_server.enqueue(Reply("a", prompt_tokens=1000, completion_tokens=100))
    lm = make_lm(input_cost_per_token=2e-6, output_cost_per_token=8e-6)
    completion = lm.complete(HELLO)
    assert completion.cost == pytest.approx(1000 * 2e-6 + 100 * 8e-6)
    assert lm.usage.cost == pytest.approx(0.0028) and lm.usage.unknown_cost_calls == 0


def test_known_model_is_priced_from_litellms_table(make_lm, openai_server):
    openai_server.enqueue(Reply("a", prompt_tokens=1000, completion_tokens=100))
    completion = make_lm("openai/gpt-4o").complete(HELLO)
    prices = _litellm_module().model_cost["gpt-4o"]
    expected = 1000 * prices["input_cost_per_token"] + 100 * prices["output_cost_per_token"]
    assert completion.cost == pytest.approx(expected)
    assert completion.cost > 0


def test_call_with_a_string_sends_one_user_message(make_lm, openai_server):
    openai_server.enqueue("pong")
    assert make_lm()("ping") == "pong"
    assert openai_server.chat_requests[0].body["messages"] == [{"role": "user", "content": "ping"}]


def test_missing_content_is_empty_text(make_lm, openai_server):
    openai_server.enqueue(
        Fault(
            200,
            {
                "id": "c",
                "object": "chat.completion",
                "created": 1,
                "model": "x",
                "choices": [
                    {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": None}}
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
            },
        )
    )
    completion = make_lm().complete(HELLO)
    assert completion.text == ""
    assert completion.finish_reason == "length"
    assert completion.completion_tokens == 9


CACHED = [
    {
        "role": "system",
        "content": [
            {"type": "text", "text": "Big repository context.", "cache_control": {"type": "ephemeral"}}
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Part one. "},
            {"type": "text", "text": "Part two.", "cache_control": {"type": "ephemeral"}},
        ],
    },
]


def test_cache_control_messages_work_against_an_openai_compatible_server(make_lm, openai_server):
    openai_server.enqueue("cached ok")
    assert make_lm().complete(CACHED).text == "cached ok"
    sent = openai_server.chat_requests[0].body["messages"]
    assert sent[1]["content"][1]["text"] == "Part two."


def test_prompt_caching_off_strips_markers_and_flattens_text_parts(make_lm, openai_server):
    openai_server.enqueue("plain ok")
    assert make_lm(prompt_caching=False).complete(CACHED).text == "plain ok"
    assert openai_server.chat_requests[0].body["messages"] == [
        {"role": "system", "content": "Big repository context."},
        {"role": "user", "content": "Part one. Part two."},
    ]
    assert CACHED[1]["content"][1]["cache_control"] == {
        "type": "ephemeral"
    }  # the caller's list is not modified


def test_api_key_never_appears_in_repr_errors_or_logs(make_lm, openai_server, caplog):
    caplog.set_level(logging.DEBUG)
    lm = make_lm(retry_backoff=0)
    assert SECRET not in repr(lm) and SECRET not in str(lm)
    echoing = Fault(
        401,
        {
            "error": {
                "message": f"Incorrect API key provided: {SECRET}.",
                "type": "invalid_api_key",
                "code": "invalid_api_key",
            }
        },
    )
    openai_server.enqueue(Fault.server_error(), "fine", echoing)
    lm.complete(HELLO)
    with pytest.raises(LMAuthenticationError) as caught:
        lm.complete(HELLO)
    assert "Incorrect API key provided: ***" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "retrying" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"model": " "}, "no model configured"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"num_retries": -1}, "num_retries must be a whole number"),
        ({"input_cost_per_token": 1e-6}, "set both input_cost_per_token and output_cost_per_token"),
        ({"stream": True}, "LM sets stream itself"),
    ],
)
def test_bad_options_are_configuration_errors(options, needle):
    model = options.pop("model", "openai/x")
    with pytest.raises(ConfigurationError, match=needle):
        LM(model, **options)


def test_bad_messages_and_reserved_overrides_are_rejected_before_any_request(make_lm, openai_server):
    lm = make_lm()
    with pytest.raises(ValueError, match="non-empty list of dicts"):
        lm.complete([])
    with pytest.raises(ValueError, match="non-empty list of dicts"):
        lm.complete(["hello"])
    with pytest.raises(TypeError, match="sets stream itself"):
        lm.complete(HELLO, stream=True)
    assert openai_server.requests == []
