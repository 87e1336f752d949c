"""``audit-repo PATH QUESTION`` end to end: real loader, tools, Deno sandbox and litellm, against a local
OpenAI-compatible server replaying a scripted exploration (grep -> read_file -> symbols -> SUBMIT) and a synthesis."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from repo_auditor.cli import main
from repo_auditor.findings import report_schema
from tests.cli.conftest import ENV_SECRET, QUESTION, SQL_LINE
from tests.support.openai_server import Fault, OpenAIServer
from tests.support.scripted_lm import code_reply


def submit_reply(line: int = 9) -> str:
    findings = [
        {"title": "SQL built with string formatting", "severity": "high", "path": "app/db.py", "line": line,
         "evidence": SQL_LINE, "explanation": "name comes from the request and is formatted into the query."},
        {"title": "eval of request data", "severity": "critical", "path": "app/web.py", "line": 3,
         "evidence": "eval(request.body)", "explanation": "invented by the model; not in the code."},
    ]
    return code_reply(
        f"SUBMIT(answer='`find_user` formats the name into SQL (app/db.py:{line}).', findings={findings!r})",
        "I have what I need.",
    )


def synthesis_reply(line: int = 9) -> str:
    return json.dumps({
        "answer": "User input reaches SQL unparameterised in `find_user` (app/db.py:9), called from app/web.py:6.",
        "findings": [
            {"title": "SQL injection in find_user", "severity": "high", "path": "app/db.py", "line": line,
             "evidence": SQL_LINE, "explanation": "request.args['name'] is formatted into the query string."},
            {"title": "eval of request data", "severity": "critical", "path": "app/web.py", "line": 3,
             "evidence": "eval(request.body)", "explanation": "invented by the model; not in the code."},
        ],
    })


def script_exploration(server: OpenAIServer, *, line: int = 9) -> None:
    server.enqueue(
        code_reply('print(grep("execute\\\\(", glob="*.py"))', "Find the queries."),
        code_reply('print(read_file("app/db.py", start_line=8, end_line=10))\nprint(read_file(".env"))',
                   "Read the suspicious function and the settings."),
        code_reply('print(symbols(name="find_user"))', "Where is it defined?"),
        submit_reply(line),
        synthesis_reply(line),
    )


def audit(runner, server: OpenAIServer, path: Path, *extra: str):
    return runner.invoke(main, [str(path), QUESTION, "--model", "openai/x", "--api-base", server.url, *extra])


def test_markdown_report_end_to_end(runner, server, shop):
    script_exploration(server)
    result = audit(runner, server, shop.path)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"# Audit: {QUESTION}")
    assert "2 findings, 1 verified: 1 high" in out
    assert "SQL injection in find\\_user" in out  # model text is Markdown-escaped
    assert "app/db.py:9" in out
    assert "https://github.com/acme/shop/blob/" in out and "/app/db.py#L9" in out
    unverified = out.split("## Unverified", 1)[1]
    assert "eval of request data" in unverified
    # The model's observations came from the real tools through the sandbox.
    bodies = [r.body for r in server.chat_requests]
    assert len(bodies) == 5
    observation_after_grep = bodies[1]["messages"][-1]["content"]
    assert "app/db.py:10:" in observation_after_grep and "app/db.py:14:" in observation_after_grep
    observation_after_read = bodies[2]["messages"][-1]["content"]
    assert " 9 |     " + SQL_LINE in observation_after_read
    assert "[REDACTED:" in observation_after_read
    assert ENV_SECRET not in json.dumps(bodies)  # the .env secret never reached the model
    assert "function  find_user" in bodies[3]["messages"][-1]["content"].replace("   ", "  ")
    # Coverage says what the run looked at.
    coverage = out.split("## Coverage", 1)[1]
    assert "app/db.py" in coverage and ".env" in coverage
    # Not a terminal: one plain line per stage and per turn, no carriage returns.
    turns = [line for line in result.stderr.splitlines() if "] exploring · turn " in line]
    assert len(turns) == 4 and "turn 4/20 · 0 sub-calls" in turns[-1] and "\r" not in result.stderr


def test_json_report_follows_the_schema(runner, server, shop):
    script_exploration(server)
    result = audit(runner, server, shop.path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.Draft202012Validator(report_schema()).validate(data)
    assert data["summary"]["verified"] == 1 and data["summary"]["unverified"] == 1
    verified = [f for f in data["findings"] if f["verified"]]
    assert verified[0]["location"] == {"path": "app/db.py", "line": 9, "end_line": None}
    cov = data["coverage"]
    assert cov["files_read"] == {"app/db.py": 3, ".env": 1}
    assert cov["searches"] == 1 and cov["symbol_queries"] == 1 and cov["iterations"] == 4
    assert cov["budget_hit"] is None
    assert data["repository"]["commit"] == shop.head()
    assert len(data["trajectory"]) == 4


def test_a_shifted_citation_is_corrected(runner, server, shop):
    script_exploration(server, line=6)
    result = audit(runner, server, shop.path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    finding = next(f for f in json.loads(result.stdout)["findings"] if f["verified"])
    assert finding["location"]["line"] == 9
    assert finding["reported_location"]["line"] == 6
    assert "moved from line 6 to 9" in finding["verification_note"]


def test_budget_cut_is_reported(runner, server, shop):
    server.enqueue(
        code_reply('print(grep("execute", glob="*.py"))'),
        '{"answer": "Probably find_user.", "findings": []}',  # the extract step after max_iterations
        json.dumps({"answer": "Probably find_user (not confirmed).", "findings": []}),
    )
    result = audit(runner, server, shop.path, "--max-iterations", "1")
    assert result.exit_code == 4, result.stderr  # a partial report
    text = " ".join(result.stdout.split())
    assert "Partial report: the run stopped early (max\\_iterations)" in text
    assert "Probably find_user." in text  # the extracted answer; synthesis is skipped on a cut-short run
    assert server.remaining == 1


def test_output_file_and_template_override(runner, server, shop, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "audit.md.j2").write_text("CUSTOM {{ headline }} / {{ report.repo.commit }}\n")
    script_exploration(server)
    out_file = tmp_path / "report.md"
    result = audit(runner, server, shop.path, "--output", str(out_file), "--template-dir", str(templates))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert out_file.read_text() == f"CUSTOM 2 findings, 1 verified: 1 high / {shop.head()}\n"


def test_audit_at_a_ref(runner, server, shop):
    shop.write("app/db.py", "# rewritten\n")
    shop.commit("rewrite db")
    script_exploration(server)
    result = audit(runner, server, shop.path, "--ref", "v1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["repository"]["ref"] == "v1" and data["summary"]["verified"] == 1


def test_trace_file_records_the_run(runner, server, shop, tmp_path):
    script_exploration(server)
    trace = tmp_path / "run.jsonl"
    result = audit(runner, server, shop.path, "--trace", str(trace))
    assert result.exit_code == 0, result.stderr
    kinds = [json.loads(line)["kind"] for line in trace.read_text().splitlines()]
    assert kinds[0] == "run_start" and kinds.count("execution") == 4 and "run_end" in kinds


# ----------------------------------------------------------------------------------------------- errors


PROGRESS_LINE = re.compile(r"^\[\s*\d+ s\] ")  # stderr is not a terminal: one progress line per stage and turn


def one_line_error(result) -> str:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if not PROGRESS_LINE.match(line)]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_no_model_configured(runner, server, shop):
    result = runner.invoke(main, [str(shop.path), QUESTION])
    assert result.exit_code == 1
    assert one_line_error(result).startswith("Error: no model configured: pass --model")


def test_missing_api_key(runner, server, shop, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    result = runner.invoke(main, [str(shop.path), QUESTION, "--model", "openai/gpt-4o"])
    assert result.exit_code == 1
    assert "OPENAI_API_KEY" in one_line_error(result)


def test_unknown_model(runner, server, shop):
    result = runner.invoke(main, [str(shop.path), QUESTION, "--model", "not-a-provider-model-xyz"])
    assert result.exit_code == 1
    assert "cannot tell the provider; add the provider prefix" in one_line_error(result)
    result = runner.invoke(main, [str(shop.path), QUESTION, "--model", "nosuchprovider/foo"])
    assert result.exit_code == 1
    assert "litellm has no provider named 'nosuchprovider'" in one_line_error(result)


def test_missing_path(runner, server, tmp_path):
    result = runner.invoke(main, [str(tmp_path / "nope"), QUESTION, "--model", "openai/x"])
    assert result.exit_code == 1
    assert "nope" in one_line_error(result)


def test_bad_ref(runner, server, shop):
    result = runner.invoke(main, [str(shop.path), QUESTION, "--model", "openai/x", "--ref", "no-such-branch"])
    assert result.exit_code == 1
    assert "no-such-branch" in one_line_error(result)


def test_rejected_key_from_the_provider(runner, server, shop):
    server.enqueue(Fault.unauthorized())
    result = audit(runner, server, shop.path)
    assert result.exit_code == 1
    assert "openai/x" in one_line_error(result)


def test_usage_error_exits_2(runner):
    result = runner.invoke(main, ["."])
    assert result.exit_code == 2
    assert "Missing argument 'QUESTION'" in result.stderr


def test_a_directory_named_like_a_subcommand(runner, server, tmp_path):
    target = tmp_path / "doctor"
    target.mkdir()
    result = runner.invoke(main, ["./doctor", QUESTION])
    assert result.exit_code == 1
    assert one_line_error(result).startswith("Error: no model configured")


def test_auto_strategy_answers_a_small_repository_directly(runner, server, shop):
    """The fake server's model (``openai/x``) has no price, like a local one: the default ``--samples auto`` asks
    the direct prompt 8 times, and the report says so and why; the eight answers' identical findings are one per
    place."""
    for _ in range(8):
        server.enqueue(synthesis_reply())  # the direct reply has the same shape as a synthesis
    result = audit(runner, server, shop.path, "--strategy", "auto", "--max-reply-tokens", "1000")
    assert result.exit_code == 0, result.stderr
    assert len(server.chat_requests) == 8
    assert "8 samples (auto: the model has no price (local or self-hosted)" in result.stdout
    assert result.stdout.count("reported 8 times in 8 answers") == 2
    server.enqueue(synthesis_reply())
    once = audit(runner, server, shop.path, "--strategy", "auto", "--samples", "1")
    assert once.exit_code == 0 and len(server.chat_requests) == 9 and "samples" not in once.stdout
    body = server.chat_requests[0].body
    assert body["max_tokens"] == 1000
    assert " 9 |     " + SQL_LINE in body["messages"][0]["content"]
    assert ENV_SECRET not in json.dumps(body)
    out = result.stdout
    assert "2 findings, 1 verified: 1 high" in out
    assert "| Strategy | direct answer" in out and "| Why this strategy | the " in out
    assert "fit the model's window (16,000 tokens" in out


def test_no_redact_is_explicit_and_written_into_the_report(runner, server, shop):
    script_exploration(server)
    result = audit(runner, server, shop.path, "--no-redact")
    assert result.exit_code == 0, result.stderr
    assert ENV_SECRET in json.dumps([r.body for r in server.chat_requests])  # off means off
    out = result.stdout
    assert "> **Warning: secret redaction was OFF for this run (`--no-redact`).**" in out.split("## Answer")[0]
    assert "| Secret redaction | **off** (`--no-redact`) |" in out.split("## What ran", 1)[1]
    script_exploration(server)
    data = json.loads(audit(runner, server, shop.path, "--no-redact", "--format", "json").stdout)
    jsonschema.Draft202012Validator(report_schema()).validate(data)
    assert data["redaction"] == "off"


def test_redaction_is_on_by_default_and_said_so(runner, server, shop):
    script_exploration(server)
    out = audit(runner, server, shop.path).stdout
    assert "| Secret redaction | on |" in out and "Warning: secret redaction" not in out
