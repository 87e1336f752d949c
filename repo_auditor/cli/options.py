"""What the commands share: options built from the settings schema (so help, environment variables and defaults
read the same everywhere), resolving and checking the models, opening the repository in scope, and writing the
report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from repo_auditor.cli import debug_option

FILE = click.Path(dir_okay=False, path_type=str)
FOLDER = click.Path(file_okay=False, path_type=str)


def setting_option(key: str, *decls: str, **kwargs: Any) -> Callable[..., Any]:
    """A click option for the setting ``key``: help, environment variable and default come from the schema; the
    value is None when not given, so the configuration (see ``repo_auditor.config``) decides."""
    from repo_auditor.config.schema import SETTINGS_BY_KEY

    setting = SETTINGS_BY_KEY[key]
    extra = [f"env var: {setting.env_var}"]
    default = setting.default
    if default not in (None, ()):
        extra.append(f"default: {default:g}" if isinstance(default, float) else f"default: {default}")
    help_text = kwargs.pop("help", None) or setting.help
    help_text = help_text[0].upper() + help_text[1:] + "."
    return click.option(*decls, help=f"{help_text}  [{'; '.join(extra)}]", default=None, **kwargs)


def model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--model, --sub-model, --api-base, --timeout, --retries: for every command that calls a model."""
    options = [
        setting_option("model", "--model", "-m", metavar="MODEL"),
        setting_option("sub_model", "--sub-model", metavar="MODEL"),
        setting_option("api_base", "--api-base", metavar="URL"),
        setting_option("timeout", "--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS"),
        setting_option("retries", "--retries", type=click.IntRange(min=0), metavar="N"),
    ]
    return _apply(fn, options)


def budget_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        setting_option("max_iterations", "--max-iterations", type=click.IntRange(min=1), metavar="N"),
        setting_option("max_llm_calls", "--max-llm-calls", type=click.IntRange(min=1), metavar="N"),
        setting_option("max_output_chars", "--max-output-chars", type=click.IntRange(min=1), metavar="N"),
        setting_option("max_cost", "--max-cost", type=click.FloatRange(min=0, min_open=True), metavar="USD"),
        setting_option("max_time", "--max-time", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS"),
        setting_option("max_depth", "--max-depth", type=click.IntRange(min=1), metavar="N"),
    ]
    return _apply(fn, options)


def scope_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--include / --exclude (repeatable; gitignore syntax); a .repo-auditor-ignore file in the repository adds to
    --exclude."""
    options = [
        setting_option("include", "--include", multiple=True, metavar="GLOB",
                       help="only files matching this glob (repeatable; gitignore syntax)"),
        setting_option("exclude", "--exclude", multiple=True, metavar="GLOB",
                       help="leave out files matching this glob (repeatable; gitignore syntax; "
                            ".repo-auditor-ignore adds more)"),
    ]
    return _apply(fn, options)


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--redact/--no-redact, --template-dir, --trace, --verbose, --quiet, --debug."""
    options = [
        setting_option("redact", "--redact/--no-redact",
                       help="redact secrets from everything the model sees and the report quotes; --no-redact "
                            "turns it off and the report says so (an audited repository cannot turn it off)"),
        setting_option("template_dir", "--template-dir", type=FOLDER),
        setting_option("trace", "--trace", type=FILE),
        click.option("--verbose", "-v", is_flag=True, help="Print every turn (reasoning, code, output) to stderr."),
        click.option("--quiet", "-q", is_flag=True, help="No progress on stderr."),
        debug_option,
    ]
    return _apply(fn, options)


def model_and_budget_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Everything the audit and architecture commands share."""
    options = [
        model_options, budget_options, scope_options,
        click.option("--ref", help="Audit this branch, tag or commit instead of the work tree (e.g. HEAD~3)."),
        setting_option("format", "--format", "format_", type=click.Choice(["markdown", "json"])),
        setting_option("output", "--output", "-o", type=FILE),
        run_options,
    ]
    return _apply(fn, options)


class SamplesType(click.ParamType):
    """--samples: a whole number of 1 or more, or "auto" (the schema's parser, so flag and file agree)."""

    name = "samples"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        from repo_auditor.config.schema import samples

        try:
            return samples(value, True)
        except ValueError as error:
            self.fail(f"{value!r} {error}", param, ctx)


def audit_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--strategy, --max-reply-tokens and --samples: the audit's own options."""
    options = [
        setting_option("strategy", "--strategy", type=click.Choice(["auto", "rlm", "direct"])),
        setting_option("max_reply_tokens", "--max-reply-tokens", type=click.IntRange(min=1), metavar="N"),
        setting_option("samples", "--samples", type=SamplesType(), metavar="N|auto"),
    ]
    return _apply(fn, options)


def dry_run_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--dry-run", is_flag=True, help="Show the files in scope, the estimated tokens and a cost "
                        "range for the model, and stop before any model request.")(fn)


def _apply(fn: Callable[..., Any], options: list[Callable[..., Any]]) -> Callable[..., Any]:
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


def settings_from(flags: dict[str, Any]) -> dict[str, Any]:
    """The setting values among a command's parameters (``format_`` -> ``format``); the rest stay in ``flags``."""
    from repo_auditor.config.schema import SETTINGS_BY_KEY

    if "format_" in flags:
        flags["format"] = flags.pop("format_")
    return {key: flags.pop(key) for key in list(flags) if key in SETTINGS_BY_KEY}


def resolve_models(cfg: Any) -> tuple[Any, Any]:
    """The main and sub models from the configuration, checked without spending anything."""
    from repo_auditor.errors import ConfigurationError

    if not cfg.model:
        raise ConfigurationError(
            "no model configured: pass --model (e.g. --model openai/gpt-4o), set REPO_AUDITOR_MODEL, "
            "or add model = \"...\" to your config file (`audit-repo config` shows where it is)"
        )
    return build_lm(cfg.model, cfg), (build_lm(cfg.sub_model, cfg) if cfg.sub_model else None)


def build_lm(name: str, cfg: Any) -> Any:
    """One model with the configured endpoint, timeout and retries, and its key from the environment or the user's
    key file; raises when litellm cannot place the model or no key is set."""
    from repo_auditor.config import KeyStore
    from repo_auditor.doctor import unknown_model_message
    from repo_auditor.errors import LMAuthenticationError, LMNotFoundError
    from repo_auditor.rlm.lm import LM

    settings = {"api_base": cfg.api_base, "timeout": cfg.timeout, "num_retries": cfg.retries}
    check = LM(name, **settings).check()
    if check.provider is None:
        raise LMNotFoundError(unknown_model_message(name), model=name)
    if not check.missing_env_vars:
        return LM(name, **settings)
    key = KeyStore().key_for(check.provider)
    if key:
        return LM(name, api_key=key, **settings)
    if cfg.api_base:  # a self-hosted endpoint often needs no key; the OpenAI client still insists on one
        return LM(name, api_key="no-key", **settings)
    raise LMAuthenticationError(
        f"{name}: no API key: set {' or '.join(check.missing_env_vars)}, or run "
        f"`audit-repo keys set {check.provider}`", model=name)


def open_in_scope(path: Path, ref: str | None, cfg: Any) -> Any:
    """The repository at ``path`` and ``ref`` with only the files in scope (``--include``/``--exclude``, the
    repository's own include/exclude and its ``.repo-auditor-ignore``)."""
    from repo_auditor.repository import Repository
    from repo_auditor.repository.scope import FileScope, narrow

    repo = Repository.open(path, ref=ref)
    try:
        return narrow(repo, FileScope((cfg.include, cfg.repository_include), cfg.exclude))
    except BaseException:
        repo.close()
        raise


def warn_ignored(cfg: Any, quiet: bool) -> None:
    """Say on stderr which keys of the audited repository's config file were not applied."""
    if not quiet:
        for note in cfg.ignored:
            click.echo(f"warning: ignored {note}", err=True)


def budgets_from(cfg: Any) -> Any:
    from repo_auditor.audit.pipeline import Budgets

    return Budgets(max_iterations=cfg.max_iterations, max_llm_calls=cfg.max_llm_calls,
                   max_output_chars=cfg.max_output_chars, max_cost=cfg.max_cost, max_time=cfg.max_time,
                   max_depth=cfg.max_depth, max_reply_tokens=getattr(cfg, "max_reply_tokens", None))


def with_what_ran(report: Any, cfg: Any, lm: Any, sub_lm: Any, started: float) -> Any:
    """``report`` with the models, strategy and budgets, scope, and the command's wall time (also the coverage
    time, so the two never disagree)."""
    import dataclasses
    import time

    from repo_auditor.findings import RunInfo

    ran = report.run
    mode, reason = (ran.mode, ran.reason) if ran is not None else (None, None)
    scope = [f"include {', '.join(g)}" for g in (cfg.include, cfg.repository_include) if g]
    scope += [f"exclude {', '.join(cfg.exclude)}"] if cfg.exclude else []
    if mode == "direct":
        models = {"direct": lm.model}
        strategy = ran.strategy  # the pipeline's words: how many answers were asked for and why
    else:
        models = {"explore": lm.model, "sub-calls": (sub_lm or lm).model, "synthesis": lm.model}
        limits = [f"{cfg.max_iterations} turns", f"{cfg.max_llm_calls} sub-calls"]
        limits += [f"${cfg.max_cost:g}"] if cfg.max_cost else []
        limits += [f"{cfg.max_time:g} s"] if cfg.max_time else []
        strategy = f"RLM exploration (at most {', '.join(limits)}) -> synthesis -> verification against the code"
    strategy += f"; files: {'; '.join(scope)}" if scope else ""
    wall = time.monotonic() - started
    return dataclasses.replace(report, run=RunInfo(models, strategy, wall, mode, reason),
                               coverage=dataclasses.replace(report.coverage, seconds=wall))


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def mention_trace_viewer(trace: str | None) -> None:
    """After a --trace run, the last stderr line says how to look at it."""
    if trace:
        click.echo(f"trace written to {trace}; look at it with: audit-repo trace view {trace}", err=True)


def emit_report(text: str, output: str | None) -> None:
    """The report to stdout, or to ``output`` (written whole, then renamed, so a failure never leaves half a file;
    created with the permissions the umask allows, like any file the user writes)."""
    if not output:
        click.echo(text, nl=not text.endswith("\n"))
        return
    import tempfile

    target = Path(output)
    check_output(output)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
