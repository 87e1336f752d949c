"""Repeated code: a model that sends the same code as in its previous turn is stuck (small models loop like this).

The second identical turn in a row is not run; the model is told to change course. The third ends the run early with
``finished_by="repeated_code"``, and the extract step asks for the answer as it does when a budget runs out.
"""

from __future__ import annotations

REPEATED_CODE = "repeated_code"  # Prediction.finished_by of a run stopped by this rule
MAX_IDENTICAL_TURNS = 3  # identical code this many turns in a row ends the run
REPEAT_NUDGE = ("Not run: this is the same code as your previous turn, so its output would be the same as above. "
                "Do something different (another search, another file, another question to llm_query), or SUBMIT "
                "your answer now.")
REPEAT_STOP = (f"Not run: the same code {MAX_IDENTICAL_TURNS} turns in a row. The run stops here and you will be "
               "asked for your answer.")
WHY_REPEATED = "you sent the same code {limit:g} turns in a row"


class RepeatWatch:
    """Counts how many turns in a row sent the same code (whitespace at line ends and blank lines ignored)."""

    def __init__(self, limit: int = MAX_IDENTICAL_TURNS):
        self.limit = limit
        self.previous: str | None = None
        self.count = 0

    def see(self, code: str | None) -> int:
        """Record a turn's code (None: no code ran) and return how many turns in a row sent it."""
        key = None if code is None else "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())
        if key is not None and key == self.previous:
            self.count += 1
        else:
            self.count = 0 if key is None else 1
        self.previous = key
        return self.count

    @property
    def stuck(self) -> bool:
        return self.count >= self.limit

    def message(self) -> str | None:
        """What the model is shown instead of running the code, or None when the code should run."""
        if self.count >= self.limit:
            return REPEAT_STOP
        if self.count >= 2:
            return REPEAT_NUDGE
        return None
