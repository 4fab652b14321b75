"""The CPU reference sculpt from the panel and its step previews (issue 36, item 6), in
real bpy 4.5 against a real backend. Session: tests/blender/sculpt_panel_session.py."""

import pytest

from conftest import addon_session


@pytest.fixture(scope="module")
def sculpt_panel(tmp_path_factory):
    report = addon_session(tmp_path_factory.mktemp("sculpt-panel"), "sculpt_panel_session.py")
    assert not report["errors"], report["errors"]
    return report


@pytest.mark.blender
def test_a_reference_sculpt_without_a_target_is_refused_in_the_panels_words(sculpt_panel):
    refused = sculpt_panel["no_target"]
    assert refused and "Pick the target head's .glb file" in refused, refused


@pytest.mark.blender
def test_the_panel_sculpts_to_a_target_file_and_shows_its_step_previews(sculpt_panel):
    run = sculpt_panel["file_sculpt"]
    request = run["request"]
    assert (request["mode"], request["guidance"], request["quality"]) == (
        "sculpt", "reference", "test",
    )  # fmt: skip
    # The file went up first: the job's parent is its upload, not the head's own job.
    assert request["parent_id"] and request["parent_id"] != sculpt_panel["target"]["job"]
    assert run["previewed"], run
    assert run["state"] == "running" and 0.0 < run["progress"] < 1.0, run
    assert run["scene_preview"] == run["monitor_preview"] and run["png"], run
    assert run["scene_state"] == "running" and run["scene_stage"], run
    assert run["ended"] == "cancelled", run


@pytest.mark.blender
def test_the_panel_sculpts_to_the_head_selected_in_the_history(sculpt_panel):
    run = sculpt_panel["history_sculpt"]
    assert run["request"]["guidance"] == "reference"
    assert run["request"]["parent_id"] == sculpt_panel["target"]["job"]
    assert run["job"] and run["ended"] == "cancelled", run


@pytest.mark.blender
def test_the_history_labels_sculpts_by_kind_not_as_versions_of_their_target(sculpt_panel):
    labels = sculpt_panel["history"]
    assert labels[sculpt_panel["target"]["job"]] == "v1"
    assert labels[sculpt_panel["history_sculpt"]["job"]] == "sculpt", labels
    uploads = [job for job, label in labels.items() if label == "upload"]
    assert sculpt_panel["file_sculpt"]["request"]["parent_id"] in uploads, labels
