"""`audit-repo config`."""

from __future__ import annotations

from pathlib import Path

import click

from repo_auditor.cli import debug_option, main


@main.command("config")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@debug_option
def config_command(path: Path | None) -> None:
    """Print the effective configuration for PATH (default: here) and where each value came from."""
    from repo_auditor import config

    click.echo(config.resolve({}, repo_dir=path).describe())
