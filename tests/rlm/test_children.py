"""Child runs (``RLM(max_depth=...)``, ``rlm_query`` / ``rlm_query_batched``) against scripted models: answers, the
budget shared across the tree, a failing child, the depth limit, concurrency, models per depth and the trace."""

from __future__ import annotations

import time

import pytest

from repo_auditor.errors import ConfigurationError, LMConnectionError
from repo_auditor.rlm import RLM
from repo_auditor.rlm.trace import load_trace
from tests.rlm.fakes import Concurrency, FakeInterpreter
from tests.support.scripted_lm import ScriptedLM, ScriptedReply, code_reply


class Interpreters:
    """An interpreter factory that remembers every FakeInterpreter it made (one per run of the tree)."""

    def __init__(self) -> None:
        self.made: list[FakeInterpreter] = []

    def __call__(self) -> FakeInterpreter:
        interpreter = FakeInterpreter()
        self.made.append(interpreter)
        return interpreter


def task_of(messages: list[dict]) -> str:
    """The child's task line (its prompt) from the first user message."""
    return messages[1]["content"].split("\n")[1]


def test_rlm_query_runs_a_child_with_its_variables_and_returns_its_answer(tmp_path):
    root = ScriptedLM([
        code_reply("n = rlm_query('How many lines?', text='a\\nb\\nc')\nprint(n)"),
        code_reply("SUBMIT(answer='lines: ' + n)"),
    ])
    child = ScriptedLM([code_reply("print(text.count('\\n') + 1)"), code_reply("SUBMIT(answer='3')")],
                       model="scripted/child")
    interpreters = Interpreters()
    trace = tmp_path / "run.jsonl"
    rlm = RLM("context -> answer", lm=root, child_lms=[child], max_depth=2, interpreter_factory=interpreters,
              trace=str(trace))
    result = rlm(context="c")
    assert result.answer == "lines: 3"
    assert result.trajectory[0].output.strip() == "3"
    assert len(interpreters.made) == 2  # the child had a sandbox of its own...
    assert interpreters.made[1].variables == {"prompt": "How many lines?", "text": "a\nb\nc"}  # ...with the variables
    assert interpreters.made[1].executed == ["print(text.count('\\n') + 1)", "SUBMIT(answer='3')"]
    assert "How many lines?" in child.requests[0][1]["content"]
    assert "rlm_query(prompt: str, **variables: Any) -> str" in root.requests[0][0]["content"]  # documented for the model
    assert result.sub_calls == 1 and result.usage.calls == 4  # 2 root turns + 2 child turns
    assert result.root_usage.calls == 2 and result.sub_usage.calls == 2
    records = load_trace(trace)
    root_id = records[0]["run_id"]
    assert all({"run_id", "parent_id", "depth"} <= r.keys() for r in records)
    child_records = [r for r in records if r["depth"] == 2]
    assert {r["run_id"] for r in child_records} == {f"{root_id}.1"}
    assert {r["parent_id"] for r in child_records} == {root_id}
    [ended] = [r for r in records if r["kind"] == "child_run"]
    assert ended["child_id"] == f"{root_id}.1" and ended["answer"] == "3" and ended["run_id"] == root_id
    assert ended["variables"] == ["text"] and ended["model"] == "scripted/child"


def test_without_max_depth_there_is_no_rlm_query():
    root = ScriptedLM([code_reply("rlm_query('x')"), code_reply("SUBMIT(answer='no')")])
    rlm = RLM("context -> answer", lm=root, interpreter=FakeInterpreter())
    result = rlm(context="c")
    assert "NameError" in result.trajectory[0].output
    assert "rlm_query" not in root.requests[0][0]["content"]


def test_sub_call_budget_is_shared_by_the_whole_tree():
    # max_llm_calls=3: two children (2 calls), then the first child's llm_query (1) uses the last one; the second
    # child's llm_query is refused although that child has made none itself.
    def child_reply(messages):
        if len(messages) > 2:
            return code_reply("SUBMIT(answer=str(got))")
        return code_reply("try:\n    got = llm_query('hi')\nexcept Exception as e:\n    got = 'refused'")

    root = ScriptedLM([code_reply("r = rlm_query_batched(['one', 'two'])\nprint(r)"),
                       code_reply("SUBMIT(answer='|'.join(sorted(r)))")])
    child = ScriptedLM([child_reply] * 4, model="scripted/child")
    sub = ScriptedLM(["hello"], model="scripted/sub")
    rlm = RLM("context -> answer", lm=root, child_lms=[child], sub_lm=sub, max_depth=2, max_llm_calls=3,
              interpreter_factory=Interpreters(), max_child_workers=1)
    result = rlm(context="c")
    assert result.answer == "hello|refused"
    assert result.sub_calls == 3 and len(sub.requests) == 1


def test_cost_budget_spent_by_a_child_stops_the_parent():
    root = ScriptedLM([code_reply("r = rlm_query('dig')"), '{"answer": "partial"}'], cost=0.01)
    child = ScriptedLM([code_reply("x = 1"), code_reply("x = 2"), '{"answer": "child partial"}'],
                       model="scripted/child", cost=0.01)
    rlm = RLM("context -> answer", lm=root, child_lms=[child], max_depth=2, max_cost=0.025,
              interpreter_factory=Interpreters())
    result = rlm(context="c")
    # root turn (0.01), child turns (0.02, 0.03: over) and the child's extract step, then the root's extract step
    assert (result.finished_by, result.extracted, result.answer) == ("max_cost", True, "partial")
    assert result.usage.cost == pytest.approx(0.05) and result.sub_usage.cost == pytest.approx(0.03)
    assert len(child.requests) == 3 and "cost budget" in child.requests[2][-1]["content"]


def test_a_failing_child_returns_an_error_in_its_slot_and_the_parent_goes_on():
    def child_reply(messages):
        if "fail here" in task_of(messages):
            raise LMConnectionError("provider down", model="scripted/child")
        return code_reply("SUBMIT(answer=prompt.upper())")

    root = ScriptedLM([code_reply("r = rlm_query_batched(['ok here', {'prompt': 'fail here', 'n': 1}])\nprint(r)"),
                       code_reply("SUBMIT(answer=r[0])")])
    rlm = RLM("context -> answer", lm=root, child_lms=[ScriptedLM([child_reply] * 2)], max_depth=2,
              interpreter_factory=Interpreters())
    result = rlm(context="c")
    assert result.answer == "OK HERE"
    assert "'[rlm_query error: LMConnectionError: provider down]'" in result.trajectory[0].output


def test_a_child_whose_sandbox_cannot_start_fails_in_its_slot():
    calls = []

    def factory():
        calls.append(1)
        if len(calls) > 1:
            raise OSError("no sandbox for you")
        return FakeInterpreter()

    root = ScriptedLM([code_reply("print(rlm_query('x'))"), code_reply("SUBMIT(answer='done')")])
    result = RLM("context -> answer", lm=root, max_depth=2, interpreter_factory=factory)(context="c")
    assert result.answer == "done"
    assert "[rlm_query error: OSError: no sandbox for you]" in result.trajectory[0].output


def test_at_max_depth_rlm_query_is_a_plain_sub_call(tmp_path):
    root = ScriptedLM([code_reply("SUBMIT(answer=rlm_query('summarize', doc='DOC TEXT'))")])
    child = ScriptedLM([code_reply("SUBMIT(answer=rlm_query('leaf', page=[1, 2]) + rlm_query_batched(['b'])[0])")],
                       model="scripted/child")
    sub = ScriptedLM(["L", "B"], model="scripted/sub")
    trace = tmp_path / "t.jsonl"
    rlm = RLM("context -> answer", lm=root, child_lms={2: child}, sub_lm=sub, max_depth=2,
              interpreter_factory=Interpreters(), trace=str(trace))
    assert rlm(context="c").answer == "LB"
    assert sub.requests[0] == [{"role": "user", "content": "leaf\n\npage:\n[1, 2]"}]
    assert sub.requests[1] == [{"role": "user", "content": "b"}]
    records = load_trace(trace)
    assert max(r["depth"] for r in records) == 2
    assert [r["depth"] for r in records if r["kind"] == "sub_call"] == [2, 2]


def test_three_levels_use_a_model_per_depth():
    root = ScriptedLM([code_reply("SUBMIT(answer='1>' + rlm_query('go'))")], model="m1")
    second = ScriptedLM([code_reply("SUBMIT(answer='2>' + rlm_query('deeper'))")], model="m2")
    third = ScriptedLM([code_reply("SUBMIT(answer='3>' + rlm_query('leaf'))")], model="m3")
    sub = ScriptedLM(["leaf"], model="leaf")
    interpreters = Interpreters()
    rlm = RLM("context -> answer", lm=root, child_lms=[second, third], sub_lm=sub, max_depth=3,
              interpreter_factory=interpreters, child_max_iterations=2)
    result = rlm(context="c")
    assert result.answer == "1>2>3>leaf"
    assert len(interpreters.made) == 3 and result.usage.calls == 4 and result.sub_calls == 3


def test_children_run_concurrently_up_to_the_limit():
    meter = Concurrency()

    def child_reply(messages):
        with meter:
            time.sleep(0.2)
        return code_reply("SUBMIT(answer=prompt[::-1])")

    prompts = [f"task {i}" for i in range(6)]
    root = ScriptedLM([code_reply(f"SUBMIT(answer=','.join(rlm_query_batched({prompts!r})))")])
    rlm = RLM("context -> answer", lm=root, child_lms=[ScriptedLM([child_reply] * 6)], max_depth=2,
              interpreter_factory=Interpreters(), max_child_workers=3)
    t0 = time.perf_counter()
    result = rlm(context="c")
    assert result.answer == ",".join(p[::-1] for p in prompts)  # answers in task order
    assert meter.peak == 3
    assert time.perf_counter() - t0 < 6 * 0.2  # one at a time would take 1.2 s; three at a time ~0.4 s


def test_a_child_has_its_own_iteration_limit():
    root = ScriptedLM([code_reply("SUBMIT(answer=rlm_query('loop'))")])
    child = ScriptedLM([code_reply("x = 1"), code_reply("x = 2"), '{"answer": "gave up"}'])
    rlm = RLM("context -> answer", lm=root, child_lms=[child], max_depth=2, child_max_iterations=2,
              interpreter_factory=Interpreters())
    assert rlm(context="c").answer == "gave up"
    assert "all 2 turns are used" in child.requests[2][-1]["content"]


@pytest.mark.parametrize("kwargs, message", [
    ({"max_depth": 0}, "max_depth must be a whole number from 1 to"),
    ({"max_depth": 9}, "max_depth must be a whole number from 1 to"),
    ({"max_depth": 2, "child_lms": {3: ScriptedLM()}}, "child runs are at depths 2 to 2"),
    ({"max_depth": 2, "child_lms": [ScriptedLM(), ScriptedLM()]}, "depth 3"),
    ({"max_depth": 2, "child_lms": "m"}, "child_lms must be a list"),
    ({"max_depth": 2, "child_max_iterations": 0}, "child_max_iterations must be positive"),
])
def test_bad_depth_settings_are_named(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        RLM("context -> answer", **kwargs)


@pytest.mark.parametrize("code, message", [
    ("rlm_query('')", "empty prompt"),
    ("rlm_query(['a'])", "takes a str prompt"),
    ("rlm_query('x', prompt='y')", "multiple values for argument 'prompt'"),
    ("rlm_query('x', llm_query=1)", "'llm_query' cannot be a variable name"),
    ("rlm_query_batched('x')", "takes a list of prompts or dicts"),
    ("rlm_query_batched([3])", "tasks[0] is int"),
])
def test_bad_calls_are_errors_the_model_sees(code, message):
    root = ScriptedLM([code_reply(code), code_reply("SUBMIT(answer='x')")])
    result = RLM("context -> answer", lm=root, max_depth=2, interpreter_factory=Interpreters())(context="c")
    assert message in result.trajectory[0].output


def test_children_spend_no_calls_when_the_budget_is_already_used():
    root = ScriptedLM([code_reply("r = rlm_query_batched(['a', 'b', 'c'])"), code_reply("SUBMIT(answer='x')")])
    rlm = RLM("context -> answer", lm=root, max_depth=2, max_llm_calls=2, interpreter_factory=Interpreters())
    result = rlm(context="c")
    assert "needs 3 sub-calls but only 2" in result.trajectory[0].output and result.sub_calls == 0


def test_tokens_of_children_count_against_the_tree():
    root = ScriptedLM([code_reply("r = rlm_query('a')"), '{"answer": "stopped"}'])
    child = ScriptedLM([ScriptedReply(code_reply("SUBMIT(answer='big')"), prompt_tokens=900, completion_tokens=100)])
    rlm = RLM("context -> answer", lm=root, child_lms=[child], max_depth=2, max_tokens=1000,
              interpreter_factory=Interpreters())
    result = rlm(context="c")
    assert result.finished_by == "max_tokens" and result.sub_usage.total_tokens == 1000


def test_child_runs_in_real_deno_sandboxes():
    """Parent and child each in their own Deno + Pyodide sandbox; the variables cross the bridge twice."""
    from repo_auditor.sandbox import ensure_runtime

    ensure_runtime(fetch=True)
    root = ScriptedLM([code_reply("rows = [{'n': i} for i in range(5)]\n"
                                  "print(rlm_query_batched([{'prompt': 'sum', 'rows': rows}, 'hi']))"),
                       code_reply("SUBMIT(answer='done')")])
    child = ScriptedLM([lambda m: code_reply("SUBMIT(answer=str(sum(r['n'] for r in rows)))" if "sum" in task_of(m)
                                             else "SUBMIT(answer=prompt * 2)")] * 2)
    result = RLM("context -> answer", lm=root, child_lms=[child], max_depth=2)(context="c")
    assert result.answer == "done" and result.trajectory[0].output.strip() == "['10', 'hihi']"
