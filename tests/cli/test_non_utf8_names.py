"""Any file name git can store works end to end: a name that is not UTF-8 is shown with ``\\xNN`` escapes by every
tool, in the file tree and in the reports, the model can pass that name back, and no output is invalid UTF-8."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from repo_auditor.cli import main
from repo_auditor.tools import RepoTools
from tests.gitrepo import GitRepo
from tests.support.scripted_lm import code_reply

RAW_NAME = b"caf\xe9.py"  # latin-1 e-acute: not valid UTF-8
SHOWN = "caf\\xe9.py"
SQL = 'cursor.execute("SELECT * FROM t WHERE name = \'%s\'" % name)'


@pytest.fixture
def latin1_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.init(tmp_path / "latin1")
    repo.write("ok.py", "import sqlite3\n")
    (repo.path / os.fsdecode(RAW_NAME)).write_bytes(f"def find(cursor, name):\n    {SQL}\n".encode())
    repo.commit("files")
    return repo


@pytest.mark.parametrize("ref", [None, "HEAD"], ids=["work-tree", "at-a-ref"])
def test_tools_show_and_accept_the_escaped_name(latin1_repo, ref):
    with RepoTools(latin1_repo.path, ref=ref) as tools:
        listing = tools.read_file(".")
        assert SHOWN in listing
        hits = tools.grep("execute", context=1)
        assert f"{SHOWN}:2:" in hits
        content = tools.read_file(SHOWN)
        assert SQL in content
        assert f"{SHOWN}:" in tools.grep("execute", path=SHOWN)
        for text in (listing, hits, content):
            text.encode("utf-8")  # no lone surrogates: the text can cross into the sandbox and into JSON


def test_an_audit_cites_the_escaped_name_and_writes_valid_utf8(runner, server, latin1_repo, tmp_path):
    finding = {"title": "SQL built by formatting", "severity": "high", "path": SHOWN, "line": 2, "evidence": SQL,
               "explanation": "name is formatted into the query."}
    server.enqueue(
        code_reply('print(read_file("."))\nprint(grep("execute"))'),
        code_reply(f"SUBMIT(answer='see {SHOWN}', findings=[{finding!r}])"),
        json.dumps({"answer": f"`find` in {SHOWN} formats SQL.", "findings": [finding]}),
    )
    out = tmp_path / "report.json"
    result = runner.invoke(main, [str(latin1_repo.path), "q?", "--model", "openai/x", "--api-base", server.url,
                                  "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(out.read_bytes().decode("utf-8"))  # strict UTF-8
    assert data["findings"][0]["location"]["path"] == SHOWN and data["findings"][0]["verified"] is True
    first_observation = server.chat_requests[1].body["messages"][-1]["content"]
    assert SHOWN in first_observation


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_architecture_report_with_a_non_utf8_name(runner, latin1_repo, tmp_path, fmt):
    out = tmp_path / f"architecture.{fmt}"
    result = runner.invoke(main, ["architecture", str(latin1_repo.path), "--no-llm", "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    out.read_bytes().decode("utf-8")  # strict: raises on invalid UTF-8
