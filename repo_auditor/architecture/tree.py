"""What the architecture analysis needs from a loaded repository, and how it classifies paths.

``SourceTree`` is the slice of ``repo_auditor.repository.Repository`` used here; ``Repository`` satisfies it as
is.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Iterable, Protocol


class SourceFile(Protocol):
    """The fields of ``repository.FileEntry`` the analysis reads."""

    path: str
    size: int
    lines: int
    language: str | None
    binary: bool
    blob_id: str
    flags: frozenset[str]


class SourceTree(Protocol):
    """A repository at one commit (or its work tree): the file list and file contents."""

    root: Path
    ref: str | None
    commit: str | None
    is_git: bool

    @property
    def files(self) -> tuple[SourceFile, ...]: ...

    def read_bytes(self, path: str) -> bytes: ...


# Files with these flags are counted apart and left out of every other figure.
EXCLUDED_FLAGS = frozenset({"vendored", "generated"})

# Languages that are data or prose, not code: they count in the language table but not as code or tests.
NON_CODE_LANGUAGES = frozenset(
    {"markdown", "restructuredtext", "text", "json", "yaml", "toml", "ini", "xml", "html", "css"}
)

_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testing", "e2e"})
_TEST_NAME = re.compile(
    r"""^(
        test_.+\.py | .+_test\.py | conftest\.py
      | .+_test\.go
      | .+\.(test|spec)\.(js|jsx|ts|tsx|mjs|cjs|mts|cts)
      | .+(Test|Tests|IT)\.(java|kt)
      | .+_spec\.rb | .+_test\.rb
    )$""",
    re.X,
)


# Build files below these folders describe sample projects (test fixtures), not the codebase's own parts.
FIXTURE_DIRS = _TEST_DIRS | frozenset(
    {"fixtures", "__fixtures__", "testdata", "test-fixtures", "test_fixtures"}
)


def in_fixture_dir(path: str) -> bool:
    """True when a folder above ``path`` is a test or fixture folder (``tests/``, ``fixtures/``, ...)."""
    return any(part in FIXTURE_DIRS for part in path.split("/")[:-1])


def is_excluded(entry: SourceFile) -> bool:
    """Vendored or generated: counted, not analysed."""
    return bool(EXCLUDED_FLAGS & entry.flags)


def is_code(entry: SourceFile) -> bool:
    """A text file in a programming language (not prose, data or markup)."""
    return not entry.binary and entry.language is not None and entry.language not in NON_CODE_LANGUAGES


def is_test_path(path: str) -> bool:
    """Test code by convention: a ``tests/``, ``test/``, ``__tests__/`` ... folder (``src/test/java``
    included), or a name like ``test_x.py``, ``x_test.go``, ``x.test.ts``, ``XTest.java``, ``conftest.py``."""
    parts = path.split("/")
    if any(part in _TEST_DIRS for part in parts[:-1]):
        return True
    return bool(_TEST_NAME.match(parts[-1]))


def parent_dirs(path: str) -> Iterable[str]:
    """``a/b/c.py`` -> ``a/b``, ``a``, ``''`` (deepest first; ``''`` is the repository root)."""
    head = posixpath.dirname(path)
    while head:
        yield head
        head = posixpath.dirname(head)
    yield ""


def join(root: str, rel: str) -> str:
    """Join repository-relative parts where ``''`` means the root, resolving ``.`` and ``..``. A result that
    climbs out of the repository starts with ``..``: callers reject it."""
    joined = posixpath.normpath(posixpath.join(root, rel)) if (root or rel) else ""
    return "" if joined == "." else joined
