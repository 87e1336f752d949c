"""tools/eval/run.py against the fake OpenAI-compatible server: task building, scoring and the table."""

from __future__ import annotations

import json

from tests.support.openai_server import OpenAIServer
from tools.eval import run
from tools.eval.tasks import SETS, build

SQL = """sql = "SELECT id, name FROM products WHERE name LIKE '%" + term + "%'\""""


def test_every_task_set_builds_with_ground_truth_in_its_files(tmp_path):
    for name in SETS:
        tasks = build(name, tmp_path)
        assert tasks, name
        for task in tasks:
            lines = (task.repo / task.expect.path).read_text().splitlines()
            assert 1 <= task.expect.start <= task.expect.end <= len(lines), task.id
            assert task.question.endswith("?") or "?" in task.question


def test_the_runner_prints_a_scored_table(tmp_path, capsys):
    good = json.dumps({"answer": "`search_products` puts `term` into the SQL text (app/db.py:13).", "findings": [
        {"title": "SQL injection", "severity": "high", "path": "app/db.py", "line": 13, "evidence": SQL,
         "explanation": "term comes from the request"}]})
    wrong = json.dumps({"answer": "The timeout is set in orders/db.py:5.", "findings": []})
    with OpenAIServer() as server:
        server.enqueue(good, wrong)
        code = run.main(["--sets", "planted,config", "--limit", "1", "--strategy", "direct", "--model", "openai/x",
                         "--api-base", server.url, "--api-key", "sk-test", "--retries", "0",
                         "--json", str(tmp_path / "rows.json")])
        bodies = [r.body for r in server.chat_requests]
    assert code == 0
    out = capsys.readouterr().out
    assert "## --strategy direct (openai/x)" in out
    assert "| planted/sql-injection | direct | yes | yes | 100% | 1 |" in out
    assert "| config/db-timeout | direct | no | - | 0% | 1 |" in out
    assert "| **total (2)** | | 1/2 | 1/1 |" in out
    assert bodies[0]["max_tokens"] == 1024
    rows = json.loads((tmp_path / "rows.json").read_text())["direct"]
    assert rows[1]["feedback"][0] == ("the answer should cite orders/settings.py:6-6; it cited orders/db.py:5-5")


def test_an_unknown_strategy_is_refused(capsys):
    assert run.main(["--strategy", "fast", "--api-base", "http://127.0.0.1:9/v1"]) == 2
    assert "unknown strategy: fast" in capsys.readouterr().err


def test_gepa_optimises_the_direct_prompt_end_to_end(tmp_path, capsys):
    from repo_auditor.audit.pipeline import default_prompts
    from tools.eval import optimize

    wrong = json.dumps({"answer": "Nothing found.", "findings": []})
    good = json.dumps({"answer": "`search_products` puts `term` into the SQL text (app/db.py:13).", "findings": [
        {"title": "SQL injection", "severity": "high", "path": "app/db.py", "line": 13, "evidence": SQL,
         "explanation": "term comes from the request"}]})
    better = default_prompts()["direct"] + "\nLook hardest at strings built with + or %."
    reflection = "Here is the improved prompt:\n```\n" + better + "\n```"
    with OpenAIServer() as server:
        # seed on the validation set, seed on a minibatch (traced), the reflection, the new prompt on the
        # minibatch, then on the validation set; anything more gets the server's 400 (a failed, zero-score row)
        server.enqueue(wrong, wrong, reflection, good, good)
        code = optimize.main(["--sets", "planted", "--limit", "1", "--model", "openai/x", "--api-base", server.url,
                              "--api-key", "sk-test", "--retries", "0", "--max-metric-calls", "4",
                              "--out", str(tmp_path / "best.json"), "--run-dir", str(tmp_path / "gepa")])
        bodies = [r.body for r in server.chat_requests]
    assert code == 0
    assert json.loads((tmp_path / "best.json").read_text()) == {"direct": better}
    assert "validation score of the shipped prompts 0.00, of the best 1.00" in capsys.readouterr().out
    reflection_prompt = bodies[2]["messages"][0]["content"]
    assert "the answer should cite app/db.py:13-14" in reflection_prompt  # the eval's feedback reached GEPA
    assert "no verified finding at app/db.py:13-14" in reflection_prompt


def test_a_proposed_prompt_that_lost_its_fields_scores_zero_with_the_reason():
    from tools.eval.optimize import template_problem

    assert template_problem("direct", "Answer {question} from {files}.") is None
    assert "must contain exactly the fields {files}, {question}" in template_problem("direct", "Answer {question}.")
    assert "not a valid template" in template_problem("synthesis", "Reply {")
    assert template_problem("explore", "Any {text} at all") is None


def test_repeat_runs_the_real_command_and_counts_only_a_verified_finding_at_the_planted_line(tmp_path):
    """tools/eval/repeat.py: the issue-18 bar, a run scored from the real CLI's JSON report."""
    from tools.eval import repeat

    right = json.dumps({"answer": "app/db.py:9 formats the name into SQL.", "findings": [
        {"title": "SQL injection", "severity": "high", "path": "app/db.py", "line": 9,
         "evidence": "query = \"SELECT * FROM users WHERE name = '%s'\" % name", "explanation": "formatted"}]})
    with OpenAIServer() as server:
        server.enqueue(right)
        found, line = repeat.run_once(server.url, ["--strategy", "direct"], tmp_path, 1, 60)
    assert found is True and "app/db.py:9 verified" in line
    report = json.loads((tmp_path / "run1.json").read_text())
    caller = {**report["findings"][0], "location": {"path": "app/web.py", "line": 6, "end_line": None}}
    assert not repeat.hit({"findings": [caller]})  # verified, but the caller, not the planted flaw
    assert not repeat.hit({"findings": [{**report["findings"][0], "verified": False}]})
