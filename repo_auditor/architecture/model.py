"""The inventory as data: small dataclasses with ``to_dict`` / ``from_dict``, and the JSON schema they define.

``Inventory.to_dict()`` is the stable JSON form of an ``audit-repo architecture`` run (``SCHEMA`` documents
every field); a later run reads it back with ``Inventory.from_dict`` or hands the raw dict to ``compare``.
Bump ``SCHEMA_VERSION`` when a field changes meaning or disappears; adding a field does not need a bump.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union

from repo_auditor.errors import ReportError

SCHEMA_VERSION = 1

SCHEMA: dict[str, str] = {
    "schema_version": "int: version of this layout; compare() refuses any other",
    "repository": "str: the repository folder name (no absolute path, so reports are portable)",
    "ref": "str | null: the ref given by the user, or null for the work tree",
    "commit": "str | null: the 40-hex commit analysed, or null (plain directory, no commit yet)",
    "files": "int: files analysed (vendored and generated files excluded)",
    "lines": "int: lines in those files",
    "excluded_files": "int: vendored or generated files, counted here but left out of every other figure",
    "excluded_lines": "int: lines in those files",
    "languages[]": "per language, most lines first: language, files, lines, excluded_files, excluded_lines",
    "components[]": (
        "name (unique), root (folder, '' = repository root), kind (python-package, npm-package, go-module, "
        "go-package, rust-crate, java-module, npm-folder (a folder of a repository that is one npm package), "
        "rust-module (a top-level module of a repository that is one Rust crate), directory), manifest (build file "
        "path or null), languages "
        "(code languages, most lines first), files, lines, code_files, code_lines (non-test code), "
        "test_files, test_lines (test code by path convention), symbols (definitions found by tree-sitter), "
        "churn_commits, churn_lines (in the history window)"
    ),
    "edges[]": (
        "source and target component names (source imports target), count (import statements), "
        "example_path, example_line (one such import), in_cycle (both ends in one strongly connected "
        "component of the production edges), test_only (every import behind it is test code, a benchmark, an "
        "example, or names a dev-only dependency; such edges never make a cycle)"
    ),
    "cycles[]": (
        "components (sorted members of a strongly connected component), path (one ordered cycle through the "
        "smallest name: each imports the next, the last imports the first)"
    ),
    "entry_points[]": (
        "kind (console-script, gui-script, npm-bin, npm-main, cargo-bin, python-main, go-main, rust-main, "
        "java-main, server), name, path, line, target (what a declaration points to, or null), component"
    ),
    "dependencies[]": (
        "ecosystem (python, npm, go, cargo, maven, gradle), name, spec (version constraint as written), "
        "manifest (path), component (name or null), dev (test/dev/build-only; go: indirect)"
    ),
    "tests": (
        "test_files, test_lines, code_files, code_lines (non-test code), ratio (test_lines / code_lines, "
        "null without code)"
    ),
    "history": (
        "available (false without git history), since_days, window_start, window_end (ISO dates; the window "
        "ends at the analysed commit's date, so re-running on an old ref gives the same answer), commits"
    ),
    "hotspots[]": (
        "path, component, commits (touching it in the window), lines_changed (added + deleted), authors "
        "(distinct), lines (current size), score (commits x lines); top N by score, deleted files dropped"
    ),
    "largest_files[]": "path, component, language, lines; the top N code files",
    "largest_functions[]": (
        "path, component, name (qualified), kind, start_line, end_line, lines (span); the top N functions "
        "and methods"
    ),
    "notes[]": "str: things the reader should know (unreadable build files, files skipped and why)",
}


@dataclass(frozen=True)
class LanguageStats:
    """Files and lines of one language; vendored/generated files only in the ``excluded_*`` figures."""

    language: str
    files: int
    lines: int
    excluded_files: int = 0
    excluded_lines: int = 0


@dataclass
class Component:
    """A unit of the codebase (a package, module, crate or top-level folder) and its figures."""

    name: str
    root: str
    kind: str
    manifest: str | None = None
    languages: list[str] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    code_files: int = 0
    code_lines: int = 0
    test_files: int = 0
    test_lines: int = 0
    symbols: int = 0
    churn_commits: int = 0
    churn_lines: int = 0


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` ``count`` times; one example import location."""

    source: str
    target: str
    count: int
    example_path: str
    example_line: int
    in_cycle: bool = False
    test_only: bool = False  # only test code, benchmarks, examples or dev-dependencies import the target


@dataclass(frozen=True)
class Cycle:
    """Components that import each other in a loop."""

    components: list[str]
    path: list[str]


@dataclass(frozen=True)
class EntryPoint:
    """A way the code is started: a declared script or binary, a main function, a server start call."""

    kind: str
    name: str
    path: str
    line: int
    target: str | None = None
    component: str | None = None


@dataclass(frozen=True)
class Dependency:
    """An external dependency declared in a build file."""

    ecosystem: str
    name: str
    spec: str
    manifest: str
    component: str | None = None
    dev: bool = False


@dataclass(frozen=True)
class TestRatio:
    """Test code against the rest of the code, by path convention."""

    __test__ = False  # not a pytest test class, despite the name

    test_files: int
    test_lines: int
    code_files: int
    code_lines: int
    ratio: float | None


@dataclass(frozen=True)
class HistoryInfo:
    """What the history window covered."""

    available: bool
    since_days: int
    window_start: str | None = None
    window_end: str | None = None
    commits: int = 0


@dataclass(frozen=True)
class Hotspot:
    """A file that changes often and is large."""

    path: str
    component: str | None
    commits: int
    lines_changed: int
    authors: int
    lines: int
    score: int


@dataclass(frozen=True)
class LargeFile:
    """One of the largest files."""

    path: str
    component: str | None
    language: str | None
    lines: int


@dataclass(frozen=True)
class LargeFunction:
    """One of the longest functions or methods."""

    path: str
    component: str | None
    name: str
    kind: str
    start_line: int
    end_line: int
    lines: int


@dataclass
class Inventory:
    """Everything ``build_inventory`` found; ``to_dict()`` is the JSON report (see ``SCHEMA``)."""

    repository: str
    ref: str | None
    commit: str | None
    files: int
    lines: int
    excluded_files: int
    excluded_lines: int
    languages: list[LanguageStats]
    components: list[Component]
    edges: list[Edge]
    cycles: list[Cycle]
    entry_points: list[EntryPoint]
    dependencies: list[Dependency]
    tests: TestRatio
    history: HistoryInfo
    hotspots: list[Hotspot]
    largest_files: list[LargeFile]
    largest_functions: list[LargeFunction]
    notes: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (plain dicts, lists, str, int, float, bool, None)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Inventory:
        """Read back a ``to_dict()`` result. Raises ``IncompatibleReportError`` for another schema version or
        a malformed dict."""
        check_schema(data)
        try:
            return build_from_dict(cls, data, "inventory")
        except (TypeError, ValueError, KeyError) as exc:
            raise IncompatibleReportError(
                f"malformed architecture report: {exc}; regenerate it with `audit-repo architecture --format json`",
                found_version=data.get("schema_version"),
            ) from exc


class IncompatibleReportError(ReportError):
    """A previous architecture report cannot be read: another schema version, or not an architecture
    report."""

    def __init__(self, message: str, *, found_version: object = None, expected_version: int = SCHEMA_VERSION):
        super().__init__(message)
        self.found_version = found_version
        self.expected_version = expected_version


def check_schema(data: Any) -> None:
    """Raise ``IncompatibleReportError`` unless ``data`` is a dict carrying this ``SCHEMA_VERSION``."""
    if not isinstance(data, dict):
        raise IncompatibleReportError(
            f"previous architecture report must be a JSON object, got {type(data).__name__}; "
            "pass the file written by `audit-repo architecture --format json`"
        )
    found = data.get("schema_version")
    if found != SCHEMA_VERSION:
        raise IncompatibleReportError(
            f"previous architecture report has schema_version {found!r}, "
            f"this version reads {SCHEMA_VERSION}; "
            "regenerate the previous report with this version of repo_auditor",
            found_version=found,
        )


def build_from_dict(tp: Any, value: Any, where: str) -> Any:
    """Rebuild a value of type ``tp`` from its JSON form, checking types as it goes."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return build_from_dict(inner, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise TypeError(f"{where} must be a list")
        (inner,) = typing.get_args(tp)
        return [build_from_dict(inner, item, f"{where}[{i}]") for i, item in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise TypeError(f"{where} must be an object")
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = build_from_dict(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise KeyError(f"{where}.{f.name} is missing")
        return tp(**kwargs)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{where} must be a number")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise TypeError(f"{where} must be {tp.__name__}")
        return value
    raise TypeError(f"{where}: unsupported type {tp!r}")
