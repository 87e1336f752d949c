"""The language-model adapter: the only module that imports litellm.

``LM("openai/gpt-4o")`` wraps one litellm model. ``complete(messages)`` returns a :class:`Completion` (text,
tokens, cost); ``LM.usage`` keeps running totals. Failures become the ``LMError`` family of
:mod:`repo_auditor.errors`.

litellm is imported on the first call, never at import time of this module (it takes seconds to import).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from repo_auditor.errors import (
    ConfigurationError,
    LMResponseError,
)
from repo_auditor.rlm.provider import (
    EmptyReply,
    classify_failure,
    litellm_module,
    loaded_litellm,
    model_price,
    provider_of,
    to_error,
)


@dataclass
class Completion:
    """One model reply, with what it cost."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    cost: float | None = None  # USD from litellm's price table; None when the model has no known price
    duration: float = 0.0  # seconds, including retries
    finish_reason: str | None = None


@dataclass
class Usage:
    """Running totals over many completions. ``cost`` sums only the calls whose price was known."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: float = 0.0
    unknown_cost_calls: int = 0

    def add(self, completion: Completion) -> None:
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.cached_tokens += completion.cached_tokens
        if completion.cost is None:
            self.unknown_cost_calls += 1
        else:
            self.cost += completion.cost

    def merge(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_tokens += other.cached_tokens
        self.cost += other.cost
        self.unknown_cost_calls += other.unknown_cost_calls

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- limits --------------------------------------------------------------------------------------------------

# Exponential backoff doubles from ``retry_backoff`` seconds; one wait never exceeds MAX_BACKOFF, and a run of
# retries never sleeps more than MAX_TOTAL_BACKOFF in all, so a dead provider fails a call in minutes, not
# hours.
MAX_BACKOFF = 30.0
MAX_TOTAL_BACKOFF = 120.0
# A provider's Retry-After is obeyed up to this many seconds (some send an hour when a daily quota is gone).
MAX_RETRY_AFTER = 60.0

# Keyword arguments that LM sets itself; passing them to complete() would break retries or accounting.
_RESERVED = frozenset({"model", "messages", "stream", "num_retries", "max_retries"})

logger = logging.getLogger(__name__)





def _validate_messages(messages: Any) -> None:
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
    ):
        raise ValueError(
            "messages must be a non-empty list of dicts with a 'role' and a 'content', "
            "e.g. [{'role': 'user', 'content': 'hi'}]"
        )


def strip_cache_control(messages: list[dict]) -> list[dict]:
    """A copy of ``messages`` without prompt-caching markers, for servers that reject unknown fields.

    Content-part lists that hold only text become plain strings, which every OpenAI-compatible server accepts.
    """
    stripped = []
    for message in messages:
        message = {k: v for k, v in message.items() if k != "cache_control"}
        content = message.get("content")
        if isinstance(content, list):
            parts = [
                {k: v for k, v in part.items() if k != "cache_control"} if isinstance(part, dict) else part
                for part in content
            ]
            if all(
                isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                for p in parts
            ):
                message["content"] = "".join(p["text"] for p in parts)
            else:
                message["content"] = parts
        stripped.append(message)
    return stripped


# -- the adapter ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCheck:
    """What ``LM.check()`` found without calling the model; ``problems`` are one-line messages with a fix."""

    model: str
    provider: str | None  # litellm's provider for the model string, None when litellm cannot place it
    priced: bool  # litellm's price table knows the model, so runs report a cost
    # Key variables the provider needs that are not set (always empty when api_key was given).
    missing_env_vars: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


class LM:
    """One litellm model with retries, usage and cost accounting.

    ``model`` is any litellm model string (``openai/gpt-4o``, ``anthropic/claude-sonnet-4-5``,
    ``ollama/llama3``). ``api_base`` points at a self-hosted or OpenAI-compatible endpoint; ``api_key``
    defaults to the provider's environment variable (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ...).
    ``input_cost_per_token`` and ``output_cost_per_token`` (USD) override litellm's price table, e.g. for
    local models; cached prompt tokens are then billed at the input price. ``prompt_caching=False`` strips
    ``cache_control`` markers before sending, for servers that reject them (litellm itself strips them for
    api.openai.com and keeps them for other endpoints).

    Rate limits (429), server errors (5xx), timeouts and connection failures are retried ``num_retries`` times
    with exponential backoff from ``retry_backoff`` seconds plus jitter, or after the provider's Retry-After.
    Other failures raise at once. Every failure is an :class:`~repo_auditor.errors.LMError` with a one-line
    message naming the model. Remaining keyword arguments (``top_p``, ``extra_headers``, ...) go to
    ``litellm.completion`` on every call. Safe to share between threads; ``usage`` sums every successful call.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float = 120.0,
        num_retries: int = 3,
        retry_backoff: float = 1.0,
        input_cost_per_token: float | None = None,
        output_cost_per_token: float | None = None,
        prompt_caching: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **extra: Any,
    ):
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError(
                "no model configured: pass a litellm model name such as openai/gpt-4o "
                "(setting 'model', or REPO_AUDITOR_MODEL)"
            )
        if not timeout or timeout <= 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(num_retries, int) or num_retries < 0:
            raise ConfigurationError(f"num_retries must be a whole number >= 0, got {num_retries!r}")
        if retry_backoff < 0:
            raise ConfigurationError(f"retry_backoff must be >= 0 seconds, got {retry_backoff!r}")
        if (input_cost_per_token is None) != (output_cost_per_token is None):
            raise ConfigurationError("set both input_cost_per_token and output_cost_per_token, or neither")
        reserved = _RESERVED.intersection(extra)
        if reserved:
            raise ConfigurationError(
                f"LM sets {', '.join(sorted(reserved))} itself; remove it from the arguments"
            )
        self.model = model.strip()
        self.api_base = api_base
        self._api_key = api_key
        self.timeout = float(timeout)
        self.num_retries = num_retries
        self.retry_backoff = float(retry_backoff)
        self.input_cost_per_token = input_cost_per_token
        self.output_cost_per_token = output_cost_per_token
        self.prompt_caching = prompt_caching
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._defaults = {
            k: v
            for k, v in {"temperature": temperature, "max_tokens": max_tokens, **extra}.items()
            if v is not None
        }
        self.usage = Usage()
        self._usage_lock = threading.Lock()
        self._rng = random.Random()

    def __repr__(self) -> str:
        key = "'***'" if self._api_key else "None"
        return f"LM(model={self.model!r}, api_base={self.api_base!r}, api_key={key})"

    # -- calls -----------------------------------------------------------------------------------------------

    def __call__(self, prompt: str | list[dict], **overrides: Any) -> str:
        """The reply's text; a string prompt is sent as one user message."""
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        return self.complete(messages, **overrides).text

    def complete(self, messages: list[dict], **overrides: Any) -> Completion:
        """Send ``messages`` (OpenAI chat format, passed as given) and return the reply, retrying as above."""
        litellm = litellm_module()
        request = self._request(messages, overrides)
        started = time.monotonic()
        slept = 0.0
        for attempt in range(self.num_retries + 1):
            try:
                return self._record(litellm.completion(**request), time.monotonic() - started)
            except Exception as exc:  # every provider failure arrives here; classify_failure sorts them
                delay = self._next_delay(exc, attempt, slept)
                slept += delay
                self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def acomplete(self, messages: list[dict], **overrides: Any) -> Completion:
        """``complete`` for asyncio code: waits without blocking the event loop (litellm.acompletion).

        litellm keeps one HTTP client per event loop; call ``await LM.aclose()`` before the loop ends.
        """
        litellm = await asyncio.to_thread(litellm_module)
        request = self._request(messages, overrides)
        started = time.monotonic()
        slept = 0.0
        for attempt in range(self.num_retries + 1):
            try:
                return self._record(await litellm.acompletion(**request), time.monotonic() - started)
            except Exception as exc:  # every provider failure arrives here; classify_failure sorts them
                delay = self._next_delay(exc, attempt, slept)
                slept += delay
                await self._async_sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    @staticmethod
    async def aclose() -> None:
        """Close litellm's cached async HTTP clients (they are shared by every LM in the process)."""
        litellm = loaded_litellm()
        if litellm is not None:
            await litellm.close_litellm_async_clients()

    def _request(self, messages: list[dict], overrides: dict[str, Any]) -> dict[str, Any]:
        _validate_messages(messages)
        reserved = _RESERVED.intersection(overrides)
        if reserved:
            raise TypeError(f"LM.complete() sets {', '.join(sorted(reserved))} itself")
        return {
            **self._defaults,
            **overrides,
            "model": self.model,
            "messages": messages if self.prompt_caching else strip_cache_control(messages),
            "api_base": self.api_base,
            "api_key": self._api_key,
            "timeout": overrides.get("timeout", self.timeout),
            "num_retries": 0,  # retries are ours (below): counted, logged and bounded in one place
            "max_retries": 0,  # and not the OpenAI client's either
        }

    def _next_delay(self, exc: Exception, attempt: int, slept: float) -> float:
        """Seconds to wait before the next attempt; raises the mapped LMError when there is none."""
        failure = classify_failure(exc, self._api_key)
        if failure.kind not in ("retry", "empty") or attempt >= self.num_retries:
            raise to_error(failure, self.model, attempt + 1) from None
        if failure.retry_after is not None:
            delay = min(failure.retry_after, MAX_RETRY_AFTER)
        else:
            delay = min(self.retry_backoff * 2**attempt, MAX_BACKOFF) * self._rng.uniform(0.5, 1.0)
        if slept + delay > MAX_TOTAL_BACKOFF:
            raise to_error(failure, self.model, attempt + 1) from None
        logger.info(
            "%s: attempt %d of %d failed (%s); retrying in %.1fs",
            self.model,
            attempt + 1,
            self.num_retries + 1,
            failure.detail,
            delay,
        )
        return delay

    def _record(self, response: Any, duration: float) -> Completion:
        completion = self._completion(response, duration)
        with self._usage_lock:
            self.usage.add(completion)
        return completion

    def _completion(self, response: Any, duration: float) -> Completion:
        choices = getattr(response, "choices", None)
        if not choices:
            raise EmptyReply("the provider's reply has no choices")
        choice = choices[0]
        text = getattr(getattr(choice, "message", None), "content", None)
        if text is None:
            text = ""  # e.g. a reasoning model that used every token before answering; finish_reason says why
        if not isinstance(text, str):
            raise LMResponseError(
                f"{self.model}: the reply's content is {type(text).__name__}, not text", model=self.model
            )
        usage = getattr(response, "usage", None)
        prompt_tokens = _count(getattr(usage, "prompt_tokens", 0))
        completion_tokens = _count(getattr(usage, "completion_tokens", 0))
        cached_tokens = _count(getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0))
        return Completion(
            text=text,
            model=self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_tokens=cached_tokens,
            cost=self._cost(response, prompt_tokens, completion_tokens),
            duration=duration,
            finish_reason=getattr(choice, "finish_reason", None),
        )

    def _cost(self, response: Any, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.input_cost_per_token is not None and self.output_cost_per_token is not None:
            return prompt_tokens * self.input_cost_per_token + completion_tokens * self.output_cost_per_token
        try:
            return float(litellm_module().completion_cost(completion_response=response))
        except Exception:  # litellm raises for models missing from its price table: the cost is unknown
            return None

    @property
    def price(self) -> tuple[float, float] | None:
        """USD per input and per output token: the prices given to the constructor, else litellm's table; None when
        neither has one (a local or self-hosted model)."""
        if self.input_cost_per_token is not None and self.output_cost_per_token is not None:
            return self.input_cost_per_token, self.output_cost_per_token
        return model_price(self.model)

    # -- diagnosis -------------------------------------------------------------------------------------------

    def check(self) -> ModelCheck:
        """Whether litellm knows the model and its key is set, without calling the model (for ``doctor``)."""
        litellm = litellm_module()
        problems = []
        provider = provider_of(self.model)
        if provider is None:
            problems.append(
                f"{self.model}: litellm cannot tell the provider; use a name with its provider prefix, "
                f"e.g. openai/gpt-4o or anthropic/claude-sonnet-4-5"
            )
        priced = self.price is not None
        missing: tuple[str, ...] = ()
        if provider is not None and not self._api_key:
            try:
                missing = tuple(
                    litellm.validate_environment(self.model, api_base=self.api_base)["missing_keys"]
                )
            except Exception:  # best effort, as in litellm
                missing = ()
            if missing:
                problems.append(f"{self.model}: no API key; set {' and '.join(missing)} or pass api_key")
        return ModelCheck(self.model, provider, priced, missing, tuple(problems))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0
