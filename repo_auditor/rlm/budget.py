"""The budgets of one RLM run and what has been spent against them. Thread-safe: sub-calls run in worker threads.

``max_iterations`` bounds root-model turns; ``max_llm_calls`` bounds sub-calls (``llm_query``; a batch of n costs n);
``max_cost`` (USD, root and sub-calls, known prices only), ``max_tokens`` (prompt + completion, root and sub-calls) and
``max_time`` (seconds of wall clock) bound the whole run.

``max_time`` includes the final answer: the turns stop when only the extract reserve is left (a tenth of
``max_time``, from 5 s to 60 s, never more than half), so the extract step can still ask for the answer inside it.
A child run (``rlm_query``, see ``children.py``) gets ``budget.child(max_iterations)``: its own turn count, and the
same sub-call, cost, token and time budgets as every other run in the tree. Each budget's ``usage`` and ``llm_calls``
count its own run and its descendants (what its ``Prediction`` reports); the limits are checked against the tree.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from repo_auditor.errors import BudgetExceededError
from repo_auditor.rlm.lm import Completion, Usage

# The share of max_time kept for the extract step (one model call answering from the history), with a floor (a
# call takes seconds even when the provider is quick) and a cap; never more than half of max_time.
EXTRACT_RESERVE_FRACTION = 0.1
EXTRACT_RESERVE_MIN_SECONDS = 5.0
EXTRACT_RESERVE_MAX_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """The limits of a run; ``None`` means unlimited."""

    max_iterations: int
    max_llm_calls: int
    max_cost: float | None = None
    max_tokens: int | None = None
    max_time: float | None = None


class _TreeSpend:
    """What a whole tree of runs (a run and its child runs) has spent; the run-wide limits apply to this."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.llm_calls = 0
        self.t0 = time.monotonic()
        self.lock = threading.Lock()


class RunBudget:
    """Counts spending for one run and says which limit, if any, is used up.

    ``usage`` / ``llm_calls``: this run and its child runs; ``root_usage``: this run's own model turns;
    ``sub_usage``: its sub-calls and everything its child runs spent."""

    def __init__(self, limits: Limits, *, parent: RunBudget | None = None):
        self.limits = limits
        self.parent = parent
        self.usage = Usage()
        self.root_usage = Usage()
        self.sub_usage = Usage()
        self.iterations = 0
        self.llm_calls = 0
        self.first_refusal_iteration: int | None = None  # turn in which a sub-call was first refused
        self._tree = parent._tree if parent is not None else _TreeSpend()
        self._lock = self._tree.lock

    def child(self, max_iterations: int) -> RunBudget:
        """The budget of a child run: its own ``max_iterations``, every other limit shared with this tree."""
        return RunBudget(replace(self.limits, max_iterations=max_iterations), parent=self)

    @property
    def tree_llm_calls(self) -> int:
        """Sub-calls (child runs included) taken by the whole tree: what ``max_llm_calls`` limits."""
        return self._tree.llm_calls

    def _ancestors(self) -> list[RunBudget]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def elapsed(self) -> float:
        return time.monotonic() - self._tree.t0

    def time_left(self) -> float | None:
        """Seconds left of the whole run (the extract reserve included), None without ``max_time``."""
        if self.limits.max_time is None:
            return None
        return self.limits.max_time - self.elapsed()

    def turn_time_left(self) -> float | None:
        """Seconds left for turns: ``time_left`` less the extract reserve."""
        left = self.time_left()
        if left is None or self.limits.max_time is None:
            return None
        wanted = self.limits.max_time * EXTRACT_RESERVE_FRACTION
        reserve = min(max(wanted, EXTRACT_RESERVE_MIN_SECONDS), EXTRACT_RESERVE_MAX_SECONDS, self.limits.max_time / 2)
        return left - reserve

    def record(self, completion: Completion, *, sub: bool) -> None:
        with self._lock:
            self._tree.usage.add(completion)
            self.usage.add(completion)
            (self.sub_usage if sub else self.root_usage).add(completion)
            for ancestor in self._ancestors():
                ancestor.usage.add(completion)
                ancestor.sub_usage.add(completion)

    def snapshot(self) -> tuple[int, int, float, int]:
        """(prompt tokens, completion tokens, cost, sub-calls) so far, for per-turn differences."""
        with self._lock:
            u = self.usage
            return u.prompt_tokens, u.completion_tokens, u.cost, self.llm_calls

    def exhausted(self) -> str | None:
        """The name of the first tree-wide limit used up (``max_cost``, ``max_tokens``, ``max_time``), or None."""
        lim = self.limits
        tree = self._tree.usage
        with self._lock:
            if lim.max_cost is not None and tree.cost >= lim.max_cost:
                return "max_cost"
            if lim.max_tokens is not None and tree.total_tokens >= lim.max_tokens:
                return "max_tokens"
        turn_time_left = self.turn_time_left()
        if turn_time_left is not None and turn_time_left <= 0:
            return "max_time"
        return None

    def spent_and_limit(self, budget: str) -> tuple[float, float]:
        lim, tree = self.limits, self._tree
        return {
            "max_iterations": (self.iterations, lim.max_iterations),
            "max_llm_calls": (tree.llm_calls, lim.max_llm_calls),
            "max_cost": (tree.usage.cost, lim.max_cost or 0.0),
            "max_tokens": (tree.usage.total_tokens, lim.max_tokens or 0),
            "max_time": (round(self.elapsed(), 3), lim.max_time or 0.0),
        }[budget]

    def reserve_sub_calls(self, count: int, *, what: str) -> None:
        """Take ``count`` sub-calls from the budget or raise ``BudgetExceededError`` with a message for the model."""
        reason = self.exhausted()
        if reason is not None:
            spent, limit = self.spent_and_limit(reason)
            self._refused()
            raise BudgetExceededError(
                f"{what} refused: the run's {_NAMES[reason]} budget is used up. No more sub-calls are possible; "
                f"SUBMIT your answer now from what you already have.",
                budget=reason, spent=spent, limit=limit)
        with self._lock:
            left = self.limits.max_llm_calls - self._tree.llm_calls
            if count <= left:
                self._tree.llm_calls += count
                for budget in (self, *self._ancestors()):
                    budget.llm_calls += count
                return
        self._refused()
        if left <= 0:
            message = (f"{what} refused: all {self.limits.max_llm_calls} sub-calls of this run are used. Do not call "
                       f"llm_query again: aggregate the answers you already have in Python and SUBMIT.")
        else:
            message = (f"{what} refused: it needs {count} sub-calls but only {left} of {self.limits.max_llm_calls} "
                       f"are left. Send at most {left} prompts (merge several snippets into one prompt), or "
                       f"aggregate in Python and SUBMIT.")
        raise BudgetExceededError(message, budget="max_llm_calls", spent=self._tree.llm_calls + count,
                                  limit=self.limits.max_llm_calls)

    def _refused(self) -> None:
        with self._lock:
            if self.first_refusal_iteration is None:
                self.first_refusal_iteration = self.iterations

    def line(self) -> str:
        """The budget line that ends each user message, e.g. ``[Budget: turn 3 of 20; sub-calls left 38 of 50]``."""
        lim, tree = self.limits, self._tree
        parts = [f"turn {min(self.iterations + 1, lim.max_iterations)} of {lim.max_iterations}",
                 f"sub-calls left {max(lim.max_llm_calls - tree.llm_calls, 0)} of {lim.max_llm_calls}"]
        with self._lock:
            if lim.max_cost is not None:
                parts.append(f"cost left ${max(lim.max_cost - tree.usage.cost, 0):.4f} of ${lim.max_cost:.2f}")
            elif tree.usage.cost > 0:
                parts.append(f"spent ${tree.usage.cost:.4f}")
            if lim.max_tokens is not None:
                parts.append(f"tokens left {max(lim.max_tokens - tree.usage.total_tokens, 0):,} of "
                             f"{lim.max_tokens:,}")
        if lim.max_time is not None:
            parts.append(f"time left {max(lim.max_time - self.elapsed(), 0):.0f} s of {lim.max_time:.0f} s")
        return "[Budget: " + "; ".join(parts) + "]"


_NAMES = {"max_cost": "cost", "max_tokens": "token", "max_time": "time"}
