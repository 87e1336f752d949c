"""Manifest checks, keys, the rate limiter and the store, without workers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from repo_auditor.batch import Limits, RateLimiter, ResultStore, load_manifest, plan
from repo_auditor.batch.plan import task_key
from repo_auditor.errors import ConfigurationError
from tests.gitrepo import GitRepo


@pytest.mark.parametrize(("text", "message"), [
    ("", "no repositories"),
    ('repositories = ["a"]', "no jobs"),
    ('repositories = ["a"]\n[[jobs]]\nkind = "audit"\n', "needs question"),
    ('repositories = ["a"]\n[[jobs]]\nkind = "lint"\n', "kind must be one of architecture, audit, review"),
    ('repositories = ["a"]\n[[jobs]]\nkind = "audit"\nquestion = "q"\n', "needs a model"),
    ('repositories = ["a"]\n[[jobs]]\nkind = "architecture"\n', "or model = false"),
    ('repositories = ["a"]\n[settings]\nmax_cost = -1\n[[jobs]]\nkind = "architecture"\nmodel = false\n',
     "max_cost must be positive"),
    ('repositories = ["a"]\n[settings]\nmodle = "x"\n[[jobs]]\nkind = "architecture"\nmodel = false\n',
     "unknown setting 'modle'"),
    ('repositories = ["a", "b/a"]\n[[jobs]]\nkind = "architecture"\nmodel = false\n', "used twice: a"),
    ('repositories = ["a"]\n[[jobs]]\nkind = "review"\nbase = "main"\ncolour = "red"\n', "unknown key(s) colour"),
    ('repositories = [{path = "a", url = "https://x/y"}]\n[[jobs]]\nkind = "architecture"\nmodel = false\n',
     "exactly one of path"),
    ("repositories = [", "not valid TOML"),
])
def test_bad_manifests_name_the_problem(tmp_path: Path, text: str, message: str):
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_manifest(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_manifest_reads_paths_urls_and_job_overrides(tmp_path: Path):
    path = tmp_path / "m.toml"
    path.write_text(
        'repositories = ["svc", "https://user:secret@example.com/acme/api.git", '
        '{url = "git@github.com:acme/web.git", ref = "v2", name = "web"}]\n'
        '[settings]\nmodel = "openai/x"\nmax_cost = 1\n'
        '[[jobs]]\nkind = "review"\nbase = "HEAD~3"\nmax_cost = 0.25\n', encoding="utf-8")
    manifest = load_manifest(path)
    svc, api, web = manifest.repositories
    assert (svc.location, svc.is_url, svc.name) == (str(tmp_path / "svc"), False, "svc")
    assert api.is_url and api.identity == "https://example.com/acme/api.git" and api.name == "example.com/acme/api"
    assert (web.name, web.ref) == ("web", "v2")
    job = manifest.jobs[0]
    assert job.settings.max_cost == 0.25 and manifest.settings.max_cost == 1.0
    assert job.options == {"base": "HEAD~3", "focus": "general"}


def test_keys_are_stable_and_change_with_what_changes_the_result(tmp_path: Path):
    repo = GitRepo.init(tmp_path / "r")
    repo.write("a.py", "x = 1\n")
    first = repo.commit("one")
    path = tmp_path / "m.toml"
    path.write_text('repositories = ["r"]\n[settings]\nmodel = "openai/x"\n'
                    '[[jobs]]\nkind = "audit"\nquestion = "q"\n[[jobs]]\nkind = "architecture"\nmodel = false\n',
                    encoding="utf-8")
    manifest = load_manifest(path)
    audit_task, arch_task = plan(manifest)
    assert [t.key for t in plan(manifest)] == [audit_task.key, arch_task.key]  # stable
    assert audit_task.commit == first and audit_task.problem is None
    spec, job = audit_task.repository, audit_task.job
    changed_question = dataclasses.replace(job, options={"question": "other"})
    changed_model = dataclasses.replace(job, settings=dataclasses.replace(job.settings, model="openai/y"))
    changed_rate = dataclasses.replace(job, settings=dataclasses.replace(job.settings, requests_per_minute=5))
    assert task_key(spec, changed_question, first, None) != audit_task.key
    assert task_key(spec, changed_model, first, None) != audit_task.key
    assert task_key(spec, changed_rate, first, None) == audit_task.key  # pacing does not change a result
    # the architecture job without a model does not depend on the model settings
    arch_job = arch_task.job
    other = dataclasses.replace(arch_job, settings=dataclasses.replace(arch_job.settings, model="openai/y"))
    assert task_key(spec, other, first, None) == arch_task.key
    repo.write("a.py", "x = 2\n")
    repo.commit("two")
    assert plan(manifest)[0].key != audit_task.key  # a new commit is a new run


def test_unresolvable_repositories_become_tasks_with_a_problem(tmp_path: Path):
    (tmp_path / "plain").mkdir()
    path = tmp_path / "m.toml"
    path.write_text('repositories = ["plain", "missing", "http://127.0.0.1:9/x.git"]\n'
                    '[[jobs]]\nkind = "architecture"\nmodel = false\n', encoding="utf-8")
    problems = [task.problem for task in plan(load_manifest(path))]
    assert "is not a git repository" in problems[0]
    assert "no such folder" in problems[1]
    assert "cannot list http://127.0.0.1:9/x.git" in problems[2]


def test_rate_limiter_paces_requests_and_tokens_and_stops_at_the_budget():
    now = [100.0]
    limiter = RateLimiter(Limits(requests_per_minute=60, tokens_per_minute=6_000, budget=1.0), clock=lambda: now[0])
    assert limiter.reserve(100) == 0.0  # first call: at once
    assert limiter.reserve(100) == pytest.approx(1.0)  # 60/min: one per second
    assert limiter.reserve(1_000) == pytest.approx(2.0)  # the token line: 200 tokens booked = 2 s
    limiter.record(1_000, 100, 0.4)  # it used fewer tokens than estimated: the line moves back
    assert limiter.reserve(10) == pytest.approx(3.0)
    limiter.record(10, 10, 0.7)
    assert limiter.state()["budget_spent"] is True
    assert limiter.reserve(10) is None


def test_store_lists_only_complete_shards_and_locks_the_folder(tmp_path: Path):
    store = ResultStore(tmp_path / "res")
    run = {"key": "k1", "repository": "r", "status": "ok"}
    store.write_shard([run], [])
    (store.shard_dir / "000009-dead.runs.parquet").write_bytes(b"half a shard from a crash")
    with pytest.raises(ConfigurationError, match="another batch is writing"):
        ResultStore(tmp_path / "res")
    store.close()
    reopened = ResultStore(tmp_path / "res")
    assert reopened.keys() == {"k1"}
    assert not (reopened.shard_dir / "000009-dead.runs.parquet").exists()  # not listed: removed
    reopened.write_shard([{**run, "key": "k2"}], [])
    reopened.compact()
    assert len(reopened.shards()) == 1 and reopened.keys() == {"k1", "k2"}
    assert len(list(reopened.shard_dir.iterdir())) == 4  # runs and findings, JSONL and Parquet
    reopened.close()
