"""The hidden marker of a review comment: which head was reviewed and what was found, so the comment can be found,
updated in place, and reviewed incrementally on the next push.

Two HTML comments, invisible in the rendered PR comment::

    <!-- repo-auditor:review head=<40-hex> base=<40-hex> fingerprints=<16-hex>,<16-hex> -->
    <!-- repo-auditor:review-data <base64 of JSON: a list of findings as the model format> -->

A comment is untrusted input when read back (anyone with write access can edit it): SHAs and fingerprints must be
hex, the data part is size-capped and its findings go through ``parse_findings`` and re-verification like a model's.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from repo_auditor.findings import Finding, parse_findings

MARKER_PREFIX = "<!-- repo-auditor:review "
# GitHub caps a comment at 65,536 characters; the findings data gets at most this share of it.
MAX_DATA_CHARS = 30_000
# Most earlier findings carried over; more than this in one PR is noise, not a review.
MAX_CARRIED_FINDINGS = 100

_MARKER = re.compile(r"<!-- repo-auditor:review head=([0-9a-f]{40}) base=([0-9a-f]{40}) "
                     r"fingerprints=([0-9A-Za-z,]{0,20000}) -->")
_DATA = re.compile(r"<!-- repo-auditor:review-data ([A-Za-z0-9+/=]*) -->")


@dataclass(frozen=True)
class Marker:
    """What a review comment records about the review that wrote it."""

    head: str
    base: str
    fingerprints: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()  # the verified findings it showed, as far as the data part could be read

    def render(self) -> str:
        line = f"{MARKER_PREFIX}head={self.head} base={self.base} fingerprints={','.join(self.fingerprints)} -->"
        data = encode_findings(self.findings)
        return f"{line}\n<!-- repo-auditor:review-data {data} -->" if data else line


def encode_findings(findings: Iterable[Finding]) -> str:
    """Base64 JSON of the findings (model format), dropping the last ones until it fits ``MAX_DATA_CHARS``."""
    items = [_as_model_dict(f) for f in list(findings)[:MAX_CARRIED_FINDINGS]]
    while items:
        text = base64.b64encode(json.dumps(items, ensure_ascii=False).encode("utf-8")).decode("ascii")
        if len(text) <= MAX_DATA_CHARS:
            return text
        items.pop()
    return ""


def _as_model_dict(finding: Finding) -> dict[str, Any]:
    return {"title": finding.title, "severity": finding.severity.label, "path": finding.location.path,
            "line": finding.location.line, "end_line": finding.location.end_line, "evidence": finding.evidence,
            "explanation": finding.explanation}


def find_marker(text: str) -> Marker | None:
    """The marker in a comment body (or a saved Markdown review), or None when there is none or it is malformed."""
    match = _MARKER.search(text or "")
    if match is None:
        return None
    fingerprints = tuple(f for f in match.group(3).split(",") if re.fullmatch(r"[0-9a-f]{16}", f))
    return Marker(head=match.group(1), base=match.group(2), fingerprints=fingerprints,
                  findings=tuple(_decode_findings(text)))


def _decode_findings(text: str) -> list[Finding]:
    match = _DATA.search(text)
    if match is None or len(match.group(1)) > MAX_DATA_CHARS:
        return []
    try:
        payload = json.loads(base64.b64decode(match.group(1), validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return []
    findings, _problems = parse_findings(payload if isinstance(payload, list) else [])
    return findings[:MAX_CARRIED_FINDINGS]
