"""`audit-repo architecture PATH`: the architecture report (deterministic inventory, plus a model narrative when a
model is configured)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from repo_auditor.cli import main
from repo_auditor.cli.options import (
    ProgressLine,
    emit_report,
    mention_trace_viewer,
    model_and_budget_options,
    resolve_models,
    stderr_is_terminal,
)

# Larger windows make `git log` slow on big histories (architecture.inventory.MAX_SINCE_DAYS).
MAX_SINCE_DAYS = 36_500
DAYS_PER_UNIT = {"day": 1, "week": 7, "month": 30}  # a month is 30 days: the window only needs to be roughly right
_SINCE = re.compile(r"(?P<count>\d{1,6})(?:\.(?P<unit>days?|weeks?|months?))?")


class SinceType(click.ParamType):
    """``90.days``, ``12.weeks``, ``6.months`` or a plain number of days -> whole days."""

    name = "N.days|N.weeks|N.months"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            days = value
        else:
            match = _SINCE.fullmatch(str(value).strip().lower())
            if match is None:
                self.fail(f"{value!r} is not a history window; use e.g. 90.days, 12.weeks, 6.months or 90 (days)",
                          param, ctx)
            unit = (match["unit"] or "days").rstrip("s")
            days = int(match["count"]) * DAYS_PER_UNIT[unit]
        if not 1 <= days <= MAX_SINCE_DAYS:
            self.fail(f"{value!r} is {days} days; the history window must be 1 to {MAX_SINCE_DAYS} days", param, ctx)
        return days


@main.command("architecture")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-llm", is_flag=True, help="deterministic report only, even when a model is configured")
@click.option("--previous", type=click.Path(path_type=Path, dir_okay=False),
              help="an earlier `--format json` report: adds a 'What changed' section")
@click.option("--since", "since_days", type=SinceType(), default="90.days", show_default=True,
              help="history window for hotspots: 90.days, 12.weeks, 6.months or a number of days")
@click.option("--top", "top_n", type=click.IntRange(min=1, max=1000), default=12, show_default=True,
              help="components drawn in the graph; hotspots, largest files and functions listed")
@click.option("--json-output", type=click.Path(path_type=Path, dir_okay=False),
              help="also write the JSON report to this file (one run, both formats: for scheduled jobs)")
@model_and_budget_options
def architecture_command(path: Path, no_llm: bool, previous: Path | None, since_days: int, top_n: int,
                         json_output: Path | None, ref: str | None, verbose: bool, quiet: bool,
                         **flags: Any) -> None:
    """Describe the architecture of the repository at PATH: components, the import graph (Mermaid), entry points,
    dependencies, hotspots, the largest files and functions.

    Without a model (or with --no-llm) the report is computed from the code alone. With a model, it also explains
    each component and the architectural risks, and every citation is checked against the code.

    \b
    Examples:
      audit-repo architecture .
      audit-repo architecture . --format json --output architecture.json --previous last-week.json
      audit-repo architecture . -o architecture.md --json-output architecture.json --previous architecture.json
      audit-repo architecture . --model openai/gpt-4o --max-cost 0.50
    """
    from repo_auditor import config as config_module

    flags["format"] = flags.pop("format_")
    cfg = config_module.resolve(flags, repo_dir=path if path.is_dir() else None)
    from repo_auditor.architecture import build_inventory, compare
    from repo_auditor.architecture.model import IncompatibleReportError
    from repo_auditor.architecture.report import ArchitectureReport, load_previous
    from repo_auditor.repository import Repository

    previous_inventory = load_previous(previous) if previous is not None else None  # a bad file fails first
    narrate = bool(cfg.model) and not no_llm
    lm, sub_lm = resolve_models(cfg) if narrate else (None, None)  # a model that cannot work fails before the scan
    with Repository.open(path, ref=ref) as repo:
        inventory = build_inventory(repo, since_days=since_days, top_n=top_n)
        changes = None
        if previous_inventory is not None:
            try:
                changes = compare(previous_inventory, inventory)
            except IncompatibleReportError as exc:
                raise IncompatibleReportError(f"{previous}: {exc}", found_version=exc.found_version,
                                              expected_version=exc.expected_version) from None
        narrative = _narrative(repo, inventory, cfg, lm, sub_lm, verbose, quiet) if narrate else None
    report = ArchitectureReport(inventory, since_days=since_days, top_n=top_n, changes=changes, narrative=narrative)
    text = _render(report, cfg.format, cfg.template_dir)  # render both before writing either
    json_text = _render(report, "json", None) if json_output is not None else None
    if json_text is not None:
        emit_report(json_text, str(json_output))
    emit_report(text, cfg.output)
    mention_trace_viewer(cfg.trace if narrate else None)


def _narrative(repo: Any, inventory: Any, cfg: Any, lm: Any, sub_lm: Any, verbose: bool, quiet: bool) -> Any:
    from repo_auditor.architecture.narrative import narrate
    from repo_auditor.audit.pipeline import Budgets

    budgets = Budgets(max_iterations=cfg.max_iterations, max_llm_calls=cfg.max_llm_calls,
                      max_output_chars=cfg.max_output_chars, max_cost=cfg.max_cost, max_time=cfg.max_time,
                      max_depth=cfg.max_depth)
    progress = None if quiet or verbose or not stderr_is_terminal() else ProgressLine()
    try:
        return narrate(repo, inventory, lm=lm, sub_lm=sub_lm, budgets=budgets, verbose=verbose, trace=cfg.trace,
                       on_step=progress)
    finally:
        if progress is not None:
            progress.close()


def _render(report: Any, format: str, template_dir: str | None) -> str:
    if format == "json":
        import json

        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    from repo_auditor.report import render_architecture

    return render_architecture(report, template_dir=template_dir)
