"""The results folder of a batch: shards of rows, a manifest of shards, the summary.

::

    RESULTS/
      shards.json                 the manifest: the shards that count, in order (written last, atomically)
      shards/000003-1f2e.runs.jsonl   .runs.parquet   .findings.jsonl   .findings.parquet
      summary.md                  the Markdown summary across repositories
      .lock                       held while a batch writes here

Writing a shard: its four files are written under temporary names and renamed, then ``shards.json`` is replaced by a
new version listing the shard. A crash before that leaves files no manifest lists: they are deleted the next time
the folder is opened, and their runs are done again; a crash after it loses nothing. Only the process holding
``.lock`` writes, so no row is ever written twice. ``compact()`` merges every shard into one (one JSONL and one
Parquet file per table), the same way: the new shard is listed before the old ones are deleted.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from repo_auditor.batch.rows import TABLES, arrow_schema, check_row
from repo_auditor.errors import ConfigurationError

MANIFEST = "shards.json"
FORMAT_VERSION = 1
TIMESTAMP_COLUMNS = {name for columns in TABLES.values() for name, kind in columns.items() if kind == "timestamp"}


class ResultStore:
    """A results folder opened for writing (``lock=True``, the default) or reading."""

    def __init__(self, root: str | Path, *, lock: bool = True):
        self.root = Path(root)
        self.shard_dir = self.root / "shards"
        self._lock_handle = None
        if lock:
            self.shard_dir.mkdir(parents=True, exist_ok=True)
            self._lock()
            self._remove_unlisted()
        elif not (self.root / MANIFEST).exists() and not self.shard_dir.is_dir():
            raise ConfigurationError(f"{self.root} holds no batch results; pass the folder a batch wrote "
                                     "(its --results)")

    # -- reading -------------------------------------------------------------------------------------------

    def shards(self) -> list[dict[str, Any]]:
        """The shards that count, as listed in the manifest."""
        path = self.root / MANIFEST
        if not path.exists():
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT_VERSION:
            raise ConfigurationError(f"{path} has format {data.get('format')!r}; this repo_auditor reads format "
                                     f"{FORMAT_VERSION}")
        return list(data["shards"])

    def files(self, table: str, fmt: str = "parquet") -> list[Path]:
        return [self.shard_dir / f"{shard['name']}.{table}.{fmt}" for shard in self.shards()]

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of ``table`` (``runs`` or ``findings``), from the JSONL files, timestamps as datetimes."""
        for path in self.files(table, "jsonl"):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    for name in TIMESTAMP_COLUMNS & set(row):
                        if row[name] is not None:
                            row[name] = dt.datetime.fromisoformat(row[name])
                    yield row

    def keys(self) -> set[str]:
        """The keys that have a run row: their runs are done (ok or failed) and are skipped."""
        import pyarrow.parquet as pq

        keys: set[str] = set()
        for path in self.files("runs"):
            keys.update(pq.read_table(path, columns=["key"]).column("key").to_pylist())
        return keys

    # -- writing -------------------------------------------------------------------------------------------

    def write_shard(self, runs: list[dict[str, Any]], findings: list[dict[str, Any]]) -> str | None:
        """Write one shard (both tables, JSONL and Parquet) and list it; returns its name (None when empty)."""
        if not runs:
            return None
        shards = self.shards()
        number = 1 + max((int(s["name"].split("-")[0]) for s in shards), default=0)
        name = f"{number:06d}-{uuid.uuid4().hex[:8]}"
        self._write_files(name, {"runs": runs, "findings": findings})
        self._write_manifest([*shards, {"name": name, "runs": len(runs), "findings": len(findings),
                                        "written_at": _now()}])
        return name

    def compact(self) -> None:
        """Merge every shard into one (same rows, same order), then delete the old files."""
        shards = self.shards()
        if len(shards) < 2:
            return
        runs, findings = list(self.rows("runs")), list(self.rows("findings"))
        number = 1 + max(int(s["name"].split("-")[0]) for s in shards)
        name = f"{number:06d}-{uuid.uuid4().hex[:8]}"
        self._write_files(name, {"runs": runs, "findings": findings})
        self._write_manifest([{"name": name, "runs": len(runs), "findings": len(findings), "written_at": _now(),
                               "compacted_from": len(shards)}])
        self._remove_unlisted()

    def write_text(self, name: str, text: str) -> Path:
        target = self.root / name
        _atomic_write(target, text.encode("utf-8"))
        return target

    def close(self) -> None:
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------------------

    def _lock(self) -> None:
        handle = open(self.root / ".lock", "a+", encoding="utf-8")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ConfigurationError(f"another batch is writing to {self.root} ({holder}); wait for it to finish "
                                     "or pass another --results folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle

    def _remove_unlisted(self) -> None:
        listed = {shard["name"] for shard in self.shards()}
        for path in self.shard_dir.iterdir():
            if path.name.split(".")[0] not in listed:
                path.unlink()

    def _write_files(self, name: str, tables: dict[str, list[dict[str, Any]]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        for table, rows in tables.items():
            checked = [check_row(table, row) for row in rows]
            lines = "".join(json.dumps(row, default=_json_value, ensure_ascii=False) + "\n" for row in checked)
            _atomic_write(self.shard_dir / f"{name}.{table}.jsonl", lines.encode("utf-8"))
            arrow = pa.Table.from_pylist(checked, schema=arrow_schema(TABLES[table]))
            target = self.shard_dir / f"{name}.{table}.parquet"
            tmp = target.with_name(f".{target.name}.tmp")
            pq.write_table(arrow, tmp)
            _fsync_file(tmp)
            os.replace(tmp, target)

    def _write_manifest(self, shards: list[dict[str, Any]]) -> None:
        data = {"format": FORMAT_VERSION, "shards": shards}
        _atomic_write(self.root / MANIFEST, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def _atomic_write(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSONL")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()
