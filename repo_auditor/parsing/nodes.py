"""Small helpers over tree-sitter nodes shared by the definition rules (``definitions.py``, ``*_family.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from tree_sitter import Node

# A rule returns (kind, name, scope) or None; scope is a qualifier the node itself carries (a Go receiver,
# C++ ``A::``), else "". A rule may add a fourth item, the 1-based line where the definition starts when that
# is before its node (a C++ definition split by an annotation macro).
Rule = Callable[[Node], "tuple[str, str, str] | None"]


def node_text(node: Node | None) -> str:
    """The text of ``node`` (``""`` for none), undecodable bytes replaced."""
    if node is None:
        return ""
    return node.text.decode("utf-8", "replace")


GENERIC_ARGS = re.compile(r"[<\[].*$", re.S)


# Pointers, references, Rust lifetimes and ``mut`` / ``dyn`` / ``const`` before a type: not part of its name.
_REFERENCE_PREFIX = re.compile(r"^(?:[\s*&]+|'\w+|(?:mut|dyn|const)\b)+")


def base_type_name(node: Node | None) -> str:
    """``*pkg.Server[T]`` / ``&'a mut Foo<T>`` / ``a::b::Foo<T>`` / ``Expected + 'a`` -> ``Server`` / ``Foo`` /
    ``Foo`` / ``Expected`` (a trait object's bounds are not its name)."""
    text = _REFERENCE_PREFIX.sub("", GENERIC_ARGS.sub("", node_text(node)).strip())
    text = text.split(" + ", 1)[0].strip()
    for sep in ("::", "."):
        text = text.rsplit(sep, 1)[-1]
    return text


def scoped(kind: str, name: str) -> tuple[str, str, str]:
    """``(kind, name, scope)`` from a ``::``-qualified name: ``a::b::C`` -> ``(kind, "C", "a.b")``."""
    scope, _, last = name.rpartition("::")
    return (kind, last, scope.replace("::", "."))


def field(node: Node, name: str) -> Node | None:
    """The child of ``node`` under the grammar field ``name``."""
    return node.child_by_field_name(name)


def named(kind: str, field_name: str = "name") -> Rule:
    """A rule: a ``kind`` named by the text of the field ``field_name``."""

    def rule(node: Node) -> tuple[str, str, str] | None:
        name = node_text(field(node, field_name))
        return (kind, name, "") if name else None

    return rule


def with_body(kind: str) -> Rule:
    """C-family ``struct x {...}``: a definition only when it has a body (``struct x *p`` is a use)."""

    def rule(node: Node) -> tuple[str, str, str] | None:
        if field(node, "body") is None:
            return None
        name_node = field(node, "name")
        if name_node is not None and name_node.type == "template_type":  # a specialisation: Foo<T*> is Foo
            name_node = field(name_node, "name")
        name = node_text(name_node)
        if not name:
            return None
        return scoped(kind, name)

    return rule
