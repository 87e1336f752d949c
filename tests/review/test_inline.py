"""Inline review end to end (real git, sandbox, litellm against the local model server): ``--post github`` creates
one pull-request review whose comments sit on the diff's lines, with a committable suggestion only when it applies
to the head, and edits / deletes those comments in place on the next push; ``--post gitlab`` does the same with
merge-request discussions. The fake APIs reject requests GitHub and GitLab would reject."""

from __future__ import annotations

import pytest

from repo_auditor.cli import main
from tests.review.conftest import change_signature, clean_change, introduce_sql_bug
from tests.review.fake_gitlab import FakeGitLab
from tests.review.test_post_and_incremental import open_pull, post
from tests.review.test_review_cli import CALLER_FINDING, SQL_FINDING, submit

FIX = '    cursor.execute("SELECT * FROM users WHERE name = ?", (name,))'
SQL_WITH_FIX = {**SQL_FINDING, "suggestion": FIX}
DISCOUNT = {"title": "A discount larger than the subtotal gives a negative total", "severity": "medium",
            "category": "correctness/logic", "path": "app/pricing.py", "line": 5,
            "evidence": 'subtotal = sum(item["price"] * item["qty"] for item in items) - discount',
            "explanation": "Nothing clamps the subtotal at zero."}


def test_one_review_with_inline_comments_and_a_suggestion(runner, server, shop, github):
    introduce_sql_bug(shop.repo)
    change_signature(shop.repo)
    server.enqueue(submit([SQL_WITH_FIX, CALLER_FINDING, DISCOUNT]))
    result = post(runner, server, shop, github, "--pr", "4", pr=4)
    assert result.exit_code == 0, result.stderr
    [create] = [r for r in github.requests if r.method == "POST"]
    assert create.path == "/repos/acme/shop/pulls/4/reviews" and create.body["event"] == "COMMENT"
    assert create.body["commit_id"] == shop.repo.head()
    placed = sorted((c["path"], c["line"], c["side"]) for c in create.body["comments"])
    assert placed == [("app/db.py", 12, "RIGHT"), ("app/pricing.py", 5, "RIGHT")]  # cart.py is not in the diff
    sql = next(c["body"] for c in create.body["comments"] if c["path"] == "app/db.py")
    assert f"```suggestion\n{FIX}\n```" in sql and "<!-- repo-auditor:finding key=" in sql
    summary = github.reviews[4][0]["body"]
    assert "Commented inline on the diff" in summary
    caller = summary.split("#### Caller not updated", 1)[1]  # outside the diff: the whole finding in the summary
    assert "checkout() still passes two arguments" in caller
    assert "#### SQL built with string formatting" not in summary  # inline ones are one line in the summary


def test_next_push_edits_comments_in_place_and_deletes_resolved_ones(runner, server, shop, github):
    introduce_sql_bug(shop.repo)
    change_signature(shop.repo)
    server.enqueue(submit([SQL_WITH_FIX, DISCOUNT]))
    assert post(runner, server, shop, github, "--pr", "4", pr=4).exit_code == 0
    first = {c["path"]: c for c in github.review_comments[4]}
    clean_change(shop.repo)
    reworded = {**SQL_WITH_FIX, "title": "User name formatted into the SQL text"}
    server.enqueue(submit([reworded]))  # the discount finding is gone
    second = post(runner, server, shop, github, "--pr", "4", pr=4)
    assert second.exit_code == 0, second.stderr
    assert "review updated on PR #4 (inline comments: 0 new, 1 kept, 1 removed)" in second.stderr
    [kept] = github.review_comments[4]
    assert kept["id"] == first["app/db.py"]["id"] and "User name formatted into the SQL text" in kept["body"]
    writes = [(r.method, r.path) for r in github.requests if r.method not in ("GET", "POST")]
    assert writes == [("PUT", f"/repos/acme/shop/pulls/4/reviews/{github.reviews[4][0]['id']}"),
                      ("PATCH", f"/repos/acme/shop/pulls/comments/{kept['id']}"),
                      ("DELETE", f"/repos/acme/shop/pulls/comments/{first['app/pricing.py']['id']}")]
    assert len(github.reviews[4]) == 1


def test_a_suggestion_that_would_not_apply_is_left_out(runner, server, shop, github):
    introduce_sql_bug(shop.repo)
    partial = {**SQL_WITH_FIX, "evidence": "cursor.execute(\"SELECT * FROM users WHERE name = '%s'\""}
    server.enqueue(submit([partial]))
    assert post(runner, server, shop, github, "--pr", "4", pr=4).exit_code == 0
    [comment] = github.review_comments[4]
    assert "```suggestion" not in comment["body"]
    assert "A proposed fix was left out: the quoted lines are not exactly lines 12-12" in comment["body"]


def test_a_comment_github_rejects_falls_back_to_posting_alone(runner, server, shop, github):
    introduce_sql_bug(shop.repo)
    server.enqueue(submit([SQL_WITH_FIX]))
    open_pull(github, shop, 4)
    github.pulls[4]["hunks"] = {}  # GitHub shows a different diff: no line of ours is commentable
    result = runner.invoke(main, ["review", str(shop.path), "--base", "main", "--model", "openai/x", "--api-base",
                                  server.url, "--post", "github", "--api-url", github.url, "--pr", "4"])
    assert result.exit_code == 0, result.stderr
    assert "1 rejected by the API" in result.stderr and len(github.reviews[4]) == 1


@pytest.fixture
def gitlab(monkeypatch):
    with FakeGitLab() as gl:
        monkeypatch.setenv("GITLAB_TOKEN", gl.token)
        monkeypatch.setenv("CI_PROJECT_ID", gl.project)
        monkeypatch.setenv("CI_MERGE_REQUEST_IID", str(gl.iid))
        monkeypatch.setenv("CI_API_V4_URL", gl.url)
        yield gl


def test_gitlab_summary_note_and_diff_discussions_updated_in_place(runner, server, shop, gitlab):
    introduce_sql_bug(shop.repo)
    change_signature(shop.repo)

    def review(findings):
        gitlab.open_merge_request(shop.repo.head(), shop.base, shop.base, shop.repo.git("diff", "main...HEAD"))
        server.enqueue(submit(findings))
        return runner.invoke(main, ["review", str(shop.path), "--base", shop.base, "--model", "openai/x",
                                    "--api-base", server.url, "--post", "gitlab"])

    first = review([SQL_WITH_FIX, CALLER_FINDING, DISCOUNT])
    assert first.exit_code == 0, first.stderr
    assert "review created on merge request !5 (inline comments: 2 new" in first.stderr
    [summary] = gitlab.notes
    assert "<!-- repo-auditor:review head=" in summary["body"] and "#### Caller not updated" in summary["body"]
    positions = sorted((d["notes"][0]["position"]["new_path"], d["notes"][0]["position"]["new_line"])
                       for d in gitlab.discussions)
    assert positions == [("app/db.py", 12), ("app/pricing.py", 5)]
    sql = next(d for d in gitlab.discussions if d["notes"][0]["position"]["new_path"] == "app/db.py")
    assert f"```suggestion\n{FIX}\n```" in sql["notes"][0]["body"]
    clean_change(shop.repo)
    second = review([{**SQL_WITH_FIX, "title": "User name formatted into the SQL text"}])
    assert second.exit_code == 0, second.stderr
    assert len(gitlab.notes) == 1 and [d["id"] for d in gitlab.discussions] == [sql["id"]]
    assert "User name formatted into the SQL text" in gitlab.discussions[0]["notes"][0]["body"]
    methods = [r.method for r in gitlab.requests if r.method != "GET"]
    assert methods == ["POST", "POST", "POST", "PUT", "PUT", "DELETE"]


def test_gitlab_without_token_is_one_line(runner, server, shop, gitlab, monkeypatch):
    monkeypatch.delenv("GITLAB_TOKEN")
    introduce_sql_bug(shop.repo)
    result = runner.invoke(main, ["review", str(shop.path), "--base", "main", "--model", "openai/x", "--api-base",
                                  server.url, "--post", "gitlab"])
    assert result.exit_code == 1 and "set GITLAB_TOKEN" in result.stderr and "Traceback" not in result.stderr
