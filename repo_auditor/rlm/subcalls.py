"""``llm_query`` and ``llm_query_batched``: the sandbox's way to call a sub-model, run on the host.

Both are registered in the interpreter as ordinary tools. They draw on the run's ``max_llm_calls`` budget (a batch of n
costs n, reserved before anything is sent) and on its cost / token / time budgets; a refusal raises
``BudgetExceededError`` inside the sandbox, where the model can catch it. A sub-model failure (``LMError``) does not
raise: it comes back as a string starting with ``[llm_query error`` in the answer's place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from repo_auditor.errors import LMError
from repo_auditor.rlm.budget import RunBudget
from repo_auditor.rlm.trace import cap

DEFAULT_MAX_WORKERS = 8  # concurrent sub-calls per batch: enough to hide latency, few enough for rate limits


def make_sub_call_tools(sub_lm: Any, budget: RunBudget, trace: Any,
                        max_workers: int = DEFAULT_MAX_WORKERS) -> dict[str, Callable[..., Any]]:
    """The two tool functions, bound to one run's sub-model, budget and trace."""

    def ask(prompt: str) -> str:
        t0 = time.perf_counter()
        try:
            completion = sub_lm.complete([{"role": "user", "content": prompt}])
        except LMError as exc:
            trace.write("sub_call", model=getattr(sub_lm, "model", None), prompt=cap(prompt),
                        error=f"{type(exc).__name__}: {exc}", duration=round(time.perf_counter() - t0, 4))
            return f"[llm_query error: {type(exc).__name__}: {exc}]"
        budget.record(completion, sub=True)
        trace.write("sub_call", model=completion.model, prompt=cap(prompt), text=cap(completion.text),
                    prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
                    cost=completion.cost, duration=round(time.perf_counter() - t0, 4))
        return completion.text

    def llm_query(prompt: str) -> str:
        """Ask a sub-model; it sees only `prompt`. Returns its answer as text. Counts as one sub-call.
        If the call fails, the answer is a string starting with "[llm_query error"."""
        if not isinstance(prompt, str):
            raise TypeError(f"llm_query takes one str prompt, got {type(prompt).__name__}; "
                            f"for a list of prompts use llm_query_batched")
        if not prompt.strip():
            raise ValueError("llm_query got an empty prompt; put the question and the text it is about in it")
        budget.reserve_sub_calls(1, what="llm_query")
        return ask(prompt)

    def llm_query_batched(prompts: list[str]) -> list[str]:
        """Ask the sub-model many prompts concurrently; answers come back in the same order. Each prompt counts as
        one sub-call. A failed item comes back as a string starting with "[llm_query error" in its slot."""
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
            raise TypeError(f"llm_query_batched takes a list of str prompts, got {type(prompts).__name__}")
        bad = [i for i, p in enumerate(prompts) if not isinstance(p, str)]
        if bad:
            raise TypeError(f"llm_query_batched: prompts[{bad[0]}] is {type(prompts[bad[0]]).__name__}, not str")
        if not prompts:
            return []
        budget.reserve_sub_calls(len(prompts), what="llm_query_batched")
        with ThreadPoolExecutor(max_workers=min(max_workers, len(prompts)),
                                thread_name_prefix="llm_query") as pool:
            return list(pool.map(ask, prompts))

    return {"llm_query": llm_query, "llm_query_batched": llm_query_batched}
