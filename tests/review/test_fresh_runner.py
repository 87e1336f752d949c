"""The action's own steps on a fresh runner: the ``run:`` steps of action.yml, executed with bash in a new virtual
environment, with an EMPTY ``REPO_AUDITOR_CACHE_DIR`` (so the sandbox runtime must be fetched on first use), against
the local fake GitHub API and the local fake model server. ``uses:`` steps are played by the test: setup-python is
the new virtual environment, actions/cache starts empty, upload-sarif is checked by reading the SARIF file.

Honest shortcut, to keep it minutes rather than tens of minutes on a shared machine: the virtual environment sees
the development environment's installed dependencies through a ``.pth`` file (and links to their programs ``deno``
and ``rg``), so the action's unchanged install
step builds and installs this checkout of repo_auditor (hatchling comes from PyPI) but finds every dependency already
satisfied instead of downloading it. Pyodide is really fetched from the npm registry into the empty cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.review.conftest import introduce_sql_bug
from tests.review.test_post_and_incremental import open_pull
from tests.review.test_review_cli import SQL_FINDING, submit

ROOT = Path(__file__).resolve().parents[2]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

pytestmark = pytest.mark.slow


def action_env(step: dict, inputs: dict[str, str], github: dict[str, str]) -> dict[str, str]:
    """The step's ``env:`` with ``${{ a || b }}`` expressions over ``inputs.*`` and ``github.*`` evaluated."""

    def evaluate(match: re.Match[str]) -> str:
        for operand in match.group(1).split("||"):
            name = operand.strip()
            value = inputs.get(name.removeprefix("inputs."), "") if name.startswith("inputs.") else github.get(name, "")
            if value:
                return value
        return ""

    return {key: EXPRESSION.sub(evaluate, str(value)) for key, value in (step.get("env") or {}).items()}


def test_action_steps_review_a_pull_request_on_a_fresh_runner(shop, server, github, tmp_path):
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert any(str(s.get("uses", "")).startswith("actions/cache@") and s["with"]["path"] == "~/.cache/repo_auditor"
               for s in action["runs"]["steps"])  # the runtime is cached between runs
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs |= {"model": "openai/x", "api-key": "sk-fresh", "api-base": server.url, "package": str(ROOT),
               "github-token": github.token, "fail-on": "high", "incremental": "false"}
    venv = tmp_path / "runner-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "dev-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for program in ("deno", "rg"):  # the programs the deno and ripgrep wheels would have put there
        (venv / "bin" / program).symlink_to(Path(sysconfig.get_paths()["scripts"]) / program)
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    introduce_sql_bug(shop.repo)
    open_pull(github, shop, 7)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "base": {"sha": shop.base}}}))
    outputs = tmp_path / "github_output"
    outputs.touch()
    base_env = {key: value for key, value in os.environ.items() if not key.startswith(("REPO_AUDITOR_", "PYTHON"))}
    base_env |= {"PATH": f"{venv / 'bin'}:{base_env['PATH']}", "VIRTUAL_ENV": str(venv),
                 "REPO_AUDITOR_CACHE_DIR": str(cache), "GITHUB_OUTPUT": str(outputs),
                 "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": github.repository,
                 "GITHUB_API_URL": github.url}
    server.enqueue(submit([SQL_FINDING]))
    exit_code = None
    results = []
    for step in action["runs"]["steps"]:
        if "run" not in step:
            continue
        if step.get("if") and "exit-code == '3'" in step["if"] and exit_code != "3":
            continue
        env = base_env | action_env(step, inputs, {"github.event.pull_request.base.sha": shop.base})
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=shop.path, env=env, capture_output=True,
                              text=True, timeout=1200)
        results.append((step.get("name"), done.returncode, done.stderr[-2000:]))
        if step.get("id") == "review":
            exit_code = dict(line.split("=", 1) for line in outputs.read_text().split())["exit-code"]
    assert len(results) == 3, results
    install, review, fail = results
    assert install[1] == 0, install
    assert review[1] == 0, review  # exit 3 is deferred to the last step, after the SARIF upload
    assert "fetching the sandbox runtime (Pyodide" in review[2]  # fetched on first use, said once
    assert any(cache.joinpath("deno").rglob("pyodide.asm.wasm"))
    assert exit_code == "3" and fail[1] == 3
    sarif = json.loads((shop.path / "repo-auditor.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["ruleId"] == "security/injection"
    [review_posted] = github.reviews[7]
    assert "<!-- repo-auditor:review head=" in review_posted["body"]
    assert [c["path"] for c in github.review_comments[7]] == ["app/db.py"]
