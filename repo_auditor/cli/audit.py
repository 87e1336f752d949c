"""`audit-repo PATH QUESTION`: the audit command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from repo_auditor.cli import EXIT_INTERRUPTED, EXIT_PARTIAL, main
from repo_auditor.cli.options import (
    audit_options,
    budgets_from,
    dry_run_option,
    emit_report,
    mention_trace_viewer,
    model_and_budget_options,
    open_in_scope,
    partial_notice,
    preflight,
    resolve_models,
    settings_from,
    warn_ignored,
    with_what_ran,
)


@main.command("audit")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("question")
@model_and_budget_options
@audit_options
@dry_run_option
def audit_command(path: Path, question: str, ref: str | None, verbose: bool, quiet: bool, dry_run: bool,
                  **flags: Any) -> None:
    """Ask QUESTION of the repository at PATH and print a report whose findings are checked against the code.

    \b
    Examples:
      audit-repo . "Where is user input passed to SQL without parameters?" --model openai/gpt-4o
      audit-repo . "How does authentication work?" --include 'src/**' --dry-run
    """
    import time

    from repo_auditor import config as config_module

    started = time.monotonic()
    cfg = config_module.resolve(settings_from(flags), repo_dir=path if path.is_dir() else None)
    warn_ignored(cfg, quiet)
    from repo_auditor.audit.pipeline import audit
    from repo_auditor.cli.progress import RunProgress
    from repo_auditor.errors import RunInterruptedError
    from repo_auditor.report import render

    repo = open_in_scope(path, ref, cfg)  # a missing path or a bad ref fails before anything else
    if dry_run:
        from repo_auditor.cli.dryrun import audit_estimate

        click.echo(audit_estimate(repo, cfg))
        return
    preflight(cfg, repo)
    lm, sub_lm = resolve_models(cfg)
    with RunProgress.for_command(quiet=quiet, verbose=verbose, models=(lm, sub_lm)) as progress:
        progress.stage("exploring")
        try:
            report = audit(repo, question, lm=lm, sub_lm=sub_lm, budgets=budgets_from(cfg), verbose=verbose,
                           trace=cfg.trace, on_step=progress.on_step, strategy=cfg.strategy, redact=cfg.redact,
                           samples=cfg.samples)
        except RunInterruptedError as exc:  # Ctrl-C after paying: the work done so far is still written
            report, status = exc.report, EXIT_INTERRUPTED
        else:
            status = EXIT_PARTIAL if report.partial else 0
    report = with_what_ran(report, cfg, lm, sub_lm, started)
    emit_report(render(report, cfg.format, template_dir=cfg.template_dir), cfg.output)
    if report.partial:
        partial_notice(report)
    else:
        mention_trace_viewer(cfg.trace)
    if status:
        raise click.exceptions.Exit(status)
