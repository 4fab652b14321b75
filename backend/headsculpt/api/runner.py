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

Jobs recovered at start-up (a crash or a shutdown left them running or queued) never
run ahead of a job submitted since: in its lane such a job waits behind every new one,
and a recovered job already running when a new one arrives gives way — it stops at its
next progress step (a sculpt keeps its checkpoint), goes back to ``queued`` behind the
new job with its files kept, and resumes when its lane is free. Giving way is not a
start that failed: it does not count towards ``MAX_JOB_ATTEMPTS``. (The artist who
pressed Generate after the add-on's backend crashed waits for their own head, not for
the crashed job's sixteen variants.)
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import itertools
import logging
import re
import threading
import time
import traceback
from pathlib import Path

from headsculpt.api.executors import Executor, pipeline_name
from headsculpt.api.job_outputs import StoredOutputs
from headsculpt.api.job_store import JobStore, UnknownJobError, now
from headsculpt.api.schemas import JobStatus, QueuePlace
from headsculpt.files import png_bytes
from headsculpt.pipelines.registry import job_kinds
from headsculpt.progress import Cancelled

log = logging.getLogger("headsculpt.api")

_STOP = None  # what a lane hands out once it is stopped
YIELDED_MESSAGE = (
    "recovered after a restart; paused to let a job submitted since run first, and resumes after it"
)
STORAGE_RETRY_SECONDS = 1.0  # how often a waiting lane tries the disk again
INTERRUPTED_MESSAGE = "the server stopped while this job ran; it runs again when it restarts"


class _Lane:
    """The jobs waiting for one lane: new ones first (in submission order), then the ones
    recovered at start-up (oldest first). Thread-safe; ``take`` blocks."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._waiting: list[tuple[bool, int, str]] = []  # (recovered, order, job id)
        self._order = itertools.count()
        self._first: dict[str, int] = {}  # job id → its order when first put
        self._stopped = False

    def put(self, job_id: str, recovered: bool = False) -> None:
        with self._ready:
            # A job put back (it gave way) keeps its first place among its kind.
            order = self._first.setdefault(job_id, next(self._order))
            bisect.insort(self._waiting, (recovered, order, job_id))
            self._ready.notify()

    def take(self) -> str | None:
        """The next job to run, or None once the lane is stopped."""
        with self._ready:
            while not self._waiting and not self._stopped:
                self._ready.wait()
            if self._stopped:
                return _STOP
            return self._waiting.pop(0)[2]

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify_all()

    def has_new(self) -> bool:
        """Whether a job submitted since the start (not a recovered one) waits."""
        with self._ready:
            return any(not recovered for recovered, _, _ in self._waiting)

    def position(self, job_id: str) -> int | None:
        """1 when ``job_id`` runs next; None when it is not waiting here."""
        with self._ready:
            ids = [waiting for _, _, waiting in self._waiting]
        return ids.index(job_id) + 1 if job_id in ids else None

    def __len__(self) -> int:
        with self._ready:
            return len(self._waiting)


class JobRunner:
    """Runs stored jobs on their lanes and tracks which ones should stop."""

    def __init__(self, store: JobStore, executors: dict[str, Executor]) -> None:
        self.store = store
        self.executors = executors
        self.lanes = {kind.name: kind.lane for kind in job_kinds()}  # executor name → lane
        self._queues: dict[str, _Lane] = {lane: _Lane() for lane in self.lanes.values()}
        self._threads: list[threading.Thread] = []
        self._cancel: dict[str, threading.Event] = {}
        self._running: dict[str, str] = {}  # lane → job id
        self._recovered: set[str] = set()  # queued again at start-up: run after new jobs
        self._yielding: set[str] = set()  # recovered jobs stopping to let a new one run
        self._loaded: set[str] = set()  # lanes whose executors have loaded
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self, requeue: list[str] = ()) -> None:
        """Start the lane threads (each loads its executors first) and queue ``requeue``
        (the jobs recovered at start-up: behind any job submitted from now on)."""
        for lane, jobs in self._queues.items():
            names = [name for name, owner in self.lanes.items() if owner == lane]
            thread = threading.Thread(target=self._work, args=(lane, jobs, names),
                                      name=f"headsculpt-{lane}", daemon=True)  # fmt: skip
            thread.start()
            self._threads.append(thread)
        for job_id in requeue:
            self.submit(job_id, recovered=True)

    def submit(self, job_id: str, recovered: bool = False) -> None:
        """Queue a job. A new one (not ``recovered``) goes ahead of the recovered jobs in
        its lane, and a recovered job running there gives way to it."""
        request = self.store.request(job_id)
        lane = self.lanes[pipeline_name(request)]
        with self._lock:
            self._cancel[job_id] = threading.Event()
            if recovered:
                self._recovered.add(job_id)
            self._queues[lane].put(job_id, recovered)
            running = self._running.get(lane)
            stopping = running is not None and self._cancel[running].is_set()  # cancelled
            if not recovered and running in self._recovered and not stopping:
                self._yielding.add(running)
                self._cancel[running].set()  # it stops at its next step, then waits again

    def place(self, job_id: str) -> QueuePlace | None:
        """Where a queued job stands in its lane and what that lane runs (None when the job
        is not waiting)."""
        for lane, jobs in self._queues.items():
            position = jobs.position(job_id)
            if position is None:
                continue
            with self._lock:
                running = self._running.get(lane)
                recovered = running in self._recovered
                ready = lane in self._loaded
            return QueuePlace(lane=lane, position=position, running=running,
                              running_recovered=recovered, lane_ready=ready)  # fmt: skip
        return None

    def cancel(self, job_id: str) -> JobStatus:
        """Stop a job: at once when queued, at its next step when running."""
        with self._lock:
            status = self.store.get(job_id)
            self._yielding.discard(job_id)  # the artist's cancel wins over giving way
            event = self._cancel.get(job_id)
            if event is not None:
                event.set()
            if status.state == "queued":
                return self.store.settle(job_id, state="cancelled", finished_at=now(),
                                         message="cancelled before it started")  # fmt: skip
            return status

    def queued(self) -> dict[str, int]:
        return {lane: len(jobs) for lane, jobs in self._queues.items()}

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
            jobs.stop()
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
    def _work(self, lane: str, jobs: _Lane, names: list[str]) -> None:
        for name in names:
            if self._stopping.is_set():
                return
            try:
                self.executors[name].load()
            except Exception:  # availability() now says why; its jobs fail with it
                log.exception("loading the %s pipeline failed", name)
        with self._lock:
            self._loaded.add(lane)
        while True:
            job_id = jobs.take()
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
                self._recovered.discard(job_id)
                return
            if job_id in self._recovered and self._queues[lane].has_new():
                self._queues[lane].put(job_id, recovered=True)  # a new job came meanwhile
                return
            self._running[lane] = job_id
        waits_again = False
        try:
            if self._mark_running(job_id, cancel):
                waits_again = self._execute(job_id, cancel)
        finally:
            with self._lock:
                self._running.pop(lane, None)
                if waits_again:  # gave way: back in line behind the new job
                    self._cancel[job_id] = threading.Event()
                    self._queues[lane].put(job_id, recovered=True)
                else:
                    self._cancel.pop(job_id, None)
                    self._recovered.discard(job_id)

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

    def _execute(self, job_id: str, cancel: threading.Event) -> bool:
        """Run the job to its end; True when it gave way to a new job and waits again."""
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
            with self._lock:  # finished as it was asked to give way: it is done
                gave_way = job_id in self._yielding
                self._yielding.discard(job_id)
            if cancel.is_set() and not gave_way:
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
                return False
            with self._lock:
                yielded = job_id in self._yielding
                self._yielding.discard(job_id)
            if yielded:
                # Not a failed start: the attempt it used is given back. Its files stay.
                attempts = max(0, self.store.get(job_id).attempts - 1)
                self.store.settle(job_id, state="queued", progress=0.0, stage="",
                                  started_at=None, attempts=attempts,
                                  message=YIELDED_MESSAGE)  # fmt: skip
                return True
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
        return False


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
