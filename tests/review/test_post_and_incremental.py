"""``--post github`` keeps one review per PR up to date; ``--incremental`` reviews only the new commits and keeps
earlier findings that still apply, so pushing twice duplicates neither comments nor findings."""

from __future__ import annotations

import json

from repo_auditor.cli import main
from repo_auditor.review.marker import find_marker
from tests.review.conftest import change_signature, introduce_sql_bug
from tests.review.test_review_cli import CALLER_FINDING, SQL_FINDING, submit
from tests.support.scripted_lm import code_reply


def open_pull(github, shop, number: int) -> None:
    """Tell the fake GitHub the pull request's head and diff (GitHub's diff is base...head, 3 lines of context)."""
    github.open_pull(number, shop.repo.head(), shop.repo.git("diff", "main...HEAD"))


def post(runner, server, shop, github, *extra: str, pr: int = 4):
    open_pull(github, shop, pr)
    return runner.invoke(main, ["review", str(shop.path), "--base", "main", "--model", "openai/x",
                                "--api-base", server.url, "--post", "github", "--api-url", github.url, *extra])


def test_post_creates_then_updates_one_review(runner, server, shop, github, tmp_path, monkeypatch):
    introduce_sql_bug(shop.repo)
    github.add_comment(7, "LGTM from a human")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    server.enqueue(submit([SQL_FINDING]))
    first = post(runner, server, shop, github, "--format", "github", pr=7)
    assert first.exit_code == 0, first.stderr
    assert "review created on PR #7 (inline comments: 1 new, 0 kept, 0 removed)" in first.stderr
    assert first.stdout.startswith("::error file=app/db.py")  # the chosen format still goes to stdout
    server.enqueue(submit([SQL_FINDING]))
    second = post(runner, server, shop, github, "--fail-on", "high", pr=7)
    assert second.exit_code == 3
    assert "review updated on PR #7 (inline comments: 0 new, 1 kept, 0 removed)" in second.stderr
    assert [c["body"] for c in github.comments[7]] == ["LGTM from a human"]  # the human's comment is untouched
    [review] = github.reviews[7]
    marker = find_marker(review["body"])
    assert marker is not None and marker.head == shop.repo.head() and len(marker.fingerprints) == 1
    assert [r.method for r in github.requests if r.method != "GET"] == ["POST", "PUT"]


def test_incremental_reviews_only_new_commits_and_keeps_findings(runner, server, shop, github):
    first_head = introduce_sql_bug(shop.repo)
    server.enqueue(submit([SQL_FINDING]))
    assert post(runner, server, shop, github, "--pr", "4").exit_code == 0
    change_signature(shop.repo)
    server.enqueue(code_reply("print([f['path'] for f in changed_files])", "What changed since last time?"),
                   submit([CALLER_FINDING]))
    second = post(runner, server, shop, github, "--pr", "4", "--incremental", "--format", "json")
    assert second.exit_code == 0, second.stderr
    seen = server.chat_requests[-1].body["messages"][-1]["content"]
    assert "['app/pricing.py']" in seen  # only the commit since the last review went to the model
    data = json.loads(second.stdout)
    assert data["review"]["incremental_from"] == first_head and data["review"]["kept_findings"] == 1
    titles = sorted(f["title"] for f in data["findings"] if f["verified"])
    assert titles == ["Caller not updated for the new discount parameter", "SQL built with string formatting"]
    [review] = github.reviews[4]
    marker = find_marker(review["body"])
    assert marker is not None and marker.head == shop.repo.head() and len(marker.fingerprints) == 2
    assert "Incremental: reviewed the commits since" in review["body"]
    assert "unchanged since the last review" in review["body"]  # app/db.py was covered by the first review


def test_incremental_drops_fixed_findings_and_skips_the_model_without_new_commits(runner, server, shop, github):
    introduce_sql_bug(shop.repo)
    server.enqueue(submit([SQL_FINDING]))
    assert post(runner, server, shop, github, "--pr", "4").exit_code == 0
    again = post(runner, server, shop, github, "--pr", "4", "--incremental", "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert len(server.chat_requests) == 1  # nothing new: no model call
    assert json.loads(again.stdout)["review"]["kept_findings"] == 1
    # fix the bug: the earlier finding no longer verifies and is dropped
    text = (shop.path / "app/db.py").read_text().replace(SQL_FINDING["evidence"],
                                                         'cursor.execute("SELECT * FROM users WHERE name = ?", (name,))')
    shop.repo.write("app/db.py", text)
    shop.repo.commit("fix")
    server.enqueue(submit([]))
    fixed = post(runner, server, shop, github, "--pr", "4", "--incremental", "--format", "json")
    data = json.loads(fixed.stdout)
    assert data["findings"] == [] and data["review"]["resolved_findings"] == 1
    assert len(github.reviews[4]) == 1 and github.review_comments[4] == []  # the fixed finding's comment is gone


def test_incremental_from_a_saved_markdown_review(runner, server, shop, tmp_path):
    introduce_sql_bug(shop.repo)
    server.enqueue(submit([SQL_FINDING]))
    saved = tmp_path / "review.md"
    first = runner.invoke(main, ["review", str(shop.path), "--base", "main", "--model", "openai/x", "--api-base",
                                 server.url, "-o", str(saved)])
    assert first.exit_code == 0, first.stderr
    second = runner.invoke(main, ["review", str(shop.path), "--base", "main", "--model", "openai/x", "--api-base",
                                  server.url, "--incremental", "--baseline", str(saved), "--fail-on", "high"])
    assert second.exit_code == 3  # the kept finding still counts
    assert len(server.chat_requests) == 1


def test_post_without_token_is_one_line(runner, server, shop, github, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    introduce_sql_bug(shop.repo)
    result = post(runner, server, shop, github, "--pr", "1")
    assert result.exit_code == 1 and "set GITHUB_TOKEN" in result.stderr and "Traceback" not in result.stderr
