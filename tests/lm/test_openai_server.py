"""The fake OpenAI-compatible server alone, over plain urllib: response shape, recording, empty script."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.openai_server import Fault, OpenAIServer


def _post(server: OpenAIServer, body: dict, path: str = "/chat/completions") -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer t"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_reply_has_the_chat_completion_shape(openai_server):
    openai_server.enqueue("Hello world, this is it.")
    status, _, body = _post(
        openai_server, {"model": "x", "messages": [{"role": "user", "content": "12345678"}]}
    )
    assert status == 200
    assert body["object"] == "chat.completion" and body["model"] == "x" and body["id"]
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello world, this is it."},
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 6, "total_tokens": 8}
    (recorded,) = openai_server.requests
    assert recorded.body["messages"][0]["content"] == "12345678"
    assert recorded.headers["authorization"] == "Bearer t"
    assert recorded.answered_at is not None and recorded.answered_at >= recorded.received_at


def test_faults_send_their_status_headers_and_body(openai_server):
    openai_server.enqueue(Fault.rate_limited(retry_after=7))
    status, headers, body = _post(openai_server, {"model": "x", "messages": []})
    assert status == 429 and headers["Retry-After"] == "7"
    assert body["error"]["code"] == "rate_limit_exceeded"


def test_empty_script_and_unknown_paths_answer_errors(openai_server):
    status, _, body = _post(openai_server, {"model": "x", "messages": []})
    assert status == 400 and "no scripted reply left" in body["error"]["message"]
    status, _, _ = _post(openai_server, {}, path="/embeddings")
    assert status == 404
    assert len(openai_server.chat_requests) == 1 and len(openai_server.requests) == 2


def test_bad_script_items_and_unstarted_url_are_errors():
    server = OpenAIServer()
    with pytest.raises(TypeError, match="got int"):
        server.enqueue(3)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url
