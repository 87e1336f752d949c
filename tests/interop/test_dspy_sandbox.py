"""``dspy.RLM`` running the model's code in repo_auditor's sandbox through ``DspyInterpreter``, offline.

Every run is a real ``dspy.RLM`` with a dspy LM pointed at the fake OpenAI server and a real Deno + Pyodide process.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from repo_auditor.sandbox.dspy_compat import DspyInterpreter
from repo_auditor.tools import RepoTools
from tests.interop.conftest import DSPY_MISSING, code_reply

dspy = pytest.importorskip("dspy", reason=DSPY_MISSING)


class Factory:
    """``interpreter_factory`` that remembers what it made, so a test can look at the interpreter after the run."""

    execution_instructions = DspyInterpreter.execution_instructions  # dspy reads it from the factory

    def __init__(self) -> None:
        self.made: list[DspyInterpreter] = []

    def __call__(self) -> DspyInterpreter:
        interpreter = DspyInterpreter(timeout=30)
        self.made.append(interpreter)
        return interpreter


def run(tools: RepoTools, lm, *, question: str = "q", factory=None, signature: str = "question -> answer"):
    rlm = dspy.RLM(signature, tools=tools.as_list(), interpreter_factory=factory or Factory(), max_iters=4)
    with dspy.context(lm=lm):
        return rlm(question=question)


def test_tools_called_positionally_in_the_sandbox_feed_the_next_request(runtime_ready, repo_tools, openai_server,
                                                                        dspy_lm) -> None:
    openai_server.enqueue(
        code_reply("Where is the timeout used?", "print(grep('TIMEOUT_SECONDS', 'app', '*.py', context=1))"),
        code_reply("Read the method.", "print(read_file('app/server.py', 5, 6))\nprint(symbols('app/server.py'))"),
        code_reply("Done.", "SUBMIT('Server.handle waits TIMEOUT_SECONDS (app/server.py:6)')"),
    )
    factory = Factory()

    result = run(repo_tools, dspy_lm, question="Where is the timeout used?", factory=factory)

    assert result.answer == "Server.handle waits TIMEOUT_SECONDS (app/server.py:6)"
    requests = openai_server.chat_requests
    assert len(requests) == 3 and openai_server.remaining == 0
    assert "app/server.py:6:         return request.wait(TIMEOUT_SECONDS)" in requests[1].body["messages"][-1]["content"]
    second = result.trajectory[1]["output"]
    assert second.startswith("app/server.py | lines 5-6 of 10 | python\n"
                             "5 |     def handle(self, request):\n"
                             "6 |         return request.wait(TIMEOUT_SECONDS)\n")
    assert [line.split()[1:] for line in second.splitlines()[-3:]] == [
        ["class", "Server"], ["method", "Server.handle"], ["function", "start"]]
    assert second in requests[2].body["messages"][-1]["content"]
    assert [(s.pattern, s.path, s.glob) for s in repo_tools.usage.searches] == [("TIMEOUT_SECONDS", "app", "*.py")]
    assert [(r.path, r.start, r.end) for r in repo_tools.usage.reads] == [("app/server.py", 5, 6)]
    assert factory.made[0].pid is None  # dspy shut the interpreter down, and with it the Deno process
    assert DspyInterpreter.execution_instructions in requests[0].body["messages"][0]["content"]


def test_the_models_errors_come_back_as_observations(runtime_ready, repo_tools, openai_server, dspy_lm) -> None:
    openai_server.enqueue(
        code_reply("A typo.", "print(read_file('app/confg.py'))"),
        code_reply("Broken code.", "def f(:\n    pass"),
        code_reply("Too many values.", "SUBMIT('a', 'b')"),
        code_reply("Fine.", "x = read_file('app/config.py', 1, 1)\nSUBMIT(answer=x.splitlines()[1])"),
    )

    result = run(repo_tools, dspy_lm)

    assert result.answer == "1 | DEBUG = True"
    typo, syntax, too_many = (step["output"] for step in result.trajectory[:3])
    assert typo.startswith("[Error] ") and "FileNotInRepositoryError" in typo and "app/config.py" in typo
    assert syntax.startswith("[Error] ") and "SyntaxError" in syntax
    assert too_many == ("[Error] SUBMIT takes at most 1 positional values (answer), got 2; pass them by name, "
                        "e.g. SUBMIT(answer=...)")


def test_state_persists_and_inputs_are_variables(runtime_ready, repo_tools, openai_server, dspy_lm) -> None:
    openai_server.enqueue(
        code_reply("Keep a note.", "seen = [question.upper()]\nprint(len(seen))"),
        code_reply("Use it.", "SUBMIT(seen[0], len(grep('def ', glob='*.py').splitlines()) - 1)"),
    )

    result = run(repo_tools, dspy_lm, question="how many functions?", signature="question -> answer, count: int")

    assert (result.answer, result.count) == ("HOW MANY FUNCTIONS?", 2)
    assert result.trajectory[0]["output"] == "1"


def test_the_sandbox_has_no_host_file_system(runtime_ready, repo_path) -> None:
    """The model reaches the repository through the tools only: the checkout is not visible inside."""
    with DspyInterpreter(timeout=30) as interpreter:
        output = interpreter.execute(f"import os\nprint(os.path.exists({str(repo_path)!r}))")

    assert output == "False"


def test_factory_passes_options_and_tells_dspy_about_the_runtime(runtime_ready, repo_tools, openai_server,
                                                                dspy_lm) -> None:
    openai_server.enqueue(code_reply("Spin.", "while True:\n    pass"), code_reply("Stop.", "SUBMIT(answer='slow')"))

    result = run(repo_tools, dspy_lm, factory=DspyInterpreter.factory(timeout=1, grace=1))

    assert result.answer == "slow"
    assert "TimeoutError" in result.trajectory[0]["output"]
    assert DspyInterpreter.execution_instructions in openai_server.chat_requests[0].body["messages"][0]["content"]


def test_without_dspy_output_fields_submit_needs_names(runtime_ready) -> None:
    with DspyInterpreter(timeout=30) as interpreter:
        final = interpreter.execute("SUBMIT(answer=42)")
        with pytest.raises(dspy.CodeInterpreterError, match="no output fields are known"):
            interpreter.execute("SUBMIT(42)")

    assert final == dspy.primitives.code_interpreter.FinalOutput({"answer": 42})


def test_positional_values_reach_keyword_only_tools_by_name(runtime_ready) -> None:
    """dspy.RLM hands interpreters ``invoke(**kwargs)`` wrappers; positional calls inside must still work."""
    calls = []

    def lookup(path: str, start_line: int = 1, **options) -> str:
        calls.append((path, start_line, options))
        return "ok"

    def keyword_only(**kwargs):  # what dspy.RLM registers, carrying the tool's signature
        return lookup(**kwargs)

    keyword_only.__signature__ = inspect.signature(lookup)  # type: ignore[attr-defined]
    with DspyInterpreter(tools={"lookup": keyword_only}, timeout=30) as interpreter:
        assert interpreter.execute("print(lookup('a.py', 3, mode='x'))") == "ok"

    assert calls == [("a.py", 3, {"mode": "x"})]


def test_importing_the_adapter_does_not_import_dspy() -> None:
    code = "import sys, repo_auditor.sandbox.dspy_compat; print('dspy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)

    assert done.stdout.strip() == "False"
