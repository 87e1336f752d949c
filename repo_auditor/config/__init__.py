"""Effective settings for a run, and where each value came from.

Precedence, highest first:

1. command-line flags
2. environment variables (``REPO_AUDITOR_MODEL``, ``REPO_AUDITOR_MAX_COST``, ``REPO_AUDITOR_REVIEW_FOCUS``, ...)
3. the user's config file, ``config.toml`` in the platform's config folder (``~/.config/repo-auditor/`` on Linux;
   ``audit-repo config`` prints the path), with optional ``[review]``, ``[architecture]`` and ``[aliases]`` tables
4. built-in defaults

Then the audited repository's own file (``.repo-auditor.toml``, else ``[tool.repo_auditor]`` in its
``pyproject.toml``) may only narrow (see ``schema``): lower a budget that no flag set, add include/exclude globs, set
the review focus when the user has not. It never sets the model, the endpoint, keys, output paths, templates or a
higher budget; such keys are ignored and listed in ``Config.ignored``. Unknown keys and wrong types are errors in
every file, with a did-you-mean.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from repo_auditor.config.files import read_repository_file, read_user_file, user_config_dir
from repo_auditor.config.keys import KeyStore
from repo_auditor.config.schema import (
    ALIASES_SECTION,
    NARROW,
    PREFERENCE,
    SCOPE,
    SETTINGS,
    SETTINGS_BY_KEY,
    Setting,
    flatten,
)
from repo_auditor.errors import ConfigurationError

__all__ = ["Config", "KeyStore", "SETTINGS", "Setting", "resolve", "user_config_dir"]


@dataclass
class Config:
    """Resolved settings: ``values[key]`` and ``sources[key]`` (``flag``, ``env REPO_AUDITOR_X``, a file,
    ``default``). Top-level settings are attributes (``cfg.model``); sectioned ones are items
    (``cfg["review.focus"]``). ``repository_include`` are the audited repository's own include globs, which apply
    on top of ``include``."""

    values: dict[str, Any]
    sources: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # "file: key (reason)" for keys that were not applied
    user_file: str | None = None
    repository_file: str | None = None
    repository_include: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def describe(self) -> str:
        """The effective configuration, one line per setting, with where each value came from."""
        width = max(len(s.key) for s in SETTINGS)
        lines = [f"{s.key:<{width}}  {_shown(self.values[s.key]):<28}  ({self.sources[s.key]})" for s in SETTINGS]
        lines += [f"alias {name} = {model}" for name, model in sorted(self.aliases.items())]
        lines += [f"ignored: {note}" for note in self.ignored]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": {s.key: {"value": _jsonable(self.values[s.key]), "source": self.sources[s.key],
                                 "env_var": s.env_var} for s in SETTINGS},
            "aliases": dict(sorted(self.aliases.items())),
            "ignored": list(self.ignored),
            "user_file": self.user_file,
            "repository_file": self.repository_file,
            "repository_include": list(self.repository_include),
        }


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, tuple) else str(value)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def resolve(
    flags: Mapping[str, Any],
    *,
    repo_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Merge flags, environment, the user's file and defaults, then let the audited repository narrow (see the
    module docstring). ``flags`` maps setting keys to values (None and empty tuples mean "not given")."""
    environ = os.environ if environ is None else environ
    unknown = set(flags) - set(SETTINGS_BY_KEY)
    if unknown:
        raise ValueError(f"not settings: {', '.join(sorted(unknown))}")
    user_raw, user_file = read_user_file(environ)
    user_table = _flatten(user_raw, user_file)
    repo_table: dict[str, Any] = {}
    repo_file = None
    if repo_dir is not None:
        repo_raw, repo_file = read_repository_file(repo_dir.resolve())
        repo_table = _flatten(repo_raw, repo_file)

    layers = [
        ("flag", {k: v for k, v in flags.items() if v is not None and v != ()}, False),
        ("env", {s.key: environ[s.env_var] for s in SETTINGS if environ.get(s.env_var)}, True),
    ]
    if user_file:
        layers.append((user_file, {k: v for k, v in user_table.items() if k != ALIASES_SECTION}, False))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        values[setting.key], sources[setting.key] = setting.default, "default"
        for source, table, from_text in layers:
            if setting.key in table:
                label = f"env {setting.env_var}" if source == "env" else source
                values[setting.key] = _parse(setting, table[setting.key], label, from_text and source == "env")
                sources[setting.key] = label
                break

    aliases = _aliases(user_table.get(ALIASES_SECTION, {}), user_file)
    for key in ("model", "sub_model"):
        if values[key] in aliases:
            sources[key] = f"{sources[key]}, alias {values[key]}"
            values[key] = aliases[values[key]]
    config = Config(values, sources, aliases=aliases, user_file=user_file, repository_file=repo_file)
    if repo_file:
        _narrow(config, repo_table, repo_file)
    return config


def _flatten(table: dict[str, Any], source: str | None) -> dict[str, Any]:
    try:
        return flatten(table, source or "config")
    except ValueError as exc:
        raise ConfigurationError(f"{exc}; fix the file") from None


def _parse(setting: Setting, raw: Any, label: str, from_text: bool) -> Any:
    try:
        return setting.parse(raw, from_text)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{setting.key} from {label} is invalid ({raw!r}): {exc}") from None


def _aliases(table: Any, source: str | None) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                              for k, v in table.items()):
        raise ConfigurationError(f'{source}: [aliases] must map names to model names, e.g. fast = "openai/gpt-4o-mini"')
    return {k: v.strip() for k, v in table.items()}


def _narrow(config: Config, table: dict[str, Any], source: str) -> None:
    """Apply what the audited repository's file may set (see ``schema``); note everything it may not."""
    for key, raw in table.items():
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:  # [aliases]
            config.ignored.append(f"{source}: [{key}] (an audited repository may not define model aliases)")
            continue
        value = _parse(setting, raw, source, False)
        current, current_source = config.values[key], config.sources[key]
        if setting.repository == NARROW:
            if current_source == "flag":
                config.ignored.append(f"{source}: {key} = {_shown(value)} (the command line set {_shown(current)})")
            elif current is not None and value >= current:
                config.ignored.append(f"{source}: {key} = {_shown(value)} (an audited repository may only lower "
                                      f"it, and it is {_shown(current)})")
            else:
                config.values[key] = value
                config.sources[key] = f"{source}, lowered from {_shown(current)}"
        elif setting.repository == SCOPE:
            if key == "include":
                config.repository_include = value
            else:
                config.values[key] = (*current, *value)
                config.sources[key] = f"{current_source} + {source}" if current else source
        elif setting.repository == PREFERENCE and current_source == "default":
            config.values[key], config.sources[key] = value, source
        elif setting.repository != PREFERENCE:
            config.ignored.append(f"{source}: {key} (an audited repository may not set it; set it in your own "
                                  f"config file, {setting.env_var} or a flag)")
