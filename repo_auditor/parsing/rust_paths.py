"""A Rust syntax tree -> the paths it names and the modules it declares for tests only. Pure: a tree in, data out.

* A ``use`` declaration yields one import ``(spec, line, names, test)`` per first segment, with the rest of each
  path in ``names``: ``use crate::{ast, hir::{self, Hir}}`` -> ``("crate", line, ("ast", "hir", "hir::Hir"), False)``;
  ``use serde;`` and ``extern crate serde;`` -> ``("serde", line, (), False)``. Aliases (``as``) are dropped and a
  glob names its prefix (``use super::*`` -> ``("super", line, (), False)``).
* A path in code that starts with ``crate``, ``super`` or ``self`` (``crate::hir::Hir::empty()``, a type
  ``self::a::B<T>``) yields the same, once per distinct path in the file (its first line).
* ``super`` and ``self`` are read from the file's module: inside an inline ``mod tests { ... }`` they are rewritten
  (``super::x`` there is ``self::x`` of the file), so a resolver needs only the file's path.
* Whatever sits in an item under ``#[cfg(test)]`` (or ``#[cfg(all(test, ...))]``), or in a file or inline module
  opening with ``#![cfg(test)]``, is ``test``; ``#[cfg(test)] mod tests;`` also names ``tests`` in the test modules
  (its file is test code).
* A macro invocation's body is tokens to tree-sitter. When it mentions ``use`` or ``crate::`` / ``super::`` /
  ``self::`` it is parsed again as Rust (``cfg_rt! { pub use crate::runtime::Handle; }``), to ``MAX_MACRO_DEPTH``
  levels of nesting. ``macro_rules!`` bodies are templates, not code, and are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node, Parser, Query, QueryCursor

# Macro bodies inside macro bodies are parsed again down to this depth (tokio nests cfg_*! wrappers 2-3 deep).
MAX_MACRO_DEPTH = 4

QUERY = """
(use_declaration argument: (_) @use)
(extern_crate_declaration name: (identifier) @crate)
(scoped_identifier path: [(crate) (super) (self)] @root)
(scoped_type_identifier path: [(crate) (super) (self)] @root)
(macro_invocation (token_tree) @macro)
(attribute_item (attribute (identifier) @cfg (#eq? @cfg "cfg"))) @attr
(inner_attribute_item (attribute (identifier) @cfg (#eq? @cfg "cfg"))) @inner
"""

_PATH_TYPES = frozenset({"scoped_identifier", "scoped_type_identifier"})
_NOT_CODE_PATHS = frozenset({"use_declaration", "visibility_modifier"})  # read elsewhere, or not a reference
_SKIPPED_SIBLINGS = frozenset({"attribute_item", "line_comment", "block_comment"})
_CFG = re.compile(r"^#!?\[\s*cfg\s*\((.*)\)\s*\]$", re.S)
_MACRO_HINT = re.compile(rb"\buse\b|\b(?:crate|super|self)\s*::")
_SEGMENT = re.compile(r"^[A-Za-z_]\w*$")


@dataclass
class RustPaths:
    """What one Rust file names: its imports, and the out-of-line modules it declares under ``#[cfg(test)]``."""

    imports: list[tuple[str, int, tuple[str, ...], bool]] = field(
        default_factory=list
    )  # spec, line, names, test
    test_modules: list[str] = field(default_factory=list)


def rust_paths(root: Node, parser: Parser, query: Query) -> RustPaths:
    """The paths named in the tree under ``root`` (``query`` is ``QUERY`` compiled for ``parser``'s language)."""
    found = RustPaths()
    _collect(root, parser, query, found, [], False, 0, 0)
    return found


def _collect(
    root: Node,
    parser: Parser,
    query: Query,
    found: RustPaths,
    outer_modules: list[str],
    outer_test: bool,
    line_offset: int,
    depth: int,
) -> None:
    captures = QueryCursor(query).captures(root)
    test_ranges = _test_ranges(captures, found.test_modules)
    code_paths: dict[tuple[tuple[str, ...], bool], int] = {}

    def context(node: Node) -> tuple[list[str], bool] | None:
        """The inline modules around ``node`` (outermost first) and whether it is test code; None when the node is
        no reference of its own (inside a ``use`` or a visibility)."""
        modules = []
        parent = node.parent
        while parent is not None:
            if parent.type in _NOT_CODE_PATHS:
                return None
            if parent.type == "mod_item" and parent.child_by_field_name("name") is not None:
                modules.append(_text(parent.child_by_field_name("name")))
            parent = parent.parent
        test = outer_test or any(start <= node.start_byte < end for start, end in test_ranges)
        return [*outer_modules, *reversed(modules)], test

    for node in captures.get("use", ()):
        where = context(node.parent)
        if where is not None:
            paths = [_relative(p, where[0]) for p in _use_paths(node, []) if p]
            _add_grouped(found, paths, node.start_point.row + 1 + line_offset, where[1])
    for node in captures.get("crate", ()):
        where = context(node)
        if where is not None:
            found.imports.append((_text(node), node.start_point.row + 1 + line_offset, (), where[1]))
    for node in captures.get("root", ()):
        where = context(node)
        if where is None:
            continue
        top = node.parent
        while (
            top.parent is not None
            and top.parent.type in _PATH_TYPES
            and top.parent.child_by_field_name("path") == top
        ):
            top = top.parent
        key = (tuple(_relative(_segments(top), where[0])), where[1])
        line = top.start_point.row + 1 + line_offset
        code_paths[key] = min(line, code_paths.get(key, line))  # the first use; captures come in no set order
    for (path, test), line in sorted(code_paths.items(), key=lambda item: (item[1], item[0])):
        _add_grouped(found, [list(path)], line, test)
    if depth >= MAX_MACRO_DEPTH:
        return
    for node in captures.get("macro", ()):
        body = node.text[1:-1] if node.text else b""
        where = context(node)
        if where is None or not _MACRO_HINT.search(body):
            continue
        inner = parser.parse(body).root_node
        _collect(
            inner, parser, query, found, where[0], where[1], node.start_point.row + line_offset, depth + 1
        )


def _test_ranges(captures: dict[str, list[Node]], test_modules: list[str]) -> list[tuple[int, int]]:
    """Byte ranges of the items under ``#[cfg(test)]``; adds the names of out-of-line test modules."""
    ranges = []
    for node in captures.get("attr", ()):
        if not _is_cfg_test(_text(node)):
            continue
        item = node.next_named_sibling
        while item is not None and item.type in _SKIPPED_SIBLINGS:
            item = item.next_named_sibling
        if item is None:
            continue
        ranges.append((item.start_byte, item.end_byte))
        name = item.child_by_field_name("name") if item.type == "mod_item" else None
        if name is not None and item.child_by_field_name("body") is None:
            test_modules.append(_text(name))
    for node in captures.get("inner", ()):
        if _is_cfg_test(_text(node)) and node.parent is not None:
            scope = node.parent.parent if node.parent.type == "declaration_list" else node.parent
            if scope is not None:
                ranges.append((scope.start_byte, scope.end_byte))
    return ranges


def _is_cfg_test(attribute: str) -> bool:
    """``#[cfg(test)]`` or ``#[cfg(all(test, ...))]``: code that only a test build compiles."""
    match = _CFG.match("".join(attribute.split()))
    if match is None:
        return False
    condition = match.group(1)
    if condition == "test":
        return True
    if not (condition.startswith("all(") and condition.endswith(")")):
        return False
    depth, start, terms = 0, 4, []
    for index, char in enumerate(condition[4:-1], 4):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            terms.append(condition[start:index])
            start = index + 1
    terms.append(condition[start:-1])
    return "test" in terms


def _use_paths(node: Node, prefix: list[str]) -> list[list[str]]:
    """Every path a ``use`` tree names, each as its segments (``{a, b::{self, C}}`` -> a, b, b::C)."""
    kind = node.type
    if kind == "use_as_clause":
        path = node.child_by_field_name("path")
        return _use_paths(path, prefix) if path is not None else []
    if kind == "use_wildcard":
        named = [c for c in node.named_children if c.type not in _SKIPPED_SIBLINGS]
        return [prefix + (_segments(named[0]) if named else [])]
    if kind == "scoped_use_list":
        path, items = node.child_by_field_name("path"), node.child_by_field_name("list")
        base = prefix + (_segments(path) if path is not None else [])
        return _use_paths(items, base) if items is not None else [base]
    if kind == "use_list":
        return [
            p
            for child in node.named_children
            if child.type not in _SKIPPED_SIBLINGS
            for p in _use_paths(child, prefix)
        ]
    if kind == "self" and prefix:
        return [prefix]
    return [prefix + _segments(node)]


def _segments(node: Node) -> list[str]:
    """``crate :: a::B<T>`` -> crate, a, B: the leading plain segments of a path."""
    segments = []
    for part in "".join(_text(node).split()).split("::"):
        if part == "" and not segments:
            continue  # a leading ``::`` (``::std::fmt``)
        if not _SEGMENT.match(part):
            break
        segments.append(part)
    return segments


def _relative(path: list[str], modules: list[str]) -> list[str]:
    """A ``super`` / ``self`` path written inside inline modules ``modules``, read from the file's module."""
    if not modules or not path or path[0] not in ("super", "self"):
        return path
    ups = 0
    while ups < len(path) and path[ups] == "super":
        ups += 1
    if ups == 0:
        return ["self", *modules, *path[1:]]
    if ups <= len(modules):
        return ["self", *modules[: len(modules) - ups], *path[ups:]]
    return ["super"] * (ups - len(modules)) + path[ups:]


def _add_grouped(found: RustPaths, paths: list[list[str]], line: int, test: bool) -> None:
    """One import per first segment of ``paths``, the rest of each path in its names."""
    groups: dict[str, dict[str, None]] = {}
    for path in paths:
        if path:
            groups.setdefault(path[0], {})["::".join(path[1:])] = None
    for first, rests in groups.items():
        names = tuple(rests) if list(rests) != [""] else ()
        found.imports.append((first, line, names, test))


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""
