"""The batch job: many repositories x a few jobs, with stable keys, resumable results as data, local or on Ray.

``load_manifest`` reads the TOML manifest; ``run_batch(manifest, results, engine)`` runs the tasks that have no row
yet on an engine (``LocalEngine``: worker processes on this machine; ``RayEngine``: actors on a Ray cluster) and
writes shards of rows (``rows.py``) into the results folder (``store.py``) with a Markdown summary; ``query`` runs
DuckDB over them. Heavy dependencies (pyarrow, duckdb, ray) are imported only when used.
"""

from __future__ import annotations

from repo_auditor.batch.limiter import Limits, RateLimiter
from repo_auditor.batch.local import LocalEngine
from repo_auditor.batch.manifest import JobSpec, Manifest, RepositorySpec, Settings, load_manifest
from repo_auditor.batch.plan import Task, plan
from repo_auditor.batch.query import query
from repo_auditor.batch.runner import BatchRun, run_batch
from repo_auditor.batch.store import ResultStore

__all__ = ["BatchRun", "JobSpec", "Limits", "LocalEngine", "Manifest", "RateLimiter", "RepositorySpec",
           "ResultStore", "Settings", "Task", "load_manifest", "plan", "query", "run_batch"]
