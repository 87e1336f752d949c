from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.gitrepo import GitRepo
from tests.support.openai_server import OpenAIServer

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "audit_repo"
QUESTION = "Where is user input passed to SQL without parameters?"
SQL_LINE = "query = \"SELECT * FROM users WHERE name = '%s'\" % name"
ENV_SECRET = "hunter2-very-secret"


@pytest.fixture
def shop(tmp_path: Path) -> GitRepo:
    shutil.copytree(FIXTURE, tmp_path / "shop")
    repo = GitRepo.init(tmp_path / "shop")
    repo.commit("import shop", tag="v1")
    repo.git("remote", "add", "origin", "git@github.com:acme/shop.git")
    return repo


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)  # no config file of ours is picked up
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-cli")
    for name in ("REPO_AUDITOR_MODEL", "REPO_AUDITOR_SUB_MODEL", "REPO_AUDITOR_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    # The scripted explorations are RLM runs; auto would answer the small fixture directly (tests that want the
    # direct strategy pass --strategy).
    monkeypatch.setenv("REPO_AUDITOR_STRATEGY", "rlm")
    with OpenAIServer() as srv:
        yield srv


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def own_config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads the real user's config file or key file."""
    folder = tmp_path_factory.mktemp("user-config")
    monkeypatch.setenv("REPO_AUDITOR_CONFIG_DIR", str(folder))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return folder
