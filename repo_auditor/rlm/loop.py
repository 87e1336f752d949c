"""``RLM``: the Recursive Language Model loop, a drop-in for ``dspy.RLM``.

One call runs this loop until the model calls ``SUBMIT`` or a budget runs out::

    prompt (append-only history) -> root model -> reply -> code -> sandbox -> observation -> prompt ...

The model's broken code, a reply without code and a rejected ``SUBMIT`` are observations fed back to the model; the run
goes on. A root-model failure (``LMError``, after the model's own retries) and a sandbox that cannot start
(``SandboxStartError``) raise. When a budget runs out the model is asked once for its answer from the history (the
extract step) and the result says so (``finished_by``, ``extracted``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from repo_auditor.errors import (
    BudgetExceededError,
    ConfigurationError,
    LMError,
    SandboxCrashedError,
    SandboxError,
)
from repo_auditor.rlm import settings
from repo_auditor.rlm.budget import Limits, RunBudget
from repo_auditor.rlm.children import (
    DEFAULT_MAX_CHILD_WORKERS,
    check_depth_models,
    make_child_run_tools,
)
from repo_auditor.rlm.deadline import DeadlineExceeded, call_before
from repo_auditor.rlm.prediction import Prediction, Progress, Step
from repo_auditor.rlm.prompt import (
    History,
    Turn,
    jsonable,
    observation,
    summarize_turn,
    system_prompt,
    task_message,
    truncate,
    with_cache_points,
)
from repo_auditor.rlm.repeats import REPEATED_CODE, WHY_REPEATED, RepeatWatch
from repo_auditor.rlm.reply import ExtractError, extract_outputs, parse_reply
from repo_auditor.rlm.signature import Signature, bind_submit, make_signature
from repo_auditor.rlm.subcalls import DEFAULT_MAX_WORKERS, make_sub_call_tools
from repo_auditor.rlm.tool_binding import guard_input_names, normalize_tools, traced_tool
from repo_auditor.rlm.trace import NullTrace, TraceWriter
from repo_auditor.sandbox.protocol import ExecutionResult, Interpreter

DEFAULT_MAX_HISTORY_CHARS = 400_000  # ~100k tokens: compaction starts before common 128k-token windows fill up
MIN_OUTPUT_CHARS = 200  # below this the model cannot see an error message whole
GRACE_TURNS_AFTER_SUB_CALL_BUDGET = 2  # turns the model gets to SUBMIT once a sub-call was refused for budget
VERBOSE_CHARS = 2_000  # per section printed by verbose=True
# One reply's cap (the request's max_tokens): a small model that loops inside a reply would otherwise write until
# the context is full and outlast the request timeout. 4,096 tokens hold a long explanation and a page of code.
DEFAULT_MAX_REPLY_TOKENS = 4_096

STATE_LOST_NOTE = ("[The sandbox was restarted: every variable, import and function you defined is gone. The inputs "
                   "and functions are defined again; recompute what you need.]")
CUT_OFF_NOTE = ("Note: your reply was cut off at the model's output limit, so its code may be incomplete. Write "
                "shorter replies: less explanation, smaller steps.")
NO_OUTPUT_NOTE = "(no output: print() what you want to see)"
EXTRACT_PROMPT = """\
[No more turns: {why}. No code will run now.]
Reply with your final answer as ONE JSON object with exactly these keys, using what you found so far (give your best
estimate where unsure):
```json
{skeleton}
```"""
_WHY = {
    "max_iterations": "all {limit:g} turns are used",
    "max_llm_calls": "the sub-call budget ({limit:g}) is used up",
    "max_cost": "the cost budget (${limit:g}) is used up",
    "max_tokens": "the token budget ({limit:g} tokens) is used up",
    "max_time": "the time budget ({limit:g} s) is used up",
}


class RLM:
    """Answer ``signature`` by letting a model explore its inputs in a sandboxed Python REPL.

    ``RLM("context, query -> answer")(context=..., query=...)`` returns a ``Prediction`` with ``.answer``. The model
    sees the inputs' metadata, not their content; it reads them through code, ``tools`` and sub-calls
    (``llm_query``, answered by ``sub_lm``, else by the root model).

    Arguments keep dspy.RLM's names and defaults; ``max_iters`` and ``interpreter_factory`` are accepted as aliases of
    ``max_iterations`` and (a factory for) ``interpreter``. ``lm`` defaults to ``repo_auditor.configure(lm=...)``,
    looked up at call time. ``max_cost`` (USD), ``max_tokens`` (prompt + completion over the whole run, unlike
    ``LM(max_tokens=)`` which caps one reply) and ``max_time`` (seconds) are optional run budgets;
    ``max_reply_tokens`` caps each reply of the root model (sent as the request's ``max_tokens``; None sends none). ``trace`` is a path
    for a JSONL trace (appended to). An ``interpreter`` passed in is reused across calls and left running (calls on it
    are serialized); otherwise each call starts its own sandbox and shuts it down. ``on_step(step, progress)`` is
    called after every turn (progress displays).

    ``max_depth`` >= 2 offers child runs (``rlm_query``) in their own sandboxes, sharing the budgets; ``child_lms``
    (models per depth), ``child_max_iterations`` and ``max_child_workers`` shape them (see ``children.py``).
    """

    def __init__(
        self,
        signature: Any,
        max_iterations: int = 20,
        max_llm_calls: int = 50,
        max_output_chars: int = 10_000,
        verbose: bool = False,
        tools: list[Callable[..., Any]] | dict[str, Callable[..., Any]] | None = None,
        sub_lm: Any = None,
        interpreter: Interpreter | None = None,
        *,
        lm: Any = None,
        max_iters: int | None = None,
        interpreter_factory: Callable[[], Interpreter] | None = None,
        max_cost: float | None = None,
        max_tokens: int | None = None,
        max_time: float | None = None,
        trace: str | None = None,
        instructions: str | None = None,
        max_history_chars: int = DEFAULT_MAX_HISTORY_CHARS,
        max_workers: int = DEFAULT_MAX_WORKERS,
        execution_timeout: float | None = None,
        on_step: Callable[[Step, Progress], None] | None = None,
        max_depth: int = 1,
        child_lms: Any = None,
        child_max_iterations: int | None = None,
        max_child_workers: int = DEFAULT_MAX_CHILD_WORKERS,
        max_reply_tokens: int | None = DEFAULT_MAX_REPLY_TOKENS,
    ):
        if max_iters is not None:
            if max_iterations != 20 and max_iterations != max_iters:
                raise TypeError(f"RLM got max_iterations={max_iterations} and max_iters={max_iters}; "
                                f"max_iters is an alias, pass only one")
            max_iterations = max_iters
        if interpreter is not None and interpreter_factory is not None:
            raise TypeError("RLM got both interpreter and interpreter_factory; pass only one")
        self.signature: Signature = make_signature(signature, instructions)
        self.max_iterations = _positive("max_iterations", max_iterations, int)
        self.max_llm_calls = _positive("max_llm_calls", max_llm_calls, int, allow_zero=True)
        self.max_output_chars = _positive("max_output_chars", max_output_chars, int)
        if self.max_output_chars < MIN_OUTPUT_CHARS:
            raise ConfigurationError(f"max_output_chars={max_output_chars} is too small to show an error message; "
                                     f"use at least {MIN_OUTPUT_CHARS}")
        self.max_cost = None if max_cost is None else _positive("max_cost", max_cost, float)
        self.max_tokens = None if max_tokens is None else _positive("max_tokens", max_tokens, int)
        self.max_time = None if max_time is None else _positive("max_time", max_time, float)
        self.max_reply_tokens = (None if max_reply_tokens is None
                                 else _positive("max_reply_tokens", max_reply_tokens, int))
        self.max_history_chars = _positive("max_history_chars", max_history_chars, int)
        self.max_workers = _positive("max_workers", max_workers, int)
        self.execution_timeout = (None if execution_timeout is None
                                  else _positive("execution_timeout", execution_timeout, float))
        self.verbose = verbose
        self.tools = normalize_tools(tools, self.signature)
        self.lm = None if lm is None else settings.as_lm(lm, "lm")
        self.sub_lm = None if sub_lm is None else settings.as_lm(sub_lm, "sub_lm")
        self.interpreter = interpreter
        self.interpreter_factory = interpreter_factory
        self.trace = trace
        self.on_step = on_step
        self.max_depth = max_depth
        self.child_lms = check_depth_models(max_depth, child_lms)
        self.child_max_iterations = (self.max_iterations if child_max_iterations is None
                                     else _positive("child_max_iterations", child_max_iterations, int))
        self.max_child_workers = _positive("max_child_workers", max_child_workers, int)
        self._interpreter_lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- public calls

    def __call__(self, **inputs: Any) -> Prediction:
        """Run the loop on ``inputs`` (one keyword per input field) and return the ``Prediction``."""
        self._check_inputs(inputs)
        lm = settings.resolve_lm(self.lm)
        trace = TraceWriter(self.trace) if self.trace else NullTrace()
        try:
            return self.run_in_tree(inputs, lm=lm, root_lm=lm, trace=trace, budget=None, depth=1)
        finally:
            trace.close()

    forward = __call__

    async def acall(self, **inputs: Any) -> Prediction:
        """``__call__`` in a worker thread, so the event loop keeps running meanwhile."""
        return await asyncio.to_thread(self.__call__, **inputs)

    aforward = acall

    def run_in_tree(self, inputs: dict[str, Any], *, lm: Any, root_lm: Any, trace: Any, budget: RunBudget | None,
                    depth: int) -> Prediction:
        """One run of a tree of runs: the root (``budget`` None starts a new tree) or a child run at ``depth``."""
        sub_lm = self.sub_lm or settings.get("sub_lm") or root_lm
        try:
            with self._interpreter_for_run() as interpreter:
                return _Run(self, lm, sub_lm, interpreter, trace, inputs, budget=budget, depth=depth,
                            root_lm=root_lm).run()
        except BaseException as exc:  # Ctrl-C too: the trace ends with why the run stopped
            trace.write("run_error", error=f"{type(exc).__name__}: {exc}")
            raise

    # ------------------------------------------------------------------------------------------- helpers

    def _check_inputs(self, inputs: dict[str, Any]) -> None:
        expected = self.signature.input_names
        missing = [n for n in expected if n not in inputs]
        extra = [n for n in inputs if n not in expected]
        if missing or extra:
            problems = ([f"missing input(s) {', '.join(missing)}"] if missing else []) + (
                [f"unexpected input(s) {', '.join(extra)}"] if extra else [])
            raise TypeError(f"RLM call: {'; '.join(problems)}; the signature takes {', '.join(expected)}")

    def _default_interpreter(self) -> Interpreter:
        from repo_auditor.sandbox import DenoInterpreter

        if self.execution_timeout is None:
            return DenoInterpreter(max_output_chars=self.max_output_chars)
        return DenoInterpreter(max_output_chars=self.max_output_chars, timeout=self.execution_timeout)

    @contextlib.contextmanager
    def _interpreter_for_run(self) -> Iterator[Interpreter]:
        if self.interpreter is not None:
            with self._interpreter_lock:
                yield self.interpreter
            return
        interpreter = self.interpreter_factory() if self.interpreter_factory else self._default_interpreter()
        try:
            yield interpreter
        finally:
            interpreter.shutdown()


def _positive(name: str, value: Any, kind: type, allow_zero: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise ConfigurationError(f"{name} must be a {'whole ' if kind is int else ''}number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigurationError(f"{name} must be {'zero or more' if allow_zero else 'positive'}, got {value!r}")
    return kind(value)


class _Run:
    """The state of one call: budget, history, trajectory."""

    def __init__(self, rlm: RLM, lm: Any, sub_lm: Any, interpreter: Interpreter, trace: Any,
                 inputs: dict[str, Any], *, budget: RunBudget | None = None, depth: int = 1, root_lm: Any = None):
        self.rlm = rlm
        self.sig = rlm.signature
        self.lm = lm
        self.interpreter = interpreter
        self.trace = trace
        self.inputs = inputs
        self.budget = budget or RunBudget(Limits(rlm.max_iterations, rlm.max_llm_calls, rlm.max_cost,
                                                 rlm.max_tokens, rlm.max_time))
        self.sub_tools = make_sub_call_tools(sub_lm, self.budget, trace, rlm.max_workers)
        child_tools = make_child_run_tools(rlm, depth=depth, lm=root_lm or lm, budget=self.budget, trace=trace,
                                           sub_call_tools=self.sub_tools)
        self.sub_tools.update(child_tools)
        self.trajectory: list[Step] = []
        self.out_of_time = False  # a model call outlasted the time budget: no more turns
        self.repeats = RepeatWatch()
        self.t0 = time.perf_counter()
        self.history = History(system_prompt(self.sig, {**rlm.tools, **child_tools}, rlm.max_output_chars),
                               task_message(self.sig, inputs) + "\n\n" + self.budget.line(), rlm.max_history_chars)

    def run(self) -> Prediction:
        tracing = not isinstance(self.trace, NullTrace)
        for name, fn in self.rlm.tools.items():
            fn = guard_input_names(fn, self.sig.input_names)
            self.interpreter.register_tool(name, traced_tool(name, fn, self.trace) if tracing else fn)
        for name, fn in self.sub_tools.items():
            self.interpreter.register_tool(name, fn)
        self.interpreter.set_variables(dict(self.inputs))
        start_background = getattr(self.interpreter, "start_background", None)
        if callable(start_background):  # boot the sandbox while the model writes its first reply
            start_background()
        self.trace.write("run_start", signature=_describe_signature(self.sig), model=getattr(self.lm, "model", None),
                         inputs={k: {"type": type(v).__name__, "length": _length(v)} for k, v in self.inputs.items()},
                         limits=vars(self.budget.limits))
        outputs: dict[str, Any] | None = None
        stop: str | None = None
        try:
            while outputs is None:
                stop = self._stop_reason()
                if stop is not None:
                    break
                outputs = self._turn()
            if outputs is not None:
                return self._finish(outputs, "submit", extracted=False)
            return self._finish(self._extract(stop), stop, extracted=True)
        except (LMError, SandboxError, KeyboardInterrupt) as exc:
            # The work done so far travels with the error (``exc.partial``), so a caller can still report it.
            finished_by = "interrupted" if isinstance(exc, KeyboardInterrupt) else "error"
            exc.partial = self._prediction({}, finished_by, extracted=False)  # type: ignore[union-attr]
            raise

    def _stop_reason(self) -> str | None:
        if self.out_of_time:
            return "max_time"
        if self.repeats.stuck:
            return REPEATED_CODE
        budget = self.budget
        reason = budget.exhausted()
        if reason is not None:
            return reason
        refused = budget.first_refusal_iteration
        if refused is not None and budget.iterations - refused >= GRACE_TURNS_AFTER_SUB_CALL_BUDGET:
            return "max_llm_calls"
        if budget.iterations >= budget.limits.max_iterations:
            return "max_iterations"
        return None

    # ------------------------------------------------------------------------------------------- one turn

    def _turn(self) -> dict[str, Any] | None:
        budget = self.budget
        budget.iterations += 1
        iteration = budget.iterations
        before = budget.snapshot()
        t0 = time.perf_counter()
        try:
            completion = self._ask(self.history.messages(), iteration, "turn", budget.turn_time_left())
        except DeadlineExceeded:
            self.out_of_time = True
            self.trace.write("deadline", iteration=iteration, purpose="turn")
            return None
        parsed = parse_reply(completion.text)
        outputs: dict[str, Any] | None = None
        result: ExecutionResult | None = None
        self.repeats.see(parsed.code)
        repeated = self.repeats.message()
        if parsed.problem is not None or repeated is not None:
            body = parsed.problem or repeated or ""
        else:
            result = self._execute(parsed.code or "", iteration)
            body, outputs = self._observe(result)
            if outputs is None and parsed.notes:
                body += "".join(f"\nNote: {note}" for note in parsed.notes)
        if getattr(completion, "finish_reason", None) == "length" and outputs is None:
            body += "\n" + CUT_OFF_NOTE
        after = budget.snapshot()
        step = Step(
            iteration=iteration, reasoning=parsed.reasoning, code=parsed.code, output=body,
            duration=round(time.perf_counter() - t0, 4), prompt_tokens=after[0] - before[0],
            completion_tokens=after[1] - before[1], cost=after[2] - before[2], sub_calls=after[3] - before[3],
            error="no_code" if parsed.problem else REPEATED_CODE if repeated else (
                result.error_type if result and result.error else None),
            submitted=outputs is not None, state_lost=bool(result and result.state_lost),
        )
        self.trajectory.append(step)
        if self.rlm.verbose:
            _print_step(step, self.rlm.max_iterations)
        if self.rlm.on_step is not None:
            usage = budget.usage
            self.rlm.on_step(step, Progress(iteration, self.rlm.max_iterations, budget.llm_calls, usage.total_tokens,
                                            usage.cost, round(time.perf_counter() - self.t0, 3)))
        if outputs is None:
            summary = summarize_turn(iteration, parsed.reasoning, parsed.code, body)
            self.history.add(Turn(iteration, completion.text, observation(iteration, body, budget.line()), summary))
        return outputs

    def _ask(self, messages: list[dict[str, Any]], iteration: int, purpose: str, seconds: float | None) -> Any:
        """One root-model call, waited for at most ``seconds`` (DeadlineExceeded after that)."""
        model = getattr(self.lm, "model", "")
        request = with_cache_points(messages, model)
        self.trace.write("request", iteration=iteration, purpose=purpose, model=model, messages=request)
        capped = self.rlm.max_reply_tokens is not None and settings.takes_max_tokens(self.lm)
        cap = {"max_tokens": self.rlm.max_reply_tokens} if capped else {}
        completion = call_before(lambda: self.lm.complete(request, **cap), seconds)
        self.budget.record(completion, sub=False)
        self.trace.write("reply", iteration=iteration, purpose=purpose, text=completion.text,
                         prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
                         cost=completion.cost, duration=completion.duration,
                         finish_reason=completion.finish_reason)
        return completion

    def _execute(self, code: str, iteration: int) -> ExecutionResult:
        left = self.budget.turn_time_left()
        timeouts = [t for t in (self.rlm.execution_timeout, left) if t is not None]
        timeout = max(min(timeouts), 0.1) if timeouts else None
        if left is not None and timeout is not None and hasattr(self.interpreter, "overrun_cap"):
            # a host tool running at the cell's limit may not carry the cell past the run's time budget
            self.interpreter.overrun_cap = max(min(self.interpreter.overrun_cap, left - timeout), 0.0)
        t0 = time.perf_counter()
        try:
            result = self.interpreter.execute(code, timeout=timeout)
        except SandboxCrashedError as exc:
            result = ExecutionResult(error=f"SandboxCrashedError: {exc}", error_type="SandboxCrashedError",
                                     state_lost=True, duration=time.perf_counter() - t0)
        self.trace.write("execution", iteration=iteration, code=code, output=result.output, value=result.value,
                         error=result.error, error_type=result.error_type,
                         submit=None if result.submit is None else {"args": jsonable(result.submit.args),
                                                                    "kwargs": jsonable(result.submit.kwargs)},
                         state_lost=result.state_lost, notes=result.notes, duration=round(result.duration, 4))
        return result

    def _observe(self, result: ExecutionResult) -> tuple[str, dict[str, Any] | None]:
        parts: list[str] = []
        if result.state_lost and not any("restart" in note.lower() for note in result.notes):
            parts.append(STATE_LOST_NOTE)
        if result.output:
            parts.append(result.output.rstrip("\n"))
        if result.value is not None:
            parts.append(f"Out: {result.value}")
        if result.error:
            parts.append(f"Error: {result.error}")
        parts += [f"Note: {note}" for note in result.notes]
        outputs = None
        if result.submit is not None:
            try:
                outputs = bind_submit(self.sig, list(result.submit.args), dict(result.submit.kwargs))
            except ValueError as exc:
                parts.append(f"SUBMIT rejected: {exc}")
            else:
                parts.append("SUBMIT accepted.")
        body = "\n".join(parts) if parts else NO_OUTPUT_NOTE
        return truncate(body, self.rlm.max_output_chars), outputs

    # ------------------------------------------------------------------------------------------- ending

    def _extract(self, reason: str) -> dict[str, Any]:
        messages = self.history.messages()
        repeated = reason == REPEATED_CODE
        spent, limit = ((self.repeats.count, self.repeats.limit) if repeated
                        else self.budget.spent_and_limit(reason))
        skeleton = "{\n" + ",\n".join(
            f'  "{f.name}": <{f.type.render()}{": " + f.desc if f.desc else ""}>' for f in self.sig.outputs) + "\n}"
        why = (WHY_REPEATED if repeated else _WHY[reason]).format(limit=limit)
        instruction = EXTRACT_PROMPT.format(why=why, skeleton=skeleton)
        last = messages[-1]
        messages[-1] = {"role": last["role"], "content": last["content"] + "\n\n" + instruction}
        try:
            completion = self._ask(messages, self.budget.iterations, "extract", self.budget.time_left())
        except DeadlineExceeded as exc:
            raise BudgetExceededError(
                f"the run stopped at {reason} ({spent:g} of {limit:g}) and the extract step got no reply in the "
                f"time left ({exc}); raise --max-time or read error.partial.trajectory",
                budget=reason, spent=spent, limit=limit,
                partial=self._prediction({}, reason, extracted=False)) from None
        try:
            args, kwargs = extract_outputs(completion.text, self.sig.output_names)
            return bind_submit(self.sig, args, kwargs)
        except (ExtractError, ValueError) as exc:
            only = self.sig.outputs[0] if len(self.sig.outputs) == 1 else None
            if only is not None and only.type.name == "str" and completion.text.strip():
                return {only.name: completion.text.strip()}
            partial = self._prediction({}, reason, extracted=False)
            raise BudgetExceededError(
                f"the run stopped at {reason} ({spent:g} of {limit:g}) and the extract step's reply had no usable "
                f"answer ({exc}); raise the budget or read error.partial.trajectory",
                budget=reason, spent=spent, limit=limit, partial=partial) from None

    def _finish(self, outputs: dict[str, Any], finished_by: str, *, extracted: bool) -> Prediction:
        prediction = self._prediction(outputs, finished_by, extracted=extracted)
        self.trace.write("run_end", finished_by=finished_by, extracted=extracted, outputs=jsonable(outputs),
                         usage=prediction.usage.to_dict(), duration=prediction.duration)
        if self.rlm.verbose:
            print(f"── finished by {finished_by}{' (extracted)' if extracted else ''} after "
                  f"{prediction.iterations} turn(s), {prediction.duration:.1f} s, "
                  f"{prediction.usage.total_tokens:,} tokens, ${prediction.usage.cost:.4f}", file=sys.stderr)
        return prediction

    def _prediction(self, outputs: dict[str, Any], finished_by: str, *, extracted: bool) -> Prediction:
        budget = self.budget
        return Prediction(outputs=outputs, trajectory=list(self.trajectory), usage=budget.usage,
                          root_usage=budget.root_usage, sub_usage=budget.sub_usage, finished_by=finished_by,
                          extracted=extracted, iterations=budget.iterations, sub_calls=budget.llm_calls,
                          duration=round(time.perf_counter() - self.t0, 4))


def _describe_signature(sig: Signature) -> str:
    def side(fields: Any) -> str:
        return ", ".join(f"{f.name}: {f.type.render()}" for f in fields)

    return f"{side(sig.inputs)} -> {side(sig.outputs)}"


def _length(value: Any) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


def _print_step(step: Step, max_iterations: int) -> None:
    out = sys.stderr
    print(f"── turn {step.iteration}/{max_iterations} · {step.duration:.2f} s · {step.tokens:,} tokens · "
          f"${step.cost:.4f}" + (f" · {step.sub_calls} sub-call(s)" if step.sub_calls else "") + " ──", file=out)
    if step.reasoning:
        print(truncate(step.reasoning, VERBOSE_CHARS), file=out)
    if step.code:
        print("```python\n" + truncate(step.code, VERBOSE_CHARS) + "\n```", file=out)
    print("→ " + truncate(step.output, VERBOSE_CHARS).replace("\n", "\n  "), file=out)
