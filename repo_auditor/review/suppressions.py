"""Findings a team has judged wrong or accepted, kept in ``.repo-auditor/suppressions.toml`` ON THE BASE BRANCH
(a pull request cannot suppress its own findings)::

    [[suppression]]
    fingerprint = "3f1c9a0b5e7d2c41"     # a finding's code_fingerprint (or its id), shown in every report
    reason = "the query text is a constant; reviewed by the security team"
    expires = 2026-06-30                 # optional: after this date the finding is reported again

    [[suppression]]
    path = "app/legacy/**"               # or a path glob (rules.glob_matches) ...
    rule = "security/injection"          # ... and a category; both must match
    reason = "legacy module, rewritten in Q3"

A suppressed finding is not reported as a finding and never gates ``--fail-on``; the report counts it and SARIF
lists it with ``suppressions: [{"kind": "external", "justification": reason}]``. The file is repository input, so it
is untrusted: an entry without a reason, without a target, or with a malformed date is ignored with a note; a file
that is not TOML is ignored with a note.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from repo_auditor.findings import Finding
from repo_auditor.review.rules import BaseTree, glob_matches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUPPRESSIONS_FILE = ".repo-auditor/suppressions.toml"
MAX_SUPPRESSIONS_BYTES = 200_000  # thousands of entries; a bigger file is not a list a team maintains by hand
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class Suppression:
    """One entry: a fingerprint, or a path glob with a rule (category); why; until when."""

    reason: str
    fingerprint: str | None = None
    path: str | None = None
    rule: str | None = None
    expires: dt.date | None = None

    def matches(self, finding: Finding) -> bool:
        if self.fingerprint is not None:
            return self.fingerprint in (finding.code_fingerprint, finding.fingerprint)
        return (self.path is not None and glob_matches(self.path, finding.location.path)
                and (self.rule is None or self.rule == finding.category))


@dataclass(frozen=True)
class Suppressed:
    """A finding taken out of the report, with the entry that took it out."""

    finding: Finding
    suppression: Suppression

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.finding.fingerprint, "code_fingerprint": self.finding.code_fingerprint,
                "title": self.finding.title, "category": self.finding.category, "path": self.finding.location.path,
                "line": self.finding.location.line, "reason": self.suppression.reason,
                "expires": self.suppression.expires.isoformat() if self.suppression.expires else None}


def load_suppressions(repo: BaseTree, base: str, *, today: dt.date | None = None
                      ) -> tuple[list[Suppression], list[str]]:
    """The live entries of the suppressions file at commit ``base``, and notes about entries that were ignored."""
    raw = repo.read_at(base, SUPPRESSIONS_FILE, max_bytes=MAX_SUPPRESSIONS_BYTES + 1)
    if raw is None:
        return [], []
    if len(raw) > MAX_SUPPRESSIONS_BYTES:
        return [], [f"{SUPPRESSIONS_FILE} is larger than {MAX_SUPPRESSIONS_BYTES:,} bytes; ignored"]
    try:
        data = tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError as exc:
        return [], [f"{SUPPRESSIONS_FILE} on the base branch is not valid TOML ({exc}); no finding was suppressed"]
    entries = data.get("suppression", [])
    if not isinstance(entries, list):
        return [], [f"{SUPPRESSIONS_FILE}: `suppression` must be an array of tables ([[suppression]]); ignored"]
    today = today or dt.date.today()
    live: list[Suppression] = []
    notes: list[str] = []
    for number, entry in enumerate(entries, 1):
        parsed = _entry(entry)
        if isinstance(parsed, str):
            notes.append(f"{SUPPRESSIONS_FILE}: suppression {number} ignored: {parsed}")
        elif parsed.expires is not None and parsed.expires < today:
            notes.append(f"{SUPPRESSIONS_FILE}: suppression {number} expired on {parsed.expires.isoformat()}; its "
                         "findings are reported again")
        else:
            live.append(parsed)
    return live, notes


def _entry(entry: object) -> Suppression | str:
    if not isinstance(entry, dict):
        return "not a table"
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return "no `reason` (say why the finding is dismissed)"
    values = {key: entry.get(key) for key in ("fingerprint", "path", "rule")}
    if any(v is not None and not isinstance(v, str) for v in values.values()):
        return "`fingerprint`, `path` and `rule` must be strings"
    if not values["fingerprint"] and not (values["path"] and values["rule"]):
        return "needs `fingerprint`, or `path` and `rule`"
    expires = entry.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            return f"`expires` {expires[:30]!r} is not a date (use 2026-06-30)"
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if expires is not None and not isinstance(expires, dt.date):
        return "`expires` must be a date (2026-06-30)"
    return Suppression(reason=" ".join(reason.split())[:MAX_REASON_CHARS],
                       fingerprint=(values["fingerprint"] or "").strip().lower() or None,
                       path=values["path"] or None, rule=(values["rule"] or "").strip().lower() or None,
                       expires=expires)


def apply_suppressions(findings: Iterable[Finding], suppressions: list[Suppression]
                       ) -> tuple[list[Finding], list[Suppressed]]:
    """(the findings no entry matches, the suppressed ones with their entry)."""
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    for finding in findings:
        entry = next((s for s in suppressions if s.matches(finding)), None)
        if entry is None:
            kept.append(finding)
        else:
            suppressed.append(Suppressed(finding, entry))
    return kept, suppressed
