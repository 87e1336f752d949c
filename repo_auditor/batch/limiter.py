"""One rate limiter for the whole batch: requests per minute, tokens per minute and the total cost budget.

Every model call of every worker asks the one ``RateLimiter`` first (``reserve``) and reports back after (``record``).
The limiter never blocks: ``reserve`` books the next free slot and returns how long the caller must sleep, so a single
limiter (an object in the driver's manager process locally, one actor on a Ray cluster) serves any number of workers.

Pacing is even: request k may start ``60 / requests_per_minute`` seconds after request k-1, and a request of n tokens
holds ``n * 60 / tokens_per_minute`` seconds of the token line, so no 60-second window ever exceeds either limit.
Tokens are estimated before the call (prompt characters / 4 plus ``EXPECTED_COMPLETION_TOKENS``) and corrected with
the provider's count after it. The budget: once the recorded cost reaches it, ``reserve`` raises
``BudgetExceededError`` (``budget="batch"``); calls already in flight finish, so the overshoot is at most one call per
worker. Calls whose price is unknown (local models) cost 0 here and are counted in ``unknown_cost_calls``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from repo_auditor.errors import BudgetExceededError

EXPECTED_COMPLETION_TOKENS = 500  # a typical reply of the exploring model; corrected after each call
CHARS_PER_TOKEN = 4
BATCH_BUDGET = "batch"  # BudgetExceededError.budget when the batch's total cost budget is spent


@dataclass(frozen=True)
class Limits:
    """The batch-wide limits; None means no limit."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    budget: float | None = None  # USD

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.requests_per_minute, self.tokens_per_minute, self.budget))


class Limiter(Protocol):
    """What a worker needs from the limiter, wherever it lives."""

    def reserve(self, tokens: int) -> float | None: ...

    def record(self, estimated_tokens: int, tokens: int, cost: float | None) -> None: ...

    def state(self) -> dict[str, Any]: ...


class RateLimiter:
    """The limiter itself (see the module docstring). Thread-safe; ``clock`` is injectable for tests."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._next_request = 0.0
        self._token_line = 0.0
        self.requests = 0
        self.tokens = 0
        self.spent = 0.0
        self.unknown_cost_calls = 0

    def reserve(self, tokens: int) -> float | None:
        """Book a call of about ``tokens`` tokens; returns the seconds to wait before sending it, or None when the
        budget is spent (a value, not an exception, so that it crosses process boundaries unchanged)."""
        with self._lock:
            budget = self.limits.budget
            if budget is not None and self.spent >= budget:
                return None
            now = self._clock()
            start = now
            rpm, tpm = self.limits.requests_per_minute, self.limits.tokens_per_minute
            if rpm is not None:
                start = max(start, self._next_request)
            if tpm is not None:
                start = max(start, self._token_line)
            if rpm is not None:
                self._next_request = start + 60.0 / rpm
            if tpm is not None:
                self._token_line = max(self._token_line, start) + tokens * 60.0 / tpm
            self.requests += 1
            return start - now

    def record(self, estimated_tokens: int, tokens: int, cost: float | None) -> None:
        """The call is done: correct the token line by the real count and add the cost."""
        with self._lock:
            if self.limits.tokens_per_minute is not None:
                self._token_line += (tokens - estimated_tokens) * 60.0 / self.limits.tokens_per_minute
            self.tokens += tokens
            if cost is None:
                self.unknown_cost_calls += 1
            else:
                self.spent += cost

    def state(self) -> dict[str, Any]:
        """Counters for progress and the summary."""
        with self._lock:
            budget = self.limits.budget
            return {"requests": self.requests, "tokens": self.tokens, "spent": self.spent, "budget": budget,
                    "unknown_cost_calls": self.unknown_cost_calls,
                    "budget_spent": budget is not None and self.spent >= budget}


def estimate_tokens(messages: list[dict]) -> int:
    chars = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(part.get("text", "")) for part in content if isinstance(part, dict))
    return chars // CHARS_PER_TOKEN + EXPECTED_COMPLETION_TOKENS


class MeteredLM:
    """A model that asks the batch's limiter before every call and reports what the call used.

    Behaves as the wrapped ``LM`` (``model``, ``usage``, ``complete``, ``acomplete``, calling it)."""

    def __init__(self, lm: Any, limiter: Limiter, sleep: Callable[[float], None] = time.sleep):
        self.lm = lm
        self.limiter = limiter
        self._sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lm, name)

    def complete(self, messages: list[dict], **overrides: Any) -> Any:
        estimate = estimate_tokens(messages)
        wait = self.limiter.reserve(estimate)
        if wait is None:
            state = self.limiter.state()
            budget = state["budget"]
            raise BudgetExceededError(
                f"the batch budget of ${budget:.2f} is spent (${state['spent']:.2f}); rerun with a larger budget to "
                "do the remaining runs", budget=BATCH_BUDGET, spent=state["spent"], limit=budget)
        if wait > 0:
            self._sleep(wait)
        completion = self.lm.complete(messages, **overrides)
        self.limiter.record(estimate, completion.prompt_tokens + completion.completion_tokens, completion.cost)
        return completion

    async def acomplete(self, messages: list[dict], **overrides: Any) -> Any:
        import asyncio

        return await asyncio.to_thread(self.complete, messages, **overrides)

    def __call__(self, prompt: str | list[dict], **overrides: Any) -> str:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        return self.complete(messages, **overrides).text
