"""Batch tests: generated git repositories, a model server that answers from the request (many workers ask at
once, in no fixed order), and manifests written for them."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.scripted_lm import code_reply

SQL_LINE = "query = \"SELECT * FROM users WHERE name = '%s'\" % name"
QUESTION = "Where is user input passed to SQL without parameters?"
SLOW_MARK = "slow_repository"  # a file of this name makes the model's replies for that repository slow


def make_repositories(root: Path, count: int, *, slow: int | None = None) -> list[Path]:
    """``count`` small git repositories, each with an import cycle (app <-> lib) and one SQL injection."""
    paths = []
    for number in range(count):
        repo = GitRepo.init(root / f"repo{number:02d}")
        repo.write("pyproject.toml", f'[project]\nname = "repo{number:02d}"\n')
        repo.write("app/__init__.py", "")
        repo.write("app/db.py", f"from lib import util\n\n\ndef find_user(name):\n    {SQL_LINE}\n    return query\n")
        repo.write("app/web.py", "from app import db\n\n\ndef handler(request):\n    return db.find_user(request)\n")
        repo.write("lib/util.py", f"from app import db\n\nVALUE = {number}\n")
        repo.write("lib/__init__.py", "")
        if number == slow:
            repo.write(f"{SLOW_MARK}.txt", "replies for this repository are slow\n")
        repo.commit("first")
        paths.append(repo.path)
    return paths


def responder(delay_for_slow: float = 0.0) -> Callable[[Any], Any]:
    """An exploring model that reads app/db.py, then submits one finding on it (and one invented finding)."""

    def answer(body: Any) -> Any:
        messages = body["messages"]
        turns = sum(1 for m in messages if m["role"] == "assistant")
        slow = delay_for_slow if any(SLOW_MARK in str(m.get("content")) for m in messages) else 0.0
        if turns == 0:
            return Reply(code_reply('print(read_file("app/db.py", start_line=4, end_line=6))'), delay=slow)
        findings = [
            {"title": "SQL built with string formatting", "severity": "high", "path": "app/db.py", "line": 5,
             "evidence": SQL_LINE, "explanation": "name is formatted into the query."},
            {"title": "eval of request data", "severity": "critical", "path": "app/web.py", "line": 2,
             "evidence": "eval(request.body)", "explanation": "invented; not in the code."},
        ]
        return Reply(code_reply(f"SUBMIT(answer='find_user formats SQL (app/db.py:5).', findings={findings!r})"),
                     delay=slow)

    return answer


def write_manifest(path: Path, repositories: list[str], server_url: str | None, *, extra_jobs: str = "",
                   settings: str = "") -> Path:
    """A manifest with the architecture job (no model) and, given a server, an audit against it."""
    text = f"repositories = {json.dumps(repositories)}\n\n[settings]\nsynthesize = false\n{settings}\n"
    if server_url:
        text += f'model = "openai/scripted"\napi_base = "{server_url}"\n'
    text += '\n[[jobs]]\nkind = "architecture"\nmodel = false\n'
    if server_url:
        text += f'\n[[jobs]]\nkind = "audit"\nquestion = "{QUESTION}"\n'
    path.write_text(text + textwrap.dedent(extra_jobs), encoding="utf-8")
    return path


@pytest.fixture
def warm_snapshot():
    """Start one sandbox first, so that the workers do not all build the Pyodide snapshot at once."""
    from repo_auditor.sandbox import DenoInterpreter

    with DenoInterpreter() as sandbox:
        sandbox.start()


@pytest.fixture
def model_server(warm_snapshot):
    with OpenAIServer(responder=responder()) as server:
        yield server


def rows_by_key(store: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in store.rows("runs"):
        found.setdefault(row["key"], []).append(row)
    return found
