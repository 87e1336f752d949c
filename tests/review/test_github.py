"""The GitHub client against the fake API: pagination, marker lookup, the review created then updated in place,
errors and rate limits."""

from __future__ import annotations

import pytest

from repo_auditor.review.github import GitHubClient, GitHubError, pr_number_from_event

MARKED = "<!-- repo-auditor:review head=" + "a" * 40 + " base=" + "b" * 40 + " fingerprints= -->\nold review"
HEAD = "c" * 40


def publish(client, github, pr: int, body: str):
    github.pulls.setdefault(pr, {"head": HEAD, "hunks": {}})
    return client.publish_review(pr, HEAD, body, [])


@pytest.fixture
def client(github):
    waits: list[float] = []
    gh_client = GitHubClient(github.token, github.repository, api_url=github.url, sleep=waits.append,
                             clock=lambda: 1_000.0)
    gh_client.waits = waits  # type: ignore[attr-defined]
    return gh_client


def test_finds_the_marked_comment_across_pages(github, client):
    for n in range(4):
        github.add_comment(5, f"chatter {n}")
    marked = github.add_comment(5, MARKED)
    github.add_comment(5, "later chatter")
    found = client.find_review_comment(5)
    assert found is not None and found.id == marked["id"]
    assert len([r for r in github.requests if r.method == "GET"]) == 3  # page size 2: three pages


def test_review_is_created_then_updated_in_place(github, client):
    assert publish(client, github, 9, MARKED).created
    assert not publish(client, github, 9, MARKED.replace("old review", "new review")).created
    assert [r["body"].splitlines()[-1] for r in github.reviews[9]] == ["new review"]
    assert [(r.method, r.path.split("?")[0]) for r in github.requests if r.method != "GET"] == [
        ("POST", "/repos/acme/shop/pulls/9/reviews"), ("PUT", f"/repos/acme/shop/pulls/9/reviews/{github.reviews[9][0]['id']}")]


@pytest.mark.parametrize("status, text", [
    (401, "rejected the token"),
    (404, "found nothing"),
    (422, "rejected the comment (422: fault 422)"),
    (500, "GitHub API error 500"),
])
def test_errors_say_what_to_fix(github, client, status, text):
    github.fail_next(status)
    with pytest.raises(GitHubError, match=text.replace("(", r"\(").replace(")", r"\)")) as info:
        publish(client, github, 1, "hi")
    assert info.value.status == status


def test_wrong_token_is_401(github):
    client = GitHubClient("not-the-token", github.repository, api_url=github.url)
    with pytest.raises(GitHubError, match="GITHUB_TOKEN"):
        client.list_comments(1)


@pytest.mark.parametrize("status, headers, wait", [
    (429, {"Retry-After": "7"}, 7.0),
    (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}, 30.0),
])
def test_rate_limits_are_waited_out(github, client, status, headers, wait):
    github.fail_next(status, headers=headers)
    assert publish(client, github, 3, "hello").created
    assert github.reviews[3][0]["body"] == "hello" and client.waits == [wait]


def test_rate_limit_too_far_away_fails(github, client):
    github.fail_next(429, headers={"Retry-After": "3600"})
    with pytest.raises(GitHubError, match="rate limit"):
        publish(client, github, 3, "hello")
    assert client.waits == []


def test_plain_403_is_a_permission_error(github, client):
    github.fail_next(403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(GitHubError, match="permission"):
        publish(client, github, 3, "hello")


def test_pagination_to_another_host_is_refused(github, client):
    github.fail_next(200, headers={"Link": '<https://evil.example/steal?page=2>; rel="next"'}, body=[])
    with pytest.raises(GitHubError, match="another host"):
        client.list_comments(1)


def test_pr_number_from_event(tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"number": 42}}')
    assert pr_number_from_event(str(event)) == 42
    event.write_text('{"ref": "refs/heads/main"}')
    assert pr_number_from_event(str(event)) is None
    event.write_text("{not json")
    with pytest.raises(GitHubError, match="--pr N"):
        pr_number_from_event(str(event))


def test_an_oversized_review_is_cut_and_keeps_its_marker(github, client):
    publish(client, github, 2, MARKED + "x" * 100_000)
    body = github.reviews[2][0]["body"]
    assert len(body) <= 65_000 and body.startswith(MARKED)
    assert "cut to fit the comment size limit" in body
