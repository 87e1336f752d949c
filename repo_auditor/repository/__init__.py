"""A repository at a ref: its files, their contents and flags, and the file tree the model sees first.

::

    repository.py  Repository: open a work tree, a commit (``ref=``) or a plain folder; read files; extract a ref
    git.py         the git process, run defensively (no GIT_DIR leaks, no fsmonitor, one cat-file --batch reader)
    listing.py     what git lists: the work tree as ``git status`` sees it, a commit's tree, a plain folder
    entries.py     FileEntry and its flags (vendored, generated, large, symlink); measuring bytes like git
    stats.py       line counts and binary flags cached per blob id (sqlite)
    extract.py     a commit's files written to a folder for ripgrep, escaping links neutralised
    file_tree.py   the file tree fitted to a character budget
    languages.py   file name -> language, the one table every module uses
    cache.py, cachedb.py  where the on-disk caches live; opening their sqlite files safely under concurrency

The only package that runs git. It imports nothing else from repo_auditor but the errors.
"""

from __future__ import annotations

from repo_auditor.repository.entries import (
    GENERATED_NAMES,
    GENERATED_SUFFIXES,
    LARGE_FILE_BYTES,
    VENDORED_DIRS,
    FileEntry,
    display_path,
    git_blob_id,
)
from repo_auditor.repository.file_tree import render_file_tree
from repo_auditor.repository.repository import Repository
from repo_auditor.repository.stats import LISTING_SCHEMA, STATS_SCHEMA

__all__ = [
    "GENERATED_NAMES", "GENERATED_SUFFIXES", "LARGE_FILE_BYTES", "LISTING_SCHEMA", "STATS_SCHEMA", "VENDORED_DIRS",
    "FileEntry", "Repository", "display_path", "git_blob_id", "render_file_tree",
]
