"""Host tools inside the sandbox: signatures, every argument form, values both ways, host exceptions."""

from __future__ import annotations

import pytest

from repo_auditor.sandbox import DenoInterpreter


def value_of(interp: DenoInterpreter, code: str) -> str:
    result = interp.execute(code)
    assert result.error is None, result.error
    assert result.value is not None
    return result.value


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("read_file('a.py')", "{'path': 'a.py', 'start': 1, 'end': None, 'encoding': 'utf-8'}"),
        ("read_file('a.py', 3, 9)", "{'path': 'a.py', 'start': 3, 'end': 9, 'encoding': 'utf-8'}"),
        ("read_file(path='b.py', end=4)", "{'path': 'b.py', 'start': 1, 'end': 4, 'encoding': 'utf-8'}"),
        ("read_file('c.py', encoding='latin-1')", "{'path': 'c.py', 'start': 1, 'end': None, 'encoding': 'latin-1'}"),
        ("echo(1, [2, {'k': (3, 4)}], x={'n': [None, True, 1.5]})",
         "{'args': [1, [2, {'k': [3, 4]}]], 'kwargs': {'x': {'n': [None, True, 1.5]}}}"),
        ("echo('ünïcödé ✓', '\\x00')", "{'args': ['ünïcödé ✓', '\\x00'], 'kwargs': {}}"),
    ],
)
def test_tool_arguments_arrive_as_passed(interp: DenoInterpreter, call: str, expected: str) -> None:
    assert value_of(interp, call) == expected


def test_tool_has_host_signature_and_docstring(interp: DenoInterpreter) -> None:
    result = interp.execute("import inspect\nprint(inspect.signature(read_file))")
    assert result.output == (
        "(path: str, start: int = 1, end: int | None = None, *, encoding: str = 'utf-8') -> dict[str, Any]\n")
    result = interp.execute("help(read_file)")
    assert "read_file(" in result.output
    assert "Read ``path`` from line ``start`` to ``end``" in result.output


def test_wrong_call_fails_inside_with_python_type_error(interp: DenoInterpreter) -> None:
    result = interp.execute("read_file('a.py', 1, 2, 3)")
    assert result.error_type == "TypeError"
    assert "too many positional arguments" in result.error
    result = interp.execute("read_file('a.py', 'x', encoding='x', bogus=1)")
    assert result.error_type == "TypeError"
    assert "bogus" in result.error


def test_host_exception_keeps_name_and_message_and_is_catchable(interp: DenoInterpreter) -> None:
    code = (
        "try:\n"
        "    read_file('missing.py')\n"
        "except Exception as exc:\n"
        "    caught = (type(exc).__name__, str(exc))\n"
        "caught"
    )
    assert value_of(interp, code) == "('FileNotInRepositoryError', 'no file missing.py; did you mean mising.py?')"
    uncaught = interp.execute("x_after_error = 1\nread_file('missing.py')")
    assert uncaught.error_type == "FileNotInRepositoryError"
    assert uncaught.error.endswith("FileNotInRepositoryError: no file missing.py; did you mean mising.py?")
    assert '<cell' in uncaught.error and "line 2" in uncaught.error
    assert value_of(interp, "x_after_error + 1") == "2"  # the session is still usable


def test_builtin_host_exception_arrives_as_the_builtin(interp: DenoInterpreter) -> None:
    code = "try:\n    fail_value('bad input')\nexcept ValueError as exc:\n    got = str(exc)\ngot"
    assert value_of(interp, code) == "'bad input'"


def test_tool_results_that_json_cannot_carry_are_converted(interp: DenoInterpreter) -> None:
    code = ("v = odd_values()\n"
            "(v['set'], v['tuple'], v['big'] == 2**200, v['nan'] != v['nan'], v['obj'][:8], v['5'], v['bytes'])")
    assert value_of(interp, code) == "([1, 2, 3], [1, 'a'], True, True, '<object ', 'int key', 'café')"


def test_unconvertible_arguments_do_not_break_the_call(interp: DenoInterpreter) -> None:
    code = "class Thing:\n    def __repr__(self):\n        return 'Thing()'\necho({2, 1}, Thing(), 2**200, b'hi')"
    assert value_of(interp, code) == f"{{'args': [[1, 2], 'Thing()', {2**200}, 'hi'], 'kwargs': {{}}}}"


def test_tool_registered_after_start(interp: DenoInterpreter) -> None:
    def late_tool(n: int = 2) -> int:
        """Double n."""
        return n * 2

    interp.register_tool("late_tool", late_tool)
    assert value_of(interp, "late_tool(21), late_tool()") == "(42, 4)"


def test_loop_of_tool_calls_in_one_cell(interp: DenoInterpreter) -> None:
    assert value_of(interp, "sum(echo(i)['args'][0] for i in range(300))") == str(sum(range(300)))


def test_tool_that_registers_a_tool_and_sets_a_variable(interp: DenoInterpreter) -> None:
    def install() -> str:
        """Register another tool while the model's code is running."""
        interp.register_tool("installed_later", lambda: "hello")
        interp.set_variables({"set_later": [1]})
        return "ok"

    interp.register_tool("install", install)
    assert value_of(interp, "install()") == "'ok'"
    assert value_of(interp, "installed_later(), set_later") == "('hello', [1])"
