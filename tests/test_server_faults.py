"""Bad luck, with real server processes: a full disk, damaged job folders, SIGTERM in a
burst, a download racing a delete, and the CLI's early checks.

The full disk is a real one: a small tmpfs mounted for the test (root only, as CI
runs; elsewhere the test says why it cannot run).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from backend_server import BackendServer, wait_for_job
from headsculpt.api.job_store import JobStore
from headsculpt.api.schemas import JobRequest


def _submit(client, **fields):
    response = client.post("/v1/jobs", json={"prompt": "an old man", "quality": "draft", **fields})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _on_disk(data: Path, job_id: str) -> dict:
    return json.loads((data / "jobs" / job_id / "status.json").read_text())


# --- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 128 MB filesystem of its own, and a way to fill it up and free it again."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(mount)], check=True)
    filler = mount / "filler"

    def fill():
        with open(filler, "wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * (1 << 20))
                    handle.flush()
            except OSError:
                pass
        for size in (1 << 16, 4096, 512, 1):  # the last bytes too
            try:
                with open(filler, "ab") as handle:
                    while True:
                        handle.write(b"\0" * size)
                        handle.flush()
            except OSError:
                pass

    yield mount, fill, lambda: filler.unlink()
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_running_job_and_queued_ones_wait(small_disk):
    mount, fill, free = small_disk
    data = mount / "data"
    with BackendServer(data) as server, server.client() as client:
        wait_for_job(client, _submit(client))  # warm: the pipeline is loaded
        running = _submit(client, variants=8)
        waiting = _submit(client)
        wait_for_job(client, running, until=lambda s: s["state"] == "running" and s["progress"])
        fill()

        failed = wait_for_job(client, running)
        assert failed["state"] == "failed"
        assert "No space left on device" in failed["message"]
        assert "free space" in failed["message"]
        refused = client.post("/v1/jobs", json={"prompt": "a man"})
        assert refused.status_code == 507
        assert "cannot write" in refused.json()["error"]  # JSON, with the reason
        assert client.get(f"/v1/jobs/{waiting}").json()["state"] == "queued"  # it waits
        assert not list(data.rglob("*.partial"))
        # Delete still answers during the fault (no job is stuck "running").
        assert client.delete(f"/v1/jobs/{running}").status_code == 204

        free()
        assert wait_for_job(client, waiting)["state"] == "succeeded"
        assert _on_disk(data, waiting)["state"] == "succeeded"
        again = _submit(client)
        assert wait_for_job(client, again)["state"] == "succeeded"
    assert not list(data.rglob("*.partial"))


def test_a_failed_job_s_state_reaches_the_disk_once_it_has_room(small_disk):
    mount, fill, free = small_disk
    data = mount / "data"
    with BackendServer(data) as server, server.client() as client:
        first = _submit(client, variants=8)
        wait_for_job(client, first, until=lambda s: s["state"] == "running" and s["progress"])
        fill()
        assert wait_for_job(client, first)["state"] == "failed"
        free()
        second = _submit(client)  # the next write catches up on the one refused
        assert wait_for_job(client, second)["state"] == "succeeded"
        assert _on_disk(data, first)["state"] == "failed"


# --- damaged job folders -------------------------------------------------------------------


def _damage(data: Path) -> dict[str, str]:
    """Job folders as crashes and hands leave them; returns what each case is."""
    store = JobStore(data)
    good = store.create(JobRequest(prompt="a good one"))
    store.add_output(good.id, "head.glb", b"glTF-good")
    store.update(good.id, state="succeeded")
    cases = {"good": good.id}
    for name in ("truncated_request", "missing_request", "out_of_range_request",
                 "truncated_status", "missing_status_with_outputs", "bad_state",
                 "status_of_another_job", "orphan_submit"):  # fmt: skip
        cases[name] = store.create(JobRequest(prompt=f"case {name}")).id
    jobs = data / "jobs"

    def folder(case: str) -> Path:
        return jobs / cases[case]

    (folder("truncated_request") / "request.json").write_text('{"prompt": "case tr')
    (folder("missing_request") / "request.json").unlink()
    request = json.loads((folder("out_of_range_request") / "request.json").read_text())
    (folder("out_of_range_request") / "request.json").write_text(
        json.dumps({**request, "variants": 99})
    )
    (folder("truncated_status") / "status.json").write_text('{"id": "')
    (folder("truncated_status") / "outputs" / "head.glb").write_bytes(b"glTF-kept")
    (folder("missing_status_with_outputs") / "outputs" / "head.png").write_bytes(b"png")
    (folder("missing_status_with_outputs") / "status.json").unlink()
    status = json.loads((folder("bad_state") / "status.json").read_text())
    (folder("bad_state") / "status.json").write_text(json.dumps({**status, "state": "exploded"}))
    (folder("status_of_another_job") / "status.json").write_text(
        json.dumps({**status, "id": cases["good"]})
    )
    (folder("orphan_submit") / "status.json").unlink()  # kill -9 between the two writes
    (jobs / ".deleted-20250101T000000Z-0000abcd").mkdir()  # a delete cut short
    (jobs / ".deleted-20250101T000000Z-0000abcd" / "x").write_text("x")
    (jobs / "20250101T000000Z-0000beef").write_text("a file, not a folder")
    (folder("good") / ".status.json.1234abcd.partial").write_text("half")
    (folder("good") / "outputs" / ".head.glb.1234abcd.partial").write_text("half")
    return cases


def test_damaged_job_folders_are_set_aside_and_the_server_serves_the_rest(tmp_path):
    cases = _damage(tmp_path)
    with BackendServer(tmp_path) as server, server.client() as client:
        listed = {s["id"]: s for s in client.get("/v1/jobs", params={"limit": 200}).json()["jobs"]}
        good = client.get(f"/v1/jobs/{cases['good']}/files/head.glb")
        assert good.status_code == 200 and good.content == b"glTF-good"
        damaged = [c for c in cases if c not in ("good", "orphan_submit")]
        for case in damaged:
            status = listed[cases[case]]
            assert status["state"] == "damaged", case
            assert status["message"].startswith("set aside when the server started"), case
        assert "request.json" in listed[cases["truncated_request"]]["message"]
        assert "status.json" in listed[cases["truncated_status"]]["message"]
        assert listed[cases["truncated_request"]]["prompt"] == ""  # unreadable: not guessed
        assert listed[cases["out_of_range_request"]]["prompt"] == "case out_of_range_request"
        kept = client.get(f"/v1/jobs/{cases['truncated_status']}/files/head.glb")
        assert kept.content == b"glTF-kept"  # a damaged job's files stay downloadable
        assert cases["orphan_submit"] not in listed  # never became a job: cleaned
        assert client.delete(f"/v1/jobs/{cases['bad_state']}").status_code == 204
        new = _submit(client)
        assert wait_for_job(client, new)["state"] == "succeeded"  # and the server works
    jobs = tmp_path / "jobs"
    assert not (jobs / cases["orphan_submit"]).exists()
    assert not (jobs / ".deleted-20250101T000000Z-0000abcd").exists()
    assert (jobs / "20250101T000000Z-0000beef").is_file()  # not ours: left alone
    assert not list(jobs.rglob("*.partial"))
    # A second start reads the set-aside jobs as written, not as damaged again.
    assert _on_disk(tmp_path, cases["truncated_status"])["state"] == "damaged"


# --- shutdown ------------------------------------------------------------------------------


def test_sigterm_in_a_burst_keeps_the_queue_and_reruns_the_running_job(tmp_path):
    with BackendServer(tmp_path) as server, server.client() as client:
        running = _submit(client, variants=16, texture_size=2048)
        queued = [_submit(client) for _ in range(5)]
        wait_for_job(client, running, until=lambda s: s["state"] == "running" and s["progress"])
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=20)  # benchmarks/server.py measures how soon
    # uvicorn shuts down cleanly, then re-raises the signal so the exit status tells it.
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in "".join(server.stderr)
    interrupted = _on_disk(tmp_path, running)
    assert interrupted["state"] == "interrupted" and interrupted["rerun_on_start"] is True
    assert "runs again" in interrupted["message"]
    assert [_on_disk(tmp_path, job)["state"] for job in queued] == ["queued"] * 5

    with BackendServer(tmp_path) as server, server.client() as client:
        rerun = wait_for_job(client, running, timeout=600)
        assert rerun["state"] == "succeeded" and rerun["rerun_on_start"] is False
        assert len([o for o in rerun["outputs"] if o["name"].endswith(".glb")]) == 16
        assert all(wait_for_job(client, job)["state"] == "succeeded" for job in queued)


# --- privacy, downloads, tokens ------------------------------------------------------------


def test_job_folders_and_files_are_private_and_downloads_survive_a_delete(tmp_path):
    with BackendServer(tmp_path) as server, server.client() as client:
        job = _submit(client)
        wait_for_job(client, job)
        folder = tmp_path / "jobs" / job
        for path in [tmp_path, tmp_path / "jobs", folder, folder / "outputs"]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
        for path in [folder / "status.json", folder / "request.json", *folder.glob("outputs/*")]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        whole = (folder / "outputs" / "head.glb").read_bytes()
        with client.stream("GET", f"/v1/jobs/{job}/files/head.glb") as download:
            assert download.status_code == 200
            # The answer has started; deleting the job now must not cut it short.
            with server.client() as other:
                assert other.delete(f"/v1/jobs/{job}").status_code == 204
            received = b"".join(download.iter_bytes())
        assert received == whole and int(download.headers["content-length"]) == len(whole)
        assert not folder.exists()


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [("x" * 40 + "\n", 0o644, "chmod 600"), ("short\n", 0o600, "no usable token"),
     ("\x00" * 40, 0o600, "no usable token")],
)  # fmt: skip
def test_token_files_others_can_read_or_that_hold_no_token_are_refused(
    tmp_path, content, mode, message
):
    token_file = tmp_path / "token"
    token_file.write_text(content)
    token_file.chmod(mode)
    refused = subprocess.run(
        [sys.executable, "-m", "headsculpt", "serve", "--port", "0", "--data", str(tmp_path),
         "--token-file", str(token_file)], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and message in refused.stderr
    assert "Traceback" not in refused.stderr


# --- the CLI checks its inputs before working ---------------------------------------------


def _generate(*args, cwd):
    return subprocess.run([sys.executable, "-m", "headsculpt", "generate", *args],
                          cwd=cwd, capture_output=True, text=True)  # fmt: skip


def test_the_cli_refuses_unwritable_outputs_and_empty_prompts_before_any_work(tmp_path):
    (tmp_path / "a_folder.glb").mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    cases = [
        (["a man", "--out", "a_folder.glb"], "--out", "is a folder"),
        (["a man", "--out", "file.txt/x.glb"], "--out", "is not a folder"),
        (["a man", "--preview", "a_folder.glb"], "--preview", "is a folder"),
        (["   "], "prompt", "is empty"),
        (["\u200b\u200d\ufeff"], "prompt", "is empty"),
        (["a man\x07"], "prompt", "control character U+0007"),
    ]
    (tmp_path / "file.txt").write_text("x")
    for args, name, message in cases:
        completed = _generate(*args, cwd=tmp_path)
        assert completed.returncode == 2, (args, completed.stderr)
        assert name in completed.stderr and message in completed.stderr, completed.stderr
        assert "loading the" not in completed.stderr  # refused before the model loads
        assert "Traceback" not in completed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_folder.glb", "file.txt", "locked"]
    if os.geteuid() != 0:  # root writes anywhere; the permission check is for users
        locked.chmod(0o500)
        completed = _generate("a man", "--out", str(locked / "h.glb"), cwd=tmp_path)
        assert completed.returncode == 2 and "cannot be written" in completed.stderr
    shutil.rmtree(locked)
