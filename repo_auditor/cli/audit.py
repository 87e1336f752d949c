"""`audit-repo PATH QUESTION`: the audit command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from repo_auditor.cli import EXIT_INTERRUPTED, EXIT_PARTIAL, main
from repo_auditor.cli.options import (
    ProgressLine,
    emit_report,
    mention_trace_viewer,
    model_and_budget_options,
    partial_notice,
    preflight,
    resolve_models,
    stderr_is_terminal,
)


@main.command("audit")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("question")
@model_and_budget_options
def audit_command(path: Path, question: str, ref: str | None, verbose: bool, quiet: bool, **flags: Any) -> None:
    """Ask QUESTION of the repository at PATH and print a report whose findings are checked against the code.

    \b
    Example:
      audit-repo . "Where is user input passed to SQL without parameters?" --model openai/gpt-4o
    """
    from repo_auditor import config as config_module

    flags["format"] = flags.pop("format_")
    cfg = config_module.resolve(flags, repo_dir=path if path.is_dir() else None)
    from repo_auditor.audit.pipeline import Budgets, audit
    from repo_auditor.errors import RunInterruptedError
    from repo_auditor.report import render
    from repo_auditor.repository import Repository

    repo = Repository.open(path, ref=ref)  # a missing path or a bad ref fails before anything else
    preflight(cfg, repo)
    lm, sub_lm = resolve_models(cfg)
    budgets = Budgets(max_iterations=cfg.max_iterations, max_llm_calls=cfg.max_llm_calls,
                      max_output_chars=cfg.max_output_chars, max_cost=cfg.max_cost, max_time=cfg.max_time,
                      max_depth=cfg.max_depth)
    progress = None if quiet or verbose or not stderr_is_terminal() else ProgressLine()
    try:
        report = audit(repo, question, lm=lm, sub_lm=sub_lm, budgets=budgets, verbose=verbose,
                       trace=cfg.trace, on_step=progress)
    except RunInterruptedError as exc:  # Ctrl-C after paying: the work done so far is still written
        report, status = exc.report, EXIT_INTERRUPTED
    else:
        status = EXIT_PARTIAL if report.partial else 0
    finally:
        if progress is not None:
            progress.close()
    emit_report(render(report, cfg.format, template_dir=cfg.template_dir), cfg.output)
    if report.partial:
        partial_notice(report)
    else:
        mention_trace_viewer(cfg.trace)
    if status:
        raise click.exceptions.Exit(status)
