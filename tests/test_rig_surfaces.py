"""`headsculpt rig` and the server's rig job, as an artist uses them: a foreign head mesh
in (another frame, another unit, no UVs), a rigged GLB, its report and a preview out.

The quality of the rig itself is measured in tests/test_rig_transfer.py and
tests/test_rig_pipeline.py; here the surfaces carry it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import trimesh
from PIL import Image

from backend_server import BackendServer, wait_for_job
from conftest import MEDIAPIPE_PYTHON, require_tool
from rig_cases import project_head, z_up_centimetres_yawed


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> Path:
    """A project head as another tool would export it: Z-up, centimetres, yawed, moved."""
    from headsculpt.prior.head_model import load_head_model

    require_tool(MEDIAPIPE_PYTHON, "MediaPipe (the face finder)")
    head = project_head(load_head_model(), {})
    path = tmp_path_factory.mktemp("scan") / "scan.obj"
    mesh = trimesh.Trimesh(z_up_centimetres_yawed().apply(head.vertices), head.triangles)
    mesh.export(path)
    return path


def _morph_count(glb: bytes) -> int:
    gltf = pygltflib.GLTF2.load_from_bytes(glb)
    return max(len(p.targets or []) for m in gltf.meshes for p in m.primitives)


def _shows_something(png: Path) -> bool:
    """The preview is not the empty backdrop: its middle rows hold a lit surface."""
    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    middle = pixels[pixels.shape[0] // 3 : 2 * pixels.shape[0] // 3]
    return middle.max() - np.median(pixels[:10]) > 60


def test_the_rig_command_rigs_a_foreign_mesh_and_previews_it_upright(scan, tmp_path):
    out = tmp_path / "out" / "rigged.glb"
    completed = subprocess.run(
        [sys.executable, "-m", "headsculpt", "rig", str(scan), "--out", str(out),
         "--preview", str(tmp_path / "rigged.png")], capture_output=True, text=True,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == [str(out), str(out.with_suffix(".json")),
                                        str(tmp_path / "rigged.png")]  # fmt: skip
    assert _morph_count(out.read_bytes()) == 52
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["mode"] == "rig" and sidecar["parent"] == str(scan)
    assert sidecar["report"]["surface_distance"]  # the fit says how well it holds
    assert _shows_something(tmp_path / "rigged.png")


def test_a_mesh_without_a_face_fails_with_what_to_do(tmp_path):
    sphere = tmp_path / "ball.ply"
    trimesh.creation.icosphere(subdivisions=3, radius=0.1).export(sphere)
    completed = subprocess.run(
        [sys.executable, "-m", "headsculpt", "rig", str(sphere), "--out", str(tmp_path / "x.glb")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    assert "no face" in completed.stderr.lower() and "--up" in completed.stderr
    assert not (tmp_path / "x.glb").exists()
    for bad, message in ((["nothere.obj"], "no such file"), ([str(sphere.with_suffix(".txt"))],
                         "no such file")):  # fmt: skip
        refused = subprocess.run([sys.executable, "-m", "headsculpt", "rig", *bad],
                                 capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
        assert refused.returncode == 2 and message in refused.stderr


def test_the_server_rigs_an_uploaded_mesh(scan, tmp_path):
    with BackendServer(tmp_path) as server, server.client() as client:
        refused = client.post("/v1/uploads", params={"name": "scan.obj"}, content=b"\x00\x01")
        assert refused.status_code == 422 and refused.json()["field"] == "body"
        wrong_name = client.post("/v1/uploads", params={"name": "../scan.obj"}, content=b"v 0")
        assert wrong_name.status_code == 422 and wrong_name.json()["field"] == "name"
        uploaded = client.post("/v1/uploads", params={"name": "scan.obj"},
                               content=scan.read_bytes())  # fmt: skip
        assert uploaded.status_code == 201, uploaded.text
        upload = uploaded.json()
        assert upload["kind"] == "upload" and upload["state"] == "succeeded"
        assert client.get(f"/v1/jobs/{upload['id']}/files/scan.obj").content == scan.read_bytes()

        no_parent = client.post("/v1/jobs", json={"kind": "rig"})
        assert no_parent.status_code == 422 and no_parent.json()["field"] == "parent_id"
        job = client.post("/v1/jobs", json={"kind": "rig", "parent_id": upload["id"],
                                            "quality": "draft"})  # fmt: skip
        assert job.status_code == 202, job.text
        done = wait_for_job(client, job.json()["id"], timeout=900)
        assert done["state"] == "succeeded", done["message"]
        assert done["parent_id"] == upload["id"]
        assert {o["name"] for o in done["outputs"]} == {"head.glb", "head.json", "head.png"}
        glb = client.get(f"/v1/jobs/{done['id']}/files/head.glb").content
        assert _morph_count(glb) == 52
        report = client.get(f"/v1/jobs/{done['id']}/files/head.json").json()
        assert report["parent"] == upload["id"] and report["input"] == "scan.obj"
        assert done["mode"] == "rig"  # its own mode, not a parametric head's
    # Everything the job left is private, its scratch files too (the worker's preview GLB).
    folder = tmp_path / "jobs" / done["id"]
    assert (folder / "scratch" / "rigged.glb").exists()
    for path in [folder, *folder.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert path.stat().st_mode & 0o777 == expected, path
