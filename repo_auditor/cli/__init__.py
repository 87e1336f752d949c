"""The ``audit-repo`` command line: click commands only, options in, errors out. The only package that imports click;
one module per command (``audit``, ``doctor``, ``config``, ...), registered on ``main`` when this package is imported.

Exit status: 0 success; 1 error (one line on stderr, a traceback only with ``--debug``); 2 usage error;
3 ``review --fail-on`` found a verified finding at or above the threshold; 4 the run ended early and the report
written is partial; 130 interrupted (a partial report is still written when a model was paid for).
Heavy modules (litellm, tree-sitter, git, the sandbox) are imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import gc
import warnings
from typing import Any, Callable

import click

from repo_auditor import __version__
from repo_auditor.errors import RepoAuditorError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130


class _AuditGroup(click.Group):
    """``audit-repo PATH QUESTION`` runs an audit; a first word that names a subcommand runs that subcommand.

    A directory that happens to be named like a subcommand is reached as ``./review``.
    """

    default_command = "audit"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else None
        if first is not None and first not in self.commands and first not in ("--help", "-h", "--version"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except RepoAuditorError as exc:
            if ctx.meta.get("debug"):
                raise
            raise click.ClickException(_cli_wording(_one_line(str(exc)))) from None
        except Exception as exc:  # an unexpected failure: one line, the traceback under --debug
            if ctx.meta.get("debug"):
                raise
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: {_one_line(str(exc))} (rerun with --debug for the traceback)"
            ) from None


def _cli_wording(text: str) -> str:
    """The library's advice in command-line terms (``LM(api_key=...)`` is ``audit-repo keys set`` here)."""
    return text.replace("or pass api_key", "or store it with `audit-repo keys set PROVIDER`")


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


def _remember_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta["debug"] = value
    return value


def debug_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--debug", is_flag=True, is_eager=True, expose_value=False, callback=_remember_debug,
        help="Show the full traceback on errors.",
    )(fn)


@click.group(cls=_AuditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audit-repo")
def main() -> None:
    """Audit a whole codebase with a language model.

    \b
      audit-repo PATH "QUESTION"        ask a question of a repository (see `audit-repo audit --help`)
      audit-repo review PATH --base REF  review a change (PR comment, SARIF, annotations; --fail-on exits 3)
      audit-repo architecture PATH      components, import graph (Mermaid), hotspots; a checked narrative with a model
      audit-repo batch MANIFEST         many repositories x jobs, resumable, locally or on Ray; `batch query` for SQL
      audit-repo doctor                 check Deno/Pyodide, ripgrep, grammars, git and the model (fetches Pyodide)
      audit-repo config [PATH]          show the effective configuration and where each value came from
      audit-repo trace view RUN.jsonl   one HTML page to look at a --trace run (runs, turns, budgets, findings)
      audit-repo keys set PROVIDER      store an API key in your key file (0600)

    Configure a model with --model, REPO_AUDITOR_MODEL, or `model = "..."` in your config file
    (`audit-repo config` prints where it is).
    """
    warnings.showwarning = _show_warning


def run() -> None:
    """The ``audit-repo`` console script: ``main``, then an exit that skips the interpreter's final garbage
    collection. litellm's import leaves millions of objects; collecting them at exit took 3.4 s of a 11 s run on a
    busy 2-core machine (and 11 s after a Ctrl-C at load 5), time in which the report is already written and nothing
    is left to clean: files, sandboxes and model calls are closed by the commands themselves before they return."""
    try:
        main()
    finally:
        gc.freeze()  # every object moves to the permanent generation, which the final collection skips


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Warnings reach the command line as one plain line (``Warning: ...``), not as a source location."""
    click.echo(f"Warning: {message}", err=True)


# Registering the commands (each module adds its own to ``main``).
from repo_auditor.cli import architecture, audit, batch, config, doctor, keys, review, trace  # noqa: E402,F401
