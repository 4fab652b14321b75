"""*Check connection* says per mode what is ready and what is missing (issue 36, item 6).

A machine with no weights used to hear "modes: parametric, rig, sculpt, edit, iesd": the
sculpt and IESD edits listed as ready though every job of theirs would fail for want of
weights. The backend lists each mode's weight slots (``/v1/health``: ``model_slots``;
jobs send them, the server holds none) and the add-on checks them against its Models
preferences. Session: tests/blender/readiness_session.py, real bpy 4.5 and backend.
"""

import pytest

from conftest import addon_session


@pytest.fixture(scope="module")
def readiness(tmp_path_factory):
    report = addon_session(
        tmp_path_factory.mktemp("readiness"), "readiness_session.py", timeout=600
    )
    assert not report["errors"], report["errors"]
    return report


def _line(text: str) -> str:
    return next(line for line in text.splitlines() if "HeadSculpt" in line and "Info" in line)


@pytest.mark.blender
def test_check_connection_says_what_each_mode_is_missing(readiness):
    line = _line(readiness["no_models"])
    ready, _, missing = line.partition("; needs weights:")
    assert "parametric" in ready and "sculpt" not in ready and "iesd" not in ready, line
    assert "sculpt (Stable Diffusion, Landmark ControlNet, Back-view token)" in missing, line
    assert "InstructPix2Pix ControlNet" in missing, line


@pytest.mark.blender
def test_a_mode_whose_weights_are_set_is_listed_ready(readiness):
    line = _line(readiness["sculpt_models"])
    ready, _, missing = line.partition("; needs weights:")
    assert "sculpt" in ready, line
    assert "iesd (InstructPix2Pix ControlNet)" in missing, line
    assert readiness["health"]["pipelines"]["sculpt"]["model_slots"] == [
        "base_model", "landmark_controlnet", "back_view_embedding",
    ]  # fmt: skip
