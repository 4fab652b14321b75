"""A mesh can't take the server down (issue 33): every file of the hostile corpus
(tests/hostile_meshes.py) — piles of coincident vertices, instancing, huge images in tiny
files, out-of-range indices in each format, buffers and accessors out of range, loops,
lies — is refused naming its budget or its damage, by the readers, by ``headsculpt rig``
(a message, exit 2, no traceback) and by the server (422 at upload, or a failed rig job
whose message names the user's file, never a server path); a rig job's cancel lands within
a second while it reads and while it looks for the face. Time and memory of each case:
benchmarks/hostile.py (docs/benchmarks.md).
"""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pygltflib
import pytest
import trimesh
from hostile_meshes import BESIDE_CASES, CASES, glb_bytes, triangle_document

from backend_server import BackendServer, wait_for_job
from headsculpt.cli import main
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.export.mesh_budget import MeshFileError
from headsculpt.export.mesh_laplacian import weld_vertices
from headsculpt.export.mesh_reader import read_mesh, weld_input

BY_NAME = {case.name: case for case in CASES + BESIDE_CASES}
GLB_CASES = [case.name for case in CASES if case.name.endswith("-glb")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return {case.name: case.make(folder / case.name) for case in CASES + BESIDE_CASES}


def test_the_corpus_covers_every_format_and_every_budget():
    suffixes = {case.make.__name__.rsplit("_", 1)[1] for case in CASES}
    assert suffixes == {"glb", "gltf", "obj", "ply"}
    bad_index = {c.name for c in CASES if c.name.startswith("bad-index")}
    assert {"bad-index-glb", "bad-index-gltf", "bad-index-obj", "bad-index-ply"} <= bad_index
    from headsculpt.export import mesh_budget as budget

    named = {case.limit for case in CASES + BESIDE_CASES if case.limit}
    assert named == {
        budget.VERTICES,
        budget.NODES,
        budget.PARTS,
        budget.TEXTURE_SIDE,
        budget.TEXTURE_PIXELS,
        budget.ACCESSOR_DATA,
        budget.JSON_VALUES,
        budget.POINTS_AT_ONE_SPOT,
        budget.OVERDRAW,
        budget.KEPT_TRIANGLES,
    }


@pytest.mark.parametrize("name", list(BY_NAME))
def test_the_readers_refuse_each_file_naming_its_budget_or_damage(corpus, name):
    case, path = BY_NAME[name], corpus[name]
    with pytest.raises(MeshFileError) as refused:
        weld_input(read_mesh(path, path.name))
    message = str(refused.value)
    assert message.startswith(f"{path.name}: ") and case.expected in message, message
    assert refused.value.limit == case.limit  # None: damage, not a budget
    assert "Traceback" not in message and str(path.parent) not in message


@pytest.mark.parametrize("name", list(BY_NAME))
def test_headsculpt_rig_refuses_each_file_with_a_message_not_a_traceback(
    corpus, name, tmp_path, capsys
):
    case, path = BY_NAME[name], corpus[name]
    out = tmp_path / "rigged.glb"
    assert main(["rig", str(path), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"headsculpt: error: {path}: ")  # the user's file, as given
    assert case.expected in error, error
    assert not out.exists() and not out.with_suffix(".json").exists()


@pytest.mark.parametrize("name", ["instanced-nodes-glb", "coincident-obj"])
def test_the_rig_command_refuses_in_its_own_process_in_seconds(corpus, name, tmp_path):
    path = corpus[name]
    completed = subprocess.run(
        [sys.executable, "-m", "headsculpt", "rig", str(path), "--out", str(tmp_path / "x.glb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert BY_NAME[name].expected in completed.stderr
    assert "loading the head model" not in completed.stderr  # refused before the models load


@pytest.mark.parametrize("name", GLB_CASES)
def test_headsculpt_evaluate_refuses_hostile_glbs_with_a_message(corpus, name, capsys):
    path = corpus[name]
    assert main(["evaluate", str(path)]) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error and f"headsculpt: error: {path}: " in error


def test_welding_lists_no_pairs_whatever_the_shape():
    """5,000 copies of one point among 50,000 others: a pair list would hold 12.5 million
    pairs (~0.5 GB with its graph); the grid weld holds a few arrays of the vertices."""
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(size=(50_000, 3)), np.zeros((5_000, 3))])
    tracemalloc.start()
    welded, mapping = weld_vertices(points, 1e-6)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(welded) == 50_001 and (mapping[50_000:] == mapping[50_000]).all()
    assert peak < 40 * 2**20, peak


def test_welding_joins_what_is_within_the_tolerance_and_keeps_the_rest_apart():
    rng = np.random.default_rng(1)
    base = rng.uniform(-1, 1, size=(2000, 3))
    near = base + rng.uniform(-0.4e-3, 0.4e-3, size=base.shape)  # within 1e-3 on every axis
    welded, mapping = weld_vertices(np.concatenate([base, near]), 1e-3)
    assert len(welded) == 2000 and (mapping[:2000] == mapping[2000:]).all()
    assert (mapping[:2000] == np.arange(2000)).all()  # numbered by first vertex, in order


def test_a_shared_image_is_decoded_once_and_the_atlas_stays_bounded(tmp_path):
    """300 primitives with 300 materials sharing one 1024² image: one decoded image for the
    rig's reader; the judge's atlas within its width however many tiles it holds."""
    from hostile_meshes import _png

    vertices = np.array([[0, 0, 0], [0.01, 0, 0], [0, 0.01, 0]], np.float64)
    uv = np.array([[0, 0], [1, 0], [0, 1]], np.float32).tobytes()
    image = _png(1024, 1024)
    nodes = [
        {"mesh": k, "translation": [0.02 * (k % 20), 0.02 * (k // 20), 0.0]} for k in range(300)
    ]
    document, blob = triangle_document(vertices, [[0, 1, 2]], nodes, uv + image)
    start = len(blob) - len(uv) - len(image)
    document["bufferViews"] += [
        {"buffer": 0, "byteOffset": start, "byteLength": len(uv)},
        {"buffer": 0, "byteOffset": start + len(uv), "byteLength": len(image)},
    ]
    document["accessors"].append(
        {"bufferView": 2, "componentType": 5126, "count": 3, "type": "VEC2"}
    )
    document["images"] = [{"bufferView": 3, "mimeType": "image/png"}]
    document["textures"] = [{"source": 0}]
    document["materials"] = [
        {
            "pbrMetallicRoughness": {
                "baseColorTexture": {"index": 0},
                "baseColorFactor": [1.0, 1.0, k / 300, 1.0],
            }
        }
        for k in range(300)
    ]
    document["meshes"] = [
        {
            "primitives": [
                {"attributes": {"POSITION": 0, "TEXCOORD_0": 2}, "indices": 1, "material": k}
            ]
        }
        for k in range(300)
    ]
    path = tmp_path / "shared.glb"
    path.write_bytes(glb_bytes(document, blob))
    mesh = read_mesh(path)
    assert len(mesh.parts) == 300
    assert len({id(p.material.base_color) for p in mesh.parts}) == 1
    atlas = read_head_glb(path).mesh.base_color
    assert atlas.shape[1] <= 16384 and atlas.shape[0] >= 16  # 300 tiles, shrunk alike
    pygltflib.GLTF2.load_from_bytes(path.read_bytes())  # the file itself is valid glTF


# --- through the server --------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with BackendServer(tmp_path_factory.mktemp("hostile-server")) as running:
        yield running


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_the_server_refuses_each_file_at_upload_or_in_its_rig_job(server, corpus, name):
    case, path = BY_NAME[name], corpus[name]
    with server.client() as client:
        uploaded = client.post("/v1/uploads", params={"name": path.name}, content=path.read_bytes())
        if uploaded.status_code == 422:  # over a budget: never kept
            error = uploaded.json()
            assert error["field"] == "body" and case.limit
            assert (
                error["error"].startswith(f"body: {path.name}: ")
                and case.expected in error["error"]
            )
            return
        assert uploaded.status_code == 201, uploaded.text
        job = client.post("/v1/jobs", json={"kind": "rig", "parent_id": uploaded.json()["id"]})
        assert job.status_code == 202 and job.json()["mode"] == "rig"
        done = wait_for_job(client, job.json()["id"], timeout=120)
    assert done["state"] == "failed"
    message = done["message"]
    assert message.startswith(f"{path.name}: ") and case.expected in message, message
    assert str(server.data) not in message and "Error" not in message.split(":")[0]


def _big_sphere_obj(path, subdivisions: int):
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=0.1)
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in sphere.vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in sphere.faces]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("subdivisions", "stage"), [(7, "read"), (4, "find face")])
def test_a_rig_cancel_lands_within_a_second_while_reading_and_finding_the_face(
    server, tmp_path, subdivisions, stage
):
    """163,842 vertices take seconds to read and weld; a ball takes seconds in the face
    search: a cancel at either stage ends the job within a second (its worker is stopped)."""
    mesh = _big_sphere_obj(tmp_path / f"ball{subdivisions}.obj", subdivisions)
    with server.client() as client:
        upload = client.post("/v1/uploads", params={"name": mesh.name}, content=mesh.read_bytes())
        assert upload.status_code == 201, upload.text
        job = client.post("/v1/jobs", json={"kind": "rig", "parent_id": upload.json()["id"]})
        job_id = job.json()["id"]
        wait_for_job(client, job_id, until=lambda s: s["stage"] == stage, timeout=120)
        asked = time.monotonic()
        at_cancel = client.post(f"/v1/jobs/{job_id}/cancel").json()
        done = wait_for_job(client, job_id, timeout=30)
        waited = time.monotonic() - asked
    assert at_cancel["stage"] == stage
    assert done["state"] == "cancelled" and waited <= 1.0, (done, waited)


def test_damaged_gltf_documents_are_refused_with_a_message_never_a_crash(tmp_path):
    """Files not seen before: 150 random damages (one to three fields of a textured GLB's
    JSON set to a wrong value or removed), through the rig's reader and the judge's."""
    import copy
    import json
    import random
    import struct

    from hostile_meshes import _png, _textured_glb

    from headsculpt.export.mesh_budget import read_glb_container

    document, blob = read_glb_container(_textured_glb([_png(8, 8)]), "x")
    document["nodes"][0].update(translation=[0.0, 0.0, 0.0], rotation=[0.0, 0.0, 0.0, 1.0])
    wrong = [None, -1, 0, 1, 2, 6, 10**12, 1.5, "x", [], {}, [1, 2], True, {"a": 1}, [[0]],
             5126, "VEC3", "MAT4", "data:,x", "../x", [0.0] * 4, [1e308] * 3]  # fmt: skip

    def places(value, prefix=()):
        if not isinstance(value, dict | list):
            return
        for key, inner in value.items() if isinstance(value, dict) else enumerate(value):
            yield prefix + (key,)
            yield from places(inner, prefix + (key,))

    every = list(places(document))
    rng = random.Random(33)
    for trial in range(150):
        damaged = copy.deepcopy(document)
        for _ in range(rng.randint(1, 3)):
            *route, last = rng.choice(every)
            holder = damaged
            try:
                for key in route:
                    holder = holder[key]
                if isinstance(holder, dict) and rng.random() < 0.15:
                    del holder[last]
                else:
                    holder[last] = copy.deepcopy(rng.choice(wrong))
            except (KeyError, IndexError, TypeError):
                pass
        text = json.dumps(damaged).encode()
        text += b" " * (-len(text) % 4)
        chunks = struct.pack("<II", len(text), 0x4E4F534A) + text
        chunks += struct.pack("<II", len(blob), 0x004E4942) + blob
        path = tmp_path / f"damaged{trial}.glb"
        path.write_bytes(b"glTF" + struct.pack("<II", 2, 12 + len(chunks)) + chunks)
        for read in (_rig_reading, read_head_glb):
            try:
                read(path)
            except ValueError as refused:  # a message naming the file
                assert str(refused).startswith((str(path), path.name)), refused


def _rig_reading(path):
    return weld_input(read_mesh(path, path.name))
