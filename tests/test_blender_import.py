"""The GLB in real Blender (bpy 4.5): shape keys, armature and material survive import."""

import json
import subprocess

import pytest

from conftest import BLENDER_PYTHON, ROOT, require_tool
from test_glb import ARKIT_52, REQUIRED_BONES


@pytest.mark.blender
def test_blender_imports_rig_shape_keys_and_material(fisherman_glb, tmp_path):
    require_tool(BLENDER_PYTHON, "the bpy 4.5 interpreter")
    report_path = tmp_path / "report.json"
    subprocess.run(
        [str(BLENDER_PYTHON), str(ROOT / "tests/blender/inspect_glb.py"), str(fisherman_glb),
         str(report_path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    report = json.loads(report_path.read_text())
    assert report["result"] == ["FINISHED"]
    objects = report["objects"]
    armatures = [o for o in objects.values() if o["type"] == "ARMATURE"]
    assert len(armatures) == 1 and set(armatures[0]["bones"]) >= REQUIRED_BONES

    head = objects["Head"]
    keys = [k for k in head["shape_keys"] if k != "Basis"]
    assert len(keys) == 52 and set(keys) == ARKIT_52
    assert head["armature_modifier"] and {"jaw", "head"} <= set(head["vertex_groups"])
    assert head["uv_layers"] == 1
    images = head["materials"][0]["images"]
    assert len(images) >= 3  # base colour, metallic-roughness, normal
    assert {"Eyes", "Mouth"} <= set(objects)
