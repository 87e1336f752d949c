"""Which files a run may see: ``--include`` / ``--exclude`` globs, the repository's own include/exclude, and its
``.repo-auditor-ignore`` file, all in gitignore syntax. ``narrow(repo, scope)`` is the one place a job's file set is
cut down; every tool (read_file, grep, symbols) and the file tree then see only the files in scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import pathspec

if TYPE_CHECKING:
    from repo_auditor.repository.repository import Repository

IGNORE_FILE = ".repo-auditor-ignore"
# An ignore file is a list of patterns; anything bigger is not one (and would slow every path match).
MAX_IGNORE_FILE_BYTES = 64_000


@dataclass(frozen=True)
class FileScope:
    """``includes``: groups of globs; a file must match one glob of every non-empty group (the user's and the
    repository's). ``excludes``: a file matching any of them is left out."""

    includes: tuple[tuple[str, ...], ...] = ()
    excludes: tuple[str, ...] = ()

    @property
    def is_everything(self) -> bool:
        return not any(self.includes) and not self.excludes

    def matcher(self) -> Callable[[str], bool]:
        """A function telling whether a path is in scope (the patterns compiled once)."""
        includes = [pathspec.GitIgnoreSpec.from_lines(group) for group in self.includes if group]
        exclude = pathspec.GitIgnoreSpec.from_lines(self.excludes)
        return lambda path: all(spec.match_file(path) for spec in includes) and not exclude.match_file(path)


def narrow(repo: Repository, scope: FileScope) -> Repository:
    """``repo`` with only the files in ``scope`` and not matched by the tree's ``.repo-auditor-ignore`` (read at
    the repository's ref); ``repo`` itself when nothing is left out."""
    ignore = ()
    entry = repo.get(IGNORE_FILE)
    if entry is not None:
        text = repo.read_text(IGNORE_FILE, max_bytes=MAX_IGNORE_FILE_BYTES)
        ignore = tuple(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    full = FileScope(scope.includes, (*scope.excludes, *ignore))
    if full.is_everything:
        return repo
    return repo.restricted(full.matcher())
