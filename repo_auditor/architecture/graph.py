"""Imports -> edges between components, and the cycles among them.

How an import finds its target (anything else is external and makes no edge):

* python: absolute names and relative ``from . import`` against the modules of the tree; module names are
  relative to each Python project's source folder (``src/`` or the build file's folder) and to the repository
  root. ``from a import b`` goes to module ``a.b`` when it exists, else to ``a``; otherwise the longest known
  prefix is used.
* javascript / typescript: relative specifiers against the files (``.ts``, ``.js``, ... and ``index.*`` tried,
  and a ``.js`` specifier also finds its ``.ts`` source); bare specifiers against the ``name`` of the
  repository's own package.json files (``@scope/pkg/sub`` -> ``@scope/pkg``).
* go: import paths under a ``go.mod`` module path, to the package folder.
* rust: a ``use``, ``extern crate`` or path whose first segment names a crate of the repository (``-`` read as
  ``_``); in a crate split into modules, ``crate::`` / ``super::`` / ``self::`` paths reach its modules
  (``architecture.rust``).
* java: the longest prefix of the imported name that some file of the tree declares as its ``package``.

An edge is ``test_only`` when every import behind it comes from test code (``is_test_path``; in Go only
``_test.go`` files, as ``go build`` reads them), a Rust
``benches/`` or ``examples/`` folder, ``#[cfg(test)]`` code or a module declared so, or names a crate its
Cargo.toml lists only under ``[dev-dependencies]``.
Go files under a ``//go:build ignore`` constraint yield no imports at all (``parsing.imports``). Cycles are
computed on the other (production) edges only: a cycle through test code is not one the language would build.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass

from repo_auditor.architecture import rust
from repo_auditor.architecture.components import Layout
from repo_auditor.architecture.model import Cycle, Edge
from repo_auditor.architecture.tree import is_test_path, join
from repo_auditor.parsing.imports import FileScan, Import

_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_JS_RUNTIME_EXTENSIONS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


# Rust folders of code that is no part of a crate's library or binaries (cargo builds them with dev-dependencies).
_RUST_NON_PRODUCT_DIRS = frozenset({"benches", "examples"})


@dataclass
class _Counter:
    count: int
    example_path: str
    example_line: int
    production: int = 0  # imports from product code


class Resolver:
    """Resolves the imports of one tree to components."""

    def __init__(
        self, layout: Layout, paths: list[str], owners: dict[str, str], scans: dict[str, tuple[str, FileScan]]
    ):
        self.layout = layout
        self.paths = set(paths)
        self.owners = owners
        self.python_modules: dict[str, str] = {}
        for path in sorted(paths):
            if path.endswith((".py", ".pyi")):
                self.python_modules.setdefault(self.python_module(path), path)
        self.go_dirs = {posixpath.dirname(p) for p in paths if p.endswith(".go")}
        self.java_packages: dict[str, str] = {}
        for path in sorted(scans):
            language, scan = scans[path]
            if language == "java" and scan.package:
                self.java_packages.setdefault(scan.package, owners[path])

    def python_module(self, path: str) -> str:
        stem = posixpath.splitext(path)[0]
        for root in self.layout.python_roots:
            if not root or stem.startswith(root + "/"):
                rel = stem[len(root) + 1 :] if root else stem
                break
        parts = rel.split("/")
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def targets(self, path: str, language: str, imp: Import) -> set[str]:
        """Component names one import statement of ``path`` reaches (its own component included)."""
        if language == "python":
            return {self.owners[p] for p in self._python(path, imp)}
        if language in ("javascript", "typescript", "tsx"):
            return self._javascript(path, imp.spec)
        if language == "go":
            return self._go(imp.spec)
        if language == "rust":
            return rust.targets(self.layout, path, imp)
        if language == "java":
            parts = imp.spec.removesuffix(".*").split(".")
            for end in range(len(parts), 0, -1):
                found = self.java_packages.get(".".join(parts[:end]))
                if found:
                    return {found}
        return set()

    def _python(self, path: str, imp: Import) -> list[str]:
        spec = imp.spec
        if spec.startswith("."):
            level = len(spec) - len(spec.lstrip("."))
            module = self.python_module(path)
            package = (
                module
                if posixpath.basename(path) in ("__init__.py", "__init__.pyi")
                else module.rpartition(".")[0]
            )
            parts = package.split(".") if package else []
            if level - 1 >= len(parts):  # above the top package: Python refuses it too
                return []
            base = parts[: len(parts) - (level - 1)]
            rest = spec[level:]
            full = ".".join([*base, rest] if rest else base)
        else:
            full = spec
        found = []
        unmatched = not imp.names
        for name in imp.names:
            submodule = f"{full}.{name}" if full else name
            if name != "*" and submodule in self.python_modules:
                found.append(self.python_modules[submodule])
            else:
                unmatched = True
        if unmatched and full:
            parts = full.split(".")
            for end in range(len(parts), 0, -1):
                target = self.python_modules.get(".".join(parts[:end]))
                if target:
                    found.append(target)
                    break
        return found

    def _javascript(self, path: str, spec: str) -> set[str]:
        if spec.startswith(("./", "../")) or spec in (".", ".."):
            base = join(posixpath.dirname(path), spec)
            if base.startswith(".."):
                return set()
            target = self._js_file(base)
            return {self.owners[target]} if target else set()
        parts = spec.split("/")
        name = "/".join(parts[:2]) if spec.startswith("@") else parts[0]
        found = self.layout.npm_packages.get(name)
        return {found} if found else set()

    def _js_file(self, base: str) -> str | None:
        stem, ext = posixpath.splitext(base)
        candidates = [
            base,
            *(base + e for e in _JS_EXTENSIONS),
            *(f"{base}/index{e}" for e in _JS_EXTENSIONS),
        ]
        candidates += [stem + e for e in _JS_RUNTIME_EXTENSIONS.get(ext, ())]
        return next((c for c in candidates if c in self.paths), None)

    def _go(self, spec: str) -> set[str]:
        best = None
        for folder, module in self.layout.go_modules.items():
            if (spec == module or spec.startswith(module + "/")) and (
                best is None or len(module) > len(best[1])
            ):
                best = (folder, module)
        if best is None:
            return set()
        folder, module = best
        target_dir = join(folder, spec[len(module) + 1 :]) if spec != module else folder
        if target_dir not in self.go_dirs:
            return set()
        owner = self.layout.owner_of_dir(target_dir)
        return {owner} if owner else set()


def build_edges(resolver: Resolver, scans: dict[str, tuple[str, FileScan]]) -> list[Edge]:
    """Edges between different components, sorted by source then target; ``in_cycle`` is filled by
    ``find_cycles``."""
    counters: dict[tuple[str, str], _Counter] = {}
    rust_test_files, rust_test_folders = rust.test_module_files(scans)
    for path in sorted(scans):
        language, scan = scans[path]
        source = resolver.owners[path]
        if language == "go":  # only _test.go files are test code; a package folder may be named "tests"
            test_file = path.endswith("_test.go")
        else:
            test_file = is_test_path(path) or (
                language == "rust"
                and (
                    any(part in _RUST_NON_PRODUCT_DIRS for part in path.split("/")[:-1])
                    or path in rust_test_files
                    or path.startswith(rust_test_folders)
                )
            )
        dev_crates = resolver.layout.dev_crates.get(source, frozenset())
        for imp in scan.imports:
            for target in sorted(resolver.targets(path, language, imp)):
                if target == source:
                    continue
                counter = counters.get((source, target))
                if counter is None:
                    counter = counters[(source, target)] = _Counter(0, path, imp.line)
                counter.count += 1
                if not (test_file or imp.test) and not (
                    language == "rust" and imp.spec.replace("-", "_") in dev_crates
                ):
                    if not counter.production:  # the example is a production import when there is one
                        counter.example_path, counter.example_line = path, imp.line
                    counter.production += 1
    return [
        Edge(s, t, c.count, c.example_path, c.example_line, test_only=not c.production)
        for (s, t), c in sorted(counters.items())
    ]


def find_cycles(nodes: list[str], edges: list[Edge]) -> tuple[list[Cycle], list[Edge]]:
    """Strongly connected components of more than one node among the production edges (``test_only`` ones are
    left out), each with one ordered cycle through its smallest name; and the edges again with ``in_cycle``
    set."""
    successors: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        if not edge.test_only:
            successors[edge.source].append(edge.target)
    component_of: dict[str, int] = {}
    groups = _strongly_connected(sorted(set(nodes) | set(successors)), successors)
    cycles = []
    for index, group in enumerate(groups):
        for node in group:
            component_of[node] = index
        if len(group) > 1:
            members = sorted(group)
            cycles.append(Cycle(members, _shortest_cycle(members[0], set(group), successors)))
    cycles.sort(key=lambda c: c.components)
    marked = [
        Edge(
            e.source,
            e.target,
            e.count,
            e.example_path,
            e.example_line,
            in_cycle=not e.test_only and component_of[e.source] == component_of[e.target],
            test_only=e.test_only,
        )
        for e in edges
    ]
    return cycles, marked


def _strongly_connected(nodes: list[str], successors: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a deep import chain must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(successors.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def _shortest_cycle(start: str, group: set[str], successors: dict[str, list[str]]) -> list[str]:
    """Breadth-first search inside ``group`` from ``start`` back to ``start``; neighbours in name order."""
    previous: dict[str, str] = {}
    frontier = [start]
    seen = {start}
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(successors.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                if child in group and child not in seen:
                    seen.add(child)
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start]
