"""Which findings become inline review comments, on which lines, and whether their proposed fix may be posted.

A finding gets an inline comment when it counts (located, not refuted) and its cited lines lie in the pull
request's diff: the new-side lines of a hunk (added lines and their context), which are the only lines GitHub and
GitLab accept comments on. A range inside one hunk is a multi-line comment; a range that leaves its hunk is
commented on its first line; a finding outside every hunk goes to the summary.

A finding's ``suggestion`` (replacement code for the cited lines) is posted as a committable suggestion only when
it applies cleanly to the head: the comment covers exactly the cited range, the quoted evidence is exactly those
head lines (ignoring only leading and trailing whitespace of each line; no elision), and the suggestion changes
something. Otherwise the comment says why the fix was left out.

Each comment carries a hidden key (``FINDING_MARKER``): the finding's ``code_fingerprint``, so the next push edits
the same comment instead of adding one, even when the model rewords the title.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from repo_auditor.findings import Finding
from repo_auditor.findings.verify import SourceTree
from repo_auditor.review.diff import ReviewPlan

# More inline comments than this on one pull request is noise; the rest are listed in the summary.
MAX_INLINE_COMMENTS = 30
FINDING_MARKER_PREFIX = "<!-- repo-auditor:finding key="
_KEY = re.compile(r"<!-- repo-auditor:finding key=([0-9a-f]{16}(?:-\d{1,3})?) -->")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


@dataclass(frozen=True)
class InlineComment:
    """Where one finding is commented: ``line`` is the last line, ``start_line`` the first of a multi-line range."""

    key: str
    finding: Finding
    path: str
    line: int
    start_line: int | None = None
    suggestion: str | None = None  # replacement code that applies cleanly to the head
    suggestion_problem: str | None = None  # why the finding's suggestion was left out

    @property
    def marker(self) -> str:
        return f"{FINDING_MARKER_PREFIX}{self.key} -->"


def comment_key(text: str) -> str | None:
    """The finding key hidden in a comment body, or None (a human's comment, or one we did not write)."""
    match = _KEY.search(text or "")
    return match.group(1) if match else None


def hunk_ranges(patch: str) -> list[tuple[int, int]]:
    """Inclusive new-side line ranges of a file's hunks (added and context lines)."""
    ranges = []
    for match in _HUNK.finditer(patch):
        start, count = int(match.group(1)), int(match.group(2) or "1")
        if count:
            ranges.append((start, start + count - 1))
    return ranges


def plan_inline(findings: Iterable[Finding], changes: ReviewPlan, repo: SourceTree) -> list[InlineComment]:
    """The inline comments for ``findings`` (those that count and lie in the diff), at most ``MAX_INLINE_COMMENTS``."""
    comments: list[InlineComment] = []
    keys: set[str] = set()
    for finding in findings:
        if not finding.counts or finding.location.line is None or len(comments) >= MAX_INLINE_COMMENTS:
            continue
        changed = changes.by_path.get(finding.location.path)
        if changed is None or changed.status == "deleted":
            continue
        first, last = finding.location.line, finding.location.last_line or finding.location.line
        hunk = next(((a, b) for a, b in hunk_ranges(changed.patch) if a <= first <= b), None)
        if hunk is None:
            continue
        whole = last <= hunk[1]
        key = finding.code_fingerprint
        n = 2
        while key in keys:
            key = f"{finding.code_fingerprint}-{n}"
            n += 1
        keys.add(key)
        suggestion, problem = _checked_suggestion(finding, repo) if whole else (
            None, "the cited lines leave the diff hunk" if finding.suggestion is not None else None)
        comments.append(InlineComment(key, finding, finding.location.path, last if whole else first,
                                      first if whole and last > first else None, suggestion, problem))
    return comments


def _checked_suggestion(finding: Finding, repo: SourceTree) -> tuple[str | None, str | None]:
    if finding.suggestion is None:
        return None, None
    location = finding.location
    try:
        head = repo.read_text(location.path).split("\n")
    except Exception:  # the file was located a moment ago; if it cannot be read now, post no fix
        return None, "the head file could not be read"
    first, last = location.line or 1, location.last_line or 1
    cited = [line.rstrip("\r") for line in head[first - 1:last]]
    quoted = finding.evidence.split("\n")
    if len(cited) != last - first + 1:
        return None, "the cited lines run past the end of the file"
    if [q.strip() for q in quoted] != [c.strip() for c in cited]:
        return None, f"the quoted lines are not exactly lines {first}-{last} of the head, so the fix might not apply"
    if finding.suggestion.strip("\n") == "\n".join(cited).strip("\n"):
        return None, "the suggestion changes nothing"
    return finding.suggestion.strip("\n"), None


@dataclass(frozen=True)
class Posted:
    """An inline comment already on the pull request that carries one of our keys."""

    key: str
    id: int
    path: str | None
    line: int | None
    body: str
    thread: str | None = None  # GitLab: the discussion the note belongs to


@dataclass(frozen=True)
class SyncPlan:
    """What to do so the pull request shows exactly the wanted comments: edit, create, delete."""

    update: list[tuple[Posted, InlineComment, str]]  # same key, same place: edit the body (when it changed)
    create: list[tuple[InlineComment, str]]
    delete: list[Posted]  # the finding is gone (resolved), or it moved and is created anew at its new place


def plan_sync(posted: Iterable[Posted], wanted: Iterable[tuple[InlineComment, str]]) -> SyncPlan:
    """Match wanted (comment, body) pairs to posted comments by key; a key posted twice keeps its first copy."""
    by_key: dict[str, Posted] = {}
    extra: list[Posted] = []
    for item in posted:
        (extra if item.key in by_key else []).append(item)
        by_key.setdefault(item.key, item)
    update, create = [], []
    for comment, body in wanted:
        old = by_key.pop(comment.key, None)
        if old is not None and old.path == comment.path and old.line == comment.line:
            update.append((old, comment, body))
        else:
            if old is not None:
                extra.append(old)
            create.append((comment, body))
    return SyncPlan(update=update, create=create, delete=[*by_key.values(), *extra])
