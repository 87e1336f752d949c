"""A file named after a secret (``keys/AKIA....txt``) shows as a marker in every report format of audit and review,
not only to the model: findings verification moved there, the review's coverage list, SARIF locations. Secrets are
built at run time."""

from __future__ import annotations

import json
import random
import string

import pytest

from repo_auditor.cli import main
from tests.support.scripted_lm import code_reply

EVIDENCE = "rotate_after_days = 90"
SHOWN = "keys/[REDACTED:aws_access_key].txt"


def aws_key() -> str:
    body = [random.choice(string.ascii_uppercase + "234567") for _ in range(15)]
    body.insert(random.randrange(16), random.choice("234567"))
    return "AKIA" + "".join(body)


@pytest.fixture
def key(shop) -> str:
    """A commit on top of tag v1 adding a file whose name is an AWS key id."""
    key = aws_key()
    shop.write(f"keys/{key}.txt", f'region = "eu-west-1"\n{EVIDENCE}\n')
    shop.commit("rotation settings")
    return key


# The model cites the wrong file; verification moves the finding to the only file holding the evidence: the one
# whose name the model never saw.
FINDING = {"title": "Keys rotate rarely", "severity": "low", "category": "security/secrets", "path": "app/db.py",
           "line": 1, "evidence": EVIDENCE, "explanation": "keys live for three months"}


def everything(server, result) -> str:
    return "\n".join(json.dumps(r.body) for r in server.chat_requests) + result.stdout


@pytest.mark.parametrize("format_", ["markdown", "json"])
def test_audit_report_names_the_file_as_the_model_saw_it(runner, server, shop, key, format_):
    server.enqueue(
        code_reply('print(read_file("keys"))'),
        code_reply(f"SUBMIT(answer='Rotation is slow.', findings=[{FINDING!r}])"),
        json.dumps({"answer": "Rotation is slow.", "findings": [FINDING]}),
    )
    trace = shop.path.parent / "run.jsonl"
    result = runner.invoke(main, [str(shop.path), "How are keys rotated?", "--model", "openai/x", "--api-base",
                                  server.url, "--format", format_, "--trace", str(trace)])
    assert result.exit_code == 0, result.stderr
    assert "[REDACTED:aws_access_key].txt  (2 lines)" in server.chat_requests[1].body["messages"][-1]["content"]
    assert key not in everything(server, result)
    assert key not in trace.read_text() and SHOWN in trace.read_text()  # the trace's findings record too
    if format_ == "json":
        [finding] = json.loads(result.stdout)["findings"]
        assert finding["verified"] is True and finding["location"]["path"] == SHOWN
        assert SHOWN in finding["verification_note"]
    else:
        assert "keys/\\[REDACTED:aws\\_access\\_key\\].txt" in result.stdout


def test_a_finding_citing_the_file_by_the_name_the_model_saw_is_verified_there(runner, server, shop, key):
    cited = {**FINDING, "path": SHOWN, "line": 2}
    server.enqueue(
        code_reply(f"SUBMIT(answer='Rotation is slow.', findings=[{cited!r}])"),
        json.dumps({"answer": "Rotation is slow.", "findings": [cited]}),
    )
    result = runner.invoke(main, [str(shop.path), "How are keys rotated?", "--model", "openai/x", "--api-base",
                                  server.url, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["location"], finding["verified"]) == ({"path": SHOWN, "line": 2, "end_line": None}, True)
    assert key not in result.stdout


@pytest.mark.parametrize("format_", ["markdown", "json", "sarif"])
def test_review_report_names_the_file_as_the_model_saw_it(runner, server, shop, key, format_):
    server.enqueue(code_reply(f"SUBMIT(answer='Rotation is slow.', findings=[{FINDING!r}])", "Done."))
    result = runner.invoke(main, ["review", str(shop.path), "--base", "v1", "--model", "openai/x", "--api-base",
                                  server.url, "--format", format_])
    assert result.exit_code == 0, result.stderr
    first = json.dumps(server.chat_requests[0].body)
    assert EVIDENCE in first and json.dumps(SHOWN)[1:-1] in first  # the diff was given, its file name redacted
    assert key not in everything(server, result)
    if format_ == "json":
        data = json.loads(result.stdout)
        assert [f["location"]["path"] for f in data["findings"]] == [SHOWN]
        assert [f["path"] for f in data["review"]["files"]] == [SHOWN]
    elif format_ == "sarif":
        [run] = json.loads(result.stdout)["runs"]
        [alert] = run["results"]
        assert alert["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == SHOWN
    else:
        assert "keys/\\[REDACTED:aws\\_access\\_key\\].txt" in result.stdout


def test_the_direct_strategy_shows_the_name_redacted(shop, key):
    from repo_auditor.audit.direct import render_files
    from repo_auditor.repository import Repository

    with Repository.open(shop.path) as repo:
        shown = render_files(repo)
    assert f"=== {SHOWN} (2 lines) ===" in shown and key not in shown
