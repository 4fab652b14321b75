"""The job store's promises, in process: nothing lost to a full disk, a crash or a restart.

The server tests (test_server_faults.py) show the same promises through a real server
process; these run the store itself, so a mutation run (docs/testing.md) sees them.
A full disk is an OSError from the store's one file writer, raised for the files a
test names.
"""

from __future__ import annotations

import errno
import json
import logging
import stat
from pathlib import Path

import pytest

from headsculpt.api import job_store as job_store_module
from headsculpt.api.job_store import JobStore, UnknownJobError, is_safe_file_name, media_type
from headsculpt.api.schemas import JobRequest
from headsculpt.files import PARTIAL_SUFFIX
from headsculpt.limits import MAX_JOB_ATTEMPTS


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path)


@pytest.fixture
def full_disk(monkeypatch):
    """``refuse(*names)``: from now on, writing a file of one of these names fails as a
    full disk does; ``refuse()`` with no names lets every write through again."""
    real = job_store_module.write_atomically
    refused: set[str] = set()

    def write(path, data, mode=None):
        if Path(path).name in refused:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data, mode)

    monkeypatch.setattr(job_store_module, "write_atomically", write)

    def refuse(*names: str) -> None:
        refused.clear()
        refused.update(names)

    return refuse


def _on_disk(store: JobStore, job_id: str) -> dict:
    return json.loads((store.jobs_dir / job_id / "status.json").read_bytes())


def _job(store: JobStore, prompt: str = "a head", **fields) -> str:
    return store.create(JobRequest(prompt=prompt, **fields)).id


# --- new jobs -------------------------------------------------------------------------
def test_a_new_job_is_queued_with_its_request_on_disk_and_private(store):
    job = store.create(JobRequest(prompt="an old sailor", seed=7, mode="parametric"))
    folder = store.jobs_dir / job.id
    assert (job.state, job.kind, job.mode, job.prompt, job.progress) == (
        "queued", "generate", "parametric", "an old sailor", 0.0)  # fmt: skip
    assert store.request(job.id).seed == 7
    assert _on_disk(store, job.id)["state"] == "queued"
    assert (folder / "outputs").is_dir()
    for path in (store.root, store.jobs_dir, folder, folder / "outputs"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in (folder / "request.json", folder / "status.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_submit_the_disk_refuses_leaves_no_job_behind(store, full_disk):
    for refused in ("request.json", "status.json"):
        full_disk(refused)
        with pytest.raises(OSError):
            store.create(JobRequest(prompt="a head"))
        assert list(store.jobs_dir.iterdir()) == []
        assert store.list() == ([], 0)
    full_disk()
    assert store.get(_job(store)).state == "queued"


def test_an_upload_is_a_finished_job_whose_one_output_is_the_file(store):
    job = store.create_upload("scan.glb", b"glTF-bytes")
    assert (job.kind, job.state, job.prompt) == ("upload", "succeeded", "scan.glb")
    [entry] = job.outputs
    assert (entry.name, entry.size, entry.media_type) == ("scan.glb", 10, "model/gltf-binary")
    assert store.output_path(job.id, "scan.glb").read_bytes() == b"glTF-bytes"
    for name in ("../scan.glb", ".hidden.glb", "a/b.glb", ""):
        with pytest.raises(ValueError, match="not a plain file name"):
            store.create_upload(name, b"x")
    assert store.list()[1] == 1


# --- reading and changing jobs ----------------------------------------------------------
def test_history_is_newest_first_in_pages(store):
    ids = [_job(store, f"head {k}") for k in range(5)]
    page, total = store.list(offset=1, limit=2)
    assert total == 5
    assert [s.id for s in page] == [ids[3], ids[2]]
    assert [s.id for s in store.list()[0]] == ids[::-1]


def test_get_and_list_give_copies_and_unknown_ids_raise(store):
    job_id = _job(store)
    store.add_output(job_id, "head.glb", b"glTF")
    copy = store.get(job_id)
    copy.state = "failed"
    copy.outputs[0].name = "renamed.glb"
    store.list()[0][0].outputs.clear()
    assert store.get(job_id).state == "queued"
    assert [o.name for o in store.get(job_id).outputs] == ["head.glb"]
    with pytest.raises(UnknownJobError):
        store.get("20260101T000000Z-00000000")
    with pytest.raises(UnknownJobError):
        store.scratch_dir("20260101T000000Z-00000000")


def test_update_writes_first_and_a_refused_write_changes_nothing(store, full_disk):
    job_id = _job(store)
    store.update(job_id, state="running", progress=0.5, stage="texture")
    assert _on_disk(store, job_id)["stage"] == "texture"
    full_disk("status.json")
    with pytest.raises(OSError):
        store.update(job_id, progress=0.9)
    assert store.get(job_id).progress == 0.5
    assert _on_disk(store, job_id)["progress"] == 0.5
    with pytest.raises(ValueError):  # values are checked as the schema checks them
        store.update(job_id, progress=1.5)


def test_a_settled_job_ends_at_once_and_reaches_the_disk_when_it_has_room(store, full_disk, caplog):
    first, second = _job(store), _job(store)
    full_disk("status.json")
    with caplog.at_level(logging.WARNING, logger="headsculpt.api"):
        store.settle(first, state="failed", message="disk full")
        store.settle(second, state="cancelled")
    assert (store.get(first).state, store.get(second).state) == ("failed", "cancelled")
    assert _on_disk(store, first)["state"] == "queued"
    assert f"job {first}: status not written yet (No space left on device)" in caplog.text
    assert store.flush_unsaved() is False
    full_disk()
    assert store.flush_unsaved() is True
    assert (_on_disk(store, first)["state"], _on_disk(store, second)["state"]) == (
        "failed", "cancelled")  # fmt: skip
    assert JobStore(store.root).get(first).message == "disk full"


def test_an_update_catches_up_statuses_the_disk_refused_before(store, full_disk):
    ended, running = _job(store), _job(store)
    full_disk("status.json")
    store.settle(ended, state="failed")
    full_disk()
    store.update(running, state="running")
    assert _on_disk(store, ended)["state"] == "failed"


def test_delete_removes_the_job_and_its_files(store):
    job_id = _job(store)
    store.add_output(job_id, "head.glb", b"glTF")
    store.delete(job_id)
    assert not (store.jobs_dir / job_id).exists()
    assert list(store.jobs_dir.iterdir()) == []
    with pytest.raises(UnknownJobError):
        store.get(job_id)
    assert JobStore(store.root).list() == ([], 0)


def test_counts_by_state(store):
    a, b, *_ = (_job(store) for _ in range(4))
    store.update(a, state="running")
    store.settle(b, state="succeeded")
    assert store.counts() == {"running": 1, "succeeded": 1, "queued": 2}


# --- files --------------------------------------------------------------------------------
def test_outputs_are_listed_as_written_and_replaced_by_name(store):
    job_id = _job(store)
    store.add_output(job_id, "head.glb", b"first")
    store.add_output(job_id, "head.png", b"png")
    status = store.add_output(job_id, "head.glb", b"second, longer")
    assert [(o.name, o.size, o.media_type) for o in status.outputs] == [
        ("head.png", 3, "image/png"), ("head.glb", 14, "model/gltf-binary")]  # fmt: skip
    assert store.output_path(job_id, "head.glb").read_bytes() == b"second, longer"
    assert [o["name"] for o in _on_disk(store, job_id)["outputs"]] == ["head.png", "head.glb"]
    file = store.jobs_dir / job_id / "outputs" / "head.glb"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600


def test_output_paths_only_for_listed_files_inside_the_job(store):
    job_id = _job(store)
    store.add_output(job_id, "head.glb", b"glTF")
    (store.jobs_dir / job_id / "outputs" / "unlisted.glb").write_bytes(b"x")
    assert store.output_path(job_id, "head.glb") == store.jobs_dir / job_id / "outputs" / "head.glb"
    assert store.output_path(job_id, "unlisted.glb") is None
    assert store.output_path(job_id, "../request.json") is None
    (store.jobs_dir / job_id / "outputs" / "head.glb").unlink()
    assert store.output_path(job_id, "head.glb") is None
    with pytest.raises(ValueError, match="not a plain file name"):
        store.add_output(job_id, "../status.json", b"{}")


def test_a_log_is_written_beside_the_job_and_a_refused_one_is_only_logged(store, full_disk, caplog):
    job_id = _job(store)
    store.write_log(job_id, "error.log", "Traceback: ünïcode")
    assert (store.jobs_dir / job_id / "error.log").read_text("utf-8") == "Traceback: ünïcode"
    full_disk("error.log")
    with caplog.at_level(logging.WARNING, logger="headsculpt.api"):
        store.write_log(job_id, "error.log", "again")
        store.write_log("20260101T000000Z-00000000", "error.log", "nobody's")
    assert f"job {job_id}: error.log not written" in caplog.text
    assert (store.jobs_dir / job_id / "error.log").read_text("utf-8") == "Traceback: ünïcode"


def test_the_scratch_folder_is_private_and_kept(store):
    job_id = _job(store)
    scratch = store.scratch_dir(job_id)
    (scratch / "coarse.pt").write_bytes(b"checkpoint")
    assert scratch == store.jobs_dir / job_id / "scratch"
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
    assert store.get(job_id).outputs == []  # never listed
    assert (JobStore(store.root).scratch_dir(job_id) / "coarse.pt").read_bytes() == b"checkpoint"


# --- restart ------------------------------------------------------------------------------
def test_restart_puts_every_unfinished_job_back_in_line_oldest_first(store):
    queued, crashed, stopped, done = (_job(store) for _ in range(4))
    store.update(crashed, state="running", attempts=1, started_at="2026-01-01T00:00:00Z")
    store.settle(stopped, state="interrupted", rerun_on_start=True, finished_at="x", stage="s",
                 started_at="2026-01-01T00:00:01Z")  # fmt: skip
    store.settle(done, state="succeeded", progress=1.0)

    reopened = JobStore(store.root)
    recovered = reopened.recover()
    assert recovered.requeue == [queued, crashed, stopped]
    assert recovered.interrupted == []
    for job_id in (crashed, stopped):
        status = reopened.get(job_id)
        assert (status.state, status.progress, status.stage, status.started_at) == (
            "queued", 0.0, "", None)  # fmt: skip
        assert _on_disk(reopened, job_id)["state"] == "queued"
    assert f"attempt 2 of {MAX_JOB_ATTEMPTS}" in reopened.get(crashed).message
    rerun = reopened.get(stopped)
    assert (rerun.rerun_on_start, rerun.finished_at) == (False, None)
    assert rerun.message == (
        "interrupted when the server stopped; queued again, after any job submitted since"
    )
    assert reopened.get(done).state == "succeeded"
    assert reopened.get(queued).message == ""
    # Every one of them runs after the jobs submitted since the restart (api/runner.py).
    assert all(reopened.get(j).recovered for j in (queued, crashed, stopped))
    assert not reopened.get(done).recovered


def test_a_job_that_keeps_taking_the_server_down_is_not_started_again(store):
    job_id = _job(store)
    store.update(job_id, state="running", attempts=MAX_JOB_ATTEMPTS)
    reopened = JobStore(store.root)
    recovered = reopened.recover()
    assert (recovered.requeue, recovered.interrupted) == ([], [job_id])
    status = reopened.get(job_id)
    assert status.state == "interrupted"
    assert status.finished_at is not None
    assert f"{MAX_JOB_ATTEMPTS} times; not started again" in status.message
    assert _on_disk(reopened, job_id)["state"] == "interrupted"


def test_a_job_interrupted_without_a_rerun_stays_interrupted(store):
    job_id = _job(store)
    store.settle(job_id, state="interrupted", rerun_on_start=False)
    assert JobStore(store.root).recover().requeue == []


def test_opening_clears_what_a_crash_left_and_leaves_other_folders_alone(store):
    kept = _job(store)
    folder = store.jobs_dir / kept
    partials = [folder / f".status.json.1234abcd{PARTIAL_SUFFIX}",
                folder / "outputs" / f".head.glb.99{PARTIAL_SUFFIX}"]  # fmt: skip
    for partial in partials:
        partial.write_bytes(b"half")
    trash = store.jobs_dir / ".deleted-20260101T000000Z-0000beef"
    (trash / "outputs").mkdir(parents=True)
    never_finished = store.jobs_dir / "20260101T000000Z-0000cafe"
    never_finished.mkdir()
    (never_finished / "request.json").write_text("{}")
    foreign = store.jobs_dir / "notes"
    foreign.mkdir()
    (foreign / "readme.txt").write_text("mine")

    reopened = JobStore(store.root)
    assert [s.id for s in reopened.list()[0]] == [kept]
    assert not any(p.exists() for p in partials)
    assert not trash.exists() and not never_finished.exists()
    assert (foreign / "readme.txt").read_text() == "mine"


def _damaged_folder(store: JobStore, name: str, status: bytes | None, request: bytes) -> Path:
    folder = store.jobs_dir / name
    (folder / "outputs").mkdir(parents=True)
    (folder / "request.json").write_bytes(request)
    if status is not None:
        (folder / "status.json").write_bytes(status)
    return folder


def test_unreadable_jobs_are_set_aside_with_their_files_and_reason(store):
    request = json.dumps({"kind": "edit", "mode": "parametric", "prompt": "a scar"}).encode()
    no_status = _damaged_folder(store, "20260102T030405Z-000000aa", None, request)
    (no_status / "outputs" / "head.glb").write_bytes(b"glTF-kept")
    (no_status / "outputs" / ".hidden").write_bytes(b"x")
    garbled = _damaged_folder(store, "20260102T030406Z-000000bb", b"{not json", b"[1, 2]")
    queued = store.create(JobRequest(prompt="fine")).model_copy(
        update={"id": "20260102T030407Z-000000cc"}
    )
    unrunnable = _damaged_folder(store, queued.id, queued.model_dump_json().encode(), b"{")
    other_id = queued.model_copy(update={"id": "20260102T030408Z-000000dd"})
    misnamed = _damaged_folder(store, "20260102T030409Z-000000ee",
                               other_id.model_dump_json().encode(), request)  # fmt: skip

    reopened = JobStore(store.root)
    found = {s.id: s for s in reopened.list(limit=100)[0]}
    damaged = found["20260102T030405Z-000000aa"]
    assert (damaged.state, damaged.kind, damaged.mode, damaged.prompt) == (
        "damaged", "edit", "parametric", "a scar")  # fmt: skip
    assert damaged.created_at == "2026-01-02T03:04:05.000000Z"
    assert damaged.finished_at is not None
    assert [(o.name, o.size) for o in damaged.outputs] == [("head.glb", 9)]
    assert "status.json is unreadable" in damaged.message
    assert "its files are kept" in damaged.message
    assert reopened.output_path(damaged.id, "head.glb").read_bytes() == b"glTF-kept"
    assert _on_disk(reopened, damaged.id)["state"] == "damaged"  # the unreadable file replaced

    garbled_status = found[garbled.name]
    assert (garbled_status.state, garbled_status.kind, garbled_status.prompt) == (
        "damaged", "generate", "")  # fmt: skip
    assert found[unrunnable.name].state == "damaged"
    assert "its request.json is unusable (1 validation error" in found[unrunnable.name].message
    assert all(found[name].progress == 0.0 for name in found)
    assert found[misnamed.name].state == "damaged"
    assert "names job 20260102T030408Z-000000dd" in found[misnamed.name].message
    assert reopened.recover().requeue == [s.id for s in store.list()[0]]  # only the good one


def test_a_queued_job_with_a_readable_request_opens_as_queued(store):
    job_id = _job(store)
    reopened = JobStore(store.root)
    assert reopened.get(job_id).state == "queued"
    assert reopened.recover().requeue == [job_id]


# --- names ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "safe"),
    [("head.glb", True), ("head_1.png", True), ("a-b.c", True), ("x" * 128, True),
     ("x" * 129, False), (".head.glb", False), ("a/b", False), ("a..b", False),
     ("..", False), ("", False), ("-x", False), ("a b", False), ("é.glb", False)],
)  # fmt: skip
def test_safe_file_names(name, safe):
    assert is_safe_file_name(name) is safe


def test_media_types():
    assert media_type("head.GLB") == "model/gltf-binary"
    assert media_type("head.json") == "application/json"
    assert media_type("head.png") == "image/png"
    assert media_type("head.obj") == "application/octet-stream"


def test_a_damaged_upload_is_still_listed_as_the_upload_it_was(store):
    job = store.create_upload("scan.obj", b"v 0 0 0")
    (store.jobs_dir / job.id / "status.json").write_bytes(b"\x00garbage")
    damaged = JobStore(store.root).get(job.id)
    assert (damaged.state, damaged.kind, damaged.mode, damaged.prompt) == (
        "damaged", "upload", "parametric", "")  # fmt: skip
    record = json.loads((store.jobs_dir / job.id / "request.json").read_bytes())
    assert record == {"kind": "upload", "name": "scan.obj", "size": 7}
    assert [o.name for o in damaged.outputs] == ["scan.obj"]
