"""On-disk cache of ``FileScan`` results keyed by content (scan version, parser versions, language, git blob
id).

An unchanged file is scanned once across runs, refs and renames. Safe for several processes: sqlite in WAL
mode.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterable

from repo_auditor import cachedb
from repo_auditor.architecture.scan import FileScan
from repo_auditor.errors import ConfigurationError

DATABASE_NAME = "architecture-scan.sqlite"
_CHUNK = 900  # below sqlite's historic limit of 999 parameters per statement


class ScanCache:
    """``FileScan`` by key; the key is built by the caller."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / DATABASE_NAME
        try:
            self._db = cachedb.connect(
                self.path, "CREATE TABLE IF NOT EXISTS scans (key TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID"
            )
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(
                f"the architecture cache {self.path} is unreadable ({exc}); "
                "delete it, it is rebuilt on demand"
            ) from exc

    def get_many(self, keys: Iterable[str]) -> dict[str, FileScan]:
        keys = list(keys)
        found = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows = self._db.execute(
                f"SELECT key, data FROM scans WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
            for key, data in rows:
                try:
                    found[key] = FileScan.from_json(json.loads(data))
                except (ValueError, TypeError):
                    continue  # a damaged row is scanned again
        return found

    def put_many(self, items: Iterable[tuple[str, FileScan]]) -> None:
        rows = [
            (key, json.dumps(scan.to_json(), ensure_ascii=False, separators=(",", ":")))
            for key, scan in items
        ]
        if rows:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO scans (key, data) VALUES (?, ?)", rows)

    def close(self) -> None:
        self._db.close()
