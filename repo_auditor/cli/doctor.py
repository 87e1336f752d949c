"""`audit-repo doctor`."""

from __future__ import annotations

import click

from repo_auditor.cli import EXIT_ERROR, debug_option, main


@main.command("doctor")
@click.option("--no-fetch", is_flag=True, help="do not download Pyodide if it is missing (no network at all)")
@click.option("--model", "-m", help="check this model instead of the configured one")
@click.option("--api-base", help="base URL of an OpenAI-compatible endpoint")
@debug_option
def doctor_command(no_fetch: bool, model: str | None, api_base: str | None) -> None:
    """Check Deno and Pyodide, ripgrep, the tree-sitter grammars, git, and the configured model and its key.

    Fetches Pyodide from the npm registry when it is not cached (unless --no-fetch). Spends no money.
    Exit status 1 when a check fails.
    """
    from repo_auditor import config
    from repo_auditor.doctor import run_checks

    cfg = config.resolve({"model": model, "api_base": api_base})
    checks = run_checks(model=cfg.model, sub_model=cfg.sub_model, api_base=cfg.api_base, fetch=not no_fetch)
    marks = {True: "ok  ", False: "FAIL", None: "warn"}
    for check in checks:
        click.echo(f"{marks[check.ok]}  {check.name:<12} {check.detail}")
        if check.fix and check.ok is not True:
            click.echo(f"      {'':<12} fix: {check.fix}")
    if any(check.ok is False for check in checks):
        raise click.exceptions.Exit(EXIT_ERROR)
