"""Reading a commit from the object database: the right content, and the work tree left alone."""

from __future__ import annotations

import gc
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from repo_auditor.errors import PathOutsideRepositoryError, RefNotFoundError, RepositoryError
from repo_auditor.repository import Repository
from tests.gitrepo import GitRepo, History


@pytest.mark.parametrize(
    "ref, commit_attr, changes",
    [
        ("v1.0", "first", None),
        ("stable", "first", None),
        ("HEAD~1", "second", "one\n"),
        ("v2.0", "third", "one\ntwo\n"),
        ("feature", "feature", None),
    ],
)
def test_reading_at_a_ref_returns_that_commits_content(history: History, cache: Path, ref: str, commit_attr: str,
                                                       changes: str | None) -> None:
    with Repository.open(history.repo.path, ref, cache_root=cache) as repo:
        assert repo.ref == ref and repo.commit == getattr(history, commit_attr) and repo.is_git
        if changes is None:
            assert repo.get("CHANGES.md") is None
        else:
            assert repo.read_text("CHANGES.md") == changes
            assert repo.get("CHANGES.md").lines == changes.count("\n")
        assert (repo.get("FEATURE.md") is not None) == (ref == "feature")


def test_reading_at_a_full_sha_and_a_short_one(history: History, cache: Path) -> None:
    for ref in (history.second, history.second[:8]):
        with Repository.open(history.repo.path, ref, cache_root=cache) as repo:
            assert repo.commit == history.second and repo.read_text("CHANGES.md") == "one\n"


def test_a_ref_never_touches_the_work_tree_or_index(history: History, cache: Path) -> None:
    g = history.repo
    g.write("README.md", "edited in the work tree\n")
    g.write("untracked.txt", "mine\n")
    g.write("staged.txt", "staged\n")
    g.git("add", "staged.txt")
    index = g.path / ".git" / "index"
    status = g.status()  # (git status itself may refresh the index, so it runs before the snapshot)
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    with Repository.open(g.path, "v1.0", cache_root=cache) as repo:
        assert repo.read_text("README.md").startswith("# Sample repo")
        assert repo.get("untracked.txt") is None and repo.get("staged.txt") is None
        root = repo.search_root()
        assert root != g.path and (root / "README.md").read_text().startswith("# Sample repo")
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    assert g.status() == status
    assert (g.path / "README.md").read_text() == "edited in the work tree\n"


def test_loading_the_work_tree_does_not_write_the_index(history: History, cache: Path) -> None:
    g = history.repo
    os.utime(g.path / "README.md", None)  # stat-dirty: `git status` would refresh (rewrite) the index
    index = g.path / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    Repository.open(g.path, cache_root=cache).close()
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before


def test_search_root_holds_exactly_the_refs_files_and_is_reused(history: History, cache: Path) -> None:
    with Repository.open(history.repo.path, "v2.0", cache_root=cache) as repo:
        root = repo.search_root()
        assert root == cache / "trees" / history.third
        on_disk = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())
        assert on_disk == [e.path for e in repo.files]
        for entry in repo.files:
            assert (root / entry.path).read_bytes() == repo.read_bytes(entry.path)
        marker = root / "README.md"
        written = marker.stat().st_ino, marker.stat().st_mtime_ns  # a second call must not re-extract
        assert repo.search_root() == root and (marker.stat().st_ino, marker.stat().st_mtime_ns) == written
    with Repository.open(history.repo.path, history.third, cache_root=cache) as again:
        assert again.search_root() == root and (marker.stat().st_ino, marker.stat().st_mtime_ns) == written
    assert not [p for p in (cache / "trees").iterdir() if p.name.startswith(".tmp")]


def test_search_root_racing_extractions_agree(history: History, cache: Path) -> None:
    repos = [Repository.open(history.repo.path, "v2.0", cache_root=cache) for _ in range(4)]
    barrier = threading.Barrier(len(repos))

    def extract(repo: Repository) -> Path:
        barrier.wait()
        return repo.search_root()

    with ThreadPoolExecutor(len(repos)) as pool:
        roots = set(pool.map(extract, repos))
    for repo in repos:
        repo.close()
    assert roots == {cache / "trees" / history.third}
    (root,) = roots
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [e.path for e in repos[0].files]
    assert sorted(p.name for p in (cache / "trees").iterdir()) == [history.third, f"{history.third}.manifest.json"]


def test_symlinks_at_a_ref_inside_kept_escaping_made_plain(tmp_path: Path, cache: Path) -> None:
    g = GitRepo.init(tmp_path / "r")
    g.write("pkg/real.py", "x = 1\n")
    g.symlink("inside.py", "pkg/real.py")
    g.symlink("absolute", "/etc/passwd")
    g.symlink("dotdot", "../../outside")
    g.symlink("pkg/up", "..")  # stays inside on its own
    g.symlink("pkg/deep/through", "../up/..")  # lexically inside, really outside: pkg/up/.. is the repo's parent
    g.commit("links")
    with Repository.open(g.path, "HEAD", cache_root=cache) as repo:
        assert repo.get("absolute").symlink_target == "/etc/passwd"
        assert repo.get("absolute").flags == {"symlink"}
        assert repo.read_text("inside.py") == "x = 1\n"
        with pytest.raises(PathOutsideRepositoryError):
            repo.read_bytes("absolute")
        root = repo.search_root()
    assert (root / "inside.py").is_symlink() and (root / "inside.py").read_text() == "x = 1\n"
    assert (root / "pkg/up").is_symlink()
    for rel, text in (("absolute", "/etc/passwd"), ("dotdot", "../../outside"), ("pkg/deep/through", "../up/..")):
        assert not (root / rel).is_symlink(), rel
        assert (root / rel).read_text() == text
    base = os.path.realpath(root)
    for path in root.rglob("*"):
        assert os.path.realpath(path).startswith(base), path


@pytest.mark.parametrize("ref", ["no-such-branch", "v9.9", "HEAD~40", "deadbeef" * 5, "--output=/tmp/x"])
def test_a_bad_ref_names_itself_and_suggests_how_to_list_refs(history: History, cache: Path, ref: str) -> None:
    with pytest.raises(RefNotFoundError) as info:
        Repository.open(history.repo.path, ref, cache_root=cache)
    assert repr(ref) in str(info.value) and "git branch -a" in str(info.value)
    assert info.value.ref == ref and info.value.path == str(history.repo.path.resolve())


def test_a_ref_on_an_empty_repository(empty_repo: GitRepo, cache: Path) -> None:
    with pytest.raises(RefNotFoundError, match="no commits yet"):
        Repository.open(empty_repo.path, "HEAD", cache_root=cache)


def test_a_ref_on_a_plain_folder(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(RepositoryError, match="not a git repository") as info:
        Repository.open(tmp_path / "plain", "main", cache_root=cache)
    assert not isinstance(info.value, RefNotFoundError)


def test_submodule_entries_are_skipped_at_a_ref_and_in_the_work_tree(tmp_path: Path, cache: Path) -> None:
    inner = GitRepo.init(tmp_path / "inner")
    inner.write("lib.py", "y = 2\n")
    inner.commit("inner")
    outer = GitRepo.init(tmp_path / "outer")
    outer.write("app.py", "x = 1\n")
    outer.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "sub")
    outer.commit("with submodule")
    for ref in (None, "HEAD"):
        with Repository.open(outer.path, ref, cache_root=cache) as repo:
            assert [e.path for e in repo.files] == [".gitmodules", "app.py"]


def test_the_blob_reader_process_ends_on_close_and_when_forgotten(history: History, cache: Path) -> None:
    repo = Repository.open(history.repo.path, "v1.0", cache_root=cache)
    repo.read_bytes("README.md")
    first = repo._git._cat.pid
    repo.close()
    assert not Path(f"/proc/{first}").exists()
    assert repo.read_text("README.md").startswith("# Sample")  # reading after close starts a new one
    second = repo._git._cat.pid
    del repo
    gc.collect()
    assert not Path(f"/proc/{second}").exists()


def test_capped_read_at_a_ref_keeps_the_reader_in_step(history: History, cache: Path) -> None:
    with Repository.open(history.repo.path, "v2.0", cache_root=cache) as repo:
        assert repo.read_bytes("src/app/main.py", max_bytes=4) == b"from"
        assert repo.read_text("CHANGES.md") == "one\ntwo\n"
