"""A review -> GitHub Actions workflow commands (``::error file=...,line=...::message``), one per verified finding.

Escaping follows the runner's rules: in the message, ``%`` ``\\r`` ``\\n`` become ``%25`` ``%0D`` ``%0A``; in
property values (file, title) also ``:`` and ``,`` become ``%3A`` and ``%2C``. Without it a model-written title could
end the command early or inject a second one.
"""

from __future__ import annotations

from repo_auditor.findings import Finding, Report, Severity

_COMMANDS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "warning",
             Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    """One workflow command line for ``finding``."""
    location = finding.location
    props = [f"file={escape_property(location.path)}"]
    if location.line:
        props.append(f"line={location.line}")
        if location.end_line and location.end_line >= location.line:
            props.append(f"endLine={location.end_line}")
    title = f"[{finding.severity.label}] {finding.title}"
    props.append(f"title={escape_property(title)}")
    message = finding.explanation or finding.title
    return f"::{_COMMANDS[finding.severity]} {','.join(props)}::{escape_data(message)}"


def to_annotations(report: Report) -> str:
    """All verified findings as workflow commands, one per line (empty text when there are none)."""
    return "".join(annotation(f) + "\n" for f in report.verified_findings)
