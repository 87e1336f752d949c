"""``ScriptedLM``: a stand-in for :class:`repo_auditor.rlm.lm.LM` that replays replies written by the test.

Hand it to the code under test through the constructor, the same way a real ``LM`` is handed in::

    lm = ScriptedLM([code_reply("print(len(files))"), 'SUBMIT(findings=[])'])
    ...
    assert "files" in lm.requests[1][-1]["content"]

A reply is one of:

* a string: returned as the completion's text;
* a callable ``(messages) -> str``: called with the request's messages (for replies that depend on the
prompt);
* an exception instance: raised by that call (e.g. ``LMConnectionError("down", model="x")``);
* a :class:`ScriptedReply`: a string plus the cost / finish reason / token counts to report for that call.

Replies are consumed in order by whichever thread asks first; running out raises ``AssertionError`` naming the
request that found the script empty. Every request's messages are recorded in ``.requests`` (a deep copy, in
arrival order).
"""

from __future__ import annotations

import copy
import textwrap
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from repo_auditor.rlm.lm import Completion, Usage


@dataclass(frozen=True)
class ScriptedReply:
    """A scripted reply with explicit accounting; ``None`` token counts mean "estimate as len // 4"."""

    text: str
    cost: float | None = 0.0
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0


Reply = str | Callable[[list], str] | BaseException | ScriptedReply


def code_reply(code: str, reasoning: str = "Let me look.") -> str:
    """A model reply: a line of reasoning, then one ```python fenced block holding ``code`` (dedented)."""
    body = textwrap.dedent(code).strip("\n")
    return f"{reasoning}\n\n```python\n{body}\n```"


def _estimate_tokens(messages: list[dict]) -> int:
    """len // 4 of every text in the messages, content-part lists included."""
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(part.get("text", "")) for part in content if isinstance(part, dict))
    return total // 4


class ScriptedLM:
    """As ``repo_auditor.rlm.lm.LM``: ``model``, ``usage``, ``complete``, ``acomplete``, ``__call__``."""

    def __init__(
        self,
        replies: list[Reply] | tuple[Reply, ...] = (),
        *,
        model: str = "scripted/model",
        cost: float | None = 0.0,
        price: tuple[float, float] | None = (1e-6, 2e-6),
    ):
        self.model = model
        self.cost = cost  # cost of each plain-string reply; a ScriptedReply sets its own
        # USD per input / output token, as LM.price: a priced (hosted) model unless None, which makes it a local one
        # (samples="auto" then asks the direct prompt 8 times)
        self.price = price
        self.usage = Usage()
        self.requests: list[list[dict]] = []
        self.overrides: list[dict[str, Any]] = []  # keyword overrides of each request, parallel to .requests
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.enqueue(*replies)

    def enqueue(self, *replies: Reply) -> None:
        """Append replies to the end of the script."""
        for reply in replies:
            if not isinstance(reply, (str, BaseException, ScriptedReply)) and not callable(reply):
                raise TypeError(
                    f"ScriptedLM reply must be a str, callable, exception or ScriptedReply, "
                    f"got {type(reply).__name__}"
                )
        with self._lock:
            self._replies.extend(replies)

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been used yet."""
        with self._lock:
            return len(self._replies)

    def complete(self, messages: list[dict], **overrides: Any) -> Completion:
        with self._lock:
            number = len(self.requests) + 1
            self.requests.append(copy.deepcopy(messages))
            self.overrides.append(dict(overrides))
            if not self._replies:
                last = messages[-1].get("content") if messages else None
                raise AssertionError(
                    f"ScriptedLM ran out of replies at request #{number}; enqueue more. "
                    f"Last message of that request: {str(last)[:300]!r}"
                )
            reply = self._replies.popleft()
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, ScriptedReply):
            scripted = reply
        elif isinstance(reply, str):
            scripted = ScriptedReply(reply, cost=self.cost)
        else:
            text = reply(copy.deepcopy(messages))
            if not isinstance(text, str):
                raise AssertionError(f"ScriptedLM reply callable must return str, got {type(text).__name__}")
            scripted = ScriptedReply(text, cost=self.cost)
        completion = Completion(
            text=scripted.text,
            model=self.model,
            prompt_tokens=(
                scripted.prompt_tokens if scripted.prompt_tokens is not None else _estimate_tokens(messages)
            ),
            completion_tokens=(
                scripted.completion_tokens
                if scripted.completion_tokens is not None
                else len(scripted.text) // 4
            ),
            cached_tokens=scripted.cached_tokens,
            cost=scripted.cost,
            finish_reason=scripted.finish_reason,
        )
        with self._lock:
            self.usage.add(completion)
        return completion

    async def acomplete(self, messages: list[dict], **overrides: Any) -> Completion:
        return self.complete(messages, **overrides)

    def __call__(self, prompt: str | list[dict], **overrides: Any) -> str:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        return self.complete(messages, **overrides).text

    def __repr__(self) -> str:
        return f"ScriptedLM(model={self.model!r}, remaining={self.remaining}, requests={len(self.requests)})"
