"""The architecture report is titled with the project's name from its root build file, not the folder name."""

from __future__ import annotations

import shutil
from pathlib import Path

from repo_auditor.cli import main
from tests.gitrepo import GitRepo

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "architecture" / "python_app"


def test_title_is_the_project_name(runner, tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "checkout-1234")
    GitRepo.init(tmp_path / "checkout-1234").commit("import")
    result = runner.invoke(main, ["architecture", str(tmp_path / "checkout-1234"), "--no-llm", "--quiet"])
    assert result.exit_code == 0, result.stderr
    assert "\n# Architecture of shop at `" in result.stdout  # pyproject.toml: name = "shop"
