"""What an RLM run returns: the output fields as attributes, plus how the run went."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from repo_auditor.rlm.lm import Usage


@dataclass
class Step:
    """One turn: what the model said and ran, what it saw, and what the turn cost (sub-calls included)."""

    iteration: int
    reasoning: str
    code: str | None
    output: str  # exactly what the model was shown (after truncation)
    duration: float = 0.0  # seconds, model call + execution
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    sub_calls: int = 0
    error: str | None = None  # a turn error (no code) or the code's error type
    submitted: bool = False  # SUBMIT was called and accepted
    state_lost: bool = False  # the sandbox restarted during this turn

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __getitem__(self, key: str) -> Any:  # dspy trajectories are dicts: step["code"]
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Progress:
    """Where a run stands after a turn, for progress displays (``RLM(on_step=...)``)."""

    iteration: int
    max_iterations: int
    sub_calls: int
    tokens: int
    cost: float
    elapsed: float  # seconds since the run started


@dataclass
class Prediction:
    """The outputs of a run (``result.answer``; also ``result["answer"]``) and its record.

    ``finished_by`` is ``"submit"`` or the budget that ended the run (``"max_iterations"``, ``"max_llm_calls"``,
    ``"max_cost"``, ``"max_tokens"``, ``"max_time"``), or ``"repeated_code"`` when the model sent the same code three
    turns in a row; ``extracted`` is True when the outputs came from the final
    extract step rather than from SUBMIT."""

    outputs: dict[str, Any]
    trajectory: list[Step] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    root_usage: Usage = field(default_factory=Usage)
    sub_usage: Usage = field(default_factory=Usage)
    finished_by: str = "submit"
    extracted: bool = False
    iterations: int = 0
    sub_calls: int = 0
    duration: float = 0.0

    def __getattr__(self, name: str) -> Any:
        outputs = self.__dict__.get("outputs", {})
        if name in outputs:
            return outputs[name]
        raise AttributeError(f"Prediction has no field {name!r}; outputs are {', '.join(outputs) or 'none'}")

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]

    def keys(self) -> list[str]:
        return list(self.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outputs": self.outputs, "finished_by": self.finished_by, "extracted": self.extracted,
            "iterations": self.iterations, "sub_calls": self.sub_calls, "duration": self.duration,
            "usage": self.usage.to_dict(), "trajectory": [s.to_dict() for s in self.trajectory],
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}"[:200] for k, v in self.outputs.items())
        return f"Prediction({fields}, finished_by={self.finished_by!r}, iterations={self.iterations})"
