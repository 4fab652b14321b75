"""The add-on an artist trusts (issue 36), in real bpy 4.5 against a real backend.

One Blender session (tests/blender/trust_session.py) walks through what a new artist
meets: a failed start, a wrong server on the port, a URL typed without ``http://``,
rigging a moved head twice, a mesh with no face, the History, a re-import. Each test
reads one part of its report.
"""

import pytest

from conftest import addon_session

CLI_WORDS = ("--up", "--front", "Error:", "Exception", "Traceback", "The job ended")


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    return addon_session(tmp_path_factory.mktemp("trust"), "trust_session.py")


def _step(report: dict, name: str) -> dict:
    assert name not in report["errors"], report["errors"][name]
    return report[name]


@pytest.mark.blender
def test_a_failed_start_quotes_only_its_own_log_lines(trust):
    error = _step(trust, "failed_start")["error"]
    assert error and "headsculpt" in error  # the reason: no backend in that Python
    assert "STALE" not in error, error


@pytest.mark.blender
def test_each_start_writes_a_fresh_log_and_keeps_the_previous_one(trust):
    start = _step(trust, "start")
    assert start["url"].startswith("http://127.0.0.1:")
    assert "STALE" not in start["log"] and "No module named" not in start["log"]
    assert start["previous_log"] is not None and "No module named" in start["previous_log"]


@pytest.mark.blender
def test_another_web_server_on_the_port_is_named_not_taken_for_a_backend(trust):
    wrong = _step(trust, "wrong_server")
    for action in ("check", "generate", "refresh"):
        message = wrong[action]
        assert message and "not a HeadSculpt backend" in message, (action, message)
        assert wrong["url"] in message, (action, message)
        assert "Parametric" not in message and "no longer exists" not in message, message


@pytest.mark.blender
def test_a_url_typed_without_a_scheme_reaches_the_backend(trust):
    typed = _step(trust, "url_without_scheme")
    assert not typed["typed"].startswith("http")
    assert typed["check"] is None, typed["check"]


@pytest.mark.blender
def test_the_rigged_copy_keeps_the_sources_origin_and_stands_beside_earlier_copies(trust):
    rig = _step(trust, "rig")
    first, second = rig["copies"]
    assert first["result"] == second["result"] == ["FINISHED"]
    # The origin sits where the source's does relative to its geometry.
    source_lever = [o - c for o, c in zip(rig["source_origin"], rig["source_centre"], strict=True)]
    size = max(rig["source_size"])
    for copy in (first, second):
        lever = [o - c for o, c in zip(copy["root_location"], copy["centre"], strict=True)]
        assert lever == pytest.approx(source_lever, abs=0.02 * size), (lever, source_lever)
    # Beside the source, and the second copy not on top of the first: boxes apart in X.
    assert first["low"][0] > rig["source_centre"][0] + rig["source_size"][0] / 2
    assert second["low"][0] >= first["high"][0] - 1e-3 or second["high"][0] <= first["low"][0]


@pytest.mark.blender
def test_a_rig_failure_says_what_to_do_in_blender(trust):
    error = _step(trust, "rig_failure")["error"].removeprefix("Error: ")  # Blender's prefix
    assert error and "Up" in error and "Front" in error, error
    assert not any(word in error for word in CLI_WORDS), error
    assert "/" not in error.split("Front", 1)[1], error  # no internal path after the advice


@pytest.mark.blender
def test_history_labels_jobs_by_kind_with_edit_versions(trust):
    items = {i["job"]: i for i in _step(trust, "history")["items"]}
    head_job = _step(trust, "generate")["job"]
    rig = _step(trust, "rig")
    assert items[head_job]["version"] == "v1"
    for copy in rig["copies"]:
        assert items[copy["job"]]["version"] == "rig", items[copy["job"]]
        assert items[copy["parent_id"]]["version"] == "upload", items[copy["parent_id"]]


@pytest.mark.blender
def test_a_reimported_head_keeps_its_parent(trust):
    reimport = _step(trust, "reimport")
    assert reimport["parent_ids"] == [_step(trust, "rig")["copies"][0]["parent_id"]]


@pytest.mark.blender
def test_the_operators_that_change_the_scene_register_undo_steps(trust):
    undo = _step(trust, "undo")
    assert undo["registered"] == {
        "generate": True, "edit": True, "rig_selected": True, "import_job": True,
        "check_backend": False,
    }  # fmt: skip
    assert undo["imported"] > 0 and undo["timer_imported"] > 0
    assert undo["pushed"]  # the step a timer's import adds (timers do not fire headless)
    # One undo would remove the import; headless bpy refuses ed.undo (no screen), so that
    # is what is checked here: if it ever runs, it must remove the import.
    for outcome in (undo["by_operator"], undo["by_timer"]):
        assert outcome == "undone" or "context is incorrect" in outcome, undo
