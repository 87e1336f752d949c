"""Fixtures for the LM adapter tests: a fake OpenAI-compatible server and LMs pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from repo_auditor.rlm.lm import LM
from tests.support.openai_server import OpenAIServer

SECRET = (
    "sk-test-0123456789abcdef"  # the API key every test LM sends; it must never show up in text we produce
)


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """The delays an LM built by ``make_lm`` asked to sleep, in order (it does not actually sleep)."""
    return []


@pytest.fixture
def make_lm(openai_server: OpenAIServer, sleeps: list[float]) -> Callable[..., LM]:
    """``make_lm(**options)``: an ``openai/x`` LM on the fake server; sleeps are recorded, not slept."""

    def make(model: str = "openai/x", **options) -> LM:
        settings = {"api_base": openai_server.url, "api_key": SECRET, "timeout": 5.0, "sleep": sleeps.append}
        settings.update(options)
        return LM(model, **settings)

    return make
