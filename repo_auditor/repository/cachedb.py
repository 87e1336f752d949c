"""Opening the sqlite files that back repo_auditor's disposable caches (file stats, symbols, import scans).

Several processes may open the same cache at once (two audits, the symbol workers). sqlite's busy timeout covers
ordinary reads and writes, but switching a new file to WAL mode can fail at once with "database is locked" while
another process is doing the same; ``connect`` retries the whole setup until ``BUSY_TIMEOUT_SECONDS`` pass.
``is_locked`` tells a lock (wait) from a damaged file (rebuild or report), which callers must never confuse: deleting a
cache because another process holds its lock would throw away good data.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

# How long to wait for another process holding the cache before giving up.
BUSY_TIMEOUT_SECONDS = 30.0
_RETRY_PAUSE_SECONDS = 0.05


def is_locked(exc: BaseException) -> bool:
    """True when ``exc`` means another connection holds the database, not that the file is damaged."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def connect(path: Path, *statements: str, timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """A connection in WAL mode (autocommit, shareable across threads) after running ``statements`` (the schema).

    Raises ``sqlite3.DatabaseError`` when the file is damaged, or when it stays locked for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for statement in statements:
                db.execute(statement)
            return db
        except sqlite3.DatabaseError as exc:
            db.close()
            if not is_locked(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(_RETRY_PAUSE_SECONDS)


def connect_disposable(path: Path, *statements: str, timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """``connect``, but a damaged file (not a lock held by another process) is deleted and the cache started over:
    every cache is disposable. Raises ``sqlite3.DatabaseError`` only when even a fresh file cannot be opened."""
    try:
        return connect(path, *statements, timeout=timeout)
    except sqlite3.DatabaseError as exc:
        if is_locked(exc):  # held by another process for too long: not damaged, never delete it
            raise
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        return connect(path, *statements, timeout=timeout)
