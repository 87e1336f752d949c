"""A loaded repository seen as paths: directory tests, prefixes, listings and "did you mean" suggestions.

Built once per bound repository (the file list of a loaded tree never changes), shared by ``read_file`` and ``grep``.
"""

from __future__ import annotations

import bisect
import difflib
import posixpath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from repo_auditor.repository import FileEntry, Repository

# How many close matches a "no such file" message offers.
MAX_SUGGESTIONS = 3


class TreeView:
    """The sorted paths of ``repo.files`` with the lookups the tools need."""

    def __init__(self, repo: Repository):
        self.repo = repo
        self.paths: list[str] = [entry.path for entry in repo.files]  # repo.files is sorted by path

    def entry(self, path: str) -> FileEntry | None:
        return self.repo.get(path)

    def is_dir(self, path: str) -> bool:
        """True for ``""`` (the root) and for every folder holding at least one listed file."""
        if not path:
            return True
        prefix = path + "/"
        i = bisect.bisect_left(self.paths, prefix)
        return i < len(self.paths) and self.paths[i].startswith(prefix)

    def files_under(self, path: str) -> list[str]:
        """Listed files equal to ``path`` or inside folder ``path`` (all files for the root), sorted."""
        if not path:
            return list(self.paths)
        prefix = path + "/"
        start = bisect.bisect_left(self.paths, prefix)
        end = bisect.bisect_left(self.paths, path + "0")  # "0" is the character right after "/"
        found = self.paths[start:end]
        return [path, *found] if self.repo.get(path) is not None else found

    def children(self, path: str) -> tuple[list[str], dict[str, int]]:
        """Direct files of folder ``path`` and its sub-folders with the number of files each holds."""
        prefix = path + "/" if path else ""
        files: list[str] = []
        folders: dict[str, int] = {}
        for p in self.files_under(path):
            rest = p[len(prefix):]
            head, sep, _ = rest.partition("/")
            if sep:
                folders[head] = folders.get(head, 0) + 1
            else:
                files.append(rest)
        return files, folders

    def suggest(self, path: str) -> tuple[str, ...]:
        """Listed paths close to ``path``: same file name elsewhere first, then difflib's closest paths."""
        name = posixpath.basename(path)
        same_name = [p for p in self.paths if posixpath.basename(p) == name and p != path]
        close = difflib.get_close_matches(path, self.paths, n=MAX_SUGGESTIONS, cutoff=0.6)
        ordered = dict.fromkeys([*same_name[:MAX_SUGGESTIONS], *close])
        return tuple(list(ordered)[:MAX_SUGGESTIONS])
