"""The package layout shows the pipeline, and imports run one way (README "Architecture")."""

from __future__ import annotations

import ast
import importlib
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "repo_auditor"

# Pipeline order, as in the README table: a part may import from itself and from the parts before it.
ORDER = ["errors", "repository", "parsing", "tools", "sandbox", "rlm", "findings", "audit", "review", "architecture",
         "batch", "report", "config", "doctor", "cli"]
# The engine is usable alone: besides itself it may import only these.
RLM_MAY_IMPORT = {"rlm", "sandbox", "errors"}
MAX_MODULE_LINES = 500
ONE_PIECE = "One piece:"  # a longer module's docstring starts a paragraph with this and says why


def parts() -> list[str]:
    names = []
    for entry in sorted(PACKAGE.iterdir()):
        if entry.is_dir() and (entry / "__init__.py").exists():
            names.append(entry.name)
        elif entry.suffix == ".py" and entry.name != "__init__.py":
            names.append(entry.stem)
    return names


def imported_parts(path: Path) -> set[tuple[str, int]]:
    """Every ``repo_auditor.<part>`` this file imports, at any depth (lazy and TYPE_CHECKING imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "repo_auditor":  # from repo_auditor.rlm import settings, __version__
                modules = [f"repo_auditor.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            pieces = module.split(".")
            if pieces[0] == "repo_auditor" and len(pieces) > 1 and pieces[1] in ORDER:
                found.add((pieces[1], node.lineno))
    return found


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def test_every_part_has_a_place_in_the_order():
    assert sorted(parts()) == sorted(ORDER)


def test_the_readme_table_lists_the_tree_in_pipeline_order():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- layout:start -->")[1].split("<!-- layout:end -->")[0]
    rows = re.findall(r"^\| `([\w.]+?)(?:/|\.py)` \|", table, re.M)
    assert rows == ORDER
    assert sorted(rows) == sorted(parts())


def test_imports_run_down_the_pipeline():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "__init__.py":
            continue  # the public API re-exports every part, lazily
        here = part_of(path)
        for part, line in imported_parts(path):
            if ORDER.index(part) > ORDER.index(here):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({here}) imports repo_auditor.{part}")
    assert wrong == []


def test_the_engine_imports_nothing_from_the_repository_tools_or_jobs():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports repo_auditor.{part}"
        for path in (PACKAGE / "rlm").rglob("*.py")
        for part, line in imported_parts(path)
        if part not in RLM_MAY_IMPORT
    ]
    assert wrong == []


def test_long_modules_say_why_they_are_one_piece():
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").count("\n")
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if lines > MAX_MODULE_LINES and ONE_PIECE not in docstring:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert too_long == []


def test_the_import_checker_sees_a_violation(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from repo_auditor.audit.pipeline import Budgets\nimport repo_auditor.cli\n")
    assert imported_parts(sample) == {("audit", 2), ("cli", 3)}


@pytest.mark.parametrize(("old", "new", "name"), [
    ("repo_auditor.loader", "repo_auditor.repository", "Repository"),
    ("repo_auditor.lm", "repo_auditor.rlm.lm", "LM"),
    ("repo_auditor.auditor", "repo_auditor.audit", "RepoAuditor"),
    ("repo_auditor.reviewer", "repo_auditor.review", "ReviewResult"),
    ("repo_auditor.synthesis", "repo_auditor.findings.verify", "verify_findings"),
])
def test_old_module_paths_still_import_and_name_the_new_place(old, new, name):
    with pytest.warns(DeprecationWarning, match=re.escape(new)):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_audit_and_review_are_the_functions_whichever_way_they_are_reached():
    import repo_auditor
    import repo_auditor.audit
    import repo_auditor.review
    from repo_auditor.audit.pipeline import audit
    from repo_auditor.review.pipeline import review

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, function in (("audit", audit), ("review", review)):
            reached = getattr(repo_auditor, name)
            assert reached is function or reached.__call__.__func__.__qualname__ == "_CallablePackage.__call__"
            assert callable(reached)
