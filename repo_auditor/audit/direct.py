"""The direct strategy: when every file in scope fits the model's window, one model call with the files in the prompt.

Published re-runs find a direct prompt ahead of an RLM on small contexts (RepoQA 98% vs 96%, CodeQA 46% vs 38% with
GPT-5-mini) and the RLM ahead only beyond the window; small local models also handle one prompt far better than a
REPL. So ``--strategy auto`` (the default) measures the files in scope and picks::

    estimated prompt tokens + reply cap + headroom <= min(model's input window, MAX_DIRECT_TOKENS)  ->  direct
    otherwise                                                                                      ->  rlm

The window comes from litellm's model table (``max_input_tokens``; litellm is imported on this path only) or, for
models it does not know (local servers, aliases), ``UNKNOWN_WINDOW_TOKENS``. The files go in line-numbered and through
the same secret redaction the tools use; the reply is the same answer + findings JSON the explorer submits, and its
findings are verified against the code like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from repo_auditor.errors import BudgetExceededError, ConfigurationError
from repo_auditor.rlm.deadline import DeadlineExceeded, call_before
from repo_auditor.rlm.lm import Usage
from repo_auditor.rlm.prediction import Prediction
from repo_auditor.rlm.provider import litellm_module, model_price
from repo_auditor.rlm.reply import extract_json_object
from repo_auditor.rlm.settings import takes_max_tokens
from repo_auditor.rlm.trace import NullTrace, TraceWriter
from repo_auditor.tools.redaction import redact
from repo_auditor.tools.view import redact_name

STRATEGIES = ("auto", "rlm", "direct")
# Answers asked for when ``samples`` is "auto" and a call costs nothing but time: the model has no price (a local or
# self-hosted one, usually small). With Qwen2.5-Coder-1.5B on fixtures/audit_repo one answer verified the planted
# flaw about one time in four; of 10 runs of 8 answers, the first 3 answers found it in 6, the first 4 in 8, the
# first 6 in 9 and all 8 in 10 (README, "Small and local models"). The server reuses the prompt prefix, so each
# further answer costs only its generation (10-20 s on 2 cores for that model).
UNPRICED_SAMPLES = 8
# Code tokenizes denser than prose: 3 characters per token over-counts for OpenAI-style tokenizers and is about right
# for the small local models' (Qwen2.5), so an estimate that fits really fits.
CHARS_PER_TOKEN = 3
LINE_PREFIX_TOKENS = 3  # "  123 | " before every line
FILE_HEADER_TOKENS = 12  # "=== path (N lines) ===" and the blank line after the file
PROMPT_TOKENS = 400  # the instructions and the question
HEADROOM = 0.1  # share of the window left free: estimates are estimates
# Models that litellm does not know: local servers (llama.cpp, Ollama) often run with a 16k context or less.
UNKNOWN_WINDOW_TOKENS = 16_000
# Even a large window answers worse when it is full; above this the RLM explores instead (the RLM paper's CodeQA
# results: direct answers fall off on long contexts).
MAX_DIRECT_TOKENS = 64_000

DIRECT_PROMPT = """You are auditing a source-code repository to answer a question. Every file of the repository in scope
is below, each line prefixed with its line number ("  12 | code"). Secrets appear as [REDACTED:<kind>].

Question: {question}

{files}

Answer the question from these files only. Reply with one JSON object and nothing else. Its key "answer" holds your
answer in your own words, as a Markdown string that cites code as path:line. Its key "findings" holds a list with one
object per finding (an empty list when there is nothing to report), each with the keys title, severity (one of info,
low, medium, high, critical), path, line, end_line, evidence (the cited lines copied exactly, without the line-number
prefix) and explanation."""


@dataclass(frozen=True)
class StrategyChoice:
    """Which strategy runs and why, with the figures behind an automatic choice."""

    name: str  # "rlm" or "direct"
    reason: str
    estimated_tokens: int | None = None
    window_tokens: int | None = None


def text_entries(repo: Any) -> list[Any]:
    """The files the direct prompt holds: every text file in scope (binary files and symlinks left out)."""
    return [e for e in repo.files if not e.binary and e.symlink_target is None]


def estimate_prompt_tokens(repo: Any) -> int:
    """Tokens of the direct prompt for ``repo``, from file sizes and line counts (no file is read)."""
    entries = text_entries(repo)
    chars = sum(e.size + len(e.path) for e in entries)
    lines = sum(e.lines for e in entries)
    return PROMPT_TOKENS + chars // CHARS_PER_TOKEN + lines * LINE_PREFIX_TOKENS + len(entries) * FILE_HEADER_TOKENS


def context_window(model: str | None) -> tuple[int, str]:
    """The model's input window in tokens and where that figure comes from."""
    if model:
        try:
            info = litellm_module().get_model_info(model)
        except Exception:  # litellm raises for models missing from its table
            info = {}
        window = info.get("max_input_tokens") or info.get("max_tokens")
        if isinstance(window, int) and window > 0:
            return window, "litellm's model table"
    return UNKNOWN_WINDOW_TOKENS, "the default for models litellm does not know"


def choose_strategy(requested: str, repo: Any, model: str | None, reply_tokens: int | None) -> StrategyChoice:
    """``requested`` ("auto", "rlm" or "direct") resolved for ``repo`` and ``model``, with the reason."""
    if requested not in STRATEGIES:
        raise ConfigurationError(f"strategy must be one of {', '.join(STRATEGIES)}, got {requested!r}")
    if requested == "rlm":
        return StrategyChoice("rlm", "asked for (--strategy rlm)")
    estimate = estimate_prompt_tokens(repo)
    if requested == "direct":
        return StrategyChoice("direct", "asked for (--strategy direct)", estimate)
    window, source = context_window(model)
    room = int(min(window, MAX_DIRECT_TOKENS) * (1 - HEADROOM)) - (reply_tokens or 0)
    files = len(text_entries(repo))
    if estimate <= room:
        return StrategyChoice("direct", f"the {files} files in scope (~{estimate:,} tokens) fit the model's window "
                              f"({window:,} tokens, {source}) with room for the answer", estimate, window)
    limit = "window" if window <= MAX_DIRECT_TOKENS else f"direct-answer limit ({MAX_DIRECT_TOKENS:,} tokens)"
    return StrategyChoice("rlm", f"the {files} files in scope (~{estimate:,} tokens) do not fit the model's {limit} "
                          f"({window:,} tokens, {source}) with room for the answer", estimate, window)


def resolve_samples(requested: int | str, model: Any) -> tuple[int, str]:
    """(direct answers to ask for, why) for the ``samples`` setting: a whole number is taken as given; "auto" is 1
    for a model with a price and ``UNPRICED_SAMPLES`` for one without (``model``: an LM or a model name; ``LM.price``
    puts the prices given to the LM before litellm's table; a zero price counts as none)."""
    if requested != "auto":
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ConfigurationError(f"samples must be 1 or more, or \"auto\", got {requested!r}")
        return requested, "asked for"
    if model is None:  # no model named yet (a dry run without --model)
        return 1, "auto: no model named"
    if _priced(model):
        return 1, "auto: one answer for a model with a price"
    return UNPRICED_SAMPLES, ("auto: the model has no price (local or self-hosted), so more answers cost time, "
                              "not money")


def _priced(model: Any) -> bool:
    """Whether calls to ``model`` (a name, or an LM and its ``price``) cost money."""
    if isinstance(model, str):
        price = model_price(model)
    else:  # an LM-like object without ``price`` is looked up by its name
        price = model.price if hasattr(model, "price") else model_price(getattr(model, "model", None))
    return price is not None and price[0] + price[1] > 0


def render_files(repo: Any, redact_secrets: bool = True) -> str:
    """Every text file in scope, line-numbered like read_file's output, secrets redacted (in names too)."""
    parts = []
    for entry in text_entries(repo):
        text = repo.read_text(entry.path)
        name = entry.path
        if redact_secrets:
            text, name = redact(text, entry.path), redact_name(entry.path)
        lines = text.splitlines()
        width = len(str(len(lines)))
        numbered = "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(lines, 1))
        parts.append(f"=== {name} ({len(lines)} lines) ===\n{numbered}")
    return "\n\n".join(parts)


class DirectExplorer:
    """The explorer of the direct strategy: called like the RLM (``repo_tree=``, ``question=``), one model call per
    sample.

    With ``samples`` > 1 the same prompt is asked that many times and every sample's findings are kept (verification
    and dedup come after, as for any finding): a small model that finds the flaw in two answers out of five finds it
    far more often in three tries than in one. The answer is the one of the sample whose findings verify best (the
    first on a tie); ``verify`` scores a sample's findings (the number that verify), and without it the first
    answer stands. A reply that is not the requested JSON becomes the answer as written, with no findings, and
    ``last_problem`` says so. ``max_time`` (seconds) bounds the whole run: no sample starts after it, a call in
    flight is abandoned when it runs out, and the answers already in are the (partial) result, ``finished_by``
    "max_time"; with no answer yet, ``BudgetExceededError``. ``max_cost`` (US dollars): no sample starts once the
    answers so far have cost that much (``finished_by`` "max_cost")."""

    def __init__(self, repo: Any, lm: Any, *, redact: bool = True, max_reply_tokens: int | None = None,
                 prompt: str = DIRECT_PROMPT, trace: str | None = None, samples: int = 1,
                 verify: Callable[[list[Any]], int] | None = None, max_time: float | None = None,
                 max_cost: float | None = None):
        if samples < 1:
            raise ConfigurationError(f"samples must be 1 or more, got {samples}")
        self.template = prompt
        self.trace = trace
        self.repo = repo
        self.lm = lm
        self.redact = redact
        self.max_reply_tokens = max_reply_tokens
        self.samples = samples
        self.verify = verify
        self.max_time = max_time
        self.max_cost = max_cost
        self.last_problem: str | None = None
        self.prompt = ""

    def __call__(self, *, repo_tree: str, question: str) -> Prediction:
        started = time.perf_counter()
        self.prompt = self.template.format(question=question, files=render_files(self.repo, self.redact))
        capped = self.max_reply_tokens is not None and takes_max_tokens(self.lm)
        cap = {"max_tokens": self.max_reply_tokens} if capped else {}
        messages = [{"role": "user", "content": self.prompt}]
        writer = TraceWriter(self.trace) if self.trace else NullTrace()
        usage = Usage()
        answers: list[tuple[str, list[Any], str | None]] = []
        writer.write("run_start", signature="direct: repo_tree, question -> answer, findings",
                     inputs={"question": f"str, {len(question)} chars"}, model=getattr(self.lm, "model", None),
                     limits={**cap, "samples": self.samples, "max_time": self.max_time, "max_cost": self.max_cost})
        deadline = None if self.max_time is None else time.monotonic() + self.max_time
        finished_by = "submit"
        try:
            for sample in range(1, self.samples + 1):
                if self.max_cost is not None and answers and usage.cost >= self.max_cost:
                    finished_by = "max_cost"
                    break
                left = None if deadline is None else deadline - time.monotonic()
                writer.write("request", iteration=sample, model=getattr(self.lm, "model", None), messages=messages,
                             purpose="direct")
                try:
                    completion = call_before(lambda: self.lm.complete(messages, **cap), left)
                except DeadlineExceeded:
                    writer.write("deadline", iteration=sample, purpose="direct")
                    if not answers:
                        limit = self.max_time or 0.0  # set: there is a deadline
                        raise BudgetExceededError(f"max_time ({limit:g} s) ran out before the first direct answer",
                                                  budget="max_time", spent=limit, limit=limit) from None
                    finished_by = "max_time"
                    break
                except BaseException as exc:
                    writer.write("run_error", error=f"{type(exc).__name__}: {exc}")
                    if answers:  # the samples already paid for are kept (a partial report)
                        exc.partial = self._prediction(answers, usage, started, "error")
                    raise
                usage.add(completion)
                writer.write("reply", iteration=sample, text=completion.text, prompt_tokens=completion.prompt_tokens,
                             completion_tokens=completion.completion_tokens, cost=completion.cost,
                             finish_reason=completion.finish_reason, duration=completion.duration)
                answers.append(self._read(completion.text))
            prediction = self._prediction(answers, usage, started, finished_by)
            writer.write("run_end", finished_by=finished_by, extracted=False, outputs=prediction.outputs,
                         usage=usage.to_dict(), duration=prediction.duration)
            return prediction
        finally:
            writer.close()

    def _prediction(self, answers: list[tuple[str, list[Any], str | None]], usage: Usage, started: float,
                    finished_by: str) -> Prediction:
        """The best sample's answer with every sample's findings."""
        choosing = self.verify is not None and len(answers) > 1  # one answer needs no scoring (the report verifies)
        scores = [self.verify(findings) if choosing and findings else 0 for _, findings, _ in answers]
        best = max(range(len(answers)), key=lambda i: (scores[i], -i))
        answer, _, problem = answers[best]
        self.last_problem = problem
        findings = [finding for _, found, _ in answers for finding in found]
        return Prediction(outputs={"answer": answer, "findings": findings}, usage=usage, root_usage=usage,
                          finished_by=finished_by, iterations=len(answers),
                          duration=round(time.perf_counter() - started, 4))

    @staticmethod
    def _read(text: str) -> tuple[str, list[Any], str | None]:
        """(answer, findings, problem) of one reply."""
        try:
            data = extract_json_object(text)
        except ValueError:
            return text.strip(), [], "the direct answer was not the requested JSON; its text is the answer, no findings"
        answer, findings = data.get("answer"), data.get("findings")
        if not isinstance(findings, list):
            findings = []
        if not isinstance(answer, str) or not answer.strip():
            return "", findings, "the direct answer had no answer text"
        return answer, findings, None
