"""Effective settings for a run, and where each value came from.

Precedence, highest first:

1. command-line flags
2. environment variables (``REPO_AUDITOR_MODEL``, ``REPO_AUDITOR_MAX_COST``, ...: the setting's name upper-cased)
3. the config file of the current directory: ``.repo-auditor.toml``, else ``[tool.repo_auditor]`` in ``pyproject.toml``
4. the config file of the audited repository (same two places), limited to ``REPOSITORY_SETTINGS``
5. built-in defaults

The audited repository is untrusted: its config file may choose models and budgets, but never where requests go
(``api_base``), where files are written (``output``, ``trace``) or which templates run (``template_dir``). A key it may not
set is ignored and reported by ``audit-repo config``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from repo_auditor.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def _positive_int(value: Any) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _positive_float(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be a positive number")
    return number


def _text(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError("must be text")
    return str(value)


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).lower()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return parse


@dataclass(frozen=True)
class Setting:
    """One configurable value: its parser, default and a line of help."""

    name: str
    parse: Callable[[Any], Any]
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        return "REPO_AUDITOR_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("model", _text, None, "litellm model for the exploring model, e.g. openai/gpt-4o"),
    Setting("sub_model", _text, None, "cheaper model for llm_query sub-calls (default: the main model)"),
    Setting("api_base", _text, None, "base URL of an OpenAI-compatible or self-hosted endpoint"),
    Setting("max_iterations", _positive_int, 20, "most exploration turns"),
    Setting("max_llm_calls", _positive_int, 50, "most sub-model calls in one run"),
    Setting("max_output_chars", _positive_int, 10_000, "most characters of sandbox output shown per turn"),
    Setting("max_cost", _positive_float, None, "stop when the run has cost this many US dollars"),
    Setting("max_time", _positive_float, None, "stop after this many seconds"),
    Setting("max_depth", _positive_int, 1, "levels of runs: 2 or more lets the model start child runs (rlm_query)"),
    Setting("format", _choice("markdown", "json"), "markdown", "report format"),
    Setting("template_dir", _text, None, "folder of jinja2 templates overriding the shipped ones"),
    Setting("output", _text, None, "write the report to this file instead of stdout"),
    Setting("trace", _text, None, "write a JSONL trace of the run to this file"),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}

# What an audited repository's own config file may set (it is untrusted input).
REPOSITORY_SETTINGS = frozenset(
    {"model", "sub_model", "max_iterations", "max_llm_calls", "max_output_chars", "max_cost", "max_time", "format",
     "max_depth"}
)

CONFIG_FILE = ".repo-auditor.toml"


@dataclass
class Config:
    """Resolved settings: ``values[name]`` and ``sources[name]`` (``flag``, ``env REPO_AUDITOR_X``, a file, ``default``)."""

    values: dict[str, Any]
    sources: dict[str, str]
    ignored: list[str] = field(default_factory=list)  # "file: key (reason)" for keys that were not applied

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def describe(self) -> str:
        """The effective configuration, one line per setting, with where each value came from."""
        width = max(len(s.name) for s in SETTINGS)
        lines = [f"{s.name:<{width}}  {self.values[s.name]!s:<28}  ({self.sources[s.name]})" for s in SETTINGS]
        lines += [f"ignored: {note}" for note in self.ignored]
        return "\n".join(lines)


def read_config_file(directory: Path) -> tuple[dict[str, Any], str | None]:
    """The settings table found in ``directory`` and the file it came from, or ``({}, None)``."""
    dedicated = directory / CONFIG_FILE
    if dedicated.is_file():
        return _load_toml(dedicated), str(dedicated)
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        table = _load_toml(pyproject).get("tool", {}).get("repo_auditor")
        if isinstance(table, dict):
            return table, f"{pyproject} [tool.repo_auditor]"
    return {}, None


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}; fix or remove it") from None


def resolve(
    flags: Mapping[str, Any],
    *,
    repo_dir: Path | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Merge flags, environment, config files and defaults (see the module docstring for the order)."""
    environ = os.environ if environ is None else environ
    cwd = (cwd or Path.cwd()).resolve()
    layers: list[tuple[str, Mapping[str, Any], frozenset[str] | None]] = []
    ignored: list[str] = []

    repo_table, repo_file = ({}, None)
    if repo_dir is not None and repo_dir.resolve() != cwd:
        repo_table, repo_file = read_config_file(repo_dir.resolve())
    cwd_table, cwd_file = read_config_file(cwd)

    layers.append(("flag", {k: v for k, v in flags.items() if v is not None}, None))
    env_values = {s.name: environ[s.env_var] for s in SETTINGS if environ.get(s.env_var)}
    layers.append(("env", env_values, None))
    if cwd_file:
        layers.append((cwd_file, cwd_table, None))
    if repo_file:
        layers.append((repo_file, repo_table, REPOSITORY_SETTINGS))

    for source, table, allowed in layers[2:]:
        for key in table:
            if key not in SETTINGS_BY_NAME:
                ignored.append(f"{source}: {key} (unknown setting)")
            elif allowed is not None and key not in allowed:
                ignored.append(f"{source}: {key} (an audited repository may not set it)")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        values[setting.name], sources[setting.name] = setting.default, "default"
        for source, table, allowed in layers:
            if setting.name not in table or (allowed is not None and setting.name not in allowed):
                continue
            label = setting.env_var if source == "env" else source
            try:
                values[setting.name] = setting.parse(table[setting.name])
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(
                    f"{setting.name} from {'env ' + label if source == 'env' else label} is invalid "
                    f"({table[setting.name]!r}): {exc}"
                ) from None
            sources[setting.name] = f"env {label}" if source == "env" else label
            break
    return Config(values, sources, ignored)
