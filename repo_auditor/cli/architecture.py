"""`audit-repo architecture PATH`: the architecture report (deterministic inventory, plus a model narrative when a
model is configured)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from repo_auditor.cli import EXIT_INTERRUPTED, EXIT_PARTIAL, main
from repo_auditor.cli.options import (
    budgets_from,
    emit_report,
    mention_trace_viewer,
    model_and_budget_options,
    open_in_scope,
    partial_notice,
    resolve_models,
    setting_option,
    settings_from,
    warn_ignored,
)


class SinceType(click.ParamType):
    """``90.days``, ``12.weeks``, ``6.months`` or a plain number of days -> whole days."""

    name = "N.days|N.weeks|N.months"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from repo_auditor.config.schema import history_window

        try:
            return history_window(value, True)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@main.command("architecture")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-llm", is_flag=True, help="Deterministic report only, even when a model is configured.")
@click.option("--previous", type=click.Path(path_type=Path, dir_okay=False),
              help="An earlier `--format json` report: adds a 'What changed' section.")
@setting_option("architecture.since", "--since", "since_days", type=SinceType())
@setting_option("architecture.top", "--top", "top_n", type=click.IntRange(min=1, max=1000), metavar="N")
@click.option("--json-output", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the JSON report to this file (one run, both formats: for scheduled jobs).")
@model_and_budget_options
def architecture_command(path: Path, no_llm: bool, previous: Path | None, since_days: int | None,
                         top_n: int | None, json_output: Path | None, ref: str | None, verbose: bool, quiet: bool,
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

    settings = {**settings_from(flags), "architecture.since": since_days, "architecture.top": top_n}
    cfg = config_module.resolve(settings, repo_dir=path if path.is_dir() else None)
    warn_ignored(cfg, quiet)
    since_days, top_n = cfg["architecture.since"], cfg["architecture.top"]
    from repo_auditor.architecture import build_inventory, compare
    from repo_auditor.architecture.model import IncompatibleReportError
    from repo_auditor.architecture.report import ArchitectureReport, load_previous
    from repo_auditor.cli.progress import RunProgress

    previous_inventory = load_previous(previous) if previous is not None else None  # a bad file fails first
    narrate = bool(cfg.model) and not no_llm
    lm, sub_lm = resolve_models(cfg) if narrate else (None, None)  # a model that cannot work fails before the scan
    progress = RunProgress.for_command(quiet=quiet, verbose=verbose, models=(lm, sub_lm))
    with open_in_scope(path, ref, cfg) as repo, progress:
        progress.stage("scanning")
        inventory = build_inventory(repo, since_days=since_days, top_n=top_n, redact=cfg.redact)
        if not cfg.redact:  # turning redaction off is written into the report
            inventory.notes.append("Warning: secret redaction was OFF for this run (--no-redact): names, manifest "
                                   "values and quoted code are shown as they are")
        changes = None
        if previous_inventory is not None:
            try:
                changes = compare(previous_inventory, inventory)
            except IncompatibleReportError as exc:
                raise IncompatibleReportError(f"{previous}: {exc}", found_version=exc.found_version,
                                              expected_version=exc.expected_version) from None
        narrative, stopped, status = (_narrative(repo, inventory, cfg, lm, sub_lm, verbose, progress) if narrate
                                      else (None, None, 0))
    report = ArchitectureReport(inventory, since_days=since_days, top_n=top_n, changes=changes, narrative=narrative,
                                stopped=stopped)
    text = _render(report, cfg.format, cfg.template_dir)  # render both before writing either
    json_text = _render(report, "json", None) if json_output is not None else None
    if json_text is not None:
        emit_report(json_text, str(json_output))
    emit_report(text, cfg.output)
    if stopped is not None:
        partial_notice(report)
    else:
        mention_trace_viewer(cfg.trace if narrate else None)
    if status:
        raise click.exceptions.Exit(status)


def _narrative(repo: Any, inventory: Any, cfg: Any, lm: Any, sub_lm: Any, verbose: bool,
               progress: Any) -> tuple[Any, Any, int]:
    """(narrative or None, why it stopped early or None, exit status): once a model was paid, a failing narrative
    still leaves the deterministic report, marked partial."""
    from repo_auditor.architecture.narrative import narrate
    from repo_auditor.errors import BudgetExceededError, LMError, SandboxError
    from repo_auditor.findings import Stop

    progress.stage("narrative")
    try:
        narrative = narrate(repo, inventory, lm=lm, sub_lm=sub_lm, budgets=budgets_from(cfg), verbose=verbose,
                            trace=cfg.trace, on_step=progress.on_step, redact=cfg.redact)
    except (LMError, SandboxError, BudgetExceededError, KeyboardInterrupt) as exc:
        partial = getattr(exc, "partial", None)
        if partial is None or not (partial.root_usage.calls or partial.sub_usage.calls):
            raise
        interrupted = isinstance(exc, KeyboardInterrupt)
        reason = "interrupted" if interrupted else getattr(exc, "budget", None) or "error"
        detail = "interrupted (Ctrl-C)" if interrupted else " ".join(f"{type(exc).__name__}: {exc}".split())
        return None, Stop(reason, detail, cfg.trace), EXIT_INTERRUPTED if interrupted else EXIT_PARTIAL
    return narrative, None, 0


def _render(report: Any, format: str, template_dir: str | None) -> str:
    if format == "json":
        import json

        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    from repo_auditor.report import render_architecture

    return render_architecture(report, template_dir=template_dir)
