"""Which files a work tree or plain folder yields, and what each entry knows about itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from repo_auditor.errors import FileNotInRepositoryError, RepositoryError
from repo_auditor.repository import LARGE_FILE_BYTES, FileEntry, Repository, git_blob_id
from tests.gitrepo import FIXTURES, GitRepo, History, git_env


def paths(repo: Repository) -> list[str]:
    return [entry.path for entry in repo.files]


def hash_object(cwd: Path, rel: str) -> str:
    done = subprocess.run(["git", "hash-object", "--", rel], cwd=cwd, env=git_env(), capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def test_work_tree_lists_tracked_files_sorted_with_exact_line_counts(history: History, cache: Path) -> None:
    repo = Repository.open(history.repo.path, cache_root=cache)
    assert repo.is_git and repo.ref is None and repo.commit == history.third
    assert repo.root == history.repo.path.resolve()
    assert paths(repo) == sorted(paths(repo))
    assert "CHANGES.md" in paths(repo) and "FEATURE.md" not in paths(repo)
    lines = {e.path: e.lines for e in repo.files}
    assert lines["src/app/main.py"] == 10
    assert lines["src/app/util.py"] == 2  # last line has no newline
    assert lines["src/app/__init__.py"] == 0
    assert lines["README.md"] == 3
    main = repo.get("src/app/main.py")
    assert main is not None and main.language == "python" and not main.binary and main.flags == frozenset()
    assert main.size == (history.repo.path / "src/app/main.py").stat().st_size


def test_blob_ids_match_git_hash_object_for_tracked_modified_and_untracked(history: History, cache: Path) -> None:
    history.repo.write("src/app/util.py", "def double(x):\n    return x + x\n")  # modified
    history.repo.write("notes.txt", "untracked\n")
    repo = Repository.open(history.repo.path, cache_root=cache)
    for rel in ("README.md", "src/app/util.py", "notes.txt", "data/image.png", "data/latin1.txt"):
        entry = repo.get(rel)
        assert entry is not None, rel
        assert entry.blob_id == hash_object(history.repo.path, rel), rel
    assert repo.get("src/app/util.py").lines == 2
    assert repo.read_text("src/app/util.py") == "def double(x):\n    return x + x\n"
    assert git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_gitignore_semantics(history: History, cache: Path) -> None:
    g = history.repo
    g.write("debug.log", "ignored\n")  # *.log
    g.write("keep.log", "negated\n")  # !keep.log
    g.write("build/out.txt", "ignored dir\n")  # build/
    g.write("docs/nested/scratch.tmp", "nested ignore\n")  # docs/nested/.gitignore: *.tmp
    g.write("docs/nested/important.tmp", "nested negation\n")  # !important.tmp
    g.write("scratch.tmp", "the nested rule does not apply up here\n")
    g.write("tracked.log", "tracked although ignored\n")
    g.git("add", "-f", "tracked.log")
    g.write("new/untracked.py", "x = 1\n")
    listed = set(paths(Repository.open(g.path, cache_root=cache)))
    assert {"keep.log", "docs/nested/important.tmp", "scratch.tmp", "tracked.log", "new/untracked.py"} <= listed
    assert not {"debug.log", "build/out.txt", "docs/nested/scratch.tmp"} & listed
    assert not any(p.startswith(".git/") for p in listed)


def test_deleted_tracked_file_is_not_listed(history: History, cache: Path) -> None:
    history.repo.remove("README.md")
    repo = Repository.open(history.repo.path, cache_root=cache)
    assert repo.get("README.md") is None
    with pytest.raises(FileNotInRepositoryError, match="README.md"):
        repo.read_bytes("README.md")


def test_binary_and_non_utf8_files(history: History, cache: Path) -> None:
    repo = Repository.open(history.repo.path, cache_root=cache)
    png = repo.get("data/image.png")
    assert png is not None and png.binary and png.lines == 0
    latin = repo.get("data/latin1.txt")
    assert latin is not None and not latin.binary and latin.lines == 2
    assert repo.read_text("data/latin1.txt") == "café crème\nnaïve\n"
    assert repo.read_bytes("data/image.png").startswith(b"\x89PNG")
    assert isinstance(repo.read_text("data/image.png"), str)


def test_vendored_generated_and_large_flags(history: History, cache: Path) -> None:
    history.repo.write("big/huge.sql", "-- row\n" * (LARGE_FILE_BYTES // 7 + 1))
    history.repo.write("node_modules/left-pad/index.js", "module.exports = 1\n")
    repo = Repository.open(history.repo.path, cache_root=cache)
    flags = {e.path: e.flags for e in repo.files}
    assert flags["vendor/lib/thing.js"] == {"vendored"}
    assert flags["node_modules/left-pad/index.js"] == {"vendored"}
    for rel in ("gen/api_pb2.py", "gen/schema.py", "package-lock.json", "web/app.min.js"):
        assert "generated" in flags[rel], rel
    assert flags["src/app/main.py"] == frozenset()
    huge = repo.get("big/huge.sql")
    assert huge is not None and "large" in huge.flags and huge.size >= LARGE_FILE_BYTES
    assert huge.lines == LARGE_FILE_BYTES // 7 + 1
    assert repo.read_bytes("big/huge.sql", max_bytes=7) == b"-- row\n"


def test_generated_marker_counts_only_in_the_first_lines(tmp_path: Path, cache: Path) -> None:
    g = GitRepo.init(tmp_path / "r")
    g.write("late.py", "x = 1\n" * 10 + "# generated by nothing, just a comment\n")
    g.write("early.go", "// Code generated by stringer. DO NOT EDIT.\npackage x\n")
    flags = {e.path: e.flags for e in Repository.open(g.path, cache_root=cache).files}
    assert flags == {"late.py": frozenset(), "early.go": frozenset({"generated"})}


def test_generated_marker_counts_only_on_a_comment_line(tmp_path: Path, cache: Path) -> None:
    g = GitRepo.init(tmp_path / "r")
    g.write("parse.py", '"""Parser engine for the grammar tables generated by pgen."""\n')  # lib2to3/pgen2/parse.py
    g.write("gen.js", "/*\n * @generated\n */\n")
    flags = {e.path: e.flags for e in Repository.open(g.path, cache_root=cache).files}
    assert flags == {"parse.py": frozenset(), "gen.js": frozenset({"generated"})}


def test_symlinks_are_flagged_never_followed(history: History, cache: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("host secret\n")
    g = history.repo
    g.symlink("link_inside.py", "src/app/main.py")
    g.symlink("link_escape", str(outside))
    g.symlink("link_dir", "src")
    g.commit("links")
    repo = Repository.open(g.path, cache_root=cache)
    inside = repo.get("link_inside.py")
    assert inside is not None and inside.flags == {"symlink"} and inside.symlink_target == "src/app/main.py"
    assert inside.blob_id == git_blob_id(b"src/app/main.py") and inside.size == len("src/app/main.py")
    assert repo.get("link_dir").symlink_target == "src"
    assert not any(p.startswith("link_dir/") for p in paths(repo))  # a link to a folder is not walked
    assert repo.read_text("link_inside.py") == repo.read_text("src/app/main.py")
    assert repo.resolve_symlink("link_inside.py").path == "src/app/main.py"
    from repo_auditor.errors import PathOutsideRepositoryError

    with pytest.raises(PathOutsideRepositoryError, match="outside"):
        repo.read_bytes("link_escape")


def test_open_a_subdirectory_scopes_the_tree_to_it(history: History, cache: Path) -> None:
    sub = history.repo.path / "src"
    repo = Repository.open(sub, cache_root=cache)
    assert repo.root == sub.resolve() and repo.subdir == "src"
    assert paths(repo) == ["app/__init__.py", "app/main.py", "app/util.py"]
    assert repo.read_text("app/main.py") == (sub / "app" / "main.py").read_text()
    assert repo.commit == history.third
    assert repo.file_tree().splitlines()[0].startswith("src ")


def test_a_subdirectory_at_a_ref_is_searched_in_its_own_extraction(history: History, cache: Path) -> None:
    whole = Repository.open(history.repo.path, "v1.0", cache_root=cache)
    scoped = Repository.open(history.repo.path / "src", "v1.0", cache_root=cache)
    assert paths(scoped) == ["app/__init__.py", "app/main.py", "app/util.py"]
    assert sorted(p.relative_to(scoped.search_root()).as_posix()
                  for p in scoped.search_root().rglob("*") if p.is_file()) == paths(scoped)
    assert whole.search_root() != scoped.search_root()
    assert (whole.search_root() / "README.md").is_file()


def test_empty_repository_lists_untracked_files(empty_repo: GitRepo, cache: Path) -> None:
    empty_repo.write("draft.py", "print('hi')\n")
    repo = Repository.open(empty_repo.path, cache_root=cache)
    assert repo.is_git and repo.commit is None
    assert paths(repo) == ["draft.py"]
    assert "no commits yet" in repo.file_tree()


def test_plain_folder_honours_gitignore_and_skips_nested_repositories(tmp_path: Path, cache: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(FIXTURES / "sample_repo", plain)
    (plain / "debug.log").write_text("ignored\n")
    (plain / "keep.log").write_text("kept\n")
    GitRepo.init(plain / "checkout").write("inner.py", "x = 1\n")
    repo = Repository.open(plain, cache_root=cache)
    assert not repo.is_git and repo.commit is None and repo.ref is None
    listed = set(paths(repo))
    assert "keep.log" in listed and "debug.log" not in listed
    assert not any(p.startswith("checkout/") for p in listed)
    assert "src/app/main.py" in listed
    assert repo.get("src/app/main.py").blob_id == git_blob_id((plain / "src/app/main.py").read_bytes())
    assert repo.search_root() == plain.resolve()


def test_entry_is_frozen_and_hashable(history: History, cache: Path) -> None:
    entry = Repository.open(history.repo.path, cache_root=cache).files[0]
    assert isinstance(entry, FileEntry)
    with pytest.raises(AttributeError):
        entry.size = 3  # type: ignore[misc]
    assert hash(entry) == hash(entry)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "no such directory"),
        (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "not a directory"),
    ],
    ids=["missing", "a-file"],
)
def test_bad_paths(tmp_path: Path, cache: Path, make, message: str) -> None:
    target = make(tmp_path)
    with pytest.raises(RepositoryError, match=message) as info:
        Repository.open(target, cache_root=cache)
    assert info.value.path == str(target)


def test_a_git_dir_is_refused_with_advice(history: History, cache: Path) -> None:
    with pytest.raises(RepositoryError, match="bare repository or inside a .git folder"):
        Repository.open(history.repo.path / ".git", cache_root=cache)


def test_environment_cannot_redirect_git(history: History, cache: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    other = GitRepo.init(tmp_path / "other")
    other.write("other.txt", "x\n")
    other.commit("other")
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other.path / ".git" / "index"))
    repo = Repository.open(history.repo.path, cache_root=cache)
    assert repo.commit == history.third and "other.txt" not in paths(repo)


def test_strange_file_names_survive(tmp_path: Path, cache: Path) -> None:
    g = GitRepo.init(tmp_path / "r")
    g.write("with space/tab\tand ünïcode.py", "x = 1\n")
    g.write("new\nline.txt", "y\n")
    g.commit("odd names")
    repo = Repository.open(g.path, cache_root=cache)
    assert paths(repo) == ["new\nline.txt", "with space/tab\tand ünïcode.py"]
    assert repo.read_text("new\nline.txt") == "y\n"
    tree = repo.file_tree()
    assert "new\\nline.txt" in tree and "tab\\tand ünïcode.py" in tree


def test_non_utf8_file_name(tmp_path: Path, cache: Path) -> None:
    g = GitRepo.init(tmp_path / "r")
    raw = os.path.join(os.fsencode(g.path), b"caf\xe9.txt")
    with open(raw, "wb") as handle:
        handle.write(b"hello\n")
    g.commit("latin-1 file name")
    repo = Repository.open(g.path, cache_root=cache)
    (entry,) = repo.files
    assert entry.lines == 1 and repo.read_bytes(entry.path) == b"hello\n"


def test_capped_read_text_drops_a_split_character(tmp_path: Path, cache: Path) -> None:
    g = GitRepo.init(tmp_path / "r")
    g.write("accents.txt", "é" * 10)
    repo = Repository.open(g.path, cache_root=cache)
    assert repo.read_text("accents.txt", max_bytes=5) == "éé"
    assert repo.read_text("accents.txt") == "é" * 10


def test_a_fifo_is_skipped_not_read(tmp_path: Path, cache: Path) -> None:
    g = GitRepo.init(tmp_path / "r")
    g.write("real.txt", "x\n")
    os.mkfifo(g.path / "pipe")
    assert paths(Repository.open(g.path, cache_root=cache)) == ["real.txt"]
