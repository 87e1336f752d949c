"""The blob-stats cache: a second load trusts it for unchanged blobs, and a broken cache is rebuilt."""

from __future__ import annotations

import array
import sqlite3
from pathlib import Path

import pytest

from repo_auditor.repository import LISTING_SCHEMA, STATS_SCHEMA, Repository
from tests.gitrepo import History


def tamper(cache: Path, blob_id: str, lines: int) -> None:
    with sqlite3.connect(cache / "blob_stats.sqlite3") as db:
        changed = db.execute(f"UPDATE {STATS_SCHEMA} SET lines = ? WHERE id = ?", (lines, blob_id)).rowcount
    assert changed == 1


def tamper_snapshots(cache: Path, lines: int) -> None:
    with sqlite3.connect(cache / "blob_stats.sqlite3") as db:
        for digest, blob in db.execute(f"SELECT digest, stats FROM {LISTING_SCHEMA}").fetchall():
            packed = array.array("q")
            packed.frombytes(blob)
            packed[1::3] = array.array("q", [lines] * (len(packed) // 3))
            db.execute(f"UPDATE {LISTING_SCHEMA} SET stats = ? WHERE digest = ?", (packed.tobytes(), digest))


@pytest.mark.parametrize("ref", [None, "v2.0"])
def test_second_load_of_the_same_tree_is_one_cache_lookup(history: History, cache: Path, ref: str | None) -> None:
    Repository.open(history.repo.path, ref, cache_root=cache).close()
    tamper_snapshots(cache, 999)  # only the snapshot knows this number: seeing it proves no file was read
    with Repository.open(history.repo.path, ref, cache_root=cache) as second:
        assert {e.lines for e in second.files if not e.symlink_target} == {999}


@pytest.mark.parametrize("ref", [None, "HEAD"])
def test_a_changed_tree_reuses_the_stats_of_unchanged_blobs(history: History, cache: Path, ref: str | None) -> None:
    with Repository.open(history.repo.path, ref, cache_root=cache) as first:
        readme = first.get("README.md")
    tamper(cache, readme.blob_id, 999)
    history.repo.write("added.py", "a = 1\nb = 2\n")
    history.repo.commit("another file")
    with Repository.open(history.repo.path, ref, cache_root=cache) as second:
        assert second.get("README.md").lines == 999  # from the per-blob table
        assert second.get("added.py").lines == 2  # measured


def test_a_modified_file_is_measured_again(history: History, cache: Path) -> None:
    with Repository.open(history.repo.path, cache_root=cache) as first:
        old = first.get("src/app/main.py")
    tamper(cache, old.blob_id, 999)
    history.repo.write("src/app/main.py", "print(1)\n")
    with Repository.open(history.repo.path, cache_root=cache) as second:
        now = second.get("src/app/main.py")
    assert now.blob_id != old.blob_id and now.lines == 1


def test_a_corrupt_cache_file_is_rebuilt(history: History, cache: Path) -> None:
    (cache / "blob_stats.sqlite3").write_bytes(b"this is not a database" * 100)
    with Repository.open(history.repo.path, cache_root=cache) as repo:
        assert repo.get("src/app/main.py").lines == 10
    with sqlite3.connect(cache / "blob_stats.sqlite3") as db:
        assert db.execute(f"SELECT count(*) FROM {STATS_SCHEMA}").fetchone()[0] > 5


def test_default_cache_is_the_repo_auditor_cache_folder(history: History, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPO_AUDITOR_CACHE_DIR", str(tmp_path / "xdg"))
    with Repository.open(history.repo.path, "v1.0") as repo:
        assert repo.search_root() == tmp_path / "xdg" / "trees" / history.first
    assert (tmp_path / "xdg" / "blob_stats.sqlite3").is_file()
