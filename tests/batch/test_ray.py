"""The same batch on a real Ray cluster started here on 127.0.0.1: a head node and a worker node (`ray start`), a
worker process killed mid-batch, and every key still ends with exactly one row."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from repo_auditor.batch import Limits, ResultStore, load_manifest, plan, run_batch  # noqa: E402
from repo_auditor.batch.ray_engine import RayEngine  # noqa: E402
from tests.batch.conftest import make_repositories, rows_by_key, write_manifest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
REPOSITORIES = 20
START_TIMEOUT_S = 240  # `ray start` on a busy 2-core machine takes 20-60 s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A head node (2 CPUs) and a worker node (1 CPU) on this machine; `ray stop` afterwards."""
    port = _free_port()
    temp = Path(f"/tmp/rb-{uuid.uuid4().hex[:6]}")  # short: Ray's socket paths must fit in 107 bytes
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--disable-usage-stats"]
    try:
        subprocess.run([RAY, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
                        "--include-dashboard=false", f"--temp-dir={temp}", *common], env=env, check=True,
                       capture_output=True, timeout=START_TIMEOUT_S)
        subprocess.run([RAY, "start", f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                        *common], env=env, check=True, capture_output=True, timeout=START_TIMEOUT_S)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120, check=False)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_twenty_repositories_on_ray_with_a_worker_killed_mid_batch(tmp_path, model_server, cluster):
    paths = [str(p) for p in make_repositories(tmp_path / "repos", REPOSITORIES)]
    manifest = load_manifest(write_manifest(tmp_path / "sweep.toml", paths + [str(tmp_path / "missing")],
                                            model_server.url))
    victims = []

    def kill_one_audit(kind, task, where):
        if kind == "started" and task.job.kind == "audit" and task.repository.name == "repo05" and not victims:
            pid = int(where.rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)
            victims.append(pid)

    with RayEngine(cluster, limits=Limits(requests_per_minute=6000, tokens_per_minute=10_000_000),
                   warm_up=10_000) as engine:
        assert engine.workers == 3  # the cluster's CPUs: 2 on the head, 1 on the worker node
        outcome = run_batch(manifest, tmp_path / "results", engine, on_event=kill_one_audit)
    assert victims, "the audit of repo05 never started"
    keys = [task.key for task in plan(manifest)]
    with ResultStore(tmp_path / "results") as store:
        rows = rows_by_key(store)
        findings = list(store.rows("findings"))
    assert sorted(rows) == sorted(keys) and all(len(r) == 1 for r in rows.values())
    runs = [r[0] for r in rows.values()]
    failed = [r for r in runs if r["status"] != "ok"]
    assert [r["repository"] for r in failed] == ["missing", "missing"]
    retried = next(r for r in runs if r["repository"] == "repo05" and r["kind"] == "audit")
    assert retried["status"] == "ok" and retried["worker"] != f"{socket.gethostname()}:{victims[0]}"
    assert (outcome.ok, outcome.failed) == (2 * REPOSITORIES, 2)
    assert len([f for f in findings if f["category"] == "audit" and f["verified"]]) == REPOSITORIES
    assert outcome.limiter["requests"] >= 2 * REPOSITORIES  # every model call went through the one limiter
    assert len({r["worker"] for r in runs if r["status"] == "ok"}) >= 3  # spread over the actors
