"""JSON round trip, schema checks, compare() between two states of a repository, and the Markdown fallback."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from repo_auditor.architecture import (
    SCHEMA,
    SCHEMA_VERSION,
    Changes,
    IncompatibleReportError,
    Inventory,
    build_inventory,
    compare,
    render_markdown,
)
from repo_auditor.architecture.model import Cycle
from repo_auditor.errors import ReportError
from repo_auditor.repository import Repository
from tests.architecture.conftest import FIXTURES


def test_json_round_trip_is_exact(inventory_of):
    inv = inventory_of("python_app")
    data = json.loads(json.dumps(inv.to_dict()))
    assert data["schema_version"] == SCHEMA_VERSION
    again = Inventory.from_dict(data)
    assert again == inv
    assert again.to_dict() == data


def test_schema_documents_every_top_level_field(inventory_of):
    documented = {key.removesuffix("[]") for key in SCHEMA}
    assert documented == set(inventory_of("go_service").to_dict())


@pytest.mark.parametrize(
    ("previous", "message"),
    [
        ([], "must be a JSON object, got list"),
        ({"schema_version": 99}, "schema_version 99, this version reads 1"),
        ({}, "schema_version None"),
        ({"schema_version": SCHEMA_VERSION}, "inventory.repository is missing"),
    ],
)
def test_incompatible_or_malformed_previous_report(inventory_of, previous, message):
    with pytest.raises(IncompatibleReportError, match=message) as caught:
        compare(previous, inventory_of("go_service"))
    assert isinstance(caught.value, ReportError)
    assert caught.value.expected_version == SCHEMA_VERSION


def test_wrong_types_inside_a_report_are_malformed(inventory_of):
    data = inventory_of("go_service").to_dict()
    data["components"][0]["lines"] = "many"
    with pytest.raises(IncompatibleReportError, match=r"inventory.components\[0\].lines must be int"):
        Inventory.from_dict(data)


def test_compare_two_states_of_a_repository(tmp_path):
    """Before: the python fixture. After: the billing -> orders import is gone (cycle resolved), a new package
    ``shop.audit`` imports billing and orders, ``shop.web`` is deleted, and the tests grow."""
    cache = tmp_path / "cache"
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "python_app", root)
    with Repository.open(root, cache_root=cache) as repo:
        before = build_inventory(repo, cache_path=cache).to_dict()
    billing = root / "src/shop/billing/__init__.py"
    billing.write_text("def charge(order):\n    return order\n")
    shutil.rmtree(root / "src/shop/web")
    (root / "src/shop/audit").mkdir()
    (root / "src/shop/audit/__init__.py").write_text(
        "from shop import billing, orders\nfrom shop.billing import charge\n"
    )
    (root / "tests/test_orders.py").write_text((root / "tests/test_orders.py").read_text() * 3)
    with Repository.open(root, cache_root=cache) as repo:
        after = build_inventory(repo, cache_path=cache)
    changes = compare(json.loads(json.dumps(before)), after)
    assert changes.components_added == ["shop.audit"]
    assert changes.components_removed == ["shop.web"]
    assert [(e.source, e.target, e.count) for e in changes.edges_added] == [
        ("shop.audit", "shop.billing", 2),
        ("shop.audit", "shop.orders", 1),
    ]
    assert [(e.source, e.target) for e in changes.edges_removed] == [
        ("shop.billing", "shop.orders"),
        ("shop.web", "shop.billing"),
    ]
    assert changes.cycles_new == []
    assert changes.cycles_resolved == [["shop.billing", "shop.orders"]]
    assert [(c.name, c.lines_before, c.lines_after) for c in changes.component_changes] == [
        ("shop.billing", 8, 2),
        ("tests", 5, 15),
    ]
    tests = changes.component_changes[1]
    assert (tests.test_ratio_before, tests.test_ratio_after) == (None, None)  # no non-test code in tests/
    assert not changes.empty
    text = render_markdown(after, changes)
    assert "**Cycles resolved:** shop.billing ↔ shop.orders" in text
    assert "**Components added:** shop.audit" in text
    assert "| tests | 5 | 15 | n/a | n/a |" in text
    assert Changes.from_dict(json.loads(json.dumps(changes.to_dict()))) == changes


def test_compare_detects_new_cycles_and_moved_hotspots(inventory_of):
    inv = inventory_of("go_service")
    previous = inv.to_dict()
    previous["hotspots"] = [
        {
            "path": "old.go",
            "component": None,
            "commits": 1,
            "lines_changed": 1,
            "authors": 1,
            "lines": 1,
            "score": 1,
        }
    ]
    current = dataclasses.replace(inv, cycles=[*inv.cycles, Cycle(["a", "b"], ["a", "b"])])
    changes = compare(previous, current)
    assert changes.cycles_new == [["a", "b"]]
    assert changes.hotspots_left == ["old.go"] and changes.hotspots_entered == []
    assert compare(inv.to_dict(), inv).empty


def test_markdown_escapes_names_and_includes_the_graph(tmp_path):
    root = tmp_path / "repo"
    (root / "a|b<script>").mkdir(parents=True)
    (root / "a|b<script>" / "x.py").write_text("import os\n")
    with Repository.open(root, cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c")
    text = render_markdown(inv)
    assert "<script>" not in text
    assert r"a\|b\<script\>" in text
    assert "```mermaid\nflowchart LR\n" in text
    assert "\n```\n\n*1 of 1 components and 0 of 0 edges shown.*\n" in text
    (row,) = [line for line in text.splitlines() if line.startswith("| a") and "directory" in line]
    assert row.count(" | ") == 8  # nine cells: the pipe in the name did not add one
