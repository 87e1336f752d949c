"""Parsing git's unified diff into changed files and line ranges, and planning what the model sees."""

from __future__ import annotations

import pytest

from repo_auditor.repository import Repository
from repo_auditor.review.diff import MIN_SKIM_CHARS, ChangedFile, parse_diff, plan_review
from tests.review.conftest import change_signature, introduce_sql_bug

MODIFIED = """diff --git a/app/x.py b/app/x.py
index 1111111..2222222 100644
--- a/app/x.py
+++ b/app/x.py
@@ -1,4 +1,5 @@
 a
-b
+B
+C
 d
 e
@@ -10,2 +11,3 @@ def f():
 x
+y
 z
"""
ADDED = """diff --git a/new file.txt b/new file.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new file.txt
@@ -0,0 +1,2 @@
+one
+two
"""
DELETED = """diff --git a/gone.py b/gone.py
deleted file mode 100644
index 4444444..0000000
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-bye
"""
RENAMED = """diff --git a/old.py b/new.py
similarity index 90%
rename from old.py
rename to new.py
index 5555555..6666666 100644
--- a/old.py
+++ b/new.py
@@ -3 +3 @@
-x = 1
+x = 2
"""
QUOTED = """diff --git "a/tab\\there.py" "b/tab\\there.py"
new file mode 100644
--- /dev/null
+++ "b/tab\\there.py"
@@ -0,0 +1 @@
+x
"""
BINARY = """diff --git a/logo.png b/logo.png
index 7777777..8888888 100644
Binary files a/logo.png and b/logo.png differ
"""


@pytest.mark.parametrize("text, expected", [
    (MODIFIED, ChangedFile("app/x.py", "modified", None, 3, 1, ((2, 3), (12, 12)))),
    (ADDED, ChangedFile("new file.txt", "added", None, 2, 0, ((1, 2),))),
    (DELETED, ChangedFile("gone.py", "deleted", None, 0, 1, ())),
    (RENAMED, ChangedFile("new.py", "renamed", "old.py", 1, 1, ((3, 3),))),
    (QUOTED, ChangedFile("tab\there.py", "added", None, 1, 0, ((1, 1),))),
    (BINARY, ChangedFile("logo.png", "modified", None, 0, 0, (), binary=True)),
], ids=["modified", "added-with-space", "deleted", "renamed", "quoted-path", "binary"])
def test_parse_diff_cases(text, expected):
    [changed] = parse_diff(text)
    assert (changed.path, changed.status, changed.old_path, changed.additions, changed.deletions, changed.ranges,
            changed.binary) == (expected.path, expected.status, expected.old_path, expected.additions,
                                expected.deletions, expected.ranges, expected.binary)
    assert changed.patch == text


def test_touches_overlapping_ranges_only():
    [changed] = parse_diff(MODIFIED)
    assert changed.touches(2) and changed.touches(1, 2) and changed.touches(12)
    assert not changed.touches(4) and not changed.touches(None) and not changed.touches(5, 11)


def test_plan_skips_lockfiles_and_vendored_and_gives_small_source_patches_first():
    files = [
        ChangedFile("poetry.lock", "modified", additions=500, patch="x" * 100),
        ChangedFile("vendor/lib.js", "modified", additions=50, patch="x" * 100),
        ChangedFile("small.py", "modified", additions=1, patch="s" * 100),
        ChangedFile("tests/test_small.py", "modified", additions=1, patch="t" * 100),
        ChangedFile("big.py", "modified", additions=90, patch="b" * 3000),
        ChangedFile("huge.py", "modified", additions=80, patch="h" * 50_000),
        ChangedFile("gen_pb2.py", "added", additions=80, patch="g" * 100),
    ]
    plan = plan_review(files, budget_chars=3100 + MIN_SKIM_CHARS + 10)
    by = {p.file.path: p for p in plan.files}
    assert [p.file.path for p in plan.files] == [f.path for f in files]  # diff order kept
    assert (by["poetry.lock"].coverage, by["poetry.lock"].reason) == ("skipped", "lockfile")
    assert by["vendor/lib.js"].reason == "vendored code" and by["gen_pb2.py"].reason == "generated file"
    assert by["small.py"].coverage == by["big.py"].coverage == "reviewed"  # smallest source patches first
    assert by["huge.py"].coverage == "skimmed" and "cut by repo_auditor" in plan.diff
    tests = by["tests/test_small.py"]  # tests come after source, so the budget ran out before it
    assert tests.coverage == "skipped" and "budget" in tests.reason
    assert len(plan.diff) <= plan.budget_chars
    assert "poetry.lock" not in plan.diff


def test_repository_diff_and_merge_base(shop):
    introduce_sql_bug(shop.repo)
    change_signature(shop.repo)
    shop.repo.switch("main")
    shop.repo.write("NEWS.md", "on main\n")
    shop.repo.commit("main moves on")
    with Repository.open(shop.path, ref="feature") as repo:
        assert repo.merge_base("main", "feature") == shop.base
        changed = {c.path: c for c in parse_diff(repo.diff(shop.base, "feature"))}
    assert sorted(changed) == ["app/db.py", "app/pricing.py"]  # NEWS.md on main is not part of the change
    assert changed["app/db.py"].ranges == ((12, 12),)
    assert changed["app/pricing.py"].touches(4)
