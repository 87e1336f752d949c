"""The progress display on stderr: what stage a run is in and what it has spent, while it runs.

* On a terminal: one line redrawn four times a second by ``rich`` (spinner, stage, turn k/N, sub-calls, tokens,
  cost or "cost unknown", elapsed), so the clock keeps moving while a model call is under way.
* Not on a terminal (CI logs, pipes): one plain line per stage and per turn. Under GitHub Actions
  (``GITHUB_ACTIONS=true``) each stage is a collapsible ``::group::``.
* ``--quiet`` (and ``--verbose``, which prints every turn itself): nothing.

Tokens and cost are read from the models' running totals (``LM.usage``), so sub-calls and the synthesis count as
they happen; cost is "unknown" as soon as one call had no known price.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterable, TextIO

# Redraws per second of the terminal line: enough for a ticking clock, cheap for the terminal.
REFRESH_PER_SECOND = 4


class RunProgress:
    """Use as a context manager around a run; ``stage(name)`` when a stage starts; pass ``on_step`` to the RLM.

    ``mode`` is ``"live"`` (terminal), ``"lines"`` or ``"off"``; ``for_command`` picks it from the flags and stderr.
    ``models``: the LM objects whose usage is shown (duplicates and None are skipped).
    """

    def __init__(self, mode: str, models: Iterable[Any] = (), *, stream: TextIO | None = None,
                 github_groups: bool = False, clock: Any = time.monotonic):
        self.mode = mode
        self.stream = stream or sys.stderr
        self.github_groups = github_groups and mode == "lines"
        self.models = list({id(m): m for m in models if m is not None}.values())
        self.clock = clock
        self.started = clock()
        self.stage_name = "starting"
        self.turn = 0
        self.max_turns: int | None = None
        self.sub_calls = 0
        self._live: Any = None
        self._spinner: Any = None
        self._group_open = False

    @classmethod
    def for_command(cls, *, quiet: bool, verbose: bool, models: Iterable[Any] = ()) -> RunProgress:
        if quiet or verbose:
            mode = "off"
        else:
            mode = "live" if sys.stderr.isatty() else "lines"
        return cls(mode, models, github_groups=os.environ.get("GITHUB_ACTIONS") == "true")

    # -- what the run reports ----------------------------------------------------------------------------------

    def stage(self, name: str) -> None:
        if name == self.stage_name:
            return
        self.stage_name = name
        if self.mode == "lines":
            self._end_group()
            if self.github_groups:
                self._write(f"::group::{name}")
                self._group_open = True
            else:
                self._write(f"[{self._elapsed()}] {name}")

    def on_step(self, step: Any, progress: Any) -> None:
        """``RLM(on_step=...)``: after each turn."""
        self.turn, self.max_turns, self.sub_calls = progress.iteration, progress.max_iterations, progress.sub_calls
        if self.mode == "lines":
            self._write(f"[{self._elapsed()}] {self.status()}")
        if getattr(step, "submitted", False) or progress.iteration >= progress.max_iterations:
            self.stage("synthesis and verification")

    # -- the line ----------------------------------------------------------------------------------------------

    def status(self) -> str:
        parts = [self.stage_name]
        if self.max_turns:
            parts.append(f"turn {self.turn}/{self.max_turns}")
            parts.append(f"{self.sub_calls} sub-call{'s' if self.sub_calls != 1 else ''}")
        if self.models:
            tokens = sum(m.usage.total_tokens for m in self.models)
            parts.append(f"{tokens:,} tokens")
            unknown = any(m.usage.unknown_cost_calls for m in self.models)
            parts.append("cost unknown" if unknown else f"${sum(m.usage.cost for m in self.models):.4f}")
        return " · ".join(parts)

    def _elapsed(self) -> str:
        return f"{self.clock() - self.started:5.0f} s"

    def __rich__(self) -> Any:
        self._spinner.update(text=f"{self.status()} · {self._elapsed().strip()}")
        return self._spinner

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def __enter__(self) -> RunProgress:
        if self.mode == "live":
            from rich.console import Console
            from rich.live import Live
            from rich.spinner import Spinner

            self._spinner = Spinner("dots")
            console = Console(file=self.stream, force_terminal=True)
            self._live = Live(self, console=console, refresh_per_second=REFRESH_PER_SECOND, transient=False,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self.mode == "lines" and exc_type is None:  # after a failure the error line says what happened
            self._write(f"[{self._elapsed()}] done: {self.status()}")
            self._end_group()

    def _end_group(self) -> None:
        if self._group_open:
            self._write("::endgroup::")
            self._group_open = False

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
