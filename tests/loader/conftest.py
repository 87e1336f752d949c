"""Fixtures for the loader tests: real git repositories built from fixtures/sample_repo, and a private cache."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from tests.gitrepo import FIXTURES, GitRepo, History, git_env, repo_with_history


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader runs git too: keep the user's global ignore file and config out of every test."""
    for key, value in git_env().items():
        if key.startswith("GIT_CONFIG"):
            monkeypatch.setenv(key, value)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """An empty cache folder for one test (blob stats database and extracted trees)."""
    path = tmp_path / "cache"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def _history_template(tmp_path_factory: pytest.TempPathFactory) -> History:
    return repo_with_history(FIXTURES / "sample_repo", tmp_path_factory.mktemp("template") / "sample")


@pytest.fixture
def history(_history_template: History, tmp_path: Path) -> History:
    """fixtures/sample_repo with the history described in tests.gitrepo.repo_with_history (a fresh copy per test)."""
    copy = tmp_path / "sample"
    shutil.copytree(_history_template.repo.path, copy, symlinks=True)
    return dataclasses.replace(_history_template, repo=GitRepo(copy))


@pytest.fixture
def empty_repo(tmp_path: Path) -> GitRepo:
    return GitRepo.init(tmp_path / "empty")
