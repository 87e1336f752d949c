"""`audit-repo review PATH --base REF`: the diff-aware pre-merge review."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from repo_auditor.cli import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_PARTIAL, main
from repo_auditor.cli.options import (
    FILE,
    budget_options,
    check_output,
    dry_run_option,
    mention_trace_viewer,
    model_options,
    partial_notice,
    preflight,
    run_options,
    scope_options,
    setting_option,
    settings_from,
)
from repo_auditor.config.schema import FOCUSES, SEVERITIES


@main.command("review")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--base", required=True, help="Branch, tag or SHA the change is compared against (its merge base "
              "with --head is used, as in a pull request).")
@click.option("--head", help="The reviewed commit.  [default: HEAD]")
@setting_option("review.focus", "--focus", type=click.Choice(FOCUSES))
@click.option("--question", help="A question about the change, answered in the summary.")
@setting_option("review.fail_on", "--fail-on", type=click.Choice(SEVERITIES),
                help="exit with status 3 when a VERIFIED finding is at or above this severity")
@click.option("--format", "format_", type=click.Choice(["markdown", "json", "sarif", "github"]), default="markdown",
              show_default=True, help="markdown (a PR comment), json, sarif (code scanning), github (annotations).")
@click.option("--output", "-o", type=FILE, help="Write the output to this file instead of stdout.")
@click.option("--post", type=click.Choice(["github", "gitlab"]), help="Create or update one review with inline "
              "comments on the diff: github (a pull-request review; GITHUB_TOKEN, GITHUB_REPOSITORY) or gitlab "
              "(merge-request discussions; GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID).")
@click.option("--pr", type=click.IntRange(min=1), help="Pull / merge request number.  [default: from "
              "GITHUB_EVENT_PATH or CI_MERGE_REQUEST_IID]")
@click.option("--api-url", default=None, help="API URL for GitHub Enterprise or self-hosted GitLab.  [env var: "
              "GITHUB_API_URL; default: https://api.github.com, or CI_API_V4_URL with --post gitlab]")
@click.option("--incremental", is_flag=True, help="Review only the commits since the head recorded in the existing "
              "review summary (or --baseline), keeping earlier findings that still apply.")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="A previous Markdown review (its hidden marker) to review incrementally from.")
@setting_option("review.diff_budget", "--diff-budget", type=click.IntRange(min=0), metavar="CHARS")
@model_options
@budget_options
@scope_options
@dry_run_option
@run_options
def review_command(path: Path, base: str, head: str | None, focus: str | None, question: str | None,
                   fail_on: str | None, format_: str, output: str | None, post: str | None, pr: int | None,
                   api_url: str | None, incremental: bool, baseline: Path | None, diff_budget: int | None,
                   verbose: bool, quiet: bool, dry_run: bool, **flags: Any) -> None:
    """Review the change from --base to --head in the repository at PATH; findings point at head lines.

    \b
    Exit status: 0 done (no finding at or above --fail-on), 3 a VERIFIED finding at or above --fail-on,
    1 error, 2 usage error.
    \b
    Examples:
      audit-repo review . --base origin/main --focus security --fail-on high
      audit-repo review . --base main --format sarif -o review.sarif
      audit-repo review . --base "$BASE_SHA" --post github --incremental      (in GitHub Actions)
      audit-repo review . --base "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --post gitlab   (in GitLab CI)
    """
    from repo_auditor import config as config_module
    from repo_auditor.cli.options import (
        budgets_from,
        emit_report,
        open_in_scope,
        resolve_models,
        warn_ignored,
    )
    from repo_auditor.cli.progress import RunProgress
    from repo_auditor.errors import RunInterruptedError
    from repo_auditor.findings import Severity
    from repo_auditor.report.review import render_result
    from repo_auditor.review.pipeline import review

    if baseline is not None and not incremental:
        raise click.UsageError("--baseline is only used with --incremental; add --incremental")
    if incremental and post is None and baseline is None:
        raise click.UsageError("--incremental needs the previous review: add --post github|gitlab (reads the "
                               "review summary) or --baseline FILE")
    settings = {**settings_from(flags), "review.focus": focus, "review.fail_on": fail_on,
                "review.diff_budget": diff_budget}
    cfg = config_module.resolve(settings, repo_dir=path if path.is_dir() else None)
    warn_ignored(cfg, quiet)
    focus, fail_on = cfg["review.focus"], cfg["review.fail_on"]
    client = pr_number = None
    if post == "github":
        client, pr_number = _github(pr, api_url)
    elif post == "gitlab":
        from repo_auditor.review.gitlab import from_environment

        client = from_environment(api_url, pr)
        pr_number = client.merge_request
    repo = open_in_scope(path, head or "HEAD", cfg)
    if dry_run:
        from repo_auditor.cli.dryrun import review_estimate

        with repo:
            click.echo(review_estimate(repo, base, cfg))
        return
    previous = existing = None
    if incremental:
        previous, existing = _previous(baseline, client, pr_number)
    check_output(output)
    preflight(cfg, repo)
    lm, sub_lm = resolve_models(cfg)
    with repo, RunProgress.for_command(quiet=quiet, verbose=verbose, models=(lm, sub_lm)) as progress:
        progress.stage("reviewing")
        try:
            result = review(repo, base, focus=focus, question=question, lm=lm, sub_lm=sub_lm,
                            budgets=budgets_from(cfg), diff_budget_chars=cfg["review.diff_budget"],
                            previous=previous, verbose=verbose, trace=cfg.trace, on_step=progress.on_step,
                            redact=cfg.redact)
        except RunInterruptedError as exc:  # Ctrl-C after paying: the partial review is still written, not posted
            emit_report(render_result(exc.report, format_, template_dir=cfg.template_dir), output)
            partial_notice(exc.report.report)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    emit_report(render_result(result, format_, template_dir=cfg.template_dir), output)
    if client is not None and pr_number is not None:
        _publish(post, client, pr_number, result, existing, cfg.template_dir, quiet)
    failing = bool(fail_on) and result.fails_at(Severity[fail_on.upper()])
    if failing and not quiet:
        click.echo(f"failing: a verified finding is at or above {fail_on} (exit {EXIT_FINDINGS})", err=True)
    if result.report.partial:
        partial_notice(result.report)
    else:
        mention_trace_viewer(cfg.trace)
    if failing:
        click.get_current_context().exit(EXIT_FINDINGS)
    if result.report.partial:
        click.get_current_context().exit(EXIT_PARTIAL)


def _github(pr: int | None, api_url: str | None) -> tuple[Any, int]:
    from repo_auditor.review.github import DEFAULT_API_URL, GitHubClient, pr_number_from_event

    number = pr if pr is not None else pr_number_from_event()
    if number is None:
        raise click.UsageError("--post github needs the PR number: pass --pr N, or run on a pull_request event "
                               "(GITHUB_EVENT_PATH)")
    client = GitHubClient(os.environ.get("GITHUB_TOKEN", ""), os.environ.get("GITHUB_REPOSITORY", ""),
                          api_url=api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL)
    return client, number


def _publish(platform: str, client: Any, number: int, result: Any, existing: Any, template_dir: str | None,
             quiet: bool) -> None:
    """Post the review: the summary plus one inline comment per finding in the diff."""
    from repo_auditor.report.review import render_inline, render_result

    summary = render_result(result, "markdown", template_dir=template_dir, inline=True)
    comments = render_inline(result, platform, template_dir=template_dir)
    if platform == "github":
        outcome = client.publish_review(number, result.head_sha, summary, comments, existing)
        where = f"PR #{number}"
    else:
        outcome = client.publish_review(result.base_sha, result.head_sha, summary, comments, existing)
        where = f"merge request !{number}"
    if not quiet:
        click.echo(outcome.describe(where), err=True)


def _previous(baseline: Path | None, client: Any, pr_number: int | None) -> tuple[Any, Any]:
    """(the previous review's marker or None, the existing review summary or None)."""
    from repo_auditor.errors import ConfigurationError
    from repo_auditor.review.marker import find_marker

    if baseline is not None:
        try:
            text = baseline.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfigurationError(f"cannot read --baseline {baseline} ({exc.strerror}); pass a saved Markdown "
                                     "review") from None
        return find_marker(text), None
    existing = client.previous_summary(pr_number)
    return (find_marker(existing.body) if existing else None), existing
