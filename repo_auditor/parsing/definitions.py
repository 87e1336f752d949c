"""Source bytes -> definitions, with tree-sitter: the parsing layer under ``symbols`` (no repo, no cache).

One query per language captures every node type that can define something; a small Python rule per node type
turns a captured node into ``(kind, name, scope)`` or rejects it (a struct reference without a body, an
anonymous function). Qualified names are built from the enclosing definitions, joined with ``.`` in every
language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from tree_sitter import Language, Node, Parser, Query, QueryCursor

from repo_auditor.parsing.grammars import load_language

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


# A rule returns (kind, name, scope) or None; scope is a qualifier the node itself carries (a Go receiver,
# C++ ``A::``), else "".
Rule = Callable[[Node], "tuple[str, str, str] | None"]


# ---------------------------------------------------------------- helpers


def _text(node: Node | None) -> str:
    if node is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _clean(name: str) -> str:
    name = " ".join(name.split())
    if len(name) > MAX_NAME_CHARS:
        name = name[: MAX_NAME_CHARS - 3] + "..."
    return name


_GENERIC_ARGS = re.compile(r"[<\[].*$", re.S)


def _base_type_name(node: Node | None) -> str:
    """``*pkg.Server[T]`` / ``&mut Foo<T>`` / ``a::b::Foo<T>`` -> ``Server`` / ``Foo`` / ``Foo``."""
    text = _GENERIC_ARGS.sub("", _text(node)).strip().lstrip("*&").strip()
    text = text.removeprefix("mut ").removeprefix("dyn ").strip()
    for sep in ("::", "."):
        text = text.rsplit(sep, 1)[-1]
    return text


def _scoped(kind: str, name: str) -> tuple[str, str, str]:
    """``(kind, name, scope)`` from a ``::``-qualified name: ``a::b::C`` -> ``(kind, "C", "a.b")``."""
    scope, _, last = name.rpartition("::")
    return (kind, last, scope.replace("::", "."))


def _field(node: Node, name: str) -> Node | None:
    return node.child_by_field_name(name)


def _named(kind: str, field: str = "name") -> Rule:
    def rule(node: Node) -> tuple[str, str, str] | None:
        name = _text(_field(node, field))
        return (kind, name, "") if name else None

    return rule


def _with_body(kind: str) -> Rule:
    """C-family ``struct x {...}``: a definition only when it has a body (``struct x *p`` is a use)."""

    def rule(node: Node) -> tuple[str, str, str] | None:
        if _field(node, "body") is None:
            return None
        name = _text(_field(node, "name"))
        if not name:
            return None
        return _scoped(kind, name)

    return rule


# ---------------------------------------------------------------- per-language rules


def _python_type_alias(node: Node) -> tuple[str, str, str] | None:
    left = _field(node, "left")
    if left is None:
        return None
    name = _text(left).split("[", 1)[0].strip()
    return ("type", name, "") if name.isidentifier() else None


_JS_FUNCTION_VALUES = frozenset(
    {
        "arrow_function",
        "function_expression",
        "function",
        "generator_function",
        "generator_function_declaration",
    }
)


def _js_variable(node: Node) -> tuple[str, str, str] | None:
    """``const add = (a, b) => ...`` is a function named ``add``; ``const A = class {...}`` a class."""
    name_node, value = _field(node, "name"), _field(node, "value")
    if name_node is None or value is None or name_node.type != "identifier":
        return None
    if value.type in _JS_FUNCTION_VALUES:
        return ("function", _text(name_node), "")
    if value.type == "class":
        return ("class", _text(name_node), "")
    return None


def _ts_module(node: Node) -> tuple[str, str, str] | None:
    name = _text(_field(node, "name")).strip("'\"`")
    return ("module", name, "") if name else None


def _go_type_spec(node: Node) -> tuple[str, str, str] | None:
    name = _text(_field(node, "name"))
    if not name:
        return None
    type_node = _field(node, "type")
    kind = {"struct_type": "struct", "interface_type": "interface"}.get(
        type_node.type if type_node else "", "type"
    )
    return (kind, name, "")


def _go_method(node: Node) -> tuple[str, str, str] | None:
    name = _text(_field(node, "name"))
    receiver = _field(node, "receiver")
    receiver_type = ""
    if receiver is not None:
        for param in receiver.named_children:
            if param.type == "parameter_declaration":
                receiver_type = _base_type_name(_field(param, "type"))
                break
    return ("method", name, receiver_type) if name else None


def _rust_impl(node: Node) -> tuple[str, str, str] | None:
    name = _base_type_name(_field(node, "type"))
    return ("impl", name, "") if name else None


# C / C++ declarators: function_definition -> (pointer_declarator ->)* function_declarator -> identifier |
# A::b | ...
_DECLARATOR_WRAPPERS = frozenset(
    {"pointer_declarator", "reference_declarator", "parenthesized_declarator", "attributed_declarator"}
)
_FUNCTION_NAMES = frozenset(
    {
        "identifier",
        "field_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "template_function",
    }
)


def _c_function_name(declarator: Node | None) -> tuple[str, str] | None:
    """(scope, name) of a function declarator chain; None when it declares no function (e.g. a pointer)."""
    while declarator is not None and declarator.type in _DECLARATOR_WRAPPERS:
        inner = _field(declarator, "declarator")
        if inner is None:  # parenthesized_declarator has no field name
            inner = next((c for c in declarator.named_children), None)
        declarator = inner
    if declarator is None or declarator.type != "function_declarator":
        return None
    target = _field(declarator, "declarator")
    if target is None or target.type not in _FUNCTION_NAMES:
        return None
    full = _GENERIC_ARGS.sub("", _text(target)) if target.type == "template_function" else _text(target)
    if target.type == "qualified_identifier":
        scope, _, name = full.rpartition("::")
        return (_GENERIC_ARGS.sub("", scope).replace("::", ".").strip("."), name)
    return ("", full)


def _c_function(node: Node) -> tuple[str, str, str] | None:
    found = _c_function_name(_field(node, "declarator"))
    if found is None or not found[1]:
        return None
    scope, name = found
    return ("method" if scope else "function", name, scope)


def _cpp_member_declaration(node: Node) -> tuple[str, str, str] | None:
    """``virtual double area() const = 0;`` inside a class body declares a method."""
    parent = node.parent
    if parent is None or parent.type != "field_declaration_list":
        return None
    found = _c_function_name(_field(node, "declarator"))
    if found is None or not found[1]:
        return None
    return ("method", found[1], found[0])


def _c_typedef(node: Node) -> tuple[str, str, str] | None:
    declarator = _field(node, "declarator")
    while declarator is not None and declarator.type != "type_identifier":
        inner = _field(declarator, "declarator")
        if inner is None:
            inner = next((c for c in declarator.named_children), None)
        declarator = inner
    name = _text(declarator)
    return ("type", name, "") if name else None


def _cpp_namespace(node: Node) -> tuple[str, str, str] | None:
    name = _text(_field(node, "name"))
    if not name:  # anonymous namespace: no definition, and its contents stay unqualified
        return None
    return _scoped("module", name)


def _ruby_named(kind: str) -> Rule:
    def rule(node: Node) -> tuple[str, str, str] | None:
        name = _text(_field(node, "name"))
        if not name:
            return None
        return _scoped(kind, name)

    return rule


def _ruby_singleton_method(node: Node) -> tuple[str, str, str] | None:
    name = _text(_field(node, "name"))
    return ("method", name, "") if name else None


def _php_namespace(node: Node) -> tuple[str, str, str] | None:
    name = _text(_field(node, "name"))
    return ("module", name.replace("\\", "."), "") if name else None


def _kotlin_class(node: Node) -> tuple[str, str, str] | None:
    name = _text(_field(node, "name"))
    if not name:
        return None
    kind = "class"
    for child in node.children:
        if child.type == "interface":
            kind = "interface"
        elif child.type == "modifiers" and any(
            m.type == "class_modifier" and _text(m) == "enum" for m in child.named_children
        ):
            kind = "enum"
    return (kind, name, "")


def _kotlin_companion(node: Node) -> tuple[str, str, str] | None:
    return ("class", _text(_field(node, "name")) or "Companion", "")


_PY = {
    "function_definition": _named("function"),
    "class_definition": _named("class"),
    "type_alias_statement": _python_type_alias,
}

_JS = {
    "function_declaration": _named("function"),
    "generator_function_declaration": _named("function"),
    "class_declaration": _named("class"),
    "method_definition": _named("method"),
    "variable_declarator": _js_variable,
}

_TS = {
    **_JS,
    "abstract_class_declaration": _named("class"),
    "interface_declaration": _named("interface"),
    "type_alias_declaration": _named("type"),
    "enum_declaration": _named("enum"),
    "internal_module": _ts_module,
    "module": _ts_module,
    "method_signature": _named("method"),
    "abstract_method_signature": _named("method"),
}

_C = {
    "function_definition": _c_function,
    "struct_specifier": _with_body("struct"),
    "union_specifier": _with_body("struct"),
    "enum_specifier": _with_body("enum"),
    "type_definition": _c_typedef,
    "preproc_def": _named("macro"),
    "preproc_function_def": _named("macro"),
}

_CPP = {
    **_C,
    "class_specifier": _with_body("class"),
    "namespace_definition": _cpp_namespace,
    "alias_declaration": _named("type"),
    "field_declaration": _cpp_member_declaration,
}

RULES: dict[str, dict[str, Rule]] = {
    "python": _PY,
    "javascript": _JS,
    "typescript": _TS,
    "tsx": _TS,
    "go": {
        "function_declaration": _named("function"),
        "method_declaration": _go_method,
        "type_spec": _go_type_spec,
        "type_alias": _named("type"),
    },
    "rust": {
        "function_item": _named("function"),
        "function_signature_item": _named("function"),
        "struct_item": _named("struct"),
        "union_item": _named("struct"),
        "enum_item": _named("enum"),
        "trait_item": _named("trait"),
        "impl_item": _rust_impl,
        "mod_item": _named("module"),
        "type_item": _named("type"),
        "macro_definition": _named("macro"),
    },
    "java": {
        "class_declaration": _named("class"),
        "record_declaration": _named("class"),
        "interface_declaration": _named("interface"),
        "annotation_type_declaration": _named("interface"),
        "enum_declaration": _named("enum"),
        "method_declaration": _named("method"),
        "constructor_declaration": _named("method"),
    },
    "c": _C,
    "cpp": _CPP,
    "ruby": {
        "class": _ruby_named("class"),
        "module": _ruby_named("module"),
        "method": _named("function"),
        "singleton_method": _ruby_singleton_method,
    },
    "csharp": {
        "class_declaration": _named("class"),
        "record_declaration": _named("class"),
        "struct_declaration": _named("struct"),
        "interface_declaration": _named("interface"),
        "enum_declaration": _named("enum"),
        "namespace_declaration": _named("module"),
        "file_scoped_namespace_declaration": _named("module"),
        "method_declaration": _named("method"),
        "constructor_declaration": _named("method"),
        "local_function_statement": _named("function"),
        "delegate_declaration": _named("type"),
    },
    "php": {
        "function_definition": _named("function"),
        "class_declaration": _named("class"),
        "interface_declaration": _named("interface"),
        "trait_declaration": _named("trait"),
        "enum_declaration": _named("enum"),
        "method_declaration": _named("method"),
        "namespace_definition": _php_namespace,
    },
    "kotlin": {
        "class_declaration": _kotlin_class,
        "object_declaration": _named("class"),
        "companion_object": _kotlin_companion,
        "function_declaration": _named("function"),
        "type_alias": _named("type", field="type"),
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


def _line_span(node: Node) -> tuple[int, int]:
    start = node.start_point.row + 1
    end_row, end_col = node.end_point
    end = end_row if end_col == 0 and end_row > node.start_point.row else end_row + 1
    return start, max(start, end)


def parse_definitions(language: str, source: bytes) -> list[Definition]:
    """Every definition in ``source``, in file order; ``language`` is one of ``languages.PARSED_LANGUAGES``.

    Syntax errors do not stop it: tree-sitter recovers, and every definition that still parses is returned.
    """
    grammar = _grammar(language)
    tree = Parser(grammar.language).parse(source)  # a parser per call: cheap, and safe across threads
    cursor = QueryCursor(grammar.query)
    cursor.set_max_start_depth(MAX_DEFINITION_DEPTH)
    nodes = cursor.captures(tree.root_node).get("def", [])
    found = []
    for node in nodes:
        described = grammar.rules[node.type](node)
        if described is not None and described[1]:
            found.append((node.start_byte, -node.end_byte, node, described))
    found.sort(key=lambda item: (item[0], item[1]))

    # Enclosing definitions from byte ranges, with a stack: linear in the number of definitions however deep
    # the nesting (walking node.parent for each would be quadratic on adversarial input).
    definitions = []
    open_scopes: list[tuple[int, str, str]] = []  # (end_byte, qualified_name, kind), innermost last
    for _start, negative_end, node, (kind, name, scope) in found:
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
        start, end = _line_span(node)
        definitions.append(Definition(name, qualified, kind, start, end))
        if kind not in _NOT_SCOPES:
            open_scopes.append((end_byte, qualified, kind))
    definitions.sort(key=lambda d: (d.start_line, -d.end_line, d.qualified_name))
    return definitions
