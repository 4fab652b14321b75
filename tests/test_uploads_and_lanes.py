"""Uploads streamed to disk and limited in number, a lane of its own for rigs, and messages
for a person (issue 33).

In process (the app called through ASGI, as uvicorn calls it; stand-in pipelines): an
upload's bytes reach the disk while it is still arriving, the fifth upload at once gets 429
with Retry-After, a body over the cap is refused before it has all arrived; a parametric
job runs while a rig holds its lane; a rig job carries mode "rig" and the 409s for edits of
rigs and uploads name real modes; up and front on one axis are refused naming ``front``; a
resumed job that succeeds says so. With a real server: its memory does not grow with an
upload. With the real CLI: a sidecar whose code is a string is a message, not a traceback.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from test_api_routes import WritesHead

from backend_server import BackendServer
from headsculpt.api import app as app_module
from headsculpt.api.app import create_app
from headsculpt.api.job_store import JobStore
from headsculpt.api.runner import JobRunner
from headsculpt.api.schemas import JobRequest
from headsculpt.api.worker import resident_bytes
from headsculpt.cli import main
from headsculpt.limits import MAX_CONCURRENT_UPLOADS, UPLOAD_RETRY_AFTER_SECONDS
from headsculpt.pipelines.registry import job_kinds

OBJ_HEAD = b"# a scan\no head\nv 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nf 1 2 3\n"


class App:
    """The product's app, store and runner with stand-in pipelines, called through ASGI."""

    def __init__(self, root: Path, **executors) -> None:
        self.store = JobStore(root)
        every = {kind.name: WritesHead() for kind in job_kinds()}
        self.runner = JobRunner(self.store, every | executors)
        self.runner.start()
        self.app = create_app(self.store, self.runner)

    async def call(self, method: str, path: str, receive, length: int | None = None):
        raw, _, query = path.partition("?")
        headers = [(b"host", b"127.0.0.1:7860"), (b"content-type", b"application/json")]
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "root_path": "",
            "path": unquote(raw),
            "raw_path": raw.encode(),
            "query_string": query.encode(),
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 7860),
        }
        sent = []

        async def send(message):
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], dict(start.get("headers", [])), json.loads(body or b"null")

    def request(self, method: str, path: str, body: bytes = b""):
        parts = [body]

        async def receive():
            if parts:
                return {"type": "http.request", "body": parts.pop(), "more_body": False}
            await asyncio.sleep(3600)

        return asyncio.run(self.call(method, path, receive, len(body)))

    def incoming_bytes(self) -> int:
        folder = self.store.incoming_dir
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

    def wait(self, job_id: str, states=("succeeded", "failed", "cancelled")) -> dict:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = self.store.get(job_id)
            if status.state in states:
                return status.model_dump()
            time.sleep(0.01)
        raise AssertionError(f"job {job_id} is {status.state}")

    def close(self) -> None:
        self.runner.stop()


@pytest.fixture
def served(tmp_path):
    app = App(tmp_path)
    yield app
    app.close()


# --- uploads ---------------------------------------------------------------------------------
def test_an_upload_reaches_the_disk_while_it_is_still_arriving(served):
    """Each chunk is on disk before the next is asked for: the body is never held whole."""
    chunk = 256 * 1024
    parts = [OBJ_HEAD + b"#" * (chunk - len(OBJ_HEAD))] + [b"#" * chunk] * 7
    on_disk_when_asked = []

    async def receive():
        on_disk_when_asked.append(served.incoming_bytes())
        await asyncio.sleep(0)
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    status, _, job = asyncio.run(served.call("POST", "/v1/uploads?name=scan.obj", receive))
    assert status == 201, job
    for asked, held in enumerate(on_disk_when_asked):
        assert held >= asked * chunk - 8192, on_disk_when_asked  # all earlier chunks written
    assert job["outputs"][0]["size"] == 8 * chunk
    assert not any(served.store.incoming_dir.iterdir())  # moved into its job, nothing left


def test_uploads_beyond_the_limit_at_once_get_429_with_retry_after(served):
    async def scenario():
        release = asyncio.Event()

        def slow_body():
            sent = []

            async def receive():
                if not sent:
                    sent.append(True)
                    return {"type": "http.request", "body": OBJ_HEAD, "more_body": True}
                await release.wait()
                return {"type": "http.request", "body": b"# end\n", "more_body": False}

            return receive

        arriving = [
            asyncio.create_task(served.call("POST", f"/v1/uploads?name=s{k}.obj", slow_body()))
            for k in range(MAX_CONCURRENT_UPLOADS)
        ]
        await asyncio.sleep(0.5)  # all of them are in, each waiting for its last chunk
        refused = await served.call("POST", "/v1/uploads?name=late.obj", slow_body())
        release.set()
        return refused, await asyncio.gather(*arriving)

    (status, headers, error), accepted = asyncio.run(scenario())
    assert status == 429 and error["field"] == "body"
    assert headers[b"retry-after"] == str(UPLOAD_RETRY_AFTER_SECONDS).encode()
    assert f"send it again in {UPLOAD_RETRY_AFTER_SECONDS} s" in error["error"]
    assert [answer[0] for answer in accepted] == [201] * MAX_CONCURRENT_UPLOADS
    assert served.request("POST", "/v1/uploads?name=after.obj", OBJ_HEAD)[0] == 201  # slots back


def test_a_body_over_the_cap_is_refused_while_it_arrives(served, monkeypatch):
    monkeypatch.setattr(app_module, "MAX_UPLOAD_BYTES", 1_000_000)
    parts = [OBJ_HEAD] + [b"#" * 100_000] * 40  # 4 MB, no Content-Length

    async def receive():
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    status, _, error = asyncio.run(served.call("POST", "/v1/uploads?name=big.obj", receive))
    assert status == 413 and error == {
        "error": "body: larger than 1000000 bytes",
        "field": "body",
        "detail": None,
    }
    assert len(parts) >= 25  # refused at the cap, not after reading the rest
    assert served.store.list()[1] == 0 and not any(served.store.incoming_dir.iterdir())


def test_an_upload_over_a_mesh_budget_is_refused_naming_it_and_not_kept(served):
    text = b"".join(b"v 0 0 %d\n" % k for k in range(260_000)) + b"f 1 2 3\n"
    status, _, error = served.request("POST", "/v1/uploads?name=dense.obj", text)
    assert status == 422 and error["field"] == "body"
    assert error["error"].startswith("body: dense.obj: its meshes, as placed, have 260,000")
    assert "(vertices after instancing)" in error["error"]
    assert served.store.list()[1] == 0


@pytest.fixture(scope="module")
def real_server(tmp_path_factory):
    with BackendServer(tmp_path_factory.mktemp("uploads")) as running:
        yield running


def test_the_servers_memory_does_not_grow_with_an_upload(real_server):
    """96 MiB sent in 1 MiB pieces (no Content-Length): the server's resident memory,
    sampled every 10 ms, grows by far less than the file."""
    size, piece = 96 * 2**20, 2**20
    pid = real_server.process.pid
    with real_server.client() as client:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # the models load in the background: let them
            pipelines = client.get("/v1/health").json()["pipelines"].values()
            if not any("loading" in p["reason"] for p in pipelines):
                break
            time.sleep(0.2)
        time.sleep(1.0)
        baseline = resident_bytes(pid)
        peak, done = [baseline], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(resident_bytes(pid))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()

        def body():
            head = b"ply\nformat ascii 1.0\n"
            yield head + b"0" * (piece - len(head))
            for _ in range(size // piece - 1):
                yield b"0" * piece

        try:
            answer = client.post(
                "/v1/uploads", params={"name": "big.ply"}, content=body(), timeout=120
            )
        finally:
            done.set()
            sampler.join()
    assert answer.status_code == 201, answer.text
    assert answer.json()["outputs"][0]["size"] == size
    assert max(peak) - baseline < 24 * 2**20, (max(peak) - baseline) / 2**20


# --- lanes ----------------------------------------------------------------------------------
class BlockingRig(WritesHead):
    def __init__(self) -> None:
        super().__init__(blocks=True)
        self.started = threading.Event()

    def run(self, request, outputs, progress) -> None:
        self.started.set()
        super().run(request, outputs, progress)


def test_a_parametric_job_is_not_queued_behind_a_running_rig(tmp_path):
    rig = BlockingRig()
    app = App(tmp_path, rig=rig)
    try:
        upload = app.store.create_upload("scan.obj", OBJ_HEAD)
        status, _, job = app.request(
            "POST", "/v1/jobs", json.dumps({"kind": "rig", "parent_id": upload.id}).encode()
        )
        assert status == 202 and rig.started.wait(10)
        status, _, head = app.request("POST", "/v1/jobs", b'{"prompt": "a draft head"}')
        assert app.wait(head["id"])["state"] == "succeeded"
        assert app.store.get(job["id"]).state == "running"  # the rig still holds its lane
        rig.released.set()
        assert app.wait(job["id"])["state"] == "succeeded"
    finally:
        rig.released.set()
        app.close()


def test_the_registry_puts_long_cpu_jobs_on_a_lane_of_their_own():
    lanes = {kind.name: kind.lane for kind in job_kinds()}
    assert lanes["parametric"] == lanes["edit"] == "cpu" and lanes["rig"] == "cpu-long"
    rig = next(kind for kind in job_kinds() if kind.name == "rig")
    assert rig.isolated and rig.memory_limit and rig.time_limit


# --- modes and messages ---------------------------------------------------------------------
def test_rig_jobs_carry_their_own_mode_and_edits_name_real_modes(served):
    upload = served.store.create_upload("scan.obj", OBJ_HEAD)
    _, _, rig = served.request(
        "POST", "/v1/jobs", json.dumps({"kind": "rig", "parent_id": upload.id}).encode()
    )
    assert rig["mode"] == "rig" and served.wait(rig["id"])["mode"] == "rig"
    for parent, says in (
        (rig["id"], "is a rig job (rig)"),
        (upload.id, "is an uploaded file, not a head HeadSculpt made"),
    ):
        status, _, error = served.request(
            "POST",
            "/v1/jobs",
            json.dumps(
                {"kind": "edit", "mode": "parametric", "parent_id": parent, "instruction": "older"}
            ).encode(),
        )
        assert status == 409 and error["field"] == "parent_id", error
        assert says in error["error"] and "mode 'parametric' or 'sculpt'" in error["error"]
        assert "'file'" not in error["error"]


def test_up_and_front_on_one_axis_are_refused_naming_front(served, tmp_path, capsys):
    upload = served.store.create_upload("scan.obj", OBJ_HEAD)
    status, _, error = served.request(
        "POST",
        "/v1/jobs",
        json.dumps({"kind": "rig", "parent_id": upload.id, "up": "+y", "front": "-Y"}).encode(),
    )
    assert status == 422 and error["field"] == "front"
    assert "-Y lies along the same axis as up (+y)" in error["error"]
    mesh = tmp_path / "scan.obj"
    mesh.write_bytes(OBJ_HEAD)
    assert (
        main(["rig", str(mesh), "--up", "+y", "--front", "+y", "--out", str(tmp_path / "x.glb")])
        == 2
    )
    assert "error: --front: +y lies along the same axis as up" in capsys.readouterr().err


def test_a_resumed_job_that_succeeds_says_so(tmp_path):
    store = JobStore(tmp_path)
    job = store.create(JobRequest(prompt="a head"))
    store.update(job.id, state="running", attempts=1)
    reopened = JobStore(tmp_path)  # as after kill -9
    requeued = reopened.recover().requeue
    assert "stopped while this job ran" in reopened.get(job.id).message
    runner = JobRunner(reopened, {kind.name: WritesHead() for kind in job_kinds()})
    runner.start(requeued)
    try:
        deadline = time.monotonic() + 20
        while reopened.get(job.id).state != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.01)
        done = reopened.get(job.id)
    finally:
        runner.stop()
    assert done.state == "succeeded" and done.attempts == 2
    assert (
        done.message.startswith("finished on attempt 2")
        and "stopped while" not in (done.message.split("(")[0])
    )


def test_an_edit_of_a_sidecar_with_a_string_code_is_a_message_not_a_traceback(tmp_path, capsys):
    glb = tmp_path / "head.glb"
    glb.write_bytes(b"glTF")
    for code in ("a string", ["a", "list"], {"attributes": "not an object"}):
        sidecar = {"mode": "parametric", "descriptive_code": code, "seed": 1, "texture_size": 1024}
        glb.with_suffix(".json").write_text(json.dumps(sidecar))
        assert main(["edit", str(glb), "make him older", "--out", str(tmp_path / "e.glb")]) == 2
        error = capsys.readouterr().err
        assert f"error: parent {str(glb)!r}: its sidecar's descriptive_code is not" in error
        assert "Traceback" not in error


def test_an_httpx_upload_without_a_length_streams_too(real_server):
    with real_server.client() as client:
        answer = client.post(
            "/v1/uploads", params={"name": "s.obj"}, content=iter([OBJ_HEAD, b"# more\n"])
        )
    assert answer.status_code == 201 and answer.json()["outputs"][0]["size"] == len(OBJ_HEAD) + 7
    assert isinstance(httpx.__version__, str)


def test_failure_messages_name_files_not_the_data_folder(tmp_path):
    class Fails(WritesHead):
        def run(self, request, outputs, progress) -> None:
            copy = Path(outputs.scratch) / "scan.obj"
            raise ValueError(f"{copy}: 9,000 vertices sit at one spot; merge them")

    app = App(tmp_path, parametric=Fails())
    try:
        _, _, job = app.request("POST", "/v1/jobs", b'{"prompt": "a head"}')
        failed = app.wait(job["id"])
    finally:
        app.close()
    assert failed["message"] == "scan.obj: 9,000 vertices sit at one spot; merge them"
