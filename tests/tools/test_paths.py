"""Path normalization: every accepted form and every escape, as a table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repo_auditor.errors import PathOutsideRepositoryError
from repo_auditor.repository import Repository
from repo_auditor.tools.paths import normalize_path, symlink_escapes
from tests.gitrepo import GitRepo


@pytest.mark.parametrize("given, expected", [
    ("src/app.py", "src/app.py"),
    ("./src/app.py", "src/app.py"),
    ("src//app.py", "src/app.py"),
    ("src/../big.py", "big.py"),
    ("src\\app.py", "src/app.py"),
    (".\\src\\app.py", "src/app.py"),
    ("  src/app.py  ", "src/app.py"),
    ("src/", "src"),
    (".", ""),
    ("", ""),
    ("./", ""),
    (".github/workflows/ci.yml", ".github/workflows/ci.yml"),
    (".gitignore", ".gitignore"),
])
def test_accepted_paths(given: str, expected: str) -> None:
    assert normalize_path(given) == expected


@pytest.mark.parametrize("given, reason", [
    ("..", "escapes"),
    ("../etc/passwd", "escapes"),
    ("src/../../x", "escapes"),
    ("..\\..\\windows", "escapes"),
    ("/etc/passwd", "absolute"),
    ("~/.ssh/id_rsa", "home directory"),
    ("~root/x", "home directory"),
    ("C:\\Windows\\system32", "Windows absolute"),
    ("c:/x", "Windows absolute"),
    (".git", ".git directory"),
    (".git/config", ".git directory"),
    ("./.git/HEAD", ".git directory"),
    ("sub/.git/config", ".git directory"),
    ("src/../.git/config", ".git directory"),
    ("src/app.py\0.txt", "NUL byte"),
    ("a" * 5000, "longer than"),
])
def test_refused_paths(given: str, reason: str) -> None:
    with pytest.raises(PathOutsideRepositoryError, match=reason) as info:
        normalize_path(given)
    assert "relative to the repository root" in str(info.value)
    assert info.value.path is not None


def test_non_string_path_is_refused() -> None:
    with pytest.raises(PathOutsideRepositoryError, match="must be a string"):
        normalize_path(42)  # type: ignore[arg-type]


def test_absolute_path_inside_the_root_is_made_relative(sample_path: Path, cache_root: Path) -> None:
    with Repository.open(sample_path, cache_root=cache_root) as repo:
        assert normalize_path(str(repo.root / "src" / "app.py"), repo) == "src/app.py"
        assert normalize_path(str(repo.root), repo) == ""
        with pytest.raises(PathOutsideRepositoryError, match="outside the repository root"):
            normalize_path(str(repo.root) + "-sibling/x.py", repo)
        with pytest.raises(PathOutsideRepositoryError, match="outside the repository root"):
            normalize_path(str(repo.root / ".." / "x.py"), repo)


def test_symlink_of_the_tree_pointing_outside_is_refused(sample_path: Path, cache_root: Path) -> None:
    with Repository.open(sample_path, cache_root=cache_root) as repo:
        with pytest.raises(PathOutsideRepositoryError, match="symbolic link 'link_out'"):
            normalize_path("link_out", repo)
        assert normalize_path("link_in", repo) == "link_in"


def test_symlinked_folder_on_disk_pointing_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret\n")
    repo = GitRepo.init(tmp_path / "r")
    repo.write("a.py", "x = 1\n")
    repo.commit("first")
    os.symlink(outside, repo.path / "escape")
    with Repository.open(repo.path, cache_root=tmp_path / "cache") as loaded:
        with pytest.raises(PathOutsideRepositoryError, match="outside the repository"):
            normalize_path("escape/secret.txt", loaded)


@pytest.mark.parametrize("link, target, escapes", [
    ("a/link", "../b.py", False),
    ("a/link", "../../b.py", True),
    ("link", "/etc/passwd", True),
    ("link", "sub/../../x", True),
    ("a/b/link", "../../c/d.py", False),
    ("link", ".git/config", True),
])
def test_symlink_escapes(link: str, target: str, escapes: bool) -> None:
    assert symlink_escapes(link, target) is escapes
