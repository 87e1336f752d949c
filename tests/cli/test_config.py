"""Config precedence: flag > env > current-directory file > audited-repository file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from repo_auditor import config
from repo_auditor.cli import main
from repo_auditor.errors import ConfigurationError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "repo", tmp_path / "cwd"


def test_defaults_when_nothing_is_set(dirs):
    repo, cwd = dirs
    repo.mkdir(), cwd.mkdir()
    cfg = config.resolve({}, repo_dir=repo, cwd=cwd, environ={})
    assert cfg.model is None and cfg.max_iterations == 20 and cfg.format == "markdown"
    assert set(cfg.sources.values()) == {"default"}


def test_each_layer_overrides_the_one_below(dirs):
    repo, cwd = dirs
    write(repo / ".repo-auditor.toml", 'model = "repo/m"\nmax_iterations = 5\nmax_llm_calls = 7\nmax_cost = 1.5\n')
    write(cwd / "pyproject.toml", '[tool.repo_auditor]\nmodel = "cwd/m"\nmax_iterations = 6\nmax_llm_calls = 8\n')
    env = {"REPO_AUDITOR_MODEL": "env/m", "REPO_AUDITOR_MAX_ITERATIONS": "9"}
    cfg = config.resolve({"model": "flag/m", "max_iterations": None}, repo_dir=repo, cwd=cwd, environ=env)
    assert cfg.model == "flag/m" and cfg.sources["model"] == "flag"
    assert cfg.max_iterations == 9 and cfg.sources["max_iterations"] == "env REPO_AUDITOR_MAX_ITERATIONS"
    assert cfg.max_llm_calls == 8 and cfg.sources["max_llm_calls"].endswith("pyproject.toml [tool.repo_auditor]")
    assert cfg.max_cost == 1.5 and cfg.sources["max_cost"].endswith(".repo-auditor.toml")


def test_dedicated_file_wins_over_pyproject_in_the_same_folder(tmp_path):
    write(tmp_path / ".repo-auditor.toml", 'model = "dedicated"\n')
    write(tmp_path / "pyproject.toml", '[tool.repo_auditor]\nmodel = "pyproject"\n')
    assert config.resolve({}, cwd=tmp_path, environ={}).model == "dedicated"


def test_audited_repository_cannot_redirect_requests_or_writes(dirs):
    repo, cwd = dirs
    cwd.mkdir()
    write(repo / ".repo-auditor.toml", 'api_base = "http://evil.example"\noutput = "/tmp/x"\nmodel = "ok/m"\nbogus = 1\n')
    cfg = config.resolve({}, repo_dir=repo, cwd=cwd, environ={})
    assert cfg.api_base is None and cfg.output is None
    assert cfg.model == "ok/m"
    text = "\n".join(cfg.ignored)
    assert "api_base (an audited repository may not set it)" in text
    assert "output (an audited repository may not set it)" in text
    assert "bogus (unknown setting)" in text


def test_invalid_values_name_the_setting_and_the_source(dirs):
    repo, cwd = dirs
    repo.mkdir(), cwd.mkdir()
    with pytest.raises(ConfigurationError, match=r"max_cost from env REPO_AUDITOR_MAX_COST is invalid \('-1'\)"):
        config.resolve({}, repo_dir=repo, cwd=cwd, environ={"REPO_AUDITOR_MAX_COST": "-1"})
    write(cwd / ".repo-auditor.toml", 'format = "pdf"\n')
    with pytest.raises(ConfigurationError, match="format from .*must be one of markdown, json"):
        config.resolve({}, cwd=cwd, environ={})


def test_broken_toml_is_a_clear_error(tmp_path):
    write(tmp_path / ".repo-auditor.toml", "model = \n")
    with pytest.raises(ConfigurationError, match="cannot read config file .*fix or remove it"):
        config.resolve({}, cwd=tmp_path, environ={})


def test_config_command_prints_values_and_sources(runner, tmp_path, monkeypatch):
    write(tmp_path / ".repo-auditor.toml", 'model = "file/m"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPO_AUDITOR_MAX_TIME", "60")
    result = runner.invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "file/m" in lines["model"] and ".repo-auditor.toml" in lines["model"]
    assert "60.0" in lines["max_time"] and "env REPO_AUDITOR_MAX_TIME" in lines["max_time"]
    assert "(default)" in lines["max_iterations"]


def test_config_errors_are_one_line_with_exit_1(runner, tmp_path, monkeypatch):
    write(tmp_path / ".repo-auditor.toml", "model = \n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["config"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot read config file")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_debug_shows_the_exception(runner, tmp_path, monkeypatch):
    write(tmp_path / ".repo-auditor.toml", "model = \n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["config", "--debug"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigurationError)
