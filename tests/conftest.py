"""Shared test setup. Area-specific fixtures live in each test folder's own conftest.py.

No test may reach a real model provider: provider keys from the developer's shell are removed, and the OpenAI and
Anthropic base URLs point at a closed local port, so a call that was not aimed at a test server fails at once.

The user's cache (``~/.cache/repo_auditor``, or ``REPO_AUDITOR_CACHE_DIR``) is shared on purpose: it holds the Pyodide
download and snapshot, and the symbol cache is keyed by blob id, so sharing it is correct. Tests that need an empty
cache pass their own folder to the constructor.
"""

from __future__ import annotations

import os

import pytest

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
for _key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "MISTRAL_API_KEY",
             "GROQ_API_KEY", "TOGETHERAI_API_KEY", "OPENROUTER_API_KEY", "AZURE_API_KEY", "REPO_AUDITOR_MODEL",
             "REPO_AUDITOR_SUB_MODEL", "REPO_AUDITOR_API_BASE"):
    os.environ.pop(_key, None)
_NOWHERE = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
os.environ["OPENAI_BASE_URL"] = os.environ["OPENAI_API_BASE"] = _NOWHERE
os.environ["ANTHROPIC_BASE_URL"] = os.environ["ANTHROPIC_API_BASE"] = _NOWHERE


@pytest.fixture(scope="session", autouse=True)
def _secret_rules_compiled() -> None:
    """Load the secret redactor's rule sets before any test runs. The first compile on a machine takes 15-60 s
    (then kingfisher caches it on disk): done here it counts against the session's first test setup, never inside
    a tool call that a sandbox or a test times."""
    from repo_auditor.tools import redaction

    redaction.redacted_spans("warm = 1\n")
