"""`doctor --model X --api-base URL` contacts the endpoint and says exactly what failed."""

from __future__ import annotations

import socket

import pytest

from repo_auditor.cli import main
from tests.support.openai_server import Fault, OpenAIServer


@pytest.fixture
def server(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with OpenAIServer() as srv:
        yield srv


def lines_of(result) -> dict[str, str]:
    return {line.split()[1]: line for line in result.stdout.splitlines() if line[:4] in ("ok  ", "FAIL", "warn")}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_working_endpoint_answers_one_request(runner, server):
    server.enqueue("ok")
    result = runner.invoke(main, ["doctor", "--no-fetch", "--model", "openai/x", "--api-base", server.url])
    checks = lines_of(result)
    assert checks["endpoint"].startswith("ok") and checks["request"].startswith("ok")
    assert "openai/x answered in" in checks["request"]
    assert len(server.chat_requests) == 1 and server.chat_requests[0].body["max_tokens"] == 1


def test_an_unreachable_endpoint_is_named_as_such(runner):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    result = runner.invoke(main, ["doctor", "--no-fetch", "--model", "openai/x", "--api-base", url])
    assert result.exit_code == 1
    endpoint = lines_of(result)["endpoint"]
    assert endpoint.startswith("FAIL") and f"cannot connect to {url}" in endpoint and "refused" in endpoint
    assert "HTTP 500" not in result.stdout


def test_a_rejected_key_is_named(runner, server):
    server.enqueue(Fault.unauthorized())
    result = runner.invoke(main, ["doctor", "--no-fetch", "--model", "openai/x", "--api-base", server.url])
    assert result.exit_code == 1
    request = lines_of(result)["request"]
    assert request.startswith("FAIL") and "HTTP 401" in request and "credentials missing or rejected" in request


def test_an_unknown_provider_prefix(runner):
    result = runner.invoke(main, ["doctor", "--no-fetch", "--model", "nosuchprovider/foo"])
    assert result.exit_code == 1
    assert "litellm has no provider named 'nosuchprovider'" in lines_of(result)["model"]
