"""The extension in real Blender (bpy 4.5): install, backend, generate, cancel, failures."""

import json

import pytest

from conftest import addon_session
from test_glb import ARKIT_52, REQUIRED_BONES

BASE_PARTS = {"Armature", "Head", "Eyes", "Mouth", "Brows", "Lashes"}
HAIR_PARTS = {"Hair", "FacialHair"}  # only when the head has them (not bald, not shaven)


@pytest.fixture(scope="module")
def addon_report(tmp_path_factory):
    report = addon_session(tmp_path_factory.mktemp("addon"), "addon_session.py")
    assert "exception" not in report, report["exception"]
    return report


@pytest.mark.blender
def test_installs_and_enables_from_the_zip(addon_report):
    assert addon_report["install"] == {"result": ["FINISHED"], "enabled": True}


@pytest.mark.blender
def test_local_backend_starts_on_a_free_loopback_port(addon_report):
    assert "not running" in addon_report["check_before_start"]["error"]
    start = addon_report["start"]
    assert start["url"].startswith("http://127.0.0.1:")
    assert start["health"]["pipelines"]["parametric"]["available"]


@pytest.mark.blender
def test_generate_imports_a_rigged_textured_head(addon_report):
    generate = addon_report["generate"]
    assert generate["result"] == ["FINISHED"] and generate["state"] == "succeeded"
    objects = generate["objects"].values()
    assert all(o["collections"] == ["HeadSculpt"] for o in objects)
    armature = next(o for o in objects if o["type"] == "ARMATURE")
    assert set(armature["bones"]) >= REQUIRED_BONES
    assert armature["location"] == pytest.approx([1.0, 2.0, 0.5])  # at the 3D cursor
    heads = [o for o in objects if o["type"] == "MESH" and len(o["shape_keys"]) == 53]
    assert len(heads) == 1
    head = heads[0]
    assert set(head["shape_keys"]) - {"Basis"} == ARKIT_52
    assert head["armature_modifier"] and len(head["images"]) >= 3
    props = head["props"]
    assert props["headsculpt_seed"] == "11" and props["headsculpt_mode"] == "parametric"
    assert props["headsculpt_prompt"].startswith("a weathered fisherman")
    assert props["headsculpt_backend_url"] == addon_report["start"]["url"]
    code = json.loads(props["headsculpt_descriptive_code"])
    assert code["attributes"]["age"] == 75 and code["ignored"] == ["blorf"]
    assert any("Not used: blorf" in line for line in generate["code_lines"])
    assert generate["preview"].endswith(".png")
    # The head's parts: the fisherman is not said to be bald, so his drawn hair comes too;
    # every part follows the armature (parented to it, deformed by it).
    names = set(generate["objects"])
    assert BASE_PARTS <= names <= BASE_PARTS | HAIR_PARTS and names & HAIR_PARTS
    for name in names - {"Armature"}:
        part = generate["objects"][name]
        assert part["type"] == "MESH" and part["parent"] == "Armature", name
        assert part["armature_modifier"], name


@pytest.mark.blender
def test_cancel_history_reimport_and_edit(addon_report):
    assert addon_report["cancel"]["state"] == "cancelled"
    assert addon_report["cancel"]["scene_state"] == "cancelled"
    jobs = addon_report["history"]["jobs"]
    assert [state for _, state, _ in jobs][:2] == ["cancelled", "succeeded"]  # newest first
    assert jobs[1][2]  # the finished job shows its preview
    reimported = addon_report["reimport"]["objects"]
    # The same parts again, under new names (Blender adds .001), all in the collection.
    assert len(reimported) == len(addon_report["generate"]["objects"]) and all(
        o["collections"] == ["HeadSculpt"] for o in reimported.values()
    )


@pytest.mark.blender
def test_edit_imports_a_new_version_beside_the_old_one_and_the_history_chains_it(addon_report):
    edit = addon_report["edit"]
    assert edit["result"] == ["FINISHED"]
    objects = edit["objects"].values()
    armature = next(o for o in objects if o["type"] == "ARMATURE")
    head = next(o for o in objects if o["type"] == "MESH" and len(o["shape_keys"]) == 53)
    props = head["props"]
    assert props["headsculpt_parent_id"] == edit["parent_job"]
    child_job = props["headsculpt_job_id"]
    code = json.loads(props["headsculpt_descriptive_code"])
    assert code["attributes"]["age"] < edit["parent_code"]["attributes"]["age"] - 25  # younger
    assert any("scar" in line for line in edit["code_lines"])  # said, not guessed
    # Beside the old one: along X, past it (and past anything already standing there).
    parent_location = edit["parent_location"]
    assert armature["location"][1:] == pytest.approx(parent_location[1:], abs=1e-3)
    assert armature["location"][0] - parent_location[0] >= 1.25 * edit["parent_width"] - 1e-3
    versions = {job: (parent, version) for job, parent, version, _ in edit["history"]}
    assert versions[child_job] == (edit["parent_job"], "v2")
    assert versions[edit["parent_job"]][1] == "v1"


@pytest.mark.blender
def test_rig_selected_brings_back_a_rigged_copy_beside_the_source(addon_report):
    rig = addon_report["rig"]
    assert rig["result"] == ["FINISHED"] and rig["source_untouched"]
    objects = rig["objects"].values()
    armature = next(o for o in objects if o["type"] == "ARMATURE")
    assert set(armature["bones"]) >= REQUIRED_BONES
    rigged = next(o for o in objects if o["type"] == "MESH" and o["shape_keys"])
    assert set(rigged["shape_keys"]) - {"Basis"} == ARKIT_52 and rigged["armature_modifier"]
    assert rigged["props"]["headsculpt_job_id"]  # tagged like every imported head
    assert rig["rigged_faces"] == rig["source_faces"]  # the artist's surface, not the prior's
    # Same size and height as the source, moved along X past it (beside it: 1.25 of its
    # world-box widths, or further where another head already stands).
    width, tolerance = rig["source_size"][0], 0.02 * rig["jaw_open"]["height"]
    shift = rig["rigged_centre"][0] - rig["source_centre"][0]
    assert rig["rigged_centre"][1:] == pytest.approx(rig["source_centre"][1:], abs=tolerance)
    assert shift >= 1.1 * width
    # jawOpen opens the mouth: the vertices that move most sit low on the head and go down
    # (and back: the jaw turns about its hinge).
    jaw = rig["jaw_open"]
    assert 0.005 < jaw["max"] / jaw["height"] < 0.2, jaw
    assert jaw["mover_height"] < 0.5 and jaw["mean_delta"][2] < -0.3 * jaw["max"], jaw


@pytest.mark.blender
def test_panels_and_preferences_draw_with_real_names(addon_report):
    # every property, operator, UI list and icon the draw code names exists in Blender
    assert addon_report["draw"]["calls"] > 40


@pytest.mark.blender
def test_backend_down_is_reported_and_the_scene_kept(addon_report):
    down = addon_report["backend_down"]
    assert "not reachable" in down["check"] and "Start the backend" in down["check"]
    assert "not reachable" in down["generate"]
    assert down["scene_intact"] and "not reachable" in down["panel_error"]


@pytest.mark.blender
def test_disable_stops_the_backend_and_enable_starts_clean(addon_report):
    assert addon_report["reenable"] == {
        "backend_stopped": True,
        "enabled": True,
        "has_operator": True,
        "scene_settings": True,
    }
