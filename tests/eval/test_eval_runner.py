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
