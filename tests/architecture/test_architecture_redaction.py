"""Secrets in the repository's names and manifests reach neither the narrative model nor the architecture report:
the inventory (a package.json dependency given as a URL holding credentials), the file tree and the narrative's citations pass
through the redactor. The token is built at run time."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from repo_auditor.architecture import build_inventory
from repo_auditor.architecture.narrative import narrate
from repo_auditor.architecture.report import ArchitectureReport
from repo_auditor.audit.pipeline import Budgets
from repo_auditor.report import render_architecture
from repo_auditor.repository import Repository
from repo_auditor.tools.redaction import redact
from tests.architecture.conftest import FIXTURES
from tests.gitrepo import GitRepo
from tests.support.scripted_lm import ScriptedLM, code_reply


def test_a_url_with_credentials_in_a_manifest_reaches_neither_model_nor_report(tmp_path: Path):
    token = secrets.token_hex(20)
    url = f"git+https://deploy:{token}@git.example.com/acme/private-lib.git"
    text = json.dumps({"name": "web", "private": True, "main": "index.js", "dependencies": {"private-lib": url}},
                      indent=2) + "\n"
    shutil.copytree(FIXTURES / "python_app", tmp_path / "shop")
    (tmp_path / "shop" / "package.json").write_text(text)
    GitRepo.init(tmp_path / "shop").commit("import shop")
    number, shown = next((n, line) for n, line in enumerate(redact(text, "package.json").split("\n"), 1)
                         if "private-lib" in line)
    assert token not in shown
    with Repository.open(tmp_path / "shop", cache_root=tmp_path / "cache") as repo:
        raw = build_inventory(repo, cache_path=tmp_path / "cache", redact=False)
        assert token in json.dumps(raw.to_dict())  # the manifest value is in the inventory: the test means something
        inventory = build_inventory(repo, cache_path=tmp_path / "cache")
        cite = {"path": "package.json", "line": number, "evidence": shown.strip(), "claim": "a private dependency"}
        submit = {"overview": "A shop.", "components": [{"name": "shop", "purpose": "Orders.",
                                                          "citations": [cite]}], "risks": []}
        lm = ScriptedLM([
            code_reply("print(inventory['dependencies'])\nprint(repo_tree)\nprint(read_file('package.json'))",
                       "Look."),
            code_reply(f"SUBMIT(overview={submit['overview']!r}, components={submit['components']!r}, "
                       "risks=[])", "Done."),
        ])
        narrative = narrate(repo, raw, lm=lm, budgets=Budgets(max_iterations=3))  # even a raw inventory is redacted
    assert narrative.components[0].citations[0].verified is True
    sent = json.dumps(lm.requests)
    assert "private-lib" in sent and token not in sent
    report = ArchitectureReport(inventory, since_days=90, top_n=12, narrative=narrative)
    for text in (render_architecture(report), json.dumps(report.to_dict())):
        assert "private-lib" in text and token not in text


def test_the_command_redacts_the_report_unless_told_not_to_and_then_says_so(tmp_path: Path, monkeypatch):
    from click.testing import CliRunner

    from repo_auditor.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPO_AUDITOR_MODEL", raising=False)
    token = secrets.token_hex(20)
    shutil.copytree(FIXTURES / "python_app", tmp_path / "shop")
    (tmp_path / "shop" / "package.json").write_text(json.dumps(
        {"name": "web", "main": "index.js", "dependencies": {"lib": f"https://deploy:{token}@git.example.com/l.git"}}))
    GitRepo.init(tmp_path / "shop").commit("import shop")
    runner = CliRunner()
    redacted = runner.invoke(main, ["architecture", str(tmp_path / "shop"), "--format", "json"])
    assert redacted.exit_code == 0, redacted.stderr
    assert "git.example.com" in redacted.stdout and token not in redacted.stdout
    shown = runner.invoke(main, ["architecture", str(tmp_path / "shop"), "--no-redact"])
    assert shown.exit_code == 0, shown.stderr
    assert token in shown.stdout and "Warning: secret redaction was OFF for this run (--no-redact)" in shown.stdout
