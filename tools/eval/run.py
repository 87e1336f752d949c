#!/usr/bin/env python3
"""Run the task sets of ``tasks.py`` through the audit and print a table per strategy (maintainer tooling, issue 18).

    PYTHONPATH=. python tools/eval/run.py [--sets planted,repoqa,config] [--strategy direct,rlm,auto] [--limit N]
        [--model openai/qwen --api-base URL] [--max-iterations 6] [--timeout 1800] [--json results.json]

Without ``--api-base`` the local model is started (``local_model.py``; ``--local-model 0.5b`` for the small one) and
stopped at the end. Each task runs the product's Python API (``repo_auditor.audit.pipeline.RepoAuditor``) on a
repository written into a temporary folder, and is scored by ``score``:

* location found: a finding or a ``path:line`` in the answer whose line range overlaps the expected one;
* finding verified: a verified finding overlapping the expected range (planted bugs only; "-" elsewhere);
* facts: the share of the task's facts (words) found in the answer;
* turns, tokens (prompt + completion), wall time.

A task that fails (a model error, a budget error without a report) is a row with its error and scores of zero.
``evaluate`` is the same loop as a function, also used by ``optimize.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.eval.tasks import SETS, Expect, Task, build  # noqa: E402

STRATEGIES = ("direct", "rlm", "auto")
_CITATION = re.compile(r"([\w./-]+\.[A-Za-z0-9]+):(\d+)(?:\s*[-–]\s*(\d+))?")


@dataclass
class Row:
    """One task's result under one strategy."""

    task: str
    strategy: str
    ran: str = "-"  # the strategy that ran (auto picks one)
    location: bool = False
    verified: bool | None = None
    facts: float = 0.0
    turns: int = 0
    tokens: int = 0
    seconds: float = 0.0
    error: str | None = None
    feedback: list[str] = field(default_factory=list)  # why points were lost, for optimize.py

    @property
    def score(self) -> float:
        """0..1: location 0.4, verified finding 0.4 (or location again where no finding is expected), facts 0.2."""
        second = self.location if self.verified is None else self.verified
        return 0.4 * self.location + 0.4 * bool(second) + 0.2 * self.facts


def _overlaps(path: str, start: int, end: int, expect: Expect) -> bool:
    same = path == expect.path or expect.path.endswith("/" + path.lstrip("./"))
    return same and start <= expect.end and end >= expect.start


def citations(report: Any) -> list[tuple[str, int, int, bool | None]]:
    """(path, first line, last line, verified) of every finding, then every ``path:line`` in the answer."""
    out = []
    for finding in report.findings:
        loc = finding.location
        if loc.line is not None:
            out.append((loc.path, loc.line, loc.end_line or loc.line, finding.verified))
    for match in _CITATION.finditer(report.answer or ""):
        first = int(match.group(2))
        out.append((match.group(1), first, int(match.group(3) or first), None))
    return out


def score(task: Task, report: Any, strategy: str, seconds: float) -> Row:
    cited = citations(report)
    hits = [c for c in cited if _overlaps(c[0], c[1], c[2], task.expect)]
    answer = (report.answer or "").lower()
    matched = [f for f in task.facts if f.lower() in answer]
    coverage = report.coverage
    run = report.run
    row = Row(task.id, strategy, getattr(run, "mode", None) or "-", bool(hits),
              any(c[3] is True for c in hits) if task.wants_finding else None,
              len(matched) / len(task.facts) if task.facts else 1.0, coverage.iterations,
              coverage.prompt_tokens + coverage.completion_tokens, round(seconds, 1))
    expected = f"{task.expect.path}:{task.expect.start}-{task.expect.end}"
    if not hits:
        shown = ", ".join(f"{p}:{a}-{b}" for p, a, b, _ in cited[:6]) or "nothing"
        row.feedback.append(f"the answer should cite {expected}; it cited {shown}")
    if task.wants_finding and not row.verified:
        notes = [f"'{f.title}' at {f.location.path}:{f.location.line}: {f.verification_note or 'not verified'}"
                 for f in report.findings if f.verified is not True]
        row.feedback.append("no verified finding at " + expected + (": " + "; ".join(notes) if notes else
                                                                    " (no finding was reported)"))
    missing = [f for f in task.facts if f not in matched]
    if missing:
        row.feedback.append(f"the answer does not mention {', '.join(missing)}")
    row.feedback += [f"report note: {n}" for n in report.notes]
    if report.stopped is not None:
        row.feedback.append(f"the run stopped early: {report.stopped.reason}: {report.stopped.detail}")
    return row


def run_task(task: Task, lm: Any, strategy: str, budgets: Any, prompts: dict[str, str] | None = None,
             samples: int | str = 1) -> Row:
    from repo_auditor.audit.pipeline import RepoAuditor
    from repo_auditor.errors import RepoAuditorError

    started = time.monotonic()
    try:
        auditor = RepoAuditor(lm=lm, budgets=budgets, strategy=strategy, prompts=prompts, samples=samples)
        report = auditor(task.repo, task.question)
    except RepoAuditorError as exc:
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return Row(task.id, strategy, error=message[:300], seconds=round(time.monotonic() - started, 1),
                   feedback=[f"the run failed: {message[:500]}"])
    return score(task, report, strategy, time.monotonic() - started)


def evaluate(tasks: list[Task], lm: Any, strategy: str, budgets: Any,
             prompts: dict[str, str] | None = None) -> list[Row]:
    return [run_task(task, lm, strategy, budgets, prompts) for task in tasks]


def _mark(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def table(rows: list[Row]) -> str:
    """A Markdown table with one line per task and a totals line."""
    lines = ["| task | ran | location | verified | facts | turns | tokens | s | error |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.task} | {r.ran} | {_mark(r.location)} | {_mark(r.verified)} | {r.facts:.0%} | {r.turns} | "
                     f"{r.tokens:,} | {r.seconds:.1f} | {(r.error or '')[:80]} |")
    wanted = [r for r in rows if r.verified is not None or (r.error and r.task.startswith("planted/"))]
    lines.append(f"| **total ({len(rows)})** | | {sum(r.location for r in rows)}/{len(rows)} | "
                 f"{sum(bool(r.verified) for r in wanted)}/{len(wanted)} | "
                 f"{sum(r.facts for r in rows) / max(len(rows), 1):.0%} | {sum(r.turns for r in rows)} | "
                 f"{sum(r.tokens for r in rows):,} | {sum(r.seconds for r in rows):.1f} | "
                 f"{sum(1 for r in rows if r.error)} failed |")
    return "\n".join(lines)


def load_tasks(sets: list[str], root: Path, limit: int | None) -> list[Task]:
    tasks = []
    for name in sets:
        tasks += build(name, root)[:limit] if limit else build(name, root)
    return tasks


@contextmanager
def model_endpoint(api_base: str | None, local_model: str) -> Iterator[str]:
    """``api_base`` as given, or the server of ``local_model`` ("1.5b", "0.5b") for the duration."""
    if api_base:
        yield api_base
        return
    from tools.eval.local_model import LocalServer

    with LocalServer(local_model) as server:
        yield server.api_base


def make_lm(args: argparse.Namespace, api_base: str) -> Any:
    from repo_auditor.rlm.lm import LM

    return LM(args.model, api_base=api_base, api_key=args.api_key, timeout=args.timeout, num_retries=args.retries,
              temperature=args.temperature)


def budgets_from(args: argparse.Namespace) -> Any:
    from repo_auditor.audit.pipeline import Budgets

    return Budgets(max_iterations=args.max_iterations, max_llm_calls=args.max_llm_calls,
                   max_reply_tokens=args.max_reply_tokens)


def _samples(text: str) -> int | str:
    """--samples, read by the product's own setting parser."""
    from repo_auditor.config.schema import samples

    try:
        return samples(text, True)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated task sets ({', '.join(SETS)})")
    p.add_argument("--strategy", default="auto", help="comma-separated strategies (direct, rlm, auto)")
    p.add_argument("--limit", type=int, default=None, help="at most N tasks per set")
    p.add_argument("--model", default="openai/qwen", help="litellm model name (default: the local server's)")
    p.add_argument("--api-base", default=None, help="an OpenAI-compatible endpoint; none starts the local model")
    p.add_argument("--api-key", default=os.environ.get("EVAL_API_KEY", "no-key"))
    p.add_argument("--local-model", default="1.5b", choices=["1.5b", "0.5b"])
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per model request")
    p.add_argument("--retries", type=int, default=1)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--max-iterations", type=int, default=6)
    p.add_argument("--max-llm-calls", type=int, default=10)
    p.add_argument("--max-reply-tokens", type=int, default=1024)
    p.add_argument("--samples", default=1, type=_samples,
                   help='direct answers per task: a number or "auto" (the product\'s default: 8 for a model without '
                   'a price); 1 keeps the task-set figures comparable')
    p.add_argument("--json", default=None, help="also write every row to this JSON file")
    p.add_argument("--workdir", default=None, help="where the task repositories are written (default: a temp dir)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    strategies = [s.strip() for s in args.strategy.split(",") if s.strip()]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    for name, allowed, given in (("strategy", STRATEGIES, strategies), ("set", SETS, sets)):
        bad = [g for g in given if g not in allowed]
        if bad:
            print(f"unknown {name}: {', '.join(bad)} (choose from {', '.join(allowed)})", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="repo-auditor-eval-") as tmp:
        tasks = load_tasks(sets, Path(args.workdir or tmp), args.limit)
        results: dict[str, list[Row]] = {}
        with model_endpoint(args.api_base, args.local_model) as api_base:
            lm = make_lm(args, api_base)
            for strategy in strategies:
                rows = []
                for task in tasks:
                    row = run_task(task, lm, strategy, budgets_from(args), samples=args.samples)
                    print(f"  {strategy} {task.id}: location {_mark(row.location)}, {row.seconds:.0f} s"
                          + (f", {row.error}" if row.error else ""), file=sys.stderr, flush=True)
                    rows.append(row)
                results[strategy] = rows
    for strategy, rows in results.items():
        print(f"\n## --strategy {strategy} ({args.model})\n")
        print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({s: [asdict(r) for r in rows] for s, rows in results.items()},
                                              indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
