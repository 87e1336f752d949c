"""`audit-repo doctor`."""

from __future__ import annotations

import click

from repo_auditor.cli import EXIT_ERROR, debug_option, main
from repo_auditor.cli.options import setting_option


@main.command("doctor")
@click.option("--no-fetch", is_flag=True, help="Do not download Pyodide if it is missing (no network at all).")
@setting_option("model", "--model", "-m", metavar="MODEL",
                help="check this model instead of the configured one, and send it one short request")
@setting_option("api_base", "--api-base", metavar="URL")
@debug_option
def doctor_command(no_fetch: bool, model: str | None, api_base: str | None) -> None:
    """Check Deno and Pyodide, ripgrep, the tree-sitter grammars, git, and the configured model and its key.

    Fetches Pyodide from the npm registry when it is not cached (unless --no-fetch). With --model, also contacts
    the endpoint and sends the model one request for a single token (a fraction of a cent on a paid provider),
    and says exactly what failed. Exit status 1 when a check fails.
    """
    from repo_auditor import config
    from repo_auditor.doctor import run_checks

    cfg = config.resolve({"model": model, "api_base": api_base})
    checks = run_checks(model=cfg.model, sub_model=cfg.sub_model, api_base=cfg.api_base, fetch=not no_fetch,
                        contact=model is not None)
    marks = {True: "ok  ", False: "FAIL", None: "warn"}
    for check in checks:
        click.echo(f"{marks[check.ok]}  {check.name:<12} {check.detail}")
        if check.fix and check.ok is not True:
            click.echo(f"      {'':<12} fix: {check.fix}")
    if any(check.ok is False for check in checks):
        raise click.exceptions.Exit(EXIT_ERROR)
