"""Where repo_auditor keeps its on-disk caches (symbol index, Pyodide snapshot, trees extracted at a ref).

``REPO_AUDITOR_CACHE_DIR`` wins; else ``$XDG_CACHE_HOME/repo_auditor``; else ``~/.cache/repo_auditor``.
Every cache is safe to delete: it is rebuilt on demand.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder inside the cache root."""
    root = os.environ.get("REPO_AUDITOR_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "repo_auditor"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
