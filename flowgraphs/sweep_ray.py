"""Sweep points on Ray: a local Ray, or an existing cluster the user already runs.

One actor per worker holds the codec, the receiver settings and the scorer, loaded once (the
``initializer`` of :func:`.sweep.run_sweep`); chunks of points are scheduled onto the actors as
tasks through :class:`ray.util.ActorPool`, and results come back in completion order. Scheduling
does not change results: every chunk carries its own seed, derived from its point.

Ray is an optional extra: ``pip install "vlm-csc[ray]"``. On a cluster, every node needs the same
``vlm-csc`` installed (Ray ships the task, not the package).
"""

from __future__ import annotations

import os
from typing import Callable


class RayUnavailableError(RuntimeError):
    """Ray is not installed, or the cluster address cannot be reached."""


def check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """Fail fast (one line) when nothing listens at a ``HOST:PORT`` / ``ray://HOST:PORT`` address.

    Ray itself retries an unreachable head for minutes while printing C++ warnings.
    ``auto`` and other forms are left to Ray.
    """
    import socket

    target = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        hint = "ray start --head --port=" + port if not address.startswith("ray://") else "the head's Ray client server"
        raise RayUnavailableError(f"no Ray cluster at {address} ({exc.strerror or exc}); start one with "
                                  f"`{hint}` or check the address") from None


class _SweepWorker:
    """Actor body: runs ``initializer(*initargs)`` once, then ``cell_fn(task)`` per task."""

    def __init__(self, cell_fn: Callable[[dict], dict], initializer: Callable | None, initargs: tuple) -> None:
        if initializer is not None:
            initializer(*initargs)
        self.cell_fn = cell_fn

    def ready(self) -> bool:
        return True

    def run(self, tag, task: dict) -> tuple:
        return tag, self.cell_fn(task)


def _import_ray():
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise RayUnavailableError('--ray needs Ray: pip install "vlm-csc[ray]" (ray==2.60.0)') from None
    return ray, ActorPool


def start_local_ray(num_cpus: int) -> None:
    """A private local Ray (never a cluster found lying around) with ``num_cpus`` CPUs, no dashboard.

    Ray runs its workers at nice 15 by default; here the workers are the job itself (as the
    process-pool sweep's are), so they keep this process's priority (``RAY_worker_niceness=0``).
    """
    # a private instance needs no token auth (nor a token written under $HOME); a cluster the user
    # attaches to keeps the mode it was started with (their environment decides)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray, _ = _import_ray()
    os.environ.setdefault("RAY_worker_niceness", "0")
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level="ERROR",
             log_to_driver=False)


class RayExecutor:
    """Executor for :func:`.sweep.run_sweep` backed by Ray actors.

    :param cell_fn: module-level function ``task -> row`` (pickled to the actors)
    :param initializer: run once per actor with ``initargs`` (load the codec there)
    :param address: ``"local"``/``None`` starts a private local Ray with ``workers`` CPUs (no
        dashboard); ``"auto"``, ``"HOST:PORT"`` (the head's GCS port, 6379 by default) or
        ``"ray://HOST:10001"`` attaches to a running cluster
    :param workers: actors (default: the local machine's cores, or the cluster's CPUs)
    :param threads: torch threads inside each actor (each actor reserves this many CPUs)
    :raises RayUnavailableError: Ray missing or the address unreachable (one line, names it)
    """

    def __init__(self, cell_fn: Callable[[dict], dict], initializer: Callable | None = None,
                 initargs: tuple = (), address: str | None = "local", workers: int | None = None,
                 threads: int = 1) -> None:
        ray, ActorPool = _import_ray()
        self._ray = ray
        self._own = False
        local = address in (None, "", "local")
        if not ray.is_initialized():
            if not local:
                check_reachable(address)
            try:
                if local:
                    start_local_ray(workers or os.cpu_count() or 1)
                else:
                    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise RayUnavailableError(f"cannot attach to Ray at {address!r}: {first}") from None
            self._own = True
        ctx = ray.get_runtime_context()
        self.address = "local" if local else getattr(ctx, "gcs_address", address)
        cpus = int(ray.available_resources().get("CPU", 0))
        fit = max(1, cpus // max(1, threads))
        # an actor that cannot be placed would hold its share of the tasks forever: never ask for more
        self.workers = min(workers, fit) if workers else fit
        actor_cls = ray.remote(num_cpus=threads)(_SweepWorker)
        self.actors = [actor_cls.remote(cell_fn, initializer, initargs) for _ in range(self.workers)]
        try:  # fail here, not mid-sweep, if the set-up (codec loading) breaks on a worker
            ray.get([a.ready.remote() for a in self.actors])
        except Exception as exc:  # RayActorError and friends: one line, then clean up
            self.close()
            text = str(exc).strip().splitlines()
            raise RayUnavailableError(f"sweep workers failed to start: {text[-1] if text else type(exc).__name__}") from None
        self.pool = ActorPool(self.actors)
        self.capacity = 2 * self.workers

    def submit(self, tag, task: dict) -> None:
        self.pool.submit(lambda actor, value: actor.run.remote(*value), (tag, task))

    def next_done(self) -> tuple:
        return self.pool.get_next_unordered()

    def close(self) -> None:
        ray = self._ray
        for actor in getattr(self, "actors", []):
            ray.kill(actor)
        self.actors = []
        if self._own and ray.is_initialized():
            ray.shutdown()
            self._own = False
