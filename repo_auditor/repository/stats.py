"""The blob-stats cache: line counts and binary flags per git blob id, which never change for a blob.

Stored in ``blob_stats.sqlite3`` in the cache folder, per blob id and per whole listing, so loading an unchanged tree
again is one lookup and a changed one reads only the new blobs.
"""

from __future__ import annotations

import array
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from repo_auditor.repository import cachedb
from repo_auditor.repository.entries import BlobStats, measure
from repo_auditor.repository.git import Git
from repo_auditor.repository.listing import Listing

# Bump when the measured statistics or their meaning change, so stale cache rows are ignored.
STATS_SCHEMA = "blob_stats_v2"
LISTING_SCHEMA = "listing_stats_v2"
# Reading files in chunks keeps memory flat for huge files (we still hash and count every byte).
READ_CHUNK_BYTES = 1 << 20
# The blob-stats cache
# ---------------------------------------------------------------------------------------------------------------


class StatsCache:
    """Blob statistics in sqlite, in two tables, so a second load of the same tree costs one lookup:

    * ``STATS_SCHEMA``: blob id -> stats, for trees that share most blobs with one seen before;
    * ``LISTING_SCHEMA``: digest of a whole list of blob ids -> the stats of all of them, packed.

    Safe for concurrent processes (WAL, busy timeout); a broken database file is deleted and rebuilt.
    """

    _LOOKUP_CHUNK = 900  # stays under SQLite's host-parameter limit on every build
    _KEEP_LISTINGS = 64  # whole-tree snapshots kept (oldest dropped): a few per repository and branch

    def __init__(self, path: Path):
        self.path = path
        self._db = cachedb.connect_disposable(
            self.path,
            f"CREATE TABLE IF NOT EXISTS {STATS_SCHEMA} (id TEXT PRIMARY KEY, size INTEGER, lines INTEGER,"
            " binary INTEGER, generated INTEGER) WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {LISTING_SCHEMA} (digest TEXT PRIMARY KEY, stats BLOB, used REAL)",
        )

    def lookup(self, blob_ids: list[str], measure: Callable[[list[str]], dict[str, BlobStats]]) -> list[BlobStats]:
        """Stats of ``blob_ids`` in order, from the cache where known; ``measure`` is called with the others."""
        digest = hashlib.sha1("\n".join(blob_ids).encode()).hexdigest()
        row = self._db.execute(f"SELECT stats FROM {LISTING_SCHEMA} WHERE digest = ?", (digest,)).fetchone()
        if row is not None:
            packed = array.array("q")
            packed.frombytes(row[0])
            if len(packed) == 3 * len(blob_ids):
                self._db.execute(f"UPDATE {LISTING_SCHEMA} SET used = julianday('now') WHERE digest = ?", (digest,))
                return [BlobStats(packed[i], packed[i + 1], bool(packed[i + 2] & 1), bool(packed[i + 2] & 2))
                        for i in range(0, len(packed), 3)]
        known = self._get_many(blob_ids)
        fresh = measure([blob_id for blob_id in blob_ids if blob_id not in known])
        self._put_many(fresh)
        known.update(fresh)
        ordered = [known[blob_id] for blob_id in blob_ids]
        packed = array.array("q")
        for stats in ordered:
            packed.extend((stats.size, stats.lines, int(stats.binary) | int(stats.generated_header) << 1))
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(f"INSERT OR REPLACE INTO {LISTING_SCHEMA} VALUES (?, ?, julianday('now'))",
                             (digest, packed.tobytes()))
            self._db.execute(f"DELETE FROM {LISTING_SCHEMA} WHERE digest NOT IN (SELECT digest FROM "
                             f"{LISTING_SCHEMA} ORDER BY used DESC LIMIT {self._KEEP_LISTINGS})")
        return ordered

    def _get_many(self, blob_ids: list[str]) -> dict[str, BlobStats]:
        found: dict[str, BlobStats] = {}
        for start in range(0, len(blob_ids), self._LOOKUP_CHUNK):
            chunk = blob_ids[start : start + self._LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT id, size, lines, binary, generated FROM {STATS_SCHEMA} WHERE id IN ({marks})", chunk
            )
            for blob_id, size, lines, binary, generated in rows:
                found[blob_id] = BlobStats(size, lines, bool(binary), bool(generated))
        return found

    def _put_many(self, items: dict[str, BlobStats]) -> None:
        if not items:
            return
        rows = [(k, s.size, s.lines, int(s.binary), int(s.generated_header)) for k, s in items.items()]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(f"INSERT OR IGNORE INTO {STATS_SCHEMA} VALUES (?, ?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()


# ---------------------------------------------------------------------------------------------------------------
def measure_missing(missing: list[str], listing: Listing, root: Path, gitcmd: Git | None, *,
               from_disk: bool) -> dict[str, BlobStats]:
    """Measure blobs the cache does not know: from the work tree's files, or streamed from the object database."""
    fresh: dict[str, BlobStats] = {}
    if from_disk:
        for blob_id in missing:
            rel = listing.need_stats[blob_id][0]
            full = os.path.join(root, rel)
            try:
                with open(full, "rb") as handle:
                    fresh[blob_id] = measure(iter(lambda: handle.read(READ_CHUNK_BYTES), b""))
            except OSError:  # vanished since git listed it; measure the committed blob instead
                assert gitcmd is not None
                fresh[blob_id] = measure([gitcmd.read_blob(blob_id)])
        return fresh
    assert gitcmd is not None

    def consume(blob_id: str, chunks: Iterator[bytes]) -> None:
        fresh[blob_id] = measure(chunks)

    gitcmd.stream_blobs(missing, consume)
    return fresh

