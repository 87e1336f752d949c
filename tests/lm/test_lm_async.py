"""LM.acomplete: real litellm.acompletion against the fake server, concurrently, with retries."""

from __future__ import annotations

import asyncio

import pytest

from repo_auditor.errors import LMAuthenticationError
from tests.support.openai_server import Fault, Reply

HELLO = [{"role": "user", "content": "Say hello."}]


def test_two_concurrent_calls_overlap_on_the_server(make_lm, openai_server):
    openai_server.enqueue(Reply("first", delay=0.4), Reply("second", delay=0.4))
    lm = make_lm()
    ticks = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def main() -> list[str]:
        stop = asyncio.Event()
        ticking = asyncio.create_task(ticker(stop))
        try:
            completions = await asyncio.gather(lm.acomplete(HELLO), lm.acomplete(HELLO))
        finally:
            stop.set()
            await ticking
            await lm.aclose()
        return sorted(c.text for c in completions)

    assert asyncio.run(main()) == ["first", "second"]
    first, second = openai_server.chat_requests
    assert second.received_at < first.answered_at  # both were in flight at once
    assert ticks > 5  # the event loop kept running while the calls waited
    assert lm.usage.calls == 2


def test_async_retries_then_succeeds(make_lm, openai_server):
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    openai_server.enqueue(Fault.rate_limited(retry_after=1.5), Fault.server_error(), "ok")
    lm = make_lm(async_sleep=fake_sleep, retry_backoff=0.1)

    async def main() -> str:
        try:
            return (await lm.acomplete(HELLO)).text
        finally:
            await lm.aclose()

    assert asyncio.run(main()) == "ok"
    assert waits[0] == 1.5 and 0.05 <= waits[1] <= 0.2
    assert len(openai_server.chat_requests) == 3


def test_async_failures_map_like_sync_ones(make_lm, openai_server):
    openai_server.enqueue(Fault.unauthorized(), "not used")
    lm = make_lm()

    async def main() -> None:
        try:
            await lm.acomplete(HELLO)
        finally:
            await lm.aclose()

    with pytest.raises(LMAuthenticationError, match="openai/x: credentials missing or rejected"):
        asyncio.run(main())
    assert len(openai_server.chat_requests) == 1
