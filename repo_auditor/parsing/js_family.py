"""Definition rules of JavaScript and TypeScript: functions held by variables, keys, fields and CommonJS
assignments, named function and class expressions, and TypeScript overloads (one definition per overload set).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from repo_auditor.parsing.nodes import Rule, field, named, node_text

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
    name_node, value = field(node, "name"), field(node, "value")
    while value is not None and value.type == "assignment_expression":  # var proto = module.exports = function
        value = field(value, "right")
    if name_node is None or value is None or name_node.type != "identifier":
        return None
    if value.type in _JS_FUNCTION_VALUES:
        return ("function", node_text(name_node), "")
    if value.type == "class":
        return ("class", node_text(name_node), "")
    return None


_JS_MEMBER_CHAIN = re.compile(r"[\w$]+(?:\.[\w$]+)*\Z")


def _js_assignment(node: Node) -> tuple[str, str, str] | None:
    """CommonJS definitions: ``res.send = function send`` is method ``res.send``, ``X.prototype.y = function``
    method ``X.y``, ``exports.x = function`` (or ``module.exports.x =``) function ``x``, ``module.exports =
    function name`` / ``= class Name`` the function / class ``name`` (anonymous: nothing)."""
    left, right = field(node, "left"), field(node, "right")
    if left is None or right is None or left.type != "member_expression" or node.parent is None:
        return None
    if node.parent.type != "expression_statement":
        return None
    kind = "function" if right.type in _JS_FUNCTION_VALUES else "class" if right.type == "class" else None
    target = node_text(left)
    if kind is None or not _JS_MEMBER_CHAIN.match(target):
        return None
    parts = [part for part in target.split(".") if part not in ("prototype", "this")]
    if parts[:2] == ["module", "exports"]:
        parts = parts[2:]
    elif parts[:1] == ["exports"]:
        parts = parts[1:]
    if not parts:  # module.exports = function name() {...}
        name = node_text(field(right, "name"))
        return (kind, name, "") if name else None
    scope = ".".join(parts[:-1])
    if target.startswith("this."):
        kind = "method" if kind == "function" else kind
    return ("method" if scope and kind == "function" else kind, parts[-1], scope)


# A function value here takes its name from this parent (``x = function y``: ``x``), so it is not named twice.
_JS_NAMING_PARENTS = frozenset(
    {"variable_declarator", "assignment_expression", "pair", "field_definition", "public_field_definition"}
)


def _js_named_expression(kind: str) -> Rule:
    """``return function expressInit(req, res) {...}``, ``on('x', function onX() {...})``, ``f(class K {})``: a
    named function or class expression defines a function or class of that name (its ``.name``, what a stack
    trace shows)."""

    def rule(node: Node) -> tuple[str, str, str] | None:
        name = node_text(field(node, "name"))
        if not name or node.parent is None or node.parent.type in _JS_NAMING_PARENTS:
            return None
        return (kind, name, "")

    return rule


def _js_property_name(node: Node | None) -> str:
    """A method or property name without the quotes of a string key (``"str"() {}`` is ``str``)."""
    if node is not None and node.type == "string":
        return node_text(node)[1:-1]
    return node_text(node)


def _js_method(node: Node) -> tuple[str, str, str] | None:
    name = _js_property_name(field(node, "name"))
    return ("method", name, "") if name else None


def _js_pair(node: Node) -> tuple[str, str, str] | None:
    """``{ key: function () {...} }``: an object property whose value is a function is a method."""
    key, value = field(node, "key"), field(node, "value")
    if key is None or value is None or value.type not in _JS_FUNCTION_VALUES:
        return None
    if key.type not in ("property_identifier", "string", "identifier"):
        return None
    name = _js_property_name(key)
    return ("method", name, "") if name else None


def _js_field(node: Node) -> tuple[str, str, str] | None:
    """``static create = (x) => {...}`` in a class body: a field holding a function is a method."""
    value = field(node, "value")
    name = node_text(field(node, "name") or field(node, "property"))
    if value is None or value.type not in _JS_FUNCTION_VALUES or not name:
        return None
    return ("method", name, "")


_TS_SIGNATURES = frozenset({"function_signature", "method_signature"})


def _ts_signature_of(node: Node | None, name: str) -> bool:
    """Whether ``node`` (an ``export`` wrapper included) is an overload signature of ``name``."""
    if node is not None and node.type == "export_statement":
        node = field(node, "declaration")
    return node is not None and node.type in _TS_SIGNATURES and _js_property_name(field(node, "name")) == name


def _ts_sibling(node: Node, forward: bool) -> Node | None:
    sibling = node.next_named_sibling if forward else node.prev_named_sibling
    while sibling is not None and sibling.type == "comment":
        sibling = sibling.next_named_sibling if forward else sibling.prev_named_sibling
    return sibling


def _ts_implementation(kind: str) -> Rule:
    """A function or method with a body, starting at its first overload signature (``f(): A; f(x): B; f(x?)
    {...}`` is one definition, where ctags puts it too)."""

    def rule(node: Node) -> tuple | None:
        name = _js_property_name(field(node, "name"))
        if not name:
            return None
        outer = node.parent if node.parent is not None and node.parent.type == "export_statement" else node
        first, sibling = None, _ts_sibling(outer, False)
        while _ts_signature_of(sibling, name):
            first, sibling = sibling, _ts_sibling(sibling, False)
        return (kind, name, "") if first is None else (kind, name, "", first.start_point.row + 1)

    return rule


def _ts_method_signature(node: Node) -> tuple[str, str, str] | None:
    """A method signature is a definition (an interface's methods), unless it is an overload followed by its
    implementation, which is listed instead."""
    name = _js_property_name(field(node, "name"))
    sibling = _ts_sibling(node, True)
    while _ts_signature_of(sibling, name):
        sibling = _ts_sibling(sibling, True)
    if not name or (sibling is not None and sibling.type == "method_definition"
                    and _js_property_name(field(sibling, "name")) == name):
        return None
    return ("method", name, "")


def _ts_module(node: Node) -> tuple[str, str, str] | None:
    name = node_text(field(node, "name")).strip("'\"`")
    return ("module", name, "") if name else None


_JS: dict[str, Rule] = {
    "function_declaration": named("function"),
    "generator_function_declaration": named("function"),
    "class_declaration": named("class"),
    "method_definition": _js_method,
    "variable_declarator": _js_variable,
    "field_definition": _js_field,
    "function_expression": _js_named_expression("function"),
    "function": _js_named_expression("function"),
    "class": _js_named_expression("class"),
}

# CommonJS definitions (``exports.x = function``, ``{ key: function }``) are JavaScript's way to define an API;
# TypeScript code defines with declarations, and there the same shapes are mostly configuration objects.
_JS_ONLY = {
    "assignment_expression": _js_assignment,
    "pair": _js_pair,
}

TS_RULES: dict[str, Rule] = {
    **_JS,
    "function_declaration": _ts_implementation("function"),
    "method_definition": _ts_implementation("method"),
    "public_field_definition": _js_field,
    "abstract_class_declaration": named("class"),
    "interface_declaration": named("interface"),
    "type_alias_declaration": named("type"),
    "enum_declaration": named("enum"),
    "internal_module": _ts_module,
    "module": _ts_module,
    "method_signature": _ts_method_signature,
    "abstract_method_signature": named("method"),
}

JS_RULES: dict[str, Rule] = {**_JS, **_JS_ONLY}
