"""Components that match each ecosystem's layout: detected from file paths and build files alone."""

from __future__ import annotations

import pytest

from repo_auditor.architecture import build_inventory
from repo_auditor.architecture.components import detect
from repo_auditor.architecture.manifests import is_manifest, parse_manifest
from repo_auditor.repository import Repository

TOOLING_PACKAGE_JSON = '{"name": "Django", "private": true, "scripts": {"test": "grunt test"}, "devDependencies": {"grunt": "^1"}}'


def components(files: dict[str, str]) -> dict[str, str]:
    """Component name -> root for a tree of ``files`` (path -> text; build files are parsed)."""
    manifests = [parse_manifest(path, text) for path, text in files.items() if text and is_manifest(path)]
    layout = detect(sorted(files), manifests)
    for path in files:
        layout.owner(path)
    return {name: c.root for name, c in layout.components.items()}


def test_a_test_tooling_package_json_does_not_swallow_a_python_repository():
    found = components(
        {
            "package.json": TOOLING_PACKAGE_JSON,
            "pyproject.toml": '[project]\nname = "django"\n',
            "django/__init__.py": "",
            "django/db/__init__.py": "",
            "tests/runtests.py": "",
            "js_tests/tests.js": "",
        }
    )
    assert "Django" not in found
    assert found["tests"] == "tests" and found["js_tests"] == "js_tests" and found["django.db"] == "django/db"


def test_a_tooling_package_json_in_a_javascript_repository_is_still_the_package():
    found = components({"package.json": TOOLING_PACKAGE_JSON, "a.js": "", "b.js": "", "setup.py": "", "x.py": ""})
    assert found["Django"] == ""


@pytest.mark.parametrize(
    ("build_file", "text"),
    [
        ("setup.cfg", "[metadata]\nname = sqlalchemy\n[options]\npackage_dir =\n    =lib\n"),
        ("pyproject.toml", '[project]\nname = "sqlalchemy"\n[tool.setuptools]\npackage-dir = {"" = "lib"}\n'),
        ("setup.py", "from setuptools import setup\nsetup(name='sqlalchemy', package_dir={'': 'lib'})\n"),
        ("setup.py", "from setuptools import setup\nsetup(name='sqlalchemy')\n"),  # lib/ found without saying so
    ],
)
def test_lib_and_package_dir_layouts(build_file, text):
    found = components(
        {
            build_file: text,
            "lib/sqlalchemy/__init__.py": "",
            "lib/sqlalchemy/orm/__init__.py": "",
            "lib/sqlalchemy/sql/__init__.py": "",
            "test/test_x.py": "",
        }
    )
    assert found["sqlalchemy"] == "lib/sqlalchemy"
    assert found["sqlalchemy.orm"] == "lib/sqlalchemy/orm" and found["sqlalchemy.sql"] == "lib/sqlalchemy/sql"


def test_namespace_sub_packages_are_components():
    found = components(
        {
            "pyproject.toml": '[project]\nname = "flask"\n',
            "src/flask/__init__.py": "",
            "src/flask/app.py": "",
            "src/flask/json/__init__.py": "",
            "src/flask/sansio/app.py": "",
            "src/flask/static/readme.txt": "",
        }
    )
    assert found["flask.sansio"] == "src/flask/sansio" and found["flask.json"] == "src/flask/json"
    assert "flask.static" not in found  # no Python in it


def test_a_repository_that_is_one_npm_package_splits_into_its_folders(tmp_path):
    files = {
        "package.json": '{"name": "eslint", "main": "lib/api.js"}',
        "lib/api.js": "const linter = require('./linter/linter');\n",
        "lib/linter/linter.js": "const rules = require('../rules');\n",
        "lib/rules/index.js": "",
        "lib/rules/semi/semi.js": "",
        "bin/eslint.js": "require('../lib/api');\n",
        "tests/lib/linter.js": "require('../../lib/linter/linter');\n",
        "node_modules/x/index.js": "",
    }
    found = components(files)
    assert found == {
        "eslint": "",
        "eslint/bin": "bin",
        "eslint/lib/linter": "lib/linter",
        "eslint/lib/rules": "lib/rules",
        "eslint/tests": "tests",
    }
    root = tmp_path / "repo"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    with Repository.open(root, cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c")
    assert {(e.source, e.target) for e in inv.edges} == {
        ("eslint", "eslint/lib/linter"),
        ("eslint/lib/linter", "eslint/lib/rules"),
        ("eslint/bin", "eslint"),
        ("eslint/tests", "eslint/lib/linter"),
    }
