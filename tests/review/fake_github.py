"""A local HTTP server on 127.0.0.1 that behaves like the parts of the GitHub REST API the review bot uses.

    with FakeGitHub(page_size=2) as gh:
        gh.add_comment(7, "an unrelated comment")
        gh.fail_next(429, headers={"Retry-After": "0"})     # the next request gets this answer instead
        ... GitHubClient("tok", "acme/shop", api_url=gh.url) ...
        assert gh.comments[7][0]["body"] == ...

Routes: ``GET /repos/{o}/{r}/issues/{n}/comments`` (paginated with ``per_page`` / ``page`` and a ``Link`` header),
``POST`` the same path (create), ``PATCH /repos/{o}/{r}/issues/comments/{id}`` (update). A wrong token gets 401, an
unknown repository or comment 404, an empty or missing body 422. Every request is recorded in ``requests``.

Pull-request reviews, checked like GitHub checks them (``gh.open_pull(n, head_sha, diff_text)`` first; the diff is
parsed here, independently of repo_auditor, into the head-side lines GitHub shows):
``GET/POST /repos/{o}/{r}/pulls/{n}/reviews``, ``PUT .../pulls/{n}/reviews/{id}``, ``GET/POST
/repos/{o}/{r}/pulls/{n}/comments``, ``PATCH`` / ``DELETE /repos/{o}/{r}/pulls/comments/{id}``. A review needs
``event`` in APPROVE / REQUEST_CHANGES / COMMENT and a 40-hex ``commit_id`` equal to the pull's head; each comment
needs string ``path`` and non-empty ``body``, integer ``line``, ``side`` RIGHT or LEFT, ``start_line`` < ``line``
with ``start_side`` when given, and its lines in one diff hunk of that path; otherwise 422 "Unprocessable Entity"
with GitHub's message. Review comments are kept in ``review_comments`` and reviews in ``reviews``.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    token: str = "gh-test-token"
    repository: str = "acme/shop"
    page_size: int = 30
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    review_comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> {"head": sha, "hunks": {path: [..]}}

    def __post_init__(self) -> None:
        self._faults: deque[tuple[int, dict[str, str], dict[str, Any]]] = deque()
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeGitHub:  # noqa: PYI034 - Self needs Python 3.11
        fake = self

        class Handler(_Handler):
            github = fake

        self._server = serve(Handler)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        stop(self._server)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_comment(self, pr: int, body: str) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            comment = {"id": self._next_id, "body": body, "html_url": f"https://github.example/c/{self._next_id}",
                       "user": {"login": "someone"}}
            self.comments.setdefault(pr, []).append(comment)
            return comment

    def open_pull(self, number: int, head: str, diff: str) -> None:
        self.pulls[number] = {"head": head, "hunks": diff_hunks(diff)}

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def fail_next(self, status: int, *, headers: dict[str, str] | None = None, body: dict | list | None = None) -> None:
        self._faults.append((status, headers or {}, body if body is not None else {"message": f"fault {status}"}))


class JsonHandler(BaseHTTPRequestHandler):
    """Every method goes to ``_handle(method)``; ``_send`` answers JSON (nothing for 204). No request logging."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        raise NotImplementedError

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if status == 204 else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class _Handler(JsonHandler):
    github: FakeGitHub

    def _handle(self, method: str) -> None:
        gh = self.github
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        gh.requests.append(Recorded(method, self.path, dict(self.headers), body))
        if gh._faults:
            status, headers, payload = gh._faults.popleft()
            return self._send(status, payload, headers)
        if self.headers.get("Authorization") != f"Bearer {gh.token}":
            return self._send(401, {"message": "Bad credentials"})
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path.startswith(f"/repos/{gh.repository}/pulls/"):
            return self._pulls(method, url.path[len(f"/repos/{gh.repository}/pulls/"):], query, body)
        prefix = f"/repos/{gh.repository}/issues/"
        if not url.path.startswith(prefix):
            return self._send(404, {"message": "Not Found"})
        rest = url.path[len(prefix):]
        listing = re.fullmatch(r"(\d+)/comments", rest)
        single = re.fullmatch(r"comments/(\d+)", rest)
        if listing and method == "GET":
            items = gh.comments.get(int(listing.group(1)), [])
            per_page = min(int(query.get("per_page", ["30"])[0]), gh.page_size)
            page = int(query.get("page", ["1"])[0])
            chunk = items[(page - 1) * per_page: page * per_page]
            headers = {}
            if page * per_page < len(items):
                headers["Link"] = f'<{gh.url}{url.path}?per_page={per_page}&page={page + 1}>; rel="next"'
            return self._send(200, chunk, headers)
        if listing and method == "POST":
            if not isinstance(body, dict) or not body.get("body"):
                return self._send(422, {"message": "Validation Failed"})
            return self._send(201, gh.add_comment(int(listing.group(1)), body["body"]))
        if single and method == "PATCH":
            if not isinstance(body, dict) or not body.get("body"):
                return self._send(422, {"message": "Validation Failed"})
            for comments in gh.comments.values():
                for comment in comments:
                    if comment["id"] == int(single.group(1)):
                        comment["body"] = body["body"]
                        return self._send(200, comment)
            return self._send(404, {"message": "Not Found"})
        return self._send(404, {"message": "Not Found"})

    def _page(self, items: list[Any], path: str, query: dict[str, list[str]]) -> None:
        gh = self.github
        per_page = min(int(query.get("per_page", ["30"])[0]), gh.page_size)
        page = int(query.get("page", ["1"])[0])
        headers = {}
        if page * per_page < len(items):
            headers["Link"] = f'<{gh.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
        return self._send(200, items[(page - 1) * per_page: page * per_page], headers)

    def _pulls(self, method: str, rest: str, query: dict[str, list[str]], body: Any) -> None:
        gh = self.github
        path = f"/repos/{gh.repository}/pulls/{rest}"
        reviews = re.fullmatch(r"(\d+)/reviews", rest)
        review = re.fullmatch(r"(\d+)/reviews/(\d+)", rest)
        comments = re.fullmatch(r"(\d+)/comments", rest)
        comment = re.fullmatch(r"comments/(\d+)", rest)
        number = int((reviews or review or comments).group(1)) if (reviews or review or comments) else None
        if number is not None and number not in gh.pulls:
            return self._send(404, {"message": "Not Found"})
        if reviews and method == "GET":
            return self._page(gh.reviews.get(number, []), path, query)
        if comments and method == "GET":
            return self._page(gh.review_comments.get(number, []), path, query)
        if reviews and method == "POST":
            problem = _review_problem(body, gh.pulls[number])
            if problem:
                return self._send(422, {"message": "Unprocessable Entity", "errors": [problem]})
            created = {"id": gh._new_id(), "body": body.get("body", ""), "state": "COMMENTED",
                       "commit_id": body["commit_id"], "html_url": f"https://github.example/pull/{number}#review",
                       "user": {"login": "repo-auditor[bot]"}}
            gh.reviews.setdefault(number, []).append(created)
            for item in body.get("comments", []):
                self._store_comment(number, item, body["commit_id"], created["id"])
            return self._send(200, created)
        if review and method == "PUT":
            if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"]:
                return self._send(422, {"message": "Unprocessable Entity", "errors": ["body is required"]})
            for item in gh.reviews.get(number, []):
                if item["id"] == int(review.group(2)):
                    item["body"] = body["body"]
                    return self._send(200, item)
            return self._send(404, {"message": "Not Found"})
        if comments and method == "POST":
            problem = _comment_problem(body, gh.pulls[number]) or (
                None if isinstance(body, dict) and body.get("commit_id") == gh.pulls[number]["head"]
                else "commit_id must be the pull request's head")
            if problem:
                return self._send(422, {"message": "Unprocessable Entity", "errors": [problem]})
            return self._send(201, self._store_comment(number, body, body["commit_id"], gh._new_id()))
        if comment and method in ("PATCH", "DELETE"):
            for items in gh.review_comments.values():
                for item in items:
                    if item["id"] != int(comment.group(1)):
                        continue
                    if method == "DELETE":
                        items.remove(item)
                        return self._send(204, None)
                    if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"]:
                        return self._send(422, {"message": "Unprocessable Entity", "errors": ["body is required"]})
                    item["body"] = body["body"]
                    return self._send(200, item)
            return self._send(404, {"message": "Not Found"})
        return self._send(404, {"message": "Not Found"})

    def _store_comment(self, number: int, item: dict[str, Any], commit_id: str, review_id: int) -> dict[str, Any]:
        gh = self.github
        stored = {"id": gh._new_id(), "pull_request_review_id": review_id, "body": item["body"], "path": item["path"],
                  "line": item["line"], "start_line": item.get("start_line"), "side": item["side"],
                  "commit_id": commit_id, "html_url": f"https://github.example/pull/{number}#comment",
                  "user": {"login": "repo-auditor[bot]"}}
        gh.review_comments.setdefault(number, []).append(stored)
        return stored

def diff_hunks(diff: str) -> dict[str, list[tuple[int, int]]]:
    """{head path: inclusive head-side line ranges of its hunks}, from a ``git diff`` (what GitHub lets you comment)."""
    hunks: dict[str, list[tuple[int, int]]] = {}
    path = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
        match = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
        if match and path:
            start, count = int(match.group(1)), int(match.group(2) or 1)
            if count:
                hunks.setdefault(path, []).append((start, start + count - 1))
    return hunks


def _review_problem(body: Any, pull: dict[str, Any]) -> str | None:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if body.get("event") not in ("APPROVE", "REQUEST_CHANGES", "COMMENT"):
        return "event must be APPROVE, REQUEST_CHANGES or COMMENT"
    if not isinstance(body.get("commit_id"), str) or not re.fullmatch(r"[0-9a-f]{40}", body["commit_id"]):
        return "commit_id must be a 40-hex SHA"
    if body["commit_id"] != pull["head"]:
        return "commit_id is not the pull request's head"
    if body["event"] == "COMMENT" and not body.get("body"):
        return "a COMMENT review needs a body"
    items = body.get("comments", [])
    if not isinstance(items, list):
        return "comments must be an array"
    for item in items:
        problem = _comment_problem(item, pull)
        if problem:
            return problem
    return None


def _comment_problem(item: Any, pull: dict[str, Any]) -> str | None:
    if not isinstance(item, dict):
        return "a comment must be an object"
    if not isinstance(item.get("path"), str) or not isinstance(item.get("body"), str) or not item["body"]:
        return "a comment needs a string path and a non-empty body"
    if "position" in item:
        return "use line and side, not the deprecated position"
    line, start = item.get("line"), item.get("start_line")
    if not isinstance(line, int) or isinstance(line, bool) or line < 1:
        return "line must be a positive integer"
    if item.get("side") not in ("RIGHT", "LEFT"):
        return "side must be RIGHT or LEFT"
    if start is not None:
        if not isinstance(start, int) or start >= line:
            return "start_line must be an integer before line"
        if item.get("start_side") not in ("RIGHT", "LEFT"):
            return "start_side is required with start_line"
    first = start if start is not None else line
    if not any(a <= first and line <= b for a, b in pull["hunks"].get(item["path"], [])):
        return "Pull request review thread line must be part of the diff"
    return None


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A server for ``handler`` on a free port of 127.0.0.1, answering in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()
