"""Every supported language: the exact definitions (kind, qualified name, lines) of its file in fixtures/.

The expected tables were checked by hand against the fixture sources; line numbers are 1-based and inclusive.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repo_auditor.parsing.definitions import MAX_QUALIFIED_CHARS
from repo_auditor.repository.languages import PARSED_LANGUAGES, language_for
from repo_auditor.tools.symbol_index import KINDS, parse_definitions

EXPECTED = {
    "Sample.cs": [
        ("module", "Demo", 2, 29),
        ("interface", "Demo.IGreeter", 4, 7),
        ("method", "Demo.IGreeter.Greet", 6, 6),
        ("class", "Demo.Greeter", 9, 17),
        ("method", "Demo.Greeter.Greeter", 11, 11),
        ("method", "Demo.Greeter.Greet", 13, 16),
        ("struct", "Demo.Point", 19, 22),
        ("enum", "Demo.Mode", 24, 28),
    ],
    "Sample.java": [
        ("class", "Sample", 4, 19),
        ("method", "Sample.Sample", 7, 9),
        ("method", "Sample.toString", 11, 14),
        ("class", "Sample.Nested", 16, 18),
        ("method", "Sample.Nested.run", 17, 17),
        ("interface", "Greeter", 21, 23),
        ("method", "Greeter.greet", 22, 22),
        ("enum", "Level", 25, 32),
        ("method", "Level.isHigh", 29, 31),
    ],
    "sample.c": [
        ("macro", "MAX", 4, 4),
        ("macro", "SQUARE", 5, 5),
        ("struct", "point", 7, 10),
        ("type", "point_t", 12, 12),
        ("enum", "color", 14, 17),
        ("function", "add", 19, 22),
        ("function", "name", 24, 27),
        ("function", "main", 29, 33),
    ],
    "sample.cpp": [
        ("module", "geo", 4, 24),
        ("class", "geo.Shape", 6, 11),
        ("method", "geo.Shape.~Shape", 8, 8),
        ("method", "geo.Shape.area", 9, 9),
        ("method", "geo.Shape.label", 10, 10),
        ("struct", "geo.Square", 13, 16),
        ("method", "geo.Square.area", 15, 15),
        ("method", "geo.Square.area", 18, 20),
        ("type", "geo.Length", 22, 22),
        ("function", "twice", 27, 29),
    ],
    "sample.go": [
        ("struct", "Server", 4, 6),
        ("interface", "Handler", 8, 10),
        ("method", "Handler.Handle", 9, 9),
        ("type", "ID", 12, 12),
        ("function", "NewServer", 14, 16),
        ("method", "Server.Handle", 18, 20),
        ("method", "Server.Addr", 22, 24),
    ],
    "sample.js": [
        ("function", "greet", 2, 4),
        ("class", "Animal", 6, 18),
        ("method", "Animal.constructor", 7, 9),
        ("method", "Animal.speak", 11, 13),
        ("method", "Animal.create", 15, 17),
        ("function", "add", 20, 20),
        ("function", "counter", 22, 24),
    ],
    "sample.kt": [
        ("interface", "Greeter", 4, 6),
        ("method", "Greeter.greet", 5, 5),
        ("class", "Person", 8, 16),
        ("method", "Person.greet", 9, 11),
        ("class", "Person.Companion", 13, 15),
        ("method", "Person.Companion.create", 14, 14),
        ("class", "Registry", 18, 20),
        ("method", "Registry.register", 19, 19),
        ("enum", "Level", 22, 25),
        ("type", "Names", 27, 27),
        ("function", "main", 29, 31),
    ],
    "sample.php": [
        ("module", "App", 3, 3),
        ("interface", "Repository", 5, 8),
        ("method", "Repository.find", 7, 7),
        ("trait", "Loggable", 10, 16),
        ("method", "Loggable.log", 12, 15),
        ("class", "UserRepository", 18, 26),
        ("method", "UserRepository.find", 22, 25),
        ("function", "helper", 28, 31),
    ],
    "sample.py": [
        ("class", "Outer", 5, 20),
        ("class", "Outer.Inner", 8, 10),
        ("method", "Outer.Inner.method", 9, 10),
        ("method", "Outer.decorated", 14, 15),
        ("method", "Outer.fetch", 17, 20),
        ("function", "Outer.fetch.helper", 18, 19),
        ("function", "top_level", 23, 24),
        ("function", "conditional", 28, 29),
        ("type", "Alias", 32, 32),
    ],
    "sample.rb": [
        ("module", "Billing", 2, 16),
        ("class", "Billing.Invoice", 3, 15),
        ("method", "Billing.Invoice.initialize", 4, 6),
        ("method", "Billing.Invoice.build", 8, 10),
        ("method", "Billing.Invoice.total", 12, 14),
        ("function", "helper", 18, 20),
    ],
    "sample.rs": [
        ("struct", "Point", 2, 5),
        ("enum", "Shape", 7, 10),
        ("trait", "Area", 12, 14),
        ("method", "Area.area", 13, 13),
        ("impl", "Point", 16, 20),
        ("method", "Point.new", 17, 19),
        ("impl", "Shape", 22, 26),
        ("method", "Shape.area", 23, 25),
        ("module", "util", 28, 30),
        ("function", "util.helper", 29, 29),
        ("type", "Pair", 32, 32),
        ("macro", "square", 34, 38),
        ("function", "main", 40, 40),
    ],
    "sample.ts": [
        ("interface", "Shape", 2, 4),
        ("method", "Shape.area", 3, 3),
        ("type", "Point", 6, 6),
        ("enum", "Color", 8, 11),
        ("module", "Geometry", 13, 17),
        ("function", "Geometry.distance", 14, 16),
        ("class", "Base", 19, 21),
        ("method", "Base.name", 20, 20),
        ("class", "Circle", 23, 35),
        ("method", "Circle.constructor", 24, 26),
        ("method", "Circle.area", 28, 30),
        ("method", "Circle.name", 32, 34),
        ("function", "square", 37, 37),
    ],
    "sample.tsx": [
        ("interface", "Props", 2, 4),
        ("function", "Header", 6, 8),
        ("function", "Footer", 10, 10),
        ("class", "Page", 12, 16),
        ("method", "Page.render", 13, 15),
    ],
}


@pytest.mark.parametrize("file_name", sorted(EXPECTED))
def test_fixture_definitions_exactly(file_name: str, fixtures_dir: Path) -> None:
    language = language_for(file_name)
    definitions = parse_definitions(language, (fixtures_dir / file_name).read_bytes())
    got = [(d.kind, d.qualified_name, d.start_line, d.end_line) for d in definitions]
    assert got == EXPECTED[file_name]
    for d in definitions:
        assert d.qualified_name.endswith(d.name) and d.kind in KINDS


def test_every_parsed_language_has_a_fixture() -> None:
    covered = {language_for(name) for name in EXPECTED}
    assert covered == PARSED_LANGUAGES


def test_python_decorated_definition_starts_at_the_def_line_like_ast() -> None:
    source = b"@a\n@b(1)\ndef f():\n    pass\n\n@dataclass\nclass C:\n    x: int\n"
    got = [(d.name, d.start_line, d.end_line) for d in parse_definitions("python", source)]
    assert got == [("f", 3, 4), ("C", 7, 8)]


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        # Go: pointer and generic receivers both qualify with the bare type name.
        ("go", b"package p\nfunc (l *List[T]) Push(v T) {}\n", [("method", "List.Push")]),
        # Rust: generic impl and trait impl are named after the implementing type.
        (
            "rust",
            b"impl<T> Stack<T> { fn push(&mut self) {} }\nimpl fmt::Display for Stack<u8> {}\n",
            [("impl", "Stack"), ("method", "Stack.push"), ("impl", "Stack")],
        ),
        # C++: out-of-line definition inside nested scopes, operator and destructor names.
        (
            "cpp",
            b"namespace a::b { struct S { bool operator==(const S&) const; }; }\nS::~S() {}\n",
            [("module", "a.b"), ("struct", "a.b.S"), ("method", "a.b.S.operator=="), ("method", "S.~S")],
        ),
        # C: a function returning a pointer, a function-pointer typedef, a struct use (not a definition).
        (
            "c",
            b"static char **split(const char *s) { return 0; }\ntypedef int (*cmp_fn)(int, int);\n"
            b"struct point *origin;\n",
            [("function", "split"), ("type", "cmp_fn")],
        ),
        # JavaScript: function and class expressions bound to names, object-literal methods, anonymous
        # skipped.
        (
            "javascript",
            b"const f = function () {};\nconst K = class { m() {} };\nexport default function () {}\n",
            [("function", "f"), ("class", "K"), ("method", "K.m")],
        ),
        # Ruby: a class named with a scope, a singleton method.
        ("ruby", b"class A::B\n  def self.make; end\nend\n", [("class", "A.B"), ("method", "A.B.make")]),
        # Namespaces without braces are listed but do not qualify what follows; braced ones do.
        ("php", b"<?php\nnamespace App\\Models;\nclass A {}\n", [("module", "App.Models"), ("class", "A")]),
        ("php", b"<?php\nnamespace App { class A {} }\n", [("module", "App"), ("class", "App.A")]),
        ("csharp", b"namespace App;\nclass A {}\n", [("module", "App"), ("class", "A")]),
        # Declarations without a body are not definitions.
        ("c", b"int add(int a, int b);\nstruct s;\n", []),
        ("typescript", b"function f(a: string): void;\nfunction f(a: any) {}\n", [("function", "f")]),
        # Kotlin: a named companion object.
        (
            "kotlin",
            b"class A {\n    companion object Factory {\n        fun make() = A()\n    }\n}\n",
            [("class", "A"), ("class", "A.Factory"), ("method", "A.Factory.make")],
        ),
        # C#: a record, a delegate and a local function.
        (
            "csharp",
            b"record R(int X);\ndelegate void D();\nclass C { void M() { int L() => 1; } }\n",
            [("class", "R"), ("type", "D"), ("class", "C"), ("method", "C.M"), ("function", "C.M.L")],
        ),
    ],
)
def test_language_edge_cases(language: str, source: bytes, expected: list[tuple[str, str]]) -> None:
    assert [(d.kind, d.qualified_name) for d in parse_definitions(language, source)] == expected


def test_syntax_errors_still_yield_the_valid_definitions() -> None:
    source = (
        b"def good():\n    return 1\n\ndef broken(:\n    pass\n\n"
        b"class Fine:\n    def ok(self):\n        pass\n"
    )
    names = {d.qualified_name for d in parse_definitions("python", source)}
    assert {"good", "Fine", "Fine.ok"} <= names


@pytest.mark.parametrize("language", sorted(PARSED_LANGUAGES))
def test_empty_source_has_no_definitions(language: str) -> None:
    assert parse_definitions(language, b"") == []


@pytest.mark.parametrize("language", sorted(PARSED_LANGUAGES))
def test_garbage_bytes_do_not_break_the_parser(language: str) -> None:
    garbage = bytes(range(256)) * 40 + b"\xff\xfe class { def ( fn } struct \x00" * 50
    for d in parse_definitions(language, garbage):
        assert d.kind in KINDS and 1 <= d.start_line <= d.end_line


def test_absurdly_long_names_are_cut() -> None:
    name = "x" * 5000
    (definition,) = parse_definitions("python", f"def {name}(): pass\n".encode())
    assert len(definition.name) <= 200 and definition.name.endswith("...")


def test_adversarial_nesting_is_bounded() -> None:
    levels = 5000
    source = b"function a(){" * levels + b"}" * levels
    definitions = parse_definitions("javascript", source)
    assert 0 < len(definitions) < levels  # only definitions near the top of the syntax tree are reported
    assert all(len(d.qualified_name) <= MAX_QUALIFIED_CHARS for d in definitions)
    assert definitions[0].qualified_name == "a" and definitions[1].qualified_name == "a.a"
