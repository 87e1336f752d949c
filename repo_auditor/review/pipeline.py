"""The review job: a base and a head commit -> the change as RLM variables -> verified findings on the head tree.

The merge base of ``base`` and ``head`` is the comparison point, as in a pull request. The model receives the planned
diff (``diff.plan_review``: reviewed / skimmed / skipped files within a character budget), the list of changed files
with status and changed line ranges, the head tree's file tree and the review focus; its tools (read_file, grep,
symbols) read the head tree, so it can follow a changed function to its callers and tests. The audit pipeline
(``RepoAuditor``) runs it, so findings are verified against the head tree exactly as in an audit; then each finding is
marked ``on_changed_line`` against the whole change.

Rules and suppressions come from the base branch (``rules.py``, ``suppressions.py``): the rules that apply to the
changed files are added to the model's question; suppressed findings leave the report (counted, and kept for SARIF).
Every located finding then gets a support check (``repo_auditor.findings.support``): a rule for absence claims, a
``judge`` (default: the sub-model, when one is configured) for the others.

Incremental (``previous=`` the marker of the last review): only the commits since the reviewed head are given to
the model, and the earlier findings are re-verified against the new head; those still found are kept, the others
are counted as resolved. A previous head that is not an ancestor of the new one (a force-push) means a full review.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repo_auditor.audit.pipeline import Budgets, RepoAuditor
from repo_auditor.errors import ConfigurationError, RunInterruptedError
from repo_auditor.findings import Coverage, Finding, RepoInfo, Report, Severity
from repo_auditor.findings.categories import CATEGORIES
from repo_auditor.findings.support import Judge, check_support
from repo_auditor.findings.verify import dedupe, rank, verify_findings
from repo_auditor.review.diff import (
    DEFAULT_DIFF_BUDGET_CHARS,
    ChangedFile,
    ReviewPlan,
    parse_diff,
    plan_review,
    redact_changes,
)
from repo_auditor.review.inline import InlineComment, plan_inline
from repo_auditor.review.marker import Marker
from repo_auditor.review.rules import Rule, load_rules, rules_prompt
from repo_auditor.review.suppressions import Suppressed, apply_suppressions, load_suppressions
from repo_auditor.rlm.signature import InputField, OutputField

if TYPE_CHECKING:
    from repo_auditor.repository import Repository

DEFAULT_BUDGETS = Budgets()
# Bumped whenever ReviewSignature's instructions or fields change meaning; recorded in SARIF with a digest of the text.
REVIEW_PROMPT_VERSION = "2"

FOCUS_AREAS: dict[str, str] = {
    "general": "Find bugs the change introduces or exposes: wrong logic, broken callers, unhandled errors, "
               "security problems and missing tests for risky code.",
    "security": "Find security problems the change introduces or exposes: injection (SQL, shell, template, path), "
                "authentication and authorisation gaps, secrets in code, unsafe deserialisation, SSRF, weakened "
                "validation or crypto.",
    "correctness": "Find correctness bugs: wrong conditions, off-by-one errors, broken error handling, callers or "
                   "tests not updated after a signature or behaviour change, changed return values.",
    "performance": "Find performance problems: work repeated in loops, N+1 queries, unbounded reads or memory, "
                   "blocking calls on hot paths.",
    "tests": "Find changed behaviour without tests, tests that no longer test what they claim, and risky code "
             "paths the change leaves untested.",
}


class ReviewSignature:
    """You are reviewing a code change (a pull request) in a repository. `diff` is the unified diff from the base
    to the head (large changes are cut: `changed_files` says for every file whether its patch was given whole
    (reviewed), cut (skimmed) or not at all (skipped), and why). The tools read the HEAD tree: use grep and symbols
    to follow changed functions to their callers and tests, and read_file to read exact lines. Report problems the
    change introduces or exposes, not old problems elsewhere. Every finding must cite lines of the head tree: copy
    `evidence` verbatim from read_file output (without the line-number prefix). Say so when the change looks
    correct."""

    repo_tree: str = InputField(desc="the head tree's file tree with sizes and line counts")
    diff: str = InputField(desc="the unified diff from the merge base to the head (planned within a budget)")
    changed_files: list[dict] = InputField(
        desc="one dict per changed file: path, status, old_path, additions, deletions, changed_ranges (head "
        "lines), binary, coverage (reviewed|skimmed|skipped) and reason")
    question: str = InputField(desc="the review's focus and any question from the user")
    answer: str = OutputField(desc="a short review summary in Markdown, citing code as path:line")
    findings: list[dict] = OutputField(
        desc="one dict per finding with keys title, severity (info|low|medium|high|critical), category (one of: "
        + ", ".join(CATEGORIES) + "), path, line, end_line (optional), evidence (the cited head-tree lines copied "
        "verbatim), explanation, suggestion (optional: replacement code for exactly the lines line..end_line, "
        "indented as in the file; only when you are sure of the fix); [] when none")


@dataclass(frozen=True)
class ReviewResult:
    """A finished review: the verified report plus what was compared and how much of the change the model saw."""

    report: Report
    plan: ReviewPlan  # the files the model was given (since the previous review, when incremental)
    changes: ReviewPlan  # the whole change from the merge base, for on_changed_line and the coverage list
    base_ref: str
    base_sha: str  # the merge base
    head_sha: str
    focus: str
    incremental_from: str | None = None  # the previously reviewed head, when only later commits were reviewed
    kept: int = 0  # earlier findings still found at the new head
    resolved: int = 0  # earlier findings no longer found
    rules: tuple[Rule, ...] = ()  # the base branch's rules given to the model
    suppressed: tuple[Suppressed, ...] = ()  # findings the base branch's suppressions file took out of the report
    model: str | None = None
    sub_model: str | None = None
    prompt_version: str = ""
    inline: tuple[InlineComment, ...] = ()  # the findings that can be posted as inline comments on the diff

    def fails_at(self, threshold: Severity) -> bool:
        """Whether any finding that counts (located, not refuted, not suppressed) is at or above ``threshold``
        (the ``--fail-on`` rule)."""
        return any(f.severity >= threshold for f in self.report.verified_findings)

    def shown(self) -> ReviewResult:
        """The result as every output format writes it: with redaction on, file paths (findings, the coverage
        list, suppressed findings, inline comments) as the model saw them; see ``Report.shown``."""
        if not self.report.redaction:
            return self
        from repo_auditor.findings.report import finding_with_names as named
        from repo_auditor.tools.view import redact_name as name

        return dataclasses.replace(
            self, report=self.report.with_names(name), plan=self.plan.with_names(name),
            changes=self.changes.with_names(name),
            suppressed=tuple(dataclasses.replace(s, finding=named(s.finding, name)) for s in self.suppressed),
            inline=tuple(dataclasses.replace(c, finding=named(c.finding, name), path=name(c.path))
                         for c in self.inline))

    def run_properties(self) -> dict[str, Any]:
        """What produced the review, for SARIF's ``run.properties``."""
        return {"model": self.model, "subModel": self.sub_model, "promptVersion": self.prompt_version,
                "focus": self.focus, "baseCommit": self.base_sha, "headCommit": self.head_sha,
                "redaction": "on" if self.report.redaction else "off"}

    def marker(self) -> Marker:
        verified = self.report.verified_findings
        return Marker(head=self.head_sha, base=self.base_sha, fingerprints=tuple(f.fingerprint for f in verified),
                      findings=verified)

    def review_dict(self) -> dict[str, Any]:
        return {
            "base_ref": self.base_ref, "merge_base": self.base_sha, "head": self.head_sha, "focus": self.focus,
            "incremental_from": self.incremental_from, "kept_findings": self.kept, "resolved_findings": self.resolved,
            "diff_budget_chars": self.plan.budget_chars,
            "files": [p.to_dict() for p in self.plan.files],
            "rules": [r.to_dict() for r in self.rules],
            "suppressed": [s.to_dict() for s in self.suppressed],
            "model": self.model, "sub_model": self.sub_model, "prompt_version": self.prompt_version,
        }

    def to_dict(self) -> dict[str, Any]:
        """The audit report's JSON form plus a ``review`` object (what was compared, per-file coverage)."""
        return {**self.report.to_dict(), "review": self.review_dict()}


def prompt_version() -> str:
    """``REVIEW_PROMPT_VERSION`` plus a digest of the signature's text, so an unbumped prompt edit still shows."""
    import hashlib

    text = (ReviewSignature.__doc__ or "") + "".join(
        str(getattr(value, "desc", "")) for value in vars(ReviewSignature).values())
    return f"{REVIEW_PROMPT_VERSION}+{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def focus_prompt(focus: str, question: str | None) -> str:
    if focus not in FOCUS_AREAS:
        raise ConfigurationError(f"unknown review focus {focus!r}; use one of: {', '.join(FOCUS_AREAS)}")
    text = FOCUS_AREAS[focus]
    if question and question.strip():
        text += f"\nAlso answer this question about the change: {question.strip()}"
    return text


def review(
    repo: str | Path | Repository,
    base: str,
    *,
    head: str | None = None,
    focus: str = "general",
    question: str | None = None,
    lm: Any = None,
    sub_lm: Any = None,
    budgets: Budgets = DEFAULT_BUDGETS,
    diff_budget_chars: int = DEFAULT_DIFF_BUDGET_CHARS,
    previous: Marker | None = None,
    synthesize: bool = False,
    explorer_factory: Callable[..., Any] | None = None,
    interpreter: Any = None,
    verbose: bool = False,
    trace: str | None = None,
    on_step: Callable[..., None] | None = None,
    judge: Judge | None = None,
    redact: bool = True,
) -> ReviewResult:
    """Review the change from the merge base of ``base`` and ``head`` (default: HEAD) to ``head``; see the module
    docstring. ``repo`` is a folder or a Repository opened at the head. ``explorer_factory(tools, budgets)`` returns
    the exploring module, called with ``repo_tree``, ``question``, ``diff`` and ``changed_files`` and returning a
    Prediction with ``answer`` and ``findings`` (default: an RLM on ReviewSignature). ``judge`` checks whether
    located claims are supported (default: ``sub_lm`` when given; see ``repo_auditor.findings.support``).
    ``redact=False`` turns the secret redactor off (for the tools, the diff, the changed files and the evidence)."""
    from repo_auditor.repository import Repository

    prompt = focus_prompt(focus, question)
    options = dict(focus=focus, lm=lm, sub_lm=sub_lm, budgets=budgets, diff_budget_chars=diff_budget_chars,
                   previous=previous, synthesize=synthesize, explorer_factory=explorer_factory,
                   interpreter=interpreter, verbose=verbose, trace=trace, on_step=on_step,
                   judge=judge if judge is not None else sub_lm, redact=redact)
    if isinstance(repo, Repository):
        return _review(repo, base, prompt, **options)
    with Repository.open(repo, ref=head or "HEAD") as opened:
        return _review(opened, base, prompt, **options)


def _review(repo: Repository, base: str, prompt: str, *, focus: str, lm: Any, sub_lm: Any, budgets: Budgets,
            diff_budget_chars: int, previous: Marker | None, synthesize: bool,
            explorer_factory: Callable[..., Any] | None, interpreter: Any, verbose: bool, trace: str | None,
            on_step: Callable[..., None] | None, judge: Judge | None, redact: bool) -> ReviewResult:
    from repo_auditor.tools.view import RedactedView

    if repo.commit is None:
        raise ConfigurationError(f"{repo.root} has no commits to review; commit the change first")
    head_sha = repo.commit
    merge_base = repo.merge_base(base, head_sha)
    flags = _flags_lookup(repo)
    view = RedactedView(repo) if redact else None  # what the model, the judge and the report see of the head tree
    source = view if view is not None else repo

    def changed_since(commit: str) -> list[ChangedFile]:
        files = parse_diff(repo.diff(commit, head_sha))
        return files if view is None else _shown_changes(files, view, repo, commit)

    changes = plan_review(changed_since(merge_base), budget_chars=diff_budget_chars, flags_for=flags)
    base_sha = repo.resolve_commit(base)
    rules = load_rules(repo, base_sha, changes.by_path)
    suppressions, suppression_notes = load_suppressions(repo, base_sha)
    if rules:
        prompt = f"{prompt}\n\n{rules_prompt(rules)}"
    since, notes = None, []
    plan = changes
    if previous is not None:
        if previous.head == head_sha:
            since = head_sha
            plan = plan_review([], budget_chars=diff_budget_chars)
        elif repo.is_ancestor(previous.head, head_sha):
            since = previous.head
            # a merge of the base branch into the PR brings in files the PR does not change: leave those out
            recent = [c for c in changed_since(previous.head) if c.path in changes.by_path]
            plan = plan_review(recent, budget_chars=diff_budget_chars, flags_for=flags)
        else:
            notes.append(f"the previously reviewed head {previous.head[:12]} is not an ancestor of "
                         f"{head_sha[:12]} (history rewritten?); reviewed the whole change again")
    interrupted: RunInterruptedError | None = None
    if any(p.coverage != "skipped" for p in plan.files):
        auditor = RepoAuditor(
            lm=lm, sub_lm=sub_lm, budgets=budgets, synthesizer="model" if synthesize else None,
            explorer_factory=_with_diff(plan, explorer_factory or _rlm_factory(
                lm=lm, sub_lm=sub_lm, verbose=verbose, trace=trace, on_step=on_step, interpreter=interpreter),
                view),
            redact=redact, verbose=verbose, trace=trace, on_step=on_step, interpreter=interpreter,
        )
        try:
            report = auditor(repo, prompt)
        except RunInterruptedError as exc:  # Ctrl-C after paying: finish the review from what was gathered
            report, interrupted = exc.report, exc
    else:
        what = "no new commits since the last review" if since == head_sha else "no reviewable changes"
        report = Report(question=prompt, answer=f"Nothing for the model to review: {what}.", findings=(),
                        coverage=Coverage(files_total=len(repo.files)), redaction=redact,
                        repo=RepoInfo.from_remote(str(repo.root), repo.ref, repo.commit, repo.remote_url()))
    kept: list[Finding] = []
    resolved = 0
    if previous is not None and since is not None:
        for finding in verify_findings(previous.findings, source):
            if finding.verified is True:
                kept.append(finding)
            else:
                resolved += 1
    findings, suppressed = apply_suppressions(rank(dedupe([*report.findings, *kept])), suppressions)
    findings = rank(check_support(findings, source, judge=None if interrupted else judge))
    findings = [dataclasses.replace(f, on_changed_line=changes.touches(f.location.path, f.location.line,
                                                                       f.location.end_line)) for f in findings]
    report = dataclasses.replace(report, findings=tuple(findings),
                                 notes=(*report.notes, *notes, *suppression_notes))
    result = ReviewResult(report=report, plan=plan, changes=changes, base_ref=base, base_sha=merge_base,
                        head_sha=head_sha, focus=focus, incremental_from=since, kept=len(kept), resolved=resolved,
                        rules=tuple(rules), suppressed=tuple(suppressed), model=getattr(lm, "model", None),
                        sub_model=getattr(sub_lm, "model", None), prompt_version=prompt_version(),
                        inline=tuple(plan_inline(findings, changes, source)))
    if interrupted is not None:
        raise RunInterruptedError("interrupted; the partial review holds the work done so far",
                                  report=result) from interrupted
    return result


def _flags_lookup(repo: Repository) -> Callable[[str], frozenset[str]]:
    def flags(path: str) -> frozenset[str]:
        entry = repo.get(path)
        return entry.flags if entry is not None else frozenset()

    return flags


def _rlm_factory(**options: Any) -> Callable[[Any, Budgets], Any]:
    """The default explorer factory: an RLM on ReviewSignature with the repository tools."""

    def factory(tools: Any, budgets: Budgets) -> Any:
        from repo_auditor.rlm import RLM

        return RLM(ReviewSignature, max_iterations=budgets.max_iterations, max_llm_calls=budgets.max_llm_calls,
                   max_output_chars=budgets.max_output_chars, tools=tools.as_list(), max_cost=budgets.max_cost,
                   max_time=budgets.max_time, max_tokens=budgets.max_tokens, max_depth=budgets.max_depth,
                   **options)

    return factory


def _shown_changes(files: list[ChangedFile], view: Any, repo: Repository, base: str) -> list[ChangedFile]:
    """The changed files with their patches as the model may see them: each content line from the redacted head
    file (the view) or the redacted base file (``base``), see ``diff.redact_changes``."""
    from repo_auditor.tools.redaction import redact
    from repo_auditor.tools.view import MAX_READ_BYTES

    def base_lines(path: str) -> tuple[list[str], list[str]] | None:
        data = repo.read_at(base, path, max_bytes=MAX_READ_BYTES)
        if data is None or b"\0" in data[:8192]:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        return text.split("\n"), redact(text, path).split("\n")

    return redact_changes(files, head=view.lines, base=base_lines, redact=redact)


def _with_diff(plan: ReviewPlan, factory: Callable[[Any, Budgets], Any],
               view: Any = None) -> Callable[[Any, Budgets], Any]:
    """A RepoAuditor explorer factory whose explorer also receives ``diff`` and ``changed_files`` (their paths
    through the ``view`` when redacting; the diff was redacted when it was read)."""
    changed_files = [p.to_dict() for p in plan.files]
    if view is not None:
        for item in changed_files:
            item["path"] = view.name(item["path"])
            item["old_path"] = item["old_path"] and view.name(item["old_path"])

    def bound(tools: Any, budgets: Budgets) -> Any:
        return functools.partial(factory(tools, budgets), diff=plan.diff, changed_files=changed_files)

    return bound
