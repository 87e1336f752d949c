"""Caches degrade, never fail: a cache folder that cannot be written gives way to a temporary one (one warning), a
damaged database is rebuilt, and an extracted tree that was edited or pruned is extracted again."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from repo_auditor.repository import Repository, cache
from repo_auditor.tools import RepoTools
from tests.gitrepo import GitRepo


@pytest.fixture
def fresh_fallback(monkeypatch: pytest.MonkeyPatch):
    """No temporary cache chosen yet in this process (the choice is process-wide)."""
    monkeypatch.setattr(cache, "_fallback", None)


@pytest.fixture
def small_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.init(tmp_path / "repo")
    repo.write("app.py", "def handler(request):\n    return request.args['q']\n")
    repo.commit("app")
    return repo


def test_an_unwritable_cache_folder_gives_way_to_a_temporary_one(monkeypatch, tmp_path, small_repo, fresh_fallback):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n")
    monkeypatch.setenv("REPO_AUDITOR_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(cache.CacheWarning, match="cannot be written") as caught:
        with RepoTools(small_repo.path, ref="HEAD") as tools:
            assert "app.py:2:" in tools.grep("request.args")  # extraction at a ref needs the cache
            assert "handler" in tools.symbols(name="handler")
    assert len([w for w in caught if w.category is cache.CacheWarning]) == 1  # said once
    temporary = cache._fallback
    assert temporary is not None and temporary.is_dir() and (temporary / "trees").is_dir()


def test_a_damaged_symbol_database_is_rebuilt(monkeypatch, tmp_path, small_repo):
    monkeypatch.setenv("REPO_AUDITOR_CACHE_DIR", str(tmp_path / "cache"))
    database = tmp_path / "cache" / "symbols" / "symbols.sqlite"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not a sqlite database" * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with RepoTools(small_repo.path) as tools:
            assert "handler" in tools.symbols(name="handler")
    assert database.read_bytes().startswith(b"SQLite format 3")


def test_an_edited_extraction_is_extracted_again(tmp_path, small_repo):
    caches = tmp_path / "cache"
    with Repository.open(small_repo.path, ref="HEAD", cache_root=caches) as first:
        tree = first.search_root()
    (tree / "app.py").chmod(0o644)
    (tree / "app.py").write_text("tampered\n")
    (tree / "planted.py").write_text("request.args\n")
    with RepoTools(Repository.open(small_repo.path, ref="HEAD", cache_root=caches)) as tools:
        hits = tools.grep("request.args")
    assert "app.py:2:" in hits and "planted.py" not in hits
    assert "tampered" not in (tree / "app.py").read_text()


def test_a_pruned_extraction_is_extracted_again(tmp_path, small_repo):
    caches = tmp_path / "cache"
    with Repository.open(small_repo.path, ref="HEAD", cache_root=caches) as first:
        tree = first.search_root()
    (tree / "app.py").unlink()
    with Repository.open(small_repo.path, ref="HEAD", cache_root=caches) as again:
        assert (again.search_root() / "app.py").is_file()
