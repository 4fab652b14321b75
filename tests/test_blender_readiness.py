"""*Check connection* says per mode what is ready and what is missing (issue 36, item 6).

A machine with no weights used to hear "modes: parametric, rig, sculpt, edit, iesd": the
sculpt and IESD edits listed as ready though every job of theirs would fail for want of
weights. The backend lists each mode's weight slots (``/v1/health``: ``model_slots``;
jobs send them, the server holds none) and the add-on checks them against its Models
preferences. Session: tests/blender/readiness_session.py, real bpy 4.5 and backend.
"""

import json
import os
import subprocess
import sys

import pytest

import build_addon
from conftest import BLENDER_PYTHON, ROOT, require_tool


@pytest.fixture(scope="module")
def readiness(tmp_path_factory):
    require_tool(BLENDER_PYTHON, "the bpy 4.5 interpreter")
    folder = tmp_path_factory.mktemp("readiness")
    zip_path = build_addon.build(folder / "dist")
    report_path = folder / "report.json"
    completed = subprocess.run(
        [str(BLENDER_PYTHON), str(ROOT / "tests/blender/readiness_session.py"), str(zip_path),
         sys.executable, str(folder / "jobs"), str(report_path)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "BLENDER_USER_RESOURCES": str(folder / "blender-user")},
    )  # fmt: skip
    assert report_path.exists(), completed.stderr[-3000:]
    report = json.loads(report_path.read_text())
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
