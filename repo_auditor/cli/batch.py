"""`audit-repo batch MANIFEST`: many repositories x a few jobs, resumable, locally or on a Ray cluster; and
`audit-repo batch query RESULTS "SQL"` over the results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from repo_auditor.cli import debug_option, main


class _BatchGroup(click.Group):
    """``audit-repo batch MANIFEST`` runs a batch; ``audit-repo batch query ...`` queries one. A manifest file
    named like a subcommand is reached as ``./query``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else None
        if first is not None and first not in self.commands and first not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@main.group("batch", cls=_BatchGroup, invoke_without_command=False)
def batch_group() -> None:
    """Run architecture reports, audits and reviews over many repositories (see `audit-repo batch run --help`).

    \b
      audit-repo batch sweep.toml                      run (or resume) the batch; results in sweep.results/
      audit-repo batch sweep.toml --ray auto           the same tasks on the Ray cluster this machine is part of
      audit-repo batch query sweep.results "SELECT repository, count(*) FROM findings GROUP BY ALL"
    """


@batch_group.command("run")
@click.argument("manifest", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--results", type=click.Path(path_type=Path, file_okay=False),
              help="results folder [MANIFEST's folder/<name>.results]")
@click.option("--workers", type=click.IntRange(min=1, max=10_000),
              help="worker processes (local: the cores) or actors (Ray: the cluster's CPUs)")
@click.option("--ray", "ray_address", metavar="auto|ADDRESS",
              help="run on a Ray cluster: auto (the one this machine is part of) or host:port "
                   "(needs pip install 'repo_auditor[ray]')")
@click.option("--quiet", "-q", is_flag=True, help="no progress on stderr")
@click.option("--dry-run", is_flag=True, help="list what would run (per job, with an upper bound on cost) and stop "
              "before any model request")
@debug_option
def run_command(manifest: Path, results: Path | None, workers: int | None, ray_address: str | None,
                quiet: bool, dry_run: bool) -> None:
    """Run every job of MANIFEST (TOML) on every repository it lists, skipping runs whose results are already in
    the results folder: stop it any time and run it again to resume; a finished batch reruns as a no-op.

    Results: runs and findings as JSONL and Parquet shards, a manifest of shards and summary.md. A repository that
    cannot be cloned or opened, and a job that fails, give a failed row with the reason; the batch goes on.
    """
    from repo_auditor.batch.manifest import load_manifest

    loaded = load_manifest(manifest)  # a bad manifest fails before anything starts
    _check_dependencies(ray_address)
    from repo_auditor.batch.limiter import Limits
    from repo_auditor.batch.runner import check_models, forwarded_environment, run_batch

    folder = results or manifest.parent / f"{manifest.stem}.results"
    if dry_run:
        click.echo(_dry_run(loaded, folder))
        return
    check_models(loaded)
    shared = loaded.settings
    limits = Limits(requests_per_minute=shared.requests_per_minute, tokens_per_minute=shared.tokens_per_minute,
                    budget=shared.budget)
    warm_up = shared.max_output_chars if any(job.uses_model for job in loaded.jobs) else None
    progress = None if quiet else _Progress(terminal=sys.stderr.isatty())
    if ray_address:
        from repo_auditor.batch.ray_engine import RayEngine

        engine: Any = RayEngine(ray_address, workers=workers, limits=limits, env=forwarded_environment(loaded),
                                        warm_up=warm_up)
    else:
        from repo_auditor.batch.local import LocalEngine
        from repo_auditor.repository.cache import cache_dir

        engine = LocalEngine(cache_dir("batch"), workers=workers, limits=limits, warm_up=warm_up)
    try:
        outcome = run_batch(loaded, folder, engine, on_event=progress)
    finally:
        engine.close()
        if progress is not None:
            progress.close()
    click.echo(outcome.line())
    click.echo(f"results in {folder}; summary in {outcome.summary_path}")


@batch_group.command("query")
@click.argument("results", type=click.Path(path_type=Path, file_okay=False))
@click.argument("sql")
@click.option("--format", "format_", type=click.Choice(["markdown", "csv", "json"]), default="markdown",
              show_default=True)
@debug_option
def query_command(results: Path, sql: str, format_: str) -> None:
    """Run SQL (DuckDB) over a batch's results: tables `runs` and `findings`, joined on `key`.

    \b
    Examples:
      audit-repo batch query sweep.results "SELECT status, count(*) FROM runs GROUP BY ALL"
      audit-repo batch query sweep.results "SELECT repository, date_trunc('week', finished_at) AS week,
          count(*) AS findings FROM findings WHERE verified GROUP BY ALL ORDER BY week"
    """
    _check_dependencies(None)
    from repo_auditor.batch.query import as_markdown, query

    result = query(results, sql)
    if format_ == "markdown":
        click.echo(as_markdown(result), nl=False)
    elif format_ == "json":
        import json

        rows = [dict(zip(result.columns, row)) for row in result.rows]
        click.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=1))
    else:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)


def _check_dependencies(ray_address: str | None) -> None:
    import importlib.util

    from repo_auditor.errors import ConfigurationError

    missing = [name for name in ("pyarrow", "duckdb") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigurationError(f"batch needs {' and '.join(missing)}: pip install 'repo_auditor[batch]'")
    if ray_address and importlib.util.find_spec("ray") is None:
        raise ConfigurationError("--ray needs Ray: pip install 'repo_auditor[ray]'")


def _dry_run(manifest: Any, folder: Path) -> str:
    """What ``batch run`` would do: runs per job, what is already done, and the most the model runs may cost."""
    from collections import Counter

    from repo_auditor.batch.plan import plan
    from repo_auditor.batch.store import ResultStore

    tasks = plan(manifest)
    done = ResultStore(folder, lock=False).keys() if (folder / "shards").is_dir() else set()
    todo = [task for task in tasks if task.key not in done]
    per_job = Counter(task.job.name for task in todo)
    lines = [f"{len(tasks)} runs planned, {len(tasks) - len(todo)} already done in {folder}, {len(todo)} to run"]
    lines += [f"  {name}: {count} runs" for name, count in sorted(per_job.items())]
    model_runs = [task for task in todo if task.job.uses_model]
    caps = [task.job.settings.max_cost for task in model_runs]
    if model_runs:
        bound = (f"at most ${sum(caps):,.2f} (max_cost per run)" if all(c is not None for c in caps)
                 else "no max_cost per run, so no bound")
        budget = manifest.settings.budget
        lines.append(f"{len(model_runs)} runs call a model: {bound}"
                     + (f"; the batch budget stops at ${budget:,.2f}" if budget is not None else ""))
    lines.append("dry run: nothing was run and no model was called")
    return "\n".join(lines)


class _Progress:
    """Progress on stderr: on a terminal one status line (runs done, failed, the last one), rewritten in place;
    otherwise one plain line per finished run, for CI logs."""

    def __init__(self, *, terminal: bool) -> None:
        self.terminal = terminal
        self.done = self.failed = 0
        self.width = 0

    def __call__(self, kind: str, task: Any, value: Any) -> None:
        if kind != "done":
            return
        self.done += 1
        self.failed += value["status"] != "ok"
        line = f"{self.done} runs done, {self.failed} failed · last: {task.describe()} ({value['status']})"[:150]
        if not self.terminal:
            sys.stderr.write(line + "\n")
            return
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def close(self) -> None:
        if self.width:
            sys.stderr.write("\n")
