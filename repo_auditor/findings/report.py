"""The report data of a run: coverage, usage per model, the audited repository, and the ``Report`` holding findings.

``Report.to_dict()`` is the stable JSON form (``schema_version`` 1), described by
``repo_auditor/schemas/report.schema.json``.
Adding keys is a compatible change; renaming or removing one bumps ``schema_version``.
"""

from __future__ import annotations

import enum
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote, urlsplit

from repo_auditor.findings.finding import MAX_TEXT_CHARS, Finding, FindingParseProblem, Severity
from repo_auditor.findings.locations import Location, short_repr

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Coverage:
    """What the run looked at and spent. ``files_read`` maps each path to the number of distinct lines read;
    ``cost`` is in US dollars, None when the provider's price is unknown; ``budget_hit`` names the budget that cut
    the run short (e.g. ``"max_iterations: 30 of 30"``), None when the model finished on its own."""

    files_read: dict[str, int] = field(default_factory=dict)
    searches: int = 0
    symbol_queries: int = 0
    iterations: int = 0
    sub_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    seconds: float = 0.0
    budget_hit: str | None = None
    files_total: int | None = None  # files in the audited tree, for "read 12 of 340 files"

    @classmethod
    def from_ledger(cls, ledger: Any, **run: Any) -> Coverage:
        """Build from a ``tools.ledger.UsageLedger`` (distinct lines per file, searches, symbol queries) plus the
        run's own counts as keywords (``iterations=``, ``sub_calls=``, ``prompt_tokens=``, ``cost=``, ...)."""
        files = {path: sum(end - start + 1 for start, end in spans) for path, spans in ledger.lines_read().items()}
        return cls(files_read=files, searches=len(ledger.searches), symbol_queries=len(ledger.symbol_queries), **run)

    @property
    def lines_read(self) -> int:
        return sum(self.files_read.values())

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_read": dict(sorted(self.files_read.items())),
            "files_read_count": len(self.files_read),
            "files_total": self.files_total,
            "lines_read": self.lines_read,
            "searches": self.searches,
            "symbol_queries": self.symbol_queries,
            "iterations": self.iterations,
            "sub_calls": self.sub_calls,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens, "total": self.tokens},
            "cost_usd": self.cost,
            "seconds": round(self.seconds, 3),
            "budget_hit": self.budget_hit,
        }


@dataclass(frozen=True)
class ModelUsage:
    """Calls and tokens spent on one model during the run; ``cost`` in US dollars, None when unknown."""

    model: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    stage: str | None = None  # "explore", "sub-calls", "synthesis", ...

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "cost_usd": self.cost, "stage": self.stage}


@dataclass(frozen=True)
class RunInfo:
    """What ran: the models by role (``{"explore": "openai/gpt-4o", "sub-calls": ...}``), the strategy in a few
    words with its budgets, and the wall time of the whole command in seconds. ``mode`` is the audit strategy that
    ran ("rlm" or "direct") and ``reason`` why it was chosen (None for jobs without a choice)."""

    models: dict[str, str]
    strategy: str
    wall_seconds: float
    mode: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"models": dict(self.models), "strategy": self.strategy,
                                "wall_seconds": round(self.wall_seconds, 3)}
        if self.mode is not None:
            data.update(mode=self.mode, reason=self.reason)
        return data


_SCP_REMOTE = re.compile(r"^(?:[\w.+-]+@)?(?P<host>[\w.-]+):(?!//)(?P<path>[^\s]+)$")
_KNOWN_HOSTS = ("github.com", "gitlab.com", "bitbucket.org")


def web_url_from_remote(remote: str | None) -> str | None:
    """The https address of a repository hosted on github.com, gitlab.com or bitbucket.org, from its git remote URL
    (``git@github.com:o/r.git``, ``ssh://git@github.com/o/r``, ``https://user:token@github.com/o/r.git``); None for
    other hosts or anything unparseable. Credentials in the remote never reach the result."""
    if not isinstance(remote, str):
        return None
    text = remote.strip()
    host: str | None
    path: str
    if "://" in text:
        try:
            parts = urlsplit(text)
            host = parts.hostname
        except ValueError:
            return None
        if parts.scheme.lower() not in ("https", "http", "ssh", "git", "git+ssh", "ssh+git"):
            return None
        path = parts.path
    else:
        match = _SCP_REMOTE.match(text)
        if not match:
            return None
        host, path = match["host"], match["path"]
    host = (host or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if host not in _KNOWN_HOSTS:
        return None
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    segments = [s for s in path.split("/") if s]
    if len(segments) < 2 or (host != "gitlab.com" and len(segments) != 2):
        return None  # github and bitbucket are owner/name; gitlab allows nested groups
    if not all(re.fullmatch(r"[\w.\-~]+", s) and s not in (".", "..") for s in segments):
        return None
    return f"https://{host}/" + "/".join(segments)


@dataclass(frozen=True)
class RepoInfo:
    """The audited repository: local ``path``, the ``ref`` asked for (None = work tree), the resolved ``commit``,
    and ``web_url`` (https address on a known host) when links to lines can be made."""

    path: str
    ref: str | None = None
    commit: str | None = None
    web_url: str | None = None

    @classmethod
    def from_remote(cls, path: str, ref: str | None, commit: str | None, remote_url: str | None) -> RepoInfo:
        """Build one from the ``origin`` remote URL (any form ``web_url_from_remote`` accepts, or None)."""
        return cls(path=path, ref=ref, commit=commit, web_url=web_url_from_remote(remote_url))

    def blob_url(self, location: Location) -> str | None:
        """A link to the cited lines at the audited commit, or None without a web address or a commit."""
        if not self.web_url or not self.commit or not re.fullmatch(r"[0-9a-fA-F]{7,64}", self.commit):
            return None
        host = urlsplit(self.web_url).hostname or ""
        path = quote(location.path, safe="/")
        start, end = location.line, location.end_line
        if host == "gitlab.com":
            base = f"{self.web_url}/-/blob/{self.commit}/{path}"
            anchor = "" if start is None else f"#L{start}" + (f"-{end}" if end else "")
        elif host == "bitbucket.org":
            base = f"{self.web_url}/src/{self.commit}/{path}"
            anchor = "" if start is None else f"#lines-{start}" + (f":{end}" if end else "")
        else:
            base = f"{self.web_url}/blob/{self.commit}/{path}"
            anchor = "" if start is None else f"#L{start}" + (f"-L{end}" if end else "")
        return base + anchor

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ref": self.ref, "commit": self.commit, "web_url": self.web_url}


@dataclass(frozen=True)
class Stop:
    """Why a run ended before the model finished: ``reason`` is ``error`` (the provider failed after retries),
    ``interrupted`` (Ctrl-C) or the budget that ran out (``max_iterations``, ``max_cost``, ``max_time``, ...);
    ``detail`` says what happened in one line; ``trace`` is the trace file, when one was written."""

    reason: str
    detail: str
    trace: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "detail": self.detail, "trace": self.trace}


@dataclass(frozen=True)
class Report:
    """Everything an audit produced. ``findings`` are ranked (see ``synthesis.rank``); the headline counts only
    verified ones, the rest are shown apart. ``problems`` lists model findings that could not be parsed."""

    question: str
    answer: str
    findings: tuple[Finding, ...]
    coverage: Coverage
    repo: RepoInfo
    usage: tuple[ModelUsage, ...] = ()
    trajectory: tuple[dict[str, Any], ...] = ()
    problems: tuple[FindingParseProblem, ...] = ()
    notes: tuple[str, ...] = ()  # plain-language remarks about the run (e.g. a synthesis reply that was not used)
    stopped: Stop | None = None  # set when the run ended early: the report holds what was gathered by then
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    tool_version: str = field(default_factory=lambda: _tool_version())
    run: RunInfo | None = None  # set by the command that ran the audit
    redaction: bool = True  # False when the run was told not to redact secrets (--no-redact): said in every form

    @property
    def partial(self) -> bool:
        """True when the run ended early (see ``stopped``); the CLI then exits 4 after writing the report."""
        return self.stopped is not None

    @property
    def verified_findings(self) -> tuple[Finding, ...]:
        """Findings that count: located at the cited lines and not refuted by a support check (``Finding.counts``)."""
        return tuple(f for f in self.findings if f.counts)

    @property
    def unverified_findings(self) -> tuple[Finding, ...]:
        """Findings whose evidence was not found (verified False), not checked (verified None), or whose claim a
        support check refuted (supported False)."""
        return tuple(f for f in self.findings if not f.counts)

    @property
    def verified_count(self) -> int:
        return len(self.verified_findings)

    def severity_counts(self) -> dict[Severity, int]:
        """Verified findings per severity, highest first, only severities that occur."""
        counts = {s: 0 for s in sorted(Severity, reverse=True)}
        for finding in self.verified_findings:
            counts[finding.severity] += 1
        return {s: n for s, n in counts.items() if n}

    def headline(self) -> str:
        """One line such as ``5 findings, 4 verified: 1 high, 3 medium``."""
        total = len(self.findings)
        if total == 0:
            return "No findings"
        noun = "finding" if total == 1 else "findings"
        if not self.verified_count:
            return f"{total} {noun}, none verified"
        by_severity = ", ".join(f"{n} {s.label}" for s, n in self.severity_counts().items())
        return f"{total} {noun}, {self.verified_count} verified: {by_severity}"

    def shown(self) -> Report:
        """The report as every output format writes it: with redaction on, each file path in it (finding locations,
        files read, notes naming files) passes through the redactor as the tools' file names do, so a file named
        after a secret (``keys/AKIA....txt``) shows as a marker. Raw paths stay in the report object itself: the
        jobs verify and place findings with them."""
        if not self.redaction:
            return self
        from repo_auditor.tools.view import redact_name

        return self.with_names(redact_name)

    def with_names(self, name: Callable[[str], str]) -> Report:
        """This report with ``name`` applied to every path and every note that may name files (see ``shown``)."""
        files_read: dict[str, int] = {}
        for path, lines in self.coverage.files_read.items():
            files_read[name(path)] = files_read.get(name(path), 0) + lines
        return replace(self, findings=tuple(finding_with_names(f, name) for f in self.findings),
                       coverage=replace(self.coverage, files_read=files_read),
                       notes=tuple(name(n) for n in self.notes))

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form; ``repo_auditor/schemas/report.schema.json`` describes it."""
        verified = self.verified_count
        unchecked = sum(1 for f in self.findings if f.verified is None)
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "repo_auditor", "version": self.tool_version},
            "generated_at": _iso(self.generated_at),
            "question": self.question,
            "answer": self.answer,
            "repository": self.repo.to_dict(),
            "summary": {
                "headline": self.headline(),
                "findings": len(self.findings),
                "verified": verified,
                "unverified": len(self.findings) - verified - unchecked,
                "unchecked": unchecked,
                "verified_by_severity": {s.label: 0 for s in sorted(Severity, reverse=True)}
                | {s.label: n for s, n in self.severity_counts().items()},
            },
            "findings": [f.to_dict(self.repo) for f in self.findings],
            "rejected_findings": [{"index": p.index, "message": p.message, "raw": p.raw} for p in self.problems],
            "notes": list(self.notes),
            "partial": self.partial,
            "stopped": None if self.stopped is None else self.stopped.to_dict(),
            "coverage": self.coverage.to_dict(),
            "usage": [u.to_dict() for u in self.usage],
            "run": self.run.to_dict() if self.run is not None else None,
            "redaction": "on" if self.redaction else "off",
            "trajectory": [_jsonable(step) for step in self.trajectory],
        }


def finding_with_names(finding: Finding, name: Callable[[str], str]) -> Finding:
    """``finding`` with ``name`` applied to its paths and to the notes that may name files (verification moves a
    finding to a file the model never named); see ``Report.shown``."""
    def text(value: str | None) -> str | None:
        return None if value is None else name(value)

    reported = finding.reported_location
    return replace(finding, location=replace(finding.location, path=name(finding.location.path)),
                   reported_location=None if reported is None else replace(reported, path=name(reported.path)),
                   verification_note=text(finding.verification_note), support_note=text(finding.support_note),
                   notes=tuple(name(n) for n in finding.notes))


def load_report(data: object) -> Report:
    """Read back a report saved with ``--format json`` (a dict, or its JSON text), e.g. the baseline of an
    incremental review. Raises ReportError naming the first field that does not fit schema version 1."""
    from repo_auditor.errors import ReportError

    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ReportError(f"saved report is not JSON ({exc}); pass a file written by --format json") from None
    try:
        return _report_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportError(f"saved report does not match schema version {SCHEMA_VERSION} "
                          f"({type(exc).__name__}: {exc}); pass a file written by --format json") from None


def _report_from_dict(data: Any) -> Report:
    if data["schema_version"] != SCHEMA_VERSION:
        raise ValueError(f"schema_version is {data['schema_version']!r}, this version reads {SCHEMA_VERSION}")

    def location(raw: Any) -> Location:
        return Location(str(raw["path"]), raw["line"], raw["end_line"])

    findings = tuple(
        Finding(
            title=str(f["title"]), severity=Severity[str(f["severity"]).upper()], location=location(f["location"]),
            evidence=str(f["evidence"]), explanation=str(f["explanation"]), verified=f["verified"],
            verification_note=f["verification_note"], on_changed_line=f["on_changed_line"],
            reported_location=location(f["reported_location"]) if f["reported_location"] else None,
            notes=tuple(str(n) for n in f["notes"]), category=str(f.get("category") or "general"),
            suggestion=f.get("suggestion"), supported=f.get("supported"), support_note=f.get("support_note"),
        )
        for f in data["findings"]
    )
    cov, repo = data["coverage"], data["repository"]
    coverage = Coverage(
        files_read={str(k): int(v) for k, v in cov["files_read"].items()}, searches=int(cov["searches"]),
        symbol_queries=int(cov["symbol_queries"]), iterations=int(cov["iterations"]),
        sub_calls=int(cov["sub_calls"]), prompt_tokens=int(cov["tokens"]["prompt"]),
        completion_tokens=int(cov["tokens"]["completion"]), cost=cov["cost_usd"], seconds=float(cov["seconds"]),
        budget_hit=cov["budget_hit"], files_total=cov["files_total"],
    )
    return Report(
        question=str(data["question"]), answer=str(data["answer"]), findings=findings, coverage=coverage,
        repo=RepoInfo(str(repo["path"]), repo["ref"], repo["commit"], repo["web_url"]),
        usage=tuple(ModelUsage(str(u["model"]), int(u["calls"]), int(u["prompt_tokens"]),
                               int(u["completion_tokens"]), u["cost_usd"], u.get("stage")) for u in data["usage"]),
        run=RunInfo({str(k): str(v) for k, v in run["models"].items()}, str(run["strategy"]),
                    float(run["wall_seconds"]), run.get("mode"), run.get("reason")) if (run := data.get("run"))
        else None,
        trajectory=tuple(dict(step) for step in data["trajectory"]),
        problems=tuple(FindingParseProblem(p["index"], str(p["message"]), str(p["raw"]))
                       for p in data["rejected_findings"]),
        notes=tuple(str(n) for n in data.get("notes", [])),
        stopped=Stop(str(stop["reason"]), str(stop["detail"]), stop.get("trace")) if (stop := data.get("stopped"))
        else None,
        generated_at=datetime.fromisoformat(str(data["generated_at"]).replace("Z", "+00:00")),
        tool_version=str(data["tool"]["version"]),
        redaction=data.get("redaction", "on") != "off",
    )


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that ``Report.to_dict()`` follows, shipped as
    ``repo_auditor/schemas/report.schema.json``."""
    from importlib.resources import files

    return json.loads((files("repo_auditor") / "schemas" / "report.schema.json").read_text(encoding="utf-8"))


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


_JSON_DEPTH = 20  # trajectory steps are small; anything nested deeper is shown as text


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy: unknown objects become their repr, NaN and infinities become None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= _JSON_DEPTH:
        return short_repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, enum.Enum):
        return _jsonable(value.value, depth + 1)
    return short_repr(value, limit=MAX_TEXT_CHARS)


def _tool_version() -> str:
    from repo_auditor import __version__

    return __version__
