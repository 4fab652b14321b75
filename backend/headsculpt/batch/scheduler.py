"""Batch items handed to Ray actors: one pool of workers per job kind, items out one at a
time, results collected as they finish, items whose worker died tried again.

Each worker is a :class:`~headsculpt.batch.worker.PipelineWorker` actor asking for what
its kind's lane needs (``gpu``: one GPU; ``cpu``: CPUs only), so the items of a mixed
file find their machines on a mixed cluster. A worker gets its next item only when it
has finished the last one (and its first only once its pipeline is loaded), so a fast
worker takes more and a worker Ray cannot place yet holds nothing back. A worker whose
kind has no items left is ended, freeing its CPUs for the workers of another kind.

When a worker dies (its process killed, its machine gone) the item it held goes back to
the front of the queue for any worker of its kind, and a new worker is started; an item
under which workers died more than ``retries`` times fails with the reason. Ray is
imported only by :func:`import_ray`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headsculpt.batch.item_files import attempt_folder, discard, item_folder, scratch_folder
from headsculpt.batch.items import BatchItem
from headsculpt.batch.worker import PipelineWorker, Task, TaskResult
from headsculpt.pipelines.registry import job_kinds

RAY_MISSING = "headsculpt batch needs Ray: pip install 'headsculpt[batch]'"
LOCAL_OBJECT_STORE = 256 * 2**20  # results are a few names each; files go to disk


def import_ray() -> Any:
    """Ray, or ValueError saying how to install it (the command then exits 2)."""
    try:
        import ray
    except ImportError:
        raise ValueError(RAY_MISSING) from None
    return ray


@dataclass(frozen=True)
class ClusterOptions:
    """Where the workers run and how many there are."""

    address: str | None = None  # None: a local Ray inside the command; "auto"/host:port: join
    workers: int | None = None  # per job kind; None: one per CPU (per GPU for GPU kinds)
    retries: int = 2  # times an item is tried again after its worker died under it
    start_timeout: float = 900.0  # seconds with no worker ready or busy before giving up


@dataclass
class Cluster:
    """A Ray connection and what it has to offer."""

    ray: Any
    local: bool
    cpus: int
    gpus: int

    def close(self) -> None:
        self.ray.shutdown()  # a local Ray stops; a cluster is only disconnected from


def start_ray(options: ClusterOptions) -> Cluster:
    """Start a local Ray (no address) or join the cluster at ``options.address``."""
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no prompt, no report home
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    if options.address is None:
        cpus = max(os.cpu_count() or 1, options.workers or 1)
        ray.init(num_cpus=cpus, include_dashboard=False,
                 object_store_memory=LOCAL_OBJECT_STORE, **quiet)  # fmt: skip
    else:
        _check_reachable(options.address)
        try:
            ray.init(address=options.address, **quiet)
        except ConnectionError as error:  # "auto" with no cluster running here
            raise ValueError(f"--ray-address {options.address!r}: {error}") from None
    resources = ray.cluster_resources()
    return Cluster(ray, options.address is None, int(resources.get("CPU", 0)),
                   int(resources.get("GPU", 0)))  # fmt: skip


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Refuse a HOST:PORT nothing answers at (ValueError), before Ray's own client, which
    keeps retrying for minutes; "auto" and ray:// addresses are Ray's to resolve."""
    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        message = f"--ray-address {address!r}: no Ray cluster answers there ({reason})"
        raise ValueError(message) from None


@dataclass
class Outcome:
    """An item's end in this run: a worker's result, or a failure without one."""

    item: BatchItem
    attempts: int
    result: TaskResult | None = None
    error: str | None = None  # set when result is None (workers died, none could start)


@dataclass
class _Entry:
    item: BatchItem
    attempts: int = 0


@dataclass
class _Worker:
    kind: str
    actor: Any
    ref: Any = None  # the call in flight: ready() while loading, then run(task)
    entry: _Entry | None = None
    task: Task | None = None
    name: str | None = None


@dataclass
class Scheduler:
    """Runs ``items`` (all checked, none finished) on ``cluster``; reports each outcome."""

    cluster: Cluster
    out: Path
    items: list[BatchItem]
    options: ClusterOptions
    landed: Callable[[Outcome], None]
    ready: Callable[[str], None] = lambda name: None
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.ray = self.cluster.ray
        self.queues: dict[str, deque[_Entry]] = {}
        for item in self.items:
            self.queues.setdefault(item.kind, deque()).append(_Entry(item))
        self.workers: list[_Worker] = []
        self.start_failures: dict[str, int] = {}
        self.actor_class = self.ray.remote(PipelineWorker)
        self.lanes = {k.name: k.lane for k in job_kinds()}
        self.last_activity = time.monotonic()
        died = self.ray.exceptions
        self.worker_died = (died.RayActorError, died.WorkerCrashedError, died.OutOfMemoryError)

    def run(self) -> bool:
        """Make every item; False when ``stop`` was set (items still running are abandoned
        and not reported: they run again next time)."""
        try:
            for kind, queue in self.queues.items():
                if self.lanes.get(kind) == "gpu" and self.cluster.gpus < 1:
                    self._fail_queue(kind, f"{kind} items need a GPU; the Ray cluster has none")
                    continue
                for _ in range(min(self._pool_size(kind), len(queue))):
                    self._start(kind)
            while any(w.ref is not None for w in self.workers):
                if self.stop.is_set():
                    self._abandon()
                    return False
                refs = [w.ref for w in self.workers if w.ref is not None]
                done, _ = self.ray.wait(refs, num_returns=1, timeout=0.25)
                for ref in done:
                    self._land(next(w for w in self.workers if w.ref == ref))
                self._check_stalled()
            return not self.stop.is_set()
        finally:
            for worker in self.workers:
                self.ray.kill(worker.actor)

    def _pool_size(self, kind: str) -> int:
        if self.lanes.get(kind) == "gpu":
            return min(self.options.workers or self.cluster.gpus, self.cluster.gpus)
        return max(1, self.options.workers or self.cluster.cpus)

    def _resources(self, kind: str) -> dict[str, float]:
        """A GPU kind's worker asks for one GPU; a CPU kind's for CPUs only — locally an
        equal share of the machine (its torch threads), on a cluster one CPU."""
        if self.lanes.get(kind) == "gpu":
            return {"num_cpus": 1, "num_gpus": 1}
        share = self.cluster.cpus // self._pool_size(kind) if self.cluster.local else 1
        return {"num_cpus": max(1, share), "num_gpus": 0}

    def _start(self, kind: str) -> None:
        actor = self.actor_class.options(max_restarts=0, **self._resources(kind)).remote(kind)
        self.workers.append(_Worker(kind, actor, actor.ready.remote()))

    def _land(self, worker: _Worker) -> None:
        """A call of ``worker`` has finished: take its answer, give it its next item."""
        ref, self.last_activity = worker.ref, time.monotonic()
        worker.ref = None
        try:
            answer = self.ray.get(ref)
        except self.worker_died as error:
            self._died(worker, error)
            return
        except self.ray.exceptions.RayTaskError as error:  # the worker's own code failed
            if worker.entry is None:
                self._died(worker, error)
                return
            self.landed(Outcome(worker.entry.item, worker.entry.attempts, error=_reason(error)))
        else:
            if worker.entry is None:
                worker.name = answer
                self.start_failures[worker.kind] = 0
                self.ready(answer)
            else:
                self.landed(Outcome(worker.entry.item, worker.entry.attempts, result=answer))
        worker.entry = worker.task = None
        self._next(worker)

    def _next(self, worker: _Worker) -> None:
        queue = self.queues[worker.kind]
        if self.stop.is_set():
            return
        if not queue:  # nothing left of its kind: free its CPUs (or GPU) for others
            self.ray.kill(worker.actor)
            self.workers.remove(worker)
            return
        entry = queue.popleft()
        entry.attempts += 1
        item = entry.item
        worker.entry = entry
        worker.task = Task(
            item=item.id,
            kind=item.kind,
            values=dict(item.values),
            mesh=item.mesh,
            folder=str(item_folder(self.out, item.id)),
            staging=str(attempt_folder(self.out, item.id, entry.attempts)),
            scratch=str(scratch_folder(self.out, item.id)),
        )
        worker.ref = worker.actor.run.remote(worker.task)

    def _died(self, worker: _Worker, error: Exception) -> None:
        """``worker`` is gone: its item goes back in front (or fails), a new one starts."""
        self.ray.kill(worker.actor)  # gone, or unreachable: either way it writes no more
        self.workers.remove(worker)
        kind, reason = worker.kind, _reason(error)
        if worker.entry is not None:
            discard(Path(worker.task.staging))
            entry = worker.entry
            if entry.attempts > self.options.retries:
                times = f"{entry.attempts} time{'s' if entry.attempts > 1 else ''}"
                message = f"its worker died {times}; the last: {reason}"
                self.landed(Outcome(entry.item, entry.attempts, error=message))
            else:
                self.queues[kind].appendleft(entry)
        else:
            self.start_failures[kind] = self.start_failures.get(kind, 0) + 1
            if self.start_failures[kind] > self.options.retries:
                self._fail_queue(kind, f"no {kind} worker could start: {reason}")
        alive = sum(w.kind == kind for w in self.workers)
        if self.stop.is_set():
            return
        if self.queues[kind] and alive < min(self._pool_size(kind), len(self.queues[kind])):
            self._start(kind)

    def _fail_queue(self, kind: str, reason: str) -> None:
        queue = self.queues[kind]
        while queue:
            entry = queue.popleft()
            self.landed(Outcome(entry.item, entry.attempts, error=reason))
        for worker in [w for w in self.workers if w.kind == kind and w.entry is None]:
            self.ray.kill(worker.actor)
            self.workers.remove(worker)

    def _check_stalled(self) -> None:
        """Fail what is queued when no worker has been ready or busy for the timeout
        (Ray cannot place any: the cluster lacks what they ask for)."""
        if any(w.entry is not None for w in self.workers):
            return
        if time.monotonic() - self.last_activity < self.options.start_timeout:
            return
        for kind, queue in self.queues.items():
            if queue:
                wait = f"{self.options.start_timeout:.0f} s"
                asked = self._resources(kind)
                self._fail_queue(kind, f"no {kind} worker was placed in {wait} (each asks {asked})")
        for worker in self.workers:
            self.ray.kill(worker.actor)
        self.workers.clear()

    def _abandon(self) -> None:
        """Stop: keep what has already finished, end the workers, remove their attempts."""
        refs = [w.ref for w in self.workers if w.ref is not None]
        done, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0) if refs else ([], [])
        for worker in [w for w in self.workers if w.ref is not None and w.ref in done]:
            self._land(worker)
        busy = [w for w in self.workers if w.entry is not None]
        for worker in self.workers:
            self.ray.kill(worker.actor)
        if busy:  # wait until they are gone: nothing may write an attempt we remove
            self.ray.wait([w.ref for w in busy], num_returns=len(busy), timeout=30)
        for worker in busy:
            discard(Path(worker.task.staging))


def _reason(error: Exception) -> str:
    """One line from a Ray error: the exception's own message where it carries one."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error:" in line or "Exception:" in line:
            return line[:400]
    return (lines[0] if lines else type(error).__name__)[:400]
