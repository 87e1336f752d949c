"""A local HTTP server on 127.0.0.1 that behaves like the parts of the GitLab v4 API the review bot uses, and checks
request shapes the way GitLab does.

    with FakeGitLab() as gl:
        gl.open_merge_request(head_sha, base_sha, start_sha, diff_text)
        ... GitLabClient(gl.token, gl.project, gl.iid, api_url=gl.url) ...
        assert gl.discussions[0]["notes"][0]["position"]["new_line"] == 12

Routes under ``/api/v4/projects/{project}/merge_requests/{iid}``: ``GET`` (diff_refs), ``GET/POST /notes``,
``PUT /notes/{id}``, ``GET/POST /discussions``, ``PUT/DELETE /discussions/{id}/notes/{note_id}``. The token must be
in ``PRIVATE-TOKEN`` (401 otherwise). A new discussion's ``position`` must have ``position_type: "text"``, the three
SHAs equal to the merge request's ``diff_refs``, a string ``new_path`` and an integer ``new_line`` inside a hunk of
that path's diff (parsed here, independently of repo_auditor); otherwise 400 with GitLab's message.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.review.fake_github import JsonHandler, Recorded, diff_hunks, serve, stop


@dataclass
class FakeGitLab:
    token: str = "glpat-test"
    project: str = "42"
    iid: int = 5
    notes: list[dict[str, Any]] = field(default_factory=list)
    discussions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    merge_request: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._next_id = 500
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeGitLab:  # noqa: PYI034 - Self needs Python 3.11
        fake = self

        class Handler(_Handler):
            gitlab = fake

        self._server = serve(Handler)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        stop(self._server)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v4"

    def open_merge_request(self, head: str, base: str, start: str, diff: str) -> None:
        self.merge_request = {"iid": self.iid, "diff_refs": {"base_sha": base, "head_sha": head, "start_sha": start},
                              "hunks": diff_hunks(diff)}

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id


class _Handler(JsonHandler):
    gitlab: FakeGitLab

    def _handle(self, method: str) -> None:
        gl = self.gitlab
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        gl.requests.append(Recorded(method, self.path, dict(self.headers), body))
        if self.headers.get("PRIVATE-TOKEN") != gl.token:
            return self._send(401, {"message": "401 Unauthorized"})
        url = urllib.parse.urlsplit(self.path)
        root = f"/api/v4/projects/{urllib.parse.quote(gl.project, safe='')}/merge_requests/{gl.iid}"
        if not url.path.startswith(root) or not gl.merge_request:
            return self._send(404, {"message": "404 Not found"})
        rest = url.path[len(root):]
        if rest == "" and method == "GET":
            return self._send(200, {k: v for k, v in gl.merge_request.items() if k != "hunks"})
        if rest == "/notes" and method == "GET":
            return self._send(200, gl.notes)
        if rest == "/notes" and method == "POST":
            if not _has_body(body):
                return self._send(400, {"message": "body is missing"})
            note = {"id": gl.new_id(), "body": body["body"], "system": False}
            gl.notes.append(note)
            return self._send(201, note)
        note_match = re.fullmatch(r"/notes/(\d+)", rest)
        if note_match and method == "PUT":
            for note in gl.notes:
                if note["id"] == int(note_match.group(1)) and _has_body(body):
                    note["body"] = body["body"]
                    return self._send(200, note)
            return self._send(404, {"message": "404 Not found"})
        if rest == "/discussions" and method == "GET":
            return self._send(200, gl.discussions)
        if rest == "/discussions" and method == "POST":
            problem = _position_problem(body, gl.merge_request)
            if problem:
                return self._send(400, {"message": f"400 Bad request - {problem}"})
            note = {"id": gl.new_id(), "body": body["body"], "position": body["position"], "type": "DiffNote"}
            discussion = {"id": f"{gl.new_id():040x}", "notes": [note]}
            gl.discussions.append(discussion)
            return self._send(201, discussion)
        thread = re.fullmatch(r"/discussions/([0-9a-f]+)/notes/(\d+)", rest)
        if thread and method in ("PUT", "DELETE"):
            for discussion in gl.discussions:
                if discussion["id"] != thread.group(1):
                    continue
                for note in discussion["notes"]:
                    if note["id"] != int(thread.group(2)):
                        continue
                    if method == "DELETE":
                        discussion["notes"].remove(note)
                        if not discussion["notes"]:
                            gl.discussions.remove(discussion)
                        return self._send(204, None)
                    if not _has_body(body):
                        return self._send(400, {"message": "body is missing"})
                    note["body"] = body["body"]
                    return self._send(200, note)
            return self._send(404, {"message": "404 Not found"})
        return self._send(404, {"message": "404 Not found"})


def _has_body(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("body"), str) and bool(body["body"])


def _position_problem(body: Any, merge_request: dict[str, Any]) -> str | None:
    if not _has_body(body):
        return "body is missing"
    position = body.get("position")
    if not isinstance(position, dict):
        return "position is missing"
    if position.get("position_type") != "text":
        return "position_type must be text"
    for key in ("base_sha", "start_sha", "head_sha"):
        if position.get(key) != merge_request["diff_refs"][key]:
            return f"position {key} does not match the merge request's diff_refs"
    path, line = position.get("new_path"), position.get("new_line")
    if not isinstance(path, str) or not isinstance(line, int) or isinstance(line, bool):
        return "new_path must be a string and new_line an integer"
    if not any(a <= line <= b for a, b in merge_request["hunks"].get(path, [])):
        return "Note {:line_code=>[\"can't be blank\", \"must be a valid line code\"]}"
    return None
