"""A report -> SARIF 2.1.0 that GitHub code scanning accepts: one run, one rule per finding category.

Identity: a result's ``ruleId`` is its category from the fixed list (``security/injection``, ``tests/missing``, ...,
``general``; see ``repo_auditor.findings.categories``) and ``partialFingerprints["repoAuditor/v2"]`` is the finding's
``code_fingerprint`` (the path and the cited lines, whitespace removed; no title, no line numbers), so an alert keeps
its identity when the model rewords a title or code above it moves.

Only findings that count (located at the cited lines, claim not refuted) are results: an unverified claim should not
become an alert. Only security categories carry ``security-severity`` (the score code scanning ranks security alerts
by), so "no test for X" never shows as a security alert. Suppressed findings are results with
``suppressions: [{"kind": "external", "justification": ...}]``, which code scanning shows as dismissed.
``run.properties`` records the model, the sub-model and the prompt version; ``tool.driver.version`` repo_auditor's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from repo_auditor.findings import Finding, Report, Severity
from repo_auditor.findings.categories import CATEGORIES, is_security

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/repo-auditor/repo_auditor"
FINGERPRINT_KEY = "repoAuditor/v2"
_LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
           Severity.INFO: "note"}
# GitHub's security-severity: a CVSS-like score code scanning uses to rank security alerts.
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0",
                      Severity.INFO: "1.0"}


def to_sarif(report: Report, *, suppressed: Iterable[tuple[Finding, str]] = (),
             run_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """The SARIF log of ``report``'s findings that count, plus ``suppressed`` (finding, justification) pairs."""
    entries = [(f, None) for f in report.verified_findings] + [(f, why) for f, why in suppressed]
    rules: dict[str, dict[str, Any]] = {}
    for finding, _ in entries:
        rule = rules.setdefault(finding.category, _rule(finding.category))
        if is_security(finding.category):  # the rule's score is its worst finding's
            score = _SECURITY_SEVERITY[finding.severity]
            current = rule["properties"].get("security-severity")
            rule["properties"]["security-severity"] = max(current or score, score, key=float)
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    results = [_result(f, index[f.category], why) for f, why in entries]
    from repo_auditor import __version__

    run: dict[str, Any] = {
        "tool": {"driver": {"name": "repo_auditor", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI, "rules": list(rules.values())}},
        "results": results,
    }
    if report.repo.web_url and report.repo.commit:
        run["versionControlProvenance"] = [{"repositoryUri": report.repo.web_url, "revisionId": report.repo.commit}]
    properties = {k: v for k, v in (run_properties or {}).items() if v is not None}
    if properties:
        run["properties"] = properties
    return {"version": "2.1.0", "$schema": SARIF_SCHEMA, "runs": [run]}


def rule_id_for(finding: Finding) -> str:
    """The finding's rule id: its category (``security/injection``, ``tests/missing``, ``general``)."""
    return finding.category


def _rule(category: str) -> dict[str, Any]:
    tags = ["repo-auditor", category.split("/", 1)[0]] + (["security"] if is_security(category) else [])
    return {"id": category, "name": "".join(w.capitalize() for w in category.replace("/", "-").split("-")),
            "shortDescription": {"text": CATEGORIES[category]},
            "properties": {"tags": list(dict.fromkeys(tags))}}


def _result(finding: Finding, rule_index: int, suppression: str | None) -> dict[str, Any]:
    location = finding.location
    region: dict[str, Any] = {"startLine": location.line or 1}
    if location.end_line and location.line and location.end_line >= location.line:
        region["endLine"] = location.end_line
    text = finding.title if not finding.explanation else f"{finding.title}\n\n{finding.explanation}"
    result: dict[str, Any] = {
        "ruleId": finding.category,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": location.path, "uriBaseId": "%SRCROOT%"},
                                            "region": region}}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.code_fingerprint},
        "properties": {"severity": finding.severity.label, "onChangedLine": bool(finding.on_changed_line),
                       "verification": finding.label, "findingId": finding.fingerprint},
    }
    if suppression is not None:
        result["suppressions"] = [{"kind": "external", "justification": suppression}]
    return result
