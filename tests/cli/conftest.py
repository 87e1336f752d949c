from __future__ import annotations

import pytest
from click.testing import CliRunner


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
