"""Where repo_auditor keeps its on-disk caches (file stats, symbol index, Pyodide snapshot, trees extracted at a ref).

``REPO_AUDITOR_CACHE_DIR`` wins; else ``$XDG_CACHE_HOME/repo_auditor``; else ``~/.cache/repo_auditor``.
Every cache is safe to delete: it is rebuilt on demand. A cache root that cannot be written (a read-only home, a
full disk) never fails a run: the process switches to a temporary cache folder, removed at exit, and says so once
(a ``CacheWarning``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

_fallback: Path | None = None
_fallback_lock = threading.Lock()


class CacheWarning(UserWarning):
    """The cache folder could not be used; a temporary one serves this process."""


def cache_root() -> Path:
    """The configured cache root (not created)."""
    root = os.environ.get("REPO_AUDITOR_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "repo_auditor"


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder inside the cache root, or inside the temporary fallback when the root cannot
    be written."""
    base = _fallback or cache_root()
    path = base.joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
        _probe(path)
    except OSError as exc:
        path = _temporary_root(base, exc).joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
    return path


def _probe(folder: Path) -> None:
    """Raise OSError unless a file can be created in ``folder`` (``os.access`` misses read-only mounts)."""
    handle, name = tempfile.mkstemp(dir=folder, prefix=".probe-")
    os.close(handle)
    os.unlink(name)


def _temporary_root(failed: Path, exc: OSError) -> Path:
    global _fallback
    with _fallback_lock:
        if _fallback is None:
            _fallback = Path(tempfile.mkdtemp(prefix="repo_auditor-cache-"))
            atexit.register(shutil.rmtree, _fallback, ignore_errors=True)
            warnings.warn(f"the cache folder {failed} cannot be written ({exc.strerror or exc}); using a temporary "
                          f"cache for this run (set REPO_AUDITOR_CACHE_DIR to a writable folder to keep it)",
                          CacheWarning, stacklevel=3)
        return _fallback
