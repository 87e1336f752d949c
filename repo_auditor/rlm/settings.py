"""Process-wide defaults for ``RLM``: ``repo_auditor.configure(lm=..., sub_lm=...)``.

An ``RLM`` built without ``lm=`` uses the model configured here *at call time*, so ``configure`` may come before or after
the ``RLM`` is built. ``settings.context(lm=...)`` overrides the defaults inside a ``with`` block (per thread and task).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from typing import Any

from repo_auditor.errors import ConfigurationError

_lock = threading.Lock()
_defaults: dict[str, Any] = {"lm": None, "sub_lm": None}
_overrides: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("repo_auditor_settings",
                                                                                    default=None)


def configure(*, lm: Any = None, sub_lm: Any = None) -> None:
    """Set the default root model (``lm``) and sub-call model (``sub_lm``) for every ``RLM`` in this process.

    A model is a ``repo_auditor.LM`` (or anything with ``complete(messages)``); a string is turned into ``LM(string)``.
    Passing ``None`` leaves that setting unchanged."""
    with _lock:
        if lm is not None:
            _defaults["lm"] = as_lm(lm, "lm")
        if sub_lm is not None:
            _defaults["sub_lm"] = as_lm(sub_lm, "sub_lm")


def reset() -> None:
    """Forget every configured default (for tests and long-lived processes)."""
    with _lock:
        _defaults.update(lm=None, sub_lm=None)


@contextlib.contextmanager
def context(*, lm: Any = None, sub_lm: Any = None) -> Iterator[None]:
    """Override the defaults inside a ``with`` block, for the current thread or asyncio task only."""
    current = dict(_overrides.get() or {})
    if lm is not None:
        current["lm"] = as_lm(lm, "lm")
    if sub_lm is not None:
        current["sub_lm"] = as_lm(sub_lm, "sub_lm")
    token = _overrides.set(current)
    try:
        yield
    finally:
        _overrides.reset(token)


def get(name: str) -> Any:
    """The current value of a setting (``"lm"`` or ``"sub_lm"``), or None."""
    override = _overrides.get() or {}
    if override.get(name) is not None:
        return override[name]
    with _lock:
        return _defaults[name]


def as_lm(value: Any, what: str) -> Any:
    """Accept an LM-like object, or a model name string turned into ``repo_auditor.rlm.lm.LM``."""
    if isinstance(value, str):
        from repo_auditor.rlm.lm import LM

        return LM(value)
    if not callable(getattr(value, "complete", None)):
        raise ConfigurationError(
            f"{what} must be a repo_auditor.LM (or have a complete(messages) method) or a model name like "
            f"'openai/gpt-4o', got {type(value).__name__}"
        )
    return value


def resolve_lm(explicit: Any) -> Any:
    """The root model for a run: ``explicit`` if given, else the configured default, else ``ConfigurationError``."""
    lm = explicit if explicit is not None else get("lm")
    if lm is None:
        raise ConfigurationError(
            "no language model configured; pass RLM(..., lm=repo_auditor.LM('openai/gpt-4o')) or call "
            "repo_auditor.configure(lm=repo_auditor.LM('openai/gpt-4o')) first"
        )
    return lm


def takes_max_tokens(lm: Any) -> bool:
    """Whether ``lm.complete`` accepts ``max_tokens=`` (an LM-like object may take only the messages)."""
    import inspect

    try:
        params = inspect.signature(lm.complete).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or p.name == "max_tokens" for p in params)
