"""The GLB in real Blender (bpy 4.5): shape keys, armature and material survive import."""

import json
import subprocess

import pytest

from conftest import BLENDER_PYTHON, ROOT, require_tool
from test_glb import ARKIT_52, REQUIRED_BONES


def _inspect(script: str, glb, tmp_path) -> dict:
    """Run tests/blender/SCRIPT on ``glb`` in the bpy 4.5 interpreter; its JSON report."""
    report_path = tmp_path / f"{script}.json"
    subprocess.run(
        [str(BLENDER_PYTHON), str(ROOT / "tests/blender" / script), str(glb), str(report_path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return json.loads(report_path.read_text())


@pytest.mark.blender
def test_blender_imports_rig_shape_keys_and_material(fisherman_glb, tmp_path):
    require_tool(BLENDER_PYTHON, "the bpy 4.5 interpreter")
    report = _inspect("inspect_glb.py", fisherman_glb, tmp_path)
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


@pytest.mark.blender
def test_hair_imports_alpha_tested_and_moves_with_the_head_and_the_beard_with_the_jaw(
    pipeline, tmp_path
):
    """Issue 17: Hair and FacialHair arrive with their materials (alpha wired), turn with
    the head bone; the beard (not the hair) opens with the jaw bone and the jawOpen key."""
    require_tool(BLENDER_PYTHON, "the bpy 4.5 interpreter")
    glb = tmp_path / "bearded.glb"
    glb.write_bytes(pipeline("a man with long wavy hair and a full beard", seed=2).glb)
    report = _inspect("inspect_hair.py", glb, tmp_path)
    hair, beard = report["Hair"], report["FacialHair"]
    for part, name in ((hair, "Hair"), (beard, "FacialHair")):
        assert part["materials"] == [name] and part["alpha_wired"] and part["armature_modifier"]
        assert part["head_turn_mean"] > 0.01  # 25° of the head bone carries it along
    assert hair["jaw_turn_low_mean"] < 1e-4  # the jaw bone leaves the scalp's hair
    assert beard["jaw_turn_low_mean"] > 0.01  # and takes the chin's beard
    assert beard["jaw_open_low_dz"] < -0.004  # jawOpen lowers the beard with the chin


@pytest.mark.blender
def test_the_add_ons_import_moves_beard_and_tongue_with_the_heads_face_units(pipeline, tmp_path):
    """Each mesh keeps its own shape keys in glTF; imported through the add-on, the Head's
    keys drive the others', so jawOpen set on the Head alone opens the beard and the
    tongue with it and leaves the hair."""
    require_tool(BLENDER_PYTHON, "the bpy 4.5 interpreter")
    glb = tmp_path / "bearded.glb"
    glb.write_bytes(pipeline("a man with short hair and a full beard", seed=4).glb)
    report = _inspect("follow_face_units.py", glb, tmp_path)
    assert report["Head"]["moved"] > 0.01 and report["Head"]["driven"] == []
    for name in ("FacialHair", "Mouth"):
        assert report[name]["moved"] > 0.004, (name, report[name])
        assert 'key_blocks["jawOpen"].value' in report[name]["driven"]
    assert report["Hair"]["moved"] < 1e-6
