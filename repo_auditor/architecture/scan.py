"""Scanning a repository's source files: imports (``scan_sources``) and definitions (``find_symbols``), in worker
processes when cold, with an on-disk cache of ``FileScan`` results keyed by content (scan version, parser versions,
language, git blob id).

An unchanged file is scanned once across runs, refs and renames. Safe for several processes: sqlite in WAL
mode.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, Sequence, runtime_checkable

from repo_auditor.architecture.tree import SourceFile, SourceTree
from repo_auditor.errors import RepoAuditorError, ToolError
from repo_auditor.parsing.imports import (
    SCAN_VERSION,
    SCANNED_LANGUAGES,
    FileScan,
    scan_source,
    scan_with_definitions,
)
from repo_auditor.parsing.worker import run_pool
from repo_auditor.repository import cachedb
from repo_auditor.repository.languages import PARSED_LANGUAGES

# Files with these repository flags are not scanned for imports (too big to matter, or not a file of this tree).
SKIP_SCAN_FLAGS = frozenset({"large", "symlink"})
# Never scan more than this many bytes of one file (the repository flags bigger files "large" anyway).
MAX_SCAN_BYTES = 1_000_000
# Scanning runs in a process pool only when this much uncached source waits (starting workers costs ~0.3 s).
POOL_MIN_BYTES = 4_000_000
MAX_WORKERS = 8
# Files per batch handed to a worker process (sources are read just before their batch is sent).
POOL_BATCH_FILES = 64


class SymbolLike(Protocol):
    path: str
    qualified_name: str
    kind: str
    start_line: int
    end_line: int


class SymbolFinder(Protocol):
    """What ``build_inventory`` needs from ``repo_auditor.tools.symbol_index.SymbolIndex``."""

    def find(
        self, path: str | None = None, name: str | None = None, kind: str | None = None
    ) -> Sequence[SymbolLike]: ...


@runtime_checkable
class DefinitionSink(Protocol):
    """A symbol index that takes definitions parsed elsewhere (``SymbolIndex``): the import scan then parses each
    file once for both."""

    def unindexed(self, entries: Sequence[Any]) -> dict[str, str]: ...

    def store(self, parsed: Sequence[tuple[str, Sequence[Any]]]) -> None: ...


DATABASE_NAME = "architecture-scan.sqlite"
_CHUNK = 900  # below sqlite's historic limit of 999 parameters per statement


class ScanCache:
    """``FileScan`` by key; the key is built by the caller."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / DATABASE_NAME
        self._db = cachedb.connect_disposable(
            self.path, "CREATE TABLE IF NOT EXISTS scans (key TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID"
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, FileScan]:
        keys = list(keys)
        found = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows = self._db.execute(
                f"SELECT key, data FROM scans WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
            for key, data in rows:
                try:
                    found[key] = FileScan.from_json(json.loads(data))
                except (ValueError, TypeError):
                    continue  # a damaged row is scanned again
        return found

    def put_many(self, items: Iterable[tuple[str, FileScan]]) -> None:
        rows = [
            (key, json.dumps(scan.to_json(), ensure_ascii=False, separators=(",", ":")))
            for key, scan in items
        ]
        if rows:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO scans (key, data) VALUES (?, ?)", rows)

    def close(self) -> None:
        self._db.close()


def scan_key(version: str, entry: SourceFile) -> str:
    return f"scan{SCAN_VERSION};{version}|{entry.language}|{entry.blob_id}"


def scan_sources(
    repo: SourceTree,
    included: list[SourceFile],
    notes: list[str],
    cache_path: Path | None,
    symbols: SymbolFinder | None = None,
) -> dict[str, tuple[str, FileScan]]:
    """Imports of every scannable file, from the cache or parsed. When ``symbols`` is a ``DefinitionSink``, the
    definitions of each file parsed here that the index lacks are taken from the same parse and stored in it."""
    from repo_auditor.parsing.grammars import parser_version
    from repo_auditor.repository.cache import cache_dir

    wanted = [
        e
        for e in included
        if e.language in SCANNED_LANGUAGES
        and not e.binary
        and not (e.flags & SKIP_SCAN_FLAGS)
        and e.size <= MAX_SCAN_BYTES
    ]
    cache = ScanCache(cache_path if cache_path is not None else cache_dir("architecture"))
    try:
        version = parser_version()  # the tree-sitter and grammar versions: a change invalidates the cache
        keys = {e.path: scan_key(version, e) for e in wanted}
        known = cache.get_many(set(keys.values()))
        missing: dict[str, SourceFile] = {}
        for entry in wanted:
            if keys[entry.path] not in known:
                missing.setdefault(keys[entry.path], entry)  # one scan per distinct blob
        sink = symbols if isinstance(symbols, DefinitionSink) else None
        symbol_keys = sink.unindexed(list(missing.values())) if sink is not None and missing else {}
        jobs = [(key, entry, symbol_keys.get(entry.path)) for key, entry in missing.items()]
        for batch, definitions in scan_missing(repo, jobs, notes):
            cache.put_many(batch)
            known.update(batch)
            if sink is not None and definitions:
                sink.store(definitions)
    finally:
        cache.close()
    return {e.path: (e.language, known[keys[e.path]]) for e in wanted if keys[e.path] in known}


def read_source(repo: SourceTree, entry: SourceFile, notes: list[str]) -> bytes | None:
    try:
        return repo.read_bytes(entry.path)
    except (RepoAuditorError, OSError) as exc:  # the work tree changed since it was listed
        notes.append(f"{entry.path}: unreadable, imports not scanned ({exc})")
        return None


ScanJob = tuple[str, SourceFile, "str | None"]  # (scan key, file, symbol key when its definitions are wanted)
ScanBatch = tuple[list[tuple[str, FileScan]], list[tuple[str, list]]]  # (scans, (symbol key, definitions))


def scan_missing(repo: SourceTree, missing: list[ScanJob], notes: list[str]) -> Iterator[ScanBatch]:
    """Scan in this process, or in a process pool when there is enough to do; yields batches to cache. A file
    with a symbol key is parsed once for its imports and its definitions."""
    with_definitions = [job for job in missing if job[2] is not None]
    imports_only = [job for job in missing if job[2] is None]
    parallel = cpu_count() >= 2 and sum(entry.size for _, entry, _ in missing) >= POOL_MIN_BYTES
    for jobs, both in ((with_definitions, True), (imports_only, False)):
        if parallel:  # biggest files first: the last batches decide when the pool is done
            jobs = sorted(jobs, key=lambda job: -job[1].size)
        batches = [jobs[i : i + POOL_BATCH_FILES] for i in range(0, len(jobs), POOL_BATCH_FILES)]
        workers = min(MAX_WORKERS, cpu_count(), len(batches))
        if parallel and workers >= 2:
            yield from _scan_in_pool(repo, batches, both, workers, notes)
            continue
        for batch in batches:
            scans, definitions = [], []
            for key, entry, symbol_key in batch:
                source = read_source(repo, entry, notes)
                if source is None:
                    continue
                if symbol_key is None:
                    scans.append((key, scan_source(entry.language, source)))
                else:
                    scan, found = scan_with_definitions(entry.language, source)
                    scans.append((key, scan))
                    definitions.append((symbol_key, found))
            yield scans, definitions


def _scan_in_pool(
    repo: SourceTree, batches: list[list[ScanJob]], both: bool, workers: int, notes: list[str]
) -> Iterator[ScanBatch]:
    symbol_keys = {key: symbol_key for batch in batches for key, _, symbol_key in batch}
    jobs = (
        [(key, e.language, source) for key, e, _ in batch if (source := read_source(repo, e, notes)) is not None]
        for batch in batches
    )
    for reply in run_pool("imports+definitions" if both else "imports", jobs, workers):
        if both:
            yield (
                [(key, FileScan.from_json(scan)) for key, (scan, _) in reply],
                [(symbol_keys[key], definitions) for key, (_, definitions) in reply],
            )
        else:
            yield [(key, FileScan.from_json(data)) for key, data in reply], []


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextmanager
def opened_symbols(repo: SourceTree, symbols: SymbolFinder | None, cache_path: Path | None) -> Iterator[SymbolFinder]:
    """``symbols``, or a new ``SymbolIndex`` over ``cache_path``, closed on leaving."""
    if symbols is not None:
        yield symbols
        return
    from repo_auditor.tools.symbol_index import SymbolIndex

    index = SymbolIndex(repo, cache_path)  # type: ignore[arg-type]  # a Repository in practice
    try:
        yield index
    finally:
        index.close()


def find_symbols(symbols: SymbolFinder, included: list[SourceFile], some_excluded: bool) -> list[SymbolLike]:
    """Every definition in the analysed files. When some files are vendored or generated, only the top-level
    folders (and top-level files) holding analysed files are indexed, so a vendored tree is not parsed."""
    if some_excluded:
        try:
            return symbols_in_scope(symbols, included)
        except ToolError:
            pass  # a folder name the index reads differently (a backslash in it): index everything
    return list(symbols.find())


def symbols_in_scope(symbols: SymbolFinder, included: list[SourceFile]) -> list[SymbolLike]:
    """Definitions under each top-level folder with analysed files, and in each analysed top-level file.
    Raises ``ToolError`` when the index refuses one of them (the caller then indexes everything)."""
    rows: list[SymbolLike] = []
    for top in sorted({e.path.split("/", 1)[0] for e in included if "/" in e.path}):
        rows.extend(symbols.find(path=top))
    for entry in included:
        indexable = (
            entry.language in PARSED_LANGUAGES and not entry.binary and not entry.flags & SKIP_SCAN_FLAGS
        )
        if "/" not in entry.path and indexable:
            rows.extend(symbols.find(path=entry.path))
    return rows


# ---------------------------------------------------------------- entry points and dependencies
