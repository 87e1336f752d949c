"""Secrets in a reviewed change never reach the model or the review: the diff and the changed files pass through the
redactor (each content line from the redacted whole file), and findings are verified against the redacted view.
``--no-redact`` turns that off, visibly. Secrets are built at run time."""

from __future__ import annotations

import json
import random
import secrets
import string

import pytest

from repo_auditor.cli import main
from repo_auditor.review.diff import parse_diff, redact_changes
from repo_auditor.review.pipeline import review
from repo_auditor.tools.redaction import redact
from tests.review.test_pipeline import FakeExplorer
from tests.support.scripted_lm import ScriptedLM, code_reply

SETTINGS = "app/settings.py"


def aws_key() -> str:
    """An AWS access key id of the real format with at least one digit (the redactor leaves an all-letter one
    alone, about 3.6% of real ids: a known gap of the detection rules, not of the review's paths)."""
    body = [random.choice(string.ascii_uppercase + "234567") for _ in range(15)]
    body.insert(random.randrange(16), random.choice("234567"))
    return "AKIA" + "".join(body)


def add_secrets(shop) -> tuple[str, str, str]:
    """Commit a change adding an AWS key id and a password; returns (key, password, the password line as the
    model sees it)."""
    key, password = aws_key(), secrets.token_urlsafe(18)
    text = f'"""Settings."""\n\nAWS_ACCESS_KEY_ID = "{key}"\npassword = "{password}"\nDEBUG = False\n'
    shop.repo.write(SETTINGS, text)
    shop.repo.commit("settings")
    shown = redact(text, SETTINGS).split("\n")[3]
    assert password not in shown and key not in redact(text, SETTINGS)
    return key, password, shown


def finding(evidence: str) -> dict:
    return {"title": "Hard-coded password", "severity": "high", "category": "security/secrets", "path": SETTINGS,
            "line": 4, "evidence": evidence, "explanation": "a password is committed to the repository"}


def run(runner, server, shop, *extra: str):
    return runner.invoke(main, ["review", str(shop.path), "--base", "main", "--model", "openai/x",
                                "--api-base", server.url, *extra])


def requests_text(server) -> str:
    return "\n".join(json.dumps(r.body) for r in server.chat_requests)


@pytest.mark.parametrize("format_", ["markdown", "json", "sarif"])
def test_a_change_adding_secrets_reaches_neither_model_nor_review(runner, server, shop, format_):
    key, password, shown = add_secrets(shop)
    server.enqueue(
        code_reply(f"print(diff)\nprint(changed_files)\nprint(read_file({SETTINGS!r}))", "Look at the change."),
        code_reply(f"SUBMIT(answer='A password is committed.', findings={[finding(shown)]!r})", "Done."),
    )
    result = run(runner, server, shop, "--format", format_)
    assert result.exit_code == 0, result.stderr
    first = json.dumps(server.chat_requests[0].body)
    assert "AWS_ACCESS_KEY_ID" in first and "[REDACTED:" in first  # the diff was given, redacted
    everything = requests_text(server) + result.stdout
    assert key not in everything and password not in everything
    if format_ != "sarif":  # SARIF carries no evidence text
        assert "[REDACTED:password]" in result.stdout  # the verified finding quotes what the model saw
    if format_ == "json":
        data = json.loads(result.stdout)
        assert data["redaction"] == "on" and data["summary"]["verified"] == 1
    if format_ == "sarif":
        [run_] = json.loads(result.stdout)["runs"]
        assert run_["properties"]["redaction"] == "on" and len(run_["results"]) == 1


def test_no_redact_shows_secrets_and_says_so(runner, server, shop):
    key, password, _ = add_secrets(shop)
    raw_line = f'password = "{password}"'
    server.enqueue(code_reply(f"SUBMIT(answer='A password is committed.', findings={[finding(raw_line)]!r})",
                              "Done."))
    result = run(runner, server, shop, "--no-redact")
    assert result.exit_code == 0, result.stderr
    assert key in json.dumps(server.chat_requests[0].body)  # off means off, for the diff too
    assert "**Warning: secret redaction was OFF for this review (`--no-redact`).**" in result.stdout
    server.enqueue(code_reply("SUBMIT(answer='ok', findings=[])", "Done."))
    data = json.loads(run(runner, server, shop, "--no-redact", "--format", "json").stdout)
    assert data["redaction"] == "off"


def test_removed_and_multi_line_secrets_are_redacted_in_the_diff(shop):
    """A secret on a removed line (from the redacted base file) and an added private key block stay out of the
    diff."""
    old_password = secrets.token_urlsafe(18)
    shop.repo.write("app/old.py", f'password = "{old_password}"\nUSER = "shop"\n')
    shop.repo.commit("old settings")
    shop.repo.git("branch", "-f", "main", "HEAD")
    body = "\n".join(secrets.token_urlsafe(48)[:64] for _ in range(6))
    block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
    shop.repo.write("app/old.py", 'USER = "shop"\n')
    shop.repo.write("deploy/id_rsa", block)
    shop.repo.commit("rotate")
    explorer = FakeExplorer([])
    review(shop.path, "main", lm=ScriptedLM([]), explorer_factory=explorer.factory)
    [inputs] = explorer.calls
    diff = inputs["diff"]
    assert "-password = \"[REDACTED:" in diff and old_password not in diff
    assert "+[REDACTED:private_key]" in diff
    assert not any(line in diff for line in body.split("\n"))
    assert {f["path"] for f in inputs["changed_files"]} == {"app/old.py", "deploy/id_rsa"}


def test_without_the_files_each_hunk_is_redacted_as_one_text():
    """No head or base file to read (out of scope, unreadable): each side of a hunk is redacted as one text, so a
    private key block split over "+" lines is still found, and path rules apply (.env)."""
    body = [secrets.token_urlsafe(48)[:64] for _ in range(5)]
    token = secrets.token_urlsafe(24)
    key_lines = ["-----BEGIN OPENSSH PRIVATE KEY-----", *body, "-----END OPENSSH PRIVATE KEY-----"]
    diff = ("diff --git a/id b/id\nnew file mode 100644\n--- /dev/null\n+++ b/id\n"
            f"@@ -0,0 +1,{len(key_lines)} @@\n" + "".join(f"+{line}\n" for line in key_lines)
            + "diff --git a/.env b/.env\n--- a/.env\n+++ b/.env\n@@ -1,2 +1,2 @@\n DEBUG=1\n"
            f"-SESSION_SECRET=old\n+SESSION_SECRET={token}\n")
    files = redact_changes(parse_diff(diff), head=lambda path: None, base=lambda path: None, redact=redact)
    shown = "".join(f.patch for f in files)
    assert not any(line in shown for line in body) and token not in shown
    assert shown.count("\n") == diff.count("\n")  # line counts kept: hunk ranges stay valid
    assert [f.ranges for f in files] == [f.ranges for f in parse_diff(diff)]
