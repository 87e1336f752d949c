"""Signatures: which inputs an RLM run receives and which typed outputs ``SUBMIT`` must provide.

Three ways to write one::

    "context, query -> answer"                                   # every field is str
    'repo_tree: str, question: str -> findings: list[dict] "one dict per finding", summary: str'
    class Audit:                                                  # a plain class
        "Find security bugs."                                     # the docstring is the instructions
        repo_tree: str = InputField(desc="the file tree")
        findings: list[dict] = OutputField(desc="one dict per finding")

A dspy ``Signature`` class is accepted too (duck-typed through its ``input_fields`` / ``output_fields``).
Types are parsed, never evaluated: ``str int float bool list dict Any`` and ``list[T]``, ``dict[K, V]``,
``T | None``, ``Optional[T]``, ``Literal["a", "b"]``. ``coerce`` checks and converts a submitted value to its declared
type and raises ``ValueError`` with a message written for the model.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
import typing
from dataclasses import dataclass, field
from typing import Any

from repo_auditor.errors import ConfigurationError

_SCALARS = ("str", "int", "float", "bool", "Any")
_CONTAINERS = ("list", "dict")
_ALIASES = {"List": "list", "Dict": "dict", "string": "str", "integer": "int", "number": "float",
            "boolean": "bool", "any": "Any", "tuple": "list", "Tuple": "list"}


@dataclass(frozen=True)
class TypeSpec:
    """A declared type: ``name`` is one of str/int/float/bool/Any/list/dict/optional/literal; ``args`` its parameters."""

    name: str
    args: tuple[TypeSpec, ...] = ()
    choices: tuple[Any, ...] = ()  # for literal

    def render(self) -> str:
        if self.name == "optional":
            return f"{self.args[0].render()} | None"
        if self.name == "literal":
            return f"Literal[{', '.join(json.dumps(c) for c in self.choices)}]"
        if self.args:
            return f"{self.name}[{', '.join(a.render() for a in self.args)}]"
        return self.name


STR = TypeSpec("str")


@dataclass(frozen=True)
class FieldSpec:
    """One input or output field: its name, declared type and description for the model."""

    name: str
    type: TypeSpec = STR
    desc: str = ""


@dataclass(frozen=True)
class Signature:
    """The parsed task: instructions, input fields and output fields, in order."""

    inputs: tuple[FieldSpec, ...]
    outputs: tuple[FieldSpec, ...]
    instructions: str = ""

    @property
    def input_names(self) -> list[str]:
        return [f.name for f in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [f.name for f in self.outputs]


@dataclass
class _FieldMarker:
    kind: str
    desc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def InputField(desc: str = "", **extra: Any) -> Any:
    """Mark a class attribute as an input field: ``repo_tree: str = InputField(desc="...")``."""
    return _FieldMarker("input", desc, extra)


def OutputField(desc: str = "", **extra: Any) -> Any:
    """Mark a class attribute as an output field: ``findings: list[dict] = OutputField(desc="...")``."""
    return _FieldMarker("output", desc, extra)


def make_signature(spec: Any, instructions: str | None = None) -> Signature:
    """Turn a signature string, a class with ``InputField``/``OutputField`` attributes, a dspy Signature class,
    or a ``Signature`` into a ``Signature``. Raises ``ConfigurationError`` naming the problem and the fix."""
    if isinstance(spec, Signature):
        sig = spec
    elif isinstance(spec, str):
        sig = parse_signature(spec)
    elif isinstance(spec, type) and hasattr(spec, "input_fields") and hasattr(spec, "output_fields"):
        sig = _from_dspy(spec)
    elif isinstance(spec, type):
        sig = _from_class(spec)
    else:
        raise ConfigurationError(
            f"signature must be a string like 'context, query -> answer' or a class, got {type(spec).__name__}"
        )
    if instructions is not None:
        sig = Signature(sig.inputs, sig.outputs, instructions)
    _check(sig)
    return sig


# ----------------------------------------------------------------------------------------------- string form


def parse_signature(text: str) -> Signature:
    """Parse ``'a: str "desc", b -> c: list[dict] "desc"'``. Types default to str; descriptions are quoted."""
    parts = _split_top(text, "->")
    if len(parts) != 2:
        raise ConfigurationError(
            f"signature {text!r} needs exactly one '->' between inputs and outputs, e.g. 'context, query -> answer'"
        )
    inputs = tuple(_parse_field(f, text) for f in _split_top(parts[0], ",") if f.strip())
    outputs = tuple(_parse_field(f, text) for f in _split_top(parts[1], ",") if f.strip())
    return Signature(inputs, outputs)


_FIELD_RE = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*(.*?))?\s*(?:"((?:[^"\\]|\\.)*)")?\s*$', re.DOTALL)


def _parse_field(chunk: str, whole: str) -> FieldSpec:
    match = _FIELD_RE.match(chunk)
    if not match:
        raise ConfigurationError(
            f"cannot read field {chunk.strip()!r} in signature {whole!r}; write 'name', 'name: type' or "
            f"'name: type \"description\"'"
        )
    name, type_text, desc = match.group(1), match.group(2), match.group(3)
    type_spec = parse_type(type_text) if type_text else STR
    desc = json.loads(f'"{desc}"') if desc else ""
    return FieldSpec(name, type_spec, desc)


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside brackets and double quotes."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return parts


def parse_type(text: str) -> TypeSpec:
    """Parse a type written as text (``list[dict]``, ``int | None``) without evaluating it."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ConfigurationError(f"cannot read type {text!r}; use e.g. str, int, list[str], dict[str, int]") from None
    return _type_from_ast(node, text)


def _type_from_ast(node: ast.AST, text: str) -> TypeSpec:
    if isinstance(node, ast.Name) or (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
        name = node.id if isinstance(node, ast.Name) else node.attr
        name = _ALIASES.get(name, name)
        if name in _SCALARS or name in _CONTAINERS:
            return TypeSpec(name)
        if name == "None":
            return TypeSpec("optional", (TypeSpec("Any"),))
    if isinstance(node, ast.Constant) and node.value is None:
        return TypeSpec("optional", (TypeSpec("Any"),))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = node.left, node.right
        if isinstance(right, ast.Constant) and right.value is None:
            return TypeSpec("optional", (_type_from_ast(left, text),))
        if isinstance(left, ast.Constant) and left.value is None:
            return TypeSpec("optional", (_type_from_ast(right, text),))
    if isinstance(node, ast.Subscript):
        base = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
        base = _ALIASES.get(base, base)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base == "Literal":
            if all(isinstance(i, ast.Constant) for i in items):
                return TypeSpec("literal", choices=tuple(i.value for i in items))
        elif base == "Optional" and len(items) == 1:
            return TypeSpec("optional", (_type_from_ast(items[0], text),))
        elif base == "list":
            return TypeSpec("list", (_type_from_ast(items[0], text),))
        elif base == "dict" and len(items) == 2:
            return TypeSpec("dict", (_type_from_ast(items[0], text), _type_from_ast(items[1], text)))
    raise ConfigurationError(
        f"unsupported type {text.strip()!r}; use str, int, float, bool, list, dict, Any, list[T], dict[K, V], "
        f"T | None or Literal[...]"
    )


def type_from_annotation(annotation: Any) -> TypeSpec:
    """Convert a real Python annotation (``list[dict]``, ``typing.Optional[int]``, a string) to a ``TypeSpec``."""
    if isinstance(annotation, str):
        return parse_type(annotation)
    if annotation is Any or annotation is None:
        return TypeSpec("Any")
    if annotation in (str, int, float, bool, list, dict):
        return TypeSpec(annotation.__name__)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return TypeSpec("literal", choices=tuple(args))
    if origin in (list, tuple) and args:
        return TypeSpec("list", (type_from_annotation(args[0]),))
    if origin is dict and len(args) == 2:
        return TypeSpec("dict", (type_from_annotation(args[0]), type_from_annotation(args[1])))
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return TypeSpec("optional", (type_from_annotation(rest[0]),))
    if origin in (list, dict):
        return TypeSpec(origin.__name__)
    raise ConfigurationError(
        f"unsupported type {annotation!r}; use str, int, float, bool, list, dict, Any, list[T], dict[K, V], "
        f"T | None or Literal[...]"
    )


# ----------------------------------------------------------------------------------------------- class forms


def _from_class(cls: type) -> Signature:
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError, AttributeError, SyntaxError) as exc:  # an unresolved name, a typo
        raise ConfigurationError(f"signature class {cls.__name__}: cannot read its annotations ({exc})") from None
    inputs, outputs = [], []
    for name, annotation in hints.items():
        marker = getattr(cls, name, None)
        if not isinstance(marker, _FieldMarker):
            raise ConfigurationError(
                f"signature class {cls.__name__}: field {name!r} needs a default of InputField(desc=...) or "
                f"OutputField(desc=...)"
            )
        spec = FieldSpec(name, type_from_annotation(annotation), marker.desc)
        (inputs if marker.kind == "input" else outputs).append(spec)
    return Signature(tuple(inputs), tuple(outputs), (cls.__doc__ or "").strip())


def _from_dspy(cls: type) -> Signature:
    def fields(mapping: dict[str, Any]) -> tuple[FieldSpec, ...]:
        out = []
        for name, info in mapping.items():
            extra = getattr(info, "json_schema_extra", None) or {}
            desc = extra.get("desc", "") if isinstance(extra, dict) else ""
            if desc == f"${{{name}}}":  # dspy's placeholder for "no description"
                desc = ""
            out.append(FieldSpec(name, type_from_annotation(getattr(info, "annotation", str)), desc))
        return tuple(out)

    return Signature(fields(cls.input_fields), fields(cls.output_fields), getattr(cls, "instructions", "") or "")


def _check(sig: Signature) -> None:
    if not sig.inputs:
        raise ConfigurationError("the signature has no input fields; write e.g. 'context, query -> answer'")
    if not sig.outputs:
        raise ConfigurationError("the signature has no output fields; write e.g. 'context, query -> answer'")
    names = sig.input_names + sig.output_names
    for name in names:
        if keyword.iskeyword(name) or not name.isidentifier():
            raise ConfigurationError(f"signature field {name!r} is not a valid Python name; rename it")
        if name.startswith("_"):
            raise ConfigurationError(f"signature field {name!r} starts with '_'; rename it")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigurationError(f"signature field(s) {', '.join(dupes)} appear more than once; give each a unique name")


# ----------------------------------------------------------------------------------------------- coercion


def coerce(value: Any, spec: TypeSpec, where: str) -> Any:
    """Return ``value`` converted to ``spec``; raise ``ValueError`` saying what is wrong at ``where`` (e.g.
    ``findings[2]['line']``) and what was expected. JSON text is accepted for list and dict."""
    name = spec.name
    if name == "Any":
        return value
    if name == "optional":
        return None if value is None else coerce(value, spec.args[0], where)
    if value is None:
        raise ValueError(f"{where} is None but must be {spec.render()}")
    if name == "literal":
        if value in spec.choices:
            return value
        raise ValueError(f"{where} is {_short(value)} but must be one of {', '.join(map(repr, spec.choices))}")
    if name == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)):
            return str(value)
        raise ValueError(f"{where} must be str, got {type(value).__name__}; convert it (e.g. json.dumps or join)")
    if name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(f"{where} must be bool (True or False), got {_short(value)}")
    if name == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return int(value)
        raise ValueError(f"{where} must be int, got {_short(value)}")
    if name == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError(f"{where} must be float, got {_short(value)}")
    if name == "list":
        value = _maybe_json(value, list)
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be {spec.render()}, got {type(value).__name__}")
        if not spec.args:
            return list(value)
        return [coerce(item, spec.args[0], f"{where}[{i}]") for i, item in enumerate(value)]
    if name == "dict":
        value = _maybe_json(value, dict)
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be {spec.render()}, got {type(value).__name__}")
        if not spec.args:
            return dict(value)
        return {
            coerce(k, spec.args[0], f"key of {where}"): coerce(v, spec.args[1], f"{where}[{k!r}]")
            for k, v in value.items()
        }
    raise ValueError(f"{where}: unknown type {spec.render()}")  # unreachable for parsed specs


def _maybe_json(value: Any, kind: type) -> Any:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, kind):
            return parsed
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def bind_submit(sig: Signature, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Map ``SUBMIT(*args, **kwargs)`` onto the output fields and coerce each value.

    Raises ``ValueError`` with every problem found, in a message that tells the model how to call SUBMIT again."""
    names = sig.output_names
    problems: list[str] = []
    given: dict[str, Any] = {}
    if len(args) > len(names):
        problems.append(f"SUBMIT got {len(args)} positional values but there are only {len(names)} output fields")
    for name, value in zip(names, args):
        given[name] = value
    for name, value in kwargs.items():
        if name not in names:
            problems.append(f"unknown output field {name!r}")
        elif name in given:
            problems.append(f"{name!r} was given both by position and by keyword")
        else:
            given[name] = value
    missing = [n for n in names if n not in given]
    if missing:
        problems.append(f"missing output field(s): {', '.join(missing)}")
    result: dict[str, Any] = {}
    for spec in sig.outputs:
        if spec.name in given:
            try:
                result[spec.name] = coerce(given[spec.name], spec.type, spec.name)
            except ValueError as exc:
                problems.append(str(exc))
    if problems:
        call = ", ".join(f"{f.name}=<{f.type.render()}>" for f in sig.outputs)
        raise ValueError("; ".join(problems) + f". Call SUBMIT({call}) again with every field.")
    return result
