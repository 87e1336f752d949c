"""Signature parsing (strings and classes) and the coercion of submitted values, one table row per case."""

from __future__ import annotations

from typing import Literal

import pytest

from repo_auditor.errors import ConfigurationError
from repo_auditor.rlm.signature import (
    InputField,
    OutputField,
    bind_submit,
    coerce,
    make_signature,
    parse_type,
)


@pytest.mark.parametrize(
    ("text", "inputs", "outputs"),
    [
        ("context, query -> answer", [("context", "str", ""), ("query", "str", "")], [("answer", "str", "")]),
        ("repo_tree: str, question: str -> findings: list[dict]",
         [("repo_tree", "str", ""), ("question", "str", "")], [("findings", "list[dict]", "")]),
        ('log: str "the raw log", q -> answer: str "one paragraph"',
         [("log", "str", "the raw log"), ("q", "str", "")], [("answer", "str", "one paragraph")]),
        ('a -> b: str "uses, commas -> and arrows"', [("a", "str", "")], [("b", "str", "uses, commas -> and arrows")]),
        ("a -> counts: dict[str, int], n: int | None, ok: bool",
         [("a", "str", "")], [("counts", "dict[str, int]", ""), ("n", "int | None", ""), ("ok", "bool", "")]),
        ("a -> xs: List[str], y: Optional[float]", [("a", "str", "")],
         [("xs", "list[str]", ""), ("y", "float | None", "")]),
        ('a -> level: Literal["low", "high"]', [("a", "str", "")], [("level", 'Literal["low", "high"]', "")]),
        ('a -> b "say \\"hi\\""', [("a", "str", "")], [("b", "str", 'say "hi"')]),
        ("  a ,b->c  ", [("a", "str", ""), ("b", "str", "")], [("c", "str", "")]),
    ],
)
def test_string_signatures(text, inputs, outputs):
    sig = make_signature(text)
    assert [(f.name, f.type.render(), f.desc) for f in sig.inputs] == inputs
    assert [(f.name, f.type.render(), f.desc) for f in sig.outputs] == outputs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("context, query", "exactly one '->'"),
        ("a -> b -> c", "exactly one '->'"),
        ("-> answer", "no input fields"),
        ("a ->", "no output fields"),
        ("a, a -> b", "more than once"),
        ("a -> class", "not a valid Python name"),
        ("a -> _x", "starts with '_'"),
        ("a -> b: set[int]", "unsupported type"),
        ("a -> b: __import__('os')", "unsupported type"),
        ("a -> b: list[", "cannot read type"),
        ("a -> 1b", "cannot read field"),
    ],
)
def test_bad_string_signatures(text, message):
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        make_signature(text)


def test_class_signature_with_descriptions_and_instructions():
    class Audit:
        """Find security bugs."""

        repo_tree: str = InputField(desc="the file tree")
        question: str = InputField()
        findings: list[dict] = OutputField(desc="one dict per finding")
        severity: Literal["low", "high"] | None = OutputField()

    sig = make_signature(Audit)
    assert sig.instructions == "Find security bugs."
    assert [(f.name, f.desc) for f in sig.inputs] == [("repo_tree", "the file tree"), ("question", "")]
    assert [(f.name, f.type.render()) for f in sig.outputs] == [
        ("findings", "list[dict]"), ("severity", 'Literal["low", "high"] | None')]


def test_class_field_without_marker_is_rejected():
    class Bad:
        a: str = InputField()
        b: str

    with pytest.raises(ConfigurationError, match="'b' needs a default of InputField"):
        make_signature(Bad)


def test_duck_typed_dspy_signature():
    class Info:
        def __init__(self, annotation, desc):
            self.annotation = annotation
            self.json_schema_extra = {"desc": desc, "__dspy_field_type": "x"}

    class DspyLike:
        instructions = "Answer it."
        input_fields = {"context": Info(str, "${context}")}
        output_fields = {"answer": Info(list[str], "short answers")}

    sig = make_signature(DspyLike)
    assert sig.instructions == "Answer it."
    assert (sig.inputs[0].name, sig.inputs[0].desc) == ("context", "")
    assert (sig.outputs[0].type.render(), sig.outputs[0].desc) == ("list[str]", "short answers")


def test_instructions_argument_overrides():
    assert make_signature("a -> b", "Do it well.").instructions == "Do it well."


def test_non_signature_object_is_rejected():
    with pytest.raises(ConfigurationError, match="must be a string like"):
        make_signature(42)


@pytest.mark.parametrize(
    ("type_text", "value", "expected"),
    [
        ("str", "x", "x"),
        ("str", 3, "3"),
        ("int", 3, 3),
        ("int", 3.0, 3),
        ("int", " 42 ", 42),
        ("float", 2, 2.0),
        ("float", "2.5", 2.5),
        ("bool", True, True),
        ("bool", "false", False),
        ("bool", 1, True),
        ("list", (1, 2), [1, 2]),
        ("list[str]", ["a", 1], ["a", "1"]),
        ("list[dict]", '[{"a": 1}]', [{"a": 1}]),
        ("dict[str, int]", {"a": "2"}, {"a": 2}),
        ("dict", '{"k": [1]}', {"k": [1]}),
        ("int | None", None, None),
        ("Any", {1, 2}, {1, 2}),
        ('Literal["low", "high"]', "low", "low"),
    ],
)
def test_coerce_accepts(type_text, value, expected):
    assert coerce(value, parse_type(type_text), "x") == expected


@pytest.mark.parametrize(
    ("type_text", "value", "message"),
    [
        ("str", ["a"], "x must be str, got list"),
        ("int", True, "x must be int"),
        ("int", 2.5, "x must be int"),
        ("int", "two", "x must be int"),
        ("float", "abc", "x must be float"),
        ("bool", "yes", "x must be bool"),
        ("list[dict]", [{"a": 1}, 3], r"x\[1\] must be dict"),
        ("dict[str, int]", {"a": "z"}, r"x\['a'\] must be int"),
        ("list", "not json", "x must be list, got str"),
        ("str", None, "x is None"),
        ('Literal["low", "high"]', "mid", "must be one of 'low', 'high'"),
    ],
)
def test_coerce_rejects(type_text, value, message):
    with pytest.raises(ValueError, match=message):
        coerce(value, parse_type(type_text), "x")


SIG = make_signature("a -> answer: str, count: int")


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ([], {"answer": "x", "count": 2}, {"answer": "x", "count": 2}),
        (["x", "2"], {}, {"answer": "x", "count": 2}),
        (["x"], {"count": 2}, {"answer": "x", "count": 2}),
    ],
)
def test_bind_submit_accepts(args, kwargs, expected):
    assert bind_submit(SIG, args, kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ([], {"answer": "x"}, "missing output field\\(s\\): count"),
        (["x", 1, 2], {}, "3 positional values but there are only 2"),
        (["x"], {"answer": "y", "count": 1}, "'answer' was given both"),
        ([], {"answer": "x", "count": 1, "extra": 1}, "unknown output field 'extra'"),
        ([], {"answer": "x", "count": "many"}, "count must be int"),
    ],
)
def test_bind_submit_rejects_with_how_to_fix(args, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        bind_submit(SIG, args, kwargs)
    assert "Call SUBMIT(answer=<str>, count=<int>) again" in str(info.value)
