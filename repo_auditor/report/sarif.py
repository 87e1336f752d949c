"""A review -> SARIF 2.1.0 that GitHub code scanning accepts (one run, one rule per finding title).

Only verified findings are results: code scanning shows them as alerts, and an unverified claim should not become
one. ``partialFingerprints["repoAuditor/v1"]`` is the finding's fingerprint (line numbers excluded), so an alert keeps
its identity when code above it moves.
"""

from __future__ import annotations

import re
from typing import Any

from repo_auditor.findings import Finding, Report, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/repo-auditor/repo_auditor"
_LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
           Severity.INFO: "note"}
# GitHub's security-severity: a CVSS-like score code scanning uses to rank security alerts.
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0",
                      Severity.INFO: "1.0"}


def to_sarif(report: Report) -> dict[str, Any]:
    """The SARIF log of ``report``'s verified findings."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in report.verified_findings:
        rule_id = rule_id_for(finding)
        rules.setdefault(rule_id, {
            "id": rule_id, "name": _rule_name(finding.title), "shortDescription": {"text": finding.title},
            "properties": {"security-severity": _SECURITY_SEVERITY[finding.severity], "tags": ["repo-auditor"]},
        })
        results.append(_result(finding, rule_id, list(rules).index(rule_id)))
    from repo_auditor import __version__

    return {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [{
            "tool": {"driver": {"name": "repo_auditor", "version": __version__, "informationUri": INFORMATION_URI,
                                "rules": list(rules.values())}},
            "results": results,
            **({"versionControlProvenance": [{"repositoryUri": report.repo.web_url,
                                              "revisionId": report.repo.commit}]}
               if report.repo.web_url and report.repo.commit else {}),
        }],
    }


def rule_id_for(finding: Finding) -> str:
    """A rule id from the finding's title: lower-case words joined by dashes, e.g. ``sql-injection-in-find-user``."""
    slug = re.sub(r"[^a-z0-9]+", "-", finding.title.lower()).strip("-")[:60].strip("-")
    return f"repo-auditor/{slug or 'finding'}"


def _rule_name(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words)[:80] or "Finding"


def _result(finding: Finding, rule_id: str, rule_index: int) -> dict[str, Any]:
    location = finding.location
    region: dict[str, Any] = {"startLine": location.line or 1}
    if location.end_line and location.line and location.end_line >= location.line:
        region["endLine"] = location.end_line
    text = finding.title if not finding.explanation else f"{finding.title}\n\n{finding.explanation}"
    return {
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": location.path, "uriBaseId": "%SRCROOT%"},
                                            "region": region}}],
        "partialFingerprints": {"repoAuditor/v1": finding.fingerprint},
        "properties": {"severity": finding.severity.label, "onChangedLine": bool(finding.on_changed_line)},
    }
