"""The RLM loop with a scripted model and the in-process FakeInterpreter: constructor, calls, SUBMIT, extract."""

from __future__ import annotations

import asyncio
import time

import pytest

import repo_auditor
from repo_auditor.errors import BudgetExceededError, ConfigurationError, LMConnectionError
from repo_auditor.rlm import RLM, settings
from repo_auditor.rlm.signature import InputField, OutputField
from tests.rlm.fakes import FakeInterpreter
from tests.support.scripted_lm import ScriptedLM, ScriptedReply, code_reply


def make(replies, sig="context, query -> answer", **kwargs):
    lm = ScriptedLM(replies)
    interp = kwargs.pop("interpreter", None) or FakeInterpreter()
    return RLM(sig, lm=lm, interpreter=interp, **kwargs), lm, interp


# ------------------------------------------------------------------------------------------------ constructor


def test_defaults_match_dspy():
    rlm = RLM("a -> b", interpreter=FakeInterpreter())
    assert (rlm.max_iterations, rlm.max_llm_calls, rlm.max_output_chars, rlm.verbose) == (20, 50, 10_000, False)
    assert rlm.tools == {} and rlm.sub_lm is None


def test_positional_arguments_in_dspy_order():
    interp = FakeInterpreter()
    sub = ScriptedLM()
    rlm = RLM("a -> b", 5, 7, 900, True, [len], sub, interp)
    assert (rlm.max_iterations, rlm.max_llm_calls, rlm.max_output_chars, rlm.verbose) == (5, 7, 900, True)
    assert list(rlm.tools) == ["len"] and rlm.sub_lm is sub and rlm.interpreter is interp


def test_max_iters_alias():
    assert RLM("a -> b", max_iters=3).max_iterations == 3
    assert RLM("a -> b", max_iterations=3, max_iters=3).max_iterations == 3
    with pytest.raises(TypeError, match="max_iters is an alias"):
        RLM("a -> b", max_iterations=4, max_iters=3)


def test_interpreter_factory_alias_is_used_per_call_and_shut_down():
    made = []

    def factory():
        made.append(FakeInterpreter())
        return made[-1]

    lm = ScriptedLM([code_reply("SUBMIT(answer='1')"), code_reply("SUBMIT(answer='2')")])
    rlm = RLM("context, query -> answer", lm=lm, interpreter_factory=factory)
    assert rlm(context="c", query="q").answer == "1"
    assert rlm(context="c", query="q").answer == "2"
    assert len(made) == 2 and all(i.shutdowns == 1 for i in made)
    with pytest.raises(TypeError, match="both interpreter and interpreter_factory"):
        RLM("a -> b", interpreter=FakeInterpreter(), interpreter_factory=factory)


def test_given_interpreter_is_reused_and_left_running():
    rlm, _, interp = make([code_reply("SUBMIT(answer='1')"), code_reply("SUBMIT(answer='2')")])
    rlm(context="c", query="q")
    rlm(context="c", query="q")
    assert interp.shutdowns == 0 and len(interp.executed) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_iterations": 0}, "max_iterations must be positive"),
        ({"max_llm_calls": -1}, "max_llm_calls must be zero or more"),
        ({"max_output_chars": 50}, "too small"),
        ({"max_cost": 0}, "max_cost must be positive"),
        ({"max_tokens": 1.5}, "max_tokens must be a whole number"),
        ({"max_time": "10"}, "max_time must be a number"),
        ({"tools": [lambda: 1]}, "'<lambda>' is not a Python identifier"),
        ({"tools": {"llm_query": len}}, "reserved"),
        ({"tools": {"context": len}}, "collides with the input variable"),
        ({"tools": {"x": 3}}, "not callable"),
        ({"tools": "grep"}, "tools must be a list"),
        ({"lm": 3}, "lm must be a repo_auditor.LM"),
    ],
)
def test_bad_options_raise_configuration_error(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        RLM("context, query -> answer", interpreter=FakeInterpreter(), **kwargs)


def test_no_model_anywhere_is_a_configuration_error():
    rlm = RLM("context, query -> answer", interpreter=FakeInterpreter())
    with pytest.raises(ConfigurationError, match=r"repo_auditor.configure\(lm="):
        rlm(context="c", query="q")


def test_configured_default_model_is_used_at_call_time():
    rlm = RLM("context, query -> answer", interpreter=FakeInterpreter())
    lm = ScriptedLM([code_reply("SUBMIT(answer=query.upper())")])
    repo_auditor.rlm.settings.configure(lm=lm)
    assert rlm(context="c", query="q").answer == "Q"
    assert len(lm.requests) == 1


def test_settings_context_overrides_default():
    settings.configure(lm=ScriptedLM())
    inner = ScriptedLM([code_reply("SUBMIT(answer='inner')")])
    rlm = RLM("context, query -> answer", interpreter=FakeInterpreter())
    with settings.context(lm=inner):
        assert rlm(context="c", query="q").answer == "inner"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [({"context": "c"}, "missing input\\(s\\) query"), ({"context": "c", "query": "q", "x": 1}, "unexpected input")],
)
def test_wrong_inputs_raise_type_error(inputs, message):
    rlm, lm, _ = make([])
    with pytest.raises(TypeError, match=message):
        rlm(**inputs)
    assert lm.requests == []


# ------------------------------------------------------------------------------------------------ a run


def test_three_turn_run_returns_prediction_with_trajectory_and_usage():
    rlm, lm, interp = make([
        code_reply("n = len(context)\nprint(n)", "Count the characters."),
        code_reply("words = context.split()\nwords[:2]", "Look at words."),
        code_reply("SUBMIT(answer=f'{n} chars, first {words[0]}')", "Done."),
    ])
    result = rlm(context="alpha beta gamma", query="size?")
    assert result.answer == "16 chars, first alpha" and result["answer"] == "16 chars, first alpha"
    assert (result.finished_by, result.extracted, result.iterations) == ("submit", False, 3)
    steps = result.trajectory
    assert [s.reasoning for s in steps] == ["Count the characters.", "Look at words.", "Done."]
    assert steps[0].output.startswith("16")
    assert steps[1].output == "Out: ['alpha', 'beta']"
    assert steps[2].submitted and steps[2]["code"].startswith("SUBMIT")
    assert all(s.tokens > 0 and s.duration >= 0 for s in steps)
    assert result.usage.calls == 3 and result.usage.total_tokens == sum(s.tokens for s in steps)
    assert "[turn 1]\n16" in lm.requests[1][-1]["content"]
    assert interp.variables == {"context": "alpha beta gamma", "query": "size?"}
    with pytest.raises(AttributeError, match="outputs are answer"):
        _ = result.nope


def test_code_error_is_an_observation_and_the_run_goes_on():
    rlm, lm, _ = make([code_reply("1 / 0"), code_reply("SUBMIT(answer='ok')")])
    result = rlm(context="c", query="q")
    assert result.answer == "ok"
    assert result.trajectory[0].error == "ZeroDivisionError"
    assert "Error: ZeroDivisionError: division by zero" in lm.requests[1][-1]["content"]


def test_reply_without_code_is_a_turn_error_fed_back():
    rlm, lm, interp = make(["I will think about it.", "", code_reply("SUBMIT(answer='ok')")])
    result = rlm(context="c", query="q")
    assert result.answer == "ok" and result.iterations == 3
    assert [s.error for s in result.trajectory] == ["no_code", "no_code", None]
    assert "had no code" in lm.requests[1][-1]["content"]
    assert "was empty" in lm.requests[2][-1]["content"]
    assert len(interp.executed) == 1


def test_empty_output_says_to_print():
    rlm, lm, _ = make([code_reply("x = 1"), code_reply("SUBMIT(answer='ok')")])
    rlm(context="c", query="q")
    assert "(no output: print() what you want to see)" in lm.requests[1][-1]["content"]


def test_output_is_truncated_with_head_tail_marker():
    rlm, lm, _ = make([code_reply("print('a' * 5000 + 'b' * 5000)"), code_reply("SUBMIT(answer='ok')")],
                      max_output_chars=1000)
    result = rlm(context="c", query="q")
    shown = result.trajectory[0].output
    assert len(shown) < 1200 and shown.startswith("aaa") and shown.endswith("bbb")
    assert "characters omitted" in shown
    assert shown in lm.requests[1][-1]["content"]


def test_class_signature_with_typed_outputs():
    class Audit:
        """Find bugs."""

        repo_tree: str = InputField(desc="file tree")
        findings: list[dict] = OutputField(desc="one per bug")
        count: int = OutputField()

    rlm, lm, _ = make([code_reply("SUBMIT(findings=[{'file': 'a.py'}], count='1')")], sig=Audit)
    result = rlm(repo_tree="a.py")
    assert result.findings == [{"file": "a.py"}] and result.count == 1
    assert "Task: Find bugs." in lm.requests[0][1]["content"]


# ------------------------------------------------------------------------------------------------ SUBMIT


def test_invalid_submit_is_fed_back_and_retried():
    rlm, lm, _ = make([
        code_reply("SUBMIT(answer='x')"),
        code_reply("SUBMIT(answer='x', count='many')"),
        code_reply("SUBMIT('x', 3)"),
    ], sig="context -> answer: str, count: int")
    result = rlm(context="c")
    assert (result.answer, result.count, result.iterations) == ("x", 3, 3)
    assert "SUBMIT rejected: missing output field(s): count" in lm.requests[1][-1]["content"]
    assert "count must be int" in lm.requests[2][-1]["content"]
    assert [s.submitted for s in result.trajectory] == [False, False, True]


def test_output_printed_before_a_rejected_submit_is_kept():
    rlm, lm, _ = make([code_reply("print('seen')\nSUBMIT(nope=1)"), code_reply("SUBMIT(answer='a')")])
    rlm(context="c", query="q")
    assert "seen\nSUBMIT rejected: unknown output field 'nope'" in lm.requests[1][-1]["content"]


# ------------------------------------------------------------------------------------------------ extract step


def test_max_iterations_ends_with_extract_step():
    rlm, lm, _ = make([code_reply("print(1)"), code_reply("print(2)"),
                       'Here it is:\n```json\n{"answer": "best guess"}\n```'], max_iterations=2)
    result = rlm(context="c", query="q")
    assert (result.answer, result.finished_by, result.extracted, result.iterations) == (
        "best guess", "max_iterations", True, 2)
    extract_request = lm.requests[-1][-1]["content"]
    assert "[No more turns: all 2 turns are used. No code will run now.]" in extract_request
    assert '"answer": <str>' in extract_request
    assert extract_request.startswith("[turn 2]\n2")  # appended to the last observation, roles still alternate
    assert [m["role"] for m in lm.requests[-1]] == ["system", "user", "assistant", "user", "assistant", "user"]


def test_extract_accepts_a_submit_call():
    rlm, _, _ = make([code_reply("print(1)"), "SUBMIT(answer='a', count=2)"], max_iterations=1,
                     sig="context -> answer, count: int")
    result = rlm(context="c")
    assert (result.answer, result.count, result.extracted) == ("a", 2, True)


def test_extract_for_a_single_text_output_falls_back_to_the_reply():
    rlm, _, _ = make([code_reply("print(1)"), "The answer is 42."], max_iterations=1)
    assert rlm(context="c", query="q").answer == "The answer is 42."


def test_unusable_extract_raises_budget_error_with_partial():
    rlm, _, _ = make([code_reply("print(1)"), "no idea"], max_iterations=1, sig="context -> count: int")
    with pytest.raises(BudgetExceededError, match="max_iterations") as info:
        rlm(context="c")
    err = info.value
    assert (err.budget, err.spent, err.limit) == ("max_iterations", 1, 1)
    assert err.partial.finished_by == "max_iterations" and len(err.partial.trajectory) == 1


def test_extract_with_wrong_types_raises():
    rlm, _, _ = make([code_reply("print(1)"), '{"count": "lots"}'], max_iterations=1, sig="context -> count: int")
    with pytest.raises(BudgetExceededError, match="count must be int"):
        rlm(context="c")


# ------------------------------------------------------------------------------------------------ errors


def test_root_model_error_propagates():
    rlm, _, _ = make([LMConnectionError("provider down", model="m")])
    with pytest.raises(LMConnectionError, match="provider down"):
        rlm(context="c", query="q")


def test_state_lost_is_told_to_the_model_and_run_continues():
    interp = FakeInterpreter(lose_state_before=(2,))
    rlm, lm, _ = make([code_reply("x = 5"), code_reply("print(x)"), code_reply("x = 6\nSUBMIT(answer=str(x))")],
                      interpreter=interp)
    result = rlm(context="c", query="q")
    assert result.answer == "6"
    seen = lm.requests[2][-1]["content"]
    assert "The sandbox was restarted" in seen and "NameError" in seen
    assert result.trajectory[1].state_lost is True


def test_sandbox_crash_is_an_observation():
    interp = FakeInterpreter(crash_on=(1,))
    rlm, lm, _ = make([code_reply("x = 5"), code_reply("SUBMIT(answer=context)")], interpreter=interp)
    assert rlm(context="c", query="q").answer == "c"
    seen = lm.requests[1][-1]["content"]
    assert "The sandbox was restarted" in seen and "SandboxCrashedError: deno exited" in seen


def test_tools_are_registered_and_callable():
    def read_file(path: str, start: int = 1) -> str:
        """Return a file."""
        return f"contents of {path} from {start}"

    rlm, lm, interp = make([code_reply("SUBMIT(answer=read_file('a.py'))")], tools=[read_file])
    assert rlm(context="c", query="q").answer == "contents of a.py from 1"
    assert "read_file(path: str, start: int = 1) -> str\n    Return a file." in lm.requests[0][0]["content"]
    assert set(interp.tools) == {"read_file", "llm_query", "llm_query_batched"}


# ------------------------------------------------------------------------------------------------ async


def test_acall_does_not_block_the_event_loop():
    def slow_reply(messages):
        time.sleep(0.3)
        return code_reply("SUBMIT(answer='slow')")

    rlm, _, _ = make([slow_reply])

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await rlm.acall(context="c", query="q")
        task.cancel()
        return result, ticks

    result, ticks = asyncio.run(main())
    assert result.answer == "slow"
    assert ticks >= 5  # the ticker kept running while the model "thought" for 0.3 s


def test_cut_off_reply_runs_what_is_there_and_says_so():
    rlm, lm, _ = make([ScriptedReply("Plan.\n```python\nprint('partial')\nfor i in", finish_reason="length"),
                       code_reply("SUBMIT(answer='ok')")])
    result = rlm(context="c", query="q")
    assert result.trajectory[0].error == "SyntaxError"
    assert "your reply was cut off at the model's output limit" in lm.requests[1][-1]["content"]


def test_tools_as_dict_and_dspy_like_tool_objects():
    def search(pattern: str) -> list[str]:
        """Find lines matching pattern."""
        return [pattern]

    class ToolLike:  # shaped like dspy.Tool: not callable itself, it carries .name and .func
        def __init__(self, func, name):
            self.func, self.name = func, name

    rlm = RLM("context -> answer", tools={"find": search}, interpreter=FakeInterpreter())
    assert list(rlm.tools) == ["find"]
    rlm = RLM("context -> answer", tools=[ToolLike(search, "grep_lines")], interpreter=FakeInterpreter())
    assert rlm.tools == {"grep_lines": search}


def test_model_name_string_builds_an_lm():
    rlm = RLM("context -> answer", lm="openai/gpt-4o-mini", sub_lm="openai/gpt-4o-mini")
    assert type(rlm.lm).__name__ == "LM" and rlm.lm.model == "openai/gpt-4o-mini"


def test_prediction_to_dict():
    rlm, _, _ = make([code_reply("print(1)"), code_reply("SUBMIT(answer='a')")])
    data = rlm(context="c", query="q").to_dict()
    assert data["outputs"] == {"answer": "a"} and data["finished_by"] == "submit"
    assert [s["code"] for s in data["trajectory"]] == ["print(1)", "SUBMIT(answer='a')"]
    assert data["usage"]["calls"] == 2
