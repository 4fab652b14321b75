"""Jobs in a worker process (api/worker.py): past its memory or time limit the job fails
naming the limit and the server lives on; a cancel lands within a second even while the job
says nothing; input errors come back as they were written, bugs with the worker's
traceback; a worker killed from outside fails its job and the next job gets a new one.

The kind is a throwaway (tests/worker_kinds.py) registered in the worker only, so these
run in seconds; the rig itself runs in its worker in tests/test_hostile_meshes.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace

import pytest

from headsculpt.api.schemas import JobRequest
from headsculpt.api.worker import JobLimitError, WorkerExecutor, WorkerJobError, resident_bytes
from headsculpt.pipelines.registry import JobKind
from headsculpt.progress import Cancelled

HOG = JobKind(
    name="hog",
    kind="hog",
    mode=None,
    lane="cpu-long",
    pipeline="worker_kinds:HogPipeline",
    presets=("standard",),
    default_preset="standard",
    summary="tests only",
    max_variants=1,
    text_field=None,
    memory_limit=400 * 2**20,
    time_limit=20.0,
)


class Outputs:
    def __init__(self, scratch) -> None:
        self.scratch = scratch
        self.parent = None
        self.files: dict[str, bytes] = {}

    def write(self, name: str, data: bytes) -> None:
        self.files[name] = data

    def set_code(self, code) -> None:
        pass


class Progress:
    """The runner's progress callback, as the worker executor sees it."""

    def __init__(self) -> None:
        self.stages: list[str] = []
        self.cancel = threading.Event()
        self.cancelled = self.cancel.is_set

    def __call__(self, stage: str, fraction: float, preview=None) -> None:
        if self.cancel.is_set():
            raise Cancelled
        self.stages.append(stage)


@pytest.fixture
def executor(monkeypatch):
    monkeypatch.setenv("HEADSCULPT_PLUGINS", "worker_kinds")
    made: list[WorkerExecutor] = []

    def make(**limits) -> WorkerExecutor:
        made.append(WorkerExecutor(replace(HOG, **limits)))
        return made[-1]

    yield make
    for one in made:
        one.close()


def _run(executor: WorkerExecutor, what: str, tmp_path, progress: Progress | None = None):
    outputs = Outputs(tmp_path)
    executor.run(JobRequest(prompt=what), outputs, progress or Progress())
    return outputs


def test_a_job_runs_in_the_worker_and_its_files_come_back(executor, tmp_path):
    worker = executor()
    outputs = _run(worker, "hello", tmp_path)
    assert outputs.files == {"head.glb": b"glTF-hello"}
    assert worker._process.pid != os.getpid()  # another process did it
    assert _run(worker, "again", tmp_path).files == {"head.glb": b"glTF-again"}


def test_past_its_memory_limit_the_job_fails_naming_it_and_a_new_worker_serves(executor, tmp_path):
    worker = executor(memory_limit=300 * 2**20)
    _run(worker, "warm", tmp_path)
    first = worker._process.pid
    started = time.monotonic()
    with pytest.raises(JobLimitError, match=r"more than 0\.3 GB of memory.*decimate the mesh"):
        _run(worker, "memory", tmp_path)
    assert time.monotonic() - started < 15  # 50 MB a step: stopped near 300 MB, not 10 GB
    assert _run(worker, "after", tmp_path).files == {"head.glb": b"glTF-after"}
    assert worker._process.pid != first


def test_past_its_time_limit_the_job_fails_even_when_it_reports_nothing(executor, tmp_path):
    worker = executor(time_limit=1.5)
    _run(worker, "warm", tmp_path)
    started = time.monotonic()
    with pytest.raises(JobLimitError, match="ran longer than"):
        _run(worker, "silent", tmp_path)
    assert time.monotonic() - started < 4


def test_a_cancel_lands_within_a_second_while_the_job_says_nothing(executor, tmp_path):
    worker = executor()
    _run(worker, "warm", tmp_path)
    pid = worker._process.pid
    progress = Progress()
    cancelled_at = []

    def cancel_soon() -> None:
        time.sleep(0.5)
        cancelled_at.append(time.monotonic())
        progress.cancel.set()

    threading.Thread(target=cancel_soon).start()
    with pytest.raises(Cancelled):
        _run(worker, "silent", tmp_path, progress)
    assert time.monotonic() - cancelled_at[0] <= 1.0
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):  # the job's process is gone
        os.kill(pid, 0)


def test_input_errors_come_back_as_written_and_the_worker_stays(executor, tmp_path):
    worker = executor()
    _run(worker, "warm", tmp_path)
    pid = worker._process.pid
    with pytest.raises(ValueError, match=r"^scan\.obj: 9,000 vertices sit at one spot; merge"):
        _run(worker, "input", tmp_path)
    with pytest.raises(WorkerJobError, match="IndexError: index 7") as bug:
        _run(worker, "bug", tmp_path)
    assert "worker_kinds.py" in bug.value.remote_traceback  # error.log gets the real place
    assert worker._process.pid == pid  # no restart for a job's own error


def test_a_worker_killed_from_outside_fails_its_job_and_the_next_starts_a_new_one(
    executor, tmp_path
):
    worker = executor()
    _run(worker, "warm", tmp_path)
    pid = worker._process.pid
    threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()  # as the OOM killer would
    with pytest.raises(JobLimitError, match="killed by the system"):
        _run(worker, "silent", tmp_path)
    assert _run(worker, "after", tmp_path).files == {"head.glb": b"glTF-after"}


def test_resident_memory_is_read_from_the_system():
    assert resident_bytes(os.getpid()) > 10 * 2**20
