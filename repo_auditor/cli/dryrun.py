"""``--dry-run``: what a run would look at and roughly cost, from the files in scope and litellm's price table,
without any model request.

The estimate is a range, not a prediction: the low end is a short run (``LOW_TURNS`` turns, small observations, no
sub-calls), the high end spends every budget (``max_iterations`` turns with full observations, ``max_llm_calls``
sub-calls), capped by ``max_cost`` when one is set. Each turn re-sends the conversation so far, so the input grows
with the square of the turns; provider prompt caching makes the real bill lower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repo_auditor.rlm.provider import model_price

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text and code with OpenAI-style tokenizers
# Measured on the audit's first request (system prompt, tool documentation, task) without the file tree.
PROMPT_OVERHEAD_TOKENS = 2_500
FILE_TREE_CHARS = 6_000  # audit.pipeline.FILE_TREE_BUDGET_CHARS
REPLY_TOKENS = 600  # a turn's reasoning and code
LOW_TURNS = 3
LOW_OBSERVATION_TOKENS = 800  # a grep or a short read
SUB_CALL_INPUT_TOKENS = 4_000  # a focused snippet and a question
SUB_CALL_OUTPUT_TOKENS = 400
SYNTHESIS_OUTPUT_TOKENS = 1_500
DIRECT_LOW_REPLY_TOKENS = 300  # a direct answer with a finding or two (the 1.5B model's: 80-250 tokens)


@dataclass(frozen=True)
class Tokens:
    prompt: int = 0
    completion: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(self.prompt + other.prompt, self.completion + other.completion)

    @property
    def total(self) -> int:
        return self.prompt + self.completion


def exploration_tokens(base: int, turns: int, observation: int) -> Tokens:
    """``turns`` requests, each re-sending the base prompt and every earlier reply and observation."""
    growth = REPLY_TOKENS + observation
    return Tokens(turns * base + growth * turns * (turns - 1) // 2, turns * REPLY_TOKENS)


def cost(tokens: Tokens, prices: tuple[float, float] | None) -> float | None:
    return None if prices is None else tokens.prompt * prices[0] + tokens.completion * prices[1]


def scope_lines(repo: Any) -> list[str]:
    text_files = [e for e in repo.files if not e.binary]
    size = sum(e.size for e in text_files)
    return [
        "Dry run: no model was called.",
        f"repository  {repo.root}" + (f" at {repo.ref}" if repo.ref else "") +
        (f" ({repo.commit[:12]})" if repo.commit else ""),
        f"in scope    {len(repo.files):,} files ({len(text_files):,} text, {size / 1e6:.1f} MB), "
        f"~{size // CHARS_PER_TOKEN:,} tokens if read whole",
    ]


def audit_estimate(repo: Any, cfg: Any, *, base_extra_tokens: int = 0, review: bool = False) -> str:
    """The dry-run summary of an audit (or review: ``base_extra_tokens`` is the diff it adds to the prompt). An audit
    that ``--strategy`` (auto by default) would answer directly is estimated as that: ``samples`` calls, each with
    every file in the prompt and a reply between ``DIRECT_LOW_REPLY_TOKENS`` and the reply cap."""
    if not review:
        from repo_auditor.audit.direct import choose_strategy

        choice = choose_strategy(cfg.strategy, repo, cfg.model, cfg.max_reply_tokens)
        if choice.name == "direct":
            return _direct_estimate(repo, cfg, choice)
    tree_tokens = min(len(repo.file_tree(FILE_TREE_CHARS)), FILE_TREE_CHARS) // CHARS_PER_TOKEN
    base = PROMPT_OVERHEAD_TOKENS + tree_tokens + base_extra_tokens
    synthesis = Tokens(base, SYNTHESIS_OUTPUT_TOKENS)
    low = exploration_tokens(base, LOW_TURNS, LOW_OBSERVATION_TOKENS) + synthesis
    high = exploration_tokens(base, cfg.max_iterations, cfg.max_output_chars // CHARS_PER_TOKEN) + synthesis
    subs = Tokens(cfg.max_llm_calls * SUB_CALL_INPUT_TOKENS, cfg.max_llm_calls * SUB_CALL_OUTPUT_TOKENS)
    lines = scope_lines(repo)
    main_price, sub_price = model_price(cfg.model), model_price(cfg.sub_model or cfg.model)
    if cfg.model:
        lines.append(f"model       {cfg.model}" + _price_text(main_price) +
                     (f"; sub-calls {cfg.sub_model}{_price_text(sub_price)}" if cfg.sub_model else ""))
    else:
        lines.append("model       none configured (pass --model to see a cost range)")
    lines.append(f"tokens      ~{low.total:,} ({LOW_TURNS} turns, no sub-calls) to ~{(high + subs).total:,} "
                 f"({cfg.max_iterations} turns, {cfg.max_llm_calls} sub-calls)")
    high_main, high_sub = cost(high, main_price), cost(subs, sub_price)
    top = None if high_main is None or high_sub is None else high_main + high_sub
    return "\n".join(lines + _cost_lines(cfg, cost(low, main_price), top))


def _direct_estimate(repo: Any, cfg: Any, choice: Any) -> str:
    from repo_auditor.audit.direct import resolve_samples

    samples, why = resolve_samples(cfg.samples, cfg.model)
    prompt = choice.estimated_tokens or 0
    low = Tokens(prompt * samples, DIRECT_LOW_REPLY_TOKENS * samples)
    high = Tokens(prompt * samples, (cfg.max_reply_tokens or DIRECT_LOW_REPLY_TOKENS) * samples)
    lines = scope_lines(repo)
    lines.append(f"strategy    direct: {choice.reason}" + (f"; {samples} samples ({why})" if samples > 1 else ""))
    prices = model_price(cfg.model)
    lines.append(f"model       {cfg.model}" + _price_text(prices) if cfg.model else
                 "model       none configured (pass --model to see a cost range)")
    calls = f"{samples} call{'s' if samples > 1 else ''}"
    lines.append(f"tokens      ~{low.total:,} to ~{high.total:,} ({calls} with every file in the prompt)")
    return "\n".join(lines + _cost_lines(cfg, cost(low, prices), cost(high, prices)))


def _cost_lines(cfg: Any, low: float | None, high: float | None) -> list[str]:
    """The "cost" line: the range (the top capped by ``max_cost``), "unknown" without prices, none without a model."""
    if not cfg.model:
        return []
    if low is None or high is None:
        return ["cost        unknown: litellm has no price for the model (set prices on LM for a local one)"]
    capped = cfg.max_cost is not None and high > cfg.max_cost
    return [f"cost        {_dollars(low)} to {_dollars(min(high, cfg.max_cost) if capped else high)}"
            + (" (capped by max_cost)" if capped else "") + "; prompt caching lowers it"]


def _dollars(amount: float) -> str:
    return f"${amount:.4f}" if amount < 0.1 else f"${amount:.2f}"


def _price_text(prices: tuple[float, float] | None) -> str:
    if prices is None:
        return " (no known price)"
    return f" (${prices[0] * 1e6:.2f} / ${prices[1] * 1e6:.2f} per million tokens in / out)"


def review_estimate(repo: Any, base: str, cfg: Any) -> str:
    """The dry-run summary of a review: the change's size, then the audit estimate with the diff in the prompt."""
    merge_base = repo.merge_base(base, repo.commit)
    diff = repo.diff(merge_base, repo.commit)
    changed = diff.count("\ndiff --git ") + diff.startswith("diff --git ")
    shown = min(len(diff), cfg["review.diff_budget"])
    text = audit_estimate(repo, cfg, base_extra_tokens=shown // CHARS_PER_TOKEN, review=True)
    head, rest = text.split("\nmodel", 1)
    return (f"{head}\nchange      {changed:,} files changed since {merge_base[:12]} ({base}), {len(diff):,} "
            f"characters of diff, {shown:,} given in full\nmodel{rest}")
