"""How import specifiers find their target files, one small tree per language family."""

from __future__ import annotations

from repo_auditor.architecture import build_inventory
from repo_auditor.repository import Repository


def edges_of(tmp_path, files: dict[str, str]) -> list[tuple[str, str, int]]:
    root = tmp_path / "repo"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    with Repository.open(root, cache_root=tmp_path / "c") as repo:
        inventory = build_inventory(repo, cache_path=tmp_path / "c")
    return [(e.source, e.target, e.count) for e in inventory.edges]


def test_javascript_specifiers(tmp_path):
    files = {
        "a/x.ts": "\n".join(
            [
                'import b from "../b";',  # a folder: its index.ts
                'import u from "../c/util.js";',  # written as .js, the source is util.ts
                'import C from "../d/comp";',  # no extension: comp.tsx
                'import o from "../../outside";',  # climbs out of the repository: nothing
                'import fs from "node:fs";',  # a runtime module: nothing
                'import l from "./local";',  # same component: no edge
                'import m from "../c/missing";',  # no such file: nothing
            ]
        ),
        "a/local.ts": "",
        "b/index.ts": "",
        "c/util.ts": "",
        "d/comp.tsx": "",
    }
    assert edges_of(tmp_path, files) == [("a", "b", 1), ("a", "c", 1), ("a", "d", 1)]


def test_python_specifiers(tmp_path):
    files = {
        "p/__init__.py": "",
        "p/m.py": "\n".join(
            [
                "from q import sub",  # q/sub.py is a module: it is the target
                "import r.deep.missing",  # longest known prefix: r.deep
                "from .. import q",  # above the top package: nothing (Python refuses it too)
                "from .m2 import y",  # same component
                "import os.path",  # not in the tree
            ]
        ),
        "p/m2.py": "y = 1\n",
        "q/__init__.py": "",
        "q/sub.py": "",
        "r/__init__.py": "",
        "r/deep/__init__.py": "",
    }
    assert edges_of(tmp_path, files) == [("p", "q", 1), ("p", "r", 1)]


def test_go_imports_need_an_existing_package_folder(tmp_path):
    files = {
        "go.mod": "module ex.com/m\n",
        "a/a.go": 'package a\nimport (\n\t"ex.com/m/b"\n\t"ex.com/m/nope"\n\t"ex.com/other/b"\n)\n',
        "b/b.go": "package b\n",
    }
    assert edges_of(tmp_path, files) == [("ex.com/m/a", "ex.com/m/b", 1)]
