"""A loaded repository -> its ``Inventory``: languages, components, import graph, entry points, dependencies,
tests, hotspots, largest files and functions. Deterministic: no model is involved.
"""

from __future__ import annotations

import os
import posixpath
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterator, Protocol, Sequence

from repo_auditor.architecture import graph, history
from repo_auditor.architecture.components import Layout, detect
from repo_auditor.architecture.manifests import (
    MAX_MANIFEST_BYTES,
    Manifest,
    ManifestError,
    is_manifest,
    parse_manifest,
)
from repo_auditor.architecture.model import (
    Component,
    Dependency,
    EntryPoint,
    HistoryInfo,
    Hotspot,
    Inventory,
    LanguageStats,
    LargeFile,
    LargeFunction,
    TestRatio,
)
from repo_auditor.architecture.scan import SCAN_VERSION, SCANNED_LANGUAGES, FileScan, scan_batch
from repo_auditor.architecture.tree import (
    SourceFile,
    SourceTree,
    in_fixture_dir,
    is_code,
    is_excluded,
    is_test_path,
)
from repo_auditor.errors import ConfigurationError, RepoAuditorError, ToolError
from repo_auditor.languages import PARSED_LANGUAGES
from repo_auditor.parse_worker import run_pool

# Files with these loader flags are not scanned for imports (too big to matter, or not a file of this tree).
SKIP_SCAN_FLAGS = frozenset({"large", "symlink"})
# Never scan more than this many bytes of one file (the loader flags bigger files "large" anyway).
MAX_SCAN_BYTES = 1_000_000
# Scanning runs in a process pool only when this much uncached source waits (starting workers costs ~0.3 s).
POOL_MIN_BYTES = 4_000_000
MAX_WORKERS = 8
# Files per batch handed to a worker process (sources are read just before their batch is sent).
POOL_BATCH_FILES = 64
# Larger windows make git log slow on big histories and say little about current hotspots.
MAX_SINCE_DAYS = 36_500

_RUST_MAIN_PATH = re.compile(r"(^|/)src/(main\.rs|bin/[^/]+\.rs|bin/[^/]+/main\.rs)$")


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


def build_inventory(
    repo: SourceTree,
    *,
    since_days: int = 90,
    top_n: int = 12,
    symbols: SymbolFinder | None = None,
    cache_path: str | Path | None = None,
    timings: dict[str, float] | None = None,
) -> Inventory:
    """Analyse ``repo`` (a ``loader.Repository``) and return its ``Inventory``.

    ``since_days``: the history window for hotspots, ending at the analysed commit's date. ``top_n``: how many
    hotspots, largest files and largest functions to keep. ``symbols``: the symbol index to count definitions
    with (default ``SymbolIndex(repo, cache_path)``). ``cache_path``: the folder of the on-disk caches
    (default: the user cache). ``timings``: when given, filled with seconds per phase (components, imports,
    graph, symbols, history, figures). Raises ``ConfigurationError`` for a bad ``since_days`` / ``top_n``.
    """
    if (
        isinstance(since_days, bool)
        or not isinstance(since_days, int)
        or not 1 <= since_days <= MAX_SINCE_DAYS
    ):
        raise ConfigurationError(
            f"since_days must be a whole number of days from 1 to {MAX_SINCE_DAYS}, got {since_days!r}"
        )
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ConfigurationError(f"top_n must be a whole number of at least 1, got {top_n!r}")
    clock = _PhaseClock(timings)
    cache_path = Path(cache_path) if cache_path is not None else None
    notes: list[str] = []
    entries = list(repo.files)
    included = [e for e in entries if not is_excluded(e)]
    paths = [e.path for e in included]

    manifests = _read_manifests(repo, included, notes)
    layout = detect(paths, manifests)
    owners = {e.path: layout.owner(e.path) for e in included}
    _fill_sizes(layout, included, owners)
    clock.lap("components")

    scans = _scan(repo, included, notes, cache_path)
    clock.lap("imports")
    resolver = graph.Resolver(layout, paths, owners, scans)
    edges = graph.build_edges(resolver, scans)
    cycles, edges = graph.find_cycles(sorted(layout.components), edges)
    clock.lap("graph")

    symbol_rows = _symbols(repo, symbols, cache_path, included, len(included) < len(entries))
    symbol_rows = [s for s in symbol_rows if s.path in owners]
    for count_path, count in Counter(s.path for s in symbol_rows).items():
        layout.components[owners[count_path]].symbols += count
    clock.lap("symbols")

    history_info, hotspots = _history(repo, since_days, top_n, included, owners, layout, notes)
    clock.lap("history")
    components = sorted(layout.components.values(), key=lambda c: c.name)
    component_names = {c.name for c in components}
    tests = _test_ratio(included)
    excluded = [e for e in entries if is_excluded(e)]
    inventory = Inventory(
        repository=repo.root.name,
        ref=repo.ref,
        commit=repo.commit,
        files=len(included),
        lines=sum(e.lines for e in included),
        excluded_files=len(excluded),
        excluded_lines=sum(e.lines for e in excluded),
        languages=_languages(entries),
        components=components,
        edges=edges,
        cycles=cycles,
        entry_points=_entry_points(manifests, scans, resolver, owners),
        dependencies=_dependencies(manifests, layout, component_names),
        tests=tests,
        history=history_info,
        hotspots=hotspots,
        largest_files=_largest_files(included, owners, top_n),
        largest_functions=_largest_functions(symbol_rows, owners, top_n),
        notes=notes,
    )
    clock.lap("figures")
    return inventory


class _PhaseClock:
    """Adds the seconds since the previous lap to ``timings[phase]`` (when timings are wanted)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[phase] = self.timings.get(phase, 0.0) + now - self.last
        self.last = now


# ---------------------------------------------------------------- figures


def _languages(entries: list[SourceFile]) -> list[LanguageStats]:
    figures: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in entries:
        if entry.language is None:
            continue
        slot = figures[entry.language]
        offset = 2 if is_excluded(entry) else 0
        slot[offset] += 1
        slot[offset + 1] += entry.lines
    stats = [LanguageStats(language, *values) for language, values in figures.items()]
    return sorted(stats, key=lambda s: (-s.lines, -s.files, s.language))


def _fill_sizes(layout: Layout, included: list[SourceFile], owners: dict[str, str]) -> None:
    language_lines: dict[str, Counter] = defaultdict(Counter)
    for entry in included:
        component = layout.components[owners[entry.path]]
        component.files += 1
        component.lines += entry.lines
        if is_code(entry):
            language_lines[component.name][entry.language] += entry.lines
            if is_test_path(entry.path):
                component.test_files += 1
                component.test_lines += entry.lines
            else:
                component.code_files += 1
                component.code_lines += entry.lines
    for name, counter in language_lines.items():
        layout.components[name].languages = [
            lang for lang, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        ]


def _test_ratio(included: list[SourceFile]) -> TestRatio:
    code = [e for e in included if is_code(e)]
    tests = [e for e in code if is_test_path(e.path)]
    code_lines = sum(e.lines for e in code) - sum(e.lines for e in tests)
    test_lines = sum(e.lines for e in tests)
    return TestRatio(
        len(tests),
        test_lines,
        len(code) - len(tests),
        code_lines,
        round(test_lines / code_lines, 4) if code_lines else None,
    )


def _largest_files(included: list[SourceFile], owners: dict[str, str], top_n: int) -> list[LargeFile]:
    code = sorted((e for e in included if is_code(e)), key=lambda e: (-e.lines, e.path))[:top_n]
    return [LargeFile(e.path, owners[e.path], e.language, e.lines) for e in code]


def _largest_functions(rows: list[SymbolLike], owners: dict[str, str], top_n: int) -> list[LargeFunction]:
    functions = [s for s in rows if s.kind in ("function", "method")]
    functions.sort(key=lambda s: (-(s.end_line - s.start_line + 1), s.path, s.start_line))
    return [
        LargeFunction(
            s.path,
            owners[s.path],
            s.qualified_name,
            s.kind,
            s.start_line,
            s.end_line,
            s.end_line - s.start_line + 1,
        )
        for s in functions[:top_n]
    ]


# ---------------------------------------------------------------- reading the tree


def _read_text(repo: SourceTree, path: str) -> str:
    return repo.read_bytes(path).decode("utf-8", "replace")


def _read_manifests(repo: SourceTree, included: list[SourceFile], notes: list[str]) -> list[Manifest]:
    manifests = []
    in_fixtures = 0
    for entry in included:
        if not is_manifest(entry.path) or entry.binary or "symlink" in entry.flags:
            continue
        if in_fixture_dir(entry.path):
            in_fixtures += 1
            continue
        if entry.size > MAX_MANIFEST_BYTES:
            notes.append(f"{entry.path}: build file over {MAX_MANIFEST_BYTES} bytes, not read")
            continue
        try:
            manifests.append(parse_manifest(entry.path, _read_text(repo, entry.path)))
        except ManifestError as exc:
            notes.append(f"build file not understood, ignored: {exc}")
        except (RepoAuditorError, OSError) as exc:
            notes.append(f"{entry.path}: unreadable ({exc})")
    if in_fixtures:
        notes.append(
            f"{in_fixtures} build files inside test or fixture folders ignored (they describe samples)"
        )
    return manifests


def _scan_key(version: str, entry: SourceFile) -> str:
    return f"scan{SCAN_VERSION};{version}|{entry.language}|{entry.blob_id}"


def _scan(
    repo: SourceTree, included: list[SourceFile], notes: list[str], cache_path: Path | None
) -> dict[str, tuple[str, FileScan]]:
    from repo_auditor.architecture.scan_cache import ScanCache
    from repo_auditor.cache import cache_dir
    from repo_auditor.tools._symbol_grammar import parser_version

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
        keys = {e.path: _scan_key(version, e) for e in wanted}
        known = cache.get_many(set(keys.values()))
        missing: dict[str, SourceFile] = {}
        for entry in wanted:
            if keys[entry.path] not in known:
                missing.setdefault(keys[entry.path], entry)  # one scan per distinct blob
        for batch in _scan_missing(repo, list(missing.items()), notes):
            cache.put_many(batch)
            known.update(batch)
    finally:
        cache.close()
    return {e.path: (e.language, known[keys[e.path]]) for e in wanted if keys[e.path] in known}


def _read_source(repo: SourceTree, entry: SourceFile, notes: list[str]) -> bytes | None:
    try:
        return repo.read_bytes(entry.path)
    except (RepoAuditorError, OSError) as exc:  # the work tree changed since it was listed
        notes.append(f"{entry.path}: unreadable, imports not scanned ({exc})")
        return None


def _scan_missing(
    repo: SourceTree, missing: list[tuple[str, SourceFile]], notes: list[str]
) -> Iterator[list[tuple[str, FileScan]]]:
    """Scan in this process, or in a process pool when there is enough to do; yields batches to cache."""
    batches = [missing[i : i + POOL_BATCH_FILES] for i in range(0, len(missing), POOL_BATCH_FILES)]
    workers = min(MAX_WORKERS, _cpu_count(), len(batches))
    if workers < 2 or sum(entry.size for _, entry in missing) < POOL_MIN_BYTES:
        for batch in batches:
            jobs = [
                (key, e.language, source)
                for key, e in batch
                if (source := _read_source(repo, e, notes)) is not None
            ]
            yield scan_batch(jobs)
        return
    jobs = (
        [(key, e.language, source) for key, e in batch if (source := _read_source(repo, e, notes)) is not None]
        for batch in batches
    )
    for reply in run_pool("imports", jobs, workers):
        yield [(key, FileScan.from_json(data)) for key, data in reply]


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _symbols(
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
                return _symbols_in_scope(symbols, included)
            except ToolError:
                pass  # a folder name the index reads differently (a backslash in it): index everything
        return list(symbols.find())
    finally:
        if owned:
            symbols.close()


def _symbols_in_scope(symbols: SymbolFinder, included: list[SourceFile]) -> list[SymbolLike]:
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


def _entry_points(
    manifests: list[Manifest],
    scans: dict[str, tuple[str, FileScan]],
    resolver: graph.Resolver,
    owners: dict[str, str],
) -> list[EntryPoint]:
    found = []
    for manifest in manifests:
        for entry in manifest.entry_points:
            target_file = _declared_target_file(entry, resolver)
            found.append(
                EntryPoint(
                    entry.kind,
                    entry.name,
                    entry.path,
                    entry.line,
                    entry.target,
                    owners.get(target_file or "") or owners.get(entry.path),
                )
            )
    for path, (language, scan) in scans.items():
        for line in scan.entries:
            if line.kind == "rust-main" and not _RUST_MAIN_PATH.search(path):
                continue
            name = line.name
            if line.kind == "python-main":
                name = resolver.python_module(path)
            elif line.kind == "go-main":
                name = owners[path]
            elif line.kind == "rust-main":
                stem = posixpath.splitext(posixpath.basename(path))[0]
                name = (
                    owners[path]
                    if path.endswith("src/main.rs")
                    else (stem if stem != "main" else posixpath.basename(posixpath.dirname(path)))
                )
            elif line.kind == "java-main":
                name = posixpath.splitext(posixpath.basename(path))[0]
            found.append(EntryPoint(line.kind, name, path, line.line, None, owners[path]))
    return sorted(found, key=lambda e: (e.path, e.line, e.kind, e.name))


def _declared_target_file(entry: EntryPoint, resolver: graph.Resolver) -> str | None:
    """The file a declared entry point runs: ``pkg.mod:func`` -> ``pkg/mod.py``; a bin path as is."""
    if entry.target is None:
        return None
    if entry.kind in ("console-script", "gui-script"):
        return resolver.python_modules.get(entry.target.partition(":")[0].strip())
    return entry.target


def _dependencies(manifests: list[Manifest], layout: Layout, component_names: set[str]) -> list[Dependency]:
    internal = {n.lower() for n in component_names} | {n.lower() for n in layout.crates}
    by_manifest: dict[str, list[Component]] = defaultdict(list)
    for component in layout.components.values():
        if component.manifest:
            by_manifest[component.manifest].append(component)
    found = []
    for manifest in manifests:
        owners = sorted(by_manifest.get(manifest.path, ()), key=lambda c: (c.root.count("/"), c.root))
        owner = owners[0].name if owners else None
        for dep in manifest.dependencies:
            short = dep.name.rsplit(":", 1)[-1].lower()
            if short in internal or short.replace("-", "_") in internal:
                continue  # a component of this repository
            found.append(Dependency(dep.ecosystem, dep.name, dep.spec, dep.manifest, owner, dep.dev))
    return sorted(found, key=lambda d: (d.ecosystem, d.name.lower(), d.manifest))


# ---------------------------------------------------------------- history


def _history(
    repo: SourceTree,
    since_days: int,
    top_n: int,
    included: list[SourceFile],
    owners: dict[str, str],
    layout: Layout,
    notes: list[str],
) -> tuple[HistoryInfo, list[Hotspot]]:
    if not repo.is_git or not repo.commit:
        notes.append("no git history (not a git repository, or no commit yet): hotspots and churn are empty")
        return HistoryInfo(available=False, since_days=since_days), []
    try:
        churn = history.read_churn(repo.root, repo.commit, since_days)
    except history.HistoryUnavailable as exc:
        notes.append(f"history unavailable: {exc}")
        return HistoryInfo(available=False, since_days=since_days), []
    lines = {e.path: e.lines for e in included}
    hotspots = []
    component_commits: dict[str, set[str]] = defaultdict(set)
    for path, file_churn in churn.files.items():
        if path not in lines:
            continue  # deleted since, or vendored / generated
        owner = owners[path]
        component_commits[owner] |= file_churn.commits
        layout.components[owner].churn_lines += file_churn.lines_changed
        commits = len(file_churn.commits)
        hotspots.append(
            Hotspot(
                path,
                owner,
                commits,
                file_churn.lines_changed,
                len(file_churn.authors),
                lines[path],
                commits * lines[path],
            )
        )
    for owner, commits in component_commits.items():
        layout.components[owner].churn_commits = len(commits)
    hotspots.sort(key=lambda h: (-h.score, -h.lines_changed, h.path))
    info = HistoryInfo(
        True,
        since_days,
        churn.window_start.date().isoformat(),
        churn.window_end.date().isoformat(),
        churn.commits,
    )
    return info, hotspots[:top_n]
