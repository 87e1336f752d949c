"""Source bytes -> definitions, with tree-sitter: the parsing layer under ``symbols`` (no repo, no cache).

One query per language captures every node type that can define something; a small Python rule per node type
turns a captured node into ``(kind, name, scope)`` or rejects it (a struct reference without a body, an
anonymous function). Qualified names are built from the enclosing definitions, joined with ``.`` in every
language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from repo_auditor.parsing.c_family import C_RULES, CPP_RULES, prepare_c, prepare_cpp
from repo_auditor.parsing.data_tables import blank_data_runs
from repo_auditor.parsing.grammars import load_language
from repo_auditor.parsing.js_family import JS_RULES, TS_RULES
from repo_auditor.parsing.nodes import Rule, base_type_name, field, named, node_text, scoped
from repo_auditor.repository.languages import source_language

# A name longer than this is garbage (minified or broken code); it is cut with a visible marker.
MAX_NAME_CHARS = 200
# Definitions deeper than this in the syntax tree are not reported. Real code stays far below it (the deepest
# in CPython's stdlib, site-packages included, is 19); adversarial nesting otherwise makes tree-sitter's query
# time explode.
MAX_DEFINITION_DEPTH = 400
# Qualified names are cut from the left beyond this (deeply nested or adversarial code).
MAX_QUALIFIED_CHARS = 400

KINDS = (
    "function",
    "method",
    "class",
    "struct",
    "interface",
    "enum",
    "trait",
    "impl",
    "module",
    "type",
    "macro",
)

# A function directly inside one of these is a method.
_TYPE_SCOPES = frozenset({"class", "struct", "interface", "enum", "trait", "impl"})
# These do not qualify what they contain: ``typedef struct s {...} s_t;`` defines ``s``, not ``s_t.s``.
_NOT_SCOPES = frozenset({"type", "macro"})

class Definition(NamedTuple):
    """One definition in one file, without the file: what the cache stores per blob."""

    name: str
    qualified_name: str
    kind: str
    start_line: int
    end_line: int


# ---------------------------------------------------------------- per-language rules


def _python_type_alias(node: Node) -> tuple[str, str, str] | None:
    left = field(node, "left")
    if left is None:
        return None
    name = node_text(left).split("[", 1)[0].strip()
    return ("type", name, "") if name.isidentifier() else None


def _go_type_spec(node: Node) -> tuple[str, str, str] | None:
    name = node_text(field(node, "name"))
    if not name:
        return None
    type_node = field(node, "type")
    kind = {"struct_type": "struct", "interface_type": "interface"}.get(
        type_node.type if type_node else "", "type"
    )
    return (kind, name, "")


def _go_method(node: Node) -> tuple[str, str, str] | None:
    name = node_text(field(node, "name"))
    receiver = field(node, "receiver")
    receiver_type = ""
    if receiver is not None:
        for param in receiver.named_children:
            if param.type == "parameter_declaration":
                receiver_type = base_type_name(field(param, "type"))
                break
    return ("method", name, receiver_type) if name else None


def _rust_impl(node: Node) -> tuple[str, str, str] | None:
    name = base_type_name(field(node, "type"))
    return ("impl", name, "") if name else None


def _ruby_named(kind: str) -> Rule:
    def rule(node: Node) -> tuple[str, str, str] | None:
        name = node_text(field(node, "name"))
        if not name:
            return None
        return scoped(kind, name)

    return rule


def _ruby_singleton_method(node: Node) -> tuple[str, str, str] | None:
    name = node_text(field(node, "name"))
    return ("method", name, "") if name else None


def _php_namespace(node: Node) -> tuple[str, str, str] | None:
    name = node_text(field(node, "name"))
    return ("module", name.replace("\\", "."), "") if name else None


def _kotlin_class(node: Node) -> tuple[str, str, str] | None:
    name = node_text(field(node, "name"))
    if not name:
        return None
    kind = "class"
    for child in node.children:
        if child.type == "interface":
            kind = "interface"
        elif child.type == "modifiers" and any(
            m.type == "class_modifier" and node_text(m) == "enum" for m in child.named_children
        ):
            kind = "enum"
    return (kind, name, "")


def _kotlin_companion(node: Node) -> tuple[str, str, str] | None:
    return ("class", node_text(field(node, "name")) or "Companion", "")


_PY = {
    "function_definition": named("function"),
    "class_definition": named("class"),
    "type_alias_statement": _python_type_alias,
}

RULES: dict[str, dict[str, Rule]] = {
    "python": _PY,
    "javascript": JS_RULES,
    "typescript": TS_RULES,
    "tsx": TS_RULES,
    "go": {
        "function_declaration": named("function"),
        "method_declaration": _go_method,
        "type_spec": _go_type_spec,
        "type_alias": named("type"),
        "method_elem": named("method"),  # an interface method (``method_spec`` in older grammars)
        "method_spec": named("method"),
    },
    "rust": {
        "function_item": named("function"),
        "function_signature_item": named("function"),
        "struct_item": named("struct"),
        "union_item": named("struct"),
        "enum_item": named("enum"),
        "trait_item": named("trait"),
        "impl_item": _rust_impl,
        "mod_item": named("module"),
        "type_item": named("type"),
        "associated_type": named("type"),
        "macro_definition": named("macro"),
    },
    "java": {
        "class_declaration": named("class"),
        "record_declaration": named("class"),
        "interface_declaration": named("interface"),
        "annotation_type_declaration": named("interface"),
        "enum_declaration": named("enum"),
        "method_declaration": named("method"),
        "constructor_declaration": named("method"),
    },
    "c": C_RULES,
    "cpp": CPP_RULES,
    "ruby": {
        "class": _ruby_named("class"),
        "module": _ruby_named("module"),
        "method": named("function"),
        "singleton_method": _ruby_singleton_method,
    },
    "csharp": {
        "class_declaration": named("class"),
        "record_declaration": named("class"),
        "struct_declaration": named("struct"),
        "interface_declaration": named("interface"),
        "enum_declaration": named("enum"),
        "namespace_declaration": named("module"),
        "file_scoped_namespace_declaration": named("module"),
        "method_declaration": named("method"),
        "constructor_declaration": named("method"),
        "local_function_statement": named("function"),
        "delegate_declaration": named("type"),
    },
    "php": {
        "function_definition": named("function"),
        "class_declaration": named("class"),
        "interface_declaration": named("interface"),
        "trait_declaration": named("trait"),
        "enum_declaration": named("enum"),
        "method_declaration": named("method"),
        "namespace_definition": _php_namespace,
    },
    "kotlin": {
        "class_declaration": _kotlin_class,
        "object_declaration": named("class"),
        "companion_object": _kotlin_companion,
        "function_declaration": named("function"),
        "type_alias": named("type", field_name="type"),
    },
}


# ---------------------------------------------------------------- grammar loading


@dataclass(frozen=True)
class _Grammar:
    language: Language
    query: Query
    rules: dict[str, Rule]


@cache
def _grammar(language: str) -> _Grammar:
    ts_language = load_language(language)
    rules = RULES[language]
    # Only node types this grammar knows: one shared rule table serves related grammars (TS / TSX).
    known = [t for t in rules if ts_language.id_for_node_kind(t, True) is not None]
    query = Query(ts_language, "[" + " ".join(f"({t})" for t in known) + "] @def")
    return _Grammar(ts_language, query, rules)


# ---------------------------------------------------------------- parsing


def _clean(name: str) -> str:
    name = " ".join(name.split())
    if len(name) > MAX_NAME_CHARS:
        name = name[: MAX_NAME_CHARS - 3] + "..."
    return name


def _line_span(node: Node) -> tuple[int, int]:
    start = node.start_point.row + 1
    end_row, end_col = node.end_point
    end = end_row if end_col == 0 and end_row > node.start_point.row else end_row + 1
    return start, max(start, end)


_PYTHON_HEADER = re.compile(rb"^([ \t]*)(?:async[ \t]+)?(class|def)[ \t]+([A-Za-z_]\w*)[ \t]*[(:]", re.M)
_INDENT = re.compile(rb"^([ \t]*)\S", re.M)


def _python_headers_in_errors(tree: Tree, known_lines: set[int]) -> list:
    """``class``/``def`` lines that tree-sitter left in an error region (a syntax error earlier in the file can
    turn ``class X(Base):`` into loose tokens): each spans its header and the more indented lines after it, as
    Python reads a block, so the methods found after it are qualified by it again."""
    source = tree.root_node.text or b""
    found = []
    errors = [tree.root_node]
    while errors:
        node = errors.pop()
        errors.extend(child for child in node.children if child.has_error)
        if node.type != "ERROR":
            continue
        line_start = source.rfind(b"\n", 0, node.start_byte) + 1
        for match in _PYTHON_HEADER.finditer(source, line_start, node.end_byte):
            keyword = tree.root_node.descendant_for_byte_range(match.start(2), match.end(2))
            loose = keyword is not None and keyword.type in (match.group(2).decode(), "identifier")
            if not loose or keyword.parent is None or keyword.parent.type != "ERROR":
                continue  # inside a string, or part of a definition that parsed
            line = source.count(b"\n", 0, match.start()) + 1
            if line in known_lines:
                continue
            known_lines.add(line)
            indent, kind, name = len(match.group(1)), match.group(2), match.group(3).decode()
            end_byte = match.end()
            for body_line in _INDENT.finditer(source, source.find(b"\n", match.end()) + 1):
                if len(body_line.group(1)) <= indent:
                    break
                end_byte = source.find(b"\n", body_line.end())
                end_byte = len(source) if end_byte < 0 else end_byte
            end_line = source.count(b"\n", 0, end_byte) + 1
            described = ("class" if kind == b"class" else "function", name, "")
            found.append((match.start() + indent, -end_byte, (line, end_line), described))
    return found


def parse_definitions(language: str, source: bytes) -> list[Definition]:
    """Every definition in ``source``, in file order; ``language`` is one of ``languages.PARSED_LANGUAGES``.

    Syntax errors do not stop it: tree-sitter recovers, and every definition that still parses is returned.
    C source holding C++ (a ``.h`` header of a C++ library) is parsed as C++ (``languages.source_language``).
    """
    language = source_language(language, source)  # a C++ header is parsed as C++
    if language == "cpp":
        source = prepare_cpp(source)
    elif language == "c":
        source = prepare_c(source)
    return tree_definitions(language, parse_tree(language, source))


def parse_tree(language: str, source: bytes) -> Tree:
    """The syntax tree of ``source`` in ``language`` (a grammar name: after ``source_language``).

    Long runs of number-only lines (generated tables) are blanked first (``data_tables``): same offsets, same
    definitions, a fraction of the nodes. A parser per call: cheap, and safe across threads."""
    return Parser(_grammar(language).language).parse(blank_data_runs(source))


def tree_definitions(language: str, tree: Tree) -> list[Definition]:
    """``parse_definitions`` on a tree already parsed with ``parse_tree`` (the import scan shares it)."""
    grammar = _grammar(language)
    cursor = QueryCursor(grammar.query)
    cursor.set_max_start_depth(MAX_DEFINITION_DEPTH)
    nodes = cursor.captures(tree.root_node).get("def", [])
    found = []
    for node in nodes:
        described = grammar.rules[node.type](node)
        if described is not None and described[1]:
            found.append((node.start_byte, -node.end_byte, _line_span(node), described))
    if language == "python" and tree.root_node.has_error:
        found.extend(_python_headers_in_errors(tree, {span[0] for _, _, span, _ in found}))
    found.sort(key=lambda item: (item[0], item[1]))

    # Enclosing definitions from byte ranges, with a stack: linear in the number of definitions however deep
    # the nesting (walking node.parent for each would be quadratic on adversarial input).
    definitions = []
    open_scopes: list[tuple[int, str, str]] = []  # (end_byte, qualified_name, kind), innermost last
    for _start, negative_end, (start, end), (kind, name, scope, *first_line) in found:
        end_byte = -negative_end
        while open_scopes and open_scopes[-1][0] < end_byte:
            open_scopes.pop()
        outer_name, outer_kind = (open_scopes[-1][1], open_scopes[-1][2]) if open_scopes else ("", None)
        if kind == "function" and outer_kind in _TYPE_SCOPES:
            kind = "method"
        name = _clean(name)
        qualified = ".".join(part for part in (outer_name, scope, name) if part)
        if len(qualified) > MAX_QUALIFIED_CHARS:  # absurd nesting: keep the innermost parts
            qualified = "..." + qualified[3 - MAX_QUALIFIED_CHARS :]
        start = first_line[0] if first_line else start
        definitions.append(Definition(name, qualified, kind, start, end))
        if kind not in _NOT_SCOPES:
            open_scopes.append((end_byte, qualified, kind))
    definitions.sort(key=lambda d: (d.start_line, -d.end_line, d.qualified_name))
    return definitions
