"""A local HTTP server on 127.0.0.1 that behaves like the parts of the GitHub REST API the review bot uses.

    with FakeGitHub(page_size=2) as gh:
        gh.add_comment(7, "an unrelated comment")
        gh.fail_next(429, headers={"Retry-After": "0"})     # the next request gets this answer instead
        ... GitHubClient("tok", "acme/shop", api_url=gh.url) ...
        assert gh.comments[7][0]["body"] == ...

Routes: ``GET /repos/{o}/{r}/issues/{n}/comments`` (paginated with ``per_page`` / ``page`` and a ``Link`` header),
``POST`` the same path (create), ``PATCH /repos/{o}/{r}/issues/comments/{id}`` (update). A wrong token gets 401, an
unknown repository or comment 404, an empty or missing body 422. Every request is recorded in ``requests``.
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

    def __post_init__(self) -> None:
        self._faults: deque[tuple[int, dict[str, str], dict[str, Any]]] = deque()
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeGitHub:  # noqa: PYI034 - Self needs Python 3.11
        fake = self

        class Handler(_Handler):
            github = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

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

    def fail_next(self, status: int, *, headers: dict[str, str] | None = None, body: dict | list | None = None) -> None:
        self._faults.append((status, headers or {}, body if body is not None else {"message": f"fault {status}"}))


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

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

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
