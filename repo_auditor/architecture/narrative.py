"""The model's half of ``audit-repo architecture``: an RLM that reads the deterministic inventory, explores the
repository with the tools, and describes the components and the risks, citing code for every claim.

    narrative = narrate(repo, inventory, lm=lm)     # explore (RLM) -> parse -> verify every citation
    narrative.components[0].citations[0].verified   # True / False / None, as for audit findings

The model's output is untrusted: ``parse_narrative`` keeps what fits the shape below (bounded in count and
length), records the rest in ``problems``, and never raises. Every citation is then re-read at the analysed commit
with ``synthesis.verify_findings`` (each is wrapped as an info-level ``Finding``), so a quote that is not in the
code is marked unverified, and a risk counts in the headline only when at least one of its citations verified.

What the model submits::

    overview:   str                           two or three paragraphs on how the system fits together
    components: [{name, purpose, key_files: [path], interactions, citations: [{path, line, evidence, claim}]}]
    risks:      [{title, severity, explanation, citations: [{path, line, evidence, claim}]}]
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from repo_auditor.findings import Coverage, Finding, Location, ModelUsage, Severity
from repo_auditor.rlm import settings
from repo_auditor.rlm.signature import InputField, OutputField
from repo_auditor.rlm.trace import append_record

if TYPE_CHECKING:
    from repo_auditor.architecture.model import Inventory
    from repo_auditor.audit.pipeline import Budgets
    from repo_auditor.repository import Repository
    from repo_auditor.rlm.prediction import Prediction

# The file tree the model sees first (the inventory already summarises the rest).
FILE_TREE_BUDGET_CHARS = 6_000
# Bounds on what is kept of the model's submission: a report is for reading, and the input is untrusted.
MAX_COMPONENTS = 40
MAX_RISKS = 30
MAX_CITATIONS_PER_ITEM = 8
MAX_KEY_FILES = 12
MAX_NAME_CHARS = 120
MAX_TEXT_CHARS = 4_000
MAX_OVERVIEW_CHARS = 8_000


class ArchitectureSignature:
    """You are documenting the architecture of a source-code repository for an engineer who is new to it.
    `inventory` was computed from the code without a model: its components (packages, modules, crates, folders),
    the import edges between them (with one example import each), import cycles, entry points, external
    dependencies, hotspots (files that change often) and the largest files and functions. `repo_tree` is the
    file tree. The repository itself is NOT in your variables: read it with the tools (grep to find, symbols to
    locate definitions, read_file to read exact lines) and use llm_query on focused snippets when judgement is
    needed. Start from the inventory, then read the entry points, the most imported components and the hotspots.

    Describe each important component (what it is for, its key files, how it talks to the others: calls, imports,
    HTTP, queues, shared data) and the architectural risks you can show (import cycles, god modules, layering
    violations, hotspots with no tests, missing error handling at a boundary, ...). Every citation must point at
    real lines: copy `evidence` verbatim from read_file output (without the line-number prefix). Only claim what
    the code shows; leave a component out rather than guess."""

    inventory: dict = InputField(
        desc="the deterministic inventory (keys: repository, commit, files, lines, languages, components, edges, "
        "cycles, entry_points, dependencies, tests, history, hotspots, largest_files, largest_functions, notes)"
    )
    repo_tree: str = InputField(desc="the repository's file tree with sizes and line counts")
    overview: str = OutputField(
        desc="how the system fits together, in Markdown (two or three short paragraphs, citing code as path:line)"
    )
    components: list[dict] = OutputField(
        desc="one dict per component with keys name (as in inventory['components'] where possible), purpose "
        "(one or two sentences), key_files (list of paths), interactions (how it talks to the other components), "
        "citations (list of dicts with path, line, evidence copied verbatim, claim = the statement they support)"
    )
    risks: list[dict] = OutputField(
        desc="one dict per architectural risk with keys title, severity (info|low|medium|high|critical), "
        "explanation, citations (list of dicts with path, line, evidence, claim); [] when there are none"
    )


@dataclass(frozen=True)
class Citation:
    """Lines of the repository backing one claim, and what verification made of them (as ``Finding.verified``)."""

    location: Location
    evidence: str
    claim: str = ""
    verified: bool | None = None
    note: str | None = None
    reported_location: Location | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.location.to_dict(),
            "evidence": self.evidence,
            "claim": self.claim,
            "verified": self.verified,
            "verification_note": self.note,
            "reported_location": self.reported_location.to_dict() if self.reported_location else None,
        }


@dataclass(frozen=True)
class ComponentStory:
    """The model's description of one component."""

    name: str
    purpose: str
    key_files: tuple[str, ...] = ()
    interactions: str = ""
    citations: tuple[Citation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "purpose": self.purpose, "key_files": list(self.key_files),
                "interactions": self.interactions, "citations": [c.to_dict() for c in self.citations]}


@dataclass(frozen=True)
class Risk:
    """An architectural risk the model pointed out; ``verified`` when at least one citation was confirmed."""

    title: str
    severity: Severity
    explanation: str = ""
    citations: tuple[Citation, ...] = ()

    @property
    def verified(self) -> bool:
        return any(c.verified is True for c in self.citations)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "severity": self.severity.label, "explanation": self.explanation,
                "verified": self.verified, "citations": [c.to_dict() for c in self.citations]}


@dataclass(frozen=True)
class Narrative:
    """Everything the narrative run produced: the parsed, verified story and how the run went."""

    overview: str
    components: tuple[ComponentStory, ...]
    risks: tuple[Risk, ...]
    problems: tuple[str, ...] = ()  # parts of the submission that could not be used, one line each
    notes: tuple[str, ...] = ()
    coverage: Coverage = field(default_factory=Coverage)
    usage: tuple[ModelUsage, ...] = ()
    finished_by: str = "submit"

    @property
    def citations(self) -> list[Citation]:
        return [c for item in (*self.components, *self.risks) for c in item.citations]

    @property
    def verified_risks(self) -> tuple[Risk, ...]:
        return tuple(r for r in self.risks if r.verified)

    @property
    def unverified_risks(self) -> tuple[Risk, ...]:
        return tuple(r for r in self.risks if not r.verified)

    def headline(self) -> str:
        """One line such as ``4 components described; 3 risks, 2 verified: 1 high, 1 medium; 9 of 11 citations
        verified``. Only verified risks are counted by severity."""
        cites = self.citations
        verified_cites = sum(1 for c in cites if c.verified is True)
        parts = [f"{len(self.components)} component{'' if len(self.components) == 1 else 's'} described"]
        if not self.risks:
            parts.append("no risks")
        else:
            noun = "risk" if len(self.risks) == 1 else "risks"
            verified = self.verified_risks
            if not verified:
                parts.append(f"{len(self.risks)} {noun}, none verified")
            else:
                ordered = sorted({r.severity for r in verified}, reverse=True)
                counts = ", ".join(f"{sum(1 for r in verified if r.severity == s)} {s.label}" for s in ordered)
                parts.append(f"{len(self.risks)} {noun}, {len(verified)} verified: {counts}")
        parts.append(f"{verified_cites} of {len(cites)} citation{'' if len(cites) == 1 else 's'} verified")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        cites = self.citations
        return {
            "headline": self.headline(),
            "overview": self.overview,
            "components": [c.to_dict() for c in self.components],
            "risks": [r.to_dict() for r in self.risks],
            "citations": {
                "total": len(cites),
                "verified": sum(1 for c in cites if c.verified is True),
                "unverified": sum(1 for c in cites if c.verified is False),
                "unchecked": sum(1 for c in cites if c.verified is None),
            },
            "problems": list(self.problems),
            "notes": list(self.notes),
            "finished_by": self.finished_by,
            "coverage": self.coverage.to_dict(),
            "usage": [u.to_dict() for u in self.usage],
        }


# ----------------------------------------------------------------------------------------------- parsing


def parse_narrative(overview: object, components: object, risks: object) -> Narrative:
    """The model's submission -> a Narrative with unverified citations (``verified=None``). Never raises: items
    that do not fit are dropped and described in ``problems``."""
    problems: list[str] = []
    stories = [story for i, raw in enumerate(_as_list(components, "components", MAX_COMPONENTS, problems))
               if (story := _component(raw, i, problems)) is not None]
    parsed_risks = [risk for i, raw in enumerate(_as_list(risks, "risks", MAX_RISKS, problems))
                    if (risk := _risk(raw, i, problems)) is not None]
    text = overview if isinstance(overview, str) else ""
    if overview is not None and not isinstance(overview, str):
        problems.append(f"overview: expected text, got {type(overview).__name__}")
    return Narrative(overview=_cap(text.strip(), MAX_OVERVIEW_CHARS), components=tuple(stories),
                     risks=tuple(parsed_risks), problems=tuple(problems))


def _as_list(value: object, where: str, limit: int, problems: list[str]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{where}: expected a list, got {type(value).__name__}")
        return []
    if len(value) > limit:
        problems.append(f"{where}: {len(value)} given, kept the first {limit}")
    return value[:limit]


def _component(raw: object, index: int, problems: list[str]) -> ComponentStory | None:
    where = f"components[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object with name and purpose, got {type(raw).__name__}")
        return None
    name = _line(raw.get("name"), MAX_NAME_CHARS)
    if not name:
        problems.append(f"{where}: missing 'name'")
        return None
    files = raw.get("key_files")
    key_files = tuple(_line(f, MAX_NAME_CHARS * 2) for f in files[:MAX_KEY_FILES]
                      if isinstance(f, str) and f.strip()) if isinstance(files, list) else ()
    return ComponentStory(
        name=name, purpose=_cap(_text(raw.get("purpose")), MAX_TEXT_CHARS), key_files=key_files,
        interactions=_cap(_text(raw.get("interactions")), MAX_TEXT_CHARS),
        citations=_citations(raw.get("citations"), where, problems),
    )


def _risk(raw: object, index: int, problems: list[str]) -> Risk | None:
    where = f"risks[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object with title, severity, explanation, citations, "
                        f"got {type(raw).__name__}")
        return None
    title = _line(raw.get("title"), MAX_NAME_CHARS)
    if not title:
        problems.append(f"{where}: missing 'title'")
        return None
    severity, _note = Severity.parse(raw.get("severity"))
    return Risk(title=title, severity=severity, explanation=_cap(_text(raw.get("explanation")), MAX_TEXT_CHARS),
                citations=_citations(raw.get("citations"), where, problems))


def _citations(raw: object, where: str, problems: list[str]) -> tuple[Citation, ...]:
    out = []
    for i, item in enumerate(_as_list(raw, f"{where}.citations", MAX_CITATIONS_PER_ITEM, problems)):
        claim = _line(item.get("claim"), MAX_TEXT_CHARS) if isinstance(item, dict) else ""
        # Finding.from_model reads paths and line ranges in every form models write them, and never raises.
        parsed = Finding.from_model({**item, "title": claim or "citation"} if isinstance(item, dict) else item)
        if not isinstance(parsed, Finding):
            problems.append(f"{where}.citations[{i}]: {parsed.message}")
            continue
        if parsed.location.line is None:
            problems.append(f"{where}.citations[{i}]: no line given for {parsed.location.path}")
            continue
        out.append(Citation(location=parsed.location, evidence=parsed.evidence, claim=claim))
    return tuple(out)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _line(value: object, limit: int) -> str:
    return _cap(" ".join(value.split()), limit) if isinstance(value, str) else ""


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------------------------------- verifying


def verify_narrative(narrative: Narrative, repo: Any) -> Narrative:
    """Re-read every citation in ``repo`` (a ``repository.Repository`` at the analysed ref) with
    ``synthesis.verify_findings``; returns the narrative with each citation's ``verified`` and ``note`` set and,
    when the quoted lines moved, the corrected location (the model's kept in ``reported_location``)."""
    from repo_auditor.findings.verify import verify_findings

    cites = narrative.citations
    findings = [Finding(title=c.claim or "citation", severity=Severity.INFO, location=c.location,
                        evidence=c.evidence) for c in cites]
    checked = iter(verify_findings(findings, repo))
    done = {id(c): next(checked) for c in cites}

    def update(items: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(dataclasses.replace(item, citations=tuple(_apply(c, done[id(c)]) for c in item.citations))
                     for item in items)

    return dataclasses.replace(narrative, components=update(narrative.components), risks=update(narrative.risks))


def _apply(citation: Citation, finding: Finding) -> Citation:
    return dataclasses.replace(citation, location=finding.location, evidence=finding.evidence,
                               verified=finding.verified, note=finding.verification_note,
                               reported_location=finding.reported_location)


# ----------------------------------------------------------------------------------------------- running


def narrate(
    repo: Repository,
    inventory: Inventory,
    *,
    lm: Any = None,
    sub_lm: Any = None,
    budgets: Budgets | None = None,
    verbose: bool = False,
    trace: str | None = None,
    on_step: Callable[..., None] | None = None,
    interpreter: Any = None,
    redact: bool = True,
) -> Narrative:
    """Run the narrative RLM on ``repo`` with ``inventory`` (from ``build_inventory`` on the same repository) and
    return the parsed, verified Narrative with coverage and usage. ``lm`` / ``sub_lm`` default to
    ``repo_auditor.configure``; ``budgets`` to ``audit.Budgets()``. A model failure raises (``LMError``); a
    budget that runs out does not: the outputs are extracted from the history and ``finished_by`` says so."""
    from repo_auditor.audit.pipeline import Budgets
    from repo_auditor.rlm import RLM
    from repo_auditor.tools import RepoTools
    from repo_auditor.tools.redaction import redact_data

    budgets = budgets or Budgets()
    started = time.monotonic()
    root_lm = settings.resolve_lm(lm)  # fail before any work when no model is configured
    with RepoTools(repo, redact=redact) as tools:
        explorer = RLM(
            ArchitectureSignature, max_iterations=budgets.max_iterations, max_llm_calls=budgets.max_llm_calls,
            max_output_chars=budgets.max_output_chars, verbose=verbose, tools=tools.as_list(), sub_lm=sub_lm,
            interpreter=interpreter, lm=lm, max_cost=budgets.max_cost, max_time=budgets.max_time,
            max_tokens=budgets.max_tokens, trace=trace, on_step=on_step, max_depth=budgets.max_depth,
        )
        inputs = {"inventory": inventory.to_dict(), "repo_tree": repo.file_tree(FILE_TREE_BUDGET_CHARS)}
        if tools.view is not None:  # names and manifest values from the repository, as the tools show them
            inputs = redact_data(inputs)
        prediction: Prediction = explorer(**inputs)
        parsed = parse_narrative(prediction.outputs.get("overview"), prediction.outputs.get("components"),
                                 prediction.outputs.get("risks"))
        # citations are checked against what the model saw, so quoted evidence in the report is redacted too
        story = verify_narrative(parsed, tools.view if tools.view is not None else repo)
        if trace:  # the run viewer shows what verification made of the citations
            append_record(trace, "findings", job="architecture", answer=story.overview,
                          findings=[r.to_dict() for r in story.risks],
                          components=[c.to_dict() for c in story.components])
        usage = [_model_usage(getattr(root_lm, "model", "model"), prediction.root_usage)]
        if prediction.sub_usage.calls:
            sub = sub_lm or settings.get("sub_lm") or root_lm
            usage.append(_model_usage(getattr(sub, "model", "sub-model"), prediction.sub_usage))
        total_cost = None if any(u.cost is None for u in usage) else sum(u.cost or 0.0 for u in usage)
        coverage = Coverage.from_ledger(
            tools.usage, iterations=prediction.iterations, sub_calls=prediction.sub_calls,
            prompt_tokens=sum(u.prompt_tokens for u in usage),
            completion_tokens=sum(u.completion_tokens for u in usage), cost=total_cost,
            seconds=time.monotonic() - started, budget_hit=_budget_note(prediction), files_total=len(repo.files),
        )
    return dataclasses.replace(story, coverage=coverage, usage=tuple(usage), finished_by=prediction.finished_by)


def _model_usage(model: str, usage: Any) -> ModelUsage:
    return ModelUsage(model, calls=usage.calls, prompt_tokens=usage.prompt_tokens,
                      completion_tokens=usage.completion_tokens,
                      cost=None if usage.unknown_cost_calls else usage.cost)


def _budget_note(prediction: Prediction) -> str | None:
    if prediction.finished_by == "submit":
        return None
    extracted = "; the narrative was extracted from the history" if prediction.extracted else ""
    return f"{prediction.finished_by}{extracted}"
