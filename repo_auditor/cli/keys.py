"""`audit-repo keys set PROVIDER` / `keys list`: the user's API key file (0600, in the user config folder)."""

from __future__ import annotations

import sys

import click

from repo_auditor.cli import debug_option, main


@main.group("keys")
def keys_group() -> None:
    """Store provider API keys in the user's key file (mode 0600), used when the provider's environment
    variable (e.g. OPENAI_API_KEY) is not set. Keys are never read from the audited repository."""


@keys_group.command("set")
@click.argument("provider")
@debug_option
def keys_set(provider: str) -> None:
    """Store the key for PROVIDER (openai, anthropic, gemini, ...): typed at a hidden prompt, or read from stdin
    (`pass show openai | audit-repo keys set openai`)."""
    from repo_auditor.config import KeyStore

    if sys.stdin.isatty():
        key = click.prompt(f"{provider} API key", hide_input=True, default="", show_default=False)
    else:
        key = sys.stdin.readline()
    store = KeyStore()
    store.set(provider, key)
    click.echo(f"stored the {provider.strip().lower()} key in {store.path}", err=True)


@keys_group.command("list")
@debug_option
def keys_list() -> None:
    """List the providers whose key is set, and where it comes from (never the key)."""
    from repo_auditor.config import KeyStore

    store = KeyStore()
    for provider, where in store.status().items():
        if where:
            click.echo(f"{provider:<12} {where}")
    click.echo(f"key file: {store.path}", err=True)
