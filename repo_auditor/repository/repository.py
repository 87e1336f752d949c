"""A repository at a ref -> its files, their contents and the file-tree context. The only module that runs git.

What gets loaded:

* **A git work tree** (``ref=None``): tracked files (even if a ``.gitignore`` matches them) plus untracked files that
  ``.gitignore`` / ``.git/info/exclude`` / ``core.excludesFile`` do not exclude, exactly as ``git status`` sees them.
  Tracked files deleted from the disk are left out. Given a folder *inside* a work tree, the tree is scoped to that
  folder (it becomes the root; paths are relative to it; ``subdir`` names it), in work-tree mode and at a ref alike. Submodules and nested repositories are not entered.
* **A commit** (``ref`` = branch, tag, SHA, ``HEAD~3``...): the files of that commit, read from the object database;
  the work tree and the index are never read or written.
* **A plain folder** (no git): every file, honouring any ``.gitignore`` files in it (git's own matcher is used, through
  a throw-away empty repository); the ``.git`` folder is never listed.

Each file carries its size, line count, language, a binary flag (a NUL byte in the first 8,000 bytes, git's rule),
and its git blob id: from the index or the commit for unmodified tracked files, otherwise computed the git way
(``sha1("blob <size>\\0" + content)``, like ``git hash-object --no-filters``). Line counts and the binary flag of a
blob never change, so they are cached in a small sqlite database (``blob_stats.sqlite3`` in the cache folder): per
blob id, and per whole list of blob ids, so loading an unchanged tree again is one lookup and a changed one reads only
the new blobs. Untracked and modified files, and every file of a plain folder, are read on each load (their blob id
needs their bytes). Symbolic links are listed, never followed: flag
``"symlink"``, ``symlink_target`` holds the link text, and size / blob id are those of the link text.

Git is run with optional locks off (``GIT_OPTIONAL_LOCKS=0``) and ``core.fsmonitor`` disabled, so loading never writes
to the repository and never runs a command named in the repository's configuration for the file-system monitor.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from repo_auditor.errors import (
    FileNotInRepositoryError,
    PathOutsideRepositoryError,
    RefNotFoundError,
    RepositoryError,
)
from repo_auditor.repository.cache import cache_dir
from repo_auditor.repository.entries import FileEntry, display_path, file_entry
from repo_auditor.repository.extract import extract_files, matches_manifest, write_manifest
from repo_auditor.repository.file_tree import render_file_tree
from repo_auditor.repository.git import GIT_PROGRAM, SAFE_CONFIG, Git, fsdecode, repository_error, run_git
from repo_auditor.repository.listing import Listing, list_commit, list_plain, list_worktree, scoped_to
from repo_auditor.repository.stats import StatsCache, measure_missing

# The repository
# ---------------------------------------------------------------------------------------------------------------


class Repository:
    """A loaded repository: the work tree (``ref=None``) or a commit read from the object database.

    Attributes: ``root`` (absolute, resolved Path), ``ref`` (as given, or None), ``commit`` (resolved 40-hex SHA, or
    None for a plain directory / a repository with no commit), ``is_git``, ``files`` (tuple of FileEntry sorted by path).
    In work-tree mode ``commit`` is HEAD's SHA (None before the first commit).

    Use it as a context manager, or call ``close()``, to end the git helper process that serves reads at a ref.
    """

    root: Path
    ref: str | None
    commit: str | None
    is_git: bool
    files: tuple[FileEntry, ...]

    def __init__(
        self, *, root: Path, ref: str | None, commit: str | None, files: Iterable[FileEntry],
        gitcmd: Git | None, cache_root: Path,
    ):
        self.root = root
        self.ref = ref
        self.commit = commit
        self.is_git = gitcmd is not None
        self.files = tuple(sorted(files, key=lambda entry: entry.path))
        self._by_path = {entry.path: entry for entry in self.files}
        self._git = gitcmd
        self._cache_root = cache_root
        self._verified_tree = False  # the extraction at this ref was checked (or written) by this object
        self.subdir = ""  # the folder of the git repository this tree is scoped to ("" = its top level)
        self._full: Repository | None = None  # the tree this one was narrowed from (see ``restricted``)

    # -- opening --------------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, ref: str | None = None, *, cache_root: str | Path | None = None) -> Repository:
        """Open a git work tree or plain directory, optionally at ``ref``. Raises RepositoryError / RefNotFoundError.

        ``cache_root`` is where the blob-stats database and the trees extracted at a ref live (default: the
        repo_auditor cache folder, see ``repo_auditor.repository.cache``).
        """
        given = Path(path).expanduser()
        if not given.exists():
            raise RepositoryError(f"no such directory: {given}; check the path", path=str(given))
        if not given.is_dir():
            raise RepositoryError(f"not a directory: {given}; pass the repository's folder, not a file",
                                  path=str(given))
        given = given.resolve()
        caches = Path(cache_root) if cache_root is not None else cache_dir()
        caches.mkdir(parents=True, exist_ok=True)
        located = _locate_git(given)
        if located is None:
            if ref is not None:
                raise RepositoryError(
                    f"{given} is not a git repository, so ref {ref!r} cannot be read; open it without a ref",
                    path=str(given),
                )
            return cls._build(root=given, ref=None, commit=None, gitcmd=None, listing=list_plain(given),
                              cache_root=caches)
        top, git_dir = located
        gitcmd = Git(git_dir, top, display_path=top)
        try:
            head = _resolve(gitcmd, "HEAD")
            if ref is None:
                listing = list_worktree(gitcmd, top)
                commit = head
            else:
                commit = _resolve_ref(gitcmd, ref, top, has_commits=head is not None)
                listing = list_commit(gitcmd, commit)
            subdir = given.relative_to(top).as_posix() if given != top else ""
            if subdir:
                listing = scoped_to(listing, subdir)
            repo = cls._build(root=given, ref=ref, commit=commit, gitcmd=gitcmd, listing=listing, cache_root=caches)
            repo.subdir = subdir
            return repo
        except BaseException:
            gitcmd.close()
            raise

    @classmethod
    def _build(cls, *, root: Path, ref: str | None, commit: str | None, gitcmd: Git | None, listing: Listing,
               cache_root: Path) -> Repository:
        entries = list(listing.entries)
        if listing.need_stats:
            blob_ids = list(listing.need_stats)
            cache = StatsCache(cache_root / "blob_stats.sqlite3")
            try:
                stats = cache.lookup(blob_ids, lambda missing: measure_missing(missing, listing, root, gitcmd,
                                                                          from_disk=ref is None))
            finally:
                cache.close()
            for blob_id, blob_stats in zip(blob_ids, stats):
                entries.extend(file_entry(rel, blob_id, blob_stats) for rel in listing.need_stats[blob_id])
        return cls(root=root, ref=ref, commit=commit, files=entries, gitcmd=gitcmd, cache_root=cache_root)

    # -- reading --------------------------------------------------------------------------------------------------

    def get(self, path: str) -> FileEntry | None:
        """The entry for an exact repository-relative path, or None."""
        return self._by_path.get(path)

    def resolve_symlink(self, path: str) -> FileEntry:
        """The listed regular file a symlink leads to, following links inside the tree only.

        Raises PathOutsideRepositoryError when a link points outside the tree (absolute, or ``..`` past the root),
        FileNotInRepositoryError when it dangles or loops.
        """
        entry = self._require(path)
        seen: set[str] = set()
        while entry.symlink_target is not None:
            if entry.path in seen or len(seen) > 40:
                raise FileNotInRepositoryError(f"symlink loop at {path}", path=path)
            seen.add(entry.path)
            target = entry.symlink_target
            joined = display_path(posixpath.normpath(posixpath.join(posixpath.dirname(entry.path), target)))
            if target.startswith("/") or joined == ".." or joined.startswith("../"):
                raise PathOutsideRepositoryError(
                    f"{path} is a symlink to {target!r}, outside the repository; it cannot be read", path=path
                )
            found = self._by_path.get(joined)
            if found is None:
                raise FileNotInRepositoryError(
                    f"{path} is a symlink to {target!r}, which is not a file of this repository", path=path
                )
            entry = found
        return entry

    def read_bytes(self, path: str, *, max_bytes: int | None = None) -> bytes:
        """Raw content of a listed file (from the object database at a ref). Raises FileNotInRepositoryError.

        A symlink reads as the file it points to inside the tree (see ``resolve_symlink``). ``max_bytes`` caps the
        result (use it for files flagged "large").
        """
        entry = self._require(path)
        if entry.symlink_target is not None:
            entry = self.resolve_symlink(path)
        if self.ref is not None:
            assert self._git is not None
            return self._git.read_blob(entry.blob_id, max_bytes)
        full = self.root / entry.disk_path
        real = os.path.realpath(full)
        if not real.startswith(str(self.root) + os.sep):
            raise PathOutsideRepositoryError(f"{path} now resolves outside the repository", path=path)
        try:
            with open(real, "rb") as handle:
                return handle.read() if max_bytes is None else handle.read(max_bytes)
        except FileNotFoundError:
            raise FileNotInRepositoryError(f"{path} was deleted from the disk after the repository was loaded",
                                           path=path) from None

    def read_text(self, path: str, *, max_bytes: int | None = None) -> str:
        """Content decoded as UTF-8, falling back to a lossless latin-1 decode for non-UTF-8 bytes."""
        data = self.read_bytes(path, max_bytes=max_bytes)
        cuts = (0, 1, 2, 3) if max_bytes is not None and len(data) == max_bytes else (0,)
        for cut in cuts:  # a cap may have split a multi-byte character: drop up to 3 trailing bytes
            try:
                return data[: len(data) - cut].decode("utf-8")
            except UnicodeDecodeError:
                continue
        return data.decode("latin-1")

    def _require(self, path: str) -> FileEntry:
        entry = self._by_path.get(path)
        if entry is None:
            close = sorted(p for p in self._by_path if posixpath.basename(p) == posixpath.basename(path))[:5]
            hint = f"; did you mean {', '.join(close)}?" if close else "; list files with the file tree"
            raise FileNotInRepositoryError(f"no such file in the repository: {path}{hint}", path=path,
                                           suggestions=tuple(close))
        return entry

    # -- on-disk tree ---------------------------------------------------------------------------------------------

    def search_root(self) -> Path:
        """A directory holding exactly this tree's files on disk, for ripgrep: the work tree itself, or for a ref a
        cached extraction of that commit's tree (never the work tree, never touching the index).

        In the extraction, a symlink whose target resolves outside the tree (absolute, or via ``..`` or other links)
        is written as a small plain file holding the link text, as git does where symlinks are unsupported.
        Extractions live in ``<cache>/trees/<commit>`` and are reused once checked against the manifest written
        beside them (every file's size and modification time): an extraction edited or pruned since is extracted
        again. Delete them freely.
        """
        if self.ref is None:
            return self.root
        if self._full is not None:  # a superset on disk is fine: ripgrep is given the file names
            return self._full.search_root()
        assert self.commit is not None and self._git is not None
        name = self.commit if not self.subdir else f"{self.commit}-{hashlib.sha1(self.subdir.encode()).hexdigest()[:12]}"
        final = self._cache_root / "trees" / name
        manifest = final.with_name(f"{name}.manifest.json")
        if final.is_dir():
            if self._verified_tree or matches_manifest(final, manifest):
                self._verified_tree = True
                return final
            shutil.rmtree(final, ignore_errors=True)  # edited, pruned or half-written: extract it again
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.parent / f".tmp-{self.commit}-{uuid.uuid4().hex}"
        try:
            extract_files(self._git, self.files, staging)
            try:
                os.rename(staging, final)
            except OSError:
                if not final.is_dir():  # not a lost race: a real failure
                    raise
            else:
                write_manifest(final, manifest)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        self._verified_tree = True
        return final

    def restricted(self, keep: Callable[[str], bool]) -> Repository:
        """This tree with only the files whose path ``keep`` accepts (see ``repository.scope``); it shares the git
        process, so close either one."""
        narrowed = Repository(root=self.root, ref=self.ref, commit=self.commit,
                              files=[e for e in self.files if keep(e.path)], gitcmd=self._git,
                              cache_root=self._cache_root)
        narrowed.subdir = self.subdir
        narrowed._full = self._full or self
        return narrowed

    def remote_url(self, name: str = "origin") -> str | None:
        """The URL of the remote ``name`` as configured (for links to lines in reports), or None."""
        if self._git is None:
            return None
        output = self._git.try_run("config", "--get", f"remote.{name}.url")
        url = fsdecode(output).strip() if output else ""
        return url or None

    def file_tree(self, budget_chars: int = 6000) -> str:
        """The indented tree the model sees first, fitted to ``budget_chars`` by collapsing the largest directories.

        A header (name, ref and short SHA, total files and lines), then folders with their totals and files with
        size, lines and flags. Folders open breadth-first, cheapest first, while the text fits, so the largest ones
        stay collapsed to one summary line marked "…". See ``render_file_tree``.
        """
        return render_file_tree(self._header(), self.files, budget_chars)

    def _header(self) -> str:
        name = self.root.name or str(self.root)
        short = self.commit[:7] if self.commit else None
        if self.ref is not None:
            where = f"{name} @ {self.ref} ({short})"
        elif not self.is_git:
            where = f"{name} (plain folder)"
        elif short is None:
            where = f"{name} (work tree, no commits yet)"
        else:
            where = f"{name} (work tree at {short})"
        return where

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """End the git helper process, if any. Idempotent; reads after close start a new one."""
        if self._git is not None:
            self._git.close()

    def __enter__(self) -> Repository:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Repository(root={str(self.root)!r}, ref={self.ref!r}, commit={self.commit!r}, files={len(self.files)})"

    # -- comparing commits (for the review job) ---------------------------------------------------------------------

    def resolve_commit(self, ref: str) -> str:
        """The 40-hex SHA of the commit ``ref`` names (branch, tag, SHA, ``HEAD~3``). Raises RefNotFoundError."""
        gitcmd = self._require_git(f"resolve {ref!r}")
        return _resolve_ref(gitcmd, ref, self.root, has_commits=self.commit is not None)

    def merge_base(self, a: str, b: str) -> str:
        """The best common ancestor of commits ``a`` and ``b`` (what a pull request of ``b`` into ``a`` is
        compared against). Raises RefNotFoundError for a ref that does not resolve, RepositoryError when the two
        histories share no commit."""
        gitcmd = self._require_git("compute a merge base")
        first, second = self.resolve_commit(a), self.resolve_commit(b)
        output = gitcmd.try_run("merge-base", first, second)
        if not output:
            raise RepositoryError(f"{a!r} and {b!r} share no history in {self.root}; pass a --base on the same "
                                  "line of development (a shallow clone may need `git fetch --unshallow`)",
                                  path=str(self.root))
        return output.decode().strip()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether commit ``ancestor`` is reachable from ``descendant`` (False when either does not resolve)."""
        gitcmd = self._require_git("compare commits")
        first, second = _resolve(gitcmd, ancestor), _resolve(gitcmd, descendant)
        if first is None or second is None:
            return False
        return gitcmd.try_run("merge-base", "--is-ancestor", first, second) is not None

    def diff(self, base: str, head: str, *, context_lines: int = 3) -> str:
        """The unified diff from commit ``base`` to commit ``head`` as text (renames detected, prefixes ``a/`` and
        ``b/`` whatever the user's configuration, no colour, no external diff or textconv drivers)."""
        gitcmd = self._require_git("diff two commits")
        first, second = self.resolve_commit(base), self.resolve_commit(head)
        output = gitcmd.run("diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M", f"-U{int(context_lines)}",
                            "--src-prefix=a/", "--dst-prefix=b/", first, second, "--")
        return output.decode("utf-8", errors="replace")

    def read_at(self, ref: str, path: str, *, max_bytes: int) -> bytes | None:
        """The first ``max_bytes`` of file ``path`` as it is at commit ``ref`` (not the audited tree), or None when
        it does not exist there. The review job reads its rules this way from the base branch."""
        gitcmd = self._require_git(f"read {path!r} at {ref!r}")
        listed = gitcmd.try_run("ls-tree", "-z", self.resolve_commit(ref), "--", path)
        fields = listed.split(b"\0", 1)[0].split(None, 3) if listed else []
        if len(fields) < 3 or fields[1] != b"blob":
            return None
        return gitcmd.read_blob(fields[2].decode(), max_bytes)

    def list_at(self, ref: str, folder: str) -> list[str]:
        """Paths of the files directly inside ``folder`` at commit ``ref`` (empty when there is no such folder)."""
        gitcmd = self._require_git(f"list {folder!r} at {ref!r}")
        listed = gitcmd.try_run("ls-tree", "-z", "--name-only", self.resolve_commit(ref), "--",
                                folder.rstrip("/") + "/")
        return sorted(fsdecode(name) for name in (listed or b"").split(b"\0") if name)

    def _require_git(self, what: str) -> Git:
        if self._git is None:
            raise RepositoryError(f"cannot {what}: {self.root} is not a git repository; run the review inside a "
                                  "git clone", path=str(self.root))
        return self._git


def _locate_git(path: Path) -> tuple[Path, Path] | None:
    """(work-tree top level, git dir) of the repository enclosing ``path``, or None when there is none."""
    done = run_git([GIT_PROGRAM, *SAFE_CONFIG, "rev-parse", "--is-bare-repository", "--is-inside-git-dir",
                     "--absolute-git-dir"], cwd=path)
    if done.returncode != 0:
        if b"not a git repository" in done.stderr:
            return None
        raise repository_error(done.stderr, done.returncode, path)
    bare, inside_git_dir, git_dir = os.fsdecode(done.stdout).splitlines()
    if bare == "true" or inside_git_dir == "true":
        raise RepositoryError(
            f"{path} is a bare repository or inside a .git folder; open a work tree (clone it first)", path=str(path)
        )
    done = run_git([GIT_PROGRAM, *SAFE_CONFIG, "rev-parse", "--show-toplevel"], cwd=path)
    if done.returncode != 0:
        raise repository_error(done.stderr, done.returncode, path)
    return Path(os.fsdecode(done.stdout).rstrip("\n")).resolve(), Path(git_dir)


def _resolve(gitcmd: Git, spec: str) -> str | None:
    out = gitcmd.try_run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{spec}^{{commit}}")
    return out.decode().strip() if out else None


def _resolve_ref(gitcmd: Git, ref: str, top: Path, *, has_commits: bool) -> str:
    if not ref or any(ch in ref for ch in "\0\n\r"):
        raise RefNotFoundError(f"invalid ref {ref!r}: give a branch, tag, SHA or an expression like HEAD~3",
                               path=str(top), ref=ref)
    if not has_commits:
        raise RefNotFoundError(
            f"ref {ref!r} cannot resolve: the repository at {top} has no commits yet; open it without a ref to read "
            "the work tree", path=str(top), ref=ref,
        )
    commit = _resolve(gitcmd, ref)
    if commit is None:
        raise RefNotFoundError(
            f"ref not found: {ref!r} in {top}; list branches with `git branch -a` and tags with `git tag`",
            path=str(top), ref=ref,
        )
    return commit


