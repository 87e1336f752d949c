"""What one execute returns: output order, trailing values, errors, caps, SUBMIT, persistence, big variables."""

from __future__ import annotations

import hashlib

from repo_auditor.sandbox import DenoInterpreter, SubmitCall


def test_state_persists_across_executes(interp: DenoInterpreter) -> None:
    interp.execute("import json\npersist_a = {'k': [1, 2]}\ndef persist_f(x):\n    return x * 3")
    result = interp.execute("persist_f(len(persist_a['k'])), json.dumps(persist_a)")
    assert result.value == "(6, '{\"k\": [1, 2]}')"


def test_input_variables_are_available(interp: DenoInterpreter) -> None:
    assert interp.execute("context, meta['files']").value == "('the context', 3)"


def test_trailing_expression_value_and_prior_prints(interp: DenoInterpreter) -> None:
    result = interp.execute("print('first')\nvalue_x = 20\nvalue_x + 22")
    assert result.output == "first\n"
    assert result.value == "42"
    assert result.error is None


def test_trailing_none_and_statements_give_no_value(interp: DenoInterpreter) -> None:
    assert interp.execute("print('x')").value is None
    assert interp.execute("unused_y = 5").value is None


def test_stdout_and_stderr_interleave_in_order(interp: DenoInterpreter) -> None:
    code = ("import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\n"
            "sys.stdout.write('out 2\\n')\nsys.stderr.write('err 2\\n')")
    assert interp.execute(code).output == "out 1\nerr 1\nout 2\nerr 2\n"


def test_syntax_error_says_what_and_where(interp: DenoInterpreter) -> None:
    result = interp.execute("a = 1\nb = (2,\nprint(a)")
    assert result.error_type == "SyntaxError"
    assert 'File "<cell ' in result.error and "line 2" in result.error
    assert "^" in result.error
    assert "never closed" in result.error


def test_runtime_error_traceback_points_at_model_lines_only(interp: DenoInterpreter) -> None:
    result = interp.execute("def tb_inner():\n    return {}['nope']\n\nprint('before')\ntb_inner()")
    assert result.output == "before\n"
    assert result.error_type == "KeyError"
    assert "line 5, in <module>" in result.error and "line 2, in tb_inner" in result.error
    assert "return {}['nope']" in result.error
    assert "repo_auditor" not in result.error and "_inside" not in result.error


def test_output_is_capped_with_a_visible_marker(interp: DenoInterpreter) -> None:
    result = interp.execute("print('HEAD' + 'x' * 50_000 + 'TAIL')")
    assert len(result.output) < interp.max_output_chars + 100
    assert result.output.startswith("HEADxxx")
    assert result.output.endswith("xxxTAIL\n")
    assert "characters omitted] ..." in result.output
    assert "[40,009 characters omitted]" in result.output


def test_capture_is_bounded_while_printing_a_lot(interp: DenoInterpreter) -> None:
    # ~200 MB of text printed in 4 KB writes: kept inside the sandbox it would blow the memory limit.
    result = interp.execute("chunk = 'y' * 4096\nfor _ in range(50_000):\n    print(chunk, end='')\nprint('END')")
    assert result.error is None
    assert not result.state_lost
    assert result.output.endswith("yyyEND\n")
    assert len(result.output) < interp.max_output_chars + 100


def test_submit_survives_except_exception_and_keeps_prior_output(interp: DenoInterpreter) -> None:
    code = (
        "print('working')\n"
        "try:\n"
        "    SUBMIT('answer', score=3, details={'files': ('a.py',)})\n"
        "except Exception:\n"
        "    print('swallowed')\n"
        "print('not reached')"
    )
    result = interp.execute(code)
    assert result.submit == SubmitCall(args=["answer"], kwargs={"score": 3, "details": {"files": ["a.py"]}})
    assert result.output == "working\n"
    assert result.error is None


def test_submit_caught_by_bare_except_is_still_recorded(interp: DenoInterpreter) -> None:
    code = "try:\n    SUBMIT(1)\nexcept:\n    print('caught')\nprint('continued')\nSUBMIT(2)"
    result = interp.execute(code)
    assert result.submit == SubmitCall(args=[1], kwargs={})  # the first call wins
    assert result.output == "caught\ncontinued\n"


def test_submit_values_json_cannot_carry_are_converted_and_noted(interp: DenoInterpreter) -> None:
    result = interp.execute("SUBMIT({3, 1}, (1, 2), big=2**200, nan=float('nan'), obj=object(), huge=10**5000)")
    assert result.submit is not None
    assert result.submit.args == [[1, 3], [1, 2]]
    assert result.submit.kwargs["big"] == 2**200
    assert result.submit.kwargs["nan"] != result.submit.kwargs["nan"]
    assert result.submit.kwargs["obj"].startswith("<object object at")
    assert result.submit.kwargs["huge"].startswith("<int with ")
    assert any("obj" in note and "repr" in note for note in result.notes)


def test_submit_state_does_not_leak_into_next_cell(interp: DenoInterpreter) -> None:
    interp.execute("SUBMIT('done')")
    assert interp.execute("1 + 1").submit is None


def test_ten_megabyte_variable(runtime_ready: None) -> None:
    big = ("0123456789abcdéf" * 700_000)[: 10 * 1024 * 1024]
    digest = hashlib.sha256(big.encode()).hexdigest()
    with DenoInterpreter() as interp:
        interp.start()
        interp.set_variables({"big": big})
        result = interp.execute("import hashlib\nlen(big), hashlib.sha256(big.encode()).hexdigest()")
    assert result.value == repr((len(big), digest))


def test_huge_error_message_is_capped(interp: DenoInterpreter) -> None:
    result = interp.execute("raise ValueError('E' * 1_000_000)")
    assert result.error_type == "ValueError"
    assert len(result.error) < interp.max_output_chars + 100
    assert "characters omitted" in result.error


def test_exception_with_broken_str_is_still_reported(interp: DenoInterpreter) -> None:
    code = "class Odd(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\nraise Odd()"
    result = interp.execute(code)
    assert result.error_type == "Odd"
    assert interp.execute("'alive'").value == "'alive'"


def test_many_conversion_notes_are_summarised(interp: DenoInterpreter) -> None:
    result = interp.execute("SUBMIT([object() for _ in range(500)])")
    assert result.submit is not None and len(result.submit.args[0]) == 500
    assert len(result.notes) == 21
    assert "480 more" in result.notes[-1]
