"""Fixtures for the tool tests: one real git repository (built once per session, copied per test when a test needs
to change it) with a tag, an uncommitted change, ignored files, hidden files, symlinks, binary and Latin-1 files."""

from __future__ import annotations

from pathlib import Path

import pytest

from repo_auditor.repository import Repository
from repo_auditor.tools import RepoTools
from tests.gitrepo import GitRepo, git_env

APP_V1 = "".join(f"app line {i}\n" for i in range(1, 11)).replace("app line 5", "OLD_MARKER = 5")
APP_NOW = APP_V1.replace("OLD_MARKER = 5", "NEW_MARKER = 5")
BIG_LINES = 1000


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader runs git: keep the user's global configuration and ignore file out of every test."""
    for key, value in git_env().items():
        if key.startswith("GIT_CONFIG"):
            monkeypatch.setenv(key, value)


def build_sample(path: Path) -> GitRepo:
    repo = GitRepo.init(path)
    repo.write("src/app.py", APP_V1)
    repo.write("src/main.py", "def main():\n    return 0\n")
    repo.write("src/util.py", "import os\n\n\ndef helper(x):\n    return os.path.join('a', x)\n")
    repo.write("big.py", "".join(f"value_{i} = {i}\n" for i in range(1, BIG_LINES + 1)))
    repo.write("data/logo.png", b"\x89PNG\r\n\x1a\n\0\0\0needle_binary")
    repo.write("latin.txt", b"caf\xe9 needle_latin\nsecond\n")
    repo.write(".github/workflows/ci.yml", "name: ci\n# needle_hidden\n")
    repo.write(".gitignore", "ignored/\n*.log\n")
    repo.write("docs/guide.md", "needle_doc one\ntext\nneedle_doc two\n")
    repo.write("vendor/lib.js", "var needle_vendor = 1;\n")
    repo.write("long.txt", "x" * 5000 + " needle_long " + "y" * 5000 + "\n")
    repo.symlink("link_out", "/etc/passwd")
    repo.symlink("link_in", "src/main.py")
    repo.commit("first", tag="v1")
    repo.write("src/app.py", APP_NOW)
    repo.write("src/new_file.py", "NEW_MARKER = 'untracked but not ignored'\n")
    repo.write("ignored/secret.txt", "needle_ignored\n")
    repo.write("debug.log", "needle_ignored in a log\n")
    return repo


@pytest.fixture(scope="session")
def sample_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample repository (read-only for tests: build your own with build_sample to change it)."""
    path = tmp_path_factory.mktemp("sample") / "repo"
    build_sample(path)
    return path


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def tools(sample_path: Path, cache_root: Path) -> RepoTools:
    """RepoTools over the sample's work tree, redaction on."""
    repo = Repository.open(sample_path, cache_root=cache_root)
    with RepoTools(repo) as bound:
        yield bound
    repo.close()


@pytest.fixture
def tools_v1(sample_path: Path, cache_root: Path) -> RepoTools:
    """RepoTools over the sample at tag v1."""
    repo = Repository.open(sample_path, ref="v1", cache_root=cache_root)
    with RepoTools(repo) as bound:
        yield bound
    repo.close()
