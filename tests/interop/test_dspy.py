"""The repository tools used from dspy: ``dspy.RLM("question -> answer", tools=RepoTools(repo).as_list())``.

Two things are checked. First, dspy turns each function from ``as_list()`` into a ``dspy.Tool`` with the right name,
argument schema and description, and calling that Tool reaches the real repository. Second, a whole ``dspy.RLM`` run
against the fake OpenAI server: the scripted model calls grep and read_file, their real output goes back to the model
in the next request, and SUBMIT ends the run. These runs use dspy's own ``LocalInterpreter`` (a local CPython worker,
not a sandbox, that needs no network; dspy's default ``PythonInterpreter`` fetches Pyodide and a Deno library from the
internet). ``test_dspy_sandbox.py`` runs the same through repo_auditor's sandbox (``DspyInterpreter``).

With ``LocalInterpreter`` the model must call tools by keyword: the worker forwards positional values as they are,
and dspy.RLM wraps every tool as ``invoke(**kwargs)`` ("takes 0 positional arguments"). The scripts below do.
"""

from __future__ import annotations

import inspect

import pytest

from repo_auditor.tools import TOOL_NAMES, RepoTools
from tests.interop.conftest import CONFIG_PY, DSPY_MISSING, code_reply

dspy = pytest.importorskip("dspy", reason=DSPY_MISSING)
LocalInterpreter = dspy.LocalInterpreter

NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}

# The JSON schema dspy derives for each argument, in signature order: this is what a dspy model is shown.
EXPECTED_ARGS = {
    "read_file": {
        "path": {"type": "string"},
        "start_line": {"type": "integer", "default": 1},
        "end_line": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
    },
    "grep": {
        "pattern": {"type": "string"},
        "path": {"type": "string", "default": "."},
        "glob": NULLABLE_STRING,
        "ignore_case": {"type": "boolean", "default": False},
        "fixed_strings": {"type": "boolean", "default": False},
        "context": {"type": "integer", "default": 0},
        "max_results": {"type": "integer", "default": 100},
    },
    "symbols": {"path": NULLABLE_STRING, "name": NULLABLE_STRING, "kind": NULLABLE_STRING},
}

EXPECTED_TYPES = {
    "read_file": {"path": str, "start_line": int, "end_line": int | None},
    "grep": {"pattern": str, "path": str, "glob": str | None, "ignore_case": bool, "fixed_strings": bool,
             "context": int, "max_results": int},
    "symbols": {"path": str | None, "name": str | None, "kind": str | None},
}

FIRST_DOC_LINES = {
    "read_file": "Read one file of the repository, with line numbers.",
    "grep": "Search the repository's text files for a regular expression (ripgrep), one line at a time.",
    "symbols": "List where things are defined (functions, classes, methods, ...), parsed with tree-sitter.",
}


# -- the tools as dspy.Tool --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_dspy_tool_takes_name_arguments_and_description_from_the_function(repo_tools: RepoTools, name: str) -> None:
    tool = dspy.Tool(repo_tools.as_dict()[name])

    assert tool.name == name
    assert tool.args == EXPECTED_ARGS[name]
    assert list(tool.args) == list(EXPECTED_ARGS[name])  # the order the prompt lists them in
    assert tool.arg_types == EXPECTED_TYPES[name]
    assert tool.has_kwargs is False
    assert tool.desc == inspect.getdoc(getattr(RepoTools, name))
    assert tool.desc.splitlines()[0] == FIRST_DOC_LINES[name]
    assert "Args:" in tool.desc and "Examples:" in tool.desc


def test_the_module_level_tools_convert_the_same_way(repo_tools: RepoTools) -> None:
    """``from repo_auditor.tools import grep`` works on the current directory's repository; dspy sees the same."""
    from repo_auditor import tools as module

    for name in TOOL_NAMES:
        converted = dspy.Tool(getattr(module, name))
        bound = dspy.Tool(repo_tools.as_dict()[name])
        assert (converted.name, converted.args) == (bound.name, bound.args)
        # The module-level functions carry the method's raw (indented) docstring, the bound ones the cleaned one.
        assert converted.desc == bound.desc
        assert converted.arg_types == bound.arg_types == EXPECTED_TYPES[name]


def test_calling_the_converted_tools_reads_the_repository(repo_tools: RepoTools) -> None:
    read_file, grep, symbols = (dspy.Tool(f) for f in repo_tools.as_list())

    assert read_file(path="app/config.py", start_line=2, end_line=3).splitlines() == [
        "app/config.py | lines 2-3 of 3 | python",
        "2 | SECRET_NAME = 'session'",
        "3 | TIMEOUT_SECONDS = 30",
    ]
    assert grep(pattern="TIMEOUT_SECONDS", glob="*.py").splitlines() == [
        "3 matching lines in 2 files",
        "app/config.py:3: TIMEOUT_SECONDS = 30",
        "app/server.py:1: from app.config import TIMEOUT_SECONDS",
        "app/server.py:6:         return request.wait(TIMEOUT_SECONDS)",
    ]
    found = symbols(path="app/server.py")
    assert [line.split()[1:] for line in found.splitlines()] == [
        ["class", "Server"], ["method", "Server.handle"], ["function", "start"]]
    assert found.splitlines()[0].startswith("app/server.py:4-6 ")
    assert [(r.path, r.start, r.end) for r in repo_tools.usage.reads] == [("app/config.py", 2, 3)]
    assert [(s.pattern, s.matches, s.files) for s in repo_tools.usage.searches] == [("TIMEOUT_SECONDS", 3, 2)]


def test_dspy_checks_argument_types_before_the_tool_runs(repo_tools: RepoTools) -> None:
    read_file = dspy.Tool(repo_tools.as_dict()["read_file"])

    with pytest.raises(ValueError, match="start_line"):
        read_file(path="app/config.py", start_line="two")
    with pytest.raises(ValueError, match="not in the tool's args"):
        read_file(path="app/config.py", first_line=2)
    assert repo_tools.usage.reads == []


def test_rlm_lists_the_tools_with_their_signatures_in_its_instructions(repo_tools: RepoTools) -> None:
    rlm = dspy.RLM("question -> answer", tools=repo_tools.as_list(), interpreter_factory=LocalInterpreter)

    assert list(rlm.tools) == list(TOOL_NAMES)
    instructions = rlm.generate_action.signature.instructions
    assert "- `read_file(path: string, start_line: integer, end_line: Any)` - Read one file" in instructions
    assert "- `grep(pattern: string, path: string, glob: Any, ignore_case: boolean, fixed_strings: boolean, " \
           "context: integer, max_results: integer)` - Search the repository's" in instructions
    assert "- `symbols(path: Any, name: Any, kind: Any)` - List where things are defined" in instructions


# -- a whole dspy.RLM run ----------------------------------------------------------------------------------------


def test_dspy_rlm_explores_the_repository_with_the_tools_and_submits(repo_tools, openai_server, dspy_lm) -> None:
    openai_server.enqueue(
        code_reply("Find where the timeout is set.",
                   "hits = grep(pattern='TIMEOUT_SECONDS =', glob='*.py')\nprint(hits)"),
        code_reply("Read the file that sets it.",
                   "print(read_file(path=hits.splitlines()[1].split(':')[0]))"),
        code_reply("The value is on line 3.", "SUBMIT(answer='30 seconds, set at app/config.py:3')"),
    )
    rlm = dspy.RLM("question -> answer", tools=repo_tools.as_list(), interpreter_factory=LocalInterpreter,
                   max_iters=4)

    with dspy.context(lm=dspy_lm):
        result = rlm(question="How long is the request timeout?")

    assert result.answer == "30 seconds, set at app/config.py:3"
    assert openai_server.remaining == 0
    requests = openai_server.chat_requests
    assert len(requests) == 3
    history_2 = requests[1].body["messages"][-1]["content"]
    history_3 = requests[2].body["messages"][-1]["content"]
    grep_output = "1 matching line in 1 file\napp/config.py:3: TIMEOUT_SECONDS = 30"
    assert grep_output in history_2
    numbered = "app/config.py | lines 1-3 of 3 | python\n" + "".join(
        f"{n} | {line}\n" for n, line in enumerate(CONFIG_PY.splitlines(), start=1))
    assert numbered.rstrip("\n") in history_3
    assert [step["output"] for step in result.trajectory[:2]] == [grep_output, numbered.rstrip("\n")]
    assert [(r.path, r.start, r.end) for r in repo_tools.usage.reads] == [("app/config.py", 1, 3)]


def test_a_failing_tool_call_is_shown_to_the_model_which_can_recover(repo_tools, openai_server, dspy_lm) -> None:
    """A wrong path is the model's mistake: the ToolError (with its suggestion) comes back as the step's output."""
    openai_server.enqueue(
        code_reply("Read the settings.", "print(read_file(path='app/settings.py'))"),
        code_reply("Use the suggested file.", "print(read_file(path='app/config.py', start_line=1, end_line=1))"),
        code_reply("Found it.", "SUBMIT(answer='DEBUG is True')"),
    )
    rlm = dspy.RLM("question -> answer", tools=repo_tools.as_list(), interpreter_factory=LocalInterpreter,
                   max_iters=4)

    with dspy.context(lm=dspy_lm):
        result = rlm(question="Is debug mode on?")

    assert result.answer == "DEBUG is True"
    first_output = result.trajectory[0]["output"]
    assert first_output.startswith("[Error]")
    assert "app/settings.py" in first_output
    assert "app/config.py" in first_output  # the "Did you mean" suggestion reached the model
    assert first_output in openai_server.chat_requests[1].body["messages"][-1]["content"]
    assert result.trajectory[1]["output"] == "app/config.py | lines 1-1 of 3 | python\n1 | DEBUG = True"
