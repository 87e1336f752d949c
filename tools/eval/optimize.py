#!/usr/bin/env python3
"""Optimise the audit program's prompts with GEPA on a labelled task set (maintainer tooling, issue 18).

    PYTHONPATH=. python tools/eval/optimize.py [--sets planted] [--limit 3] [--strategy direct]
        [--components direct] [--max-metric-calls 12] [--model M --api-base URL] [--reflection-model M2]
        [--out best_prompts.json]

The standalone ``gepa`` package (``pip install gepa``; no dspy needed) evolves the texts of the named prompts
(``repo_auditor.audit.pipeline.PROMPT_NAMES``: "explore", "synthesis", "direct"). ``AuditAdapter`` is its adapter:
a candidate is a dict of prompt texts, each task is audited with them through ``run.run_task``, the score is the
eval's metric (``run.Row.score``: location found, verified finding, answer facts) and the feedback GEPA's reflection
model reads is why points were lost: the expected location against what was cited, each unverified finding with its
verification note, facts missing from the answer, report notes (a synthesis that echoed a placeholder, a direct reply
that was not JSON) and early stops.

The reflection model defaults to the task model; a stronger one (``--reflection-model``) proposes better prompts.
Without ``--api-base`` the local model is started. The best prompts go to ``--out`` as JSON; pass them back with
``RepoAuditor(prompts=json.load(...))``.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.eval import run  # noqa: E402
from tools.eval.tasks import SETS, Task  # noqa: E402

# The fields each template must keep (the explorer's instructions have none).
REQUIRED_FIELDS = {"explore": set(), "synthesis": {"question", "answer", "findings"}, "direct": {"question", "files"}}
DEFAULT_COMPONENTS = {"direct": ("direct",), "rlm": ("explore", "synthesis"), "auto": ("direct", "explore", "synthesis")}


def template_problem(name: str, text: str) -> str | None:
    """Why ``text`` cannot be the prompt ``name`` (fields lost or added, unbalanced braces), or None."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        return f"the {name} prompt is not a valid template ({exc}); write literal braces as {{{{ and }}}}"
    required = REQUIRED_FIELDS[name]
    if name == "explore":
        return None  # instructions, not a template
    if fields != required:
        return (f"the {name} prompt must contain exactly the fields {', '.join('{' + f + '}' for f in sorted(required))}"
                f" (it has {', '.join('{' + f + '}' for f in sorted(fields)) or 'none'}); write literal braces as "
                f"{{{{ and }}}}")
    return None


class AuditAdapter:
    """A ``gepa.GEPAAdapter`` over the audit program: candidates are prompt texts by name, data are eval tasks."""

    propose_new_texts = None  # gepa's own reflective proposer writes the new texts

    def __init__(self, lm: Any, strategy: str, budgets: Any):
        self.lm = lm
        self.strategy = strategy
        self.budgets = budgets

    def evaluate(self, batch: list[Task], candidate: dict[str, str], capture_traces: bool = False) -> Any:
        from gepa import EvaluationBatch

        problems = [p for name, text in candidate.items() if (p := template_problem(name, text))]
        rows = []
        for task in batch:
            if problems:
                rows.append(run.Row(task.id, self.strategy, error=problems[0], feedback=problems))
            else:
                rows.append(run.run_task(task, self.lm, self.strategy, self.budgets, prompts=dict(candidate)))
        trajectories = list(zip(batch, rows)) if capture_traces else None
        return EvaluationBatch(outputs=rows, scores=[r.score for r in rows], trajectories=trajectories)

    def make_reflective_dataset(self, candidate: dict[str, str], eval_batch: Any,
                                components_to_update: list[str]) -> dict[str, list[dict[str, Any]]]:
        records = []
        for task, row in eval_batch.trajectories or []:
            outcome = (f"strategy that ran: {row.ran}; location found: {row.location}; verified finding: "
                       f"{row.verified}; facts matched: {row.facts:.0%}; turns: {row.turns}; score {row.score:.2f}")
            records.append({"Inputs": {"question": task.question, "task": task.id},
                            "Generated Outputs": outcome,
                            "Feedback": "; ".join(row.feedback) or "correct: keep what made this work"})
        return {name: records for name in components_to_update}


def optimize(tasks: list[Task], lm: Any, reflection_lm: Any, strategy: str, components: tuple[str, ...],
             budgets: Any, max_metric_calls: int, run_dir: str | None = None, seed: int = 0) -> Any:
    """Run GEPA from the shipped prompts; returns gepa's result (``best_candidate``, ``val_aggregate_scores``...)."""
    import gepa

    from repo_auditor.audit.pipeline import default_prompts

    shipped = default_prompts()
    seed_candidate = {name: shipped[name] for name in components}
    return gepa.optimize(seed_candidate=seed_candidate, trainset=tasks, valset=tasks,
                         adapter=AuditAdapter(lm, strategy, budgets), reflection_lm=reflection_lm,
                         max_metric_calls=max_metric_calls, reflection_minibatch_size=min(3, len(tasks)),
                         run_dir=run_dir, seed=seed, display_progress_bar=False, raise_on_exception=False)


def parser() -> argparse.ArgumentParser:
    p = run.parser()
    p.description = __doc__.split("\n\n")[0]
    p.set_defaults(sets="planted", limit=3, strategy="direct")
    p.add_argument("--components", default=None,
                   help="comma-separated prompts to evolve (default: those the strategy uses)")
    p.add_argument("--max-metric-calls", type=int, default=12, help="task audits GEPA may run in all")
    p.add_argument("--reflection-model", default=None, help="litellm model that proposes prompts (default: --model)")
    p.add_argument("--reflection-api-base", default=None)
    p.add_argument("--reflection-api-key", default=None)
    p.add_argument("--out", default="best_prompts.json", help="where the best prompts are written")
    p.add_argument("--run-dir", default=None, help="gepa's run folder (checkpoints, logs)")
    return p


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from repo_auditor.rlm.lm import LM

    args = parser().parse_args(argv)
    if args.strategy not in DEFAULT_COMPONENTS:
        print(f"--strategy must be one of {', '.join(DEFAULT_COMPONENTS)}", file=sys.stderr)
        return 2
    components = tuple(c.strip() for c in args.components.split(",")) if args.components else \
        DEFAULT_COMPONENTS[args.strategy]
    unknown = [c for c in components if c not in REQUIRED_FIELDS]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if unknown or any(s not in SETS for s in sets):
        print(f"unknown prompt or set: {', '.join(unknown + [s for s in sets if s not in SETS])}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="repo-auditor-gepa-") as tmp:
        tasks = run.load_tasks(sets, Path(args.workdir or tmp), args.limit)
        with run.model_endpoint(args.api_base, args.local_model) as api_base:
            lm = run.make_lm(args, api_base)
            reflection = lm if not args.reflection_model else LM(
                args.reflection_model, api_base=args.reflection_api_base, api_key=args.reflection_api_key,
                timeout=args.timeout, num_retries=args.retries)
            result = optimize(tasks, lm, reflection, args.strategy, components, run.budgets_from(args),
                              args.max_metric_calls, args.run_dir)
    best = result.best_candidate
    Path(args.out).write_text(json.dumps(best, indent=1, ensure_ascii=False))
    scores = result.val_aggregate_scores
    print(f"{len(result.candidates)} candidate(s); validation score of the shipped prompts {scores[0]:.2f}, "
          f"of the best {max(scores):.2f}; best prompts written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
