"""The Ray engine (``--ray auto|ADDRESS``, extra ``repo_auditor[ray]``): the same tasks on a Ray cluster.

* An actor pool: ``workers`` actors (default: the cluster's CPUs), one CPU each. An actor owns one ``Worker``
  (warm sandbox, clones and tool caches in the node's repo_auditor cache), so it lives as long as the batch.
* Worker loss: actors restart (``max_restarts=-1``) and Ray runs the lost task again on the restarted actor
  (``max_task_retries = MAX_ATTEMPTS - 1``). When the retries are used up the task is a failed row
  (``WorkerLost``) and the batch goes on.
* One ``RateLimiter`` actor (no CPU) that every actor's models ask before each call, so the whole cluster keeps to
  the requests-per-minute, tokens-per-minute and cost budget of the manifest.
* Every node needs repo_auditor installed (``pip install 'repo_auditor[ray]'``), the same version as the driver:
  the version is part of every key, and the actors are checked at start. The provider key variables of the
  manifest's models are passed to the workers through Ray's ``runtime_env``.

Each actor runs one task at a time and the driver gives it the next as soon as it answers, so the driver knows
where every task runs (``on_started``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from repo_auditor import __version__
from repo_auditor.batch.engine import (
    MAX_ATTEMPTS,
    NOT_STARTED,
    Done,
    Result,
    StartedHook,
    StartFilter,
    Stopped,
    execute,
    lost,
)
from repo_auditor.batch.limiter import Limits, RateLimiter
from repo_auditor.batch.plan import Task
from repo_auditor.errors import ConfigurationError


class _BatchActor:
    """Body of the Ray actor: one Worker for the actor's life."""

    def __init__(self, workspace: str | None, limiter: Any, warm_up: int | None):
        from repo_auditor.batch.worker import Worker
        from repo_auditor.repository.cache import cache_dir

        client = _LimiterClient(limiter) if limiter is not None else None
        self.worker = Worker(workspace or cache_dir("batch"), limiter=client)
        if warm_up is not None:
            self.worker.warm_up(warm_up)

    def describe(self) -> dict[str, Any]:
        return self.worker.describe()

    def run(self, task: Task) -> tuple[str, Any]:
        return execute(self.worker, task, None)


class _LimiterClient:
    """The limiter actor seen as a plain ``Limiter`` (one round trip per model call)."""

    def __init__(self, actor: Any):
        self.actor = actor

    def reserve(self, tokens: int) -> float | None:
        import ray

        return ray.get(self.actor.reserve.remote(tokens))

    def record(self, estimated_tokens: int, tokens: int, cost: float | None) -> None:
        self.actor.record.remote(estimated_tokens, tokens, cost)  # fire and forget: nothing waits on it

    def state(self) -> dict[str, Any]:
        import ray

        return ray.get(self.actor.state.remote())


class RayEngine:
    """Connects to the cluster at ``address`` ("auto": the one this machine belongs to) and starts the actors."""

    def __init__(self, address: str, *, workers: int | None = None, limits: Limits = Limits(),
                 env: dict[str, str] | None = None, workspace: str | None = None, warm_up: int | None = None):
        try:
            import ray
        except ImportError:
            raise ConfigurationError("--ray needs Ray: pip install 'repo_auditor[ray]'") from None
        self._ray = ray
        try:
            ray.init(address=address, runtime_env={"env_vars": dict(env or {})}, log_to_driver=False,
                     logging_level="ERROR", configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigurationError(f"cannot connect to the Ray cluster at {address}: "
                                     f"{' '.join(str(exc).split())[:300]}; start one with `ray start --head` or "
                                     "pass its address (host:6379)") from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or max(1, cpus)
        self.limiter = ray.remote(num_cpus=0)(RateLimiter).remote(limits) if limits.any else None
        actor_class = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=MAX_ATTEMPTS - 1)(_BatchActor)
        self.actors = [actor_class.remote(workspace, self.limiter, warm_up) for _ in range(self.workers)]
        self.where = {}
        for actor, described in zip(self.actors, ray.get([a.describe.remote() for a in self.actors])):
            if described["version"] != __version__:
                raise ConfigurationError(f"the Ray worker {described['worker']} runs repo_auditor "
                                         f"{described['version']}, the driver {__version__}; install the same "
                                         "version on every node")
            self.where[actor] = described["worker"]

    def run(self, tasks: Iterable[Task], should_start: StartFilter, on_started: StartedHook) -> Iterator[Result]:
        ray = self._ray
        upcoming = iter(tasks)
        idle = list(self.actors)
        running: dict[Any, tuple[Any, Task]] = {}
        while True:
            while idle:
                task = next(upcoming, None)
                if task is None:
                    break
                if not should_start(task):
                    yield Stopped(task, NOT_STARTED)
                    continue
                actor = idle.pop()
                running[actor.run.remote(task)] = (actor, task)
                on_started(task, self.where[actor])
            if not running:
                return
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                actor, task = running.pop(ref)
                idle.append(actor)
                try:
                    kind, value = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    reason = (f"the worker was lost while running this task, {MAX_ATTEMPTS} times "
                              f"({type(exc).__name__}); not retried again")
                    yield Done(task, lost(task, MAX_ATTEMPTS, reason))
                    continue
                except ray.exceptions.RayError as exc:  # the task itself broke Ray (e.g. a result it cannot send)
                    yield Done(task, lost(task, None, f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}"))
                    continue
                yield Done(task, value) if kind == "done" else Stopped(task, value)

    def limiter_state(self) -> dict[str, Any] | None:
        return self._ray.get(self.limiter.state.remote()) if self.limiter is not None else None

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        if self.limiter is not None:
            self._ray.kill(self.limiter)
        self._ray.shutdown()

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
