"""The /v1 routes in process: what each answers, and how each refusal names its field.

The same promises are checked through a real server process (test_server.py,
test_server_hostile.py); here the application is called directly through ASGI, the
interface uvicorn drives, so a mutation run (docs/testing.md) sees them. Requests are
built as uvicorn builds them (the raw path percent-decoded, headers as bytes), so
paths such as ``/v1/jobs/../x`` reach the application unnormalised. The executors are
small stand-ins for the pipelines (which take seconds to load); the store, runner and
routes are the product's own.
"""

from __future__ import annotations

import asyncio
import errno
import json
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from test_server_hostile import CASES

from headsculpt.api import app as app_module
from headsculpt.api.app import create_app
from headsculpt.api.job_store import JobStore
from headsculpt.api.runner import JobRunner
from headsculpt.api.schemas import JobRequest, PipelineAvailability
from headsculpt.pipelines.registry import job_kinds

HOST = b"127.0.0.1:7860"
ABSENT = "20260101T000000Z-0000abcd"  # well formed, not there


class WritesHead:
    """A pipeline stand-in: writes a head and its sidecar (``blocks``: waits to be released)."""

    def __init__(self, available: bool = True, reason: str = "", blocks: bool = False):
        self.available, self.reason = available, reason
        self.released = threading.Event()  # cleared: a job runs until it is set again
        if not blocks:
            self.released.set()

    def availability(self) -> PipelineAvailability:
        return PipelineAvailability(available=self.available, reason=self.reason)

    def load(self) -> None:
        pass

    def run(self, request: JobRequest, outputs, progress) -> None:
        outputs.write("head.glb", b"glTF" + request.prompt.encode())
        while not self.released.wait(0.01):
            progress("working", 0.5)
        outputs.write("head.json", json.dumps({"prompt": request.prompt}).encode())


class Answer:
    def __init__(self, status: int, headers: dict[bytes, bytes], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Server:
    """The application with a running store and runner, called in process."""

    def __init__(self, root: Path, token: str | None = None, **executors):
        self.store = JobStore(root)
        every = {kind.name: WritesHead() for kind in job_kinds()}
        self.executors = every | executors
        self.runner = JobRunner(self.store, self.executors)
        self.app = create_app(self.store, self.runner, token=token, device="cpu")

    def request(
        self, method: str, path: str, body: bytes | None = None, chunks: int = 1, **headers
    ) -> Answer:
        """``chunks`` > 1: the body arrives in that many parts, without a Content-Length;
        a header given as None is left out."""
        raw_path, _, query = path.partition("?")
        fields = {"host": HOST, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if body is not None:
            if chunks == 1:
                fields.setdefault("content-length", str(len(body)).encode())
            fields.setdefault("content-type", b"application/json")
        fields = {k: v for k, v in fields.items() if v is not None}
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "root_path": "",
            "path": unquote(raw_path), "raw_path": raw_path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "headers": [(k.encode("latin-1"), v) for k, v in fields.items()],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 7860),
        }  # fmt: skip
        return asyncio.run(_call(self.app, scope, body or b"", chunks))

    def post(self, path: str, fields: dict | None = None, **headers) -> Answer:
        return self.request("POST", path, json.dumps(fields or {}).encode(), **headers)

    def submit(self, **fields) -> dict:
        answer = self.post("/v1/jobs", {"prompt": "a head", **fields})
        assert answer.status == 202, answer.body
        return answer.json()

    def wait(self, job_id: str, states=("succeeded", "failed", "cancelled")) -> dict:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = self.request("GET", f"/v1/jobs/{job_id}").json()
            if status["state"] in states:
                return status
            time.sleep(0.01)
        raise AssertionError(f"job {job_id} is {status['state']}")


async def _call(app, scope: dict, body: bytes, chunks: int = 1) -> Answer:
    sent = []
    size = -(-len(body) // chunks) if body else 0
    parts = [body[k : k + size] for k in range(0, len(body), size)] if body else [b""]

    async def receive():
        if parts:
            part = parts.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(parts)}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    try:
        await app(scope, receive, send)
    except Exception:  # re-raised after the 500 went out (for the log): as uvicorn, log it
        if not sent:
            raise
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.lower(): v for k, v in start.get("headers", [])}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], headers, content)


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path)
    running.runner.start()
    yield running
    for executor in running.executors.values():
        executor.released.set()
    running.runner.stop()


def _error(answer: Answer, status: int, field: str | None) -> str:
    assert answer.status == status, answer.body
    assert answer.headers[b"content-type"] == b"application/json"
    error = answer.json()
    assert error["field"] == field, error
    assert error["error"]
    return error["error"]


# --- hostile requests, as test_server_hostile.py sends them --------------------------------
IN_PROCESS_CASES = [c for c in CASES if c[5] != "request"]  # those are uvicorn's own refusals


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "field"),
                         IN_PROCESS_CASES)  # fmt: skip
def test_hostile_requests_are_refused_naming_the_field(server, method, path, headers, body,
                                                       status, field):  # fmt: skip
    answer = server.request(
        method, path, body, **{k.replace("-", "_"): v for k, v in headers.items()}
    )
    assert answer.status in (status if isinstance(status, tuple) else (status,)), answer.body
    if answer.status == 200:
        return
    error = answer.json()
    named = error["field"] == field or (field.endswith(".") and error["field"].startswith(field))
    assert error["error"] and named, error
    assert error["error"].isprintable()
    assert b"\xff\xfe" not in answer.body


# --- submit ----------------------------------------------------------------------------------
def test_submit_answers_202_with_the_job_and_where_to_poll_it(server):
    answer = server.post("/v1/jobs", {"prompt": "an old sailor", "seed": 3})
    assert answer.status == 202
    job = answer.json()
    assert answer.headers[b"location"] == f"/v1/jobs/{job['id']}".encode()
    assert (job["state"], job["kind"], job["mode"], job["prompt"]) == (
        "queued", "generate", "parametric", "an old sailor")  # fmt: skip
    done = server.wait(job["id"])
    assert done["state"] == "succeeded"
    assert [o["name"] for o in done["outputs"]] == ["head.glb", "head.json"]
    assert server.store.request(job["id"]).seed == 3


def test_a_kind_that_cannot_run_here_is_refused_with_the_reason(tmp_path):
    server = Server(tmp_path, sculpt=WritesHead(available=False, reason="no CUDA device"))
    message = _error(server.post("/v1/jobs", {"prompt": "a", "mode": "sculpt"}), 501, "mode")
    assert message == "sculpt jobs cannot run here: no CUDA device"
    assert server.store.list() == ([], 0)


def test_a_child_job_needs_a_finished_parent_of_its_own_mode(server):
    absent = server.post("/v1/jobs", {"kind": "edit", "parent_id": ABSENT, "instruction": "x"})
    assert _error(absent, 404, "parent_id") == f"no job {ABSENT}"
    server.executors["parametric"].released.clear()
    running = server.submit()
    unfinished = server.post("/v1/jobs", {"kind": "edit", "parent_id": running["id"],
                                          "instruction": "older"})  # fmt: skip
    message = _error(unfinished, 409, "parent_id")
    assert message.startswith(f"job {running['id']} is ") and "only a finished head" in message
    server.executors["parametric"].released.set()
    server.wait(running["id"])
    other_mode = server.post("/v1/jobs", {"kind": "edit", "mode": "sculpt", "instruction": "older",
                                          "parent_id": running["id"]})  # fmt: skip
    assert _error(other_mode, 409, "mode") == (
        f"job {running['id']} is a parametric head: edit it with mode 'parametric'"
    )
    child = server.submit(kind="edit", parent_id=running["id"], instruction="older")
    assert child["parent_id"] == running["id"]
    assert server.wait(child["id"])["state"] == "succeeded"


# --- reading jobs ----------------------------------------------------------------------------
def test_history_pages_newest_first(server):
    ids = [server.submit(prompt=f"head {k}")["id"] for k in range(3)]
    page = server.request("GET", "/v1/jobs?offset=1&limit=1").json()
    assert ([j["id"] for j in page["jobs"]], page["total"], page["next_offset"]) == (
        [ids[1]], 3, 2)  # fmt: skip
    last = server.request("GET", "/v1/jobs?offset=2&limit=5").json()
    assert ([j["id"] for j in last["jobs"]], last["next_offset"]) == ([ids[0]], None)
    assert server.request("GET", "/v1/jobs").json()["next_offset"] is None


def test_health_names_version_device_pipelines_and_queues(tmp_path):
    server = Server(tmp_path, sculpt=WritesHead(available=False, reason="needs weights"))
    health = server.request("GET", "/v1/health").json()
    assert health["device"] == "cpu" and health["version"]
    assert health["pipelines"]["sculpt"] == {"available": False, "reason": "needs weights"}
    assert health["pipelines"]["parametric"]["available"] is True
    server.store.create(JobRequest(prompt="a"))
    server.runner.submit(server.store.list()[0][0].id)  # not started: it stays in line
    assert server.request("GET", "/v1/health").json()["queued"] == {"cpu": 1, "cpu-long": 0,
                                                                    "gpu": 0}  # fmt: skip


def test_files_download_with_their_type_length_and_name(server):
    job = server.wait(server.submit(prompt="a bald man")["id"])
    answer = server.request("GET", f"/v1/jobs/{job['id']}/files/head.glb")
    assert answer.status == 200
    assert answer.body == b"glTFa bald man"
    assert answer.headers[b"content-type"] == b"model/gltf-binary"
    assert answer.headers[b"content-length"] == b"14"
    assert answer.headers[b"content-disposition"] == b'attachment; filename="head.glb"'
    sidecar = server.request("GET", f"/v1/jobs/{job['id']}/files/head.json")
    assert sidecar.headers[b"content-type"] == b"application/json"
    hidden = server.request("GET", f"/v1/jobs/{job['id']}/files/.status.json")
    assert _error(hidden, 400, "name") == "'.status.json' is not a plain file name"
    missing = server.request("GET", f"/v1/jobs/{job['id']}/files/head.png")
    assert _error(missing, 404, "name") == f"job {job['id']} has no file 'head.png'"


# --- cancel and delete --------------------------------------------------------------------------
def test_cancel_a_running_job_and_not_a_finished_one(server):
    server.executors["parametric"].released.clear()
    job = server.submit()
    server.wait(job["id"], states=("running",))
    assert server.request("POST", f"/v1/jobs/{job['id']}/cancel").status == 200
    ended = server.wait(job["id"])
    assert ended["state"] == "cancelled"
    assert [o["name"] for o in ended["outputs"]] == ["head.glb"]  # made before the cancel
    again = server.request("POST", f"/v1/jobs/{job['id']}/cancel")
    assert _error(again, 409, "job_id") == f"job {job['id']} already ended (cancelled)"


def test_delete_refuses_a_running_job_cancels_a_queued_one_removes_a_finished_one(server):
    server.executors["parametric"].released.clear()
    running, queued = server.submit(), server.submit()
    server.wait(running["id"], states=("running",))
    refused = server.request("DELETE", f"/v1/jobs/{running['id']}")
    assert _error(refused, 409, "job_id") == f"job {running['id']} is running; cancel it first"
    assert server.request("DELETE", f"/v1/jobs/{queued['id']}").status == 204
    assert server.request("GET", f"/v1/jobs/{queued['id']}").status == 404
    server.executors["parametric"].released.set()
    server.wait(running["id"])
    assert server.request("DELETE", f"/v1/jobs/{running['id']}").status == 204
    gone = server.request("GET", f"/v1/jobs/{running['id']}/files/head.glb")
    assert _error(gone, 404, "job_id") == f"no job {running['id']}"
    assert server.store.list() == ([], 0)


# --- uploads -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "field", "message"),
    [
        ("scan.fbx", b"x", "name", "name: a plain file name ending in .glb, .gltf, .obj, .ply"),
        ("../scan.glb", b"glTF", "name", "name: a plain file name ending in"),
        ("scan.glb", b"", "body", "body: the file is empty"),
        ("scan.glb", b"PK\x03\x04", "body", "body: not a glTF binary (no 'glTF' magic)"),
        ("scan.ply", b"solid x", "body", "body: not a PLY file (no 'ply' header)"),
        ("scan.gltf", b"glTF", "body", "body: not a glTF JSON file"),
        ("scan.obj", b"hello\nworld", "body", "body: not an OBJ file (no v/f lines)"),
        ("scan.obj", b"v 0 0 0\x00", "body", "body: not an OBJ file (no v/f lines)"),
        ("scan.v2.glb", b"PK\x03\x04", "body", "body: not a glTF binary (no 'glTF' magic)"),
    ],
)  # fmt: skip
def test_uploads_that_are_not_meshes_are_refused_naming_why(server, name, data, field, message):
    answer = server.request("POST", f"/v1/uploads?name={name}", data,
                            content_type=b"application/octet-stream")  # fmt: skip
    assert _error(answer, 422, field).startswith(message)
    assert server.store.list()[1] == 0


@pytest.mark.parametrize(
    ("name", "data"),
    [("scan.glb", b"glTF\x02\x00"), ("SCAN.PLY", b"ply\nformat ascii 1.0"),
     ("scan.gltf", b'  {"asset": {}}'), ("scan.obj", b"# made by hand\no head\nv 0 0 0\nf 1 1 1")],
)  # fmt: skip
def test_an_upload_becomes_a_finished_job_holding_the_file(server, name, data):
    answer = server.request("POST", f"/v1/uploads?name={name}", data)
    assert answer.status == 201, answer.body
    job = answer.json()
    assert (job["kind"], job["state"], [o["name"] for o in job["outputs"]]) == (
        "upload", "succeeded", [name])  # fmt: skip
    assert server.request("GET", f"/v1/jobs/{job['id']}/files/{name}").body == data


def test_a_streamed_body_without_a_length_is_limited_too(server):
    refused = server.request("POST", "/v1/jobs", b'{"prompt": "' + b"a" * 70_000 + b'"}', chunks=8)
    assert _error(refused, 413, "body") == f"body: larger than {app_module.MAX_BODY_BYTES} bytes"
    small = server.request("POST", "/v1/jobs", b'{"prompt": "a head"}', chunks=3)
    assert small.status == 202, small.body


def test_a_request_without_a_host_is_refused(server):
    assert _error(server.request("GET", "/v1/health", host=None), 403, "host")


def test_the_app_says_when_it_is_ready_and_stops_the_runner_at_shutdown(tmp_path):
    from fastapi.testclient import TestClient

    store = JobStore(tmp_path)
    runner = JobRunner(store, {kind.name: WritesHead() for kind in job_kinds()})
    ready = []
    app = create_app(store, runner, on_ready=lambda: ready.append(True))
    runner.start()
    with TestClient(app, base_url="http://127.0.0.1"):
        assert ready == [True]
        assert [t for t in threading.enumerate() if t.name.startswith("headsculpt-")]
    assert not [t for t in threading.enumerate() if t.name.startswith("headsculpt-")]


def test_messages_escape_lone_surrogates_and_control_characters():
    assert app_module._printable("a\ud800b\x07") == "a\\ud800b\\x07"
    assert app_module._printable("x" * 400) == "x" * 300


def test_an_upload_may_be_larger_than_a_json_body(server):
    mesh = b"ply\n" + b"0" * (200 * 1024)
    assert server.request("POST", "/v1/uploads?name=big.ply", mesh).status == 201
    refused = server.request("POST", "/v1/jobs", b'{"prompt": "' + b"a" * 70_000 + b'"}')
    assert _error(refused, 413, "body") == f"body: larger than {app_module.MAX_BODY_BYTES} bytes"


# --- the disk and the unexpected ----------------------------------------------------------------
@pytest.mark.parametrize(("code", "status"), [(errno.ENOSPC, 507), (errno.EDQUOT, 507),
                                              (errno.EROFS, 503)])  # fmt: skip
def test_a_refusing_disk_answers_507_or_503_saying_what_to_do(server, monkeypatch, code, status):
    def refuse(request):
        raise OSError(code, "the disk says no")

    monkeypatch.setattr(server.store, "create", refuse)
    answer = server.post("/v1/jobs", {"prompt": "a head"})
    assert answer.status == status
    assert answer.json()["error"] == (
        "the server cannot write its job folders right now (the disk says no); "
        "try again once its data disk has room")  # fmt: skip


def test_an_unexpected_error_is_a_500_that_points_to_the_log(server, monkeypatch):
    def crash(job_id):
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr(server.store, "get", crash)
    answer = server.request("GET", f"/v1/jobs/{ABSENT}")
    assert answer.status == 500
    assert answer.json()["error"] == "internal error (ZeroDivisionError); the server log has it"
    assert b"secret internals" not in answer.body


# --- messages ------------------------------------------------------------------------------------
def test_validation_messages_name_the_field_first(server):
    seed = server.post("/v1/jobs", {"prompt": "a", "seed": -1}).json()
    assert seed["field"] == "seed" and seed["error"].startswith("seed: ")
    assert seed["detail"] == [{"type": "greater_than_equal", "loc": ["body", "seed"],
                               "msg": "Input should be greater than or equal to 0"}]  # fmt: skip
    malformed = server.request("POST", "/v1/jobs", b'{"prompt": "a",}').json()
    assert malformed["field"] == "body"
    assert malformed["error"].startswith("body: malformed JSON near character ")
    whole = server.request("POST", "/v1/jobs", b"[]").json()
    assert whole["field"] == "body" and whole["error"].startswith("body: ")
    model_level = server.post("/v1/jobs", {"prompt": "a", "kind": "edit",
                                           "instruction": "older"}).json()  # fmt: skip
    assert model_level["field"] == "parent_id"
    assert model_level["error"].startswith("parent_id: ")
    nested = server.post("/v1/jobs", {"prompt": "a", "models": {"evil": "x"}}).json()
    assert nested["field"] == "models.evil" and nested["error"].startswith("models.evil: ")


def test_messages_escape_what_cannot_be_printed(server):
    control = server.post("/v1/jobs", {"prompt": "a", "mode": "sculpt\x00\x1b"}).json()
    assert control["field"] == "mode" and control["error"].isprintable()
    for problem in control["detail"]:
        assert all(str(part).isprintable() for part in problem["loc"])
        assert problem["msg"].isprintable() and "input" not in problem
    unknown = server.request("GET", "/v1/" + "%1b" * 3).json()
    assert unknown["field"] == "path"
    assert unknown["error"] == "path: nothing at /v1/\\x1b\\x1b\\x1b"
    assert len(server.request("GET", "/v1/" + "x" * 1000).json()["error"]) <= 300
    method = server.request("PUT", "/v1/health").json()
    assert method == {"error": "method: PUT is not allowed here", "field": "method",
                      "detail": None}  # fmt: skip


def test_the_api_describes_itself_behind_the_token(tmp_path):
    server = Server(tmp_path, token="t" * 32)
    assert server.request("GET", "/v1/openapi.json").status == 401
    authorised = {"authorization": b"Bearer " + b"t" * 32}
    schema = server.request("GET", "/v1/openapi.json", **authorised).json()
    assert schema["info"]["title"] == "HeadSculpt backend"
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/uploads", "/v1/health"} <= set(schema["paths"])
    assert "/v1/openapi.json" not in schema["paths"]
    submit = schema["paths"]["/v1/jobs"]["post"]["responses"]
    assert {"202", "400", "401", "404", "409", "413", "422", "501"} <= set(submit)
    [job_id] = schema["paths"]["/v1/jobs/{job_id}"]["get"]["parameters"]
    assert job_id["description"] == "a job id from POST /v1/jobs"
    page = server.request("GET", "/v1/docs", **authorised)
    assert page.headers[b"content-type"].startswith(b"text/html")
    html = page.body.decode()
    assert "<code>POST</code></td><td><code>/v1/jobs</code>" in html
    assert "JobRequest" in html and "<script" not in html and "http" not in html.lower()[:200]
    said = "</h1><p>The machine-readable schema is at <code>/v1/openapi.json</code>.</p><table"
    assert said in html
    assert server.request("GET", "/openapi.json", **authorised).status == 404
    assert server.request("GET", "/docs", **authorised).status == 404
