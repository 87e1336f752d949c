"""The two tables a batch writes: one row per run, one row per finding. Column names and types are stated once here;
JSONL and Parquet carry the same columns, and ``audit-repo batch query`` sees them as tables ``runs`` and
``findings`` (join on ``key``).

runs
    key, repository, location, ref, commit, base, job, kind, status (``ok`` | ``failed``), partial (a run budget cut
    the run short; the result was extracted), finished_by, error_type, error (one line: why it failed), headline,
    findings, verified, worst_severity, calls, prompt_tokens, completion_tokens, cost_usd (null: unknown price),
    seconds, attempts (worker processes that ran it; more than 1 after a worker was lost), worker (host:pid),
    started_at, finished_at (UTC), repo_auditor_version

findings
    key, repository, commit, job, kind, fingerprint (stable: path, title and evidence, not line numbers), severity,
    severity_rank (0 info .. 4 critical), category, title, path, line, end_line, verified (null: not checked),
    finished_at
"""

from __future__ import annotations

from typing import Any

RUN_COLUMNS: dict[str, str] = {
    "key": "string", "repository": "string", "location": "string", "ref": "string", "commit": "string",
    "base": "string", "job": "string", "kind": "string", "status": "string", "partial": "bool",
    "finished_by": "string", "error_type": "string", "error": "string", "headline": "string", "findings": "int64",
    "verified": "int64", "worst_severity": "string", "calls": "int64", "prompt_tokens": "int64",
    "completion_tokens": "int64", "cost_usd": "float64", "seconds": "float64", "attempts": "int64",
    "worker": "string", "started_at": "timestamp", "finished_at": "timestamp", "repo_auditor_version": "string",
}
FINDING_COLUMNS: dict[str, str] = {
    "key": "string", "repository": "string", "commit": "string", "job": "string", "kind": "string",
    "fingerprint": "string", "severity": "string", "severity_rank": "int64", "category": "string",
    "title": "string", "path": "string", "line": "int64", "end_line": "int64", "verified": "bool",
    "finished_at": "timestamp",
}
TABLES = {"runs": RUN_COLUMNS, "findings": FINDING_COLUMNS}
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def arrow_schema(columns: dict[str, str]) -> Any:
    """The pyarrow schema of a table (timestamps in microseconds, UTC)."""
    import pyarrow as pa

    types = {"string": pa.string(), "bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(),
             "timestamp": pa.timestamp("us", tz="UTC")}
    return pa.schema([(name, types[kind]) for name, kind in columns.items()])


def check_row(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with exactly the table's columns (missing ones null); an unknown column is a programming error."""
    columns = TABLES[table]
    extra = set(row) - set(columns)
    if extra:
        raise ValueError(f"{table} rows have no column(s) {', '.join(sorted(extra))}")
    return {name: row.get(name) for name in columns}
