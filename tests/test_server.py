"""The job server, as a client sees it: a real `headsculpt serve` process on loopback."""

import http.client
import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from backend_server import BackendServer, wait_for_job


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with BackendServer(tmp_path_factory.mktemp("server-data")) as running:
        yield running


@pytest.fixture
def client(server):
    with server.client() as http:
        yield http


def _submit(client, **fields):
    response = client.post("/v1/jobs", json={"prompt": "an old man with a big nose", **fields})
    assert response.status_code == 202, response.text
    return response.json()


def test_health_names_version_device_and_pipelines(client):
    health = client.get("/v1/health").json()
    assert health["version"] and health["device"] == "cpu"
    assert health["pipelines"]["parametric"]["available"] is True
    assert health["pipelines"]["edit"]["available"] is True
    assert "models.edit_controlnet" in health["pipelines"]["iesd"]["reason"]
    sculpt = health["pipelines"]["sculpt"]  # weights come with each job: the slots are named
    assert sculpt["available"] is True and "models.landmark_controlnet" in sculpt["reason"]


def test_submit_poll_download(client):
    job = _submit(client, seed=4, quality="draft")
    assert job["state"] == "queued"
    done = wait_for_job(client, job["id"])
    assert done["state"] == "succeeded" and done["progress"] == 1.0
    assert done["descriptive_code"]["attributes"]["nose.size"] > 0
    names = {o["name"] for o in done["outputs"]}
    assert names == {"head.glb", "head.json", "head.png"}
    glb = client.get(f"/v1/jobs/{job['id']}/files/head.glb")
    assert glb.status_code == 200 and glb.content[:4] == b"glTF"
    assert glb.headers["content-type"] == "model/gltf-binary"
    sidecar = client.get(f"/v1/jobs/{job['id']}/files/head.json").json()
    assert sidecar["seed"] == 4 and sidecar["descriptive_code"] == done["descriptive_code"]


def test_cancel_mid_run_keeps_what_was_made(client):
    job = _submit(client, variants=16, quality="draft")

    def two_heads_made(status):  # the cancel must find finished files, or it proves nothing
        return sum(o["name"].endswith(".glb") for o in status["outputs"]) >= 2

    before = wait_for_job(client, job["id"], until=two_heads_made)
    made = {o["name"]: o["size"] for o in before["outputs"]}
    response = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert response.status_code == 200
    done = wait_for_job(client, job["id"])
    assert done["state"] == "cancelled"
    glbs = [o["name"] for o in done["outputs"] if o["name"].endswith(".glb")]
    assert 2 <= len(glbs) < 16
    kept = {o["name"]: o["size"] for o in done["outputs"]}
    assert made.items() <= kept.items()  # everything finished before the cancel is listed
    for name in made:  # and still there, whole
        data = client.get(f"/v1/jobs/{job['id']}/files/{name}").content
        assert len(data) == made[name] and (data[:4] == b"glTF" or not name.endswith(".glb"))
    assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 409


def test_fifty_concurrent_jobs_all_succeed(client, server):
    prompts = [f"a {age}-year-old woman with a {size} nose" for age in range(20, 70)
               for size in ("small",)]  # fmt: skip
    assert len(prompts) == 50

    def submit(prompt):
        with server.client() as own:  # one connection per submitter, like 50 scripts
            response = own.post("/v1/jobs", json={"prompt": prompt, "quality": "draft"})
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(submit, prompts))
    assert all(code == 202 for code, _ in answers)
    ids = [body["id"] for _, body in answers]
    assert len(set(ids)) == 50
    finished = [wait_for_job(client, job_id, timeout=900) for job_id in ids]
    assert all(s["state"] == "succeeded" for s in finished)
    history, offset = [], 0
    while offset is not None:
        page = client.get("/v1/jobs", params={"offset": offset, "limit": 17}).json()
        history += [s["id"] for s in page["jobs"]]
        offset = page["next_offset"]
    assert set(ids) <= set(history)
    created = [
        s["created_at"] for s in client.get("/v1/jobs", params={"limit": 200}).json()["jobs"]
    ]
    assert created == sorted(created, reverse=True)  # newest first


@pytest.mark.parametrize(
    ("name", "status"),
    [("..", 400), (".hidden", 400), ("request.json", 404), ("status.json", 404),
     ("..%2F..%2Frequest.json", 404), ("%2e%2e", 400), ("head.glb%00.png", 400)],
)  # fmt: skip
def test_file_names_cannot_leave_the_job_folder(client, name, status):
    job = _submit(client, quality="draft")
    wait_for_job(client, job["id"])
    # Sent byte for byte (http.client does not resolve ".." the way httpx does).
    host, port = client.base_url.host, client.base_url.port
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", f"/v1/jobs/{job['id']}/files/{name}")
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == status
    assert b"glTF" not in body and b'"prompt"' not in body


@pytest.mark.parametrize(
    ("body", "field"),
    [({"prompt": 5}, "prompt"), ({"prompt": "a man", "variants": 99}, "variants"),
     ({"prompt": "a man", "seed": -1}, "seed"), ({"prompt": "a man", "colour": "red"}, "colour"),
     ({"prompt": "a man", "texture_size": 512}, "texture_size"), ({"prompt": ""}, "prompt"),
     ({"prompt": "x" * 2001}, "prompt"), ({"kind": "edit", "instruction": "a scar"}, "parent_id"),
     ({"prompt": "a man", "mode": "photo"}, "mode")],
)  # fmt: skip
def test_malformed_bodies_get_4xx_naming_the_field(client, body, field):
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 422
    error = response.json()
    assert error["field"] == field and field in error["error"]


def test_broken_and_oversized_bodies(client):
    broken = client.post(
        "/v1/jobs", content=b'{"prompt": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["field"] == "body"
    huge = client.post("/v1/jobs", json={"prompt": "a" * 100_000})
    assert huge.status_code == 413 and huge.json()["field"] == "body"


def test_a_sculpt_without_weights_fails_naming_the_slot(client):
    sculpt = client.post("/v1/jobs", json={"prompt": "a man", "mode": "sculpt"})
    assert sculpt.status_code == 202, sculpt.text
    failed = wait_for_job(client, sculpt.json()["id"], timeout=300)
    assert failed["state"] == "failed" and "models.base_model" in failed["message"]


def test_an_edit_makes_a_new_version_and_a_bad_parent_is_refused_naming_it(client):
    parent = _submit(client, prompt="a young man with a small nose", quality="draft")["id"]
    wait_for_job(client, parent)
    asked = {"kind": "edit", "parent_id": parent, "instruction": "much older, give him a scar"}
    edit = client.post("/v1/jobs", json=asked)
    assert edit.status_code == 202, edit.text
    child = wait_for_job(client, edit.json()["id"])
    assert child["state"] == "succeeded" and child["parent_id"] == parent
    sidecar = client.get(f"/v1/jobs/{child['id']}/files/head.json").json()
    before = client.get(f"/v1/jobs/{parent}/files/head.json").json()
    assert sidecar["parent"] == parent and sidecar["edit"]["not_applied"] == ["scar"]
    assert sidecar["descriptive_code"]["attributes"]["age"] > (
        before["descriptive_code"]["attributes"].get("age", 22) + 5
    )
    assert child["descriptive_code"] == sidecar["descriptive_code"]
    # A sculpted parent's edit goes to the sculpt lane, so the mode must say so.
    wrong = client.post("/v1/jobs", json={"kind": "edit", "mode": "sculpt", "parent_id": parent,
                                           "instruction": "older"})  # fmt: skip
    assert wrong.status_code == 409 and wrong.json()["field"] == "mode"
    missing = client.post("/v1/jobs", json={"kind": "edit", "instruction": "older",
                                             "parent_id": "20260101T000000Z-00000000"})  # fmt: skip
    assert missing.status_code == 404 and missing.json()["field"] == "parent_id"
    failed = client.post("/v1/jobs", json={"prompt": "a man", "mode": "sculpt"}).json()["id"]
    wait_for_job(client, failed, timeout=300)
    on_failed = client.post("/v1/jobs", json={"kind": "edit", "instruction": "older",
                                               "parent_id": failed, "mode": "sculpt"})  # fmt: skip
    assert on_failed.status_code == 409 and on_failed.json()["field"] == "parent_id"
    assert client.delete(f"/v1/jobs/{parent}").status_code == 204
    deleted = client.post("/v1/jobs", json={"kind": "edit", "parent_id": parent,
                                             "instruction": "older"})  # fmt: skip
    assert deleted.status_code == 404 and deleted.json()["field"] == "parent_id"


def test_unknown_jobs_and_delete(client):
    assert client.get("/v1/jobs/20260101T000000Z-00000000").status_code == 404
    assert client.get("/v1/jobs/not-an-id").status_code == 422
    job = _submit(client, quality="draft")
    wait_for_job(client, job["id"])
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
    assert client.get(f"/v1/jobs/{job['id']}").status_code == 404
    assert client.get(f"/v1/jobs/{job['id']}/files/head.glb").status_code == 404


def test_kill_9_during_a_job_then_restart(tmp_path):
    with BackendServer(tmp_path) as first, first.client() as http:
        done = _submit(http, quality="draft")
        wait_for_job(http, done["id"])
        long = _submit(http, variants=16, texture_size=2048, quality="draft")
        behind = _submit(http, quality="draft")  # queued behind the long one
        wait_for_job(http, long["id"], until=lambda s: s["state"] == "running")
        first.kill()
    with BackendServer(tmp_path) as second, second.client() as http:
        # The job the server died under runs again (a second attempt), then the one behind.
        again = wait_for_job(http, long["id"], timeout=900)
        assert again["state"] == "succeeded" and again["attempts"] == 2, again["message"]
        assert http.get(f"/v1/jobs/{done['id']}/files/head.glb").content[:4] == b"glTF"
        assert wait_for_job(http, behind["id"])["state"] == "succeeded"  # queued: run again
        ids = {s["id"] for s in http.get("/v1/jobs").json()["jobs"]}
        assert {done["id"], long["id"], behind["id"]} <= ids
    for folder in (tmp_path / "jobs").iterdir():  # no half-written file anywhere
        assert not list(folder.rglob("*.partial"))
        json.loads((folder / "status.json").read_text())


def test_after_a_kill_9_a_job_submitted_since_runs_before_the_recovered_one(tmp_path):
    """The add-on starts its backend again after a crash and submits the artist's next
    head at once: that head must not wait behind the whole of the job the crash stopped
    (docs/server.md, "Recovered jobs go last"); the recovered one still finishes."""
    with BackendServer(tmp_path) as first, first.client() as http:
        long = _submit(http, variants=6, quality="draft")
        wait_for_job(http, long["id"], until=lambda s: s["progress"] >= 0.5)
        first.kill()
    with BackendServer(tmp_path) as second, second.client() as http:
        new = _submit(http, quality="draft", seed=5)
        assert new["queue"]["lane"] == "cpu" and new["queue"]["position"] == 1, new
        recovered = http.get(f"/v1/jobs/{long['id']}").json()
        assert recovered["recovered"] and "after any job submitted since" in recovered["message"]
        done = wait_for_job(http, new["id"])
        again = wait_for_job(http, long["id"], timeout=600)
    assert done["state"] == again["state"] == "succeeded", (done, again)
    assert done["finished_at"] < again["started_at"], (done, again)  # it ran first
    assert again["attempts"] == 2 and again["queue"] is None
    heads = [o["name"] for o in again["outputs"] if o["name"].endswith(".glb")]
    assert len(heads) == 6, heads


def test_other_binds_need_a_token(tmp_path):
    refused = subprocess.run(
        [sys.executable, "-m", "headsculpt", "serve", "--host", "0.0.0.0", "--port", "0",
         "--data", str(tmp_path)], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and "--token-file" in refused.stderr
    token_file = tmp_path / "token"
    with BackendServer(tmp_path, "--host", "0.0.0.0", "--token-file", str(token_file)) as s:
        token = token_file.read_text().strip()
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600 and len(token) >= 32
        s.url = s.url.replace("0.0.0.0", "127.0.0.1")
        with s.client() as anonymous:
            assert anonymous.get("/v1/health").status_code == 401
        with s.client(token="wrong-token-wrong-token") as wrong:
            response = wrong.get("/v1/jobs")
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
        with s.client(token=token) as right:
            assert right.get("/v1/health").status_code == 200
