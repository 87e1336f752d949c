"""Shared test setup. Area-specific fixtures live in each test folder's own conftest.py.

The user's cache (``~/.cache/repo_auditor``, or ``REPO_AUDITOR_CACHE_DIR``) is shared on purpose: it holds the Pyodide
download and snapshot, and the symbol cache is keyed by blob id, so sharing it is correct. Tests that need an empty
cache pass their own folder to the constructor.
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
