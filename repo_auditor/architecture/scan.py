"""Scanning a repository's source files: imports (``scan_sources``) and definitions (``find_symbols``), in worker
processes when cold, with an on-disk cache of ``FileScan`` results keyed by content (scan version, parser versions,
language, git blob id).

An unchanged file is scanned once across runs, refs and renames. Safe for several processes: sqlite in WAL
mode.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Iterator, Protocol, Sequence

from repo_auditor.architecture.tree import SourceFile, SourceTree
from repo_auditor.errors import RepoAuditorError, ToolError
from repo_auditor.parsing.imports import SCAN_VERSION, SCANNED_LANGUAGES, FileScan, scan_batch
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
    repo: SourceTree, included: list[SourceFile], notes: list[str], cache_path: Path | None
) -> dict[str, tuple[str, FileScan]]:
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
        for batch in scan_missing(repo, list(missing.items()), notes):
            cache.put_many(batch)
            known.update(batch)
    finally:
        cache.close()
    return {e.path: (e.language, known[keys[e.path]]) for e in wanted if keys[e.path] in known}


def read_source(repo: SourceTree, entry: SourceFile, notes: list[str]) -> bytes | None:
    try:
        return repo.read_bytes(entry.path)
    except (RepoAuditorError, OSError) as exc:  # the work tree changed since it was listed
        notes.append(f"{entry.path}: unreadable, imports not scanned ({exc})")
        return None


def scan_missing(
    repo: SourceTree, missing: list[tuple[str, SourceFile]], notes: list[str]
) -> Iterator[list[tuple[str, FileScan]]]:
    """Scan in this process, or in a process pool when there is enough to do; yields batches to cache."""
    batches = [missing[i : i + POOL_BATCH_FILES] for i in range(0, len(missing), POOL_BATCH_FILES)]
    workers = min(MAX_WORKERS, cpu_count(), len(batches))
    if workers < 2 or sum(entry.size for _, entry in missing) < POOL_MIN_BYTES:
        for batch in batches:
            jobs = [
                (key, e.language, source)
                for key, e in batch
                if (source := read_source(repo, e, notes)) is not None
            ]
            yield scan_batch(jobs)
        return
    jobs = (
        [(key, e.language, source) for key, e in batch if (source := read_source(repo, e, notes)) is not None]
        for batch in batches
    )
    for reply in run_pool("imports", jobs, workers):
        yield [(key, FileScan.from_json(data)) for key, data in reply]


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def find_symbols(
    repo: SourceTree,
    symbols: SymbolFinder | None,
    cache_path: Path | None,
    included: list[SourceFile],
    some_excluded: bool,
) -> list[SymbolLike]:
    """Every definition in the analysed files. When some files are vendored or generated, only the top-level
    folders (and top-level files) holding analysed files are indexed, so a vendored tree is not parsed."""
    owned = symbols is None
    if symbols is None:
        from repo_auditor.tools.symbol_index import SymbolIndex

        symbols = SymbolIndex(repo, cache_path)
    try:
        if some_excluded:
            try:
                return symbols_in_scope(symbols, included)
            except ToolError:
                pass  # a folder name the index reads differently (a backslash in it): index everything
        return list(symbols.find())
    finally:
        if owned:
            symbols.close()


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
