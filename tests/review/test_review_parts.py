"""The review's small parts as tables: categories, rule globs and front matter, suppression entries, diff hunks, the
sync plan of inline comments, and the check that a suggestion applies to the head."""

from __future__ import annotations

import datetime as dt

import pytest

from repo_auditor.findings import Finding, Location, Severity
from repo_auditor.findings.categories import parse_category
from repo_auditor.review.inline import InlineComment, Posted, _checked_suggestion, hunk_ranges, plan_sync
from repo_auditor.review.rules import glob_matches, split_front_matter
from repo_auditor.review.suppressions import load_suppressions


@pytest.mark.parametrize("value, expected", [
    ("security/injection", "security/injection"),
    ("Security / Injection", "security/injection"),
    ("tests missing", "tests/missing"),
    ("injection", "security/injection"),
    ("complexity", "general"),  # two categories end with it
    ("style", "general"),
    (None, "general"),
    (7, "general"),
])
def test_categories(value, expected):
    assert parse_category(value)[0] == expected


@pytest.mark.parametrize("glob, path, matches", [
    ("app/*.py", "app/db.py", True),
    ("app/*.py", "app/sub/db.py", False),
    ("app/**/*.py", "app/sub/db.py", True),
    ("app/**/*.py", "app/db.py", True),
    ("*.sql", "migrations/001.sql", True),  # no slash: the file name in any folder
    ("docs/**", "app/docs.py", False),
])
def test_rule_globs(glob, path, matches):
    assert glob_matches(glob, path) is matches


@pytest.mark.parametrize("text, globs", [
    ('---\npaths: ["a/*.py", b/**]\n---\nbody', ("a/*.py", "b/**")),
    ("---\npaths:\n  - a/*.py\n  - 'c/*'\ntitle: x\n---\nbody", ("a/*.py", "c/*")),
    ("---\npaths: one/*.md\n---\nbody", ("one/*.md",)),
    ("no front matter\n---\n", ()),
])
def test_front_matter(text, globs):
    assert split_front_matter(text)[0] == globs


class Base:
    def __init__(self, text: str):
        self.text = text

    def read_at(self, ref, path, *, max_bytes):
        return self.text.encode()

    def list_at(self, ref, folder):
        return []


def test_suppression_entries_are_checked():
    live, notes = load_suppressions(Base("""
[[suppression]]
fingerprint = "ABCDEF0123456789"
reason = "ok"
expires = "2030-01-01"
[[suppression]]
path = "a/**"
rule = "general"
[[suppression]]
fingerprint = "x"
reason = "r"
expires = "soon"
"""), "base", today=dt.date(2026, 1, 1))
    assert [(s.fingerprint, s.expires) for s in live] == [("abcdef0123456789", dt.date(2030, 1, 1))]
    assert [n.split(": ", 1)[1] for n in notes] == [
        "suppression 2 ignored: no `reason` (say why the finding is dismissed)",
        "suppression 3 ignored: `expires` 'soon' is not a date (use 2026-06-30)"]
    assert load_suppressions(Base("not = [toml"), "base")[1][0].startswith(".repo-auditor/suppressions.toml on the base")


def test_hunk_ranges_cover_context_lines():
    patch = "@@ -1,3 +1,4 @@\n a\n+b\n c\n d\n@@ -20 +21,0 @@\n-x\n@@ -30,2 +31,2 @@\n y\n-z\n+w\n"
    assert hunk_ranges(patch) == [(1, 4), (31, 32)]


def finding(line: int = 3, end: int | None = None, evidence: str = "x = 1", suggestion: str | None = "x = 2"):
    return Finding("t", Severity.HIGH, Location("a.py", line, end), evidence=evidence, verified=True,
                   suggestion=suggestion)


def test_sync_edits_matches_recreates_moved_and_deletes_gone():
    wanted = [(InlineComment("k1", finding(), "a.py", 3), "b1"), (InlineComment("k2", finding(), "a.py", 9), "b2"),
              (InlineComment("k4", finding(), "a.py", 1), "b4")]
    posted = [Posted("k1", 1, "a.py", 3, "old"), Posted("k2", 2, "a.py", 7, "b2"), Posted("k3", 3, "a.py", 5, "x"),
              Posted("k1", 4, "a.py", 3, "duplicate")]
    plan = plan_sync(posted, wanted)
    assert [(old.id, c.key) for old, c, _ in plan.update] == [(1, "k1")]
    assert [c.key for c, _ in plan.create] == ["k2", "k4"]  # k2 moved from line 7 to 9: created anew
    assert sorted(p.id for p in plan.delete) == [2, 3, 4]


class Head:
    def read_text(self, path):
        return "a\nb\n    x = 1\n    y = 1\n"


@pytest.mark.parametrize("item, problem", [
    (finding(), None),
    (finding(3, 4, "x = 1\ny = 1", "    x = 2"), None),
    (finding(evidence="x ="), "the quoted lines are not exactly lines 3-3 of the head, so the fix might not apply"),
    (finding(suggestion="    x = 1"), "the suggestion changes nothing"),
    (finding(4, 6, "y = 1"), "the cited lines run past the end of the file"),
])
def test_a_suggestion_must_apply_to_the_head(item, problem):
    suggestion, why = _checked_suggestion(item, Head())
    assert why == problem and (suggestion is None) == (problem is not None)
