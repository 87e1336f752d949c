"""``audit-repo PATH QUESTION --max-depth 2`` end to end: real loader, tools, Deno sandboxes (one per run) and litellm
against the scripted OpenAI-compatible server; the root run hands a sub-task to a child run that shares its budgets."""

from __future__ import annotations

import json

import pytest

from repo_auditor.cli import main
from tests.cli.conftest import QUESTION
from tests.cli.test_audit_cli import submit_reply, synthesis_reply
from tests.support.scripted_lm import code_reply


@pytest.mark.slow  # two Deno sandboxes and the litellm HTTP path
def test_a_depth_2_audit_shares_the_budget_with_its_child_run(runner, server, shop, tmp_path):  # noqa: F811
    server.enqueue(
        code_reply("found = rlm_query('Which function builds SQL from its argument?', pattern='execute')\n"
                   "print(found)", "Let a child run search."),
        code_reply('print(grep(pattern, glob="*.py"))', "Search with the pattern I was given."),  # the child
        code_reply("SUBMIT(answer='find_user in app/db.py')", "That is it."),  # the child
        submit_reply(),
        synthesis_reply(),
    )
    trace = tmp_path / "run.jsonl"
    result = runner.invoke(main, [str(shop.path), QUESTION, "--model", "openai/x", "--api-base", server.url,
                                  "--max-depth", "2", "--max-llm-calls", "5", "--format", "json",
                                  "--trace", str(trace)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["verified"] == 1
    assert report["coverage"]["sub_calls"] == 1 and report["coverage"]["iterations"] == 2
    assert report["coverage"]["searches"] == 1  # the child's grep went through the same tools
    bodies = [r.body for r in server.chat_requests]
    child_first = bodies[1]["messages"]
    assert "Which function builds SQL from its argument?" in child_first[1]["content"]
    assert "sub-calls left 4 of 5" in child_first[1]["content"]  # the parent's rlm_query took one of the five
    assert "find_user in app/db.py" in bodies[3]["messages"][-1]["content"]  # the child's answer, back in the root
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    depths = {r["depth"] for r in records if "depth" in r}
    assert depths == {1, 2}
    [child_run] = [r for r in records if r["kind"] == "child_run"]
    root_tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in records
                      if r["kind"] == "reply" and r["depth"] == 1)
    child_tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in records
                       if r["kind"] == "reply" and r["depth"] == 2)
    assert child_run["usage"]["prompt_tokens"] + child_run["usage"]["completion_tokens"] == child_tokens
    explorer_tokens = report["usage"][0]["prompt_tokens"] + report["usage"][0]["completion_tokens"]
    sub_tokens = sum(u["prompt_tokens"] + u["completion_tokens"] for u in report["usage"][1:-1])
    assert explorer_tokens == root_tokens and sub_tokens == child_tokens  # the child's spend is in the report
    assert records[-1]["kind"] == "findings" and records[-1]["findings"][0]["verified"] is True
    assert result.stderr.strip().splitlines()[-1] == (
        f"trace written to {trace}; look at it with: audit-repo trace view {trace}")
