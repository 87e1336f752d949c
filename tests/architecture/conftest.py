"""Fixtures for the architecture tests: sample repositories opened with the real loader, scripted git
histories, and a real Mermaid parser (mermaid + jsdom under node, installed once into the user cache by
npm)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from repo_auditor.architecture import Inventory, build_inventory
from repo_auditor.repository import Repository
from repo_auditor.repository.cache import cache_dir
from tests.gitrepo import git_env

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "architecture"

MERMAID_PACKAGES = ("mermaid@11.17.2", "jsdom@29.1.1")
NPM_INSTALL_TIMEOUT_SECONDS = 300

_MERMAID_CHECK = r"""
import { JSDOM } from 'jsdom';
import fs from 'node:fs';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ['DOMParser', 'Element', 'HTMLElement', 'Node']) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
const results = [];
for (const text of JSON.parse(fs.readFileSync(0, 'utf8'))) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ ok: false, error: String((error && error.message) || error) });
  }
}
process.stdout.write(JSON.stringify(results));
"""


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def inventory_of(tmp_path: Path, cache: Path) -> Callable[..., Inventory]:
    """Copy ``fixtures/architecture/<name>`` to a temporary folder (outside this checkout's git) and analyse
    it."""

    def build(name: str, **options) -> Inventory:
        target = tmp_path / name
        if not target.exists():
            shutil.copytree(FIXTURES / name, target)
        with Repository.open(target, cache_root=cache) as repo:
            return build_inventory(repo, cache_path=cache, **options)

    return build


class ScriptedHistory:
    """A git repository whose commits get the author and the day (since 2024-01-01) a test chooses."""

    START = 1_704_067_200  # 2024-01-01T00:00:00Z

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.path, env=git_env(), capture_output=True, text=True)
        assert done.returncode == 0, f"git {args} failed: {done.stderr}"
        return done.stdout

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def commit(self, message: str, *, author: str, day: int) -> str:
        self.git("add", "-A")
        when = f"@{self.START + day * 86400} +0000"
        env = {
            **git_env(),
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": f"{author.lower()}@example.com",
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
        }
        done = subprocess.run(
            ["git", "commit", "-q", "-m", message], cwd=self.path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def scripted_history(tmp_path: Path) -> ScriptedHistory:
    return ScriptedHistory(tmp_path / "history")


@pytest.fixture(scope="session")
def mermaid_parse() -> Callable[[list[str]], list[dict]]:
    """Parse Mermaid texts with the real mermaid parser; returns ``[{"ok": bool, "error"?: str}, ...]``.

    Needs node and npm. The packages are installed once into ``cache_dir("test-tools")``; CI can pre-install
    them with the command in the failure message below.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    folder = cache_dir("test-tools", "mermaid-" + "-".join(p.replace("@", "") for p in MERMAID_PACKAGES))
    command = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), *MERMAID_PACKAGES]
    if node is None or npm is None:
        pytest.fail("the Mermaid syntax tests need node and npm on PATH (apt-get install nodejs npm)")
    if not (folder / "node_modules" / "mermaid" / "package.json").exists():
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=NPM_INSTALL_TIMEOUT_SECONDS,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )
        if done.returncode != 0:
            pytest.fail(f"could not install the Mermaid parser ({' '.join(command)}): {done.stderr[-2000:]}")
    script = folder / "check.mjs"
    script.write_text(_MERMAID_CHECK, encoding="utf-8")

    def parse(texts: list[str]) -> list[dict]:
        done = subprocess.run(
            [node, str(script)],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=folder,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    return parse
