"""The GitLab REST API (v4), just enough to keep one merge-request review up to date (through ``http.py``).

    client = GitLabClient(token, project_id, merge_request_iid, api_url="https://gitlab.com/api/v4")
    outcome = client.publish_review(base_sha, head_sha, summary, comments)   # [(InlineComment, body), ...]

The summary is one merge-request note (``POST /projects/:id/merge_requests/:iid/notes``; found again by its hidden
marker and edited with ``PUT .../notes/:note_id``). Each inline finding is a diff discussion (``POST
.../discussions`` with ``position: {base_sha, start_sha, head_sha, position_type: "text", new_path, new_line}``;
``start_sha`` is the merge request's ``diff_refs.start_sha``, read once). On the next push a discussion whose key
is still wanted at the same place has its first note edited (``PUT .../discussions/:id/notes/:note_id``); the rest
are deleted (``DELETE`` the same path). A discussion GitLab rejects (400/422: a line outside its diff) is counted,
not fatal. In CI the ``CI_*`` variables give the API URL, project and merge request; ``GITLAB_TOKEN`` (a project or
personal access token with the ``api`` scope) authenticates as ``PRIVATE-TOKEN``.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from repo_auditor.errors import GitLabError
from repo_auditor.review.github import Comment, PublishOutcome, fit_comment
from repo_auditor.review.http import MAX_RATE_LIMIT_WAIT, JsonApi, as_int
from repo_auditor.review.inline import InlineComment, Posted, comment_key, plan_sync
from repo_auditor.review.marker import MARKER_PREFIX

DEFAULT_API_URL = "https://gitlab.com/api/v4"


class GitLabClient:
    """One merge request of one project. ``sleep`` / ``clock`` are injectable so tests do not wait."""

    def __init__(self, token: str, project: str, merge_request: int, *, api_url: str = DEFAULT_API_URL,
                 sleep: Callable[[float], None] | None = None, clock: Callable[[], float] | None = None):
        if not token:
            raise GitLabError("no GitLab token: set GITLAB_TOKEN to a project or personal access token with the "
                              "`api` scope (a masked CI/CD variable)")
        if not project or not re.fullmatch(r"[\w.\-/]+", project):
            raise GitLabError(f"the GitLab project must be an id or a path like group/name (CI_PROJECT_ID), got "
                              f"{project!r}")
        timing = {k: v for k, v in (("sleep", sleep), ("clock", clock)) if v is not None}
        self.api = JsonApi(api_url, {"PRIVATE-TOKEN": token, "User-Agent": "repo-auditor"}, error=GitLabError,
                           service="GitLab", explain=_explain, **timing)
        self.root = (f"{self.api.api_url}/projects/{urllib.parse.quote(project, safe='')}/merge_requests/"
                     f"{int(merge_request)}")
        self.merge_request = int(merge_request)

    # -- reading ---------------------------------------------------------------------------------------------------

    def start_sha(self) -> str | None:
        """The merge request's ``diff_refs.start_sha`` (the target branch commit its diff starts from)."""
        data, _ = self.api.request("GET", self.root)
        refs = data.get("diff_refs") if isinstance(data, dict) else None
        start = refs.get("start_sha") if isinstance(refs, dict) else None
        return start if isinstance(start, str) and re.fullmatch(r"[0-9a-f]{40}", start) else None

    def find_summary(self) -> Comment | None:
        """The note holding a review marker (the newest, if several), or None."""
        found = [c for c in map(_note, self.api.paginate(f"{self.root}/notes?per_page=100&sort=asc",
                                                             "the note list"))
                 if c is not None and MARKER_PREFIX in c.body]
        return found[-1] if found else None

    def previous_summary(self, pr: int | None = None) -> Comment | None:
        return self.find_summary()

    def list_discussions(self) -> list[Posted]:
        """The diff discussions whose first note carries one of our keys."""
        posted = []
        for item in self.api.paginate(f"{self.root}/discussions?per_page=100", "the discussion list"):
            notes = item.get("notes") if isinstance(item, dict) else None
            first = notes[0] if isinstance(notes, list) and notes else None
            note = _note(first)
            key = comment_key(note.body) if note else None
            if note is None or key is None or not isinstance(item.get("id"), str):
                continue
            position = first.get("position") if isinstance(first.get("position"), dict) else {}
            path = position.get("new_path")
            posted.append(Posted(key, note.id, path if isinstance(path, str) else None,
                                 as_int(position.get("new_line")), note.body, thread=item["id"]))
        return posted

    # -- publishing ------------------------------------------------------------------------------------------------

    def publish_review(self, base_sha: str, head_sha: str, summary: str,
                       comments: Sequence[tuple[InlineComment, str]], existing: Comment | None = None
                       ) -> PublishOutcome:
        summary = fit_comment(summary)
        existing = existing if existing is not None else self.find_summary()
        if existing is None:
            data, _ = self.api.request("POST", f"{self.root}/notes", {"body": summary})
        else:
            data, _ = self.api.request("PUT", f"{self.root}/notes/{existing.id}", {"body": summary})
        if _note(data) is None:
            raise GitLabError("GitLab's reply is not a note (no numeric id); check --api-url")
        plan = plan_sync(self.list_discussions(), comments)
        for old, _comment_, body in plan.update:
            if old.body != body:
                self._discussion_note("PUT", old, {"body": fit_comment(body)})
        for old in plan.delete:
            self._discussion_note("DELETE", old)
        created = rejected = 0
        if plan.create:
            start = self.start_sha() or base_sha
            for comment, body in plan.create:
                position = {"base_sha": base_sha, "start_sha": start, "head_sha": head_sha, "position_type": "text",
                            "new_path": comment.path, "old_path": comment.path, "new_line": comment.line}
                try:
                    self.api.request("POST", f"{self.root}/discussions", {"body": fit_comment(body),
                                                                          "position": position})
                    created += 1
                except GitLabError as exc:
                    if exc.status not in (400, 422):
                        raise
                    rejected += 1
        return PublishOutcome(None, existing is None, created, len(plan.update), len(plan.delete), rejected)

    def _discussion_note(self, method: str, old: Posted, payload: dict[str, Any] | None = None) -> None:
        thread = urllib.parse.quote(old.thread or "", safe="")
        self.api.request(method, f"{self.root}/discussions/{thread}/notes/{old.id}", payload)


def from_environment(api_url: str | None, merge_request: int | None) -> GitLabClient:
    """A client for the merge request of a GitLab CI pipeline (``CI_API_V4_URL``, ``CI_PROJECT_ID``,
    ``CI_MERGE_REQUEST_IID``; ``GITLAB_TOKEN``), with ``--api-url`` / ``--pr`` taking precedence."""
    iid = merge_request if merge_request is not None else _int(os.environ.get("CI_MERGE_REQUEST_IID"))
    if iid is None:
        raise GitLabError("--post gitlab needs the merge request: run in a merge-request pipeline "
                          "(CI_MERGE_REQUEST_IID) or pass --pr N")
    return GitLabClient(os.environ.get("GITLAB_TOKEN", ""), os.environ.get("CI_PROJECT_ID", ""), iid,
                        api_url=api_url or os.environ.get("CI_API_V4_URL") or DEFAULT_API_URL)


def _int(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def _note(data: Any) -> Comment | None:
    if not isinstance(data, dict) or as_int(data.get("id")) is None:
        return None
    body = data.get("body")
    return Comment(id=data["id"], body=body if isinstance(body, str) else "")


def _explain(status: int, message: str, method: str, url: str, rate_limited: bool) -> str:
    if rate_limited:
        return (f"GitLab rate limit hit ({status}) on {method} {url} and retries ran out or the reset is more than "
                f"{MAX_RATE_LIMIT_WAIT:.0f} s away; rerun later")
    if status == 401:
        return "GitLab rejected the token (401 Unauthorized); check GITLAB_TOKEN (a token with the `api` scope)"
    if status == 403:
        return f"GitLab refused {method} {url} (403: {message}); the token needs the `api` scope and Reporter access"
    if status == 404:
        return (f"GitLab found nothing at {url} (404); check CI_PROJECT_ID, the merge request number and that the "
                "token can see the project")
    return f"GitLab API error {status} on {method} {url}: {message}"
