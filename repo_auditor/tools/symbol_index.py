"""Where things are defined: functions, classes, methods and other definitions, found with tree-sitter.

Languages: python, javascript, typescript, tsx, go, rust, java, c, cpp, ruby, csharp, php, kotlin.

Kinds (one closed vocabulary for every language)::

    function   a free function; a nested function; JS/TS ``const f = () => ...``; a C# local function
    method     a function in a class, struct, interface, trait, enum or impl body; Go methods
               (``Type.Method``); Java/C#/TS constructors; C++ out-of-line ``A::f`` definitions and in-class
               declarations; Ruby ``def`` and ``def self.x`` in a class or module body
    class      class; Java record; Kotlin ``object`` and ``companion object``; a JS class expression bound
               to a name
    struct     C/C++/Go/Rust/C# struct; C/C++/Rust union
    interface  interface (Go, Java, TS, C#, PHP, Kotlin); Java ``@interface``
    enum       enum (every language that has them)
    trait      Rust and PHP traits
    impl       a Rust ``impl`` block, named after the type it implements
    module     Rust ``mod``, Ruby ``module``, C++/C#/PHP namespace, TS ``namespace``/``module``
    type       a type alias: Python ``type X =``, TS ``type``, Go ``type X int``, Rust ``type``,
               C ``typedef``, C++ ``using X =``, Kotlin ``typealias``, C# ``delegate``
    macro      C/C++ ``#define``, Rust ``macro_rules!``

Qualified names join the enclosing definitions with ``.`` in every language: ``Outer.Inner.method``, Go
``Server.Handle``, Rust ``Point.new`` (a method of ``impl Point``), C++ ``geo.Square.area``, Ruby
``Billing.Invoice``, Python nested functions ``outer.inner``. A ``::`` or ``\\`` in a name filter reads as
``.``. A PHP or C# namespace declared without braces (``namespace App;``) is listed but does not qualify what
follows. Declarations without a body are not definitions, except members of a type body: C/C++ prototypes
outside a class, ``struct s;`` and TS overload signatures are left out.

Lines are 1-based and inclusive. The start line is the definition's own node: a Python ``def``/``class``
line (after its decorators, as Python's ``ast`` reports it), a C++ function after its ``template <...>`` line;
Java, C# and Kotlin annotations and modifiers belong to the definition, so it starts at the first of them.

Not indexed (listed in ``SymbolIndex.skipped`` with the reason): files the repository flags ``large``,
``generated`` or ``symlink``, binary files, files whose lines average over ``MINIFIED_LINE_CHARS`` characters
(minified code), and languages outside the list above. Files with syntax errors are indexed: every definition
that still parses is found. Definitions nested deeper than ``MAX_DEFINITION_DEPTH`` syntax-tree levels are
not reported.

Results are cached on disk by git blob id (``cache_dir("symbols")/symbols.sqlite``), so a file is parsed once
across runs, refs and renames; a change of grammar or rules invalidates the cache.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from repo_auditor.errors import FileNotInRepositoryError, RepoAuditorError, ToolError
from repo_auditor.parsing.definitions import KINDS, Definition, parse_definitions
from repo_auditor.parsing.grammars import parser_version
from repo_auditor.parsing.worker import run_pool
from repo_auditor.repository import LARGE_FILE_BYTES, FileEntry
from repo_auditor.repository.cache import cache_dir
from repo_auditor.repository.languages import PARSED_LANGUAGES
from repo_auditor.tools.paths import normalize_path
from repo_auditor.tools.symbol_cache import SymbolCache

if TYPE_CHECKING:
    from repo_auditor.repository import Repository

__all__ = ["KINDS", "Symbol", "SymbolIndex", "format_symbols", "parse_definitions"]

# Loader flags that mean "do not parse": huge, machine-written, or not a file of this tree.
SKIP_FLAGS = frozenset({"large", "generated", "symlink"})

# Never hand more than this to the parser (the repository flags bigger files "large"; a work tree can change under
# us).
MAX_PARSE_BYTES = LARGE_FILE_BYTES

# Minified code: one enormous line yields no useful definitions and slow, deep trees. A file counts as
# minified when it is at least MINIFIED_MIN_BYTES long and its lines average more than MINIFIED_LINE_CHARS
# characters.
MINIFIED_LINE_CHARS = 1000
MINIFIED_MIN_BYTES = 20_000

# Worker processes start only when this much uncached source waits: this process keeps parsing while they start,
# but each costs ~0.25 s of CPU (its imports) on another core, and one core parses roughly 5 MB/s of Python.
POOL_MIN_BYTES = 2_000_000
MAX_WORKERS = 8
# A batch (handed to a worker process, or parsed here) holds at most this many files and, unless one file is
# bigger, this many bytes: small enough that no process waits long for the last batches, large enough that the
# per-batch messages cost nothing.
POOL_BATCH_FILES = 32
POOL_BATCH_BYTES = 200_000

# Parsed results are written to the cache every this many files, so an interrupted cold index keeps its
# progress.
WRITE_BATCH_FILES = 256

Parse = Callable[[str, bytes], "list[Definition]"]


@dataclass(frozen=True)
class Symbol:
    """One definition: its file, its 1-based inclusive line span, its kind and names."""

    path: str
    name: str
    qualified_name: str
    kind: str
    start_line: int
    end_line: int
    language: str


def skip_reason(entry: FileEntry) -> str | None:
    """Why ``entry`` is not indexed, or None when it is."""
    if entry.language not in PARSED_LANGUAGES:
        language = entry.language or "unknown"
        return f"language {language} is not parsed (parsed: {', '.join(sorted(PARSED_LANGUAGES))})"
    if entry.binary:
        return "binary file"
    flags = sorted(entry.flags & SKIP_FLAGS)
    if flags:
        return f"flagged {', '.join(flags)}"
    if entry.size > MAX_PARSE_BYTES:
        return f"larger than {MAX_PARSE_BYTES} bytes"
    if entry.size >= MINIFIED_MIN_BYTES and entry.size / max(entry.lines, 1) > MINIFIED_LINE_CHARS:
        return f"minified (lines average over {MINIFIED_LINE_CHARS} characters)"
    return None


class SymbolIndex:
    """The definitions of one loaded repository, built lazily: a file is parsed (or read from the cache) the
    first time a ``find`` covers it.

    ``cache_path`` is the folder holding ``symbols.sqlite`` (default ``cache_dir("symbols")``). ``parse``
    turns (language, bytes) into definitions; a custom one (tests inject a counting one) always runs in this
    process. ``workers`` counts the processes that parse, this one included: None adds a worker process per idle
    CPU (``idle_cpus``) when at least ``POOL_MIN_BYTES`` of uncached source wait, else parses in this process
    alone; 1 always parses in this process alone; N > 1 adds N - 1 worker processes whenever two or more files
    need parsing.
    """

    def __init__(
        self,
        repo: Repository,
        cache_path: Path | None = None,
        *,
        parse: Parse = parse_definitions,
        workers: int | None = None,
    ):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be None or at least 1, got {workers}")
        self.repo = repo
        self._cache = SymbolCache(Path(cache_path) if cache_path is not None else cache_dir("symbols"))
        self._parse = parse
        self._workers = workers
        self._version = parser_version()
        # path -> rows of (name, qualified_name, kind, start_line, end_line), in file order
        self._definitions: dict[str, Sequence[Sequence]] = {}
        self.skipped: dict[str, str] = {}  # path -> reason, for files a find covered but did not index
        self._lock = threading.Lock()

    # ------------------------------------------------------------ querying

    def find(self, path: str | None = None, name: str | None = None, kind: str | None = None) -> list[Symbol]:
        """Definitions sorted by path then line, filtered by all the arguments given.

        ``path``: a file or a directory (repository-relative; ``None``, ``""`` or ``"."`` for the whole
        repository). ``name``: with ``*``, ``?`` or ``[`` a glob (case-sensitive) over the name or the
        qualified name (``Server.*``, ``*_test``); otherwise the exact name or qualified name (``handle``,
        ``Server.handle``), and only when nothing matches exactly, every definition whose name or qualified
        name contains it, ignoring case. ``kind``: one of ``KINDS``.
        """
        wanted_kind = _check_kind(kind)
        if name is not None and not isinstance(name, str):
            raise ToolError(f"name must be a string like 'handle' or 'Server.*', got {type(name).__name__}")
        entries = self._entries_under(path)
        with self._lock:  # two threads asking at once must not parse the same files twice
            self._index(entries)
        filters = _name_filters(name) if name is not None and name.strip() else [None]
        for accept in filters:  # the first filter that matches anything wins (exact before substring)
            found = []
            for entry in entries:
                rows = self._definitions.get(entry.path, ())
                if wanted_kind is not None:
                    rows = [row for row in rows if row[2] == wanted_kind]
                if accept is not None:
                    rows = [row for row in rows if accept(row[0], row[1])]
                path, language = entry.path, entry.language
                found.extend(Symbol(path, n, q, k, start, end, language) for n, q, k, start, end in rows)
            if found:
                return found
        return []

    def _entries_under(self, path: str | None) -> list[FileEntry]:
        relative = normalize_path(path, self.repo) if path is not None else ""
        if not relative:
            return list(self.repo.files)
        entry = self.repo.get(relative)
        if entry is not None:
            reason = skip_reason(entry)
            if reason is not None:
                raise ToolError(
                    f"{relative} is not indexed for symbols: {reason}; use read_file or grep on it"
                )
            return [entry]
        prefix = relative + "/"
        under = [e for e in self.repo.files if e.path.startswith(prefix)]
        if not under:
            raise FileNotInRepositoryError(
                f"no file or directory {relative!r} in the repository" + _suggest(relative, self.repo.files),
                path=relative,
                suggestions=tuple(_close_paths(relative, self.repo.files)),
            )
        return under

    # ------------------------------------------------------------ indexing

    def unindexed(self, entries: Sequence[FileEntry]) -> dict[str, str]:
        """Path -> cache key of each of ``entries`` that a ``find`` would parse: indexable, neither in memory nor
        in the cache. A caller that parses these files anyway (the architecture import scan) hands their
        definitions to ``store``, so each file is parsed once."""
        todo = {
            entry.path: self._key(entry)
            for entry in entries
            if entry.path not in self._definitions and skip_reason(entry) is None
        }
        known = self._cache.get_many(set(todo.values()))
        return {path: key for path, key in todo.items() if key not in known}

    def store(self, parsed: Sequence[tuple[str, Sequence[Definition]]]) -> None:
        """Cache definitions parsed elsewhere, by the keys ``unindexed`` gave."""
        self._cache.put_many(parsed)

    def _key(self, entry: FileEntry) -> str:
        return f"{self._version}|{entry.language}|{entry.blob_id}"

    def _index(self, entries: list[FileEntry]) -> None:
        todo = []
        for entry in entries:
            if entry.path in self._definitions or entry.path in self.skipped:
                continue
            reason = skip_reason(entry)
            if reason is not None:
                self.skipped[entry.path] = reason
            else:
                todo.append(entry)
        if not todo:
            return
        keys = {entry.path: self._key(entry) for entry in todo}
        known = self._cache.get_many(set(keys.values()))
        missing: dict[str, FileEntry] = {}
        for entry in todo:
            if keys[entry.path] not in known:
                missing.setdefault(keys[entry.path], entry)  # one parse per distinct blob
        for batch in _batches(self._parse_missing(list(missing.items())), WRITE_BATCH_FILES):
            self._cache.put_many(batch)
            known.update(batch)
        for entry in todo:
            definitions = known.get(keys[entry.path])
            if definitions is None:  # unreadable: recorded in self.skipped by _read
                continue
            self._definitions[entry.path] = definitions

    def _read(self, entry: FileEntry) -> bytes | None:
        try:
            return self.repo.read_bytes(entry.path, max_bytes=MAX_PARSE_BYTES)
        except (RepoAuditorError, OSError) as exc:  # the work tree changed since it was listed
            self.skipped[entry.path] = f"unreadable: {exc}"
            return None

    def _parse_missing(self, missing: list[tuple[str, FileEntry]]) -> Iterator[tuple[str, list[Definition]]]:
        workers = self._worker_count(sum(entry.size for _, entry in missing), len(missing))
        if workers == 1:
            for key, entry in missing:
                source = self._read(entry)
                if source is not None:
                    yield key, self._parse(entry.language, source)
            return
        yield from self._parse_in_pool(missing, workers)

    def _worker_count(self, total_bytes: int, files: int) -> int:
        if files < 2 or self._parse is not parse_definitions:
            return 1
        if self._workers is not None:
            return min(self._workers, files)
        if total_bytes < POOL_MIN_BYTES:
            return 1
        return max(1, min(MAX_WORKERS, idle_cpus(_cpu_count(), _load_average(), os.cpu_count()) + 1))

    def _parse_in_pool(
        self, missing: list[tuple[str, FileEntry]], workers: int
    ) -> Iterator[tuple[str, list[Definition]]]:
        jobs = (
            [(key, entry.language, source) for key, entry in batch if (source := self._read(entry)) is not None]
            for batch in _pool_batches(missing)
        )
        for reply in run_pool("definitions", jobs, workers):
            yield from reply

    def close(self) -> None:
        """Close the cache database (the index stays usable for what it already holds in memory)."""
        self._cache.close()


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _pool_batches(missing: list[tuple[str, FileEntry]]) -> Iterator[list[tuple[str, FileEntry]]]:
    """``missing``, biggest files first (so that no process is left with a big one at the end), cut into batches
    of at most ``POOL_BATCH_FILES`` files and ``POOL_BATCH_BYTES`` bytes (a bigger file is a batch of its own)."""
    batch: list[tuple[str, FileEntry]] = []
    size = 0
    for key, entry in sorted(missing, key=lambda item: -item[1].size):
        if batch and (len(batch) == POOL_BATCH_FILES or size + entry.size > POOL_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((key, entry))
        size += entry.size
    if batch:
        yield batch


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return None


def idle_cpus(cpus: int, load: float | None, host_cpus: int | None = None) -> int:
    """How many of ``cpus`` (those this process may use) besides its own other work leaves idle, by the 1-minute
    ``load`` average of the ``host_cpus`` it covers (default ``cpus``; a container's load average is its host's), as
    ``make -l`` decides; None: unknown, all of them. A worker process on a busy CPU wins little and adds its start
    to the work: on a 2-core machine at load 4-6, a pool of 2 processes was no faster than one process, often
    slower."""
    if load is None:
        return cpus - 1
    others = max(0.0, load - 1)  # this process counts in the load while it runs
    host_others = max(host_cpus or cpus, cpus) - 1
    idle_share = 1 - min(1.0, others / host_others) if host_others else 0.0
    return max(0, min(cpus - 1, round((cpus - 1) * idle_share)))


# ---------------------------------------------------------------- filters


def _check_kind(kind: str | None) -> str | None:
    if kind is None or not str(kind).strip():
        return None
    wanted = str(kind).strip().lower()
    if wanted not in KINDS:
        raise ToolError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)} (or leave kind out for all)")
    return wanted


def _name_filters(pattern: str) -> list[Callable[[str, str], bool]]:
    """Predicates on (name, qualified_name), tried in order: a glob alone, or exact then substring."""
    pattern = pattern.strip().replace("::", ".").replace("\\", ".")
    if any(c in pattern for c in "*?["):
        glob = re.compile(fnmatch.translate(pattern)).match  # fnmatchcase, compiled once
        return [lambda name, qualified: bool(glob(name) or glob(qualified))]
    folded = pattern.lower()
    return [
        lambda name, qualified: pattern in (name, qualified),
        lambda name, qualified: folded in qualified.lower(),  # the name is the tail of the qualified name
    ]


def _close_paths(path: str, files: tuple[FileEntry, ...]) -> list[str]:
    candidates = {entry.path for entry in files}
    candidates.update(posixpath_parent for entry in files for posixpath_parent in _parents(entry.path))
    return difflib.get_close_matches(path, sorted(candidates), n=3, cutoff=0.6)


def _parents(path: str) -> Iterator[str]:
    parts = path.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        yield "/".join(parts[:depth])


def _suggest(path: str, files: tuple[FileEntry, ...]) -> str:
    close = _close_paths(path, files)
    if close:
        return f"; did you mean {', '.join(repr(c) for c in close)}?"
    return "; pass a path from the file tree, or leave path out for the whole repository"


# ---------------------------------------------------------------- output


def format_symbols(symbols: list[Symbol], limit: int = 200) -> str:
    """Text for the model: one definition a line, ``path:start-end  kind  qualified_name``, by path then line.

    Over ``limit`` lines, the rest are counted in a last line that says how to narrow the search.
    """
    if not isinstance(limit, int) or limit < 1:
        raise ToolError(f"limit must be a positive whole number, got {limit!r}")
    if not symbols:
        return "no definitions found (try a broader name, no kind, or a parent directory)"
    ordered = sorted(symbols, key=lambda s: (s.path, s.start_line, -s.end_line, s.qualified_name))
    lines = [
        f"{s.path}:{s.start_line}-{s.end_line}  {s.kind:<9}  {s.qualified_name}" for s in ordered[:limit]
    ]
    omitted = len(ordered) - limit
    if omitted > 0:
        lines.append(
            f"... {omitted} more definitions not shown ({len(ordered)} in all); narrow with path= (a file or "
            f"directory), name= (exact, substring or glob like 'Server.*') or kind="
        )
    return "\n".join(lines)
