"""``rlm_query`` and ``rlm_query_batched``: child runs, offered inside the sandbox when ``RLM(max_depth >= 2)``.

A tree of runs, depth 1 at the root::

    depth 1   root run (model ``lm``)            rlm_query(...) -> a child run
    depth 2   child run (model for depth 2)      rlm_query(...) -> a child run, ... down to ``max_depth``
    depth D   run at max_depth                   rlm_query(...) -> a plain sub-call (``llm_query``, model ``sub_lm``)

A child run is a whole RLM run on the signature ``prompt, <variables> -> answer: str``: its own sandbox (a new
interpreter from the parent's ``interpreter_factory``, else a new Deno sandbox), the parent's tools, its own turn limit
(``child_max_iterations``) and the tree's shared sub-call, cost, token and time budgets (``RunBudget.child``). Starting a
child takes one sub-call from the budget (a batch of n takes n, reserved before any starts). Models per depth:
``child_lms`` is a list (item 0 for depth 2, item 1 for depth 3, ...) or a mapping ``{depth: model}``; a depth without
one uses the root model. A child that fails (its model fails, its sandbox cannot start, a budget leaves it no answer)
returns a string starting with ``[rlm_query error`` in its slot; the parent goes on.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from repo_auditor.errors import ConfigurationError
from repo_auditor.rlm import settings
from repo_auditor.rlm.budget import RunBudget
from repo_auditor.rlm.trace import cap

if TYPE_CHECKING:
    from repo_auditor.rlm.loop import RLM

DEFAULT_MAX_CHILD_WORKERS = 4  # concurrent child runs per batch: each one holds a sandbox (a Deno process, ~150 MB)
MAX_DEPTH = 5  # deeper trees multiply cost and time for gains the RLM paper did not see beyond depth 3
MAX_VARIABLE_REPR_CHARS = 20_000  # per variable, when a run at max_depth sends rlm_query's variables as plain text
# Names the sandbox defines for every run: no tool or variable may take them.
RESERVED_NAMES = frozenset({"llm_query", "llm_query_batched", "rlm_query", "rlm_query_batched", "SUBMIT", "print",
                            "FINAL", "FINAL_VAR"})
PROMPT_INPUT = "prompt"  # the child's input holding the task it was given
CHILD_SIGNATURE_OUTPUT = 'answer: str "the answer to the prompt, as text"'
MAX_PROMPT_IN_TASK_CHARS = 4_000  # the child's task message quotes its prompt up to this; the variable holds it whole
CHILD_INSTRUCTIONS = ("Another model handed you this task (its full text is also the variable `prompt`); answer it "
                      "with the inputs and your tools:\n{prompt}")


def check_depth_models(max_depth: int, child_lms: Any) -> dict[int, Any]:
    """``child_lms`` (None, a list from depth 2 on, or a mapping depth -> model) as a checked ``{depth: LM}``."""
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 1 <= max_depth <= MAX_DEPTH:
        raise ConfigurationError(f"max_depth must be a whole number from 1 to {MAX_DEPTH}, got {max_depth!r}")
    if child_lms is None:
        return {}
    if isinstance(child_lms, Mapping):
        items = list(child_lms.items())
    elif isinstance(child_lms, (list, tuple)):
        items = [(depth, lm) for depth, lm in enumerate(child_lms, start=2)]
    else:
        raise ConfigurationError(f"child_lms must be a list (models for depth 2, 3, ...) or a mapping "
                                 f"{{depth: model}}, got {type(child_lms).__name__}")
    models: dict[int, Any] = {}
    for depth, lm in items:
        if isinstance(depth, bool) or not isinstance(depth, int) or not 2 <= depth <= max_depth:
            raise ConfigurationError(f"child_lms has a model for depth {depth!r}, but child runs are at depths 2 to "
                                     f"{max_depth} (max_depth={max_depth}); raise max_depth or drop that model")
        models[depth] = settings.as_lm(lm, f"child_lms[{depth}]")
    return models


def make_child_run_tools(rlm: RLM, *, depth: int, lm: Any, budget: RunBudget, trace: Any,
                         sub_call_tools: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """``rlm_query`` / ``rlm_query_batched`` for a run at ``depth`` of ``rlm``'s tree; {} when ``max_depth`` is 1.

    ``lm`` is the root model (the default for depths without their own); ``sub_call_tools`` are the run's own
    ``llm_query`` / ``llm_query_batched``, which answer at ``max_depth``."""
    if rlm.max_depth < 2:
        return {}
    numbers = itertools.count(1)
    numbers_lock = threading.Lock()
    leaf = depth >= rlm.max_depth  # no deeper runs: rlm_query falls back to a plain sub-call

    def start(prompt: str, variables: dict[str, Any]) -> str:
        with numbers_lock:
            number = next(numbers)
        return _run_child(rlm, number, prompt, variables, depth=depth + 1,
                          lm=rlm.child_lms.get(depth + 1, lm), root_lm=lm, budget=budget, trace=trace)

    def rlm_query(prompt: str, **variables: Any) -> str:
        """Hand a sub-task to a child RLM: a new REPL with your tools, `prompt` as its task and each keyword as a
        variable it can read with code (pass big texts and lists this way, not inside the prompt). It explores on
        its own turns and returns its answer as text. Counts as one sub-call; its own model and sub-calls draw on
        the same budgets as yours. If the child fails, the answer is a string starting with "[rlm_query error"."""
        _check_task(prompt, variables, "rlm_query")
        if leaf:
            return sub_call_tools["llm_query"](_as_plain_prompt(prompt, variables))
        budget.reserve_sub_calls(1, what="rlm_query")
        return start(prompt, variables)

    def rlm_query_batched(tasks: list) -> list[str]:
        """Run several child RLMs concurrently; answers come back in the same order. Each task is a prompt string or
        a dict {"prompt": ..., plus variables}. Each counts as one sub-call. A failed child comes back as a string
        starting with "[rlm_query error" in its slot."""
        if isinstance(tasks, (str, dict)) or not isinstance(tasks, (list, tuple)):
            raise TypeError(f"rlm_query_batched takes a list of prompts or dicts, got {type(tasks).__name__}")
        jobs = [_task(item, i) for i, item in enumerate(tasks)]
        if not jobs:
            return []
        if leaf:
            return sub_call_tools["llm_query_batched"]([_as_plain_prompt(*job) for job in jobs])
        budget.reserve_sub_calls(len(jobs), what="rlm_query_batched")
        with ThreadPoolExecutor(max_workers=min(rlm.max_child_workers, len(jobs)), thread_name_prefix="rlm_query") as pool:
            return list(pool.map(lambda job: start(*job), jobs))

    return {"rlm_query": rlm_query, "rlm_query_batched": rlm_query_batched}


def _check_task(prompt: Any, variables: dict[str, Any], what: str) -> None:
    if not isinstance(prompt, str):
        raise TypeError(f"{what} takes a str prompt, got {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError(f"{what} got an empty prompt; say what the child run should find out")
    bad = [name for name in variables if not name.isidentifier() or name in RESERVED_NAMES]
    if bad:
        raise ValueError(f"{what}: {bad[0]!r} cannot be a variable name in the child's REPL; rename it")


def _task(item: Any, index: int) -> tuple[str, dict[str, Any]]:
    if isinstance(item, str):
        prompt, variables = item, {}
    elif isinstance(item, dict):
        variables = dict(item)
        prompt = variables.pop(PROMPT_INPUT, None)
    else:
        raise TypeError(f"rlm_query_batched: tasks[{index}] is {type(item).__name__}, not a str or dict")
    _check_task(prompt, variables, f"rlm_query_batched: tasks[{index}]")
    return prompt, variables


def _as_plain_prompt(prompt: str, variables: dict[str, Any]) -> str:
    """At max_depth there is no REPL to hold the variables: they go into the sub-call's prompt as text."""
    parts = [prompt]
    for name, value in variables.items():
        text = value if isinstance(value, str) else repr(value)
        parts.append(f"{name}:\n{cap(text, MAX_VARIABLE_REPR_CHARS)}")
    return "\n\n".join(parts)


def _run_child(rlm: RLM, number: int, prompt: str, variables: dict[str, Any], *, depth: int, lm: Any,
               root_lm: Any, budget: RunBudget, trace: Any) -> str:
    """Run one child to its answer; any failure becomes the ``[rlm_query error ...]`` string in its slot."""
    child_trace = trace.child(number)
    t0 = time.perf_counter()
    child_budget = budget.child(rlm.child_max_iterations)
    record = {"child_id": child_trace.position["run_id"], "prompt": cap(prompt, 2_000),
              "variables": sorted(variables), "model": getattr(lm, "model", None)}
    try:
        child = _child_rlm(rlm, ", ".join([PROMPT_INPUT, *variables]) + " -> " + CHILD_SIGNATURE_OUTPUT,
                           CHILD_INSTRUCTIONS.format(prompt=cap(prompt, MAX_PROMPT_IN_TASK_CHARS)))
        prediction = child.run_in_tree({PROMPT_INPUT: prompt, **variables}, lm=lm, root_lm=root_lm,
                                       trace=child_trace, budget=child_budget, depth=depth)
    except Exception as exc:  # the child's failure is the parent model's observation, not the parent's crash
        error = f"{type(exc).__name__}: {exc}"
        trace.write("child_run", **record, error=error, usage=child_budget.usage.to_dict(),
                    duration=round(time.perf_counter() - t0, 4))
        return f"[rlm_query error: {error}]"
    answer = str(prediction.answer)
    trace.write("child_run", **record, answer=cap(answer), finished_by=prediction.finished_by,
                iterations=prediction.iterations, usage=prediction.usage.to_dict(), duration=prediction.duration)
    return answer


def _child_rlm(rlm: RLM, signature: str, instructions: str) -> RLM:
    """The RLM of a child run: the parent's settings and tools, ``child_max_iterations`` turns."""
    return type(rlm)(signature, instructions=instructions, max_iterations=rlm.child_max_iterations,
                     max_llm_calls=rlm.max_llm_calls, max_output_chars=rlm.max_output_chars, tools=rlm.tools,
                     sub_lm=rlm.sub_lm, interpreter_factory=rlm.interpreter_factory,
                     max_history_chars=rlm.max_history_chars, max_workers=rlm.max_workers,
                     execution_timeout=rlm.execution_timeout, max_depth=rlm.max_depth, child_lms=rlm.child_lms,
                     child_max_iterations=rlm.child_max_iterations, max_child_workers=rlm.max_child_workers)
