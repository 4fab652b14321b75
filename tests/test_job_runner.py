"""The job store and the runner's lanes, in process (no HTTP, no models).

The executors here are small stand-ins for pipelines that do not exist yet
(sculpt) or that take seconds to load (parametric); the store and the runner
under test are the product's own.
"""

import errno
import logging
import threading
import time

import pytest
from PIL import Image

from headsculpt.api.job_store import JobStore, UnknownJobError
from headsculpt.api.runner import INTERRUPTED_MESSAGE, JobRunner
from headsculpt.api.schemas import JobRequest, PipelineAvailability
from headsculpt.limits import MAX_JOB_ATTEMPTS
from headsculpt.pipelines.contract import JobOutputs
from headsculpt.pipelines.registry import job_kinds
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


def _runner(store: JobStore, **executors) -> JobRunner:
    """A runner with an executor for every registered kind (``executors`` override some)."""
    every = {kind.name: WritesOneFile() for kind in job_kinds()}
    return JobRunner(store, every | executors)


def _wait(store, job_id, states, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.get(job_id).state in states:
            return store.get(job_id)
        time.sleep(0.01)
    raise AssertionError(f"{job_id} is {store.get(job_id).state}")


def _lanes_with(tmp_path, sculpt: BlocksUntilReleased):
    """A started runner whose sculpt lane runs ``sculpt``: (store, runner, sculpt)."""
    store = JobStore(tmp_path)
    runner = _runner(store, sculpt=sculpt)
    runner.start()
    yield store, runner, sculpt
    sculpt.release.set()
    runner.stop()


@pytest.fixture
def lanes(tmp_path):
    yield from _lanes_with(tmp_path, BlocksUntilReleased())


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
    runner = _runner(store)
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
    runner = _runner(store, parametric=Fails())
    runner.start()
    try:
        failed = _submit(store, runner)
        status = _wait(store, failed, {"failed"})
        assert status.message.startswith(
            "an internal error stopped the job (RuntimeError: out of memory); error.log in the "
            "job's folder"
        )
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
    runner = _runner(store, parametric=NeedsWeights())
    runner.start()
    try:
        message = _wait(store, _submit(store, runner), {"failed"}).message
        assert message.startswith("base_model (Stable Diffusion")
        assert message.endswith("(set models.base_model in the request, or in the add-on's "
                                "preferences › Models)")  # fmt: skip
    finally:
        runner.stop()


class WritesThenBlocks(BlocksUntilReleased):
    """Writes one finished file, reports a preview, then works until released."""

    def run(self, request, outputs, progress):
        outputs.write("head_1.glb", b"glTF-first-variant")
        progress("variant 2", 2.5, preview=Image.new("RGB", (8, 8), (200, 10, 10)))  # clamped
        super().run(request, outputs, progress)


@pytest.fixture
def blocking_lane(tmp_path):
    yield from _lanes_with(tmp_path, WritesThenBlocks())


def test_cancel_keeps_the_files_finished_before_it(blocking_lane):
    store, runner, sculpt = blocking_lane
    job = _submit(store, runner, mode="sculpt")
    assert sculpt.started.wait(10)
    assert [o.name for o in store.get(job).outputs] == ["head_1.glb", "progress.png"]
    runner.cancel(job)
    status = _wait(store, job, {"cancelled"})
    assert status.message == "cancelled while running; files made so far are kept"
    assert status.finished_at is not None
    assert store.output_path(job, "head_1.glb").read_bytes() == b"glTF-first-variant"
    assert store.output_path(job, "progress.png").read_bytes().startswith(b"\x89PNG")
    assert runner.cancel(job).state == "cancelled"  # a finished job stays as it is


def test_progress_is_clamped_and_previews_are_listed(tmp_path):
    seen = []

    class Reports(WritesOneFile):
        def run(self, request, outputs, progress):
            progress("before", -0.5)
            seen.append(store.get(job).progress)
            progress("beyond", 7.0, preview=Image.new("RGB", (4, 4)))
            seen.append((store.get(job).stage, store.get(job).progress))

    store = JobStore(tmp_path)
    runner = _runner(store, parametric=Reports())
    job = store.create(JobRequest(prompt="a head")).id
    runner.start([job])
    try:
        status = _wait(store, job, {"succeeded"})
        assert seen == [0.0, ("beyond", 1.0)]
        assert (status.stage, status.progress) == ("done", 1.0)
        assert [o.name for o in status.outputs] == ["progress.png"]
    finally:
        runner.stop()


def test_a_pipeline_that_ignores_a_cancel_still_ends_cancelled(tmp_path):
    class FinishesAnyway(WritesOneFile):
        def __init__(self):
            self.started, self.release = threading.Event(), threading.Event()

        def run(self, request, outputs, progress):
            self.started.set()
            self.release.wait(10)  # never calls progress again
            outputs.write("head.glb", b"glTF")

    store = JobStore(tmp_path)
    stubborn = FinishesAnyway()
    runner = _runner(store, sculpt=stubborn)
    runner.start()
    try:
        job = _submit(store, runner, mode="sculpt")
        assert stubborn.started.wait(10)
        runner.cancel(job)
        stubborn.release.set()
        status = _wait(store, job, {"cancelled", "succeeded"})
        assert status.state == "cancelled"
        assert [o.name for o in status.outputs] == ["head.glb"]
    finally:
        runner.stop()


def test_shutdown_interrupts_the_running_job_to_run_again_and_keeps_the_queue(blocking_lane):
    store, runner, sculpt = blocking_lane
    running = _submit(store, runner, mode="sculpt")
    assert sculpt.started.wait(10)
    waiting = _submit(store, runner, mode="sculpt")
    assert runner.queued()["gpu"] == 1
    runner.stop(timeout=5.0)
    status = store.get(running)
    assert (status.state, status.rerun_on_start) == ("interrupted", True)
    assert status.message == INTERRUPTED_MESSAGE
    assert store.get(waiting).state == "queued"
    assert store.output_path(running, "head_1.glb") is not None
    recovered = JobStore(store.root).recover()
    assert recovered.requeue == [running, waiting]


def test_a_job_outlasting_the_shutdown_is_still_marked_interrupted(tmp_path):
    class DeafToCancel(WritesOneFile):
        def __init__(self):
            self.started, self.release = threading.Event(), threading.Event()

        def run(self, request, outputs, progress):
            self.started.set()
            self.release.wait(10)

    store = JobStore(tmp_path)
    deaf = DeafToCancel()
    runner = _runner(store, sculpt=deaf)
    runner.start()
    job = _submit(store, runner, mode="sculpt")
    assert deaf.started.wait(10)
    runner.stop(timeout=0.2)
    try:
        assert store.get(job).state == "interrupted"
        assert store.get(job).rerun_on_start is True
    finally:
        deaf.release.set()


def test_no_job_starts_once_shutdown_begins(lanes):
    store, runner, _ = lanes
    runner.stop_taking_work()
    job = _submit(store, runner)
    time.sleep(0.3)
    assert store.get(job).state == "queued"
    assert store.get(job).attempts == 0


def test_jobs_of_a_lane_run_oldest_first_and_a_deleted_one_is_skipped(tmp_path):
    order = []

    class Records(WritesOneFile):
        def run(self, request, outputs, progress):
            order.append(request.prompt)

    store = JobStore(tmp_path)
    jobs = [store.create(JobRequest(prompt=p)).id for p in ("first", "deleted", "third")]
    store.delete(jobs[1])
    runner = _runner(store, parametric=Records())
    with pytest.raises(UnknownJobError):
        runner.submit(jobs[1])
    for job in (jobs[0], jobs[2]):
        runner.submit(job)
    runner.start()
    try:
        _wait(store, jobs[2], {"succeeded"})
        assert order == ["first", "third"]
    finally:
        runner.stop()


def test_a_job_waits_queued_while_the_disk_refuses_and_starts_when_it_has_room(
    tmp_path, monkeypatch
):
    import headsculpt.api.job_store as job_store_module
    import headsculpt.api.runner as runner_module

    real = job_store_module.write_atomically
    disk_full = threading.Event()
    disk_full.set()

    def write(path, data, mode=None):
        if disk_full.is_set() and path.name == "status.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, mode)

    monkeypatch.setattr(job_store_module, "write_atomically", write)
    monkeypatch.setattr(runner_module, "STORAGE_RETRY_SECONDS", 0.05)
    store = JobStore(tmp_path)
    disk_full.clear()
    job = store.create(JobRequest(prompt="a head")).id
    disk_full.set()
    runner = _runner(store)
    runner.start([job])
    try:
        time.sleep(0.4)
        assert store.get(job).state == "queued"
        disk_full.clear()
        status = _wait(store, job, {"succeeded"})
        assert status.attempts == 1
    finally:
        runner.stop()


def test_a_job_whose_files_do_not_fit_fails_saying_so(tmp_path):
    class FullDisk(WritesOneFile):
        def run(self, request, outputs, progress):
            raise OSError(errno.ENOSPC, "No space left on device")

    store = JobStore(tmp_path)
    runner = _runner(store, parametric=FullDisk())
    runner.start()
    try:
        status = _wait(store, _submit(store, runner), {"failed"})
        assert status.message == (
            "the server could not write this job's files (No space left on device); "
            "free space on its data disk and submit the job again"
        )
    finally:
        runner.stop()


def test_a_pipeline_that_fails_to_load_fails_its_jobs_not_the_lane(tmp_path):
    class WontLoad(WritesOneFile):
        def load(self):
            raise RuntimeError("CUDA out of memory")

        def run(self, request, outputs, progress):
            raise RuntimeError("the pipeline is not loaded")

    store = JobStore(tmp_path)
    runner = _runner(store, sculpt=WontLoad())
    runner.start()
    try:
        failed = _wait(store, _submit(store, runner, mode="sculpt"), {"failed"})
        assert "(RuntimeError: the pipeline is not loaded)" in failed.message
        assert _wait(store, _submit(store, runner), {"succeeded"}).state == "succeeded"
    finally:
        runner.stop()


def test_a_job_starts_fresh_and_ends_with_its_times(tmp_path):
    seen = {}

    class Looks(WritesOneFile):
        def run(self, request, outputs, progress):
            seen["start"] = store.get(job)

    store = JobStore(tmp_path)
    job = store.create(JobRequest(prompt="a head")).id
    store.settle(job, state="queued", progress=0.6, stage="coarse", rerun_on_start=True)
    runner = _runner(store, parametric=Looks())
    runner.start([job])
    try:
        done = _wait(store, job, {"succeeded"})
        start = seen["start"]
        assert (start.state, start.stage, start.progress, start.rerun_on_start) == (
            "running", "starting", 0.0, False)  # fmt: skip
        assert start.started_at is not None and start.finished_at is None
        assert (done.stage, done.progress, done.started_at) == ("done", 1.0, start.started_at)
        assert done.finished_at >= done.started_at
    finally:
        runner.stop()


def test_a_failed_job_records_when_it_ended(tmp_path):
    class Fails(WritesOneFile):
        def run(self, request, outputs, progress):
            raise ValueError("no face found")

    store = JobStore(tmp_path)
    runner = _runner(store, parametric=Fails())
    runner.start()
    try:
        failed = _wait(store, _submit(store, runner), {"failed"})
        assert failed.finished_at is not None and failed.finished_at >= failed.started_at
    finally:
        runner.stop()


def test_a_job_cancelled_in_line_says_it_never_started(lanes):
    store, runner, sculpt = lanes
    _submit(store, runner, mode="sculpt")
    assert sculpt.started.wait(10)
    queued = _submit(store, runner, mode="sculpt")
    status = runner.cancel(queued)
    assert (status.state, status.message) == ("cancelled", "cancelled before it started")
    assert status.finished_at is not None
    assert store.get(queued).message == "cancelled before it started"


def test_stop_ends_the_lane_threads(blocking_lane):
    store, runner, sculpt = blocking_lane
    _submit(store, runner, mode="sculpt")
    assert sculpt.started.wait(10)
    runner.stop(timeout=10.0)
    lanes = [t for t in threading.enumerate() if t.name.startswith("headsculpt-")]
    assert lanes == []  # the running job stopped at its next step; idle lanes were told


def test_an_error_in_the_runner_itself_is_logged_and_the_lane_goes_on(
    tmp_path, monkeypatch, caplog
):
    store = JobStore(tmp_path)
    broken, fine = (store.create(JobRequest(prompt=p)).id for p in ("broken", "fine"))
    real_get = store.get

    def get(job_id):
        if job_id == broken:
            raise RuntimeError("a bug in the runner")
        return real_get(job_id)

    runner = _runner(store)
    runner.submit(broken)
    runner.submit(fine)
    monkeypatch.setattr(store, "get", get)
    with caplog.at_level(logging.ERROR, logger="headsculpt.api"):
        runner.start()
        try:
            assert _wait(store, fine, {"succeeded"}).state == "succeeded"
        finally:
            runner.stop()
    assert f"job {broken}: unexpected error in the runner" in caplog.text


def test_loading_and_disk_waits_are_logged_naming_what(tmp_path, monkeypatch, caplog):
    import headsculpt.api.job_store as job_store_module
    import headsculpt.api.runner as runner_module

    class WontLoad(WritesOneFile):
        def load(self):
            raise RuntimeError("CUDA out of memory")

    real = job_store_module.write_atomically
    full = threading.Event()

    def write(path, data, mode=None):
        if full.is_set() and path.name == "status.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, mode)

    monkeypatch.setattr(job_store_module, "write_atomically", write)
    monkeypatch.setattr(runner_module, "STORAGE_RETRY_SECONDS", 0.05)
    store = JobStore(tmp_path)
    job = store.create(JobRequest(prompt="a")).id
    full.set()
    runner = _runner(store, sculpt=WontLoad())
    with caplog.at_level(logging.WARNING, logger="headsculpt.api"):
        runner.start([job])
        time.sleep(0.3)
        full.clear()
        _wait(store, job, {"succeeded"})
        runner.stop()
    assert "loading the sculpt pipeline failed" in [r.getMessage() for r in caplog.records]
    assert f"job {job} waits to start: the disk refuses writes" in caplog.text


class LongWhenAsked(WritesOneFile):
    """A head that takes until ``release`` when its prompt says "long" (stepping, so a
    cancel or a request to give way lands at its next step); others are quick."""

    def __init__(self):
        self.started = threading.Event()
        self.release = threading.Event()

    def run(self, request, outputs, progress):
        if request.prompt == "long":
            outputs.write("head_1.glb", b"glTF first variant")  # made before it gave way
            self.started.set()
            while not self.release.wait(0.01):
                progress("variants", 0.3)
        super().run(request, outputs, progress)


def _crashed_under(tmp_path, prompt: str = "long") -> str:
    """A job the server died under (kill -9 mid-run: still "running" on disk)."""
    store = JobStore(tmp_path)
    job = store.create(JobRequest(prompt=prompt))
    store.update(job.id, state="running", attempts=1, progress=0.4)
    return job.id


def test_a_job_recovered_after_a_crash_gives_way_to_one_submitted_since(tmp_path):
    crashed = _crashed_under(tmp_path)
    store = JobStore(tmp_path)  # the restart
    long = LongWhenAsked()
    runner = _runner(store, parametric=long)
    runner.start(store.recover().requeue)
    try:
        assert long.started.wait(10) and store.get(crashed).state == "running"
        assert store.get(crashed).recovered
        assert "after any job submitted since" in store.get(crashed).message
        long.started.clear()
        new = _submit(store, runner)  # the artist's next head
        done = _wait(store, new, {"succeeded"})
        # It ran while the recovered job waited; then that one resumes by itself, its
        # files kept and the attempt it gave way in given back (2: the crash's and this).
        assert long.started.wait(10)
        resumed = store.get(crashed)
        assert resumed.started_at > done.finished_at, (resumed, done)
        assert resumed.attempts == 2, resumed
        assert store.output_path(crashed, "head_1.glb").read_bytes() == b"glTF first variant"
        long.release.set()
        finished = _wait(store, crashed, {"succeeded"})
        assert finished.attempts == 2 and "attempt 2" in finished.message
        assert finished.finished_at > done.finished_at
    finally:
        long.release.set()
        runner.stop()


def test_recovered_jobs_wait_behind_new_ones_in_their_lane(tmp_path):
    first = _crashed_under(tmp_path, prompt="first")
    blocker = LongWhenAsked()
    store = JobStore(tmp_path)
    requeue = store.recover().requeue
    runner = _runner(store, parametric=blocker)
    # Busy with a new job while the recovered one and two more new ones queue.
    busy = store.create(JobRequest(prompt="long"))
    runner.start()
    runner.submit(busy.id)
    assert blocker.started.wait(10)
    for job_id in requeue:
        runner.submit(job_id, recovered=True)
    later = [_submit(store, runner, seed=s) for s in (1, 2)]
    assert runner.place(later[0]).position == 1 and runner.place(first).position == 3
    blocker.release.set()
    try:
        ends = {j: _wait(store, j, {"succeeded"}).finished_at for j in [first, *later]}
        assert ends[later[0]] < ends[later[1]] < ends[first]
    finally:
        runner.stop()


def test_a_queued_job_says_where_it_waits_and_what_its_lane_runs(tmp_path):
    crashed = _crashed_under(tmp_path)
    store = JobStore(tmp_path)
    long = LongWhenAsked()
    runner = _runner(store, parametric=long)
    requeue = store.recover().requeue
    runner.start()
    try:
        behind = store.create(JobRequest(prompt="long"))
        runner.submit(behind.id)
        assert long.started.wait(10)
        runner.submit(requeue[0], recovered=True)
        quick = _submit(store, runner)
        place = runner.place(quick)
        assert (place.position, place.running, place.running_recovered) == (1, behind.id, False)
        assert place.lane == "cpu" and place.lane_ready
        assert runner.place(crashed).position == 2
        assert runner.place(behind.id) is None  # running, not waiting
        assert runner.queued()["cpu"] == 2
    finally:
        long.release.set()
        runner.stop()


def test_a_recovered_job_cancelled_while_giving_way_ends_cancelled(tmp_path):
    crashed = _crashed_under(tmp_path)
    store = JobStore(tmp_path)
    long = LongWhenAsked()
    runner = _runner(store, parametric=long)
    runner.start(store.recover().requeue)
    try:
        assert long.started.wait(10)
        runner.cancel(crashed)  # the artist's cancel, just before a new job arrives
        new = _submit(store, runner)
        assert _wait(store, crashed, {"cancelled"}).state == "cancelled"
        assert _wait(store, new, {"succeeded"}).state == "succeeded"
    finally:
        long.release.set()
        runner.stop()
