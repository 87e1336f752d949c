"""The review pipeline with an injected explorer (no sandbox, no model server): what the explorer receives, how a
large change is planned, and the marker round trip including forged or damaged markers."""

from __future__ import annotations

import pytest

from repo_auditor.findings import Finding, Location, Severity
from repo_auditor.report.review import render_result
from repo_auditor.review.marker import MAX_DATA_CHARS, Marker, find_marker
from repo_auditor.review.pipeline import review
from repo_auditor.rlm.prediction import Prediction
from tests.review.conftest import SQL_FORMATTED, introduce_sql_bug
from tests.support.scripted_lm import ScriptedLM


class FakeExplorer:
    """Records the inputs it was called with and returns a fixed submission."""

    def __init__(self, findings: list[dict]):
        self.findings = findings
        self.calls: list[dict] = []

    def factory(self, tools, budgets):
        return self

    def __call__(self, **inputs):
        self.calls.append(inputs)
        return Prediction(outputs={"answer": "summary", "findings": self.findings}, iterations=1)


SQL = {"title": "SQL built with string formatting", "severity": "high", "path": "app/db.py", "line": 12,
       "evidence": SQL_FORMATTED, "explanation": "injection"}


def test_large_change_is_planned_and_listed(shop):
    introduce_sql_bug(shop.repo)
    shop.repo.write("poetry.lock", "".join(f"pkg{i} = '1.{i}'\n" for i in range(2000)))
    for i in range(6):
        shop.repo.write(f"app/gen{i}.py", "".join(f"def f{j}():\n    return {j}\n" for j in range(200)))
    shop.repo.commit("big change")
    explorer = FakeExplorer([SQL])
    result = review(shop.path, "main", lm=ScriptedLM([]), explorer_factory=explorer.factory,
                    diff_budget_chars=8_000)
    [inputs] = explorer.calls
    coverage = {f["path"]: f["coverage"] for f in inputs["changed_files"]}
    assert coverage["app/db.py"] == "reviewed" and coverage["poetry.lock"] == "skipped"
    assert "skimmed" in coverage.values() and list(coverage.values()).count("skipped") >= 2
    assert len(inputs["diff"]) <= 8_000 and "pkg1 =" not in inputs["diff"]
    assert result.report.verified_findings[0].on_changed_line is True
    text = render_result(result, "markdown")
    coverage_section = text.split("### Coverage", 1)[1]
    assert "**Skipped" in coverage_section and "`poetry.lock` (added, +2000 −0): lockfile" in coverage_section
    assert "diff budget used up" in coverage_section and "**Skimmed (1)**" in coverage_section


def test_marker_round_trip_keeps_findings(shop):
    introduce_sql_bug(shop.repo)
    result = review(shop.path, "main", lm=ScriptedLM([]), explorer_factory=FakeExplorer([SQL]).factory)
    marker = find_marker(render_result(result, "markdown"))
    assert marker is not None and marker.head == shop.repo.head() and marker.base == shop.base
    [finding] = marker.findings
    assert finding.fingerprint == result.report.verified_findings[0].fingerprint


HEAD, BASE = "a" * 40, "b" * 40
LINE = f"<!-- repo-auditor:review head={HEAD} base={BASE} fingerprints= -->"


@pytest.mark.parametrize("text, expected_head, expected_findings", [
    ("no marker here", None, 0),
    (f"<!-- repo-auditor:review head={HEAD[:39]} base={BASE} fingerprints= -->", None, 0),  # short SHA
    (f"<!-- repo-auditor:review head={HEAD} base={BASE} fingerprints=zz,0123456789abcdef -->", HEAD, 0),
    (LINE + "\n<!-- repo-auditor:review-data not*base64 -->", HEAD, 0),
    (LINE + "\n<!-- repo-auditor:review-data eyJub3QiOiAiYSBsaXN0In0= -->", HEAD, 0),  # {"not": "a list"}
    (LINE + f"\n<!-- repo-auditor:review-data {'A' * (MAX_DATA_CHARS + 4)} -->", HEAD, 0),  # oversized
], ids=["none", "short-sha", "bad-fingerprint", "bad-base64", "not-a-list", "oversized"])
def test_untrusted_markers(text, expected_head, expected_findings):
    marker = find_marker(text)
    assert (marker.head if marker else None) == expected_head
    if marker is not None:
        assert len(marker.findings) == expected_findings
        assert all(len(f) == 16 for f in marker.fingerprints)


def test_marker_data_is_capped():
    many = tuple(Finding(f"finding {i}", Severity.LOW, Location("a.py", i + 1), evidence="x" * 2000)
                 for i in range(100))
    rendered = Marker(HEAD, BASE, (), many).render()
    assert len(rendered) < MAX_DATA_CHARS + 300
    assert 0 < len(find_marker(rendered).findings) < 100


def test_incremental_after_a_force_push_reviews_everything(shop):
    introduce_sql_bug(shop.repo)
    gone = Marker(head="c" * 40, base=shop.base)  # a head that is not in the history any more
    explorer = FakeExplorer([SQL])
    result = review(shop.path, "main", lm=ScriptedLM([]), explorer_factory=explorer.factory, previous=gone)
    assert result.incremental_from is None
    assert [f["path"] for f in explorer.calls[0]["changed_files"]] == ["app/db.py"]
    assert any("not an ancestor" in note for note in result.report.notes)


def test_incremental_leaves_out_files_merged_in_from_the_base(shop):
    first = introduce_sql_bug(shop.repo)
    shop.repo.switch("main")
    shop.repo.write("NEWS.md", "from main\n")
    shop.repo.commit("main moves on")
    shop.repo.switch("feature")
    shop.repo.git("merge", "-q", "--no-edit", "main")
    shop.repo.write("app/cart.py", (shop.path / "app/cart.py").read_text() + "\n# note\n")
    shop.repo.commit("cart note")
    explorer = FakeExplorer([])
    result = review(shop.path, "main", lm=ScriptedLM([]), explorer_factory=explorer.factory,
                    previous=Marker(head=first, base=shop.base))
    assert result.incremental_from == first
    assert [f["path"] for f in explorer.calls[0]["changed_files"]] == ["app/cart.py"]
