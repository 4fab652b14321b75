"""Workers: one lane (thread + queue) per kind of hardware, jobs in order within a lane.

Each job kind names its lane in pipelines/registry.py: parametric jobs and their
edits run on the "cpu" lane, rigs on "cpu-long" (in a worker process of their own,
api/worker.py) and sculpt/IESD jobs on the "gpu" lane, so neither a minute-long
sculpt nor a rig of a big scan holds up a head that takes a second. Within a lane
jobs run one at a time, oldest first (one GPU, one set of warm models).

A failed job's message is for a person: an input error (a ValueError: a mesh over a
budget, no face found) says what is wrong and what to do, as the pipeline wrote it;
anything else says it is an internal error, with the traceback in the job's
error.log. Messages never show the server's data folder.

Cancelling a queued job marks it at once; cancelling a running one sets a flag
that the job's progress callback checks at every step and answers by raising
:class:`headsculpt.progress.Cancelled`, so the pipeline stops at its next step.
Whatever outputs a job wrote before it stopped stay in its folder.

When the disk refuses a write (full, read-only), the job that wrote fails with
the reason and the lane goes on; a job about to start waits, still queued, until
the disk takes writes again. At shutdown no job starts any more; the running one
stops at its next step, is marked ``interrupted`` and runs again when the server
next starts (queued jobs simply stay queued).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import re
import threading
import time
import traceback
from pathlib import Path

from headsculpt.api.executors import Executor, pipeline_name
from headsculpt.api.job_outputs import StoredOutputs
from headsculpt.api.job_store import JobStore, UnknownJobError, now
from headsculpt.api.schemas import JobStatus
from headsculpt.files import png_bytes
from headsculpt.pipelines.registry import job_kinds
from headsculpt.progress import Cancelled

log = logging.getLogger("headsculpt.api")

_STOP = object()
STORAGE_RETRY_SECONDS = 1.0  # how often a waiting lane tries the disk again
INTERRUPTED_MESSAGE = "the server stopped while this job ran; it runs again when it restarts"


class JobRunner:
    """Runs stored jobs on their lanes and tracks which ones should stop."""

    def __init__(self, store: JobStore, executors: dict[str, Executor]) -> None:
        self.store = store
        self.executors = executors
        self.lanes = {kind.name: kind.lane for kind in job_kinds()}  # executor name → lane
        self._queues: dict[str, queue.Queue] = {lane: queue.Queue() for lane in self.lanes.values()}
        self._threads: list[threading.Thread] = []
        self._cancel: dict[str, threading.Event] = {}
        self._running: dict[str, str] = {}  # lane → job id
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self, requeue: list[str] = ()) -> None:
        """Start the lane threads (each loads its executors first) and queue ``requeue``."""
        for lane, jobs in self._queues.items():
            names = [name for name, owner in self.lanes.items() if owner == lane]
            thread = threading.Thread(target=self._work, args=(lane, jobs, names),
                                      name=f"headsculpt-{lane}", daemon=True)  # fmt: skip
            thread.start()
            self._threads.append(thread)
        for job_id in requeue:
            self.submit(job_id)

    def submit(self, job_id: str) -> None:
        request = self.store.request(job_id)
        with self._lock:
            self._cancel[job_id] = threading.Event()
        self._queues[self.lanes[pipeline_name(request)]].put(job_id)

    def cancel(self, job_id: str) -> JobStatus:
        """Stop a job: at once when queued, at its next step when running."""
        with self._lock:
            status = self.store.get(job_id)
            event = self._cancel.get(job_id)
            if event is not None:
                event.set()
            if status.state == "queued":
                return self.store.settle(job_id, state="cancelled", finished_at=now(),
                                         message="cancelled before it started")  # fmt: skip
            return status

    def queued(self) -> dict[str, int]:
        return {lane: jobs.qsize() for lane, jobs in self._queues.items()}

    def warm_up(self, name: str) -> None:
        """Let the kind ``name`` get ready for a job likely to come (a worker process that
        starts in the background); returns at once."""
        warm = getattr(self.executors.get(name), "warm_up", None)
        if warm is not None and not self._stopping.is_set():
            warm()

    def stop_taking_work(self) -> None:
        """The moment shutdown begins: no job starts from now on; running ones are told to
        stop at their next step."""
        self._stopping.set()
        with self._lock:
            for job_id in self._running.values():
                self._cancel[job_id].set()
        for executor in self.executors.values():  # a worker process stops now, not later
            close = getattr(executor, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    def stop(self, timeout: float = 1.5) -> None:
        """On shutdown: stop taking work, let running jobs stop (up to ``timeout`` seconds
        in all), and leave each one ``interrupted``, to run again at the next start."""
        self.stop_taking_work()
        for jobs in self._queues.values():
            jobs.put(_STOP)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            still_running = list(self._running.values())
        for job_id in still_running:  # a job whose step outlasted the timeout
            self._interrupted(job_id)
        for executor in self.executors.values():  # worker processes end with the server
            close = getattr(executor, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    def _interrupted(self, job_id: str) -> None:
        with contextlib.suppress(UnknownJobError):  # deleted meanwhile
            self.store.settle(job_id, state="interrupted", finished_at=now(),
                              message=INTERRUPTED_MESSAGE, rerun_on_start=True)  # fmt: skip

    # --- the lane threads ---------------------------------------------
    def _work(self, lane: str, jobs: queue.Queue, names: list[str]) -> None:
        for name in names:
            if self._stopping.is_set():
                return
            try:
                self.executors[name].load()
            except Exception:  # availability() now says why; its jobs fail with it
                log.exception("loading the %s pipeline failed", name)
        while True:
            job_id = jobs.get()
            if job_id is _STOP or self._stopping.is_set():
                return  # what is left in the queue stays queued on disk
            try:
                self._run(lane, job_id)
            except Exception:  # never let one job take the lane down
                log.exception("job %s: unexpected error in the runner", job_id)

    def _run(self, lane: str, job_id: str) -> None:
        try:
            status = self.store.get(job_id)
        except UnknownJobError:
            return  # deleted while queued
        with self._lock:
            cancel = self._cancel.setdefault(job_id, threading.Event())
            if status.state != "queued" or cancel.is_set() or self._stopping.is_set():
                return
            self._running[lane] = job_id
        try:
            if self._mark_running(job_id, cancel):
                self._execute(job_id, cancel)
        finally:
            with self._lock:
                self._running.pop(lane, None)
                self._cancel.pop(job_id, None)

    def _mark_running(self, job_id: str, cancel: threading.Event) -> bool:
        """Mark the job running; while the disk refuses the write it waits, still queued."""
        while True:
            try:
                attempts = self.store.get(job_id).attempts + 1
                self.store.update(job_id, state="running", started_at=now(), stage="starting",
                                  progress=0.0, rerun_on_start=False,
                                  attempts=attempts)  # fmt: skip
                return True
            except UnknownJobError:
                return False
            except OSError as error:
                log.warning("job %s waits to start: the disk refuses writes (%s)", job_id, error)
            if self._stopping.wait(STORAGE_RETRY_SECONDS) or cancel.is_set():
                return False

    def _execute(self, job_id: str, cancel: threading.Event) -> None:
        request = self.store.request(job_id)

        def progress(stage: str, fraction: float, preview=None) -> None:
            if cancel.is_set():
                raise Cancelled
            self.store.update(job_id, stage=stage, progress=max(0.0, min(1.0, fraction)))
            if preview is not None:
                self.store.add_output(job_id, "progress.png", png_bytes(preview))

        progress.cancelled = cancel.is_set  # executors that wait on a worker poll this

        try:
            outputs = StoredOutputs(self.store, job_id, request.parent_id)
            self.executors[pipeline_name(request)].run(request, outputs, progress)
            if cancel.is_set():
                raise Cancelled
            attempts = self.store.get(job_id).attempts
            message = (
                ""
                if attempts <= 1
                else f"finished on attempt {attempts} (the server had stopped during an "
                "earlier one)"
            )
            self.store.settle(job_id, state="succeeded", progress=1.0, stage="done",
                              finished_at=now(), message=message)  # fmt: skip
        except Cancelled:
            if self._stopping.is_set():
                self._interrupted(job_id)
                return
            message = "cancelled while running; files made so far are kept"
            self.store.settle(job_id, state="cancelled", finished_at=now(), message=message)
        except Exception as error:
            if isinstance(error, ValueError):
                log.warning("job %s failed: %s", job_id, error)
            else:
                log.exception("job %s failed", job_id)
            trace = traceback.format_exc()
            remote = getattr(error, "remote_traceback", None)  # a worker's own traceback
            self.store.write_log(job_id, "error.log", trace + (f"\nIn the worker:\n{remote}"
                                                               if remote else ""))  # fmt: skip
            message = _without_paths(_failure_message(error), self.store.root)
            self.store.settle(job_id, state="failed", finished_at=now(),
                              message=message)  # fmt: skip


def _without_paths(message: str, root: Path) -> str:
    """A message that names files inside the data folder by their own names only (a job
    folder, a scratch copy: the server's layout is not the user's business)."""
    for base in {str(root), str(root.resolve())}:
        pattern = re.escape(base) + r"[^\s:'\",)]*"
        message = re.sub(pattern, lambda match: Path(match.group(0)).name or "the data folder",
                         message)  # fmt: skip
    return message


def _failure_message(error: Exception) -> str:
    """What a failed job says, for a person: an input error as the pipeline put it, a missing
    model or a refused write with what to do, anything else as an internal error."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return (
            f"the server could not write this job's files ({error.strerror}); "
            "free space on its data disk and submit the job again"
        )
    slot = getattr(error, "slot", None)  # guidance's MissingWeightsError names its slot
    if slot:
        return (f"{error} (set models.{slot} in the request, or in the add-on's preferences "
                "› Models)")  # fmt: skip
    if isinstance(error, ValueError) and str(error):  # the input: the message says what to do
        return str(error)
    if isinstance(error, MemoryError):
        return ("the job ran out of memory; make the input smaller (decimate the mesh, shrink "
                "its textures) and submit it again")  # fmt: skip
    detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    return (
        f"an internal error stopped the job ({type(error).__name__}"
        + (f": {detail}" if detail else "")
        + "); error.log in the job's folder has the details — submit it again, and report it "
        "if it happens again"
    )
