"""Listing the files of a work tree, a commit or a plain folder, as git sees them."""

from __future__ import annotations

import os
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from repo_auditor.repository.entries import FileEntry, file_entry, measure_file, symlink_entry
from repo_auditor.repository.git import (
    _STAGED_LINE,
    _TREE_LINE,
    GIT_PROGRAM,
    Git,
    _is_safe_relative,
    _split_z,
    fsdecode,
    repository_error,
    run_git,
)

_SYMLINK_MODE = "120000"
_SUBMODULE_MODE = "160000"
# Listing: the work tree, a commit, a plain folder
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Listing:
    """Entries already known (from git or measured), plus files whose stats still need reading."""

    entries: list[FileEntry] = field(default_factory=list)
    need_stats: dict[str, list[str]] = field(default_factory=dict)  # blob id -> paths sharing it


def scoped_to(listing: Listing, subdir: str) -> Listing:
    """The part of ``listing`` under ``subdir``, with paths made relative to it."""
    prefix = subdir + "/"
    cut = len(prefix)
    entries = [replace(e, path=e.path[cut:], fs_path=e.fs_path and e.fs_path[len(e.fs_path) - len(e.path) + cut:])
               for e in listing.entries if e.path.startswith(prefix)]
    need: dict[str, list[str]] = {}
    for blob_id, paths in listing.need_stats.items():
        inside = [p[cut:] for p in paths if p.startswith(prefix)]
        if inside:
            need[blob_id] = inside
    return Listing(entries, need)


def list_worktree(gitcmd: Git, root: Path) -> Listing:
    listing = Listing()
    # Three git walks in parallel (the index; stat() of tracked files; the untracked folders). Asking one
    # ls-files for -m and -o together costs more than the two separately.
    with ThreadPoolExecutor(3) as pool:
        staged_out = pool.submit(gitcmd.run, "ls-files", "-z", "-s")
        changed_out = pool.submit(gitcmd.run, "ls-files", "-z", "-t", "-m", "-d")
        untracked_out = pool.submit(gitcmd.run, "ls-files", "-z", "-o", "--exclude-standard")
        staged = _STAGED_LINE.findall(fsdecode(staged_out.result()))
        status = fsdecode(changed_out.result()).split("\0")
        others = fsdecode(untracked_out.result()).split("\0")
    changed: set[str] = set()
    deleted: set[str] = set()
    for item in status:
        tag, rel = item[:1], item[2:]
        if tag == "R":
            deleted.add(rel)
        elif tag == "C":
            changed.add(rel)
    # A trailing slash is a nested repository: not entered.
    untracked = [rel for rel in others if rel and not rel.endswith("/")]
    conflicted = {rel for _mode, _blob, stage, rel in staged if stage != "0"}
    to_measure = list(untracked)
    seen: set[str] = set()
    for mode, blob_id, _stage, rel in staged:
        if rel in seen or mode == _SUBMODULE_MODE or rel in deleted or not _is_safe_relative(rel):
            continue
        seen.add(rel)
        if rel in changed or rel in conflicted:
            to_measure.append(rel)
        elif mode == _SYMLINK_MODE:
            try:
                listing.entries.append(symlink_entry(rel, os.readlink(os.fsencode(os.path.join(root, rel))), blob_id))
            except OSError:  # vanished or no longer a link since git looked: measure what is there now
                to_measure.append(rel)
        else:
            listing.need_stats.setdefault(blob_id, []).append(rel)
    for rel in to_measure:
        if _is_safe_relative(rel):
            entry = _measure_disk_entry(root, rel)
            if entry is not None:
                listing.entries.append(entry)
    return listing


def _measure_disk_entry(root: Path, rel: str) -> FileEntry | None:
    """An entry measured from the disk (untracked, modified, plain folder).

    None when it is gone, unreadable, or not a regular file or symlink (a FIFO would block a read forever).
    """
    full = os.path.join(root, rel)
    try:
        mode = os.lstat(full).st_mode
        if stat.S_ISLNK(mode):
            return symlink_entry(rel, os.readlink(os.fsencode(full)))
        if not stat.S_ISREG(mode):
            return None
        blob_id, stats = measure_file(full)
    except (FileNotFoundError, NotADirectoryError, PermissionError, IsADirectoryError):
        return None
    return file_entry(rel, blob_id, stats)


def list_plain(root: Path) -> Listing:
    """Every file under a non-git folder, honouring its .gitignore files (git's matcher, on an empty repository)."""
    with tempfile.TemporaryDirectory(prefix="repo_auditor-empty-git-") as empty:
        done = run_git([GIT_PROGRAM, "init", "-q", "--bare", "--template=", empty], cwd=Path(empty))
        if done.returncode != 0:
            raise repository_error(done.stderr, done.returncode, root)
        gitcmd = Git(Path(empty), root, display_path=root)
        names = [os.fsdecode(raw) for raw in _split_z(gitcmd.run("ls-files", "-z", "-o", "--exclude-standard"))]
    listing = Listing()
    for rel in names:
        if rel.endswith("/") or not _is_safe_relative(rel):
            continue
        entry = _measure_disk_entry(root, rel)
        if entry is not None:
            listing.entries.append(entry)
    return listing


def list_commit(gitcmd: Git, commit: str) -> Listing:
    listing = Listing()
    for mode, kind, blob_id, rel in _TREE_LINE.findall(
        fsdecode(gitcmd.run("ls-tree", "-r", "-z", "--full-tree", commit))
    ):
        if kind != "blob" or not _is_safe_relative(rel):
            continue  # submodules (commits) are not entered; unsafe names are never listed
        if mode == _SYMLINK_MODE:
            listing.entries.append(symlink_entry(rel, gitcmd.read_blob(blob_id), blob_id))
            continue
        listing.need_stats.setdefault(blob_id, []).append(rel)
    return listing


# ---------------------------------------------------------------------------------------------------------------
