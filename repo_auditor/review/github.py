"""The GitHub REST API, just enough to keep one pull-request review up to date (urllib only, through ``http.py``).

    client = GitHubClient(token, "owner/repo", api_url="https://api.github.com")
    outcome = client.publish_review(42, head_sha, summary, comments)   # [(InlineComment, body), ...]

One review per pull request: the first run creates it (``POST /repos/{o}/{r}/pulls/{n}/reviews`` with ``event:
COMMENT``, the summary as its body, one entry of ``comments[]`` per inline finding: path, line, side RIGHT and, for
a range, start_line / start_side). Later runs find it by the summary's hidden marker and update it in place: the
body with ``PUT .../reviews/{id}``, inline comments by their hidden key (``PATCH /pulls/comments/{id}``), new
findings as new review comments (``POST /pulls/{n}/comments``), resolved ones deleted (``DELETE
/pulls/comments/{id}``). If GitHub rejects the review's comments (422, e.g. a line GitHub does not show in the
diff), the review is created without them and each comment is posted alone; rejected ones are counted.
Errors, rate limits and pagination: see ``http.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from repo_auditor.errors import GitHubError
from repo_auditor.review.http import MAX_RATE_LIMIT_WAIT, JsonApi, as_int
from repo_auditor.review.inline import InlineComment, Posted, comment_key, plan_sync
from repo_auditor.review.marker import MARKER_PREFIX

DEFAULT_API_URL = "https://api.github.com"
# GitHub rejects bodies over 65,536 characters (422); a longer one is cut, keeping its head (and the marker).
MAX_COMMENT_CHARS = 65_000


@dataclass(frozen=True)
class Comment:
    """An issue comment or a review: its id, body and web address."""

    id: int
    body: str
    url: str | None = None
    kind: str = "comment"  # "review" for a pull-request review, "note" for a GitLab note


@dataclass(frozen=True)
class PublishOutcome:
    """What posting did: the summary's address, whether it was created, and the inline comments per action."""

    url: str | None
    created: bool
    inline_created: int = 0
    inline_updated: int = 0
    inline_deleted: int = 0
    inline_rejected: int = 0

    def describe(self, where: str) -> str:
        verb = "created" if self.created else "updated"
        counts = f"{self.inline_created} new, {self.inline_updated} kept, {self.inline_deleted} removed"
        rejected = f", {self.inline_rejected} rejected by the API" if self.inline_rejected else ""
        link = f": {self.url}" if self.url else ""
        return f"review {verb} on {where} (inline comments: {counts}{rejected}){link}"


class GitHubClient:
    """The pull requests of one repository. ``sleep`` / ``clock`` are injectable so tests do not wait."""

    def __init__(self, token: str, repository: str, *, api_url: str = DEFAULT_API_URL,
                 sleep: Callable[[float], None] | None = None, clock: Callable[[], float] | None = None):
        if not token:
            raise GitHubError("no GitHub token: set GITHUB_TOKEN (in Actions: `env: GITHUB_TOKEN: "
                              "${{ secrets.GITHUB_TOKEN }}`)")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository or ""):
            raise GitHubError(f"GITHUB_REPOSITORY must be owner/name, got {repository!r}")
        timing = {k: v for k, v in (("sleep", sleep), ("clock", clock)) if v is not None}
        self.api = JsonApi(api_url, {"Accept": "application/vnd.github+json", "Authorization": f"Bearer {token}",
                                     "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "repo-auditor"},
                           error=GitHubError, service="GitHub", explain=_explain, **timing)
        self.repository = repository
        self.api_url = self.api.api_url

    def _url(self, path: str) -> str:
        return f"{self.api_url}/repos/{self.repository}/{path}"

    # -- the previous review ---------------------------------------------------------------------------------------

    def list_comments(self, pr: int) -> list[Comment]:
        items = self.api.paginate(self._url(f"issues/{int(pr)}/comments?per_page=100"), "the comment list")
        return [c for c in map(_comment, items) if c is not None]

    def list_reviews(self, pr: int) -> list[Comment]:
        items = self.api.paginate(self._url(f"pulls/{int(pr)}/reviews?per_page=100"), "the review list")
        return [c for c in (_comment(item, "review") for item in items) if c is not None]

    def find_review(self, pr: int) -> Comment | None:
        """The pull-request review whose body holds a review marker (the newest, if several), or None."""
        found = [c for c in self.list_reviews(pr) if MARKER_PREFIX in c.body]
        return found[-1] if found else None

    def find_review_comment(self, pr: int) -> Comment | None:
        """The marked issue comment older versions posted instead of a review (read for incremental reviews)."""
        found = [c for c in self.list_comments(pr) if MARKER_PREFIX in c.body]
        return found[-1] if found else None

    def previous_summary(self, pr: int) -> Comment | None:
        """The last review's summary: our review, else an issue comment from a version before inline reviews."""
        return self.find_review(pr) or self.find_review_comment(pr)

    def list_review_comments(self, pr: int) -> list[Posted]:
        """The inline comments on the pull request that carry one of our keys."""
        posted = []
        for item in self.api.paginate(self._url(f"pulls/{int(pr)}/comments?per_page=100"), "the review comments"):
            comment = _comment(item)
            key = comment_key(comment.body) if comment else None
            if comment is None or key is None:
                continue
            path, line = item.get("path"), as_int(item.get("line"))
            posted.append(Posted(key, comment.id, path if isinstance(path, str) else None, line, comment.body))
        return posted

    # -- publishing ------------------------------------------------------------------------------------------------

    def publish_review(self, pr: int, head_sha: str, summary: str,
                       comments: Sequence[tuple[InlineComment, str]], existing: Comment | None = None
                       ) -> PublishOutcome:
        """Create the review, or update it and its inline comments in place (see the module docstring)."""
        summary = fit_comment(summary)
        existing = existing if existing is not None and existing.kind == "review" else self.find_review(pr)
        if existing is None:
            return self._create_review(pr, head_sha, summary, comments)
        data, _ = self.api.request("PUT", self._url(f"pulls/{int(pr)}/reviews/{existing.id}"), {"body": summary})
        review = _require(data, "review")
        plan = plan_sync(self.list_review_comments(pr), comments)
        updated = 0
        for old, _comment_, body in plan.update:
            if old.body != body:
                self.api.request("PATCH", self._url(f"pulls/comments/{old.id}"), {"body": fit_comment(body)})
            updated += 1
        for old in plan.delete:
            self.api.request("DELETE", self._url(f"pulls/comments/{old.id}"))
        created, rejected = self._post_comments(pr, head_sha, plan.create)
        return PublishOutcome(review.url, False, created, updated, len(plan.delete), rejected)

    def _create_review(self, pr: int, head_sha: str, summary: str,
                       comments: Sequence[tuple[InlineComment, str]]) -> PublishOutcome:
        url = self._url(f"pulls/{int(pr)}/reviews")
        payload = {"commit_id": head_sha, "body": summary, "event": "COMMENT",
                   "comments": [_position(c) | {"body": fit_comment(body)} for c, body in comments]}
        try:
            data, _ = self.api.request("POST", url, payload)
        except GitHubError as exc:
            if exc.status != 422 or not comments:
                raise
            data, _ = self.api.request("POST", url, {**payload, "comments": []})
            review = _require(data, "review")
            created, rejected = self._post_comments(pr, head_sha, comments)
            return PublishOutcome(review.url, True, created, 0, 0, rejected)
        return PublishOutcome(_require(data, "review").url, True, len(comments))

    def _post_comments(self, pr: int, head_sha: str, comments: Sequence[tuple[InlineComment, str]]
                       ) -> tuple[int, int]:
        created = rejected = 0
        for comment, body in comments:
            try:
                self.api.request("POST", self._url(f"pulls/{int(pr)}/comments"),
                                 {"body": fit_comment(body), "commit_id": head_sha, **_position(comment)})
                created += 1
            except GitHubError as exc:
                if exc.status != 422:
                    raise
                rejected += 1  # GitHub will not place it (e.g. the line is not in its diff); the summary has it
        return created, rejected


def _position(comment: InlineComment) -> dict[str, Any]:
    position: dict[str, Any] = {"path": comment.path, "line": comment.line, "side": "RIGHT"}
    if comment.start_line is not None:
        position |= {"start_line": comment.start_line, "start_side": "RIGHT"}
    return position


def _explain(status: int, message: str, method: str, url: str, rate_limited: bool) -> str:
    if rate_limited:
        return (f"GitHub rate limit hit ({status}) on {method} {url} and retries ran out or the reset is more than "
                f"{MAX_RATE_LIMIT_WAIT:.0f} s away; rerun later")
    if status == 401:
        return "GitHub rejected the token (401 Bad credentials); check GITHUB_TOKEN"
    if status == 403:
        return (f"GitHub refused {method} {url} (403: {message}); give the token `pull-requests: write` / "
                "`issues: write` permission")
    if status == 404:
        return (f"GitHub found nothing at {url} (404); check GITHUB_REPOSITORY, the PR number and that the token "
                "can see the repository")
    if status == 422:
        return f"GitHub rejected the comment (422: {message}); the body may be too long or invalid"
    return f"GitHub API error {status} on {method} {url}: {message}"


def fit_comment(body: str, limit: int = MAX_COMMENT_CHARS) -> str:
    """``body`` cut to ``limit`` characters with a visible note; the marker at its top is kept."""
    if len(body) <= limit:
        return body
    note = "\n\n> **This review was cut to fit the comment size limit;** run with `--format json` for all of it.\n"
    return body[: limit - len(note)] + note


def _comment(data: Any, kind: str = "comment") -> Comment | None:
    if not isinstance(data, dict) or as_int(data.get("id")) is None:
        return None
    body = data.get("body")
    url = data.get("html_url")
    return Comment(id=data["id"], body=body if isinstance(body, str) else "", url=url if isinstance(url, str) else None,
                   kind=kind)


def _require(data: Any, what: str) -> Comment:
    comment = _comment(data)
    if comment is None:
        raise GitHubError(f"GitHub's reply is not a {what} (no numeric id); check --api-url")
    return comment


def pr_number_from_event(path: str | None = None) -> int | None:
    """The pull request number in the Actions event file (``GITHUB_EVENT_PATH``), or None when there is none."""
    path = path or os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError) as exc:
        raise GitHubError(f"cannot read the GitHub event file {path} ({exc}); pass --pr N") from None
    if not isinstance(event, dict):
        return None
    for candidate in (event.get("pull_request"), event.get("issue")):
        if isinstance(candidate, dict) and isinstance(candidate.get("number"), int):
            return candidate["number"]
    number = event.get("number")
    return number if isinstance(number, int) and not isinstance(number, bool) else None
