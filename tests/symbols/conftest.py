"""Fixtures for the symbols tests: small git repositories built on the fly, the per-language fixture files,
and a counting parser handed to SymbolIndex through its constructor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from repo_auditor.repository import Repository
from repo_auditor.tools.symbol_index import parse_definitions
from tests.gitrepo import GitRepo

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "symbols"


def commit_files(repo: GitRepo, files: dict[str, str | bytes], message: str = "change") -> str:
    """Write ``files`` into ``repo``'s work tree, commit everything, return the commit SHA."""
    for relative, content in files.items():
        repo.write(relative, content)
    return repo.commit(message)


class CountingParser:
    """The real parser, recording every (language, byte count) it is asked to parse."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, language: str, source: bytes):
        self.calls.append((language, len(source)))
        return parse_definitions(language, source)


@pytest.fixture
def workspace(tmp_path: Path) -> GitRepo:
    return GitRepo.init(tmp_path / "repo")


@pytest.fixture(scope="session")
def commit() -> Callable[..., str]:
    """``commit(repo, {path: content}, message="change")``: write the files, commit all, return the SHA."""
    return commit_files


@pytest.fixture
def open_repo(tmp_path: Path) -> Iterator[Callable[..., Repository]]:
    """Open repositories (closed after the test) with the loader's cache inside the test's folder."""
    opened: list[Repository] = []

    def _open(root: Path, ref: str | None = None) -> Repository:
        repo = Repository.open(root, ref, cache_root=tmp_path / "loader-cache")
        opened.append(repo)
        return repo

    yield _open
    for repo in opened:
        repo.close()


@pytest.fixture
def symbol_cache(tmp_path: Path) -> Path:
    """An empty symbol cache folder for this test."""
    return tmp_path / "symbol-cache"


@pytest.fixture
def counting_parser() -> CountingParser:
    return CountingParser()


@pytest.fixture
def make_counting_parser() -> Callable[[], CountingParser]:
    return CountingParser


@pytest.fixture
def fixtures_dir() -> Path:
    """fixtures/symbols/: one small file per supported language."""
    return FIXTURES
