"""One finding from a language model, parsed defensively: ``Finding``, ``Severity``, ``Location``.

Findings come from a language model, so everything here treats model output as untrusted: ``Finding.from_model``
accepts the shapes models actually produce (``"file"`` or ``"path"``, ``"line": "10-20"``, ``"location": "a.py:10"``,
``"severity": "HIGH"``) and turns anything it cannot use into a ``FindingParseProblem`` instead of crashing.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from repo_auditor.findings.categories import GENERAL, parse_category
from repo_auditor.findings.locations import (
    END_KEYS,
    LINE_KEYS,
    Location,
    first_present,
    line_range,
    parse_location,
    short_repr,
)

if TYPE_CHECKING:
    from repo_auditor.findings.report import RepoInfo


# A model can send anything; these caps keep one hostile or runaway finding from flooding a report.
MAX_TITLE_CHARS = 300  # a title is one line; longer text belongs in the explanation
MAX_TEXT_CHARS = 20_000  # explanation
MAX_EVIDENCE_LINES = 80  # longer evidence keeps its first 60 and last 20 lines around a visible elision line
MAX_EVIDENCE_CHARS = 16_000
_EVIDENCE_HEAD, _EVIDENCE_TAIL = 60, 20


class Severity(enum.IntEnum):
    """How bad a finding is, ordered: ``Severity.HIGH > Severity.LOW``. Its text form is the lower-case name."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> tuple[Severity, str | None]:
        """Read a severity leniently; return it and a note when the value was not understood.

        Accepted: the five names in any case with stray spaces and prefixes (``"HIGH"``, ``" High "``,
        ``"sev: high"``, ``"Severity: Critical!"``), common synonyms (``"crit"``, ``"major"``, ``"minor"``,
        ``"moderate"``, ``"warning"``, ``"informational"``, ``"none"``) and CVSS scores as numbers or numeric text
        (0 info, 0.1-3.9 low, 4-6.9 medium, 7-8.9 high, 9-10 critical). Anything else, or a missing value, is
        MEDIUM with a note: an unreadable severity should neither bury a finding nor raise an alarm.
        """
        if isinstance(value, cls):
            return value, None
        if value is None or (isinstance(value, str) and not value.strip()):
            return cls.MEDIUM, "no severity given; treated as medium"
        if isinstance(value, bool):
            return cls.MEDIUM, f"severity {value!r} not recognised; treated as medium"
        if isinstance(value, (int, float)):
            return _from_score(float(value), value)
        if not isinstance(value, str):
            return cls.MEDIUM, f"severity of type {type(value).__name__} not recognised; treated as medium"
        text = value.strip().lower()[:40]
        text = re.sub(r"^(?:severity|sev|level|risk|priority)\s*[:=\-]?\s*", "", text)
        text = text.strip(" \t\"'`*_[](){}.,;:!?-")
        if text in _SEVERITY_WORDS:
            return _SEVERITY_WORDS[text], None
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return _from_score(float(text), value)
        shown = value.strip()[:40]
        return cls.MEDIUM, f"severity {shown!r} not recognised; treated as medium"


_SEVERITY_WORDS = {
    "info": Severity.INFO, "informational": Severity.INFO, "information": Severity.INFO, "note": Severity.INFO,
    "none": Severity.INFO, "nit": Severity.INFO,
    "low": Severity.LOW, "minor": Severity.LOW,
    "medium": Severity.MEDIUM, "med": Severity.MEDIUM, "moderate": Severity.MEDIUM, "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM,
    "high": Severity.HIGH, "major": Severity.HIGH, "severe": Severity.HIGH, "error": Severity.HIGH,
    "important": Severity.HIGH,
    "critical": Severity.CRITICAL, "crit": Severity.CRITICAL, "blocker": Severity.CRITICAL,
}


def _from_score(score: float, original: object) -> tuple[Severity, str | None]:
    if not math.isfinite(score) or not 0 <= score <= 10:
        return Severity.MEDIUM, f"severity {str(original)[:40]!r} not recognised; treated as medium"
    note = f"severity given as the score {score:g}; read as a CVSS score"
    if score == 0:
        return Severity.INFO, note
    if score < 4:
        return Severity.LOW, note
    if score < 7:
        return Severity.MEDIUM, note
    if score < 9:
        return Severity.HIGH, note
    return Severity.CRITICAL, note


@dataclass(frozen=True)
class FindingParseProblem:
    """Why one item of the model's findings could not be used. ``index`` is its position in the list it came in."""

    index: int | None
    message: str
    raw: str  # a short repr of what the model sent, for the trajectory and debugging

    def __str__(self) -> str:
        where = f"finding {self.index}" if self.index is not None else "findings"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Finding:
    """One claim about the code, with the lines it cites and what verification made of it.

    ``verified`` ("located") is True when the evidence was found at (or moved to) ``location`` in the audited tree,
    False when it was not found or the location does not exist, and None when nothing was checked (no evidence was
    quoted; the cited lines are then shown as ``evidence``). Only True counts as verified. ``reported_location`` keeps
    where the model pointed when verification moved the finding. ``on_changed_line`` is set by the review job.

    ``supported`` says whether the claim itself holds, when a check ran (a rule for absence claims, or a sub-model
    reading the cited lines): True, False (refuted; ``support_note`` says why) or None (not checked). ``category`` is
    one of ``categories.CATEGORIES``; ``suggestion`` is the model's replacement code for the cited lines, if any.
    """

    title: str
    severity: Severity
    location: Location
    evidence: str = ""
    explanation: str = ""
    verified: bool | None = None
    verification_note: str | None = None
    on_changed_line: bool | None = None
    reported_location: Location | None = None
    notes: tuple[str, ...] = ()  # what parsing had to guess (unknown severity, truncated evidence)
    category: str = GENERAL
    suggestion: str | None = None
    supported: bool | None = None
    support_note: str | None = None

    @property
    def fingerprint(self) -> str:
        """A stable id: a hash of the path, the title and the evidence, each normalised; line numbers excluded,
        so the same finding keeps its id when code above it moves."""
        title = " ".join(self.title.lower().split())
        digest = hashlib.sha256("\0".join((self.location.path, title, self._squeezed_evidence())).encode(
            "utf-8", "replace"))
        return digest.hexdigest()[:16]

    @property
    def code_fingerprint(self) -> str:
        """An id from the code alone: the path and the cited lines, whitespace removed; neither the title nor line
        numbers, so it stays the same when the model rewords a finding or code above it moves (SARIF, suppressions,
        inline comments)."""
        digest = hashlib.sha256("\0".join((self.location.path, self._squeezed_evidence())).encode("utf-8", "replace"))
        return digest.hexdigest()[:16]

    def _squeezed_evidence(self) -> str:
        return "\n".join(
            "".join(line.split()) for line in strip_line_numbers(self.evidence).splitlines() if line.strip())

    @property
    def located(self) -> bool:
        """The quoted lines exist at the cited location (``verified is True``)."""
        return self.verified is True

    @property
    def label(self) -> str:
        """The strongest thing verification established: ``supported`` (located, and a check upheld the claim),
        ``located`` (the lines exist; no check of the claim could run), ``unsupported`` (located, but a check
        refuted the claim), ``not located`` or ``not checked``."""
        if self.verified is not True:
            return "not checked" if self.verified is None else "not located"
        return {True: "supported", False: "unsupported", None: "located"}[self.supported]

    @property
    def counts(self) -> bool:
        """Whether the finding counts (headline, --fail-on, SARIF): located and not refuted by a support check."""
        return self.verified is True and self.supported is not False

    @property
    def id(self) -> str:
        return self.fingerprint

    @classmethod
    def from_model(cls, obj: object, *, index: int | None = None) -> Finding | FindingParseProblem:
        """Parse one finding as a model wrote it; never raises on bad input, returns a FindingParseProblem instead.

        Keys recognised (first present wins): title (``title``, ``name``, ``summary``, ``issue``), path (``path``,
        ``file``, ``filename``, ``file_path``), line (``line``, ``start_line``, ``line_start``, ``lines``,
        ``line_range``),
        ``end_line`` (``end_line``, ``line_end``), ``location`` (``"a.py:10-20"``, ``"a.py#L10-L20"``, or a dict with
        those keys), severity, evidence (``evidence``, ``code``, ``snippet``, ``quote``), explanation
        (``explanation``, ``description``, ``details``, ``reason``, ``why``). A line range may be ``10``, ``"10"``,
        ``"10-20"``, ``"L10-L20"``, ``[10, 20]``.
        """
        if not isinstance(obj, dict):
            return FindingParseProblem(index, f"expected an object with title, path, line, evidence, got "
                                              f"{type(obj).__name__}", short_repr(obj))
        data = {str(k).strip().lower(): v for k, v in obj.items()}
        shifted = _quoted_in_line(data)
        if shifted is not None:  # the values shifted one key: "line" holds the code, "evidence" the explanation
            data = {**data, **dict.fromkeys(LINE_KEYS + END_KEYS), "evidence": shifted,
                    "explanation": "\n\n".join(t for t in (_text(data.get("evidence")),
                                                           _text(data.get("explanation"))) if t.strip())}
        title = first_present(data, "title", "name", "summary", "issue", "finding")
        if not isinstance(title, str) or not title.strip():
            return FindingParseProblem(index, "missing 'title' (a one-line summary of the problem)", short_repr(obj))
        notes: list[str] = []
        title = " ".join(title.split())
        if len(title) > MAX_TITLE_CHARS:
            title = title[: MAX_TITLE_CHARS - 1] + "…"
            notes.append(f"title cut to {MAX_TITLE_CHARS} characters")

        location = parse_location(data)
        if isinstance(location, str):
            return FindingParseProblem(index, location, short_repr(obj))

        severity, note = Severity.parse(first_present(data, "severity", "sev", "level", "risk", "priority"))
        if note:
            notes.append(note)
        evidence = first_present(data, "evidence", "code", "snippet", "quote", "cited_code", "excerpt")
        if isinstance(evidence, (list, tuple)) and len(evidence) > 1 and all(isinstance(v, str) for v in evidence):
            evidence = "\n...\n".join(evidence)  # a list of quoted lines: in this order, not necessarily adjacent
        evidence = _text(evidence)
        evidence = clean_evidence(evidence)
        evidence, evidence_note = _cap_evidence(evidence)
        if evidence_note:
            notes.append(evidence_note)
        explanation = _text(first_present(data, "explanation", "description", "details", "detail", "reason", "why",
                                   "rationale", "impact"))
        if len(explanation) > MAX_TEXT_CHARS:
            explanation = explanation[:MAX_TEXT_CHARS] + "\n… (explanation cut by repo_auditor)"
            notes.append(f"explanation cut to {MAX_TEXT_CHARS} characters")
        category, category_note = parse_category(first_present(data, "category", "kind"))
        if category_note:
            notes.append(category_note)
        suggestion = first_present(data, "suggestion", "fix", "suggested_fix", "replacement")
        suggestion = _text(suggestion) if isinstance(suggestion, str) and len(suggestion) <= MAX_EVIDENCE_CHARS else None
        return cls(title=title, severity=severity, location=location, evidence=evidence,
                   explanation=explanation.strip(), notes=tuple(notes), category=category,
                   suggestion=_strip_fence(suggestion) if suggestion is not None else None)

    def to_dict(self, repo: RepoInfo | None = None) -> dict[str, Any]:
        """The finding's JSON form (see the report schema); ``url`` is set when ``repo`` can link to the lines."""
        return {
            "id": self.fingerprint,
            "title": self.title,
            "severity": self.severity.label,
            "location": self.location.to_dict(),
            "reported_location": self.reported_location.to_dict() if self.reported_location else None,
            "url": repo.blob_url(self.location) if repo is not None else None,
            "evidence": self.evidence,
            "explanation": self.explanation,
            "verified": self.verified,
            "verification_note": self.verification_note,
            "on_changed_line": self.on_changed_line,
            "notes": list(self.notes),
            "category": self.category,
            "code_fingerprint": self.code_fingerprint,
            "suggestion": self.suggestion,
            "supported": self.supported,
            "support_note": self.support_note,
            "label": self.label,
        }

    def with_verification(self, verified: bool | None, note: str | None, **changes: Any) -> Finding:
        return replace(self, verified=verified, verification_note=note, **changes)


def parse_findings(payload: object) -> tuple[list[Finding], list[FindingParseProblem]]:
    """Parse what the model submitted as its findings: a list of objects, an object with a ``findings`` list, a
    single finding object, or any of those as JSON text. Returns the usable findings and one problem per item that
    could not be used; never raises on bad input."""
    if isinstance(payload, (str, bytes)):
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        if not text.strip():
            return [], []
        try:
            payload = json.loads(text)
        except ValueError as exc:
            return [], [FindingParseProblem(None, f"findings text is not JSON ({exc})", short_repr(text))]
    if payload is None:
        return [], []
    if isinstance(payload, dict):
        inner = {str(k).lower(): v for k, v in payload.items()}.get("findings")
        payload = inner if inner is not None else [payload]
    if not isinstance(payload, (list, tuple)):
        return [], [FindingParseProblem(None, f"findings must be a list of objects, got {type(payload).__name__}",
                                        short_repr(payload))]
    findings: list[Finding] = []
    problems: list[FindingParseProblem] = []
    for i, item in enumerate(payload):
        parsed = Finding.from_model(item, index=i)
        (findings if isinstance(parsed, Finding) else problems).append(parsed)  # type: ignore[arg-type]
    return findings, problems


_LINE_PREFIX = re.compile(r"^[ \t]*(?:L)?\d{1,7}(?:[ \t]*[|:│→]|\t)[ \t]?")


def strip_line_numbers(text: str) -> str:
    """Remove line-number prefixes a model copied from tool output (``"  12 | code"``, ``"12: code"``, ``"L12: x"``,
    ``"12<TAB>code"``), but only when every non-blank line carries one, so code like ``1: 'one',`` is left alone."""
    lines = text.splitlines()
    content = [line for line in lines if line.strip()]
    if not content or not all(_LINE_PREFIX.match(line) for line in content):
        return text
    return "\n".join(_LINE_PREFIX.sub("", line, count=1) for line in lines)


_FENCE_LINE = re.compile(r"^\s*(`{3,}|~{3,})")


def _strip_fence(text: str) -> str:
    """Replacement code without an enclosing code fence (models often wrap a suggestion in one)."""
    lines = text.rstrip("\n").split("\n")
    if len(lines) >= 2 and _FENCE_LINE.match(lines[0]) and _FENCE_LINE.match(lines[-1]):
        lines = lines[1:-1]
    return "\n".join(lines)


# What read_file adds around code, which a model may copy into its evidence (see repo_auditor/tools/read.py).
_READ_HEADER = re.compile(r"^\S[^|]* \| (?:lines \d+-\d+ of [\d,]+|empty file)\b.*$")
_READ_MORE = re.compile(r"^\.\.\. [\d,]+ more lines: call read_file\(.*$")
_LINE_CUT = re.compile(r" \.\.\.\[line cut: [\d,]+ chars\]$")


def clean_evidence(text: str) -> str:
    """Evidence as the code reads: CRLF made LF; an enclosing code fence, read_file's header and footer lines, and
    copied line-number prefixes removed; read_file's ``...[line cut: N chars]`` marker shortened to ``...``."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    content = [i for i, line in enumerate(lines) if line.strip()]
    if len(content) >= 2 and _FENCE_LINE.match(lines[content[0]]) and _FENCE_LINE.match(lines[content[-1]]):
        lines = lines[content[0] + 1: content[-1]]
    lines = [line for line in lines if not (_READ_HEADER.match(line) or _READ_MORE.match(line))]
    return strip_line_numbers("\n".join(_LINE_CUT.sub(" ...", line) for line in lines))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "\n".join(_text(v) for v in value)
    return short_repr(value, limit=MAX_TEXT_CHARS)


def _cap_evidence(evidence: str) -> tuple[str, str | None]:
    lines = evidence.split("\n")
    note = None
    if len(lines) > MAX_EVIDENCE_LINES:
        dropped = len(lines) - _EVIDENCE_HEAD - _EVIDENCE_TAIL
        marker = f"... ({dropped} lines elided by repo_auditor) ..."
        lines = [*lines[:_EVIDENCE_HEAD], marker, *lines[-_EVIDENCE_TAIL:]]
        note = f"evidence cut to {MAX_EVIDENCE_LINES} lines"
    text = "\n".join(lines)
    if len(text) > MAX_EVIDENCE_CHARS:
        text = text[:MAX_EVIDENCE_CHARS]
        note = f"evidence cut to {MAX_EVIDENCE_CHARS} characters"
    return text.strip("\n"), note


def _quoted_in_line(data: dict[str, Any]) -> str | None:
    """The code a small model wrote where the line number belongs (``"path": "app/db.py:10", "line": "query = ..."``,
    with the explanation then under "evidence"), or None when ``line`` is a number, a range or absent. The line
    number then comes from the path when it has one; verification finds the quoted code either way."""
    line = first_present(data, *LINE_KEYS)
    if not isinstance(line, str) or not line.strip() or not isinstance(line_range(line)[0], str):
        return None
    if not re.search(r"[=(){}\[\].:;]", line) or len(line) > MAX_EVIDENCE_CHARS:
        return None  # prose ("see above"), not code: the usual "not a line number" problem
    return line
