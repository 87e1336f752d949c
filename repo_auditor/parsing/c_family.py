"""Definition rules of C and C++: declarator chains, annotation and export macros, member declarations.

Both grammars share one table (``C_RULES``; ``CPP_RULES`` adds classes, namespaces and members). Macros are not
expanded, so the shapes real headers produce without a preprocessor (``class GTEST_API_ X {``,
``void f() LOCKS_EXCLUDED(mu) {``) are recognised here; ``prepare_cpp`` blanks what tree-sitter cannot recover from.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from repo_auditor.parsing.nodes import GENERIC_ARGS, Rule, field, named, node_text, scoped, with_body

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
        inner = field(declarator, "declarator")
        if inner is None:  # parenthesized_declarator has no field name
            inner = next((c for c in declarator.named_children), None)
        declarator = inner
    if declarator is not None and declarator.type == "operator_cast":  # ``explicit operator bool() const``
        return ("", "operator " + node_text(field(declarator, "type")))
    if declarator is None or declarator.type != "function_declarator":
        return None
    target = field(declarator, "declarator")
    if target is not None and target.type == "function_declarator":
        return _macro_built_name(target)
    if target is None or target.type not in _FUNCTION_NAMES:
        return None
    full = GENERIC_ARGS.sub("", node_text(target)) if target.type == "template_function" else node_text(target)
    if target.type == "qualified_identifier" and target.has_error:
        # ``GTEST_API_ std::string F(...)``: a leading export macro makes the return type read as a scope
        # (``std::string F`` with a MISSING ``::``); the name is the last identifier, with no scope.
        return ("", full.rsplit("::", 1)[-1].split()[-1])
    if target.type == "qualified_identifier":
        scope, _, name = full.rpartition("::")
        return (GENERIC_ARGS.sub("", scope).replace("::", ".").strip("."), name)
    return ("", full)


def _macro_built_name(declarator: Node) -> tuple[str, str] | None:
    """``double FN(BrotliPopulationCost)(const Histogram* h) {``: a name built by a macro (brotli's ``*_inc.h``
    templates) is the macro's one argument, the part written in the source (the expansion is not known here)."""
    macro, parameters = field(declarator, "declarator"), field(declarator, "parameters")
    if macro is None or macro.type != "identifier" or not _MACRO_NAME.match(node_text(macro)) or parameters is None:
        return None
    arguments = parameters.named_children
    if len(arguments) != 1 or arguments[0].type != "parameter_declaration" or field(arguments[0], "declarator"):
        return None
    name = field(arguments[0], "type")
    return ("", node_text(name)) if name is not None and name.type in ("type_identifier", "identifier") else None


# An annotation macro after the parameters (``void Lock() GTEST_LOCK_EXCLUDED_(mu_)``) is spelled in capitals.
_MACRO_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")


def _c_function(node: Node) -> tuple[str, str, str] | None:
    found = _c_function_name(field(node, "declarator"))
    if found is None or not found[1]:
        return None
    if field(node, "type") is None and _MACRO_NAME.match(found[1]):
        # A macro name with a body and no return type: an annotation after a declaration, else a macro that
        # defines a function (``TEST(Suite, Name) {...}``), named by the macro as ctags does.
        annotated = _annotated_definition(node)
        if annotated is not None:
            return annotated
        if _annotates_previous(node, "field_declaration"):
            return None  # ``virtual void f()`` / ``MACRO(mu) = 0;``: the member before is listed
    scope, name = found
    return ("method" if scope else "function", name, scope)


# ``class GTEST_API_ AssertHelper {``: an export macro between ``class`` and the name makes tree-sitter read the
# whole class as a function; it is blanked (same length, so lines and offsets stay) before parsing.
_CLASS_EXPORT_MACRO = re.compile(
    rb"(?<=\bclass )[A-Z][A-Z0-9_]*[A-Z0-9_](?=[ \t]+[A-Za-z_]\w*(?:[ \t]+final)?[ \t]*[:{\n])"
    # fmt's ``FMT_CLASS_API`` alone on the line before ``class``
    rb"|^[ \t]*[A-Z][A-Z0-9_]*_[A-Z0-9_]*[ \t]*(?=\n[ \t]*(?:class|struct)\b)",
    re.M,
)


def _annotated_definition(node: Node) -> tuple[str, str, str] | None:
    """``void Mutex::Unlock() GTEST_UNLOCK_FUNCTION_(mu_) {...}``: tree-sitter reads ``void Mutex::Unlock()`` as a
    declaration missing its ``;`` and the macro as the name of an untyped function. The name is the
    declaration's, when it ends on the line where the function starts or the line before."""
    if not _annotates_previous(node, "declaration"):
        return None
    previous = node.prev_sibling
    target = field(previous, "declarator")
    found = _c_function_name(target)  # ``bool A::f() const MACRO(mu) {``, ``const T* A::f() MACRO(mu) {``
    if found is not None:
        if not found[1]:
            return None
        scope, name = found
    elif target is not None and target.type == "init_declarator":  # ``void A::f() MACRO(mu) {``
        target = field(target, "declarator")
        if target is None or target.type not in ("identifier", "qualified_identifier", "destructor_name"):
            return None
        _, name, scope = scoped("function", node_text(target))
    else:
        return None
    return ("method" if scope else "function", name, scope, previous.start_point.row + 1)


def _annotates_previous(node: Node, kind: str) -> bool:
    """``node`` is an annotation macro read as a definition of its own, right after a ``kind`` node that misses
    its ``;`` (on the same line or the one before)."""
    previous = node.prev_sibling
    return (
        previous is not None
        and previous.type == kind
        and bool(previous.children)
        and previous.children[-1].is_missing
        and node.start_point.row - previous.end_point.row in (0, 1)
    )


def _cpp_member_declaration(node: Node) -> tuple[str, str, str] | None:
    """``virtual double area() const = 0;`` inside a class body declares a method (so does a member template,
    ``template <typename T> static void Accept(T);``, a ``declaration`` under a ``template_declaration``)."""
    parent = node.parent
    if parent is not None and node.type == "declaration" and parent.type == "template_declaration":
        parent = parent.parent
    if parent is None or parent.type != "field_declaration_list":
        return None
    found = _c_function_name(field(node, "declarator"))
    if found is None or not found[1]:
        return None
    if _MACRO_NAME.match(found[1]):
        # ``void Lock() GTEST_EXCLUSIVE_LOCK_REQUIRED_(mu_);``: the real declarator sits in an ERROR node before
        # the macro, which tree-sitter reads as the declarator.
        for child in node.children:
            if child.type == "ERROR":
                inner = next((c for c in child.named_children if c.type == "function_declarator"), None)
                named = _c_function_name(inner) if inner is not None else None
                if named is not None and named[1]:
                    return ("method", named[1], named[0])
        if _annotates_previous(node, "field_declaration"):
            return None  # the annotation of the member declared just before, on its own line
    return ("method", found[1], found[0])  # MOCK_METHOD(int, f, ()) is named by its macro, as ctags does


def _c_typedef(node: Node) -> tuple[str, str, str] | None:
    """``typedef struct s {...} s_t;`` defines ``s_t``; tree-sitter reads the standard names (``typedef __int16
    int16_t;``) as a primitive type."""
    declarator = field(node, "declarator")
    while declarator is not None and declarator.type not in ("type_identifier", "primitive_type"):
        inner = field(declarator, "declarator")
        if inner is None:
            inner = next((c for c in declarator.named_children), None)
        declarator = inner
    name = node_text(declarator)
    return ("type", name, "") if name else None


def _cpp_namespace(node: Node) -> tuple[str, str, str] | None:
    name = node_text(field(node, "name"))
    if not name:  # anonymous namespace: no definition, and its contents stay unqualified
        return None
    return scoped("module", name)


def prepare_cpp(source: bytes) -> bytes:
    """``source`` with export macros between ``class`` and the name blanked (same length: lines stay), then
    ``prepare_c``."""
    return prepare_c(_CLASS_EXPORT_MACRO.sub(lambda m: b" " * len(m.group(0)), source))


def prepare_c(source: bytes) -> bytes:
    """``source`` with block comments inside multi-line macros blanked (tree-sitter ends the macro at such a
    comment, and brotli's ``decode.h`` became one error from there to its end) and the alternative branches of
    an unbalanced ``#if`` blanked (``blank_alternative_branches``). Same length: lines and offsets stay."""
    if b"/*" in source and b"\\\n" in source:
        source = _MULTILINE_MACRO.sub(
            lambda m: _BLOCK_COMMENT.sub(lambda c: bytes(b if b == 0x0A else 0x20 for b in c.group(0)), m.group(0)),
            source,
        )
    return blank_alternative_branches(source)


_MULTILINE_MACRO = re.compile(rb"^[ \t]*#[ \t]*define\b[^\n]*\\\n(?:[^\n]*\\\n)*[^\n]*", re.M)
_BLOCK_COMMENT = re.compile(rb"/\*.*?\*/", re.S)


_CONDITIONAL = re.compile(rb"^[ \t]*#[ \t]*(ifdef|ifndef|if|elif|else|endif)\b[^\n]*", re.M)
_NOT_CODE = re.compile(rb'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|//[^\n]*|/\*.*?\*/', re.S)


def _brace_balance(code: bytes) -> int:
    code = _NOT_CODE.sub(b"", code)
    return code.count(b"{") - code.count(b"}")


def _blank(source: bytearray, start: int, end: int) -> None:
    source[start:end] = bytes(b if b == 0x0A else 0x20 for b in source[start:end])


def blank_alternative_branches(source: bytes) -> bytes:
    """C/C++ source where each ``#if`` whose first branch opens or closes a brace it does not match (``#if X`` /
    ``TEST(A, B) {`` / ``#else`` / ``TEST(A, C) {`` / ``#endif``) keeps only that first branch, as the
    preprocessor would for one configuration: the directives and the other branches are blanked (same length,
    lines stay). tree-sitter otherwise sees two openings and one closing brace, and one definition swallows the
    rest of the file. Balanced conditionals are left alone (their every branch is indexed)."""
    if b"#" not in source:
        return source
    groups: list[list[list[int]]] = []  # per #if: [directive start, directive end] of each #if/#elif/#else/#endif
    stack: list[list[list[int]]] = []
    for match in _CONDITIONAL.finditer(source):
        word, span = match.group(1), [match.start(), match.end()]
        if word.startswith(b"if"):
            stack.append([span])
        elif stack:
            stack[-1].append(span)
            if word == b"endif":
                groups.append(stack.pop())
    edited: bytearray | None = None
    for directives in groups:
        if len(directives) < 3:  # no #else / #elif
            continue
        (_, first_start), (second, _) = directives[0], directives[1]
        if _brace_balance(source[first_start:second]) == 0:
            continue
        edited = edited if edited is not None else bytearray(source)
        _blank(edited, directives[0][0], directives[0][1])
        _blank(edited, second, directives[-1][1])
    return bytes(edited) if edited is not None else source


C_RULES: dict[str, Rule] = {
    "function_definition": _c_function,
    "struct_specifier": with_body("struct"),
    "union_specifier": with_body("struct"),
    "enum_specifier": with_body("enum"),
    "type_definition": _c_typedef,
    "preproc_def": named("macro"),
    "preproc_function_def": named("macro"),
}

CPP_RULES: dict[str, Rule] = {
    **C_RULES,
    "class_specifier": with_body("class"),
    "namespace_definition": _cpp_namespace,
    "alias_declaration": named("type"),
    "field_declaration": _cpp_member_declaration,
    "declaration": _cpp_member_declaration,
}
