"""Manifest -> tasks: every (repository, job) pair with its commits resolved and its stable key.

A key is a hash of the repository's identity (folder or URL), the commit(s) the job reads, the job (kind, options),
the settings that change its result and the repo_auditor version. The same manifest on the same commits gives the
same keys, so results already stored are skipped; a new commit, question, model or version gives new keys.

Refs are resolved here, before any work: ``git rev-parse`` for a folder, one ``git ls-remote`` per URL (nothing is
cloned), in ``PLAN_THREADS`` threads. ``NAME~N`` / ``NAME^`` on a URL resolves NAME and keeps the suffix, which names
one commit once NAME's commit is fixed. A repository whose refs cannot be resolved still gets one task per job, marked
``problem``: it ends as a failed row with the reason, keyed by the ref as written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from repo_auditor import __version__
from repo_auditor.batch.manifest import JobSpec, Manifest, RepositorySpec

# ls-remote is network-bound: this many at once keeps a 10,000-repository plan to minutes, not hours.
PLAN_THREADS = 16
# A remote that does not answer within this many seconds is reported as unreachable, not waited on.
LS_REMOTE_TIMEOUT_S = 60
KEY_HEX_CHARS = 24  # 96 bits: no collision in any realistic number of runs
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SUFFIX = re.compile(r"^(?P<name>.+?)(?P<suffix>(?:[~^]\d*)*)$")


@dataclass(frozen=True)
class Task:
    """One job on one repository: what a worker runs. ``commits`` maps each ref the job reads to its commit."""

    key: str
    repository: RepositorySpec
    job: JobSpec
    commit: str | None  # the commit the job reads (the head, for a review); None when unresolved
    base: str | None = None  # review: the base commit (or SHA~N)
    problem: str | None = None  # why the refs could not be resolved: the task fails with this reason

    def describe(self) -> str:
        return f"{self.job.name} on {self.repository.name}"


class RefResolver:
    """Resolves refs of one repository: locally with rev-parse, remotely from one ls-remote listing."""

    def __init__(self, repository: RepositorySpec):
        self.repository = repository
        self._remote_refs: dict[str, str] | None = None

    def resolve(self, ref: str) -> str:
        """The 40-hex commit of ``ref`` (or ``SHA~N`` for a relative ref on a URL); raises LookupError."""
        if self.repository.is_url:
            return self._resolve_remote(ref)
        return self._resolve_local(ref)

    def _resolve_local(self, ref: str) -> str:
        if not os.path.isdir(self.repository.location):
            raise LookupError(f"no such folder {self.repository.location}")
        done = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
                    cwd=self.repository.location)
        if done.returncode == 0:
            return done.stdout.strip()
        inside = _git(["rev-parse", "--git-dir"], cwd=self.repository.location)
        if inside.returncode != 0:
            raise LookupError(f"{self.repository.location} is not a git repository (a batch reads commits; "
                              "run `git init` and commit, or list a git URL)")
        raise LookupError(f"ref {ref!r} does not resolve in {self.repository.location}")

    def _resolve_remote(self, ref: str) -> str:
        if _SHA.match(ref):
            return ref
        match = _SUFFIX.match(ref)
        name, suffix = (match["name"], match["suffix"]) if match else (ref, "")
        refs = self._listing()
        for candidate in (name, f"refs/heads/{name}", f"refs/tags/{name}^{{}}", f"refs/tags/{name}"):
            if candidate in refs:
                return refs[candidate] + suffix
        if _SHA.match(name):
            return name + suffix
        raise LookupError(f"ref {name!r} is not a branch, tag or HEAD of {self.repository.identity}")

    def _listing(self) -> dict[str, str]:
        if self._remote_refs is None:
            try:
                done = _git(["ls-remote", "--", self.repository.location], cwd=None, timeout=LS_REMOTE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise LookupError(f"{self.repository.identity} did not answer within {LS_REMOTE_TIMEOUT_S} s") \
                    from None
            if done.returncode != 0:
                reason = " ".join(done.stderr.split()) or f"git ls-remote exited with {done.returncode}"
                raise LookupError(f"cannot list {self.repository.identity}: {reason}")
            refs = {}
            for line in done.stdout.splitlines():
                sha, _, name = line.partition("\t")
                refs[name] = sha
            self._remote_refs = refs
        return self._remote_refs


def _git(args: list[str], *, cwd: str | None, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    return subprocess.run(["git", "-c", "core.fsmonitor=false", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)


def task_key(repository: RepositorySpec, job: JobSpec, commit: str | None, base: str | None,
             unresolved_ref: str | None = None) -> str:
    """The stable key of one run (see the module docstring)."""
    material = {
        "repository": repository.identity, "commit": commit, "base": base, "unresolved_ref": unresolved_ref,
        "job": {"kind": job.kind, "options": job.options}, "settings": job.key_settings(),
        "repo_auditor": __version__,
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_HEX_CHARS]


def plan(manifest: Manifest) -> list[Task]:
    """Every task of the manifest, in manifest order (repositories outer, jobs inner)."""
    with ThreadPoolExecutor(max_workers=PLAN_THREADS, thread_name_prefix="batch-plan") as pool:
        per_repository = list(pool.map(lambda repo: _tasks_for(repo, manifest.jobs), manifest.repositories))
    return [task for tasks in per_repository for task in tasks]


def _tasks_for(repository: RepositorySpec, jobs: tuple[JobSpec, ...]) -> list[Task]:
    resolver = RefResolver(repository)
    tasks = []
    for job in jobs:
        head_ref = job.options.get("head", repository.ref) if job.kind == "review" else repository.ref
        base_ref = job.options["base"] if job.kind == "review" else None
        try:
            commit = resolver.resolve(head_ref)
            base = resolver.resolve(base_ref) if base_ref is not None else None
        except LookupError as exc:
            unresolved = f"{head_ref}..{base_ref}" if base_ref else head_ref
            tasks.append(Task(key=task_key(repository, job, None, None, unresolved), repository=repository, job=job,
                              commit=None, problem=str(exc)))
            continue
        tasks.append(Task(key=task_key(repository, job, commit, base), repository=repository, job=job,
                          commit=commit, base=base))
    return tasks
