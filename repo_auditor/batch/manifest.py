"""The batch manifest (TOML): which repositories, which jobs, and the settings they share.

::

    [settings]                       # shared by every job; a job may override any of them
    model = "openai/gpt-4o-mini"     # jobs that use a model (audit, review, architecture with model = true)
    sub_model = "openai/gpt-4o-mini" # llm_query sub-calls (default: model)
    api_base = "http://localhost:8000/v1"
    max_iterations = 20              # per run, as in `audit-repo`; also max_llm_calls, max_output_chars,
    max_cost = 0.50                  # max_time (seconds) and synthesize (true)
    since_days = 90                  # architecture: history window; top = 12
    budget = 200.0                   # USD for the whole batch: no model call starts once it is spent
    requests_per_minute = 500        # all workers together, across the cluster
    tokens_per_minute = 2_000_000

    repositories = ["../svc-a", "https://github.com/acme/api.git"]   # strings, or tables:
    [[repositories]]
    url = "https://github.com/acme/web.git"   # or path = "../web" (relative to this file)
    ref = "v2.1"                              # default HEAD: a branch, tag, SHA, or NAME~N
    name = "web"                              # default: the folder name, or host/owner/name of the URL

    [[jobs]]
    kind = "architecture"            # model = false: the deterministic inventory only
    model = false
    [[jobs]]
    kind = "audit"
    question = "Where is user input passed to SQL without parameters?"
    [[jobs]]
    kind = "review"                  # the change from the merge base of base and head to head
    base = "HEAD~10"
    focus = "security"               # general|security|correctness|performance|tests; question = "..." optional

A repository is always read at a commit (its ref's), never from the work tree, so every result has a stable key.
``load_manifest`` raises ``ConfigurationError`` naming the file, the entry and the fix for anything it cannot use.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repo_auditor.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

JOB_KINDS = ("architecture", "audit", "review")
REVIEW_FOCUS = ("general", "security", "correctness", "performance", "tests")
# A URL (scheme://...) or an scp-like remote (git@host:owner/name); anything else is a local path.
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.+-]+@[\w.-]+:)", re.I)
_CREDENTIALS = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", re.I)


@dataclass(frozen=True)
class Settings:
    """What every job shares; a job's own table may override any field."""

    model: str | None = None
    sub_model: str | None = None
    api_base: str | None = None
    max_iterations: int = 20
    max_llm_calls: int = 50
    max_output_chars: int = 10_000
    max_cost: float | None = None  # USD per run
    max_time: float | None = None  # seconds per run
    synthesize: bool = True
    since_days: int = 90
    top: int = 12
    budget: float | None = None  # USD for the whole batch
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None

    # Fields that change what a run produces (the rest steer the batch: where requests go, how fast, how much).
    MODEL_FIELDS = ("model", "sub_model", "max_iterations", "max_llm_calls", "max_output_chars", "max_cost",
                    "max_time")


_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,), "sub_model": (str,), "api_base": (str,), "max_iterations": (int,), "max_llm_calls": (int,),
    "max_output_chars": (int,), "max_cost": (int, float), "max_time": (int, float), "synthesize": (bool,),
    "since_days": (int,), "top": (int,), "budget": (int, float), "requests_per_minute": (int,),
    "tokens_per_minute": (int,),
}
_POSITIVE = {"max_iterations", "max_llm_calls", "max_output_chars", "max_cost", "max_time", "since_days", "top",
             "budget", "requests_per_minute", "tokens_per_minute"}


@dataclass(frozen=True)
class RepositorySpec:
    """One repository of the batch: a local folder or a git URL, read at ``ref``."""

    name: str
    location: str  # the absolute folder, or the URL as written
    is_url: bool
    ref: str = "HEAD"

    @property
    def identity(self) -> str:
        """What the result key uses: the folder, or the URL without credentials."""
        return _CREDENTIALS.sub(r"\1", self.location) if self.is_url else self.location

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class JobSpec:
    """One job run on every repository. ``options`` are the kind's own (question, base, head, focus, model)."""

    name: str
    kind: str
    settings: Settings
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_model(self) -> bool:
        return self.kind != "architecture" or bool(self.options.get("model", True))

    def key_settings(self) -> dict[str, Any]:
        """The settings that change this job's result (part of its key)."""
        chosen: dict[str, Any] = {}
        if self.kind == "architecture":
            chosen.update(since_days=self.settings.since_days, top=self.settings.top)
        if self.uses_model:
            chosen.update({name: getattr(self.settings, name) for name in Settings.MODEL_FIELDS})
            if self.kind == "audit":
                chosen["synthesize"] = self.settings.synthesize
        return chosen

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "options": dict(self.options),
                "settings": dataclasses.asdict(self.settings)}


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: ``repositories`` x ``jobs`` is the batch."""

    path: Path
    settings: Settings
    repositories: tuple[RepositorySpec, ...]
    jobs: tuple[JobSpec, ...]


def load_manifest(path: str | Path) -> Manifest:
    """Read and check the manifest at ``path`` (see the module docstring for the format)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"no manifest at {path}; pass the path of a batch manifest (.toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the manifest {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"settings", "repositories", "jobs"})
    if unknown:
        raise ConfigurationError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; "
                                 "use [settings], repositories and [[jobs]]")
    settings = _settings(path, "[settings]", Settings(), _table(path, "[settings]", data.get("settings", {})))
    repositories = tuple(_repositories(path, data.get("repositories")))
    jobs = tuple(_jobs(path, settings, data.get("jobs")))
    return Manifest(path=path, settings=settings, repositories=repositories, jobs=jobs)


def _table(path: Path, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigurationError(f"{path}: {where} must be a table, got {type(value).__name__}")
    return value


def _settings(path: Path, where: str, base: Settings, values: dict[str, Any]) -> Settings:
    changes = {}
    for name, value in values.items():
        if name not in _SETTING_TYPES:
            raise ConfigurationError(f"{path}: {where} has unknown setting {name!r}; known: "
                                     f"{', '.join(_SETTING_TYPES)}")
        types = _SETTING_TYPES[name]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise ConfigurationError(f"{path}: {where} {name} must be {wanted}, got {value!r}")
        if name in _POSITIVE and value <= 0:
            raise ConfigurationError(f"{path}: {where} {name} must be positive, got {value!r}")
        changes[name] = float(value) if float in types else value
    return dataclasses.replace(base, **changes)


def _repositories(path: Path, entries: Any) -> list[RepositorySpec]:
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{path}: no repositories; add repositories = [\"path/or/url\", ...] "
                                 "or [[repositories]] tables")
    specs: list[RepositorySpec] = []
    for number, entry in enumerate(entries, 1):
        where = f"repository #{number}"
        if isinstance(entry, str):
            entry = {"url" if _URL.match(entry) else "path": entry}
        entry = _table(path, where, entry)
        unknown = sorted(set(entry) - {"path", "url", "ref", "name"})
        if unknown:
            raise ConfigurationError(f"{path}: {where} has unknown key(s) {', '.join(unknown)}; "
                                     "use path or url, ref, name")
        if ("path" in entry) == ("url" in entry):
            raise ConfigurationError(f"{path}: {where} needs exactly one of path = \"...\" or url = \"...\"")
        for key in ("path", "url", "ref", "name"):
            if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
                raise ConfigurationError(f"{path}: {where} {key} must be a non-empty string")
        if "url" in entry:
            location, is_url = entry["url"].strip(), True
            default_name = _CREDENTIALS.sub(r"\1", location).split("://")[-1].split("@")[-1].replace(":", "/")
            default_name = default_name.removesuffix(".git").rstrip("/")
        else:
            location = str((path.parent / Path(entry["path"]).expanduser()).resolve())
            is_url, default_name = False, Path(location).name
        specs.append(RepositorySpec(name=entry.get("name", default_name), location=location, is_url=is_url,
                                    ref=entry.get("ref", "HEAD").strip()))
    _unique(path, "repository", [spec.name for spec in specs], 'give each a distinct name = "..."')
    return specs


def _jobs(path: Path, settings: Settings, entries: Any) -> list[JobSpec]:
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{path}: no jobs; add [[jobs]] tables with kind = \"architecture\", \"audit\" "
                                 "or \"review\"")
    jobs = []
    for number, entry in enumerate(entries, 1):
        entry = dict(_table(path, f"job #{number}", entry))
        kind = entry.pop("kind", None)
        if kind not in JOB_KINDS:
            raise ConfigurationError(f"{path}: job #{number} kind must be one of {', '.join(JOB_KINDS)}, "
                                     f"got {kind!r}")
        name = entry.pop("name", kind)
        where = f"job {name!r}"
        options = {key: entry.pop(key) for key in _OPTIONS[kind] if key in entry}
        overrides = {key: entry.pop(key) for key in list(entry) if key in _SETTING_TYPES}
        if entry:
            raise ConfigurationError(f"{path}: {where} has unknown key(s) {', '.join(sorted(entry))}; "
                                     f"a {kind} job takes {', '.join(_OPTIONS[kind]) or 'no options'} "
                                     "and any setting")
        _check_options(path, where, kind, options)
        job = JobSpec(name=name, kind=kind, settings=_settings(path, where, settings, overrides), options=options)
        if job.uses_model and not job.settings.model:
            fix = "or model = false for the inventory alone" if kind == "architecture" else ""
            raise ConfigurationError(f"{path}: {where} needs a model; set model = \"...\" in [settings] {fix}".strip())
        jobs.append(job)
    _unique(path, "job", [job.name for job in jobs], 'give each a distinct name = "..."')
    return jobs


_OPTIONS = {"architecture": ("model",), "audit": ("question",), "review": ("base", "head", "focus", "question")}


def _check_options(path: Path, where: str, kind: str, options: dict[str, Any]) -> None:
    if kind == "architecture" and not isinstance(options.get("model", True), bool):
        raise ConfigurationError(f"{path}: {where} model must be true or false (the model itself is set in "
                                 "[settings])")
    if kind == "audit" and (not isinstance(options.get("question"), str) or not options["question"].strip()):
        raise ConfigurationError(f"{path}: {where} needs question = \"...\"")
    if kind == "review":
        if not isinstance(options.get("base"), str) or not options["base"].strip():
            raise ConfigurationError(f"{path}: {where} needs base = \"...\" (e.g. \"HEAD~10\" or \"main\")")
        options.setdefault("focus", "general")
        if options["focus"] not in REVIEW_FOCUS:
            raise ConfigurationError(f"{path}: {where} focus must be one of {', '.join(REVIEW_FOCUS)}")
        for key in ("head", "question"):
            if key in options and not isinstance(options[key], str):
                raise ConfigurationError(f"{path}: {where} {key} must be a string")


def _unique(path: Path, what: str, names: list[str], fix: str) -> None:
    seen: set[str] = set()
    twice = sorted({name for name in names if name in seen or seen.add(name)})  # type: ignore[func-returns-value]
    if twice:
        raise ConfigurationError(f"{path}: {what} name(s) used twice: {', '.join(twice)}; {fix}")
