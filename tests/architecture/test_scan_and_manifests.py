"""Per-file import extraction and build-file parsing, one row per case; hostile build files become notes."""

from __future__ import annotations

import pytest

from repo_auditor.architecture import build_inventory
from repo_auditor.architecture.manifests import ManifestError, parse_manifest
from repo_auditor.parsing.imports import FileScan, scan_source
from repo_auditor.repository import Repository


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        ("python", "import a.b as c, d\n", [("a.b", 1, ()), ("d", 1, ())]),
        ("python", "from ..x.y import z, w as q\n", [("..x.y", 1, ("z", "w"))]),
        ("python", "from . import m\n", [(".", 1, ("m",))]),
        ("python", "from .k import *\n", [(".k", 1, ())]),
        ("python", "def f():\n    import lazy\n", [("lazy", 2, ())]),
        ("python", "s = 'import fake'\n# import nope\n", []),
        ("javascript", "import x from './a';\nexport * from \"../b\";\n", [("./a", 1, ()), ("../b", 2, ())]),
        (
            "javascript",
            "const y = require('pkg/sub');\nload('no');\nimport('dyn');\n",
            [("pkg/sub", 1, ()), ("dyn", 3, ())],
        ),
        ("javascript", "const z = require(name);\n// require('c')\n", []),
        (
            "typescript",
            "import type { T } from '@s/p';\nexport { a } from './a';\n",
            [("@s/p", 1, ()), ("./a", 2, ())],
        ),
        ("tsx", "import React from 'react';\nconst A = () => <div/>;\n", [("react", 1, ())]),
        (
            "go",
            'package x\nimport (\n\t"fmt"\n\tz "ex.com/m/p"\n)\n',
            [("fmt", 3, ()), ("ex.com/m/p", 4, ())],
        ),
        (
            "rust",
            "use crate::a::b;\nuse other::{x, y};\nuse ::abs::q;\nextern crate foo;\nmod m;\n",
            [("crate", 1, ("a::b",)), ("other", 2, ("x", "y")), ("abs", 3, ("q",)), ("foo", 4, ())],
        ),
        (
            "rust",
            "use crate::{ast, hir::{self, Hir as H}, *};\nuse super::super::x::Y;\nuse super::*;\n",
            [("crate", 1, ("ast", "hir", "hir::Hir", "")), ("super", 2, ("super::x::Y",)), ("super", 3, ())],
        ),
        (  # paths in code, each once; ``pub(crate)`` is no path
            "rust",
            "pub(crate) fn f() -> crate::a::B<T> {\n    crate::a::B::new(); crate::a::B::new(); self::c::d()\n}\n",
            [("crate", 1, ("a::B",)), ("crate", 2, ("a::B::new",)), ("self", 2, ("c::d",))],
        ),
        (  # inside an inline module, super and self are read from the file's module
            "rust",
            "mod inner {\n    use super::a;\n    use super::super::b;\n    use self::c;\n}\n",
            [("self", 2, ("a",)), ("super", 3, ("b",)), ("self", 4, ("inner::c",))],
        ),
        (  # the body of a macro invocation is parsed again; a macro_rules! template is not code
            "rust",
            "cfg_rt! {\n    pub use crate::runtime::{Handle, task::JoinHandle};\n}\n"
            "macro_rules! m { () => { use tokio::X; } }\n",
            [("crate", 2, ("runtime::Handle", "runtime::task::JoinHandle"))],
        ),
        (
            "java",
            "package a.b;\nimport c.d.E;\nimport static f.g.H.i;\nimport j.k.*;\n",
            [("c.d.E", 2, ()), ("f.g.H.i", 3, ()), ("j.k.*", 4, ())],
        ),
    ],
)
def test_imports(language, source, expected):
    scan = scan_source(language, source.encode())
    assert [(i.spec, i.line, i.names) for i in scan.imports] == expected


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        ("python", "if __name__ == '__main__':\n    main()\n", [("python-main", 1)]),
        ("python", "    if __name__ == '__main__':\n", []),  # nested: not the module's main block
        ("go", "package lib\nfunc main() {}\n", []),
        ("go", "package main\nfunc main() {}\n", [("go-main", 2)]),
        ("java", "class A {\n  public static void main(String[] a) {}\n}\n", [("java-main", 2)]),
        ("javascript", "// app.listen(1)\nserver.listen(8080);\n", [("server", 2)]),
    ],
)
def test_entry_lines(language, source, expected):
    assert [(e.kind, e.line) for e in scan_source(language, source.encode()).entries] == expected


def test_rust_test_code_and_test_modules():
    source = (
        "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\n#[cfg(all(test, not(loom)))]\nmod loom_tests;\n"
        '#[cfg(feature = "x")]\nmod feature;\n#[cfg(test)]\nfn helper() { crate::c::f(); }\n'
    )
    scan = scan_source("rust", source.encode())
    assert [(i.spec, i.names, i.test) for i in scan.imports] == [
        ("crate", ("a",), False),
        ("crate", ("b",), True),
        ("crate", ("c::f",), True),
    ]
    assert scan.test_modules == ["loom_tests"]
    assert FileScan.from_json(scan.to_json()) == scan
    whole = scan_source("rust", b"#![cfg(test)]\nuse crate::a;\n")
    assert [i.test for i in whole.imports] == [True]


def test_java_and_go_package_declarations():
    assert scan_source("java", b"package com.acme.core;\nclass A {}\n").package == "com.acme.core"
    assert scan_source("go", b"package main\n").package == "main"


@pytest.mark.parametrize(
    ("path", "text", "check"),
    [
        (
            "pyproject.toml",
            '[tool.poetry]\nname = "p"\n[tool.poetry.dependencies]\npython = "^3.10"\nrich = "^13"\n'
            '[tool.poetry.scripts]\np = "p.cli:run"\n',
            lambda m: (
                [(d.name, d.spec) for d in m.dependencies] == [("rich", "^13")]
                and [(e.name, e.line, e.target) for e in m.entry_points] == [("p", 7, "p.cli:run")]
            ),
        ),
        (
            "setup.cfg",
            "[metadata]\nname = legacy\n[options]\ninstall_requires =\n    six>=1\n"
            "[options.entry_points]\nconsole_scripts =\n    legacy = legacy.main:run\n",
            lambda m: (
                m.name == "legacy"
                and [d.name for d in m.dependencies] == ["six"]
                and [(e.name, e.line) for e in m.entry_points] == [("legacy", 8)]
            ),
        ),
        (  # issue 17: version markers printed raw
            "pyproject.toml",
            '[project]\nname = "p"\ndependencies = [\'requests>=2; python_version<"3.8"\', '
            '"urllib3[socks] (>=1.26, <3)", "pkg @ https://example.com/pkg.zip"]\n',
            lambda m: [(d.name, d.spec) for d in m.dependencies]
            == [("requests", ">=2"), ("urllib3", ">=1.26, <3"), ("pkg", "")],
        ),
        (  # issue 17: setup.py install_requires not read
            "setup.py",
            "from setuptools import setup\nsetup(name='old', install_requires=['six>=1.0', 'attrs'],\n"
            "      tests_require=['pytest'])\n",
            lambda m: m.name == "old"
            and [(d.name, d.spec, d.dev) for d in m.dependencies]
            == [("six", ">=1.0", False), ("attrs", "", False), ("pytest", "", True)],
        ),
        (  # issue 17: requirements files not read; they declare dependencies, not a project
            "requirements-dev.txt",
            "-r requirements.txt\n# tools\nblack==24.1 ; python_version >= '3.9'  # formatter\n"
            "-e .\ngit+https://example.com/x.git\n",
            lambda m: m.dependencies_only and [(d.name, d.spec, d.dev) for d in m.dependencies]
            == [("black", "==24.1", True)],
        ),
        (
            "pkg/package.json",
            '{"name": "x", "bin": "cli.js", "workspaces": {"packages": ["a/*"]}}',
            lambda m: (
                [(e.kind, e.name, e.target) for e in m.entry_points] == [("npm-bin", "x", "pkg/cli.js")]
            ),
        ),
        (
            "go.mod",
            "module example.com/m\n\nrequire example.com/dep v1.2.3\n",
            lambda m: (
                m.go_module == "example.com/m"
                and [(d.name, d.spec) for d in m.dependencies] == [("example.com/dep", "v1.2.3")]
            ),
        ),
        (
            "m/build.gradle",
            "dependencies {\n    implementation 'org.a:b:1.0'\n"
            '    testImplementation("junit:junit:4")\n}\n',
            lambda m: (
                [(d.name, d.spec, d.dev) for d in m.dependencies]
                == [("org.a:b", "1.0", False), ("junit:junit", "4", True)]
            ),
        ),
    ],
)
def test_manifest_parsing(path, text, check):
    assert check(parse_manifest(path, text))


@pytest.mark.parametrize(
    ("path", "text", "reason"),
    [
        ("pyproject.toml", "[project\nname=", "TOMLDecodeError"),
        ("package.json", "{not json", "JSONDecodeError"),
        ("package.json", "[1, 2]", "not a JSON object"),
        ("go.mod", "require x v1\n", "no module line"),
        (
            "pom.xml",
            '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><project>&a;</project>',
            "XML entities",
        ),
        ("pom.xml", "<project><unclosed></project>", "ParseError"),
        ("Cargo.toml", "[package]\nname = 1 2\n", "TOMLDecodeError"),
    ],
)
def test_malformed_manifests_raise_one_line_errors(path, text, reason):
    with pytest.raises(ManifestError, match=reason) as caught:
        parse_manifest(path, text)
    assert "\n" not in str(caught.value) and path in str(caught.value)


def test_malformed_build_files_become_notes_not_failures(tmp_path):
    root = tmp_path / "repo"
    (root / "web").mkdir(parents=True)
    (root / "web" / "package.json").write_text("{broken")
    (root / "web" / "index.js").write_text("require('./util')\n")
    (root / "web" / "util.js").write_text("module.exports = 1\n")
    (root / "pyproject.toml").write_text("[project\n")
    with Repository.open(root, cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c")
    assert sorted(inv.notes)[:2] == [
        "build file not understood, ignored: pyproject.toml: TOMLDecodeError: "
        "Expected ']' at the end of a table "
        "declaration (at line 1, column 9)",
        "build file not understood, ignored: web/package.json: JSONDecodeError: "
        "Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)",
    ]
    assert {(c.name, c.kind) for c in inv.components} == {("web", "directory"), ("(root)", "directory")}


def write_tree(root, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def test_gradle_modules_and_java_imports(tmp_path):
    write_tree(
        tmp_path / "repo",
        {
            "settings.gradle": "rootProject.name = 'shop'\ninclude 'app', 'lib'\n",
            "app/build.gradle": "dependencies {\n    implementation project(':lib')\n"
            "    implementation 'com.squareup.okhttp3:okhttp:4.12.0'\n}\n",
            "app/src/main/java/shop/app/App.java": "package shop.app;\nimport shop.lib.*;\nclass App {}\n",
            "lib/build.gradle.kts": 'dependencies {\n    testImplementation("junit:junit:4.13.2")\n}\n',
            "lib/src/main/java/shop/lib/Util.java": "package shop.lib;\nclass Util {}\n",
        },
    )
    with Repository.open(tmp_path / "repo", cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c")
    assert {(c.name, c.kind, c.root) for c in inv.components} == {
        ("(root)", "directory", ""),
        ("app", "java-module", "app"),
        ("lib", "java-module", "lib"),
    }
    assert [(e.source, e.target, e.count) for e in inv.edges] == [("app", "lib", 1)]
    assert [(d.name, d.spec, d.component, d.dev) for d in inv.dependencies] == [
        ("com.squareup.okhttp3:okhttp", "4.12.0", "app", False),
        ("junit:junit", "4.13.2", "lib", True),
    ]


def test_hostile_build_file_names_cannot_break_components(tmp_path):
    write_tree(
        tmp_path / "repo",
        {
            "a/package.json": '{"name": "same"}',
            "a/index.js": "require('same')\n",
            "b/package.json": '{"name": "same"}',
            "b/index.js": "",
            "c/package.json": '{"name": "same (b)"}',
            "d/pyproject.toml": '[project]\nname = 5\ndependencies = "not a list"\n',
            "d/mod.py": "x = 1\n",
        },
    )
    with Repository.open(tmp_path / "repo", cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c")
    assert sorted((c.name, c.root) for c in inv.components) == [
        ("d", "d"),
        ("same", "a"),
        ("same (b)", "b"),
        ("same (b) (c)", "c"),
    ]
    assert [d.name for d in inv.dependencies] == []
    # a package name claimed twice resolves to the first package, never to a made-up name
    assert [(e.source, e.target) for e in inv.edges] == []


class RecordingFinder:
    """A symbol index that records what it was asked for and knows one function per file asked."""

    def __init__(self):
        self.asked: list[str | None] = []

    def find(self, path=None, name=None, kind=None):
        from repo_auditor.tools.symbol_index import Symbol

        self.asked.append(path)
        return [Symbol(path or "x.py", "f", "f", "function", 1, 3, "python")]


VENDORED_TREE = {
    "app/main.py": "from vendor import lib\n\n\ndef main():\n    return lib\n",
    "vendor/lib.py": "def huge():\n" + "    x = 1\n" * 50,
    "run.py": "def go():\n    pass\n",
    "package-lock.json": "{}\n",
}


def test_vendored_and_generated_files_are_counted_apart_and_not_indexed(tmp_path):
    write_tree(tmp_path / "repo", VENDORED_TREE)
    finder = RecordingFinder()
    with Repository.open(tmp_path / "repo", cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c", symbols=finder)
        real = build_inventory(repo, cache_path=tmp_path / "c")
    assert finder.asked == ["app", "run.py"]  # never "vendor"
    assert (inv.files, inv.excluded_files) == (2, 2)
    python = next(s for s in inv.languages if s.language == "python")
    assert (python.files, python.excluded_files, python.excluded_lines) == (2, 1, 51)
    assert {c.name for c in real.components} == {"app", "(root)"}
    assert real.edges == []  # the vendored module is not part of the graph
    assert [f.name for f in real.largest_functions] == ["main", "go"]
    assert {c.name: c.symbols for c in real.components} == {"app": 1, "(root)": 1}


def test_odd_folder_names_with_vendored_code_still_get_their_symbols(tmp_path):
    """The index reads a backslash in a path as a separator; the inventory then falls back to indexing all."""
    names = ["x\\y", "-rf", "...", "$(id)", "a b"]
    write_tree(tmp_path / "repo", {f"{n}/m.py": "def f():\n    return 1\n" for n in names} | VENDORED_TREE)
    with Repository.open(tmp_path / "repo", cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c")
    symbols = {c.name: c.symbols for c in inv.components}
    assert {n: symbols[n] for n in names} == {n: 1 for n in names}
    assert "huge" not in {f.name for f in inv.largest_functions}


def test_build_files_in_fixture_folders_describe_samples_not_components(tmp_path):
    write_tree(
        tmp_path / "repo",
        {
            "pyproject.toml": '[project]\nname = "tool"\ndependencies = ["click"]\n',
            "tool/__init__.py": "",
            "tests/fixtures/sample/package.json": '{"name": "sample", "dependencies": {"left-pad": "1"}}',
            "tests/fixtures/sample/index.js": "",
            "fixtures/go_app/go.mod": "module ex.com/sample\n",
            "fixtures/go_app/main.go": "package main\nfunc main() {}\n",
        },
    )
    with Repository.open(tmp_path / "repo", cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c")
    assert {(c.name, c.kind) for c in inv.components} == {
        ("tool", "python-package"),
        ("(root)", "directory"),
        ("tests", "directory"),
        ("fixtures", "directory"),
    }
    assert [d.name for d in inv.dependencies] == ["click"]
    assert "2 build files inside test or fixture folders ignored (they describe samples)" in inv.notes


def test_rust_path_used_twice_is_reported_at_its_first_use_every_time():
    """Captures come in no set order; the import of a path used in many places must not move between runs
    (tokio's ``super::UCred`` came out at line 110 or 162 from one parse to the next)."""
    body = "".join(f"fn f{i}() -> super::Cred {{ super::Cred::new() }}\n" for i in range(40))
    source = f"mod inner {{\n{body}}}\n".encode()
    lines = {tuple((i.spec, i.line, i.names) for i in scan_source("rust", source).imports) for _ in range(30)}
    assert lines == {(("self", 2, ("Cred",)), ("self", 2, ("Cred::new",)))}
