"""The RLM loop end to end with the real sandbox (Deno + Pyodide) and a scripted model."""

from __future__ import annotations

import os
import signal

import pytest

import repo_auditor.rlm.settings as ra_settings
from repo_auditor.errors import FileNotInRepositoryError
from repo_auditor.rlm import RLM
from repo_auditor.sandbox import DenoInterpreter, ensure_runtime
from tests.support.scripted_lm import ScriptedLM, code_reply


def read_file(path: str, start: int = 1) -> str:
    """Return the text of ``path`` from line ``start``."""
    if path == "missing.py":
        raise FileNotInRepositoryError("no file missing.py; did you mean mising.py?", path=path)
    return f"# {path}\nprint('hello from {path}')\n"


@pytest.fixture(scope="module")
def runtime_ready() -> None:
    ensure_runtime(fetch=True)  # fetches Pyodide from the npm registry once per machine (into the user cache)


@pytest.fixture(scope="module")
def deno(runtime_ready):
    with DenoInterpreter(timeout=30) as interpreter:
        yield interpreter


def huge_log(lines: int = 40_000) -> str:
    kinds = ["TimeoutError: upstream", "KeyError: 'user'", "ValueError: bad date", "INFO ok"]
    return "\n".join(f"2026-01-01 12:00:{i % 60:02d} {kinds[i % 7 % 4]} #{i}" for i in range(lines))


def test_done_when_program_with_default_sandbox(runtime_ready):
    """The issue's program, with only the import changed and the models scripted."""
    explore = """
    import re
    classes = sorted(set(re.findall(r" (\\w+Error):", context)))
    print(len(context), classes)
    """
    summarize = """
    notes = llm_query_batched([f"Explain {c} in five words" for c in classes])
    for c, n in zip(classes, notes):
        print(c, '->', n)
    """
    root = ScriptedLM([code_reply(explore), code_reply(summarize),
                       code_reply("SUBMIT(answer='; '.join(f'{c}: {n}' for c, n in zip(classes, notes)))")])
    sub_lm = ScriptedLM(["a call took too long"] * 3, model="scripted/mini")
    ra_settings.configure(lm=root)
    rlm = RLM("context, query -> answer", max_iterations=20, max_llm_calls=50, max_output_chars=10_000,
              sub_lm=sub_lm, tools=[], verbose=False)
    log = huge_log()
    result = rlm(context=log, query="Summarize every unique error class ...")
    assert result.answer == ("KeyError: a call took too long; TimeoutError: a call took too long; "
                             "ValueError: a call took too long")
    assert result.finished_by == "submit" and result.iterations == 3 and result.sub_calls == 3
    assert result.trajectory[0].output.startswith(f"{len(log)} ['KeyError', 'TimeoutError', 'ValueError']")
    assert "Explain KeyError in five words" in [r[-1]["content"] for r in sub_lm.requests]
    assert len(root.requests[0][1]["content"]) < 3000  # the 1.5 MB log never enters the prompt


def test_tools_errors_truncation_and_submit_retry(deno):
    replies = [
        code_reply("print(read_file('a.py'))\nprint(read_file('missing.py'))"),
        code_reply("print('x' * 50_000)"),
        code_reply("SUBMIT(answer=['not', 'a', 'str'], count=2)"),
        code_reply("SUBMIT('fine', '3')"),
    ]
    lm = ScriptedLM(replies)
    rlm = RLM("context -> answer: str, count: int", lm=lm, tools=[read_file], interpreter=deno,
              max_output_chars=2_000)
    result = rlm(context="c")
    assert (result.answer, result.count, result.iterations) == ("fine", 3, 4)
    first = result.trajectory[0].output
    assert "print('hello from a.py')" in first
    assert "FileNotInRepositoryError" in first and "did you mean mising.py?" in first
    assert len(result.trajectory[1].output) <= 2_300 and "omitted" in result.trajectory[1].output
    assert "answer must be str, got list" in result.trajectory[2].output
    assert "read_file(path: str, start: int = 1) -> str" in lm.requests[0][0]["content"]


def test_sub_call_budget_refusal_is_catchable_in_the_sandbox(deno):
    code = """
    print(llm_query('one'))
    try:
        llm_query_batched(['a', 'b'])
    except Exception as exc:
        print('caught', type(exc).__name__)
        print(exc)
    """
    lm = ScriptedLM([code_reply(code), code_reply("SUBMIT(answer='ok')")])
    rlm = RLM("context -> answer", lm=lm, sub_lm=ScriptedLM(["1"]), interpreter=deno, max_llm_calls=1)
    result = rlm(context="c")
    out = result.trajectory[0].output
    assert out.startswith("1\ncaught BudgetExceededError")
    assert "all 1 sub-calls of this run are used" in out and result.answer == "ok"


def test_killed_sandbox_restarts_and_model_is_told(deno):
    def kill_then_use(messages):
        os.kill(deno.pid, signal.SIGKILL)  # the Deno process this test's fixture started
        return code_reply("print(secret)")

    lm = ScriptedLM([code_reply("secret = 41"), kill_then_use, code_reply("SUBMIT(answer=str(len(context)))")])
    rlm = RLM("context -> answer", lm=lm, interpreter=deno)
    result = rlm(context="abcd")
    step = result.trajectory[1]
    assert step.state_lost is True
    assert "SandboxCrashedError" in step.output and "variables and imports from earlier steps are gone" in step.output
    assert result.answer == "4"  # inputs were injected again after the restart


def test_model_code_cannot_reach_host_files(deno):
    code = """
    try:
        open('/etc/hostname').read()
        print('READ HOST FILE')
    except Exception as exc:
        print('blocked', type(exc).__name__)
    """
    lm = ScriptedLM([code_reply(code), code_reply("SUBMIT(answer='ok')")])
    result = RLM("context -> answer", lm=lm, interpreter=deno)(context="c")
    assert "READ HOST FILE" not in result.trajectory[0].output
