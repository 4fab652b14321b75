"""One batch run: read the file, skip what is finished, run the rest on Ray, record each
item in the manifest as it lands.

Refused lines are recorded first (they need no worker); Ray is started only when
something is left to make. Whatever ends the run — the last item, a failure, Ctrl-C —
the manifest is compacted to one row per item before the lock is released.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from headsculpt.batch.item_files import discard, finish_work, stale_attempts, tidy_work
from headsculpt.batch.items import BatchOptions, read_items
from headsculpt.batch.manifest import FAILED, SUCCEEDED, Manifest, ManifestRow
from headsculpt.batch.scheduler import ClusterOptions, Outcome, Scheduler, start_ray


@dataclass
class BatchProgress:
    """Where a run stands (this run's items only), for the progress bar."""

    total: int  # items this run works on (refused lines included)
    done: int = 0  # of those, finished: succeeded or failed
    failed: int = 0
    heads: int = 0  # heads made by this run's workers
    made: int = 0  # items the workers finished (succeeded or failed)
    started: float | None = None  # when the first worker was ready (perf_counter)

    @property
    def seconds(self) -> float:
        return 0.0 if self.started is None else time.perf_counter() - self.started

    @property
    def heads_per_minute(self) -> float | None:
        return self.heads / self.seconds * 60.0 if self.heads and self.seconds > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far (None until a worker has finished an item)."""
        if not self.made:
            return None
        return (self.total - self.done) * self.seconds / self.made


@dataclass
class BatchSummary:
    """How a run ended; ``rows`` are the manifest's rows of the file's items, in order."""

    items: int  # lines in the file
    earlier: int  # finished by an earlier run, skipped
    made: int  # succeeded in this run
    rows: list[ManifestRow] = field(default_factory=list)
    interrupted: bool = False
    manifest: Path = Path()

    @property
    def failed(self) -> list[ManifestRow]:
        return [row for row in self.rows if row.status == FAILED]

    @property
    def succeeded(self) -> int:
        return sum(row.status == SUCCEEDED for row in self.rows)


def run_batch(
    prompts: Path,
    out: Path,
    options: BatchOptions,
    cluster_options: ClusterOptions,
    progress: Callable[[BatchProgress], None] = lambda state: None,
    stop: threading.Event | None = None,
) -> BatchSummary:
    """Make every unfinished item of ``prompts`` into ``out``; see the module's docstring."""
    items = read_items(prompts, options)
    stop = stop or threading.Event()
    Path(out).mkdir(parents=True, exist_ok=True)
    with Manifest.open(out) as manifest:
        for attempt in stale_attempts(out):  # a worker killed with the last run left it
            discard(attempt)
        refused = [item for item in items if not item.ok]
        todo = [item for item in items if item.ok and not manifest.finished(item)]
        summary = BatchSummary(len(items), len(items) - len(refused) - len(todo), 0,
                               manifest=manifest.path)  # fmt: skip
        state = BatchProgress(total=len(refused) + len(todo))
        for item in refused:
            manifest.record(ManifestRow.for_item(item, FAILED, error=item.error))
            state.done, state.failed = state.done + 1, state.failed + 1
        progress(state)

        def ready(worker: str) -> None:
            if state.started is None:
                state.started = time.perf_counter()
            progress(state)

        def landed(outcome: Outcome) -> None:
            row = _row(outcome)
            manifest.record(row)
            state.done, state.made = state.done + 1, state.made + (outcome.result is not None)
            if row.status == SUCCEEDED:
                finish_work(out, outcome.item.id)
                state.heads += outcome.item.heads
                summary.made += 1
            else:
                state.failed += 1
            progress(state)

        try:
            if todo:
                cluster = start_ray(cluster_options)
                try:
                    # Workers run elsewhere (another folder, another machine): an
                    # absolute path, the same on every node of a cluster (shared storage).
                    where = Path(out).resolve()
                    finished = Scheduler(cluster, where, todo, cluster_options, landed,
                                         ready, stop).run()  # fmt: skip
                finally:
                    cluster.close()
                summary.interrupted = not finished
        finally:
            tidy_work(out)
            manifest.compact(items)
        summary.rows = [manifest.rows[i.id] for i in items if i.id in manifest.rows]
    return summary


def _row(outcome: Outcome) -> ManifestRow:
    item, result = outcome.item, outcome.result
    if result is None:
        return ManifestRow.for_item(item, FAILED, attempts=outcome.attempts, error=outcome.error)
    return ManifestRow.for_item(
        item,
        FAILED if result.error else SUCCEEDED,
        outputs=[f"{item.id}/{name}" for name in result.outputs],
        seconds=round(result.seconds, 3),
        worker=result.worker,
        attempts=outcome.attempts,
        error=result.error,
    )
