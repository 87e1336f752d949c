"""``audit-repo review`` end to end: real git, loader, tools, Deno sandbox and litellm against a local
OpenAI-compatible server replaying a scripted review; exit codes per --fail-on, every output format."""

from __future__ import annotations

import json

import jsonschema
import pytest

from repo_auditor.cli import main
from tests.review.conftest import OLD_CALL, SQL_FORMATTED, change_signature, clean_change, introduce_sql_bug
from tests.support.interrupt import interrupt_mid_request
from tests.support.openai_server import Fault, Reply
from tests.support.scripted_lm import code_reply

SQL_FINDING = {"title": "SQL built with string formatting", "severity": "high", "category": "security/injection",
               "path": "app/db.py", "line": 12, "evidence": SQL_FORMATTED, "explanation": "name is formatted into the query: SQL injection."}
CALLER_FINDING = {"title": "Caller not updated for the new discount parameter", "severity": "medium",
                  "path": "app/cart.py", "line": 7, "evidence": OLD_CALL,
                  "explanation": "total() now needs discount; checkout() still passes two arguments."}
INVENTED = {"title": "eval of request data", "severity": "critical", "path": "app/db.py", "line": 3,
            "evidence": "eval(request.body)", "explanation": "not in the code"}


def submit(findings: list[dict], answer: str = "The change formats SQL by hand.") -> str:
    return code_reply(f"SUBMIT(answer={answer!r}, findings={findings!r})", "Done.")


def run(runner, server, shop, *extra: str):
    return runner.invoke(main, ["review", str(shop.path), "--base", "main", "--model", "openai/x",
                                "--api-base", server.url, *extra])


def test_markdown_review_sees_the_diff_and_marks_changed_lines(runner, server, shop):
    introduce_sql_bug(shop.repo)
    change_signature(shop.repo)
    server.enqueue(
        code_reply("print(sorted((f['path'], f['status'], f['coverage']) for f in changed_files))\n"
                   "print(diff.count('diff --git'))\nprint(read_file('app/cart.py'))", "Look at the change."),
        submit([SQL_FINDING, CALLER_FINDING, INVENTED]),
    )
    result = run(runner, server, shop)
    assert result.exit_code == 0, result.stderr
    seen = server.chat_requests[1].body["messages"][-1]["content"]
    assert "('app/db.py', 'modified', 'reviewed')" in seen and "('app/pricing.py', 'modified', 'reviewed')" in seen
    assert OLD_CALL in seen  # the tools read the head tree: the unchanged caller is reachable
    out = result.stdout
    head = shop.repo.head()
    assert out.startswith(f"<!-- repo-auditor:review head={head} base={shop.base} fingerprints=")
    assert "3 findings, 2 verified: 1 high, 1 medium" in out
    sql_part = out.split("SQL built with string formatting", 1)[1].split("####", 1)[0]
    assert "On a line this change touches" in sql_part
    caller_part = out.split("Caller not updated", 1)[1].split("<details>", 1)[0]
    assert "On a line this change touches" not in caller_part  # cart.py did not change
    assert "eval of request data" in out.split("not counted", 1)[1]
    coverage = out.split("### Coverage", 1)[1]
    assert "**Reviewed (2)**" in coverage and "`app/db.py` (modified, +1 −1)" in coverage


@pytest.mark.parametrize("fail_on, findings, expected", [
    ("high", [SQL_FINDING], 3),
    ("critical", [SQL_FINDING], 0),
    ("medium", [CALLER_FINDING], 3),
    ("low", [INVENTED], 0),  # an unverified critical finding never fails the build
    ("low", [], 0),
])
def test_fail_on_exit_codes(runner, server, shop, fail_on, findings, expected):
    introduce_sql_bug(shop.repo)
    change_signature(shop.repo)
    server.enqueue(submit(findings))
    result = run(runner, server, shop, "--fail-on", fail_on, "--format", "json")
    assert result.exit_code == expected, result.stderr
    data = json.loads(result.stdout)
    assert data["review"]["merge_base"] == shop.base and data["review"]["head"] == shop.repo.head()


def test_clean_change_json(runner, server, shop):
    clean_change(shop.repo)
    server.enqueue(submit([], "The change only edits the README; nothing to flag."))
    result = run(runner, server, shop, "--format", "json", "--fail-on", "low", "--focus", "security")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["findings"] == [] and data["review"]["focus"] == "security"
    assert [f["path"] for f in data["review"]["files"]] == ["README.md"]
    prompt = json.dumps(server.chat_requests[0].body)
    assert "injection" in prompt  # the security focus reached the model


def test_sarif_output_is_valid(runner, server, shop, sarif_schema):
    introduce_sql_bug(shop.repo)
    server.enqueue(submit([SQL_FINDING, INVENTED]))
    result = run(runner, server, shop, "--format", "sarif")
    assert result.exit_code == 0, result.stderr
    log = json.loads(result.stdout)
    jsonschema.Draft202012Validator(sarif_schema).validate(log)
    [res] = log["runs"][0]["results"]  # only the verified finding
    assert res["level"] == "error" and res["ruleId"] == "security/injection"
    region = res["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "app/db.py" and region["region"]["startLine"] == 12
    assert len(res["partialFingerprints"]["repoAuditor/v2"]) == 16
    run_ = log["runs"][0]
    assert run_["properties"]["model"] == "openai/x" and run_["properties"]["promptVersion"].startswith("2+")
    assert run_["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == "8.0"


def test_sarif_identity_survives_a_reworded_title(runner, server, shop):
    introduce_sql_bug(shop.repo)
    missing_test = {"title": "No test for find_user", "severity": "medium", "category": "tests/missing",
                    "path": "app/db.py", "line": 12, "evidence": SQL_FORMATTED, "explanation": "untested"}
    server.enqueue(submit([SQL_FINDING]), submit([{**SQL_FINDING, "title": "Query text formatted with %"}]))
    first = json.loads(run(runner, server, shop, "--format", "sarif").stdout)["runs"][0]["results"][0]
    second = json.loads(run(runner, server, shop, "--format", "sarif").stdout)["runs"][0]["results"][0]
    assert first["message"]["text"] != second["message"]["text"]
    assert first["partialFingerprints"] == second["partialFingerprints"] and first["ruleId"] == second["ruleId"]
    server.enqueue(submit([missing_test]))
    log = json.loads(run(runner, server, shop, "--format", "sarif").stdout)
    [rule] = log["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "tests/missing" and "security-severity" not in rule["properties"]


def test_github_annotations(runner, server, shop):
    introduce_sql_bug(shop.repo)
    server.enqueue(submit([{**SQL_FINDING, "title": "SQL: 100% bad, really",
                            "explanation": "line one\nline two: 50%"}]))
    result = run(runner, server, shop, "--format", "github")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("::error file=app/db.py,line=12,title=[high] SQL%3A 100%25 bad%2C really"
                             "::line one%0Aline two: 50%25\n")


def test_no_change_needs_no_model(runner, server, shop):
    result = run(runner, server, shop, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert server.chat_requests == []
    assert json.loads(result.stdout)["review"]["files"] == []


@pytest.mark.parametrize("args, message, code", [
    (["--base", "nope"], "ref not found: 'nope'", 1),
    (["--base", "main", "--focus", "style"], "Invalid value for '--focus'", 2),
    (["--base", "main", "--incremental"], "--incremental needs the previous review", 2),
    (["--base", "main", "--post", "github"], "--post github needs the PR number", 2),
])
def test_bad_input_is_one_line(runner, server, shop, args, message, code):
    introduce_sql_bug(shop.repo)
    result = runner.invoke(main, ["review", str(shop.path), *args, "--model", "openai/x", "--api-base", server.url])
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.stderr


def test_head_option_reviews_another_branch_without_touching_the_work_tree(runner, server, shop):
    introduce_sql_bug(shop.repo)
    feature_head = shop.repo.head()
    shop.repo.switch("main")
    server.enqueue(submit([SQL_FINDING]))
    result = run(runner, server, shop, "--head", "feature", "--format", "json", "--fail-on", "high")
    assert result.exit_code == 3, result.stderr
    data = json.loads(result.stdout)
    assert data["review"]["head"] == feature_head and data["findings"][0]["on_changed_line"] is True
    assert shop.repo.status() == "" and shop.repo.git("branch", "--show-current") == "main"


def test_a_provider_failing_mid_review_leaves_a_partial_review_and_exits_4(runner, server, shop):
    introduce_sql_bug(shop.repo)
    server.enqueue(code_reply("print(diff.count('diff --git'))", "Look at the change."),
                   Fault(400, {"error": {"message": "context length exceeded", "type": "invalid_request_error"}}))
    result = run(runner, server, shop, "--format", "json", "--fail-on", "high")
    assert result.exit_code == 4, result.stderr
    data = json.loads(result.stdout)
    assert data["partial"] is True and data["stopped"]["reason"] == "error"
    assert result.stderr.strip().splitlines()[-1].startswith("partial report: the run stopped early")


def test_ctrl_c_mid_review_writes_the_partial_review_and_exits_130(server, shop):
    introduce_sql_bug(shop.repo)
    server.enqueue(code_reply("print(diff.count('diff --git'))", "Look."), Reply("never read", delay=120))
    code, out, err = interrupt_mid_request(server, ["review", str(shop.path), "--base", "main", "--model",
                                                     "openai/x", "--api-base", server.url, "--format", "json"])
    assert code == 130, err
    data = json.loads(out)
    assert data["partial"] is True and data["stopped"]["reason"] == "interrupted"
    assert "review" in data and "Traceback" not in err
