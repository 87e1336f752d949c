"""`audit-repo config`: the effective configuration and where each value came from."""

from __future__ import annotations

import json
from pathlib import Path

import click

from repo_auditor.cli import debug_option, main


@main.command("config")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON: settings, sources, aliases, key status.")
@debug_option
def config_command(path: Path | None, as_json: bool) -> None:
    """Print the effective configuration for auditing PATH (default: here): each setting, where its value came
    from, the model aliases, what the repository's own file was not allowed to set, and whether each provider's
    API key is set (never the key itself)."""
    from repo_auditor import config

    cfg = config.resolve({}, repo_dir=path or Path.cwd())
    keys = config.KeyStore().status()
    folder = str(config.user_config_dir())
    if as_json:
        click.echo(json.dumps({**cfg.to_dict(), "keys": keys, "user_config_dir": folder}, indent=2))
        return
    click.echo(cfg.describe())
    click.echo(f"\nuser config folder: {folder} (config.toml, keys.json)")
    click.echo("keys: " + ", ".join(f"{name} ({where})" for name, where in keys.items() if where) if any(
        keys.values()) else "keys: none set (`audit-repo keys set PROVIDER`, or the provider's variable)")
