"""A loaded repository -> its ``Inventory``: languages, components, import graph, entry points, dependencies,
tests, hotspots, largest files and functions. Deterministic: no model is involved.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

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
from repo_auditor.architecture.scan import SymbolFinder, SymbolLike, find_symbols, scan_sources
from repo_auditor.architecture.tree import (
    SourceFile,
    SourceTree,
    in_fixture_dir,
    is_code,
    is_excluded,
    is_test_path,
)
from repo_auditor.errors import ConfigurationError, RepoAuditorError
from repo_auditor.parsing.imports import FileScan

# Larger windows make git log slow on big histories and say little about current hotspots.
MAX_SINCE_DAYS = 36_500

_RUST_MAIN_PATH = re.compile(r"(^|/)src/(main\.rs|bin/[^/]+\.rs|bin/[^/]+/main\.rs)$")


def build_inventory(
    repo: SourceTree,
    *,
    since_days: int = 90,
    top_n: int = 12,
    symbols: SymbolFinder | None = None,
    cache_path: str | Path | None = None,
    timings: dict[str, float] | None = None,
) -> Inventory:
    """Analyse ``repo`` (a ``repository.Repository``) and return its ``Inventory``.

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

    scans = scan_sources(repo, included, notes, cache_path)
    clock.lap("imports")
    resolver = graph.Resolver(layout, paths, owners, scans)
    edges = graph.build_edges(resolver, scans)
    cycles, edges = graph.find_cycles(sorted(layout.components), edges)
    clock.lap("graph")

    symbol_rows = find_symbols(repo, symbols, cache_path, included, len(included) < len(entries))
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
