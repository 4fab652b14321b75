"""The job store and the runner's lanes, in process (no HTTP, no models).

The executors here are small stand-ins for pipelines that do not exist yet
(sculpt) or that take seconds to load (parametric); the store and the runner
under test are the product's own.
"""

import threading
import time

import pytest

from headsculpt.api.job_store import JobStore
from headsculpt.api.runner import JobRunner
from headsculpt.api.schemas import JobRequest, PipelineAvailability
from headsculpt.limits import MAX_JOB_ATTEMPTS
from headsculpt.pipelines.contract import JobOutputs
from headsculpt.progress import ProgressCallback


class WritesOneFile:
    def availability(self):
        return PipelineAvailability(available=True)

    def load(self):
        pass

    def run(self, request: JobRequest, outputs: JobOutputs, progress: ProgressCallback):
        progress("work", 0.5)
        outputs.write("head.glb", b"glTF" + request.prompt.encode())


class BlocksUntilReleased(WritesOneFile):
    def __init__(self):
        self.started = threading.Event()
        self.release = threading.Event()

    def run(self, request, outputs, progress):
        self.started.set()
        while not self.release.wait(0.01):
            progress("sculpting", 0.1)  # a cancel raises here


def _wait(store, job_id, states, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.get(job_id).state in states:
            return store.get(job_id)
        time.sleep(0.01)
    raise AssertionError(f"{job_id} is {store.get(job_id).state}")


@pytest.fixture
def lanes(tmp_path):
    store = JobStore(tmp_path)
    sculpt = BlocksUntilReleased()
    runner = JobRunner(store, {"parametric": WritesOneFile(), "sculpt": sculpt,
                               "edit": WritesOneFile()})  # fmt: skip
    runner.start()
    yield store, runner, sculpt
    sculpt.release.set()
    runner.stop()


def _submit(store, runner, **fields):
    job = store.create(JobRequest(prompt="a head", **fields))
    runner.submit(job.id)
    return job.id


def test_parametric_jobs_do_not_wait_behind_a_sculpt(lanes):
    store, runner, sculpt = lanes
    slow = _submit(store, runner, mode="sculpt")
    assert sculpt.started.wait(10)
    quick = _submit(store, runner)
    assert _wait(store, quick, {"succeeded"}).outputs[0].name == "head.glb"
    assert store.get(slow).state == "running"
    sculpt.release.set()
    assert _wait(store, slow, {"succeeded"}).state == "succeeded"


def test_cancel_queued_and_running(lanes):
    store, runner, sculpt = lanes
    running = _submit(store, runner, mode="sculpt")
    assert sculpt.started.wait(10)
    queued = _submit(store, runner, mode="sculpt")
    assert runner.cancel(queued).state == "cancelled"  # at once
    runner.cancel(running)
    assert _wait(store, running, {"cancelled"}).message.startswith("cancelled while running")
    assert store.get(queued).started_at is None  # it never ran


def test_restart_requeues_crashed_and_queued_jobs_but_not_one_that_keeps_crashing(tmp_path):
    store = JobStore(tmp_path)
    running = store.create(JobRequest(prompt="a"))
    store.update(running.id, state="running", attempts=1)
    crashing = store.create(JobRequest(prompt="d"))
    store.update(crashing.id, state="running", attempts=MAX_JOB_ATTEMPTS)
    queued = store.create(JobRequest(prompt="b"))
    finished = store.create(JobRequest(prompt="c"))
    store.add_output(finished.id, "head.glb", b"glTF")
    store.update(finished.id, state="succeeded")

    reopened = JobStore(tmp_path)  # as after kill -9: only what is on disk
    recovered = reopened.recover()
    # The job the server died under runs again (from its checkpoints), oldest first …
    assert recovered.requeue == [running.id, queued.id]
    assert reopened.get(running.id).state == "queued"
    assert f"attempt 2 of {MAX_JOB_ATTEMPTS}" in reopened.get(running.id).message
    # … unless it already took the server down MAX_JOB_ATTEMPTS times.
    assert recovered.interrupted == [crashing.id]
    assert reopened.get(crashing.id).state == "interrupted"
    assert reopened.output_path(finished.id, "head.glb").read_bytes() == b"glTF"


def test_each_start_of_a_job_counts_an_attempt(tmp_path):
    store = JobStore(tmp_path)
    runner = JobRunner(store, {"parametric": WritesOneFile(), "sculpt": WritesOneFile(),
                               "edit": WritesOneFile()})  # fmt: skip
    runner.start()
    try:
        job = _submit(store, runner)
        assert _wait(store, job, {"succeeded"}).attempts == 1
    finally:
        runner.stop()


def test_store_refuses_names_outside_the_job(tmp_path):
    store = JobStore(tmp_path)
    job = store.create(JobRequest(prompt="a"))
    for name in ("../x", "..", ".hidden", "a/b", ""):
        with pytest.raises(ValueError):
            store.add_output(job.id, name, b"")
        assert store.output_path(job.id, name) is None
    assert store.output_path(job.id, "request.json") is None  # present, but not an output


def test_a_failing_job_keeps_its_trace_and_the_lane_goes_on(tmp_path):
    class Fails(WritesOneFile):
        def run(self, request, outputs, progress):
            raise RuntimeError("out of memory")

    store = JobStore(tmp_path)
    runner = JobRunner(store, {"parametric": Fails(), "sculpt": WritesOneFile(),
                               "edit": WritesOneFile()})  # fmt: skip
    runner.start()
    try:
        failed = _submit(store, runner)
        status = _wait(store, failed, {"failed"})
        assert status.message == "RuntimeError: out of memory"
        assert "out of memory" in (tmp_path / "jobs" / failed / "error.log").read_text()
        runner.executors["parametric"] = WritesOneFile()
        assert _wait(store, _submit(store, runner), {"succeeded"}).state == "succeeded"
    finally:
        runner.stop()


def test_a_job_missing_weights_says_where_a_server_user_sets_them(tmp_path):
    from headsculpt.guidance.sources import MissingWeightsError

    class NeedsWeights(WritesOneFile):
        def run(self, request, outputs, progress):
            raise MissingWeightsError("base_model", "not set")

    store = JobStore(tmp_path)
    runner = JobRunner(store, {"parametric": NeedsWeights(), "sculpt": WritesOneFile(),
                               "edit": WritesOneFile()})  # fmt: skip
    runner.start()
    try:
        message = _wait(store, _submit(store, runner), {"failed"}).message
        assert message.startswith("MissingWeightsError: base_model (Stable Diffusion")
        assert message.endswith("(set models.base_model in the request, or in the add-on's "
                                "preferences › Models)")  # fmt: skip
    finally:
        runner.stop()
