"""One source file -> its imports, its package declaration and its entry-point lines. Pure: bytes in, data
out.

Imports come from tree-sitter (so strings and comments that look like imports are ignored):

* python: ``import a.b`` -> ``("a.b", ())``; ``from ..x import y, z`` -> ``("..x", ("y", "z"))``
* javascript / typescript / tsx: ``import ... from "s"``, ``export ... from "s"``, ``require("s")``,
  ``import("s")``
* go: every import path; java: ``import a.b.C`` (``a.b.*`` -> ``"a.b.*"``; static imports keep the member)
* rust: ``use`` trees, ``extern crate x`` and ``crate::`` / ``super::`` / ``self::`` paths in code, as the first
  segment with the rest of each path in ``names`` (``use crate::{ast, hir::Hir}`` -> ``("crate", ("ast",
  "hir::Hir"))``), also inside macro invocations; imports in ``#[cfg(test)]`` code are ``test``, and the modules
  declared ``#[cfg(test)] mod x;`` are the file's ``test_modules`` (``parsing.rust_paths``)

A Go file whose build constraint is ``ignore`` (``//go:build ignore``, ``// +build ignore``: a generator or an
example run with ``go run``) yields nothing: no package, no imports, no entry point.

Entry points (main functions, server start calls) are matched per line with the patterns in
``_ENTRY_PATTERNS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from tree_sitter import Node, Parser, Query, QueryCursor, Tree

from repo_auditor.parsing.definitions import Definition, parse_tree, tree_definitions
from repo_auditor.parsing import rust_paths
from repo_auditor.parsing.grammars import load_language
from repo_auditor.repository.languages import source_language

# Bump when what a file yields changes; it is part of the cache key.
SCAN_VERSION = "3"

SCANNED_LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx", "go", "rust", "java"})

# An import specifier longer than this is not a real one (minified or hostile code); it is dropped.
MAX_SPEC_CHARS = 300

_JS_QUERY = """
(import_statement source: (string) @spec)
(export_statement source: (string) @spec)
(call_expression function: (identifier) @fn arguments: (arguments . (string) @spec) (#eq? @fn "require"))
(call_expression function: (import) arguments: (arguments . (string) @spec))
"""

_QUERIES = {
    "python": "(import_statement) @import (import_from_statement) @from",
    "javascript": _JS_QUERY,
    "typescript": _JS_QUERY,
    "tsx": _JS_QUERY,
    "go": "(import_spec path: (_) @spec) (package_clause (package_identifier) @package)",
    "rust": rust_paths.QUERY,
    "java": "(import_declaration) @import (package_declaration) @package",
}


@dataclass(frozen=True)
class Import:
    """One import statement: the module specifier as written, the names it takes (Python ``from``; the rest of
    each path in Rust), its line, and whether only a test build compiles it (Rust ``#[cfg(test)]``)."""

    spec: str
    line: int
    names: tuple[str, ...] = ()
    test: bool = False


@dataclass(frozen=True)
class EntryLine:
    """A line that starts the program: a main function or a server start call."""

    kind: str
    name: str
    line: int


@dataclass
class FileScan:
    """What one file says about the architecture."""

    imports: list[Import] = field(default_factory=list)
    package: str | None = None  # Java ``package a.b``; Go ``package main``
    entries: list[EntryLine] = field(default_factory=list)
    test_modules: list[str] = field(
        default_factory=list
    )  # Rust ``#[cfg(test)] mod x;``: x's file is test code

    def to_json(self) -> list:
        return [
            [[i.spec, i.line, list(i.names), *([1] if i.test else [])] for i in self.imports],
            self.package,
            [[e.kind, e.name, e.line] for e in self.entries],
            self.test_modules,
        ]

    @classmethod
    def from_json(cls, data: list) -> FileScan:
        imports, package, entries, test_modules = data
        return cls(
            [Import(s, n, tuple(names), bool(test)) for s, n, names, *test in imports],
            package,
            [EntryLine(k, name, n) for k, name, n in entries],
            list(test_modules),
        )


@dataclass(frozen=True)
class _Grammar:
    parser: Parser
    query: Query


@lru_cache(maxsize=None)
def _grammar(language: str) -> _Grammar:
    ts_language = load_language(language)
    return _Grammar(Parser(ts_language), Query(ts_language, _QUERIES[language]))


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _string_content(node: Node) -> str:
    text = _text(node)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`" else text


def scan_with_definitions(language: str, source: bytes) -> tuple[FileScan, list[Definition]]:
    """``scan_source`` and ``parse_definitions`` of one ``SCANNED_LANGUAGES`` file from one parse."""
    grammar_name = source_language(language, source)
    tree = parse_tree(grammar_name, source)
    return scan_source(language, source, tree), tree_definitions(grammar_name, tree)


def scan_source(language: str, source: bytes, tree: Tree | None = None) -> FileScan:
    """Imports, package and entry lines of one file in a ``SCANNED_LANGUAGES`` language. ``tree``: its syntax
    tree when already parsed (``scan_with_definitions``)."""
    if language == "go" and _go_ignored(source):
        return FileScan()
    grammar = _grammar(source_language(language, source))
    if tree is None:
        tree = grammar.parser.parse(source)
    # Rust is read by ``rust_paths``, which runs the query itself (again on each macro body).
    captures = QueryCursor(grammar.query).captures(tree.root_node) if language != "rust" else {}
    scan = FileScan()
    if language == "python":
        _python(captures, scan)
    elif language in ("javascript", "typescript", "tsx"):
        for node in captures.get("spec", ()):
            _add(scan, _string_content(node), node)
    elif language == "go":
        for node in captures.get("spec", ()):
            _add(scan, _string_content(node), node)
        packages = captures.get("package", ())
        scan.package = _text(packages[0]) if packages else None
    elif language == "rust":
        found = rust_paths.rust_paths(tree.root_node, grammar.parser, grammar.query)
        for spec, line, names, test in found.imports:
            if spec and len(spec) <= MAX_SPEC_CHARS and all(len(n) <= MAX_SPEC_CHARS for n in names):
                scan.imports.append(Import(spec, line, names, test))
        scan.test_modules = found.test_modules
    elif language == "java":
        for node in captures.get("import", ()):
            names = [c for c in node.named_children if c.type in ("scoped_identifier", "identifier")]
            if names:
                wildcard = any(c.type == "asterisk" for c in node.named_children)
                _add(scan, _text(names[0]) + (".*" if wildcard else ""), node)
        for node in captures.get("package", ()):
            names = [c for c in node.named_children if c.type in ("scoped_identifier", "identifier")]
            scan.package = _text(names[0]) if names else None
    scan.imports.sort(key=lambda i: (i.line, i.spec))
    scan.entries = entry_lines(language, source, scan.package)
    return scan


# Build constraints sit in line comments before the package clause.
_GO_CONSTRAINT = re.compile(rb"^//\s*(?:go:build|\+build)\s+(.*?)\s*$", re.M)
_GO_PACKAGE = re.compile(rb"^package\s", re.M)


def _go_ignored(source: bytes) -> bool:
    """True when the file's build constraint requires the ``ignore`` tag, which no build sets."""
    package = _GO_PACKAGE.search(source)
    header = source[: package.start()] if package else source
    for match in _GO_CONSTRAINT.finditer(header):
        # ``a && b`` (go:build) and ``a,b`` (+build) are conjunctions; ``||`` and spaces (+build) are not
        expression = re.sub(r"\s*&&\s*", "&&", match.group(1).decode("utf-8", "replace").replace(",", "&&"))
        if "||" not in expression and " " not in expression and "ignore" in expression.split("&&"):
            return True
    return False


def _add(scan: FileScan, spec: str, node: Node, names: tuple[str, ...] = ()) -> None:
    if spec and len(spec) <= MAX_SPEC_CHARS and "\n" not in spec:
        scan.imports.append(Import(spec, node.start_point.row + 1, names))


def _python(captures: dict[str, list[Node]], scan: FileScan) -> None:
    for node in captures.get("import", ()):
        for child in node.children_by_field_name("name"):
            target = child.child_by_field_name("name") if child.type == "aliased_import" else child
            _add(scan, _text(target), node)
    for node in captures.get("from", ()):
        module = node.child_by_field_name("module_name")
        names = []
        for child in node.children_by_field_name("name"):
            target = child.child_by_field_name("name") if child.type == "aliased_import" else child
            names.append(_text(target))
        _add(scan, "".join(_text(module).split()), node, tuple(names))


# ---------------------------------------------------------------- entry points

_ENTRY_PATTERNS: dict[str, list[tuple[str, str]]] = {
    "python": [
        ("python-main", r"""^if\s+(?:__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__)"""),
        (
            "server",
            r"""\b(uvicorn\.run|app\.run|application\.run|web\.run_app|waitress\.serve|serve_forever)\s*\(""",
        ),
    ],
    "go": [
        ("go-main", r"^func\s+main\s*\(\s*\)"),
        ("server", r"\b(http\.ListenAndServe(?:TLS)?|http\.Serve|\w+\.ListenAndServe(?:TLS)?)\s*\("),
    ],
    "rust": [
        ("rust-main", r"^[ \t]*(?:pub\s+)?(?:async\s+)?fn\s+main\s*\("),
        ("server", r"\b(HttpServer::new|axum::serve|warp::serve|hyper::Server::bind)\s*\("),
    ],
    "java": [
        ("java-main", r"\b(?:public\s+static|static\s+public)\s+void\s+main\s*\("),
        ("server", r"\b(SpringApplication\.run)\s*\("),
    ],
    "javascript": [
        ("server", r"\b((?:app|server|httpServer|fastify)\.listen|Bun\.serve|Deno\.serve)\s*\("),
    ],
}
_ENTRY_PATTERNS["typescript"] = _ENTRY_PATTERNS["tsx"] = _ENTRY_PATTERNS["javascript"]

# One alternation per language, searched over the whole text at once (far faster than line by line).
_ENTRY_REGEX = {
    language: re.compile(
        "|".join(f"(?P<{kind.replace('-', '_')}>{pattern})" for kind, pattern in patterns), re.M
    )
    for language, patterns in _ENTRY_PATTERNS.items()
}

_COMMENT_START = ("#", "//", "/*", "*")
_CALL_SUFFIX = re.compile(r"\s*\($")


def entry_lines(language: str, source: bytes, package: str | None) -> list[EntryLine]:
    """Lines that start a program, outside line comments. Go ``func main`` counts only in ``package main``."""
    regex = _ENTRY_REGEX.get(language)
    if regex is None:
        return []
    text = source.decode("utf-8", "replace")
    found = []
    for match in regex.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if text[line_start : match.start()].lstrip().startswith(_COMMENT_START):
            continue
        kind = match.lastgroup.replace("_", "-")
        if kind == "go-main" and package != "main":
            continue
        name = _CALL_SUFFIX.sub("", match.group(0)) if kind == "server" else "main"
        found.append(EntryLine(kind, name, text.count("\n", 0, match.start()) + 1))
    return found
