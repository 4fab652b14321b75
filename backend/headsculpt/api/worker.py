"""Job kinds with limits run in a worker process: a job that outgrows them fails, the server
stays up, and a cancel lands at once whatever the job is doing.

A rig works on a file the user sent. Its budgets (export/mesh_budget.py) refuse what would
cost too much before the work starts, but the work that follows is numpy, scipy and torch
calls that no flag can interrupt midway. So the kinds that declare limits in the registry
(``JobKind.memory_limit`` / ``time_limit``: the rig) run in a process of their own,
started with the ``spawn`` method (no fork of a threaded server), which loads the kind's
pipeline once and runs its jobs one at a time:

- the server polls the worker ten times a second: a cancel (or the server shutting down)
  kills it and the job ends ``cancelled`` within a second, at any stage — reading a file,
  finding the face, a linear solve;
- resident memory over ``memory_limit`` (Linux: /proc, else psutil when installed) or a
  job running past ``time_limit`` kills it too, and the job fails saying which limit and
  what to do; the address space is also capped at the worker's own size plus four times
  the memory limit (``RLIMIT_AS``), so a runaway allocation fails in the worker with a
  MemoryError rather than swapping the machine; the kernel's OOM killer, if it strikes,
  takes the worker, not the server;
- the worker runs at a lower CPU priority (nice 10), so the server's own lanes (a draft
  parametric head) keep their pace beside it; it ends within a second of the server
  (it watches its parent process, and a closed pipe ends it too);
- the worker starts with the kind's first job, or earlier when asked to warm up (an
  upload asks: a rig is likely to follow), not with the server — a server that never
  rigs never pays for it; after a kill a fresh worker starts at once in the background
  (it takes ~10 s to load the head model), so the next job finds it ready.

The worker touches storage only through the server, over its pipe: progress, outputs
(written by the server's job store, atomically), the parent's file names, bytes and local
paths; its scratch folder is the job's own. Messages are tuples: ``(verb, *arguments)``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from headsculpt.api.schemas import JobRequest, PipelineAvailability
from headsculpt.pipelines.contract import JobOutputs, make_request
from headsculpt.pipelines.registry import JobKind, job_kinds
from headsculpt.progress import Cancelled, ProgressCallback

log = logging.getLogger("headsculpt.api")

POLL_SECONDS = 0.1  # how often the server looks at a running worker (cancel, memory, time)
PROGRESS_SECONDS = 0.25  # a worker's progress is stored this often at most (each is a write)
WORKER_NICE = 10  # the worker's CPU priority below the server's (Unix)
START_SECONDS = 600.0  # a worker that has not loaded its pipeline by then is given up
_ADDRESS_SPACE_FACTOR = 4  # RLIMIT_AS: the worker's size once loaded + this × memory_limit
_GIB = 2**30


class JobLimitError(ValueError):
    """A job stopped by its kind's memory or time limit (the message says which)."""


class WorkerCrashError(RuntimeError):
    """The worker process ended without answering (killed from outside, crashed)."""


class WorkerJobError(RuntimeError):
    """An unexpected error inside the worker; ``remote_traceback`` is the worker's."""

    def __init__(self, message: str, remote_traceback: str) -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback


class WorkerExecutor:
    """An executor (api/executors.py) that runs a kind's jobs in a worker process."""

    def __init__(self, kind: JobKind) -> None:
        self.kind = kind
        self._context = multiprocessing.get_context("spawn")
        self._process = None
        self._connection = None
        self._ready = False
        self._error = "" if kind.built else kind.not_built
        self._lock = threading.RLock()  # one job, one start at a time
        self._closing = False

    # --- the executor interface ---------------------------------------------------------
    def availability(self) -> PipelineAvailability:
        if self._error:
            return PipelineAvailability(available=False, reason=self._error)
        if not self._ready:
            reason = "its worker process starts with the first job (~10 s)"
            return PipelineAvailability(available=True, reason=reason)
        return PipelineAvailability(available=True, reason="")

    def load(self) -> None:
        """Nothing at the lane's start: the worker starts with the first job (or warm_up)."""

    def warm_up(self) -> None:
        """Start the worker in the background if it is not running (returns at once)."""
        if self.kind.built and not self._closing and self._process is None:
            self._restart()

    def run(self, request: JobRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        """Run one job in the worker; raises Cancelled (the worker killed) when the job is
        cancelled, JobLimitError past a limit, and the job's own error otherwise."""
        values = self.kind.check(request.model_dump())
        cancelled = getattr(progress, "cancelled", None) or (lambda: False)
        while not self._lock.acquire(timeout=POLL_SECONDS):  # a worker starting elsewhere
            if cancelled():
                raise Cancelled
        try:
            self._ensure_worker(cancelled)
            parent = outputs.parent
            self._connection.send(("job", values, str(outputs.scratch), parent is not None))
            self._serve(outputs, progress, cancelled)
        except BaseException as error:
            if not getattr(error, "worker_idle", False):
                self._restart()  # the worker is mid-job, or gone: start afresh
            raise
        finally:
            self._lock.release()

    def close(self) -> None:
        """Stop the worker (the server is shutting down)."""
        self._closing = True
        self._kill()

    # --- the job's conversation ----------------------------------------------------------
    def _serve(self, outputs: JobOutputs, progress: ProgressCallback, cancelled) -> None:
        started = time.monotonic()
        limit = self.kind.time_limit
        connection, process = self._connection, self._process
        shown, stored = "", 0.0  # the progress last stored: stage, when
        while True:
            if cancelled():
                raise Cancelled
            if limit is not None and time.monotonic() - started > limit:
                span = f"{limit / 60:.0f} minutes" if limit >= 120 else f"{limit:.0f} s"
                raise JobLimitError(
                    f"the {self.kind.name} job ran longer than {span} and was stopped; "
                    "decimate the mesh (or name its up and front axes, so the face search is "
                    "shorter) and submit it again"
                )
            self._check_memory(process.pid)
            try:
                ready = connection.poll(POLL_SECONDS)
            except (EOFError, OSError):
                ready = True
            if not ready:
                if not process.is_alive():
                    raise Cancelled if cancelled() else self._died(process)
                continue
            try:
                message = connection.recv()
            except (EOFError, OSError):  # gone: stopped for a cancel or a shutdown, or died
                raise (Cancelled if cancelled() else self._died(process)) from None
            verb, arguments = message[0], message[1:]
            if verb == "progress":  # stored (an fsync'd write) at most 4 times a second
                now = time.monotonic()
                stage, preview = arguments[0], arguments[2] if len(arguments) > 2 else None
                if stage != shown or preview is not None or now - stored >= PROGRESS_SECONDS:
                    progress(*arguments)
                    shown, stored = stage, now
            elif verb == "write":
                outputs.write(*arguments)
            elif verb == "set_code":
                outputs.set_code(*arguments)
            elif verb in ("names", "read", "describe", "local_path"):
                connection.send(_answer(outputs.parent, verb, arguments))
            elif verb == "done":
                return
            elif verb == "failed":
                error = _rebuilt(*arguments)
                error.worker_idle = arguments[0] != "MemoryError"  # it waits for the next job
                raise error

    def _check_memory(self, pid: int) -> None:
        limit = self.kind.memory_limit
        if limit is None:
            return
        resident = resident_bytes(pid)
        if resident is not None and resident > limit:
            raise JobLimitError(
                f"the {self.kind.name} job needed more than {limit / _GIB:.1f} GB of memory and "
                "was stopped (the limit keeps the server up); decimate the mesh or shrink its "
                "textures and submit it again"
            )

    def _died(self, process) -> Exception:
        process.join(1.0)
        code = process.exitcode
        if code is not None and code < 0 and -code == 9:
            return JobLimitError(
                f"the {self.kind.name} job's worker was killed by the system (out of memory?); "
                "decimate the mesh or shrink its textures and submit it again"
            )
        return WorkerCrashError(
            f"the {self.kind.name} job's worker process ended unexpectedly (exit code {code}); "
            "submit the job again, and report it if it happens again"
        )

    # --- the worker's life ----------------------------------------------------------------
    def _ensure_worker(self, cancelled) -> None:
        """A worker that has loaded its pipeline (started now if there is none)."""
        if self._process is not None and self._process.is_alive() and self._ready:
            return
        if self._process is None or not self._process.is_alive():
            self._start()
        deadline = time.monotonic() + START_SECONDS
        while not self._ready:
            if self._closing:  # the server is stopping: no worker is left behind
                self._kill()
                raise Cancelled
            if cancelled():
                raise Cancelled
            if time.monotonic() > deadline:
                self._kill()
                raise WorkerCrashError(f"the {self.kind.name} worker did not start in time")
            try:
                if not self._connection.poll(POLL_SECONDS):
                    if not self._process.is_alive():
                        raise self._died(self._process)
                    continue
                message = self._connection.recv()
            except (EOFError, OSError):
                raise self._died(self._process) from None
            if message[0] == "ready":
                self._ready = True
                self._error = ""
            elif message[0] == "load_failed":
                self._error = f"the {self.kind.name} pipeline failed to load: {message[1]}"
                self._kill()
                raise RuntimeError(self._error)

    def _start(self) -> None:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=worker_main,
            args=(theirs, self.kind.name, self.kind.memory_limit),
            name=f"headsculpt-{self.kind.name}-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        self._process, self._connection, self._ready = process, ours, False

    def _kill(self) -> None:
        process, connection = self._process, self._connection
        self._process, self._connection, self._ready = None, None, False
        if process is not None and process.is_alive():
            process.kill()
            process.join(5.0)
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def _restart(self) -> None:
        """Kill the worker and start a new one in the background (ready for the next job)."""
        self._kill()
        if self._closing:
            return

        def start() -> None:
            with self._lock:
                if self._closing or self._process is not None:
                    return
                try:
                    self._ensure_worker(lambda: self._closing)
                except Cancelled:  # the server is stopping
                    return
                except Exception:  # the next job tries again and reports it
                    log.exception("restarting the %s worker failed", self.kind.name)

        threading.Thread(
            target=start, name=f"headsculpt-{self.kind.name}-restart", daemon=True
        ).start()


def _answer(parent, verb: str, arguments: tuple) -> tuple:
    """The server's answer to a worker's question about the parent job's files."""
    try:
        if parent is None:
            raise FileNotFoundError("the job has no parent")
        method = getattr(parent, verb, None)
        if method is None:
            return ("value", None)
        value = method(*arguments)
        return ("value", str(value) if isinstance(value, Path) else value)
    except Exception as error:  # sent back and raised in the worker, as if local
        return ("error", type(error).__name__, str(error))


def _rebuilt(
    kind: str, message: str, remote_traceback: str, field: str | None, code: int | None
) -> Exception:
    """The worker's error on the server's side: input errors keep their message and field,
    a refused write its errno (the runner says "free space" for a full disk)."""
    if kind == "ValueError":
        error = ValueError(message)
        if field:
            error.field = field
        return error
    if kind == "OSError":
        return OSError(code, message) if code else OSError(message)
    if kind == "MemoryError":
        return JobLimitError(
            "the job ran out of the memory a job may use and was stopped; decimate the mesh "
            "or shrink its textures and submit it again"
        )
    return WorkerJobError(f"{kind}: {message}", remote_traceback)


def resident_bytes(pid: int) -> int | None:
    """A process's resident memory in bytes; None where the platform cannot say."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except Exception:  # gone meanwhile
        return None


# --- inside the worker process --------------------------------------------------------------
class _Parent:
    """The parent job's files, asked of the server."""

    def __init__(self, connection, parent_id: str | None) -> None:
        self._connection = connection
        self.id = parent_id

    def _ask(self, verb: str, *arguments: Any) -> Any:
        self._connection.send((verb, *arguments))
        answer = self._connection.recv()
        if answer[0] == "error":
            kind, message = answer[1], answer[2]
            raise FileNotFoundError(message) if kind == "FileNotFoundError" else OSError(message)
        return answer[1]

    def names(self) -> list[str]:
        return self._ask("names")

    def read(self, name: str) -> bytes:
        return self._ask("read", name)

    def describe(self, name: str) -> str:
        return self._ask("describe", name) or name

    def local_path(self, name: str) -> Path | None:
        path = self._ask("local_path", name)
        return Path(path) if path else None


class _Outputs:
    """JobOutputs inside the worker: files go to the server's job store over the pipe."""

    def __init__(self, connection, scratch: str, parent: _Parent | None) -> None:
        self._connection = connection
        self.scratch = Path(scratch)
        self.parent = parent

    def write(self, name: str, data: bytes) -> None:
        self._connection.send(("write", name, bytes(data)))

    def set_code(self, code: dict[str, Any]) -> None:
        self._connection.send(("set_code", code))


def worker_main(connection, kind_name: str, memory_limit: int | None) -> None:
    """The worker process: load the pipeline once, then run jobs until the pipe closes."""
    _die_with_parent()
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICE)
    os.umask(0o077)  # scratch files private, as the server's
    try:
        kind = next(k for k in job_kinds() if k.name == kind_name)
        pipeline_class = kind.load_pipeline_class()
        pipeline = pipeline_class.from_defaults()
    except Exception as error:
        connection.send(("load_failed", f"{type(error).__name__}: {error}"))
        return
    _cap_address_space(memory_limit)
    connection.send(("ready",))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if message[0] != "job":
            continue
        _, values, scratch, has_parent = message
        parent = _Parent(connection, values.get("parent_id")) if has_parent else None
        outputs = _Outputs(connection, scratch, parent)

        def progress(stage: str, fraction: float, preview=None) -> None:
            connection.send(("progress", stage, fraction, preview))

        try:
            pipeline.run(make_request(pipeline_class.Request, values), outputs, progress)
            connection.send(("done",))
        except BaseException as error:  # every error goes back to the server
            if not _send_failure(connection, error):
                return  # the server is gone
            if isinstance(error, MemoryError | KeyboardInterrupt | SystemExit):
                return  # a fresh worker is better than a fragmented one


def _send_failure(connection, error: BaseException) -> bool:
    """Tell the server how the job failed; False when the pipe is gone."""
    if isinstance(error, ValueError):
        kind = "ValueError"
    elif isinstance(error, MemoryError):
        kind = "MemoryError"
    elif isinstance(error, OSError) and not isinstance(error, BrokenPipeError | EOFError):
        kind = "OSError"
    else:
        kind = type(error).__name__
    detail = str(error.strerror or error) if isinstance(error, OSError) else str(error)
    try:
        connection.send(
            (
                "failed",
                kind,
                detail,
                traceback.format_exc(),
                getattr(error, "field", None),
                getattr(error, "errno", None),
            )
        )
    except (OSError, EOFError, ValueError):
        return False
    return True


def _die_with_parent() -> None:
    """End the worker when the server is gone (even killed with -9): a thread checks every
    second that the process that started it is still its parent. (Linux's PR_SET_PDEATHSIG
    would fire when the *thread* that started the worker ends, which a restart's does.)"""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="headsculpt-orphan-watch", daemon=True).start()


def _cap_address_space(memory_limit: int | None) -> None:
    """RLIMIT_AS at the worker's size now plus a multiple of its memory limit (Unix)."""
    if memory_limit is None:
        return
    with contextlib.suppress(Exception):
        import resource

        size = 0
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmSize:"):
                    size = int(line.split()[1]) * 1024
        if size:
            cap = size + _ADDRESS_SPACE_FACTOR * memory_limit
            resource.setrlimit(resource.RLIMIT_AS, (cap, resource.RLIM_INFINITY))
