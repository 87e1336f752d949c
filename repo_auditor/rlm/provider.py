"""litellm, imported once on first use, and provider failures -> what the adapter does next.

``litellm_module()`` imports litellm (seconds) the first time a model is called, never at import time.
Every exception litellm raises is sorted here (``classify_failure``) into retry (429, 5xx, timeouts, connection
failures), auth, not_found, response or rejected, with the provider's message on one line and the API key removed.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

from repo_auditor.errors import (
    LMAuthenticationError,
    LMConnectionError,
    LMError,
    LMNotFoundError,
    LMResponseError,
)

# Error details quoted from the provider are cut to this length to keep our messages on one line.
MAX_DETAIL_CHARS = 240
# API keys are replaced by *** in every message we build; shorter "keys" (placeholders such as "x" for local
# servers) are left alone, or every "x" in a message would become ***.
MIN_REDACTED_SECRET = 8

# -- litellm, imported once on first use ---------------------------------------------------------------------

_litellm: Any = None
_litellm_lock = threading.Lock()


def litellm_module() -> Any:
    """Import and prepare litellm (seconds, once per process).

    The offline warm-up call builds pydantic schemas that otherwise emit a ``UserWarning`` on the first real
    call (which ``-W error`` and pytest's ``filterwarnings = error`` turn into a failed request).
    """
    global _litellm
    with _litellm_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import litellm

                litellm.suppress_debug_info = True
                litellm.completion(
                    model="openai/warm-up", messages=[{"role": "user", "content": "-"}], mock_response="-"
                )
            _litellm = litellm
    return _litellm


def loaded_litellm() -> Any:
    """litellm if this process has imported it already, else None (closing clients must not import it)."""
    return _litellm


# -- failures ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """How one failed attempt is handled: ``kind`` is retry, empty (retried too), auth, not_found, response or
    rejected."""

    kind: str
    detail: str
    status: int | None = None
    retry_after: float | None = None


_PREFIX = re.compile(r"^(?:litellm\.)?[A-Za-z]*(?:Error|Exception|Timeout)(?: - |: )\s*")
_MISSING_KEY_MARKERS = (
    "missing credentials",
    "missing api key",
    "api_key client option must be set",
    "no api key",
    "api key is not set",
)


def _detail(exc: BaseException, secret: str | None) -> str:
    """The provider's message on one line, without litellm's class-name prefixes or the secret."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    previous = None
    while previous != text:
        previous, text = text, _PREFIX.sub("", text, count=1)
    if secret and len(secret) >= MIN_REDACTED_SECRET:
        text = text.replace(secret, "***")
    if len(text) > MAX_DETAIL_CHARS:
        text = text[:MAX_DETAIL_CHARS] + "..."
    return text


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of type ``kind`` in the chain of causes of ``exc``, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from the ``retry-after-ms`` / ``Retry-After`` headers (a number or an HTTP date), if any."""
    headers = getattr(exc, "litellm_response_headers", None)
    if not headers:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    try:
        milliseconds = headers.get("retry-after-ms")
        if milliseconds is not None:
            return max(0.0, float(milliseconds) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, AttributeError):  # a header we cannot read is the same as no header
        return None


class EmptyReply(Exception):
    """A 200 reply with an empty ``choices`` list: a provider hiccup, retried like a 5xx."""


def classify_failure(exc: Exception, secret: str | None) -> Failure:
    """Decide whether a failed litellm call is worth retrying, and which error it becomes if not."""
    import openai  # installed with litellm, and already imported by it

    if isinstance(exc, EmptyReply):
        return Failure("empty", str(exc))

    detail = _detail(exc, secret)
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    lowered = detail.lower()
    bad_json = _cause(exc, json.JSONDecodeError)
    if bad_json is not None:
        return Failure("response", f"invalid JSON: {bad_json}")
    # litellm wraps provider failures in openai's exception classes; anything else (IndexError, KeyError, ...)
    # means it choked on the shape of the reply.
    if not isinstance(exc, openai.OpenAIError):
        return Failure("response", f"{type(exc).__name__}: {detail}", status)
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)) or status in (401, 403):
        return Failure("auth", detail, status)
    if any(marker in lowered for marker in _MISSING_KEY_MARKERS):  # litellm reports some as HTTP 500
        return Failure("auth", detail)
    if isinstance(exc, openai.NotFoundError) or status == 404 or "llm provider not provided" in lowered:
        return Failure("not_found", detail, status)
    if isinstance(exc, openai.RateLimitError) or status == 429:
        return Failure("retry", detail, 429, _retry_after(exc))
    # Connection failures and timeouts; the status codes litellm gives them (500, 408) were never sent.
    if isinstance(exc, openai.APIConnectionError):
        return Failure("retry", detail)
    if status is not None and status >= 500:
        return Failure("retry", detail, status, _retry_after(exc))
    return Failure("rejected", detail, status)


def provider_of(model: str) -> str | None:
    try:
        return litellm_module().get_llm_provider(model)[1]
    except Exception:  # litellm raises BadRequestError for names it cannot place
        return None


def key_env_vars(model: str) -> tuple[str, ...]:
    """The environment variables that hold the provider's key (the missing ones when litellm knows)."""
    litellm = litellm_module()
    try:
        missing = tuple(litellm.validate_environment(model)["missing_keys"])
    except Exception:  # validate_environment is best effort in litellm too
        missing = ()
    if missing:
        return missing
    provider = provider_of(model)
    return (f"{provider.upper()}_API_KEY",) if provider else ()


def to_error(failure: Failure, model: str, attempts: int) -> LMError:
    status = f"HTTP {failure.status}: " if failure.status else ""
    if failure.kind == "auth":
        names = " or ".join(key_env_vars(model)) or "the provider's API key variable"
        return LMAuthenticationError(
            f"{model}: credentials missing or rejected ({status}{failure.detail}); set {names} "
            f"or pass api_key",
            model=model,
        )
    if failure.kind == "not_found":
        return LMNotFoundError(
            f"{model}: unknown model ({status}{failure.detail}); use a litellm model name with its provider "
            f"prefix, e.g. openai/gpt-4o or anthropic/claude-sonnet-4-5",
            model=model,
        )
    if failure.kind in ("empty", "response"):
        what = (f"the provider's replies had no choices after {attempts} attempt{'s' if attempts != 1 else ''}"
                if failure.kind == "empty" else f"malformed reply from the provider ({failure.detail})")
        return LMResponseError(
            f"{model}: {what}; check that api_base points at an OpenAI-compatible server, or retry later", model=model)
    if failure.kind == "retry":
        return LMConnectionError(
            f"{model}: provider failing after {attempts} attempt{'s' if attempts != 1 else ''} "
            f"({status}{failure.detail}); check the network and api_base, or raise timeout / num_retries",
            model=model,
        )
    return LMError(f"{model}: request rejected ({status}{failure.detail})", model=model)



# -- a first check of a model name, without importing litellm ---------------------------------------------

# The key variables of the providers people use most; a name with one of these prefixes (or a bare OpenAI name)
# can be checked in microseconds, so a missing key fails before anything slow runs. Other names are left to
# ``LM.check`` (litellm's own tables).
WELL_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY", "TOGETHER_AI_TOKEN"),
    "xai": ("XAI_API_KEY",),
    "cohere": ("COHERE_API_KEY", "CO_API_KEY"),
}
# Prefixes of bare OpenAI model names (litellm routes "gpt-4o" to OpenAI).
BARE_OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-")


def quick_key_problem(model: str, *, api_base: str | None, api_key: str | None = None) -> str | None:
    """A one-line problem when a well-known provider's key is missing, else None. Never imports litellm.

    A custom ``api_base`` often needs no key (self-hosted servers), so nothing is reported then.
    """
    if api_key or api_base:
        return None
    name = model.strip()
    provider = name.split("/", 1)[0] if "/" in name else ("openai" if name.startswith(BARE_OPENAI_PREFIXES) else "")
    names = WELL_KNOWN_KEYS.get(provider)
    if not names or any(os.environ.get(var) for var in names):
        return None
    return f"{name}: no API key; set {' or '.join(names)} (or --api-base for a self-hosted server)"


def model_price(model: str | None) -> tuple[float, float] | None:
    """USD per input and per output token from litellm's price table, or None when it has no price (a local or
    self-hosted model, a name it does not know)."""
    if not model:
        return None
    try:
        info = litellm_module().get_model_info(model)
    except Exception:  # litellm raises for models missing from its table
        return None
    if info.get("input_cost_per_token") is None or info.get("output_cost_per_token") is None:
        return None
    return float(info["input_cost_per_token"]), float(info["output_cost_per_token"])
