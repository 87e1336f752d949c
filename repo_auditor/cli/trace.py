"""`audit-repo trace view TRACE.jsonl`: a run you can look at (one self-contained HTML page)."""

from __future__ import annotations

from pathlib import Path

import click

from repo_auditor.cli import debug_option, main


@main.group("trace")
def trace_group() -> None:
    """Look at the JSONL traces written by --trace."""


@trace_group.command("view")
@click.argument("trace", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="where to write the page [the trace's name with .html]")
@debug_option
def view_command(trace: Path, output: Path | None) -> None:
    """Write one self-contained HTML page showing the run(s) in TRACE: the tree of runs, each turn's reasoning, code,
    output, tool calls, sub-calls and child runs, the budget used over time, and the verified findings. It needs no
    network; open it in any browser.

    \b
    Example:
      audit-repo . "Where is SQL built from input?" --trace run.jsonl
      audit-repo trace view run.jsonl -o run.html
    """
    from repo_auditor.report.trace_view import write_trace_view

    target, view = write_trace_view(trace, output)
    click.echo(f"wrote {target} ({view.events:,} events, {len(view.runs)} run(s)"
               + (f"; {view.skipped_lines} unreadable line(s) left out" if view.skipped_lines else "") + ")", err=True)
