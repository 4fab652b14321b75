"""The stretched proof as a job on a real server, killed with ``kill -9`` and resumed.

The target — a project head with non-human proportions — is uploaded and rebuilt by
``--guidance reference`` at the test preset from another description; the server is
killed well into the coarse stage and started again on the same data folder. The job goes
on from its checkpoint, and what it makes passes every check of the proofs
(tests/sculpt_proofs.py): the target's surface and colours from views it was never
trained on, its proportions, and still a head. One 7–9 minute sculpt serves both the
proof and the resume.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend_server import BackendServer, wait_for_job
from headsculpt.pipelines.parametric import ParametricPipeline
from sculpt_proofs import SCULPT_PROMPT, check_reconstruction, check_still_a_head, sculpted_skin
from sculpt_targets import non_human


@pytest.fixture(scope="module")
def parametric() -> ParametricPipeline:
    return ParametricPipeline.from_defaults()


@pytest.fixture(scope="module")
def stretched_run(parametric, tmp_path_factory):
    """The stretched target uploaded to a real server and sculpted there; the server is
    killed (SIGKILL: no shutdown code runs) well into the coarse stage — checkpoints every
    50 of its 1000 steps — and started again on the same data folder."""
    folder = tmp_path_factory.mktemp("stretched")
    head = parametric("a middle-aged man with a square jaw", seed=8).mesh
    target = non_human(head)
    glb = target.write(folder / "target.glb")
    data = folder / "server"
    with BackendServer(data) as server, server.client() as client:
        upload = client.post("/v1/uploads", params={"name": glb.name}, content=glb.read_bytes())
        assert upload.status_code == 201, upload.text
        response = client.post("/v1/jobs", json={
            "mode": "sculpt", "prompt": SCULPT_PROMPT, "quality": "test", "seed": 1,
            "guidance": "reference", "parent_id": upload.json()["id"],
        })  # fmt: skip
        assert response.status_code == 202, response.text
        job = response.json()["id"]
        wait_for_job(client, job, until=lambda s: s["progress"] >= 0.3, timeout=900)
        server.kill()
    checkpoints = list(data.rglob("coarse.pt"))
    with BackendServer(data) as server, server.client() as client:
        done = wait_for_job(client, job, timeout=1500)
        assert done["state"] == "succeeded", done["message"]
        for name in ("head.glb", "head.json"):
            (folder / name).write_bytes(client.get(f"/v1/jobs/{job}/files/{name}").content)
    sidecar = json.loads((folder / "head.json").read_text())
    return target, sculpted_skin(folder / "head.glb"), sidecar, done, checkpoints


def test_reaches_non_human_proportions(stretched_run):
    target, result, sidecar, _, _ = stretched_run
    check_reconstruction(target, result, sidecar)
    # The prior started from ordinary proportions; the result took the target's.
    extent = np.ptp(result.mesh.vertices, axis=0)
    target_extent = np.ptp(target.mesh.vertices, axis=0)
    assert extent[2] / extent[0] == pytest.approx(target_extent[2] / target_extent[0], rel=0.08)


def test_stretched_result_is_still_a_head(stretched_run):
    check_still_a_head(stretched_run[1])


def test_a_sculpt_killed_mid_stage_resumes_from_its_checkpoint_after_a_restart(stretched_run):
    """The job was queued again at the restart and went on from the checkpoint before the
    kill, not from step 0; the proofs above hold for what it made."""
    _, _, sidecar, done, checkpoints = stretched_run
    assert len(checkpoints) == 1  # the coarse stage's, left by the killed server
    assert done["attempts"] == 2
    assert {"head.glb", "head.json", "head.png", "progress.png"} <= {
        o["name"] for o in done["outputs"]
    }
    assert sidecar["resumed_from"]["coarse"] >= 250
    assert sidecar["guidance"]["kind"] == "reference"
