"""batch: throughput of `audit-repo batch` for 1 and N local workers and on Ray, and the Ray path's per-task overhead.

Builds ``REPOSITORIES`` generated git repositories (the tests' generator: two components in an import cycle and one
SQL injection each) and runs two jobs on each: ``architecture`` without a model, and an ``audit`` answered by the
tests' local model server (two model calls per audit, real sandbox, real litellm HTTP path). For each engine it
prints runs per second (workers started before the clock: warm pools) and the mean seconds a run took inside its
worker. The Ray figures use a one-node cluster started here (``ray start --head``, the cores as CPUs); the per-task
overhead is the Ray wall time per run times the actors, minus the mean in-worker time. Token counts per audit come
from the model server's usage numbers (len // 4 of the text), i.e. this benchmark's own prompts.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

REPOSITORIES = 16


def _measure(label: str, manifest_path: Path, results: Path, engine) -> None:
    from repo_auditor.batch import ResultStore, load_manifest, run_batch

    manifest = load_manifest(manifest_path)
    t0 = time.perf_counter()
    outcome = run_batch(manifest, results, engine)
    wall = time.perf_counter() - t0
    with ResultStore(results, lock=False) as store:
        runs = list(store.rows("runs"))
    inside = sum(r["seconds"] for r in runs) / len(runs)
    audits = [r for r in runs if r["kind"] == "audit"]
    tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in audits) / max(1, len(audits))
    print(f"   {label}: {outcome.ran} runs in {wall:.1f} s = {outcome.ran / wall:.2f} runs/s "
          f"({outcome.failed} failed); mean {inside:.2f} s inside a worker; {tokens:,.0f} tokens per audit")
    return wall / outcome.ran, inside, engine.workers


def run(args) -> None:
    from repo_auditor.batch import LocalEngine
    from repo_auditor.batch.local import default_workers
    from tests.batch.conftest import make_repositories, responder, write_manifest
    from tests.support.openai_server import OpenAIServer

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        paths = [str(p) for p in make_repositories(work / "repos", REPOSITORIES)]
        with OpenAIServer(responder=responder()) as server:
            manifest = write_manifest(work / "sweep.toml", paths, server.url)
            for workers in sorted({1, default_workers()}):
                with LocalEngine(work / "ws", workers=workers, warm_up=10_000) as engine:
                    time.sleep(20)  # let the workers import litellm and start their sandboxes
                    _measure(f"local, {workers} worker(s)", manifest, work / f"local-{workers}", engine)
            _ray(work, manifest, _measure)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ray(work: Path, manifest: Path, measure) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        print("   ray: not installed (pip install 'repo_auditor[ray]')")
        return
    from repo_auditor.batch.local import default_workers
    from repo_auditor.batch.ray_engine import RayEngine

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ray_cli = str(Path(sys.executable).with_name("ray"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    temp = f"/tmp/rbb-{os.getpid()}"
    subprocess.run([ray_cli, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                    f"--num-cpus={default_workers()}", "--include-dashboard=false", f"--temp-dir={temp}"],
                   env=env, check=True, capture_output=True)
    try:
        with RayEngine(f"127.0.0.1:{port}", warm_up=10_000) as engine:
            time.sleep(20)
            per_run, inside, actors = measure(f"ray, {engine.workers} actors", manifest, work / "ray", engine)
            print(f"   ray per-task overhead: {max(0.0, per_run * actors - inside) * 1000:.0f} ms "
                  "(wall per run x actors - time inside the worker)")
    finally:
        subprocess.run([ray_cli, "stop", "--force"], env=env, capture_output=True, check=False)
        shutil.rmtree(temp, ignore_errors=True)
