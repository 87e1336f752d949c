"""The CI integrations are well-formed and wired to the command as it exists: action.yml (composite action) and
examples/gitlab-ci.yml. Every option they pass must be one `audit-repo review` accepts."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from repo_auditor.cli import main

ROOT = Path(__file__).resolve().parents[2]


def review_options() -> set[str]:
    command = main.commands["review"]
    return {opt for param in command.params for opt in getattr(param, "opts", ())}


def test_action_is_a_composite_that_reviews_posts_and_uploads_sarif():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    uses = [step.get("uses", "") for step in action["runs"]["steps"]]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", "")  # inputs reach scripts only through env (no shell injection)
    review = next(s for s in action["runs"]["steps"] if s.get("id") == "review")
    assert review["env"]["MODEL_KEY"] == "${{ inputs.api-key }}"
    for option in re.findall(r"(--[a-z-]+)", review["run"]):
        assert option in review_options(), option


def test_gitlab_example_uses_existing_options():
    config = yaml.safe_load((ROOT / "examples" / "gitlab-ci.yml").read_text())
    script = " ".join(config["repo-auditor-review"]["script"])
    assert "audit-repo review" in script
    for option in re.findall(r"\s(--[a-z-]+)", script):
        assert option in review_options(), option
