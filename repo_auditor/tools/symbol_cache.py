"""The on-disk symbol cache: definitions per (parser version, language, git blob id), in one sqlite file.

Keyed by content, not path, so an unchanged file is parsed once across runs, refs, renames and repositories.
Safe for several processes at once: sqlite in WAL mode with a busy timeout; a row is written whole or not at
all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

from repo_auditor.parsing.definitions import Definition
from repo_auditor.repository import cachedb

DATABASE_NAME = "symbols.sqlite"

# sqlite's historic bound on "?" parameters per statement is 999; stay below it.
_LOOKUP_CHUNK = 900


class SymbolCache:
    """Definitions stored by key; ``key`` is built by the caller from parser version, language and blob id."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / DATABASE_NAME
        self._lock = threading.Lock()
        self._db = cachedb.connect_disposable(
            self.path,
            "CREATE TABLE IF NOT EXISTS definitions (key TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID",
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, list[Definition]]:
        """The cached definitions of every key that is present; absent keys are left out.

        Rows come back as plain ``[name, qualified_name, kind, start_line, end_line]`` lists, the fields of
        ``Definition`` in order (building named tuples for a whole repository costs more than the lookup
        itself).
        """
        keys = list(keys)
        found: dict[str, list[Definition]] = {}
        with self._lock:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, data FROM definitions WHERE key IN ({marks})", chunk)
                for key, data in rows:
                    found[key] = json.loads(data)
        return found

    def put_many(self, items: Iterable[tuple[str, list[Definition]]]) -> None:
        """Store definitions for many keys in one transaction."""
        rows = [(key, json.dumps(definitions, separators=(",", ":"))) for key, definitions in items]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO definitions (key, data) VALUES (?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
