"""The JSON form of a report: valid against the shipped JSON Schema, and its keys stable."""

from __future__ import annotations

import json
import math

import jsonschema
import pytest

from repo_auditor.errors import ReportError
from repo_auditor.findings import (
    SCHEMA_VERSION,
    Coverage,
    Finding,
    Location,
    Severity,
    load_report,
    report_schema,
)
from repo_auditor.report import render

from .builders import finding, make_report


def sample_findings() -> list[Finding]:
    return [
        finding(verified=True, evidence="hashlib.md5(x)", verification_note="moved from line 4 to 8",
                reported_location=Location("src/auth.py", 4)),
        finding(title="Config eval", severity=Severity.CRITICAL, line=14, end_line=15, verified=False,
                evidence="eval(x)", verification_note="evidence not found in src/auth.py"),
        finding(title="No evidence", severity=Severity.INFO, line=None, verified=None, on_changed_line=True,
                notes=("no severity given; treated as medium",)),
    ]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_a_full_report_validates(validator):
    data = make_report(sample_findings()).to_dict()
    validator.validate(data)
    assert data["schema_version"] == SCHEMA_VERSION == 1


def test_an_empty_report_validates(validator):
    validator.validate(make_report([], web_url=None, commit=None, coverage=Coverage()).to_dict())


def test_the_schema_rejects_drift(validator):
    data = make_report(sample_findings()).to_dict()
    data["findings"][0]["severity"] = "urgent"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(data)
    data = make_report(sample_findings()).to_dict()
    data["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(data)


def test_key_sets_are_stable():
    data = make_report(sample_findings()).to_dict()
    assert list(data) == ["schema_version", "tool", "generated_at", "question", "answer", "repository", "summary",
                          "findings", "rejected_findings", "notes", "partial", "stopped", "coverage", "usage", "run",
                          "redaction", "trajectory"]
    assert list(data["findings"][0]) == ["id", "title", "severity", "location", "reported_location", "url",
                                         "evidence", "explanation", "verified", "verification_note",
                                         "on_changed_line", "notes", "category", "code_fingerprint", "suggestion",
                                         "supported", "support_note", "label"]
    assert list(data["summary"]) == ["headline", "findings", "verified", "unverified", "unchecked",
                                     "verified_by_severity"]
    assert list(data["coverage"]) == ["files_read", "files_read_count", "files_total", "lines_read", "searches",
                                      "symbol_queries", "iterations", "sub_calls", "tokens", "cost_usd", "seconds",
                                      "budget_hit"]
    assert list(data["repository"]) == ["path", "ref", "commit", "web_url"]


def test_values_in_the_json_form():
    data = make_report(sample_findings()).to_dict()
    assert data["generated_at"] == "2026-11-23T20:00:00Z"
    assert data["summary"] == {
        "headline": "3 findings, 1 verified: 1 high", "findings": 3, "verified": 1, "unverified": 1, "unchecked": 1,
        "verified_by_severity": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0},
    }
    first = data["findings"][0]
    assert first["url"] == "https://github.com/acme/shop/blob/0123456789abcdef0123456789abcdef01234567/src/auth.py#L8"
    assert first["reported_location"] == {"path": "src/auth.py", "line": 4, "end_line": None}
    assert data["coverage"]["tokens"] == {"prompt": 12000, "completion": 1500, "total": 13500}
    assert data["coverage"]["lines_read"] == 62


def test_json_render_is_the_dict_and_survives_odd_trajectory_values():
    report = make_report(sample_findings())
    report = type(report)(**{**report.__dict__, "trajectory": ({"x": math.nan, "obj": object(), 3: (1, 2)},)})
    text = render(report, "json")
    data = json.loads(text)
    assert data == json.loads(json.dumps(report.to_dict()))
    assert data["trajectory"][0]["x"] is None and data["trajectory"][0]["3"] == [1, 2]
    assert data["trajectory"][0]["obj"].startswith("<object object")


def test_a_saved_report_reads_back_to_the_same_data():
    report = make_report(sample_findings())
    text = render(report, "json")
    loaded = load_report(text)
    assert loaded.to_dict() == report.to_dict()
    assert [f.fingerprint for f in loaded.findings] == [f.fingerprint for f in report.findings]
    assert loaded.findings[0].verified is True and loaded.findings[0].severity is Severity.HIGH


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version=2), "schema_version is 2"),
        (lambda d: d["findings"][0].update(severity="urgent"), "KeyError: 'URGENT'"),
        (lambda d: d["findings"][0]["location"].update(line=0), "line must be 1 or more"),
        (lambda d: d.pop("coverage"), "KeyError: 'coverage'"),
        (lambda d: d.update(findings=7), "TypeError"),
    ],
)
def test_a_damaged_saved_report_is_a_clear_error(mutate, message):
    data = make_report(sample_findings()).to_dict()
    mutate(data)
    with pytest.raises(ReportError, match="saved report does not match schema version 1") as caught:
        load_report(data)
    assert message in str(caught.value)


def test_a_saved_report_that_is_not_json_is_a_clear_error():
    with pytest.raises(ReportError, match="saved report is not JSON"):
        load_report("{not json")
