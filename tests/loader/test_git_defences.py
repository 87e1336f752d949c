"""The audited repository's ``.git/config`` cannot make repo_auditor run a command: filter drivers, textconv and
external diff drivers, the file-system monitor, a pager and hooks are each configured to leave a marker file, then
every git-backed operation runs (work-tree listing of stat-dirty and modified files, reads at a ref, the review diff,
the architecture history) and no marker may appear."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from repo_auditor.architecture.history import read_churn
from repo_auditor.repository import Repository
from tests.gitrepo import GitRepo

# mechanism -> the git config keys that would run a command for it
MECHANISMS = {
    "filter-clean": ["filter.evil.clean"],
    "filter-smudge": ["filter.evil.smudge"],
    "filter-process": ["filter.evil.process"],
    "textconv": ["diff.evil.textconv"],
    "diff-driver": ["diff.evil.command"],
    "external-diff": ["diff.external"],
    "fsmonitor": ["core.fsmonitor"],
    "pager": ["core.pager"],
}
HOOKS = ("pre-commit", "post-checkout", "post-index-change", "reference-transaction", "fsmonitor-watchman")


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[GitRepo, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    repo = GitRepo.init(tmp_path / "repo")
    repo.write(".gitattributes", "* filter=evil diff=evil\n")
    repo.write("a.py", "print('one')\n")
    repo.write("b.py", "print('two')\n")
    base = repo.commit("base")
    repo.git("tag", "base", base)
    repo.write("a.py", "print('one, changed')\n")
    repo.commit("change a")
    for name, keys in MECHANISMS.items():
        script = tmp_path / f"{name}.sh"
        script.write_text(f"#!/bin/sh\ntouch {markers / name}\ncat\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        for key in keys:
            repo.git("config", key, str(script))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in HOOKS:
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {markers / ('hook-' + hook)}\n")
        (hooks / hook).chmod(0o755)
    repo.git("config", "core.hooksPath", str(hooks))
    # b.py: same content, new mtime (stat-dirty: `git ls-files -m` would pass it through the clean filter);
    # a.py: modified in the work tree.
    past = time.time() - 3600
    os.utime(repo.path / "b.py", (past, past))
    repo.write("a.py", "print('one, edited again')\n")
    for marker in markers.iterdir():  # what setting up with plain git left behind
        marker.unlink()
    return repo, markers


def test_no_configured_command_runs_for_any_git_backed_operation(hostile):
    repo, markers = hostile
    with Repository.open(repo.path) as work_tree:
        assert {f.path for f in work_tree.files} == {".gitattributes", "a.py", "b.py"}
        assert work_tree.read_text("a.py") == "print('one, edited again')\n"
    with Repository.open(repo.path, ref="HEAD") as at_head:
        assert at_head.read_text("a.py") == "print('one, changed')\n"
        diff = at_head.diff("base", "HEAD")
        assert "+print('one, changed')" in diff
        at_head.search_root()  # extraction for ripgrep
    churn = read_churn(repo.path, repo.head(), since_days=30)
    assert churn.commits == 2
    assert sorted(p.name for p in markers.iterdir()) == []


def test_the_markers_would_appear_if_git_ran_the_configuration(hostile):
    """The fixture is really hostile: plain git, without our overrides, runs the clean filter and textconv."""
    repo, markers = hostile
    repo.git("ls-files", "-m")
    repo.git("log", "-p", "-1", "--textconv")
    ran = {p.name for p in markers.iterdir()}
    assert "textconv" in ran and ran & {"filter-clean", "filter-process"}
