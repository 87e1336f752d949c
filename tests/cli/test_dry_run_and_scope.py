"""--dry-run makes no model request; --include/--exclude and .repo-auditor-ignore reach the tools; report files honour
the umask; --timeout reaches the model calls."""

from __future__ import annotations

import json
import os
import re
import stat

from repo_auditor.cli import main
from tests.cli.conftest import QUESTION
from tests.cli.test_audit_cli import (
    audit,
    script_exploration,
)
from tests.support.openai_server import Reply
from tests.support.scripted_lm import code_reply


def test_audit_dry_run_makes_no_model_request(runner, server, shop):
    result = runner.invoke(main, [str(shop.path), QUESTION, "--model", "openai/gpt-4o-mini", "--api-base",
                                  server.url, "--dry-run", "--max-iterations", "10"])
    assert result.exit_code == 0, result.stderr
    assert server.requests == []
    out = result.stdout
    assert out.startswith("Dry run: no model was called.")
    assert "in scope    6 files" in out and "tokens if read whole" in out
    assert "openai/gpt-4o-mini ($0.15 / $0.60 per million tokens in / out)" in out
    low, high = [float(x) for x in out.split("cost        $", 1)[1].split(";")[0].split(" to $")]
    assert 0 < low < high


def test_audit_dry_run_estimates_the_strategy_that_would_run(runner, server, shop):
    """A repository that fits the window is estimated as the direct answer it gets (times --samples), not as an
    exploration; --strategy rlm gets the exploration's range."""
    def tokens(*extra):
        result = runner.invoke(main, [str(shop.path), QUESTION, "-m", "openai/gpt-4o-mini", "--dry-run", *extra])
        assert result.exit_code == 0, result.stderr
        low, high = re.search(r"tokens +~([\d,]+).*? to ~([\d,]+)", result.stdout).groups()
        return result.stdout, int(low.replace(",", "")), int(high.replace(",", ""))

    direct, low, high = tokens("--strategy", "auto")  # the CLI tests' default is rlm (conftest)
    assert "strategy    direct: the 6 files in scope" in direct and "1 call with every file" in direct
    sampled, low3, high3 = tokens("--strategy", "auto", "--samples", "3")
    assert "3 samples" in sampled and (low3, high3) == (3 * low, 3 * high)
    explored, rlm_low, _ = tokens("--strategy", "rlm")
    assert "strategy    direct" not in explored and "turns" in explored and rlm_low > high
    assert server.requests == []


def test_dry_run_with_an_unpriced_model_and_a_cost_cap(runner, server, shop):
    unpriced = runner.invoke(main, [str(shop.path), QUESTION, "-m", "openai/x", "--dry-run", "--strategy", "auto"])
    assert unpriced.exit_code == 0 and "cost        unknown" in unpriced.stdout
    assert "8 samples (auto: the model has no price" in unpriced.stdout and "8 calls with every file" in unpriced.stdout
    nameless = runner.invoke(main, [str(shop.path), QUESTION, "--dry-run", "--strategy", "auto"])
    assert nameless.exit_code == 0 and "samples" not in nameless.stdout and "1 call with every file" in nameless.stdout
    bad = runner.invoke(main, [str(shop.path), QUESTION, "-m", "openai/x", "--dry-run", "--samples", "many"])
    assert bad.exit_code == 2 and 'must be a whole number of 1 or more, or "auto"' in bad.stderr
    capped = runner.invoke(main, [str(shop.path), QUESTION, "-m", "openai/gpt-4o", "--dry-run", "--max-cost", "0.01"])
    assert "to $0.0100 (capped by max_cost)" in capped.stdout
    assert server.requests == []


def test_review_dry_run_sizes_the_change(runner, server, shop):
    shop.write("app/db.py", shop.path.joinpath("app/db.py").read_text() + "\n# more\n")
    shop.commit("change")
    result = runner.invoke(main, ["review", str(shop.path), "--base", "v1", "-m", "openai/gpt-4o", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "change      1 files changed since" in result.stdout and "cost        $" in result.stdout
    assert server.requests == []


def test_include_exclude_and_the_ignore_file_narrow_what_the_model_sees(runner, server, shop):
    shop.write(".repo-auditor-ignore", "README.md\n")
    shop.commit("ignore the readme")
    dry = runner.invoke(main, [str(shop.path), QUESTION, "--dry-run", "--exclude", "app/__init__.py"])
    assert "in scope    5 files" in dry.stdout  # 7 files less README.md and app/__init__.py
    server.enqueue(code_reply('print(grep("import|def "))'),
                   code_reply("SUBMIT(answer='none', findings=[])"), json.dumps({"answer": "none", "findings": []}))
    result = audit(runner, server, shop.path, "--include", "app/**", "--exclude", "web.py", "--quiet")
    assert result.exit_code == 0, result.stderr
    first_prompt = json.dumps(server.chat_requests[0].body["messages"])
    assert "db.py" in first_prompt and "web.py" not in first_prompt and "README" not in first_prompt
    observation = server.chat_requests[1].body["messages"][-1]["content"]
    assert "app/db.py:" in observation and "app/web.py" not in observation


def test_report_file_honours_the_umask(runner, server, shop, tmp_path):
    script_exploration(server)
    target = tmp_path / "report.md"
    old = os.umask(0o022)
    try:
        result = audit(runner, server, shop.path, "-o", str(target), "--quiet")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_timeout_reaches_the_model_call(runner, server, shop):
    server.enqueue(Reply("too late", delay=3))
    result = audit(runner, server, shop.path, "--timeout", "0.5", "--retries", "0", "--quiet")
    assert result.exit_code == 1
    assert "after 1 attempt" in result.stderr and len(server.chat_requests) == 1


def test_the_report_says_what_ran(runner, server, shop):
    import time

    from repo_auditor import __version__

    script_exploration(server)
    started = time.monotonic()
    result = audit(runner, server, shop.path, "--format", "json", "--quiet")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tool"]["version"] == __version__ and data["repository"]["commit"] == shop.head()
    assert data["repository"]["path"] == str(shop.path.resolve())
    assert data["run"]["models"] == {"explore": "openai/x", "sub-calls": "openai/x", "synthesis": "openai/x"}
    assert "at most 20 turns, 50 sub-calls" in data["run"]["strategy"]
    assert [u["stage"] for u in data["usage"]] == ["explore", "synthesis"]
    # The coverage time is the command's wall time, not a part of it.
    assert data["coverage"]["seconds"] == data["run"]["wall_seconds"] and 0.5 * elapsed < data["run"]["wall_seconds"] <= elapsed
    script_exploration(server)
    markdown = audit(runner, server, shop.path, "--quiet").stdout
    what_ran = markdown.split("## What ran", 1)[1]
    assert f"`{shop.head()}` (work tree)" in what_ran and "| Model (explore) | openai/x |" in what_ran
    assert f"| repo_auditor | `{__version__}` |" in what_ran and "| explore | openai/x | 4 |" in what_ran
