"""The audit pipeline: repository -> file-tree context -> exploring RLM -> synthesis -> verified report.

With the direct strategy (``direct.py``; chosen by ``strategy="auto"`` when the files in scope fit the model's window)
one model call with the files in the prompt takes the place of exploration and synthesis; verification still runs.

``audit(path, question)`` is the one-call form. ``RepoAuditor`` is the same composition as a reusable object whose stages
can be swapped: ``explore`` (an RLM with the repository tools, returning an answer and raw findings) and ``synthesizer``
(a model step that writes the final answer from the findings; ``None`` skips it). Verification against the code always
runs last, so nothing a model writes at either stage reaches the headline unchecked.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from repo_auditor.audit.direct import (
    DIRECT_PROMPT,
    DirectExplorer,
    StrategyChoice,
    choose_strategy,
    resolve_samples,
    text_entries,
)
from repo_auditor.audit.placeholders import placeholder_problem
from repo_auditor.errors import BudgetExceededError, LMError, RunInterruptedError, SandboxError
from repo_auditor.findings import (
    Coverage,
    Finding,
    ModelUsage,
    RepoInfo,
    Report,
    RunInfo,
    Stop,
    parse_findings,
)
from repo_auditor.findings.verify import Synthesizer, build_report, verify_findings
from repo_auditor.rlm import settings
from repo_auditor.rlm.deadline import DeadlineExceeded, call_before
from repo_auditor.rlm.loop import DEFAULT_MAX_REPLY_TOKENS
from repo_auditor.rlm.prediction import Prediction, Progress, Step
from repo_auditor.rlm.reply import extract_json_object
from repo_auditor.rlm.signature import InputField, OutputField, make_signature
from repo_auditor.rlm.trace import append_record

if TYPE_CHECKING:
    from repo_auditor.repository import Repository

# The file tree the model sees first: enough to orient, small enough to leave room for the exploration.
FILE_TREE_BUDGET_CHARS = 6_000


class AuditSignature:
    """You are auditing a source-code repository to answer the question. The repository is NOT in your variables:
    `repo_tree` is only its file tree. Explore with the tools (grep to find, symbols to locate definitions, read_file
    to read exact lines), keep notes in Python variables, and use llm_query on focused snippets when judgement is
    needed. Every finding must cite the exact lines that support it: copy `evidence` verbatim from read_file output
    (without the line-number prefix). Report only what the code shows; say so when nothing relevant was found."""

    repo_tree: str = InputField(desc="the repository's file tree with sizes and line counts")
    question: str = InputField(desc="what the user wants to know about the repository")
    answer: str = OutputField(desc="a direct answer to the question in Markdown, citing code as path:line")
    findings: list[dict] = OutputField(
        desc="one dict per finding with keys title, severity (info|low|medium|high|critical), path, line, "
        "end_line (optional), evidence (the cited lines copied verbatim), explanation; [] when there are none"
    )


SYNTHESIS_PROMPT = """You are writing the final answer of a code audit.

Question: {question}

The explorer's draft answer:
{answer}

The explorer's findings (JSON; each cites lines of the repository):
{findings}

Write the final answer: direct, in Markdown, citing code as path:line, using only what the findings and the draft
support. You may merge duplicate findings, sharpen titles and explanations, and correct severities; do not invent new
locations or evidence, and keep each finding's path, line and evidence exactly as given.

Reply with one JSON object and nothing else. Its key "answer" holds your final answer in your own words, as a Markdown
string. Its key "findings" holds the list of findings, each an object with the same keys as the findings above."""


class LMSynthesizer:
    """The synthesis predictor: one model call that turns the explorer's draft and findings into the final answer.

    A reply that is not the requested JSON leaves the draft and findings as they were (and says so in
    ``last_problem``); the audit never fails on a bad synthesis reply.
    """

    def __init__(self, lm: Any = None, max_reply_tokens: int | None = DEFAULT_MAX_REPLY_TOKENS,
                 prompt: str = SYNTHESIS_PROMPT):
        self.lm = lm
        self.prompt = prompt
        self.max_reply_tokens = max_reply_tokens
        self.last_problem: str | None = None
        self.completion: Any = None

    def __call__(self, question: str, answer: str, findings: list[Finding]) -> tuple[str, list[Finding]]:
        lm = settings.resolve_lm(self.lm)
        payload = json.dumps([_finding_for_prompt(f) for f in findings], indent=1, ensure_ascii=False)
        prompt = self.prompt.format(question=question, answer=answer or "(none)", findings=payload)
        try:
            capped = self.max_reply_tokens is not None and settings.takes_max_tokens(lm)
            cap = {"max_tokens": self.max_reply_tokens} if capped else {}
            self.completion = lm.complete([{"role": "user", "content": prompt}], **cap)
        except LMError as exc:
            self.last_problem = f"synthesis failed ({' '.join(str(exc).split())}); kept the explorer's answer"
            return answer, findings
        try:
            data = extract_json_object(self.completion.text)
        except ValueError as exc:
            self.last_problem = f"synthesis reply was not the requested JSON ({exc}); kept the explorer's answer"
            return answer, findings
        new_answer = data.get("answer")
        new_findings, problems = parse_findings(data.get("findings", []))
        if not isinstance(new_answer, str) or not new_answer.strip():
            self.last_problem = "synthesis reply had no answer; kept the explorer's answer"
            return answer, findings
        echo = placeholder_problem(new_answer)
        if echo is not None:
            self.last_problem = f"synthesis reply echoed the template ({echo}); kept the explorer's answer"
            return answer, findings
        if problems and not new_findings and findings:
            self.last_problem = "synthesis reply's findings could not be read; kept the explorer's findings"
            return new_answer, findings
        return new_answer, new_findings


PROMPT_NAMES = ("explore", "synthesis", "direct")


def default_prompts() -> dict[str, str]:
    """The shipped prompts of the audit program, by name (what ``RepoAuditor(prompts=...)`` replaces)."""
    explore = make_signature(AuditSignature).instructions
    return {"explore": explore, "synthesis": SYNTHESIS_PROMPT, "direct": DIRECT_PROMPT}


def _finding_for_prompt(finding: Finding) -> dict[str, Any]:
    return {
        "title": finding.title, "severity": finding.severity.label, "path": finding.location.path,
        "line": finding.location.line, "end_line": finding.location.end_line, "evidence": finding.evidence,
        "explanation": finding.explanation,
    }


def _verified_count(raw_findings: list[Any], source: Any) -> int:
    """How many of one direct sample's findings verify against the code (picks the answer among samples)."""
    findings, _ = parse_findings(raw_findings)
    return sum(f.verified is True for f in verify_findings(findings, source))


@dataclass(frozen=True)
class Budgets:
    """The run budgets of one audit (see ``RLM`` for their meaning)."""

    max_iterations: int = 20
    max_llm_calls: int = 50
    max_output_chars: int = 10_000
    max_cost: float | None = None
    max_time: float | None = None
    max_tokens: int | None = None
    max_depth: int = 1  # 2 or more: the explorer may start child runs (rlm_query)
    max_reply_tokens: int | None = DEFAULT_MAX_REPLY_TOKENS  # one model reply's cap (max_tokens); None: no cap


class RepoAuditor:
    """explore (RLM + repository tools) -> synthesize (model) -> verify (deterministic) -> Report.

    ``lm`` / ``sub_lm``: models (else ``repo_auditor.configure``). ``synthesizer``: a ``Synthesizer`` callable,
    ``"model"`` (default: ``LMSynthesizer`` on the main model) or None to skip. ``explorer_factory(tools, budgets)``
    returns the exploring module (anything called with ``repo_tree=`` and ``question=`` that returns a Prediction
    with ``answer`` and ``findings``); the default builds an ``RLM`` on ``AuditSignature``. ``strategy`` is
    "auto" (direct when the files in scope fit the model's window, see ``direct.py``), "rlm" or "direct".
    ``prompts`` replaces the program's prompts by name (``PROMPT_NAMES``; ``default_prompts()`` gives the shipped
    ones): "explore" (the explorer's instructions), "synthesis" and "direct" (templates with the same fields).
    """

    def __init__(
        self,
        *,
        lm: Any = None,
        sub_lm: Any = None,
        budgets: Budgets = Budgets(),
        synthesizer: Synthesizer | str | None = "model",
        explorer_factory: Callable[..., Any] | None = None,
        redact: bool = True,
        verbose: bool = False,
        trace: str | None = None,
        on_step: Callable[[Step, Progress], None] | None = None,
        interpreter: Any = None,
        strategy: str = "auto",
        prompts: dict[str, str] | None = None,
        samples: int | str = "auto",
    ):
        unknown = set(prompts or ()) - set(PROMPT_NAMES)
        if unknown:
            raise ValueError(f"unknown prompt(s) {', '.join(sorted(unknown))}; the prompts are {', '.join(PROMPT_NAMES)}")
        self.prompts = {**default_prompts(), **(prompts or {})}
        self.lm = lm
        # A caller's own explorer (the review job's, a test's) is what it wants run: "auto" never bypasses it.
        self.strategy = "rlm" if explorer_factory is not None and strategy == "auto" else strategy
        self.sub_lm = sub_lm
        self.budgets = budgets
        self.synthesizer = (LMSynthesizer(lm, budgets.max_reply_tokens, self.prompts["synthesis"])
                            if synthesizer == "model" else synthesizer)
        self.explorer_factory = explorer_factory or self.default_explorer
        self.redact = redact
        self.verbose = verbose
        self.trace = trace
        self.on_step = on_step
        self.interpreter = interpreter
        self.samples = samples

    def default_explorer(self, tools: Any, budgets: Budgets) -> Any:
        from repo_auditor.rlm import RLM

        return RLM(
            AuditSignature, instructions=self.prompts["explore"], max_iterations=budgets.max_iterations, max_llm_calls=budgets.max_llm_calls,
            max_output_chars=budgets.max_output_chars, verbose=self.verbose, tools=tools.as_list(),
            sub_lm=self.sub_lm, interpreter=self.interpreter, lm=self.lm, max_cost=budgets.max_cost,
            max_time=budgets.max_time, max_tokens=budgets.max_tokens, trace=self.trace, on_step=self.on_step,
            max_depth=budgets.max_depth, max_reply_tokens=budgets.max_reply_tokens,
        )

    def __call__(self, path: str | Path | Repository, question: str, *, ref: str | None = None) -> Report:
        """Audit ``path`` (a folder, or a Repository already opened at its ref) to answer ``question``."""
        from repo_auditor.repository import Repository
        from repo_auditor.tools import RepoTools

        if not question or not question.strip():
            from repo_auditor.errors import ConfigurationError

            raise ConfigurationError('the question is empty; ask something, e.g. "How does authentication work?"')
        started = time.monotonic()
        repo = path if isinstance(path, Repository) else Repository.open(path, ref=ref)
        lm = settings.resolve_lm(self.lm)  # fail before any work when no model is configured
        tools = RepoTools(repo, redact=self.redact)
        choice = choose_strategy(self.strategy, repo, getattr(lm, "model", None), self.budgets.max_reply_tokens)
        direct = choice.name == "direct"
        source = tools.view if tools.view is not None else repo  # code as the model saw it
        samples, samples_reason = resolve_samples(self.samples, lm) if direct else (1, "")
        explorer = (DirectExplorer(repo, lm, redact=self.redact, max_reply_tokens=self.budgets.max_reply_tokens,
                                   prompt=self.prompts["direct"], trace=self.trace, samples=samples,
                                   verify=lambda found: _verified_count(found, source),
                                   max_time=self.budgets.max_time, max_cost=self.budgets.max_cost)
                    if direct else self.explorer_factory(tools, self.budgets))
        interrupted: KeyboardInterrupt | None = None
        try:
            file_tree = repo.file_tree(FILE_TREE_BUDGET_CHARS)
            if tools.view is not None:  # file names pass through the redaction too
                file_tree = tools.view.text(file_tree)
            prediction: Prediction = explorer(repo_tree=file_tree, question=question)
            stopped = None if prediction.finished_by == "submit" else Stop(
                prediction.finished_by, _budget_detail(prediction, samples if direct else None), self.trace)
        except (LMError, SandboxError, BudgetExceededError, KeyboardInterrupt) as exc:
            prediction = getattr(exc, "partial", None)
            if prediction is None or not (prediction.root_usage.calls or prediction.sub_usage.calls):
                raise  # nothing was paid for yet: the plain error says all there is
            interrupted = exc if isinstance(exc, KeyboardInterrupt) else None
            reason = "interrupted" if interrupted else getattr(exc, "budget", None) or "error"
            detail = "interrupted (Ctrl-C)" if interrupted else f"{type(exc).__name__}: {exc}"
            stopped = Stop(reason, " ".join(detail.split()), self.trace)
        model = getattr(lm, "model", "model")
        usage = [ModelUsage(model, stage="direct" if direct else "explore", **_usage_fields(prediction.root_usage))]
        if prediction.sub_usage.calls:
            sub = self.sub_lm or settings.get("sub_lm") or settings.resolve_lm(self.lm)
            usage.append(ModelUsage(getattr(sub, "model", "sub-model"), stage="sub-calls",
                                    **_usage_fields(prediction.sub_usage)))
        # A run cut short is reported as it stands: another paid model call would spend past the budget or the
        # user's Ctrl-C, and a failing provider would fail again.
        synth = None if stopped is not None or direct else self._timed(self.synthesizer, started)
        report = build_report(
            question, prediction.outputs.get("answer", ""), prediction.outputs.get("findings", []),
            source,  # evidence as the model saw it; no secret in the report
            repo_info=RepoInfo.from_remote(str(repo.root), repo.ref, repo.commit, repo.remote_url()),
            coverage=Coverage(), usage=(), trajectory=[step.to_dict() for step in prediction.trajectory],
            synthesizer=synth, answers=prediction.iterations if direct else 1,
        )
        completion = getattr(synth, "completion", None)
        if completion is not None:
            usage.append(ModelUsage(completion.model, calls=1, prompt_tokens=completion.prompt_tokens,
                                    completion_tokens=completion.completion_tokens, cost=completion.cost,
                                    stage="synthesis"))
        total_cost = None if any(u.cost is None for u in usage) else sum(u.cost or 0.0 for u in usage)
        coverage = Coverage.from_ledger(
            tools.usage, iterations=prediction.iterations, sub_calls=prediction.sub_calls,
            prompt_tokens=sum(u.prompt_tokens for u in usage), completion_tokens=sum(u.completion_tokens for u in usage),
            cost=total_cost, seconds=time.monotonic() - started, budget_hit=_budget_note(prediction),
            files_total=len(repo.files),
        )
        if direct:  # no tool was called: the model saw every text file in scope, whole, in its prompt
            coverage = dataclasses.replace(coverage, files_read={e.path: e.lines for e in text_entries(repo)})
        notes = [getattr(explorer, "last_problem", None), getattr(synth, "last_problem", None)]
        report = dataclasses.replace(report, coverage=coverage, usage=tuple(usage), stopped=stopped,
                                     notes=tuple(n for n in notes if isinstance(n, str) and n),
                                     run=self._run_info(choice, model, time.monotonic() - started, samples,
                                                        samples_reason),
                                     redaction=self.redact)
        if self.trace:  # the run viewer shows what verification made of the findings
            append_record(self.trace, "findings", job="audit", answer=report.answer,
                          findings=[f.to_dict() for f in report.shown().findings])  # file names as in the report
        if interrupted is not None:
            raise RunInterruptedError("interrupted; the partial report holds the work done so far",
                                      report=report) from interrupted
        return report

    def _run_info(self, choice: StrategyChoice, model: str, seconds: float, samples: int = 1,
                  samples_reason: str = "") -> RunInfo:
        """What ran, for the report's "What ran" section (the CLI adds its budgets and scope)."""
        if choice.name == "direct":
            samples = f", {samples} samples ({samples_reason})" if samples > 1 else ""
            return RunInfo({"direct": model}, f"direct answer (every file in scope in one prompt{samples}) -> "
                           "verification against the code", seconds, "direct", choice.reason)
        sub = self.sub_lm or settings.get("sub_lm")
        models = {"explore": model, "sub-calls": getattr(sub, "model", model), "synthesis": model}
        return RunInfo(models, "RLM exploration -> synthesis -> verification against the code", seconds, "rlm",
                       choice.reason)

    def _timed(self, synthesizer: Synthesizer | None, started: float) -> Synthesizer | None:
        """The synthesizer, held to what is left of ``max_time`` (the explorer's answer stands if time runs out)."""
        if synthesizer is None or self.budgets.max_time is None:
            return synthesizer
        return _TimedSynthesizer(synthesizer, started + self.budgets.max_time)


class _TimedSynthesizer:
    """A synthesizer that gives up at a deadline (``time.monotonic()``), keeping the explorer's answer and findings."""

    def __init__(self, inner: Synthesizer, deadline: float):
        self.inner = inner
        self.deadline = deadline
        self.timed_out = False

    @property
    def last_problem(self) -> str | None:
        if self.timed_out:
            return "synthesis skipped: --max-time ran out; kept the explorer's answer"
        return getattr(self.inner, "last_problem", None)

    def __call__(self, question: str, answer: str, findings: list[Finding]) -> tuple[str, list[Finding]]:
        try:
            return call_before(lambda: self.inner(question, answer, findings), self.deadline - time.monotonic())
        except DeadlineExceeded:
            self.timed_out = True
            return answer, findings

    def __getattr__(self, name: str) -> Any:  # completion, last_problem of the wrapped synthesizer
        return getattr(self.inner, name)


def _usage_fields(usage: Any) -> dict[str, Any]:
    return {"calls": usage.calls, "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cost": None if usage.unknown_cost_calls else usage.cost}


def _budget_detail(prediction: Prediction, samples: int | None = None) -> str:
    """What stopped the run early, for the report (``samples``: the direct answers asked for, when direct)."""
    if samples is not None:
        return f"the {prediction.finished_by} budget ran out after {prediction.iterations} of {samples} answers"
    answer = ("the answer was extracted from the history" if prediction.extracted else "no answer was submitted")
    what = ("the model sent the same code three turns in a row" if prediction.finished_by == "repeated_code"
            else f"the {prediction.finished_by} budget ran out")
    return f"{what}; {answer}; synthesis was skipped"


def _budget_note(prediction: Prediction) -> str | None:
    if prediction.finished_by == "submit":
        return None
    extracted = "; the answer was extracted from the history" if prediction.extracted else ""
    return f"{prediction.finished_by}{extracted}"


def audit(
    path: str | Path | Repository,
    question: str,
    *,
    ref: str | None = None,
    lm: Any = None,
    sub_lm: Any = None,
    budgets: Budgets = Budgets(),
    synthesize: bool = True,
    redact: bool = True,
    verbose: bool = False,
    trace: str | None = None,
    on_step: Callable[[Step, Progress], None] | None = None,
    strategy: str = "auto",
    samples: int | str = "auto",
) -> Report:
    """Audit the repository at ``path`` (optionally at ``ref``) to answer ``question``; returns a verified Report.
    ``strategy``: "auto" (direct when the files in scope fit the model's window), "rlm" or "direct". ``samples``:
    direct answers asked for (every sample's findings kept, the best-verified answer shown); "auto" asks once for a
    model with a price and ``UNPRICED_SAMPLES`` (8) times for one without (a local or self-hosted model).

    Render it with ``repo_auditor.render(report)`` (Markdown) or ``render(report, "json")``.
    """
    auditor = RepoAuditor(lm=lm, sub_lm=sub_lm, budgets=budgets, synthesizer="model" if synthesize else None,
                          redact=redact, verbose=verbose, trace=trace, on_step=on_step, strategy=strategy,
                          samples=samples)
    return auditor(path, question, ref=ref)
