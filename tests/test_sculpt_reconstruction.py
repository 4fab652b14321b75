"""The sculpt pipeline's proof on this CPU: rebuild heads the head model cannot express.

The reference teacher shows the pipeline renders of a target — a project head wearing a
horn, a bun and a ring, or one with non-human proportions — while the prompt describes
someone else, so the prior starts wrong. Run as an artist would — the accessorised one by
``headsculpt generate --mode sculpt --preset test --guidance reference``, the stretched
one as a job on a real server, rebuilding an upload, killed with ``kill -9`` well into
its coarse stage and started again — the result must match the target's surface and
colours from views it was never trained on, grow the accessories, and still be a head: a
face on front views and none on the back. (One sculpt serves both the stretched proof and
the server's resume: each is a 7–9 minute run on this CPU.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend_server import BackendServer, wait_for_job
from conftest import BLENDER_PYTHON, ROOT, require_tool
from headsculpt.eval.judge import judge_head
from headsculpt.eval.mediapipe_runner import MediaPipeFaces
from headsculpt.eval.reconstruction import measure_reconstruction
from headsculpt.export.glb import PRIOR_TO_GLTF
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.export.mouth_opening import MOUTH_INSIDE_PART
from headsculpt.pipelines.parametric import ParametricPipeline
from sculpt_targets import accessorised, non_human

# The description the sculpt is given differs from the target's on purpose.
SCULPT_PROMPT = "an old man with a long face and a big nose"


def _sculpt(target_glb: Path, out: Path) -> dict:
    command = [
        sys.executable, "-m", "headsculpt", "generate", SCULPT_PROMPT, "--mode", "sculpt",
        "--preset", "test", "--guidance", "reference", "--reference", str(target_glb),
        "--seed", "1", "--out", str(out), "--preview", str(out.with_suffix(".png")),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(out.with_suffix(".json").read_text())


def _result(glb: Path):
    """The sculpt's skin as read from its GLB. The mouth's inside — a pocket behind the
    lips, hidden until the jaw opens — is left out as the target's mouth and teeth are
    (measure_reconstruction keeps the target's outer points only)."""
    return read_head_glb(glb, skip_meshes=(MOUTH_INSIDE_PART,))


@pytest.fixture(scope="module")
def parametric() -> ParametricPipeline:
    return ParametricPipeline.from_defaults()


@pytest.fixture(scope="module")
def accessorised_run(parametric, tmp_path_factory):
    folder = tmp_path_factory.mktemp("accessories")
    head = parametric("a young woman with a round face and short black hair", seed=3).mesh
    target = accessorised(head, ("horn", "bun", "ring"))
    sidecar = _sculpt(target.write(folder / "target.glb"), folder / "head.glb")
    # The lips' bodies, lower then upper: halfway from the outer contour (MediaPipe 17, 0)
    # to the inner (14, 13), where the lips meet.
    landmarks = parametric.landmarks.positions(head.vertices)
    lips = 0.5 * (landmarks[[17, 0]] + landmarks[[14, 13]])
    return target, _result(folder / "head.glb"), sidecar, folder / "head.glb", lips


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
    return target, _result(folder / "head.glb"), sidecar, done, checkpoints


def _check_reconstruction(target, result, sidecar) -> None:
    report = measure_reconstruction(result.mesh, target.mesh, target.regions)
    assert report.chamfer <= 0.012, report.to_dict()
    assert report.psnr >= 22.0, report.to_dict()
    # ≥ 80 % of each accessory's visible points grown, not only of all of them: the horn's
    # tip was lost (78 %) while the bun and ring carried the pooled share (90 %).
    for name, share in report.coverage.items():
        assert share >= 0.8, (name, report.to_dict())
    # The pipeline measured itself the same way, and wrote it down.
    assert sidecar["reconstruction"]["chamfer"] == pytest.approx(report.chamfer, abs=0.002)
    assert sidecar["guidance"]["kind"] == "reference"


def _check_still_a_head(result) -> None:
    """MediaPipe finds the face from the front and no face on the back. (At the test
    preset's 96² fine renders the face's texture is soft: the 0° view is found, the ±22.5°
    views not always — docs/sculpt.md. 22.5° off the back MediaPipe may find the real
    face's profile at the silhouette: the judge does not count that as a second face.)"""
    judged, _ = judge_head(result, MediaPipeFaces())
    front = next(v for v in judged.views if v.azimuth == 0.0)
    assert front.face_detected, judged.summary()
    assert judged.janus_rate == 0.0, judged.summary()


def test_grows_accessories_the_head_model_cannot_express(accessorised_run):
    target, result, sidecar, _, _ = accessorised_run
    _check_reconstruction(target, result, sidecar)


def test_accessorised_result_is_still_a_head(accessorised_run):
    _check_still_a_head(accessorised_run[1])


def test_reaches_non_human_proportions(stretched_run):
    target, result, sidecar, _, _ = stretched_run
    _check_reconstruction(target, result, sidecar)
    # The prior started from ordinary proportions; the result took the target's.
    extent = np.ptp(result.mesh.vertices, axis=0)
    target_extent = np.ptp(target.mesh.vertices, axis=0)
    assert extent[2] / extent[0] == pytest.approx(target_extent[2] / target_extent[0], rel=0.08)


def test_stretched_result_is_still_a_head(stretched_run):
    _check_still_a_head(stretched_run[1])


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


@pytest.mark.blender
def test_blender_imports_the_sculpt_rigged_and_jaw_open_opens_its_mouth(accessorised_run, tmp_path):
    require_tool(BLENDER_PYTHON, "the bpy 4.5 interpreter")
    _, _, _, glb, lips = accessorised_run
    report_path = tmp_path / "report.json"
    subprocess.run(
        [str(BLENDER_PYTHON), str(ROOT / "tests/blender/inspect_rig.py"), str(glb),
         str(report_path), *(str(v) for v in (lips @ PRIOR_TO_GLTF.T).ravel())],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    report = json.loads(report_path.read_text())
    assert report["result"] == ["FINISHED"] and len(report["armatures"]) == 1
    (bones,) = report["armatures"].values()
    assert {"jaw", "head", "eye.L", "eye.R"} <= set(bones)
    head = report["meshes"]["Head"]  # the mouth's inside carries jawOpen too
    assert "jawOpen" in report["meshes"][MOUTH_INSIDE_PART]["shape_keys"]
    assert len([k for k in head["shape_keys"] if k != "Basis"]) == 52
    assert head["armature_modifier"] and "jaw" in head["vertex_groups"]
    down = PRIOR_TO_GLTF @ np.array([0.0, 0.0, -1.0])
    lower = np.dot(head["lower_lip"]["jaw_open"], down)
    upper = np.dot(head["upper_lip"]["jaw_open"], down)
    assert head["lower_lip"]["distance"] < 0.01  # the sculpt has a lip where the target had
    # A sculpt's lips are one closed sheet until the export cuts the mouth open
    # (export/mouth_opening.py): before that the lower lip moved 1.4–3.6 mm and dragged
    # the upper 1.0 mm. Cut along the mouth MediaPipe found on the surface in grey clay,
    # the cut ran 4–11 mm above where the target's lips meet, through or over the upper
    # lip, whose body opened with the jaw (24–26 mm). Found in the surface's colours, the
    # cut runs 1 mm below it: lower 33.1 mm, upper 1.3 mm (2026-12-06). As on a
    # scan (test_rig_pipeline.py): the lower lip ≥ 5 mm, the upper less than a third of it.
    assert lower > 0.005, (lower, upper)
    assert lower > 3 * abs(upper), (lower, upper)
