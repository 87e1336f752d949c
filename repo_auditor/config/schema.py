"""Every setting a config file, the environment or a flag can give: its type, default, help, and what the audited
repository may do with it.

Values from TOML files are checked strictly (``model = 5`` is an error, not the model "5"); values from the
environment are text and are converted first (``REPO_AUDITOR_MAX_ITERATIONS=12``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable

# What the audited repository (untrusted) may do with a setting in its own config file.
TRUSTED = "trusted"  # nothing: model, endpoint, output paths, templates, gates are the user's decision
NARROW = "narrow"  # lower it (budgets): a higher value is ignored and reported
SCOPE = "scope"  # add to it (include/exclude globs narrow the file set further)
PREFERENCE = "preference"  # set it when the user has not (review focus)

# Larger history windows make `git log` slow on big histories (architecture.inventory.MAX_SINCE_DAYS).
MAX_SINCE_DAYS = 36_500
DAYS_PER_UNIT = {"day": 1, "week": 7, "month": 30}  # a month is 30 days: the window only needs to be roughly right
_SINCE = re.compile(r"(?P<count>\d{1,6})(?:\.(?P<unit>days?|weeks?|months?))?")

SEVERITIES = ("low", "medium", "high", "critical")
FOCUSES = ("general", "security", "correctness", "performance", "tests")
FORMATS = ("markdown", "json")
STRATEGIES = ("auto", "rlm", "direct")  # audit.direct.STRATEGIES
# One model reply's cap (audit.pipeline.Budgets.max_reply_tokens, rlm.loop.DEFAULT_MAX_REPLY_TOKENS).
DEFAULT_MAX_REPLY_TOKENS = 4_096


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def whole_number(minimum: int) -> Callable[[Any, bool], int]:
    def parse(value: Any, from_text: bool) -> int:
        if from_text:
            try:
                value = int(str(value).strip())
            except ValueError:
                raise ValueError("must be a whole number") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {_type_name(value)}")
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return parse


def positive_number(value: Any, from_text: bool) -> float:
    if from_text:
        try:
            value = float(str(value).strip())
        except ValueError:
            raise ValueError("must be a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, not {_type_name(value)}")
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number")
    return float(value)


def text(value: Any, from_text: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text (in quotes), not {_type_name(value)}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def boolean(value: Any, from_text: bool) -> bool:
    """true/false; from the environment also 1/0, yes/no, on/off."""
    if from_text and isinstance(value, str):
        word = value.strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ValueError("must be true or false")
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {_type_name(value)}")
    return value


def choice(*choices: str) -> Callable[[Any, bool], str]:
    def parse(value: Any, from_text: bool) -> str:
        word = text(value, from_text).lower()
        if word not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return word

    return parse


def samples(value: Any, from_text: bool) -> int | str:
    """A whole number of 1 or more, or "auto"."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return whole_number(1)(value, from_text)
    except ValueError:
        raise ValueError('must be a whole number of 1 or more, or "auto"') from None


def globs(value: Any, from_text: bool) -> tuple[str, ...]:
    """A list of glob patterns; from the environment, patterns separated by commas."""
    if from_text or isinstance(value, str):
        value = [part for part in str(value).split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, str) and p.strip() for p in value):
        raise ValueError('must be a list of glob patterns, e.g. ["src/**", "*.py"]')
    return tuple(p.strip() for p in value)


def history_window(value: Any, from_text: bool) -> int:
    """``90.days``, ``12.weeks``, ``6.months`` or a plain number of days -> whole days."""
    if isinstance(value, int) and not isinstance(value, bool):
        days = value
    elif isinstance(value, str) and (match := _SINCE.fullmatch(value.strip().lower())):
        days = int(match["count"]) * DAYS_PER_UNIT[(match["unit"] or "days").rstrip("s")]
    else:
        raise ValueError(f"{value!r} is not a history window; use e.g. 90.days, 12.weeks, 6.months or 90 (days)")
    if not 1 <= days <= MAX_SINCE_DAYS:
        raise ValueError(f"{value!r} is {days} days; the history window must be 1 to {MAX_SINCE_DAYS} days")
    return days


@dataclass(frozen=True)
class Setting:
    """One configurable value. ``key`` is ``name`` or ``section.name``; ``repository`` is what the audited
    repository may do with it (TRUSTED, NARROW, SCOPE or PREFERENCE)."""

    key: str
    parse: Callable[[Any, bool], Any]
    default: Any
    help: str
    repository: str = TRUSTED

    @property
    def env_var(self) -> str:
        return "REPO_AUDITOR_" + self.key.replace(".", "_").upper()


# Model calls: a slow local server (a large model on a CPU) can take minutes for one long reply.
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_RETRIES = 3

SETTINGS: tuple[Setting, ...] = (
    Setting("model", text, None, "the litellm model that explores (or an alias), e.g. openai/gpt-4o"),
    Setting("sub_model", text, None, "cheaper model for llm_query sub-calls (default: the main model)"),
    Setting("api_base", text, None, "base URL of an OpenAI-compatible endpoint (vLLM, Ollama, a proxy)"),
    Setting("timeout", positive_number, DEFAULT_TIMEOUT_SECONDS, "seconds to wait for one model reply"),
    Setting("retries", whole_number(0), DEFAULT_RETRIES,
            "retries of a model call after a rate limit, server error, timeout or connection failure"),
    Setting("max_iterations", whole_number(1), 20, "most exploration turns", NARROW),
    Setting("max_llm_calls", whole_number(1), 50, "most sub-model calls in one run", NARROW),
    Setting("max_output_chars", whole_number(1), 10_000, "most sandbox output characters shown per turn", NARROW),
    Setting("max_cost", positive_number, None, "stop when the run has cost this many US dollars", NARROW),
    Setting("max_time", positive_number, None, "stop after this many seconds", NARROW),
    Setting("max_reply_tokens", whole_number(1), DEFAULT_MAX_REPLY_TOKENS,
            "most tokens in one model reply (the request's max_tokens), so a runaway reply cannot eat the run",
            NARROW),
    Setting("strategy", choice(*STRATEGIES), "auto",
            "audit strategy: direct (the files in one prompt) when they fit the model's window, else rlm; or force "
            "rlm or direct"),
    Setting("samples", samples, "auto",
            "direct strategy: answers asked for; every answer's findings are kept and verified (helps small models); "
            "auto: 8 for a model with no price (local or self-hosted), else 1"),
    Setting("max_depth", whole_number(1), 1,
            "levels of runs: 2 or more lets the model start child runs (rlm_query)", NARROW),
    Setting("include", globs, (), "only files matching one of these globs (gitignore syntax)", SCOPE),
    Setting("exclude", globs, (), "leave out files matching these globs (gitignore syntax)", SCOPE),
    # TRUSTED: an audited repository must never switch off what keeps its own secrets from the model
    Setting("redact", boolean, True, "redact secrets from everything the model sees and the report quotes "
            "(false: the report says so)"),
    Setting("format", choice(*FORMATS), "markdown", "report format"),
    Setting("template_dir", text, None, "folder of jinja2 templates overriding the shipped ones"),
    Setting("output", text, None, "write the report to this file instead of stdout"),
    Setting("trace", text, None, "write a JSONL trace of the run to this file"),
    Setting("review.focus", choice(*FOCUSES), "general", "what a review looks for", PREFERENCE),
    Setting("review.fail_on", choice(*SEVERITIES), None,
            "exit 3 when a verified finding is at or above this severity"),
    Setting("review.diff_budget", whole_number(0), 60_000,
            "characters of diff given to the model in full; the rest is skimmed or listed", NARROW),
    Setting("architecture.since", history_window, 90,
            "history window for hotspots in days (90.days, 12.weeks, 6.months, 90)", NARROW),
    Setting("architecture.top", whole_number(1), 12,
            "components drawn in the graph; hotspots, largest files and functions listed", NARROW),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}
SECTIONS = frozenset(key.split(".")[0] for key in SETTINGS_BY_KEY if "." in key)
ALIASES_SECTION = "aliases"  # [aliases] fast = "openai/gpt-4o-mini": user files only


def did_you_mean(word: str, known: Any) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def flatten(table: dict[str, Any], source: str) -> dict[str, Any]:
    """``{"review": {"focus": "x"}, "model": "m"}`` -> ``{"review.focus": "x", "model": "m"}``; unknown keys and
    sections raise ValueError with a did-you-mean (``[aliases]`` is returned under ``"aliases"`` as is)."""
    flat: dict[str, Any] = {}
    top_level = [k for k in SETTINGS_BY_KEY if "." not in k] + sorted(SECTIONS) + [ALIASES_SECTION]
    for key, value in table.items():
        if key == ALIASES_SECTION:
            flat[key] = value
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ValueError(f"{source}: [{key}] must be a table of settings, not {_type_name(value)}")
            for name, inner in value.items():
                full = f"{key}.{name}"
                if full not in SETTINGS_BY_KEY:
                    names = [k.split(".", 1)[1] for k in SETTINGS_BY_KEY if k.startswith(key + ".")]
                    raise ValueError(f"{source}: unknown setting {name!r} in [{key}]{did_you_mean(name, names)} "
                                     f"(known: {', '.join(names)})")
                flat[full] = inner
        elif key in SETTINGS_BY_KEY:
            flat[key] = value
        else:
            raise ValueError(f"{source}: unknown setting {key!r}{did_you_mean(key, top_level)} "
                             "(`audit-repo config` lists every setting)")
    return flat
