"""The GitHub REST API, just enough to keep one review comment per pull request up to date (urllib only).

    client = GitHubClient(token, "owner/repo", api_url="https://api.github.com")
    comment = client.upsert_review_comment(42, body)   # finds the comment by its marker, then PATCH or POST

Replies are untrusted: JSON shapes are checked, pagination follows ``Link: rel="next"`` only on the API's own host
and for at most ``MAX_PAGES`` pages. Rate limits (403 or 429 with ``Retry-After`` or ``x-ratelimit-remaining: 0``)
are waited out up to ``MAX_RATE_LIMIT_WAIT`` seconds per wait and ``MAX_ATTEMPTS`` tries; other failures raise
GitHubError carrying the status and GitHub's message.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from repo_auditor.errors import GitHubError
from repo_auditor.review.marker import MARKER_PREFIX

DEFAULT_API_URL = "https://api.github.com"
MAX_PAGES = 50  # 50 pages of 100 comments; a PR with more is not one we can keep tidy anyway
MAX_ATTEMPTS = 3
MAX_RATE_LIMIT_WAIT = 60.0  # seconds; a longer wait fails the step instead of silently holding a CI runner
TIMEOUT = 30.0
MAX_REPLY_BYTES = 20_000_000
# GitHub rejects comments over 65,536 characters (422); a longer review is cut, keeping its head (and the marker).
MAX_COMMENT_CHARS = 65_000


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    url: str | None = None


class GitHubClient:
    """Issue comments of one repository. ``sleep`` is injectable so tests do not wait out rate limits."""

    def __init__(self, token: str, repository: str, *, api_url: str = DEFAULT_API_URL,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        if not token:
            raise GitHubError("no GitHub token: set GITHUB_TOKEN (in Actions: `env: GITHUB_TOKEN: "
                              "${{ secrets.GITHUB_TOKEN }}`)")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository or ""):
            raise GitHubError(f"GITHUB_REPOSITORY must be owner/name, got {repository!r}")
        parsed = urllib.parse.urlsplit(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise GitHubError(f"--api-url must be an http(s) URL such as {DEFAULT_API_URL}, got {api_url!r}")
        self.token = token
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self._host = parsed.netloc
        self.sleep = sleep
        self.clock = clock

    # -- comments -------------------------------------------------------------------------------------------------

    def list_comments(self, pr: int) -> list[Comment]:
        url: str | None = f"{self.api_url}/repos/{self.repository}/issues/{int(pr)}/comments?per_page=100"
        comments: list[Comment] = []
        for _page in range(MAX_PAGES):
            if url is None:
                break
            data, headers = self._request("GET", url)
            if not isinstance(data, list):
                raise GitHubError(f"GitHub returned {type(data).__name__} for the comment list, expected a list",
                                  url=url)
            comments.extend(c for c in map(_comment, data) if c is not None)
            url = self._next_link(headers.get("Link", ""))
        return comments

    def find_review_comment(self, pr: int) -> Comment | None:
        """The PR comment holding a review marker (the newest, if several), or None."""
        found = [c for c in self.list_comments(pr) if MARKER_PREFIX in c.body]
        return found[-1] if found else None

    def create_comment(self, pr: int, body: str) -> Comment:
        data, _ = self._request("POST", f"{self.api_url}/repos/{self.repository}/issues/{int(pr)}/comments",
                                {"body": body})
        return self._require_comment(data)

    def update_comment(self, comment_id: int, body: str) -> Comment:
        data, _ = self._request("PATCH", f"{self.api_url}/repos/{self.repository}/issues/comments/{int(comment_id)}",
                                {"body": body})
        return self._require_comment(data)

    def upsert_review_comment(self, pr: int, body: str, existing: Comment | None = None) -> tuple[Comment, bool]:
        """Update the review comment in place, or create it; returns (comment, created). A body longer than
        GitHub accepts is cut (``fit_comment``)."""
        body = fit_comment(body)
        existing = existing or self.find_review_comment(pr)
        if existing is not None:
            return self.update_comment(existing.id, body), False
        return self.create_comment(pr, body), True

    # -- transport ------------------------------------------------------------------------------------------------

    def _request(self, method: str, url: str, payload: dict[str, Any] | None = None) -> tuple[Any, Any]:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            request = urllib.request.Request(url, data=data, method=method, headers={
                "Accept": "application/vnd.github+json", "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "repo-auditor",
                **({"Content-Type": "application/json"} if data is not None else {}),
            })
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                    raw = response.read(MAX_REPLY_BYTES + 1)
                    headers = response.headers
            except urllib.error.HTTPError as exc:
                wait = self._rate_limit_wait(exc.code, exc.headers)
                if wait is not None and wait <= MAX_RATE_LIMIT_WAIT and attempt < MAX_ATTEMPTS:
                    self.sleep(wait)
                    continue
                raise self._error(exc, method, url, rate_limited=wait is not None) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise GitHubError(f"cannot reach the GitHub API at {self.api_url} ({reason}); check --api-url and "
                                  "the network", url=url) from None
            if len(raw) > MAX_REPLY_BYTES:
                raise GitHubError(f"GitHub's reply to {method} {url} is larger than {MAX_REPLY_BYTES:,} bytes",
                                  url=url)
            try:
                return json.loads(raw or b"null"), headers
            except ValueError:
                raise GitHubError(f"GitHub's reply to {method} {url} is not JSON; check --api-url", url=url) from None
        raise AssertionError("unreachable: the loop returns or raises")

    def _rate_limit_wait(self, status: int, headers: Any) -> float | None:
        """Seconds to wait before retrying a rate-limited call, or None when the failure is not a rate limit."""
        if status not in (403, 429):
            return None
        retry_after = headers.get("Retry-After") if headers else None
        remaining = headers.get("x-ratelimit-remaining") if headers else None
        reset = headers.get("x-ratelimit-reset") if headers else None
        if retry_after is not None:
            wait = _number(retry_after)
        elif remaining == "0" and reset is not None:
            wait = (_number(reset) or 0.0) - self.clock()
        elif status == 429:
            wait = 1.0
        else:
            return None  # a plain 403: permissions, not a rate limit
        if wait is None:
            return 1.0
        return max(0.0, wait) if wait <= MAX_RATE_LIMIT_WAIT else float("inf")

    def _error(self, exc: urllib.error.HTTPError, method: str, url: str, *, rate_limited: bool) -> GitHubError:
        message = _github_message(exc)
        status = exc.code
        if rate_limited:
            text = (f"GitHub rate limit hit ({status}) on {method} {url} and retries ran out or the reset is more "
                    f"than {MAX_RATE_LIMIT_WAIT:.0f} s away; rerun later")
        elif status == 401:
            text = "GitHub rejected the token (401 Bad credentials); check GITHUB_TOKEN"
        elif status == 403:
            text = (f"GitHub refused {method} {url} (403: {message}); give the token `pull-requests: write` / "
                    "`issues: write` permission")
        elif status == 404:
            text = (f"GitHub found nothing at {url} (404); check GITHUB_REPOSITORY, the PR number and that the "
                    "token can see the repository")
        elif status == 422:
            text = f"GitHub rejected the comment (422: {message}); the body may be too long or invalid"
        else:
            text = f"GitHub API error {status} on {method} {url}: {message}"
        return GitHubError(text, status=status, url=url)

    def _next_link(self, link: str) -> str | None:
        for part in link.split(","):
            match = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
            if match:
                url = match.group(1)
                parsed = urllib.parse.urlsplit(url)
                if parsed.netloc != self._host or parsed.scheme not in ("http", "https"):
                    raise GitHubError(f"GitHub's pagination link points at another host ({parsed.netloc!r}); "
                                      "refusing to send the token there", url=url)
                return url
        return None

    @staticmethod
    def _require_comment(data: Any) -> Comment:
        comment = _comment(data)
        if comment is None:
            raise GitHubError("GitHub's reply is not a comment (no numeric id); check --api-url")
        return comment


def fit_comment(body: str, limit: int = MAX_COMMENT_CHARS) -> str:
    """``body`` cut to ``limit`` characters with a visible note; the marker at its top is kept."""
    if len(body) <= limit:
        return body
    note = "\n\n> **This review was cut to fit GitHub's comment size limit;** run with `--format json` for all of it.\n"
    return body[: limit - len(note)] + note


def _comment(data: Any) -> Comment | None:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) or isinstance(data.get("id"), bool):
        return None
    body = data.get("body")
    url = data.get("html_url")
    return Comment(id=data["id"], body=body if isinstance(body, str) else "", url=url if isinstance(url, str) else None)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _github_message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read(100_000) or b"null")
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else "no message"
    message = data.get("message") if isinstance(data, dict) else None
    return " ".join(str(message).split())[:300] if message else "no message"


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
