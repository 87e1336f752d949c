"""A unified diff (``git diff``) -> changed files with their status and changed line ranges -> a review plan.

``parse_diff`` reads the text ``Repository.diff`` returns. ``plan_review`` decides, within a budget of diff
characters, which files the model sees in full (*reviewed*), which as a cut patch (*skimmed*) and which only by name
and stats (*skipped*), and says why for each, so a large change never falls off a token cliff silently:

* lockfiles, generated, vendored and binary files are skipped (listed with their stats);
* the rest are ordered source before tests, then by the size of their patch, smallest first (so as many files as
  possible are seen whole, and one huge file cannot crowd out a one-line change elsewhere), and given whole while
  the budget lasts;
* a file whose patch no longer fits is skimmed (head and tail of its patch, cut with a visible marker) while at least
  ``MIN_SKIM_CHARS`` of budget remain, then skipped with the reason "diff budget used up".
"""

from __future__ import annotations

import codecs
import dataclasses
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from repo_auditor.repository import GENERATED_NAMES, GENERATED_SUFFIXES, VENDORED_DIRS
from repo_auditor.tools.ledger import merge_ranges

# The model gets at most this many characters of diff by default: about 15k tokens, a fair share of a context window
# that must also hold the exploration.
DEFAULT_DIFF_BUDGET_CHARS = 60_000
# Below this much remaining budget a cut patch says too little to be worth the space; the file is listed instead.
MIN_SKIM_CHARS = 1_500
# A diff larger than this is not parsed at all (a guard against pathological input; 50 MB of diff is not a review).
MAX_DIFF_CHARS = 50_000_000

Status = Literal["added", "modified", "deleted", "renamed", "copied"]
Coverage = Literal["reviewed", "skimmed", "skipped"]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class ChangedFile:
    """One file of the change: its head path (the base path for a deletion), status and the changed head lines."""

    path: str
    status: Status
    old_path: str | None = None  # set for renames and copies
    additions: int = 0
    deletions: int = 0
    ranges: tuple[tuple[int, int], ...] = ()  # inclusive head-line ranges of added or changed lines
    binary: bool = False
    patch: str = ""  # this file's part of the diff, headers included

    @property
    def changed_lines(self) -> int:
        return self.additions + self.deletions

    def touches(self, line: int | None, end_line: int | None = None) -> bool:
        """Whether head lines ``line``..``end_line`` overlap a changed range (False without a line)."""
        if line is None:
            return False
        last = end_line if end_line is not None and end_line >= line else line
        return any(start <= last and line <= end for start, end in self.ranges)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "old_path": self.old_path, "additions": self.additions,
                "deletions": self.deletions, "changed_ranges": [list(r) for r in self.ranges],
                "binary": self.binary}


def parse_diff(text: str) -> list[ChangedFile]:
    """The files of a ``git diff`` (with ``a/`` / ``b/`` prefixes), in diff order. Lines that fit no known shape
    are ignored, so a damaged diff yields fewer files rather than an exception."""
    if len(text) > MAX_DIFF_CHARS:
        raise ValueError(f"the diff has {len(text):,} characters, more than {MAX_DIFF_CHARS:,}; review a smaller "
                         "range (a closer --base)")
    sections: list[list[str]] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("diff --git "):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
    files = [_parse_section(section) for section in sections]
    return [f for f in files if f is not None]


def _parse_section(lines: list[str]) -> ChangedFile | None:
    old: str | None = None
    new: str | None = None
    status: Status = "modified"
    binary = False
    header_paths = _paths_from_header(lines[0])
    additions = deletions = 0
    ranges: list[tuple[int, int]] = []
    in_hunk = False
    new_line = 0
    run_start: int | None = None
    for raw in lines[1:]:
        line = raw.rstrip("\n")
        if not in_hunk:
            if line.startswith("new file mode"):
                status = "added"
            elif line.startswith("deleted file mode"):
                status = "deleted"
            elif line.startswith("rename from "):
                status, old = "renamed", _unquote(line[len("rename from "):])
            elif line.startswith("rename to "):
                new = _unquote(line[len("rename to "):])
            elif line.startswith("copy from "):
                status, old = "copied", _unquote(line[len("copy from "):])
            elif line.startswith("copy to "):
                new = _unquote(line[len("copy to "):])
            elif line.startswith("--- "):
                old = old or _strip_prefix(line[4:], "a/")
            elif line.startswith("+++ "):
                new = new or _strip_prefix(line[4:], "b/")
            elif line.startswith("Binary files "):
                binary = True
        match = _HUNK.match(line)
        if match:
            in_hunk = True
            if run_start is not None:
                ranges.append((run_start, new_line - 1))
                run_start = None
            new_line = int(match.group(3))
            continue
        if not in_hunk:
            continue
        if line.startswith("+"):
            additions += 1
            run_start = new_line if run_start is None else run_start
            new_line += 1
            continue
        if run_start is not None:
            ranges.append((run_start, new_line - 1))
            run_start = None
        if line.startswith("-"):
            deletions += 1
            # a removal changes the code around it: the head line now standing where the lines were counts
            ranges.append((max(new_line, 1), max(new_line, 1)))
        elif line.startswith(" ") or line == "":
            new_line += 1
    if run_start is not None:
        ranges.append((run_start, new_line - 1))
    if old == "/dev/null":
        old, status = None, "added"
    if new == "/dev/null":
        new, status = None, "deleted"
    path = new or old or (header_paths[1] if header_paths else None)
    if not path:
        return None
    if status == "deleted":
        ranges = []
    return ChangedFile(path=path, status=status, old_path=old if status in ("renamed", "copied") else None,
                       additions=additions, deletions=deletions, ranges=tuple(merge_ranges(ranges)), binary=binary,
                       patch="".join(lines))


def _strip_prefix(value: str, prefix: str) -> str:
    """A path from a ``---`` / ``+++`` / ``rename`` line: git's C-style quoting undone, then ``prefix`` removed."""
    value = _unquote(value.rstrip("\t"))
    return value.removeprefix(prefix)


def _unquote(value: str) -> str:
    """git quotes a path holding a tab, newline, quote or backslash as a C string (``"a/x\\ty"``); undo that."""
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        return value
    raw = value[1:-1].encode("latin-1", "backslashreplace")
    try:
        return codecs.escape_decode(raw)[0].decode("utf-8", "replace")  # type: ignore[attr-defined]
    except ValueError:
        return value


def _paths_from_header(line: str) -> tuple[str, str] | None:
    """``diff --git a/x b/x`` -> (x, x) when the two halves are the same path (the only unambiguous case)."""
    rest = line.rstrip("\n")[len("diff --git "):]
    half = len(rest) // 2
    first, second = rest[:half], rest[half + 1:]
    if first.startswith("a/") and second.startswith("b/") and first[2:] == second[2:]:
        return first[2:], second[2:]
    return None


def low_value_reason(changed: ChangedFile, flags: Iterable[str] = ()) -> str | None:
    """Why a file is not worth the model's diff budget (lockfile, generated, vendored, binary), or None."""
    name = posixpath.basename(changed.path)
    flags = set(flags)
    if changed.binary:
        return "binary file"
    if name in GENERATED_NAMES:
        return "lockfile"
    if "vendored" in flags or any(part in VENDORED_DIRS for part in changed.path.split("/")[:-1]):
        return "vendored code"
    if "generated" in flags or name.endswith(GENERATED_SUFFIXES):
        return "generated file"
    return None


@dataclass(frozen=True)
class PlannedFile:
    """A changed file with what the review does with it and why."""

    file: ChangedFile
    coverage: Coverage
    reason: str
    shown_chars: int = 0  # characters of its patch the model was given

    def to_dict(self) -> dict[str, Any]:
        return {**self.file.to_dict(), "coverage": self.coverage, "reason": self.reason}


@dataclass(frozen=True)
class ReviewPlan:
    """Every changed file, each reviewed, skimmed or skipped, and the diff text the model receives."""

    files: tuple[PlannedFile, ...]
    diff: str
    budget_chars: int
    by_path: dict[str, ChangedFile] = field(default_factory=dict)

    def with_coverage(self, coverage: Coverage) -> list[PlannedFile]:
        return [p for p in self.files if p.coverage == coverage]

    def touches(self, path: str, line: int | None, end_line: int | None = None) -> bool:
        changed = self.by_path.get(path)
        return changed is not None and changed.touches(line, end_line)

    def with_names(self, name: Callable[[str], str]) -> ReviewPlan:
        """This plan with ``name`` applied to every file's path and old path (see ``ReviewResult.shown``)."""
        def named(changed: ChangedFile) -> ChangedFile:
            return dataclasses.replace(changed, path=name(changed.path),
                                       old_path=changed.old_path and name(changed.old_path))

        return dataclasses.replace(
            self, files=tuple(dataclasses.replace(p, file=named(p.file)) for p in self.files),
            by_path={name(path): named(changed) for path, changed in self.by_path.items()})


def plan_review(files: Iterable[ChangedFile], *, budget_chars: int = DEFAULT_DIFF_BUDGET_CHARS,
                flags_for: Any = None) -> ReviewPlan:
    """Decide per file: reviewed (whole patch), skimmed (cut patch) or skipped (stats only); see the module
    docstring. ``flags_for(path)`` returns the repository's flags for a head path (``generated``, ``vendored``)."""
    if budget_chars < 0:
        raise ValueError(f"the diff budget must be 0 or more characters, got {budget_chars}")
    files = list(files)
    planned: dict[str, PlannedFile] = {}
    candidates: list[ChangedFile] = []
    for changed in files:
        reason = low_value_reason(changed, flags_for(changed.path) if flags_for else ())
        if reason:
            planned[changed.path] = PlannedFile(changed, "skipped", reason)
        else:
            candidates.append(changed)
    left = budget_chars
    parts: dict[str, str] = {}
    for changed in sorted(candidates, key=_priority):
        size = len(changed.patch)
        if size <= left:
            parts[changed.path] = changed.patch
            planned[changed.path] = PlannedFile(changed, "reviewed", "whole patch given", size)
            left -= size
        elif left >= MIN_SKIM_CHARS:
            cut = truncate_patch(changed.patch, left)
            parts[changed.path] = cut
            planned[changed.path] = PlannedFile(
                changed, "skimmed", f"patch cut to {len(cut):,} of {size:,} characters (diff budget)", len(cut))
            left -= len(cut)
        else:
            planned[changed.path] = PlannedFile(changed, "skipped", "diff budget used up; listed by name and stats")
    order = [c.path for c in files]
    return ReviewPlan(files=tuple(planned[p] for p in order), diff="".join(parts[p] for p in order if p in parts),
                      budget_chars=budget_chars, by_path={c.path: c for c in files})


def _priority(changed: ChangedFile) -> tuple[bool, int, str]:
    parts = changed.path.lower().split("/")
    name = parts[-1]
    is_test = (any(p in ("test", "tests", "spec", "specs", "__tests__") for p in parts[:-1])
               or name.startswith("test_") or re.search(r"[._-](test|spec)\.[a-z]+$", name) is not None)
    return (is_test, len(changed.patch), changed.path)


def truncate_patch(patch: str, limit: int) -> str:
    """``patch`` cut to about ``limit`` characters, keeping its head and tail around a visible marker line."""
    if len(patch) <= limit:
        return patch
    marker = "\n… [{} characters of this patch cut by repo_auditor] …\n"
    keep = max(0, limit - len(marker) - 12)
    head, tail = patch[: keep * 2 // 3], patch[len(patch) - keep // 3:] if keep // 3 else ""
    return head + marker.format(f"{len(patch) - len(head) - len(tail):,}") + tail


# -- what the model may see of a change ---------------------------------------------------------------------------

TextOf = Callable[[str], "tuple[list[str], list[str]] | None"]


def redact_changes(files: Iterable[ChangedFile], *, head: TextOf, base: TextOf,
                   redact: Callable[[str, str], str]) -> list[ChangedFile]:
    """``files`` with every patch as the model may see it: a content line takes its line of the redacted whole file
    (``head(path)`` / ``base(path)`` give a file's raw and redacted lines, or None), so a secret is found with all of
    its file around it (a private key block, a multi-line string) and the path's own rules apply (``.env``,
    ``.netrc``); a line the file does not hold as the diff says is redacted with its hunk (``redact(text, path)``).
    Headers and hunk titles go through ``redact`` too. Line counts never change, so ranges and hunks stay valid."""
    out = []
    for changed in files:
        if not changed.patch:
            out.append(changed)
            continue
        new_side = head(changed.path) if changed.status != "deleted" else None
        old_side = base(changed.old_path or changed.path) if changed.status != "added" else None
        patch = _redact_patch(changed.patch, changed.path, new_side, old_side, redact)
        out.append(dataclasses.replace(changed, patch=patch))
    return out


def _redact_patch(patch: str, path: str, new_side: tuple[list[str], list[str]] | None,
                  old_side: tuple[list[str], list[str]] | None, redact: Callable[[str, str], str]) -> str:
    lines = patch.splitlines(keepends=True)
    out: list[str] = []
    at = 0
    header: list[str] = []
    while at < len(lines) and not _HUNK.match(lines[at]):
        header.append(lines[at])
        at += 1
    out.append(redact("".join(header), path))
    while at < len(lines):
        match = _HUNK.match(lines[at])
        assert match is not None
        title = lines[at]
        out.append(title[:match.end()] + redact(title[match.end():], path))
        at += 1
        body = []
        while at < len(lines) and not _HUNK.match(lines[at]):
            body.append(lines[at])
            at += 1
        out.extend(_redact_hunk(body, path, int(match.group(1)), int(match.group(3)), old_side, new_side, redact))
    return "".join(out)


def _redact_hunk(body: list[str], path: str, old_start: int, new_start: int,
                 old_side: tuple[list[str], list[str]] | None, new_side: tuple[list[str], list[str]] | None,
                 redact: Callable[[str, str], str]) -> list[str]:
    """The hunk's lines, each content line redacted (see ``redact_changes``)."""
    parsed = []  # (prefix, content, ending, old line or None, new line or None)
    old_line, new_line = old_start, new_start
    for raw in body:
        ending = "\n" if raw.endswith("\n") else ""
        text = raw[:len(raw) - len(ending)]
        prefix, content = (text[:1], text[1:]) if text[:1] in ("+", "-", " ") else ("", text)
        old = new = None
        if prefix in ("-", " "):
            old, old_line = old_line, old_line + 1
        if prefix in ("+", " "):
            new, new_line = new_line, new_line + 1
        parsed.append((prefix, content, ending, old, new))
    fallback_old = _side_fallback(parsed, 3, old_side, path, redact)
    fallback_new = _side_fallback(parsed, 4, new_side, path, redact)
    out = []
    for index, (prefix, content, ending, old, new) in enumerate(parsed):
        if not prefix:  # "\ No newline at end of file", or a line of unknown shape
            out.append(redact(content, path) + ending)
            continue
        shown = []
        for number, side, fallback in ((new, new_side, fallback_new), (old, old_side, fallback_old)):
            if number is not None:
                from_file = _from_file(side, number, content)
                shown.append(from_file if from_file is not None else fallback[index])
        # a context line is in both files: it shows redacted when either side finds a secret on it
        out.append(prefix + next((s for s in shown if s != content), content) + ending)
    return out


def _from_file(side: tuple[list[str], list[str]] | None, number: int, content: str) -> str | None:
    if side is None or not 1 <= number <= len(side[0]) or side[0][number - 1].rstrip("\r") != content.rstrip("\r"):
        return None
    return side[1][number - 1]


def _side_fallback(parsed: list[tuple[str, str, str, int | None, int | None]], field: int,
                   side: tuple[list[str], list[str]] | None, path: str,
                   redact: Callable[[str, str], str]) -> dict[int, str]:
    """One side of a hunk (``field`` 3: old lines, 4: new lines) redacted as one text, when some line of it is
    not in the file as read: index in the hunk -> redacted content."""
    indices = [i for i, p in enumerate(parsed) if p[field] is not None]
    if all(_from_file(side, parsed[i][field], parsed[i][1]) is not None for i in indices):  # type: ignore[arg-type]
        return {}
    shown = redact("\n".join(parsed[i][1] for i in indices), path).split("\n")
    return dict(zip(indices, shown))
