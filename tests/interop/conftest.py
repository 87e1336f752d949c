"""Fixtures for the dspy interop tests: a small real git repository, RepoTools bound to it, a fake OpenAI server,
and dspy with its response cache switched off.

dspy is an optional extra (``pip install "repo_auditor[dspy]"``); without it each test module here is reported as
skipped with that reason (``pytest.importorskip`` at the top of the module), never as passed. This file imports dspy
only inside fixtures: a skip raised while a conftest loads would stop the whole test run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repo_auditor.tools import RepoTools
from tests.gitrepo import GitRepo, git_env
from tests.support.openai_server import OpenAIServer

DSPY_MISSING = "dspy is an optional extra: pip install 'repo_auditor[dspy]'"

CONFIG_PY = "DEBUG = True\nSECRET_NAME = 'session'\nTIMEOUT_SECONDS = 30\n"
SERVER_PY = (
    "from app.config import TIMEOUT_SECONDS\n"
    "\n"
    "\n"
    "class Server:\n"
    "    def handle(self, request):\n"
    "        return request.wait(TIMEOUT_SECONDS)\n"
    "\n"
    "\n"
    "def start():\n"
    "    return Server()\n"
)


def code_reply(reasoning: str, code: str) -> str:
    """A reply in the format dspy's ChatAdapter asks RLM's action step for: a reasoning and a code field."""
    return (f"[[ ## reasoning ## ]]\n{reasoning}\n\n[[ ## code ## ]]\n```python\n{code}\n```\n\n"
            f"[[ ## completed ## ]]\n")


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader runs git: keep the user's global configuration and ignore file out of every test."""
    for key, value in git_env().items():
        if key.startswith("GIT_CONFIG"):
            monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def repo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed two-file Python project (read-only for tests)."""
    repo = GitRepo.init(tmp_path_factory.mktemp("interop") / "repo")
    repo.write("app/__init__.py", "")
    repo.write("app/config.py", CONFIG_PY)
    repo.write("app/server.py", SERVER_PY)
    repo.commit("first")
    return repo.path


@pytest.fixture
def repo_tools(repo_path: Path) -> Iterator[RepoTools]:
    with RepoTools(repo_path) as tools:
        yield tools


@pytest.fixture(scope="session")
def runtime_ready() -> None:
    """Pyodide in the user cache (fetched from the npm registry once per machine), for the sandbox tests."""
    from repo_auditor.sandbox import ensure_runtime

    ensure_runtime(fetch=True)


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_dspy_cache() -> Iterator[None]:
    """No response cache: a scripted reply must never be answered from an earlier test's memory or from disk."""
    import dspy

    previous = vars(dspy).get("cache")  # not ``dspy.cache``: reading it builds the default cache in ~/.dspy_cache
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    yield
    if previous is None:
        del dspy.cache
    else:
        dspy.cache = previous


@pytest.fixture
def dspy_lm(openai_server: OpenAIServer):
    """A dspy LM talking to the fake server (litellm underneath, as in production), without retries or cache."""
    import dspy

    return dspy.LM("openai/x", api_base=openai_server.url, api_key="sk-test", cache=False, num_retries=0)
