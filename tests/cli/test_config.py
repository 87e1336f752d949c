"""Config: flag > env > user file > default; the audited repository may only narrow; typos and wrong types are
errors; keys are stored 0600 and never shown."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from repo_auditor import config
from repo_auditor.cli import main
from repo_auditor.config.keys import KeyStore
from repo_auditor.errors import ConfigurationError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The user config folder (REPO_AUDITOR_CONFIG_DIR)."""
    return tmp_path / "home"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def resolve(home: Path, repo: Path | None = None, flags: dict | None = None, **env: str) -> config.Config:
    return config.resolve(flags or {}, repo_dir=repo, environ={"REPO_AUDITOR_CONFIG_DIR": str(home), **env})


def test_defaults_when_nothing_is_set(home, repo):
    cfg = resolve(home, repo)
    assert cfg.model is None and cfg.max_iterations == 20 and cfg.format == "markdown"
    assert cfg["review.focus"] == "general" and cfg["architecture.top"] == 12
    assert set(cfg.sources.values()) == {"default"}


def test_each_layer_overrides_the_one_below(home, repo):
    write(home / "config.toml", 'model = "user/m"\nmax_iterations = 6\nmax_llm_calls = 8\n'
                                '[review]\nfocus = "security"\n[architecture]\nsince = "12.weeks"\n')
    cfg = resolve(home, repo, {"model": "flag/m", "max_iterations": None},
                  REPO_AUDITOR_MODEL="env/m", REPO_AUDITOR_MAX_ITERATIONS="9")
    assert cfg.model == "flag/m" and cfg.sources["model"] == "flag"
    assert cfg.max_iterations == 9 and cfg.sources["max_iterations"] == "env REPO_AUDITOR_MAX_ITERATIONS"
    assert cfg.max_llm_calls == 8 and cfg.sources["max_llm_calls"].endswith("config.toml")
    assert cfg["review.focus"] == "security" and cfg["architecture.since"] == 84


@pytest.mark.parametrize("text, message", [
    ('modle = "openai/x"\n', re.escape("unknown setting 'modle'; did you mean 'model'?")),
    ('[review]\nfail_onn = "high"\n', re.escape("unknown setting 'fail_onn' in [review]; did you mean 'fail_on'?")),
    ('[reveiw]\nfocus = "security"\n', re.escape("unknown setting 'reveiw'; did you mean 'review'?")),
    ("model = 5\n", r"model from .* is invalid \(5\): must be text \(in quotes\), not a whole number"),
    ('max_iterations = "20"\n', "max_iterations .* must be a whole number, not text"),
    ("max_iterations = true\n", "max_iterations .* must be a whole number, not true/false"),
    ("max_cost = -1\n", "max_cost .* must be a positive number"),
    ('format = "pdf"\n', "format .* must be one of markdown, json"),
    ('include = "src/**"\nexclude = [1]\n', "exclude .* must be a list of glob patterns"),
    ('[architecture]\nsince = "3.years"\n', "not a history window"),
    ("review = 3\n", r"\[review\] must be a table"),
    ('[aliases]\nfast = 4\n', r"\[aliases\] must map names to model names"),
])
def test_typos_and_wrong_types_in_the_user_file_are_errors(home, text, message):
    write(home / "config.toml", text)
    with pytest.raises(ConfigurationError, match=message):
        resolve(home)


def test_typos_in_the_repository_file_are_errors_too(home, repo):
    write(repo / ".repo-auditor.toml", "max_iteratons = 3\n")
    with pytest.raises(ConfigurationError, match="did you mean 'max_iterations'"):
        resolve(home, repo)


def test_environment_values_are_converted_and_checked(home):
    assert resolve(home, REPO_AUDITOR_MAX_COST="0.5").max_cost == 0.5
    assert resolve(home, REPO_AUDITOR_EXCLUDE="vendor/**, *.min.js").exclude == ("vendor/**", "*.min.js")
    with pytest.raises(ConfigurationError, match=r"max_cost from env REPO_AUDITOR_MAX_COST is invalid \('-1'\)"):
        resolve(home, REPO_AUDITOR_MAX_COST="-1")


def test_the_repository_cannot_choose_the_model_endpoint_or_outputs(home, repo):
    write(repo / ".repo-auditor.toml", 'model = "evil/m"\napi_base = "http://evil.example"\noutput = "/tmp/x"\n'
                                       '[aliases]\nfast = "evil/m"\n[review]\nfail_on = "critical"\n')
    cfg = resolve(home, repo)
    assert cfg.model is None and cfg.api_base is None and cfg.output is None and cfg["review.fail_on"] is None
    assert cfg.aliases == {}
    text = "\n".join(cfg.ignored)
    for key in ("model", "api_base", "output", "review.fail_on"):
        assert f"{key} (an audited repository may not set it" in text
    assert "[aliases]" in text


def test_the_repository_cannot_turn_redaction_off(home, repo):
    write(repo / ".repo-auditor.toml", "redact = false\n")
    cfg = resolve(home, repo)
    assert cfg.redact is True and cfg.sources["redact"] == "default"
    assert any("redact (an audited repository may not set it" in note for note in cfg.ignored)
    assert resolve(home, repo, {"redact": False}).redact is False  # the user's flag does
    assert resolve(home, repo, REPO_AUDITOR_REDACT="off").redact is False  # and the user's environment


def test_the_repository_cannot_raise_budgets_through_pyproject(home, repo):
    """A target's pyproject.toml used to raise max_iterations; now it can only lower."""
    write(repo / "pyproject.toml", "[tool.repo_auditor]\nmax_iterations = 500\nmax_llm_calls = 10\n"
                                   "max_cost = 0.25\n[tool.repo_auditor.review]\ndiff_budget = 1000000\n")
    cfg = resolve(home, repo)
    assert cfg.max_iterations == 20 and cfg["review.diff_budget"] == 60_000
    assert cfg.max_llm_calls == 10 and "lowered from 50" in cfg.sources["max_llm_calls"]
    assert cfg.max_cost == 0.25  # no cost limit was set, so any limit lowers it
    assert any("max_iterations = 500 (an audited repository may only lower it, and it is 20)" in n
               for n in cfg.ignored)


def test_the_user_file_caps_and_the_repository_lowers_further(home, repo):
    write(home / "config.toml", "max_cost = 1.0\n")
    write(repo / ".repo-auditor.toml", "max_cost = 2.0\nmax_time = 60\n")
    cfg = resolve(home, repo)
    assert cfg.max_cost == 1.0 and cfg.max_time == 60.0


def test_a_flag_wins_over_the_repository(home, repo):
    write(repo / ".repo-auditor.toml", "max_iterations = 3\n")
    assert resolve(home, repo, {"max_iterations": 30}).max_iterations == 30
    assert resolve(home, repo).max_iterations == 3


def test_the_repository_adds_scope_and_a_default_focus(home, repo):
    write(repo / ".repo-auditor.toml", 'include = ["src/**"]\nexclude = ["vendor/**"]\n[review]\nfocus = "tests"\n')
    cfg = resolve(home, repo, {"exclude": ("*.lock",)})
    assert cfg.exclude == ("*.lock", "vendor/**") and cfg.repository_include == ("src/**",)
    assert cfg["review.focus"] == "tests"
    assert resolve(home, repo, {"review.focus": "security"})["review.focus"] == "security"


def test_aliases_from_the_user_file(home):
    write(home / "config.toml", '[aliases]\nfast = "openai/gpt-4o-mini"\n')
    cfg = resolve(home, flags={"model": "fast"})
    assert cfg.model == "openai/gpt-4o-mini" and cfg.sources["model"] == "flag, alias fast"


def test_broken_toml_is_a_clear_error(home):
    write(home / "config.toml", "model = \n")
    with pytest.raises(ConfigurationError, match="cannot read config file .*fix or remove it"):
        resolve(home)


# ----------------------------------------------------------------------------------------------- keys


def test_key_file_is_created_0600_and_the_environment_wins(tmp_path):
    store = KeyStore(tmp_path / "cfg" / "keys.json", environ={})
    old = os.umask(0o022)
    try:
        store.set("OpenAI", " sk-stored-123456 ")
    finally:
        os.umask(old)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.key_for("openai") == "sk-stored-123456"
    env_store = KeyStore(store.path, environ={"OPENAI_API_KEY": "sk-env"})
    assert env_store.key_for("openai") == "sk-env"
    assert env_store.status(["openai", "anthropic"]) == {"openai": "env OPENAI_API_KEY", "anthropic": None}
    assert store.status(["openai"]) == {"openai": "key file"}


def test_a_key_file_others_can_read_is_refused(tmp_path):
    store = KeyStore(tmp_path / "keys.json", environ={})
    store.set("openai", "sk-x")
    store.path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="readable by other users; run chmod 600"):
        store.key_for("openai")


# ----------------------------------------------------------------------------------------------- commands


@pytest.fixture
def cli_env(monkeypatch, home, tmp_path):
    monkeypatch.setenv("REPO_AUDITOR_CONFIG_DIR", str(home))
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "REPO_AUDITOR_MODEL", "REPO_AUDITOR_MAX_TIME"):
        monkeypatch.delenv(name, raising=False)
    return home


def test_config_command_prints_values_and_sources(runner, cli_env, monkeypatch):
    write(cli_env / "config.toml", 'model = "file/m"\n')
    monkeypatch.setenv("REPO_AUDITOR_MAX_TIME", "60")
    result = runner.invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "file/m" in lines["model"] and "config.toml" in lines["model"]
    assert "60.0" in lines["max_time"] and "env REPO_AUDITOR_MAX_TIME" in lines["max_time"]
    assert "(default)" in lines["max_iterations"]


def test_config_json_says_whether_keys_are_set_never_the_key(runner, cli_env, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value")
    KeyStore(cli_env / "keys.json").set("openai", "sk-openai-secret-value")
    result = runner.invoke(main, ["config", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["keys"]["openai"] == "key file" and data["keys"]["anthropic"] == "env ANTHROPIC_API_KEY"
    assert data["keys"]["mistral"] is None
    assert data["settings"]["max_iterations"] == {"value": 20, "source": "default",
                                                  "env_var": "REPO_AUDITOR_MAX_ITERATIONS"}
    assert data["user_config_dir"] == str(cli_env)
    assert "secret-value" not in result.stdout


def test_keys_set_reads_stdin_and_list_never_shows_the_key(runner, cli_env):
    result = runner.invoke(main, ["keys", "set", "openai"], input="sk-from-stdin-123456\n")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((cli_env / "keys.json").stat().st_mode) == 0o600
    assert json.loads((cli_env / "keys.json").read_text()) == {"openai": "sk-from-stdin-123456"}
    listing = runner.invoke(main, ["keys", "list"])
    assert listing.exit_code == 0
    assert "openai" in listing.stdout and "key file" in listing.stdout and "sk-from" not in listing.stdout


def test_keys_set_rejects_an_empty_key(runner, cli_env):
    result = runner.invoke(main, ["keys", "set", "openai"], input="\n")
    assert result.exit_code == 1
    assert "empty provider or key" in result.stderr


def test_config_errors_are_one_line_with_exit_1(runner, cli_env):
    write(cli_env / "config.toml", "model = \n")
    result = runner.invoke(main, ["config"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot read config file")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_debug_shows_the_exception(runner, cli_env):
    write(cli_env / "config.toml", "model = \n")
    result = runner.invoke(main, ["config", "--debug"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigurationError)
