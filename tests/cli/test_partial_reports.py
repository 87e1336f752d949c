"""Once a model has been paid, an audit always ends with a report: a failing provider, a failing synthesis or extract
step, a budget, ``--max-time`` and Ctrl-C each leave the work done so far, marked partial (exit 4, or 130 on Ctrl-C).
And what can be checked before paying is checked first, without importing litellm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jsonschema

from repo_auditor.findings import report_schema
from tests.cli.conftest import QUESTION
from tests.cli.test_audit_cli import audit, one_line_error, submit_reply
from tests.gitrepo import GitRepo
from tests.support.interrupt import interrupt_mid_request
from tests.support.openai_server import Fault, Reply
from tests.support.scripted_lm import code_reply

GREP = code_reply('print(grep("execute\\\\(", glob="*.py"))', "Find the queries.")
READ = code_reply('print(read_file("app/db.py", start_line=8, end_line=10))', "Read the function.")
REJECTED = Fault(400, {"error": {"message": "context length exceeded", "type": "invalid_request_error"}})


def partial_json(result) -> dict:
    data = json.loads(result.stdout)
    jsonschema.Draft202012Validator(report_schema()).validate(data)
    assert data["partial"] is True
    return data


def last_stderr_line(result) -> str:
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_a_provider_failing_from_turn_3_on_leaves_a_partial_report(runner, server, shop, tmp_path):
    server.enqueue(GREP, READ, *[Fault.server_error()] * 4)  # the third turn fails on every retry
    trace = tmp_path / "run.jsonl"
    result = audit(runner, server, shop.path, "--format", "json", "--trace", str(trace))
    assert result.exit_code == 4, result.stderr
    data = partial_json(result)
    assert data["stopped"]["reason"] == "error"
    assert "provider failing after 4 attempts" in data["stopped"]["detail"]
    assert data["stopped"]["trace"] == str(trace)
    assert data["coverage"]["files_read"] == {"app/db.py": 3} and data["coverage"]["searches"] == 1
    assert [step["iteration"] for step in data["trajectory"]] == [1, 2]
    notice = last_stderr_line(result)
    assert notice.startswith("partial report: the run stopped early (error:") and str(trace) in notice
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    errors = [e for e in events if e["kind"] == "run_error"]
    assert len(errors) == 1 and "LMConnectionError" in errors[0]["error"]


def test_markdown_of_a_partial_report_says_so_at_the_top(runner, server, shop):
    server.enqueue(GREP, REJECTED)
    result = audit(runner, server, shop.path)
    assert result.exit_code == 4, result.stderr
    head = " ".join(result.stdout.split("## Answer")[0].split())
    assert "Partial report: the run stopped early (error)" in head and "context length exceeded" in head


def test_a_failing_synthesis_keeps_the_explorers_answer_and_exits_0(runner, server, shop):
    server.enqueue(GREP, submit_reply(), REJECTED)
    result = audit(runner, server, shop.path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["partial"] is False and data["stopped"] is None
    assert data["answer"].startswith("`find_user` formats the name into SQL")  # the explorer's words
    assert data["summary"]["verified"] == 1
    assert any(note.startswith("synthesis failed (") for note in data["notes"])


def test_an_unusable_extract_reply_after_the_budget_leaves_a_partial_report(runner, server, shop):
    server.enqueue(GREP, "I would rather not answer in JSON.")
    result = audit(runner, server, shop.path, "--max-iterations", "1", "--format", "json")
    assert result.exit_code == 4, result.stderr
    data = partial_json(result)
    assert data["stopped"]["reason"] == "max_iterations" and "extract step" in data["stopped"]["detail"]
    assert data["coverage"]["searches"] == 1


def test_a_failing_extract_call_leaves_a_partial_report(runner, server, shop):
    server.enqueue(GREP, REJECTED)
    result = audit(runner, server, shop.path, "--max-iterations", "1", "--format", "json")
    assert result.exit_code == 4, result.stderr
    assert partial_json(result)["stopped"]["reason"] == "error"


def test_an_empty_choices_reply_mid_run_is_retried(runner, server, shop):
    server.enqueue(GREP, Fault.empty_choices(), submit_reply(), REJECTED)
    result = audit(runner, server, shop.path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["verified"] == 1
    assert len(server.chat_requests) == 4


def test_max_time_bounds_a_model_call_in_flight(runner, server, shop):
    hung = Reply(READ, delay=120)  # a provider that never answers in time
    server.enqueue(GREP, hung, '{"answer": "Out of time: find_user looked suspicious.", "findings": []}')
    started = time.monotonic()
    result = audit(runner, server, shop.path, "--max-time", "20", "--format", "json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 4, result.stderr
    data = partial_json(result)
    assert data["stopped"]["reason"] == "max_time"
    assert data["answer"] == "Out of time: find_user looked suspicious."  # the extract step ran in the reserve
    assert elapsed < 20 + 40, elapsed  # the hung call (120 s) was abandoned (room for CLI start-up under load)


def test_ctrl_c_after_paying_writes_the_partial_report_and_exits_130(server, shop):
    server.enqueue(GREP, Reply(READ, delay=120))
    code, out, err = interrupt_mid_request(server, [str(shop.path), QUESTION, "--model", "openai/x", "--api-base",
                                                     server.url, "--format", "json"])
    assert code == 130, err
    data = json.loads(out)
    assert data["partial"] is True and data["stopped"]["reason"] == "interrupted"
    assert data["coverage"]["searches"] == 1
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("partial report:")


# ------------------------------------------------------------------------------------- checked before paying


def test_a_missing_output_folder_fails_before_any_request(runner, server, shop, tmp_path):
    result = audit(runner, server, shop.path, "--output", str(tmp_path / "missing" / "report.md"))
    assert result.exit_code == 1
    assert "folder" in one_line_error(result) and "missing" in one_line_error(result)
    assert server.requests == []


def test_a_broken_template_folder_fails_before_any_request(runner, server, shop, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "audit.md.j2").write_text("{{ headline }} {{ no_such_value }}\n")
    result = audit(runner, server, shop.path, "--template-dir", str(tmp_path / "templates"))
    assert result.exit_code == 1
    assert "no_such_value" in one_line_error(result)
    assert server.requests == []


def test_a_repository_without_files_fails_before_any_request(runner, server, tmp_path):
    empty = GitRepo.init(tmp_path / "empty")
    result = audit(runner, server, empty.path)
    assert result.exit_code == 1
    assert "has no files to audit" in one_line_error(result)
    assert server.requests == []


def test_a_missing_key_fails_in_well_under_a_second_without_litellm(shop, tmp_path):
    script = (
        "import sys, time\n"
        "from repo_auditor.cli import main\n"
        "t0 = time.monotonic()\n"
        "try:\n"
        f"    main([{str(shop.path)!r}, 'q', '--model', 'anthropic/claude-sonnet-4-5'], standalone_mode=False)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "print('litellm' in sys.modules, round(time.monotonic() - t0, 2))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    error, modules = done.stdout.strip().splitlines()
    assert "ANTHROPIC_API_KEY" in error
    imported, seconds = modules.split()
    assert imported == "False"  # the failure did not pay for litellm's multi-second import
    assert float(seconds) < 5  # generous on a loaded machine; typically ~0.1 s


def test_a_partial_report_is_not_written_before_anything_was_paid(runner, server, shop):
    server.enqueue(REJECTED)  # the very first call fails: there is no work to keep
    result = audit(runner, server, shop.path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "openai/x" in one_line_error(result)



def test_the_console_script_exits_without_the_final_garbage_collection():
    """``audit-repo`` is ``run``: after the command, every object is frozen, so the interpreter's last collection
    (seconds of litellm's objects on a busy machine, also after a Ctrl-C) is skipped."""
    from importlib.metadata import entry_points

    [script] = [e for e in entry_points(group="console_scripts") if e.name == "audit-repo"]
    assert script.value == "repo_auditor.cli:run"
    probe = ("import atexit, gc\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
             "from repo_auditor.cli import run\nrun()\n")
    done = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "audit-repo" in done.stdout and "frozen True" in done.stdout
