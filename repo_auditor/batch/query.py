"""``audit-repo batch query RESULTS "SQL"``: DuckDB over a results folder, with tables ``runs`` and ``findings``.

The tables are views over the Parquet shards the folder's manifest lists (an empty folder gives empty tables with
the right columns), so a query sees exactly the rows that count. Example, findings per repository per week::

    SELECT repository, date_trunc('week', finished_at) AS week, count(*) AS findings
    FROM findings WHERE verified GROUP BY ALL ORDER BY week, findings DESC
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repo_auditor.batch.rows import TABLES, arrow_schema
from repo_auditor.batch.store import ResultStore
from repo_auditor.errors import ConfigurationError


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def query(results: str | Path, sql: str) -> QueryResult:
    """Run ``sql`` over the results folder; a bad query raises ``ConfigurationError`` with DuckDB's message."""
    import duckdb

    store = ResultStore(results, lock=False)
    connection = duckdb.connect()
    try:
        for table in TABLES:
            files = [str(path) for path in store.files(table)]
            if files:
                connection.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({files!r})")
            else:
                empty = arrow_schema(TABLES[table]).empty_table()
                connection.register(f"_{table}_empty", empty)
                connection.execute(f"CREATE VIEW {table} AS SELECT * FROM _{table}_empty")
        try:
            cursor = connection.execute(sql)
        except duckdb.Error as exc:
            raise ConfigurationError(f"the query failed: {' '.join(str(exc).split())}") from None
        if cursor.description is None:
            return QueryResult([], [])
        return QueryResult([d[0] for d in cursor.description], cursor.fetchall())
    finally:
        connection.close()


def as_markdown(result: QueryResult) -> str:
    """A Markdown table (pipes in values escaped)."""
    if not result.columns:
        return "(no result)\n"
    lines = ["| " + " | ".join(result.columns) + " |", "|" + "---|" * len(result.columns)]
    for row in result.rows:
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + f"\n\n{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split()).replace("|", "\\|")
