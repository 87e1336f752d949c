"""--include/--exclude and .repo-auditor-ignore narrow the file set every tool sees, at the work tree and at a ref."""

from __future__ import annotations

from pathlib import Path

import pytest

from repo_auditor.errors import FileNotInRepositoryError
from repo_auditor.repository import Repository
from repo_auditor.repository.scope import FileScope, narrow
from repo_auditor.tools import RepoTools
from tests.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    git = GitRepo.init(tmp_path / "r")
    for path in ("src/app.py", "src/util.py", "tests/test_app.py", "vendor/lib.js", "docs/a.md"):
        git.write(path, f"# {path}\nTOKEN = 1\n")
    git.write(".repo-auditor-ignore", "# generated\ndocs/\n")
    git.commit("files")
    return git


def paths(repo: Repository) -> list[str]:
    return [e.path for e in repo.files]


@pytest.mark.parametrize("includes, excludes, expected", [
    ((), (), ["src/app.py", "src/util.py", "tests/test_app.py", "vendor/lib.js", ".repo-auditor-ignore"]),
    ((("src/**",),), (), ["src/app.py", "src/util.py"]),
    ((("*.py",),), ("tests/",), ["src/app.py", "src/util.py"]),
    ((("*.py",), ("src/",)), ("util.py",), ["src/app.py"]),  # the user's and the repository's includes both apply
    ((), ("vendor", "*.py"), [".repo-auditor-ignore"]),
])
def test_scope_and_ignore_file(repo, includes, excludes, expected):
    with Repository.open(repo.path) as full:
        narrowed = narrow(full, FileScope(includes, excludes))
        assert sorted(paths(narrowed)) == sorted(expected)  # docs/ is always out: .repo-auditor-ignore


def test_tools_see_only_the_scope_at_a_ref(repo):
    repo.write("src/app.py", "# changed after the tag\n")
    repo.commit("change")
    with Repository.open(repo.path, ref="HEAD~1") as full:
        narrowed = narrow(full, FileScope((("src/**",),), ("util.py",)))
        tools = RepoTools(narrowed, redact=False)
        grep = tools.grep("TOKEN")
        assert "src/app.py:2:" in grep and "tests/" not in grep and "vendor/" not in grep and "util" not in grep
        with pytest.raises(FileNotInRepositoryError):
            narrowed.read_text("vendor/lib.js")
        assert "vendor" not in narrowed.file_tree()
    with Repository.open(repo.path, ref="HEAD~1") as again:  # the shared extraction still holds every file
        assert "vendor/lib.js:2:" in RepoTools(again, redact=False).grep("TOKEN")
