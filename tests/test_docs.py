"""Docs that cannot drift: the README's test command is exactly what CI runs, and the help it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from repo_auditor.cli import main

ROOT = Path(__file__).resolve().parents[1]


def fenced_commands(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", body, re.S)


def test_ci_runs_exactly_the_readme_test_command():
    [command] = fenced_commands("Tests")
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert command in ci_lines


def test_quick_start_uses_commands_that_exist():
    [command] = fenced_commands("Quick start")
    assert "pip install ." in command
    for sub in re.findall(r"audit-repo (\w+)", command):
        if sub == "fixtures":  # audit-repo PATH ...: the default command
            continue
        assert sub in main.commands, sub
    assert (ROOT / "fixtures" / "audit_repo").is_dir()


def test_every_command_named_in_the_readme_has_help():
    readme = (ROOT / "README.md").read_text()
    for name in sorted(set(re.findall(r"^audit-repo (review|architecture|doctor|config)\b", readme, re.M))):
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.stdout
