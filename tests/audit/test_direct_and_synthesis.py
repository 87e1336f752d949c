"""The direct strategy (files in one prompt when they fit) and a synthesis that must never echo a placeholder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from repo_auditor.audit.direct import UNKNOWN_WINDOW_TOKENS, choose_strategy, estimate_prompt_tokens
from repo_auditor.audit.pipeline import SYNTHESIS_PROMPT, LMSynthesizer, audit
from repo_auditor.audit.placeholders import placeholder_problem
from repo_auditor.findings import parse_findings
from repo_auditor.report import render
from repo_auditor.repository import Repository
from tests.gitrepo import FIXTURES, GitRepo
from tests.support.scripted_lm import ScriptedLM

QUESTION = "Where is user input passed to SQL without parameters?"
SQL_LINE = "query = \"SELECT * FROM users WHERE name = '%s'\" % name"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "audit_repo", tmp_path / "shop")
    GitRepo.init(tmp_path / "shop").commit("import shop")
    return tmp_path / "shop"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("<markdown>", "only the placeholder '<markdown>'"),  # both 1.5B reports, issue 18
        ("  `<answer>` ", "only the placeholder '<answer>'"),
        ("...", "only the placeholder '...'"),
        ("markdown", "only the word 'markdown'"),
        ("<markdown> ...", "only the placeholder '<markdown>'"),
        ('{"answer": "<markdown>", "findings": [{"title": ..., "severity": ...}]}', "copies the requested JSON shape"),
        ("", "empty"),
        ("`find_user` formats the name into SQL (app/db.py:9).", None),
        ("No SQL injection: every query uses ? placeholders (app/db.py:14).", None),
    ],
)
def test_placeholder_answers_are_recognised(answer, problem):
    found = placeholder_problem(answer)
    assert found == problem if problem is None else problem in found


def test_the_synthesis_prompt_shows_no_placeholder_to_copy():
    assert "<markdown>" not in SYNTHESIS_PROMPT and "..." not in SYNTHESIS_PROMPT


def test_a_synthesis_that_echoes_the_placeholder_keeps_the_explorers_answer():
    findings, _ = parse_findings([{"title": "SQL", "severity": "high", "path": "app/db.py", "line": 9,
                                   "evidence": SQL_LINE, "explanation": "formatted"}])
    lm = ScriptedLM(['{"answer": "<markdown>", "findings": []}'])
    synthesizer = LMSynthesizer(lm)
    answer, kept = synthesizer(QUESTION, "find_user formats SQL (app/db.py:9)", findings)
    assert (answer, kept) == ("find_user formats SQL (app/db.py:9)", findings)
    assert "echoed the template" in synthesizer.last_problem
    assert lm.overrides == [{"max_tokens": 4096}]


def test_forced_strategies_need_no_window(shop):
    repo = Repository.open(shop)
    assert choose_strategy("rlm", repo, None, 4096).name == "rlm"
    assert choose_strategy("direct", repo, None, 4096).name == "direct"


def test_auto_answers_a_small_repository_directly_and_explores_a_large_one(shop):
    small = choose_strategy("auto", Repository.open(shop), "local/unknown-model", 4096)
    assert small.name == "direct" and f"{UNKNOWN_WINDOW_TOKENS:,} tokens" in small.reason
    (shop / "app" / "big.py").write_text("x = 'a line of generated code to fill the window'\n" * 2_000)
    large_repo = Repository.open(shop)
    assert estimate_prompt_tokens(large_repo) > UNKNOWN_WINDOW_TOKENS
    large = choose_strategy("auto", large_repo, "local/unknown-model", 4096)
    assert large.name == "rlm" and "do not fit" in large.reason


def test_a_direct_audit_puts_the_files_in_one_prompt_and_verifies_its_findings(shop):
    reply = json.dumps({"answer": "`find_user` formats the name into SQL (app/db.py:9).", "findings": [
        {"title": "SQL injection", "severity": "high", "path": "app/db.py", "line": 9, "evidence": SQL_LINE,
         "explanation": "name is formatted into the query"},
        {"title": "invented", "severity": "high", "path": "app/web.py", "line": 3, "evidence": "eval(x)",
         "explanation": "not in the code"}]})
    lm = ScriptedLM([reply])
    report = audit(shop, QUESTION, lm=lm)
    assert len(lm.requests) == 1  # no exploration, no synthesis
    prompt = lm.requests[0][0]["content"]
    assert " 9 |     " + SQL_LINE in prompt and "=== app/db.py (14 lines) ===" in prompt
    assert "hunter2-very-secret" not in prompt and "[REDACTED:" in prompt  # the .env file went through redaction
    assert [f.title for f in report.verified_findings] == ["SQL injection"]
    assert report.run.mode == "direct" and "fit the model's window" in report.run.reason
    assert report.to_dict()["run"]["mode"] == "direct"
    assert [u.stage for u in report.usage] == ["direct"]
    # every text file was in the prompt, so every one counts as read, whole (not "0 of 6 files read")
    assert report.coverage.files_read == {".env": 1, ".gitignore": 1, "README.md": 3, "app/__init__.py": 0,
                                          "app/db.py": 14, "app/web.py": 6}


def test_a_direct_reply_that_is_not_json_becomes_the_answer_with_a_note(shop):
    report = audit(shop, QUESTION, lm=ScriptedLM(["The query in app/db.py:9 is built with %."]), strategy="direct")
    assert report.answer == "The query in app/db.py:9 is built with %." and not report.findings
    assert any("not the requested JSON" in note for note in report.notes)


def test_a_direct_audit_traces_its_request_and_reply(shop, tmp_path):
    """The trace of a direct run holds what was sent and the raw reply (the material for replays and evaluations),
    then the verified findings."""
    from repo_auditor.rlm.trace import load_trace

    reply = json.dumps({"answer": "app/db.py:9 formats the name into SQL.", "findings": [
        {"title": "SQL injection", "severity": "high", "path": "app/db.py", "line": 9, "evidence": SQL_LINE,
         "explanation": "name is formatted into the query"}]})
    trace = tmp_path / "run.jsonl"
    audit(shop, QUESTION, lm=ScriptedLM([reply]), strategy="direct", trace=str(trace))
    records = load_trace(trace)
    assert [r["kind"] for r in records] == ["run_start", "request", "reply", "run_end", "findings"]
    request, answer = records[1], records[2]
    assert request["purpose"] == "direct" and " 9 |     " + SQL_LINE in request["messages"][0]["content"]
    assert "hunter2-very-secret" not in trace.read_text()
    assert answer["text"] == reply
    assert records[-1]["findings"][0]["verified"] is True


def _direct_reply(path: str, line: int, evidence: str, answer: str) -> str:
    return json.dumps({"answer": answer, "findings": [
        {"title": "SQL injection", "severity": "high", "path": path, "line": line, "evidence": evidence,
         "explanation": "name is formatted into the query"}]})


def test_samples_keep_every_answers_findings_and_show_the_best_verified_answer(shop):
    """Three samples of a small model's direct answer: one invents code, one cites the caller, one finds the line.
    Every finding is verified; the answer shown is the one whose findings verify best."""
    invented = _direct_reply("app/web.py", 6, "conn.execute('SELECT * FROM users WHERE name = ?', (name,))",
                             "invented")
    caller = json.dumps({"answer": "app/web.py:6 passes the name on.", "findings": []})
    right = _direct_reply("app/db.py", 9, SQL_LINE, "`find_user` formats the name into SQL (app/db.py:9).")
    lm = ScriptedLM([invented, caller, right])
    report = audit(shop, QUESTION, lm=lm, strategy="direct", samples=3)
    assert len(lm.requests) == 3 and all(r == lm.requests[0] for r in lm.requests)
    assert report.answer == "`find_user` formats the name into SQL (app/db.py:9)."
    assert [(f.location.path, f.verified) for f in report.findings] == [("app/db.py", True), ("app/web.py", False)]
    assert "3 samples" in report.run.strategy and report.usage[0].calls == 3


def test_a_failing_sample_keeps_the_answers_already_paid_for(shop):
    from repo_auditor.errors import LMConnectionError

    right = _direct_reply("app/db.py", 9, SQL_LINE, "app/db.py:9 formats the name into SQL.")
    report = audit(shop, QUESTION, lm=ScriptedLM([right, LMConnectionError("down", model="scripted")]),
                   strategy="direct", samples=3)
    assert report.partial and report.answer == "app/db.py:9 formats the name into SQL."
    assert [f.verified for f in report.findings] == [True]


def test_samples_must_be_positive(shop):
    from repo_auditor.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="samples must be 1 or more"):
        audit(shop, QUESTION, lm=ScriptedLM([]), strategy="direct", samples=0)


def test_auto_samples_ask_a_model_without_a_price_eight_times(shop):
    """samples="auto" (the default): one answer from a priced model, eight from one without a price (a local or
    self-hosted model, where another answer costs time, not money) or with a zero price."""
    from repo_auditor.audit.direct import UNPRICED_SAMPLES, resolve_samples

    right = _direct_reply("app/db.py", 9, SQL_LINE, "app/db.py:9 formats the name into SQL.")
    priced = ScriptedLM([right])
    assert len(audit(shop, QUESTION, lm=priced, strategy="direct").findings) == 1 and len(priced.requests) == 1
    local = ScriptedLM([right] * UNPRICED_SAMPLES, price=None)
    report = audit(shop, QUESTION, lm=local, strategy="direct")
    assert len(local.requests) == UNPRICED_SAMPLES == 8
    assert "8 samples (auto: the model has no price" in report.run.strategy
    assert resolve_samples("auto", ScriptedLM(price=(0.0, 0.0)))[0] == 8
    assert resolve_samples(2, ScriptedLM(price=None)) == (2, "asked for")
    from repo_auditor.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="samples must be 1 or more"):
        resolve_samples("many", ScriptedLM())


def test_auto_samples_read_litellms_price_table():
    from repo_auditor.audit.direct import resolve_samples

    assert resolve_samples("auto", "openai/gpt-4o-mini")[0] == 1  # priced in litellm's table
    assert resolve_samples("auto", "openai/some-local-model")[0] == 8



# The 1.5B model's direct answer with its values shifted one key (tools/eval/transcripts/
# fixture-sql-1.5b-direct-prompt-variant-2026-12-02-run9): "path" holds "file:line" (the wrong file), "line" the
# code, "evidence" the explanation. Before the fix the finding was dropped ("line" is not a line number).
SHIFTED_REPLY = '```json\n{\n  "answer": "In the `handle` function, user input is passed directly to the SQL query without parameters. The query string is constructed from a variable `request.args["name"]`, which is directly accessed in the SQL query without any escaping or parameterization.",\n  "findings": [\n    {\n      "title": "Directly Passing User Input to SQL",\n      "severity": "high",\n      "path": "app/web.py:4",\n      "line": "query = \\"SELECT * FROM users WHERE name = \'%s\'" % name",\n      "end_line": "query = \\"SELECT * FROM users WHERE name = \'%s\'" % name",\n      "evidence": "The query string is constructed directly from the `request.args["name"]` variable without any escaping or parameterization.",\n      "explanation": "This approach allows an attacker to inject arbitrary SQL code into the query, potentially leading to unauthorized access, data theft, or other security issues."\n    }\n  ]\n}\n```'


def test_a_finding_whose_line_holds_the_code_is_verified_where_that_code_is(shop):
    report = audit(shop, QUESTION, lm=ScriptedLM([SHIFTED_REPLY]), strategy="direct", samples=1)
    [finding] = report.findings
    assert (finding.location.path, finding.location.line, finding.verified) == ("app/db.py", 9, True)
    assert finding.evidence == SQL_LINE
    assert finding.explanation.startswith("The query string is constructed directly")


def test_the_same_place_in_several_answers_is_one_finding_noting_how_often(shop):
    """Eight answers name the same two places under five titles (tools/eval/transcripts/
    fixture-sql-1.5b-8samples-2026-12-02-run1): one finding per place, the best-ranked one, noting how many times the
    answers reported it; at the same status, the place more answers agree on comes first."""
    caller = "return find_user(conn, request.args['name'])"  # other quote marks: verified, the code is shown
    replies = [_direct_reply("app/web.py", 6, caller, "caller"),
               _direct_reply("app/db.py", 9, SQL_LINE, "query"),
               json.dumps({"answer": "nothing", "findings": []}),
               _direct_reply("app/web.py", 6, "conn.execute('SELECT * FROM users WHERE name = ?', (name,))", "x"),
               json.dumps({"answer": "caller again", "findings": [
                   {"title": "SQL Injection Vulnerability", "severity": "critical", "path": "app/web.py", "line": 6,
                    "evidence": caller, "explanation": "passes the name on"}]}),
               json.dumps({"answer": "query and its execution", "findings": [  # 9-10 is the place 9 too
                   {"title": "Potential SQL Injection Risk", "severity": "high", "path": "app/db.py", "line": 9,
                    "end_line": 10, "evidence": SQL_LINE + "\n    return conn.execute(query).fetchall()"}]}),
               _direct_reply("app/db.py", 10, "return conn.execute(query).fetchall()", "the execute line"),
               _direct_reply("app/web.py", 6, caller, "caller, third time")]
    report = audit(shop, QUESTION, lm=ScriptedLM(replies), strategy="direct", samples=8)
    places = [(f.location.path, f.location.line, f.verified, f.notes[-1]) for f in report.findings]
    assert places == [
        ("app/web.py", 6, True, "reported 4 times in 8 answers"),
        ("app/db.py", 9, True, "reported 2 times in 8 answers"),
        ("app/db.py", 10, True, "reported once in 8 answers"),
    ]
    assert report.findings[0].severity.label == "critical"  # the best-ranked of its place
    assert "reported 4 times in 8 answers" in render(report)


def test_one_answer_is_not_merged_by_place(shop):
    two_titles = json.dumps({"answer": "a", "findings": [
        {"title": "SQL injection", "severity": "high", "path": "app/db.py", "line": 9, "evidence": SQL_LINE},
        {"title": "Unescaped name", "severity": "low", "path": "app/db.py", "line": 9, "evidence": SQL_LINE}]})
    report = audit(shop, QUESTION, lm=ScriptedLM([two_titles]), strategy="direct", samples=1)
    assert [f.title for f in report.findings] == ["SQL injection", "Unescaped name"]
    assert all(not f.notes for f in report.findings)


def test_max_time_ends_the_answers_with_those_already_in(shop):
    """--max-time bounds a direct run as it bounds an exploration: a call in flight when time runs out is abandoned,
    no further sample starts, and the answers already in make a partial report that says how many arrived."""
    import time as clock

    from repo_auditor.audit.pipeline import Budgets

    def slow(messages):
        clock.sleep(5)
        return _direct_reply("app/web.py", 6, "return find_user(conn, request.args['name'])", "late")

    right = _direct_reply("app/db.py", 9, SQL_LINE, "app/db.py:9 formats the name into SQL.")
    lm = ScriptedLM([right, slow, right], price=None)
    started = clock.monotonic()
    report = audit(shop, QUESTION, lm=lm, strategy="direct", samples=3, budgets=Budgets(max_time=1.5))
    assert clock.monotonic() - started < 4.5  # the 5 s call was abandoned
    assert len(lm.requests) == 2 and report.partial
    assert report.stopped.reason == "max_time"
    assert report.stopped.detail == "the max_time budget ran out after 1 of 3 answers"
    assert [(f.location.path, f.verified) for f in report.findings] == [("app/db.py", True)]


def test_max_time_before_any_answer_is_a_budget_error(shop):
    import time as clock

    from repo_auditor.audit.pipeline import Budgets
    from repo_auditor.errors import BudgetExceededError

    def slow(messages):
        clock.sleep(3)
        return "{}"

    with pytest.raises(BudgetExceededError, match=r"max_time \(0.5 s\) ran out before the first direct answer"):
        audit(shop, QUESTION, lm=ScriptedLM([slow]), strategy="direct", samples=2, budgets=Budgets(max_time=0.5))


def test_max_cost_stops_asking_once_the_answers_cost_that_much(shop):
    from repo_auditor.audit.pipeline import Budgets
    from tests.support.scripted_lm import ScriptedReply

    right = _direct_reply("app/db.py", 9, SQL_LINE, "app/db.py:9 formats the name into SQL.")
    lm = ScriptedLM([ScriptedReply(right, cost=0.02), ScriptedReply(right, cost=0.02), right])
    report = audit(shop, QUESTION, lm=lm, strategy="direct", samples=3, budgets=Budgets(max_cost=0.03))
    assert len(lm.requests) == 2 and report.partial
    assert report.stopped.detail == "the max_cost budget ran out after 2 of 3 answers"
    assert report.coverage.cost == pytest.approx(0.04)
