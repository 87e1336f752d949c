"""Findings: what a model claims about the code, checked against the code, gathered into report data.

::

    finding.py    Finding, Severity: one claim, parsed defensively from untrusted model output
    locations.py  Location and the shapes models write one in ("a.py:10-20", "L10", [10, 20], a dict)
    report.py     Coverage, ModelUsage, RepoInfo, RunInfo, Report: the data every job's report is made of (JSON schema v1)
    verify.py     build_report / verify_findings: every cited location re-read at the audited ref, then ranked

Shared by the audit, review and architecture jobs; imports nothing from them.
"""

from __future__ import annotations

from repo_auditor.findings.finding import (
    MAX_EVIDENCE_CHARS,
    MAX_EVIDENCE_LINES,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Finding,
    FindingParseProblem,
    Severity,
    clean_evidence,
    parse_findings,
    strip_line_numbers,
)
from repo_auditor.findings.locations import MAX_LINE_NUMBER, MAX_PATH_CHARS, Location
from repo_auditor.findings.report import (
    SCHEMA_VERSION,
    Coverage,
    ModelUsage,
    RepoInfo,
    Report,
    RunInfo,
    Stop,
    load_report,
    report_schema,
    web_url_from_remote,
)
from repo_auditor.findings.verify import SourceTree, Synthesizer, build_report, dedupe, rank, verify_findings

__all__ = [
    "MAX_EVIDENCE_CHARS", "MAX_EVIDENCE_LINES", "MAX_LINE_NUMBER", "MAX_PATH_CHARS", "MAX_TEXT_CHARS",
    "MAX_TITLE_CHARS", "SCHEMA_VERSION", "Coverage", "Finding", "FindingParseProblem", "Location", "ModelUsage",
    "RepoInfo", "Report", "RunInfo", "Severity", "Stop", "SourceTree", "Synthesizer", "build_report", "clean_evidence", "dedupe",
    "load_report", "parse_findings", "rank", "report_schema", "strip_line_numbers", "verify_findings",
    "web_url_from_remote",
]
