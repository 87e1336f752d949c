"""Model-supplied path -> repository-relative POSIX path, or PathOutsideRepositoryError.

Accepted: relative paths (``src/app.py``, ``./src``, ``src/../lib/x.py`` as long as it stays inside), Windows-style
backslashes (turned into ``/``), and absolute paths that lie inside the repository root (made relative, so a path the
model copied from a traceback still works). ``""`` and ``"."`` mean the root and normalize to ``""``.

Refused, with a message that says why and what to pass instead: ``..`` escapes, absolute paths outside the root,
``~`` (home directories), drive letters (``C:\\``), NUL bytes, anything inside a ``.git`` directory, and paths that go
through a symbolic link of the loaded tree whose target resolves outside the root.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from repo_auditor.errors import PathOutsideRepositoryError

if TYPE_CHECKING:
    from repo_auditor.repository import Repository

# A model can send anything; a path longer than this is not a path in any real repository.
MAX_PATH_CHARS = 4096

_DRIVE = re.compile(r"^[A-Za-z]:(?:/|$)")


def _refuse(path: str, why: str) -> PathOutsideRepositoryError:
    return PathOutsideRepositoryError(f"path {path!r} {why}; pass a path relative to the repository root, "
                                      f"like 'src/main.py' (or '.' for the root)", path=path)


def normalize_path(path: str, repo: Repository | None = None) -> str:
    """Return ``path`` as a repository-relative POSIX path (``""`` for the root).

    With ``repo`` given, absolute paths inside ``repo.root`` are accepted and symbolic links of the loaded tree are
    checked; without it only the textual rules apply.
    """
    if not isinstance(path, str):
        raise PathOutsideRepositoryError(
            f"path must be a string like 'src/main.py', got {type(path).__name__}", path=repr(path))
    if "\0" in path:
        raise _refuse(path, "contains a NUL byte")
    if len(path) > MAX_PATH_CHARS:
        raise _refuse(path[:80] + "...", f"is longer than {MAX_PATH_CHARS} characters")
    text = path.strip()
    if "\\" in text and not (repo is not None and repo.get(text) is not None):
        text = text.replace("\\", "/")  # Windows separators; a listed name with \\xNN escapes is kept as is
    if text.startswith("~"):
        raise _refuse(path, "points into a home directory, outside the repository")
    if _DRIVE.match(text):
        raise _refuse(path, "is a Windows absolute path, outside the repository")
    if text.startswith("/"):
        text = _relative_to_root(path, text, repo)
    normalized = posixpath.normpath(text) if text else "."
    if normalized == ".." or normalized.startswith("../"):
        raise _refuse(path, "escapes the repository root with '..'")
    if normalized == ".":
        normalized = ""
    if ".git" in normalized.split("/"):
        raise _refuse(path, "is inside a .git directory (git internals are not part of the audited tree)")
    if repo is not None and normalized:
        _check_symlinks(path, normalized, repo)
    return normalized


def _relative_to_root(original: str, text: str, repo: Repository | None) -> str:
    if repo is None:
        raise _refuse(original, "is absolute")
    absolute = posixpath.normpath(text)
    for root in {repo.root.as_posix(), Path(repo.root).resolve().as_posix()}:
        if absolute == root:
            return ""
        if absolute.startswith(root.rstrip("/") + "/"):
            return absolute[len(root.rstrip("/")) + 1:]
    raise _refuse(original, f"is an absolute path outside the repository root {repo.root.as_posix()!r}")


def _check_symlinks(original: str, normalized: str, repo: Repository) -> None:
    """Refuse a path that passes through (or is) a symlink of the tree pointing outside the root."""
    parts = normalized.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        entry = repo.get(prefix)
        target = entry.symlink_target if entry is not None else None
        if target is not None and symlink_escapes(prefix, target):
            raise _refuse(original, f"goes through the symbolic link {prefix!r} -> {target!r}, "
                                    f"which points outside the repository")
    if repo.ref is None:
        # The work tree on disk may hold symlinked directories the file list does not show as entries.
        root = Path(repo.root).resolve()
        resolved = (root / normalized).resolve()
        if resolved != root and root not in resolved.parents:
            raise _refuse(original, "resolves (through a symbolic link on disk) outside the repository")


def symlink_escapes(link_path: str, target: str) -> bool:
    """True when the symlink at repository path ``link_path`` with text ``target`` points outside the root."""
    target = target.replace("\\", "/")
    if target.startswith(("/", "~")) or _DRIVE.match(target):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), target))
    return joined == ".." or joined.startswith("../") or ".git" in PurePosixPath(joined).parts


def resolve_symlink(link_path: str, target: str) -> str:
    """The repository path a non-escaping symlink points at (check ``symlink_escapes`` first)."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), target.replace("\\", "/")))
    return "" if joined == "." else joined
