"""What the commands share: the model and budget options, resolving and checking the models, the progress line,
and writing the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import click

from repo_auditor.cli import debug_option

MAX_DEPTH_OPTION = click.option("--max-depth", type=int, help="levels of runs: 2 or more lets the model hand "
                                "sub-tasks to child runs (rlm_query) sharing the budgets [1]")


def model_and_budget_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--model", "-m", help="litellm model for the exploring model, e.g. openai/gpt-4o "
                     "[env REPO_AUDITOR_MODEL]"),
        click.option("--sub-model", help="cheaper model for llm_query sub-calls (default: --model)"),
        click.option("--api-base", help="base URL of an OpenAI-compatible endpoint (vLLM, Ollama, a proxy)"),
        click.option("--max-iterations", type=int, help="most exploration turns [20]"),
        click.option("--max-llm-calls", type=int, help="most sub-model calls [50]"),
        click.option("--max-output-chars", type=int, help="most sandbox output characters shown per turn [10000]"),
        click.option("--max-cost", type=float, help="stop at this many US dollars (root and sub-calls)"),
        click.option("--max-time", type=float, help="stop after this many seconds"),
        MAX_DEPTH_OPTION,
        click.option("--ref", help="audit this branch, tag or commit instead of the work tree (e.g. HEAD~3)"),
        click.option("--format", "format_", type=click.Choice(["markdown", "json"]), default=None,
                     help="report format [markdown]"),
        click.option("--output", "-o", help="write the report to this file instead of stdout"),
        click.option("--template-dir", help="folder of jinja2 templates overriding the shipped ones"),
        click.option("--trace", help="write a JSONL trace of every model request, reply and execution"),
        click.option("--verbose", "-v", is_flag=True, help="print every turn (reasoning, code, output) to stderr"),
        click.option("--quiet", "-q", is_flag=True, help="no progress on stderr"),
        debug_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def preflight(cfg: Any, repo: Any) -> None:
    """Everything that can be checked before the first model call, in well under a second and without litellm:
    the output folder is writable, the templates render, the repository has files, well-known keys are set."""
    from repo_auditor.errors import ConfigurationError, LMAuthenticationError, RepositoryError
    from repo_auditor.report import check_templates
    from repo_auditor.rlm.provider import quick_key_problem

    if not cfg.model:
        raise ConfigurationError(
            "no model configured: pass --model (e.g. --model openai/gpt-4o), set REPO_AUDITOR_MODEL, "
            'or add model = "..." to .repo-auditor.toml'
        )
    check_output(cfg.output)
    if getattr(cfg, "format", "markdown") != "json":
        check_templates(cfg.template_dir)
    if not repo.files:
        where = f" at {repo.ref}" if repo.ref else ""
        raise RepositoryError(f"{repo.root}{where} has no files to audit; check the path (and .gitignore, "
                              f"--ref)", path=str(repo.root))
    for name in (cfg.model, cfg.sub_model):
        problem = name and quick_key_problem(name, api_base=cfg.api_base)
        if problem:
            raise LMAuthenticationError(problem, model=name)


def check_output(output: str | None) -> None:
    """A report file can be written at ``output`` (its folder exists and is writable), or ConfigurationError."""
    if not output:
        return
    import os

    from repo_auditor.errors import ConfigurationError

    folder = Path(output).parent
    if not folder.is_dir():
        raise ConfigurationError(f"cannot write the report to {output}: folder {folder} does not exist; create it "
                                 f"or pass another --output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigurationError(f"cannot write the report to {output}: folder {folder} is not writable; pass "
                                 f"another --output")
    if Path(output).is_dir():
        raise ConfigurationError(f"cannot write the report to {output}: it is a folder; name a file")


def resolve_models(cfg: Any) -> tuple[Any, Any]:
    """The main and sub models from the configuration, checked without spending anything."""
    from repo_auditor.errors import ConfigurationError, LMAuthenticationError, LMNotFoundError
    from repo_auditor.rlm.lm import LM

    if not cfg.model:
        raise ConfigurationError(
            "no model configured: pass --model (e.g. --model openai/gpt-4o), set REPO_AUDITOR_MODEL, "
            'or add model = "..." to .repo-auditor.toml'
        )
    models = []
    for name in (cfg.model, cfg.sub_model):
        if not name:
            models.append(None)
            continue
        lm = LM(name, api_base=cfg.api_base)
        check = lm.check()
        if check.provider is None:
            raise LMNotFoundError(check.problems[0], model=name)
        if check.missing_env_vars:
            if not cfg.api_base:
                raise LMAuthenticationError(check.problems[-1], model=name)
            # A self-hosted endpoint often needs no key; the OpenAI client still insists on one.
            lm = LM(name, api_base=cfg.api_base, api_key="no-key")
        models.append(lm)
    return models[0], models[1]


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class ProgressLine:
    """One status line on stderr, rewritten after each turn: iteration k/N, sub-calls, tokens, cost, elapsed."""

    def __init__(self) -> None:
        self.width = 0

    def __call__(self, step: Any, progress: Any) -> None:
        line = (f"iteration {progress.iteration}/{progress.max_iterations} · {progress.sub_calls} sub-calls · "
                f"{progress.tokens:,} tokens · ${progress.cost:.4f} · {progress.elapsed:.0f} s")
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def close(self) -> None:
        if self.width:
            sys.stderr.write("\n")
            sys.stderr.flush()


def mention_trace_viewer(trace: str | None) -> None:
    """After a --trace run, the last stderr line says how to look at it."""
    if trace:
        click.echo(f"trace written to {trace}; look at it with: audit-repo trace view {trace}", err=True)


def emit_report(text: str, output: str | None) -> None:
    """The report to stdout, or to ``output`` (written whole, then renamed, so a failure never leaves half a file)."""
    if not output:
        click.echo(text, nl=not text.endswith("\n"))
        return
    import os
    import tempfile

    target = Path(output)
    check_output(output)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    click.echo(f"report written to {output}", err=True)


def partial_notice(report: Any) -> None:
    """The last stderr line of a run that ended early: why, and where the trace is."""
    stop = report.stopped
    trace = f"; trace: {stop.trace} (view it with `audit-repo trace view {stop.trace}`)" if stop.trace else ""
    click.echo(f"partial report: the run stopped early ({stop.reason}: {stop.detail}){trace}", err=True)
