"""Retries and the mapping of provider failures to repo_auditor.errors, over real HTTP to the fake server."""

from __future__ import annotations

import email.utils
import socket
import time

import pytest

from repo_auditor.errors import (
    LMAuthenticationError,
    LMConnectionError,
    LMError,
    LMNotFoundError,
    LMResponseError,
)
from repo_auditor.rlm.lm import LM, MAX_RETRY_AFTER
from tests.support.openai_server import Fault, Reply

HELLO = [{"role": "user", "content": "Say hello."}]


def test_rate_limit_is_retried_after_the_servers_retry_after(make_lm, openai_server, sleeps):
    openai_server.enqueue(Fault.rate_limited(retry_after=2), Fault.rate_limited(retry_after=0.5), "finally")
    lm = make_lm()
    assert lm.complete(HELLO).text == "finally"
    assert sleeps == [2.0, 0.5]
    assert len(openai_server.chat_requests) == 3
    assert lm.usage.calls == 1  # failed attempts are not billed calls


def test_retry_after_is_capped(make_lm, openai_server, sleeps):
    openai_server.enqueue(Fault.rate_limited(retry_after=3600), "ok")
    make_lm().complete(HELLO)
    assert sleeps == [MAX_RETRY_AFTER]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_with_exponential_backoff(make_lm, openai_server, sleeps, status):
    openai_server.enqueue(
        Fault.server_error(status), Fault.server_error(status), Fault.server_error(status), "ok"
    )
    assert make_lm(retry_backoff=1.0, num_retries=3).complete(HELLO).text == "ok"
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):  # full delay 1, 2, 4 s, jittered down to at most half
        assert 0.5 * 2**attempt <= delay <= 2**attempt


def test_timeout_is_retried(make_lm, openai_server, sleeps):
    openai_server.enqueue(Fault.slow(3), "in time")
    assert make_lm(timeout=0.3).complete(HELLO).text == "in time"
    assert len(openai_server.chat_requests) == 2
    assert len(sleeps) == 1


def test_retries_exhausted_is_a_connection_error_naming_model_and_attempts(make_lm, openai_server, sleeps):
    openai_server.enqueue(*[Fault.server_error()] * 3, "never reached")
    with pytest.raises(LMConnectionError) as caught:
        make_lm(num_retries=2).complete(HELLO)
    message = str(caught.value)
    assert "openai/x" in message and "3 attempts" in message and "HTTP 500" in message
    assert "\n" not in message
    assert caught.value.model == "openai/x"
    assert len(openai_server.chat_requests) == 3
    assert len(sleeps) == 2


def test_timeouts_exhausted_is_a_connection_error(make_lm, openai_server):
    openai_server.enqueue(Fault.slow(3), Fault.slow(3))
    with pytest.raises(LMConnectionError, match="2 attempts"):
        make_lm(timeout=0.2, num_retries=1).complete(HELLO)


def test_unreachable_server_is_a_connection_error_after_retries(sleeps):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lm = LM(
        "openai/x", api_base=f"http://127.0.0.1:{port}/v1", api_key="k", num_retries=1, sleep=sleeps.append
    )
    with pytest.raises(LMConnectionError, match=r"openai/x: provider failing after 2 attempts"):
        lm.complete(HELLO)
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "fault", [Fault.unauthorized(), Fault(403, {"error": {"message": "Forbidden"}})], ids=["401", "403"]
)
def test_rejected_key_is_an_authentication_error_without_retry(
    make_lm, openai_server, sleeps, monkeypatch, fault
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    openai_server.enqueue(fault, "not used")
    with pytest.raises(LMAuthenticationError) as caught:
        make_lm().complete(HELLO)
    assert "openai/x" in str(caught.value) and "OPENAI_API_KEY" in str(caught.value)
    assert len(openai_server.chat_requests) == 1
    assert sleeps == []


def test_missing_key_names_the_env_var_and_sends_nothing(openai_server, sleeps, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    lm = LM("openai/x", api_base=openai_server.url, sleep=sleeps.append)
    with pytest.raises(LMAuthenticationError, match="set OPENAI_API_KEY or pass api_key"):
        lm.complete(HELLO)
    assert openai_server.requests == [] and sleeps == []


def test_model_not_found_is_not_retried(make_lm, openai_server, sleeps):
    openai_server.enqueue(Fault.model_not_found("x"), "not used")
    with pytest.raises(
        LMNotFoundError, match=r"openai/x: unknown model \(HTTP 404: The model `x` does not exist"
    ):
        make_lm().complete(HELLO)
    assert len(openai_server.chat_requests) == 1 and sleeps == []


def test_model_without_a_provider_is_not_found_before_any_request(openai_server, sleeps):
    lm = LM("no-such-model-anywhere", api_base=openai_server.url, api_key="k", sleep=sleeps.append)
    with pytest.raises(LMNotFoundError, match="no-such-model-anywhere: unknown model .*provider prefix"):
        lm.complete(HELLO)
    assert openai_server.requests == [] and sleeps == []


def test_malformed_reply_is_a_response_error_without_retry(make_lm, openai_server, sleeps):
    openai_server.enqueue(Fault.malformed(), "not used")
    lm = make_lm()
    with pytest.raises(LMResponseError, match="openai/x: "):
        lm.complete(HELLO)
    assert len(openai_server.chat_requests) == 1 and sleeps == []
    assert lm.usage.calls == 0


def test_empty_choices_are_retried_like_a_server_error(make_lm, openai_server, sleeps):
    openai_server.enqueue(Fault.empty_choices(), "hello back")
    lm = make_lm()
    assert lm.complete(HELLO).text == "hello back"
    assert len(openai_server.chat_requests) == 2 and len(sleeps) == 1
    assert lm.usage.calls == 1


def test_empty_choices_on_every_attempt_end_as_a_response_error(make_lm, openai_server, sleeps):
    lm = make_lm()
    openai_server.enqueue(*[Fault.empty_choices()] * (lm.num_retries + 1))
    with pytest.raises(LMResponseError, match="openai/x: the provider's replies had no choices after 4 attempts"):
        lm.complete(HELLO)
    assert len(openai_server.chat_requests) == lm.num_retries + 1 and lm.usage.calls == 0


def test_other_client_errors_are_plain_lm_errors_without_retry(make_lm, openai_server, sleeps):
    openai_server.enqueue(
        Fault(
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 8192 tokens",
                    "type": "invalid_request_error",
                    "code": None,
                }
            },
        )
    )
    with pytest.raises(
        LMError, match=r"openai/x: request rejected \(HTTP 400: .*maximum context length"
    ) as caught:
        make_lm().complete(HELLO)
    assert not isinstance(caught.value, (LMConnectionError, LMAuthenticationError, LMNotFoundError))
    assert sleeps == []


def test_total_backoff_is_bounded(make_lm, openai_server, sleeps):
    openai_server.enqueue(*[Fault.rate_limited(retry_after=50)] * 4)
    with pytest.raises(LMConnectionError, match="3 attempts"):
        make_lm(num_retries=10).complete(HELLO)
    assert sleeps == [50.0, 50.0]  # a third 50 s wait would pass MAX_TOTAL_BACKOFF (120 s)


def test_retry_survives_a_successful_reply_after_slow_one_with_usage(make_lm, openai_server):
    openai_server.enqueue(Fault.server_error(), Reply("ok", prompt_tokens=3, completion_tokens=1))
    lm = make_lm(input_cost_per_token=1.0, output_cost_per_token=1.0)
    completion = lm.complete(HELLO)
    assert completion.cost == 4.0 and lm.usage.calls == 1 and lm.usage.cost == 4.0


def test_short_placeholder_keys_do_not_mangle_messages(openai_server):
    openai_server.enqueue(Fault.unauthorized())
    lm = LM("openai/x", api_base=openai_server.url, api_key="k")  # local servers often take any placeholder
    with pytest.raises(LMAuthenticationError, match=r"\(HTTP 401: Incorrect API key provided\.\)"):
        lm.complete(HELLO)


def test_malformed_json_message_says_invalid_json(make_lm, openai_server):
    openai_server.enqueue(Fault.malformed())
    with pytest.raises(
        LMResponseError, match=r"openai/x: malformed reply from the provider \(invalid JSON: "
    ):
        make_lm().complete(HELLO)


def test_retry_after_as_an_http_date_and_in_milliseconds(make_lm, openai_server, sleeps):
    in_thirty_seconds = email.utils.formatdate(time.time() + 30, usegmt=True)
    openai_server.enqueue(
        Fault(503, {"error": {"message": "busy"}}, {"Retry-After": in_thirty_seconds}),
        Fault(429, {"error": {"message": "slow down"}}, {"retry-after-ms": "250"}),
        "ok",
    )
    assert make_lm().complete(HELLO).text == "ok"
    assert 28 <= sleeps[0] <= 30 and sleeps[1] == 0.25
