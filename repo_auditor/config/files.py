"""Where config files live and how they are read: the user's own file in the platform's config folder, and the
audited repository's ``.repo-auditor.toml`` (or ``[tool.repo_auditor]`` in its ``pyproject.toml``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping

from repo_auditor.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

APP_NAME = "repo-auditor"
USER_CONFIG_FILE = "config.toml"
REPOSITORY_CONFIG_FILE = ".repo-auditor.toml"
CONFIG_DIR_ENV = "REPO_AUDITOR_CONFIG_DIR"  # overrides the platform folder (tests, CI, several profiles)


def user_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's repo-auditor folder: ``$REPO_AUDITOR_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/repo-auditor``
    (``~/.config/repo-auditor``) on Linux, ``~/Library/Application Support/repo-auditor`` on macOS,
    ``%APPDATA%\\repo-auditor`` on Windows."""
    environ = os.environ if environ is None else environ
    if environ.get(CONFIG_DIR_ENV):
        return Path(environ[CONFIG_DIR_ENV]).expanduser()
    if sys.platform == "win32" and environ.get("APPDATA"):
        return Path(environ["APPDATA"]) / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / APP_NAME


def read_user_file(environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], str | None]:
    path = user_config_dir(environ) / USER_CONFIG_FILE
    return (load_toml(path), str(path)) if path.is_file() else ({}, None)


def read_repository_file(directory: Path) -> tuple[dict[str, Any], str | None]:
    """The settings table of the audited repository at ``directory`` and the file it came from, or ``({}, None)``."""
    dedicated = directory / REPOSITORY_CONFIG_FILE
    if dedicated.is_file():
        return load_toml(dedicated), str(dedicated)
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        table = load_toml(pyproject).get("tool", {}).get("repo_auditor")
        if isinstance(table, dict):
            return table, f"{pyproject} [tool.repo_auditor]"
    return {}, None


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}; fix or remove it") from None
