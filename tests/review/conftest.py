"""Fixtures for the review tests: a shop repository with a base branch ``main`` and head branches, a local
OpenAI-compatible server, the fake GitHub API, and the SARIF 2.1.0 schema (from npm, cached)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from repo_auditor.repository.cache import cache_dir
from tests.gitrepo import FIXTURES, GitRepo
from tests.review.fake_github import FakeGitHub
from tests.support.openai_server import OpenAIServer

# The SARIF schema ships inside this npm package (package/sarif-2.1.0.json); fetched once into the cache.
SARIF_NPM_PACKAGE = "@microsoft/sarif-multitool-linux@5.7.0"

SQL_FORMATTED = "cursor.execute(\"SELECT * FROM users WHERE name = '%s'\" % name)"
NEW_TOTAL = "def total(items, tax_rate, discount):"
OLD_CALL = "return total(cart[\"items\"], 0.2)"


@dataclass
class Shop:
    repo: GitRepo
    base: str  # SHA of main

    @property
    def path(self) -> Path:
        return self.repo.path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    """``main`` holds the fixture; the work tree is left on branch ``feature`` (created from main, no commits yet)."""
    shutil.copytree(FIXTURES / "review" / "shop", tmp_path / "shop")
    repo = GitRepo.init(tmp_path / "shop")
    base = repo.commit("import shop")
    repo.git("remote", "add", "origin", "git@github.com:acme/shop.git")
    repo.branch("feature")
    repo.switch("feature")
    return Shop(repo, base)


def introduce_sql_bug(repo: GitRepo) -> str:
    text = (repo.path / "app/db.py").read_text()
    repo.write("app/db.py", text.replace('cursor.execute("SELECT * FROM users WHERE name = ?", (name,))',
                                         SQL_FORMATTED))
    return repo.commit("format the query")


def change_signature(repo: GitRepo) -> str:
    repo.write("app/pricing.py", '"""Prices and totals."""\n\n\n' + NEW_TOTAL + "\n"
               '    subtotal = sum(item["price"] * item["qty"] for item in items) - discount\n'
               "    return round(subtotal * (1 + tax_rate), 2)\n")
    return repo.commit("discounts")


def clean_change(repo: GitRepo) -> str:
    repo.write("README.md", "# Shop\n\nA tiny shop. Run the tests with pytest.\n")
    return repo.commit("docs")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-review")
    for name in ("REPO_AUDITOR_MODEL", "REPO_AUDITOR_SUB_MODEL", "REPO_AUDITOR_API_BASE", "GITHUB_TOKEN",
                 "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    with OpenAIServer() as srv:
        yield srv


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch):
    with FakeGitHub(page_size=2) as gh:
        monkeypatch.setenv("GITHUB_TOKEN", gh.token)
        monkeypatch.setenv("GITHUB_REPOSITORY", gh.repository)
        yield gh


@pytest.fixture(scope="session")
def sarif_schema() -> dict:
    """The official SARIF 2.1.0 JSON schema, extracted from the npm package that ships it."""
    folder = cache_dir("test-tools", "sarif")
    target = folder / "sarif-2.1.0.json"
    if not target.is_file():
        if shutil.which("npm") is None:
            pytest.fail("the SARIF schema test needs npm on PATH (apt-get install npm) to fetch the schema")
        done = subprocess.run(["npm", "pack", SARIF_NPM_PACKAGE, "--silent", "--pack-destination", str(folder)],
                              capture_output=True, text=True, timeout=300, check=False)
        tarballs = sorted(folder.glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            pytest.fail(f"npm pack {SARIF_NPM_PACKAGE} failed: {done.stderr.strip()[-300:]}")
        with tarfile.open(tarballs[-1]) as tar:
            member = tar.extractfile("package/sarif-2.1.0.json")
            assert member is not None
            target.write_bytes(member.read())
        for tarball in tarballs:
            tarball.unlink()
    return json.loads(target.read_text(encoding="utf-8"))
