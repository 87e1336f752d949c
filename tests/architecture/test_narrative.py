"""The narrative: parsing the model's untrusted submission, verifying every citation against the code, the headline,
rendering through the strict template, and a budget-cut run of ``narrate`` (ScriptedLM + the real Deno sandbox)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from repo_auditor.architecture import build_inventory
from repo_auditor.architecture.narrative import (
    MAX_CITATIONS_PER_ITEM,
    MAX_COMPONENTS,
    Narrative,
    narrate,
    parse_narrative,
    verify_narrative,
)
from repo_auditor.architecture.report import ArchitectureReport, previous_inventory
from repo_auditor.audit.pipeline import Budgets
from repo_auditor.errors import ReportError
from repo_auditor.findings import Location, Severity
from repo_auditor.report import render_architecture
from repo_auditor.repository import Repository
from tests.architecture.conftest import FIXTURES
from tests.gitrepo import GitRepo
from tests.support.scripted_lm import ScriptedLM, code_reply

CITE = {"path": "src/shop/orders/__init__.py", "line": 7, "evidence": "charge(order)", "claim": "orders charges"}


@pytest.fixture
def shop(tmp_path: Path) -> Repository:
    shutil.copytree(FIXTURES / "python_app", tmp_path / "shop")
    GitRepo.init(tmp_path / "shop").commit("import shop")
    with Repository.open(tmp_path / "shop", cache_root=tmp_path / "cache") as repo:
        yield repo


@pytest.mark.parametrize(
    ("components", "risks", "problem"),
    [
        ("not a list", [], "components: expected a list, got str"),
        (["just text"], [], "components[0]: expected an object with name and purpose, got str"),
        ([{"purpose": "no name"}], [], "components[0]: missing 'name'"),
        ([], [{"severity": "high"}], "risks[0]: missing 'title'"),
        ([], {"title": "x"}, "risks: expected a list, got dict"),
        ([{"name": "a", "citations": [{"path": "a.py"}]}], [], "components[0].citations[0]: no line given for a.py"),
        ([{"name": "a", "citations": [{"line": 3}]}], [], "components[0].citations[0]: "),
        ([{"name": "a", "citations": "a.py:3"}], [], "components[0].citations: expected a list, got str"),
        ([{"name": f"c{i}"} for i in range(MAX_COMPONENTS + 5)], [],
         f"components: {MAX_COMPONENTS + 5} given, kept the first {MAX_COMPONENTS}"),
    ],
)
def test_parse_keeps_what_fits_and_reports_the_rest(components, risks, problem):
    narrative = parse_narrative("overview", components, risks)
    assert any(p.startswith(problem) for p in narrative.problems), narrative.problems


def test_parse_reads_citations_in_the_forms_models_write_them():
    components = [{
        "name": "  shop.orders\n", "purpose": "Places orders.", "key_files": ["a.py", 3, ""],
        "citations": [{"file": "src/x.py", "lines": "4-6", "code": "x = 1", "claim": "sets x"},
                      {"location": "src/y.py:9", "evidence": "y()"}] * MAX_CITATIONS_PER_ITEM,
    }]
    risks = [{"title": "Cycle", "severity": "bogus", "citations": [CITE]}]
    narrative = parse_narrative(None, components, risks)
    (story,) = narrative.components
    assert story.name == "shop.orders" and story.key_files == ("a.py",)
    assert len(story.citations) == MAX_CITATIONS_PER_ITEM
    assert story.citations[0].location == Location("src/x.py", 4, 6) and story.citations[0].claim == "sets x"
    assert story.citations[1].location == Location("src/y.py", 9) and story.citations[1].evidence == "y()"
    assert narrative.risks[0].severity == Severity.MEDIUM  # an unknown severity reads as medium
    assert narrative.overview == "" and all(c.verified is None for c in narrative.citations)


def test_verification_marks_moves_misses_and_unchecked(shop):
    moved = {**CITE, "line": 3}  # the quote is at line 7: moved, still verified
    missing = {"path": "src/shop/web/app.py", "line": 3, "evidence": "eval(request.body)"}
    no_file = {"path": "src/shop/nope.py", "line": 1, "evidence": "import os"}
    unquoted = {"path": "src/shop/cli.py", "line": 6}
    parsed = parse_narrative("o", [{"name": "shop.orders", "citations": [moved, unquoted]}],
                             [{"title": "Real", "severity": "high", "citations": [missing, CITE]},
                              {"title": "Invented", "severity": "critical", "citations": [missing, no_file]}])
    narrative = verify_narrative(parsed, shop)
    first, unchecked = narrative.components[0].citations
    assert first.verified is True and first.location.line == 7 and first.reported_location.line == 3
    assert "moved from line 3 to 7" in first.note
    assert unchecked.verified is None and "def main" in unchecked.evidence
    assert [c.verified for c in narrative.risks[0].citations] == [False, True]
    assert [c.verified for c in narrative.risks[1].citations] == [False, False]
    assert [r.title for r in narrative.verified_risks] == ["Real"]
    assert narrative.headline() == "1 component described; 2 risks, 1 verified: 1 high; 2 of 6 citations verified"
    data = json.loads(json.dumps(narrative.to_dict()))
    assert data["citations"] == {"total": 6, "verified": 2, "unverified": 3, "unchecked": 1}
    assert data["risks"][1]["verified"] is False


def test_headline_without_risks():
    assert Narrative("", (), ()).headline() == "0 components described; no risks; 0 of 0 citations verified"


def test_markdown_neutralises_model_text(shop, tmp_path):
    hostile = parse_narrative(
        "# Forged heading\n<script>alert(1)</script>\n```python\nunclosed",
        [{"name": "a|b <img>", "purpose": "## not a section", "interactions": "x", "citations": [CITE]}],
        [{"title": "| broken | table", "severity": "high", "citations": [CITE]}],
    )
    inventory = build_inventory(shop, cache_path=tmp_path / "cache")
    text = render_architecture(ArchitectureReport(inventory, since_days=90, top_n=12,
                                                  narrative=verify_narrative(hostile, shop)))
    assert "\n# Forged heading" not in text and "\\# Forged heading" in text
    assert "<script>" not in text and "<img>" not in text
    assert "### a\\|b &lt;img&gt;" in text and "### High: \\| broken \\| table" in text
    assert "\n## not a section" not in text
    assert text.count("```mermaid") == 1 and text.rstrip().endswith(f"`{inventory.commit}`.")


def test_a_user_template_with_a_missing_name_is_a_report_error(shop, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "architecture.md.j2").write_text("{{ inv.repository }} {{ no_such_value }}\n")
    inventory = build_inventory(shop, cache_path=tmp_path / "cache")
    with pytest.raises(ReportError, match="no_such_value"):
        render_architecture(ArchitectureReport(inventory, since_days=90, top_n=12), template_dir=templates)


def test_previous_inventory_accepts_a_report_or_a_bare_inventory(shop, tmp_path):
    inventory = build_inventory(shop, cache_path=tmp_path / "cache")
    report = ArchitectureReport(inventory, since_days=90, top_n=12).to_dict()
    assert previous_inventory(report) == previous_inventory(inventory.to_dict()) == inventory.to_dict()


def test_narrate_extracts_the_story_when_the_budget_runs_out(shop, tmp_path):
    inventory = build_inventory(shop, cache_path=tmp_path / "cache")
    extracted = json.dumps({"overview": "Orders and billing.",
                            "components": [{"name": "shop.orders", "purpose": "Orders.", "citations": [CITE]}],
                            "risks": []})
    lm = ScriptedLM([code_reply('print(inventory["cycles"][0]["path"])'), extracted])
    narrative = narrate(shop, inventory, lm=lm, budgets=Budgets(max_iterations=1))
    assert narrative.finished_by == "max_iterations"
    assert narrative.coverage.budget_hit == "max_iterations; the narrative was extracted from the history"
    assert narrative.coverage.iterations == 1 and narrative.coverage.files_total == len(shop.files)
    assert narrative.components[0].citations[0].verified is True
    assert any("['shop.billing', 'shop.orders']" in m["content"] for m in lm.requests[1])  # saw the inventory
    assert narrative.usage[0].model == "scripted/model" and narrative.usage[0].calls == 2
