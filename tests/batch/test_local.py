"""Batches on the local engine: real git repositories, real worker processes, the real Deno sandbox and the litellm
HTTP path against a local model server."""

from __future__ import annotations

import os
import signal

import pytest
from click.testing import CliRunner

from repo_auditor.batch import Limits, LocalEngine, ResultStore, load_manifest, plan, query, run_batch
from repo_auditor.batch.engine import MAX_ATTEMPTS
from repo_auditor.cli import main
from tests.batch.conftest import make_repositories, rows_by_key, write_manifest

REPOSITORIES = 20


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_twenty_repositories_with_failures_then_a_rerun_that_does_nothing(tmp_path, model_server):
    paths = [str(p) for p in make_repositories(tmp_path / "repos", REPOSITORIES)]
    broken = [str(tmp_path / "missing"), "http://127.0.0.1:9/unreachable.git"]
    manifest = load_manifest(write_manifest(tmp_path / "sweep.toml", paths + broken, model_server.url,
                                            settings="requests_per_minute = 6000\nbudget = 5.0\n"))
    results = tmp_path / "results"
    limits = Limits(requests_per_minute=6000, budget=5.0)
    with LocalEngine(tmp_path / "workspace", workers=2, limits=limits, warm_up=10_000) as engine:
        first = run_batch(manifest, results, engine)
    keys = [task.key for task in plan(manifest)]
    assert len(keys) == 2 * (REPOSITORIES + 2)
    with ResultStore(results) as store:
        rows = rows_by_key(store)
        assert sorted(rows) == sorted(keys) and all(len(r) == 1 for r in rows.values())  # exactly one row per key
        runs = [r[0] for r in rows.values()]
        findings = list(store.rows("findings"))
    assert (first.ok, first.failed) == (2 * REPOSITORIES, 4)
    failed = sorted((r["job"], r["error"]) for r in runs if r["status"] == "failed")
    assert [job for job, _ in failed] == ["architecture", "architecture", "audit", "audit"]
    assert sum("no such folder" in error for _, error in failed) == 2
    assert sum("cannot list http://127.0.0.1:9/unreachable.git" in error for _, error in failed) == 2
    audits = [r for r in runs if r["job"] == "audit" and r["status"] == "ok"]
    assert all(r["calls"] == 2 and r["prompt_tokens"] > 0 and r["worst_severity"] == "high" for r in audits)
    assert first.limiter["requests"] == len(model_server.chat_requests) == 2 * REPOSITORIES
    # findings: one verified import cycle per repository, and per audit one verified and one invented finding
    cycles = [f for f in findings if f["category"] == "import-cycle"]
    assert len(cycles) == REPOSITORIES and all(f["verified"] and f["path"] for f in cycles)
    audit_findings = [f for f in findings if f["category"] == "audit"]
    assert sorted((f["title"], f["verified"]) for f in audit_findings) == sorted(
        [("SQL built with string formatting", True), ("eval of request data", False)] * REPOSITORIES)
    assert len({f["fingerprint"] for f in audit_findings}) == 2  # same code, same fingerprint in every repository
    # Parquet (what queries read) holds the same rows as the JSONL
    counted = query(results, "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM findings)").rows[0]
    assert counted == (len(runs), len(findings))
    per_repo = query(results, "SELECT repository, count(*) FROM findings WHERE verified GROUP BY ALL").rows
    assert len(per_repo) == REPOSITORIES and {n for _, n in per_repo} == {2}
    summary = first.summary_path.read_text(encoding="utf-8")
    assert "## audit (audit)" in summary and "## Failures" in summary and "no such folder" in summary
    audit_part = summary.split("## audit (audit)")[1].split("## Failures")[0]
    assert f"Worst findings (20 of {2 * REPOSITORIES}; verified first)" in audit_part  # capped: the verified ones
    assert "SQL built with string formatting" in audit_part and "eval of request data" not in audit_part
    shards_before = ResultStore(results, lock=False).shards()
    # a finished batch reruns as a no-op: nothing run, nothing written, no model call
    requests_before = len(model_server.chat_requests)
    with LocalEngine(tmp_path / "workspace", workers=2) as engine:
        again = run_batch(manifest, results, engine)
    assert (again.ok, again.failed, again.skipped) == (0, 0, len(keys))
    assert ResultStore(results, lock=False).shards() == shards_before
    assert len(model_server.chat_requests) == requests_before


def test_a_stopped_batch_resumes_where_it_stopped(tmp_path):
    paths = [str(p) for p in make_repositories(tmp_path / "repos", 6)]
    manifest = load_manifest(write_manifest(tmp_path / "m.toml", paths, None))
    finished = []

    def stop_after_three(kind, task, value):
        if kind == "done":
            finished.append(task.key)
            if len(finished) == 3:
                raise KeyboardInterrupt

    with LocalEngine(tmp_path / "ws", workers=2) as engine, pytest.raises(KeyboardInterrupt):
        run_batch(manifest, tmp_path / "res", engine, on_event=stop_after_three)
    with ResultStore(tmp_path / "res") as store:
        assert sorted(rows_by_key(store)) == sorted(finished)  # what finished was written before leaving
    with LocalEngine(tmp_path / "ws", workers=2) as engine:
        resumed = run_batch(manifest, tmp_path / "res", engine)
    assert (resumed.skipped, resumed.ok) == (3, 3)
    with ResultStore(tmp_path / "res") as store:
        rows = rows_by_key(store)
    assert len(rows) == 6 and all(len(r) == 1 for r in rows.values())


def test_a_killed_worker_is_replaced_and_its_task_retried_then_given_up(tmp_path):
    paths = [str(p) for p in make_repositories(tmp_path / "repos", 4)]
    manifest = load_manifest(write_manifest(tmp_path / "m.toml", paths, None))
    kills = {"repo01": 1, "repo02": MAX_ATTEMPTS}  # repo01's worker dies once; repo02's every time
    killed = []

    def kill(kind, task, where):
        if kind == "started" and kills.get(task.repository.name, 0) > 0:
            kills[task.repository.name] -= 1
            pid = int(where.rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with LocalEngine(tmp_path / "ws", workers=2) as engine:
        outcome = run_batch(manifest, tmp_path / "res", engine, on_event=kill)
        assert len(set(engine.pids) & set(killed)) == 0 and len(engine.pids) == 2  # replaced
    assert len(killed) == 1 + MAX_ATTEMPTS
    with ResultStore(tmp_path / "res") as store:
        rows = {r[0]["repository"]: r for r in rows_by_key(store).values()}
    assert all(len(r) == 1 for r in rows.values()) and len(rows) == 4
    assert (rows["repo01"][0]["status"], rows["repo01"][0]["attempts"]) == ("ok", 2)
    lost = rows["repo02"][0]
    assert (lost["status"], lost["error_type"], lost["attempts"]) == ("failed", "WorkerLost", MAX_ATTEMPTS)
    assert "killed by signal 9" in lost["error"]
    assert (outcome.ok, outcome.failed) == (3, 1)


def test_cli_runs_resumes_and_queries(tmp_path):
    paths = [str(p) for p in make_repositories(tmp_path / "repos", 3)]
    manifest = write_manifest(tmp_path / "sweep.toml", paths, None)
    runner = CliRunner()
    dry = runner.invoke(main, ["batch", str(manifest), "--dry-run"])
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.startswith("3 runs planned, 0 already done in ") and "3 to run" in dry.stdout
    assert not (tmp_path / "sweep.results").exists()  # a dry run writes nothing
    result = runner.invoke(main, ["batch", str(manifest), "--workers", "2"])
    assert result.exit_code == 0, result.stderr
    assert "3 runs planned, 0 already done, 3 ok, 0 failed" in result.stdout
    assert len([line for line in result.stderr.splitlines() if " runs done, " in line]) == 3  # a log line per run
    assert (tmp_path / "sweep.results" / "summary.md").exists()
    again = runner.invoke(main, ["batch", str(manifest)])
    assert "3 runs planned, 3 already done, 0 ok, 0 failed" in again.stdout
    assert "0 to run" in runner.invoke(main, ["batch", str(manifest), "--dry-run"]).stdout
    table = runner.invoke(main, ["batch", "query", str(tmp_path / "sweep.results"),
                                 "SELECT repository, category FROM findings ORDER BY repository"])
    assert table.exit_code == 0, table.stderr
    assert table.stdout.splitlines()[2] == "| repo00 | import-cycle |" and "3 rows" in table.stdout
    csv = runner.invoke(main, ["batch", "query", str(tmp_path / "sweep.results"), "SELECT count(*) AS n FROM runs",
                               "--format", "csv"])
    assert csv.stdout.splitlines() == ["n", "3"]


@pytest.mark.parametrize(("args", "message"), [
    (["batch", "{tmp}/nothing.toml"], "Error: no manifest at"),
    (["batch", "query", "{tmp}", "SELECT 1"], "holds no batch results"),
    (["batch", "query", "{tmp}/res", "SELEKT"], "Error: the query failed: Parser Error"),
])
def test_cli_errors_are_one_line(tmp_path, args, message):
    ResultStore(tmp_path / "res").close()
    result = CliRunner().invoke(main, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
