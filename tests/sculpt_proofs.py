"""What every sculpt reconstruction proof checks, and the description it sculpts from
(tests/test_sculpt_reconstruction.py from the command line, test_sculpt_on_the_server.py
as a server job killed and resumed: each a 7–9 minute sculpt, in files of their own so
two test workers run them at once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headsculpt.eval.judge import judge_head
from headsculpt.eval.mediapipe_runner import MediaPipeFaces
from headsculpt.eval.reconstruction import measure_reconstruction
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.export.mouth_opening import MOUTH_INSIDE_PART

# The description the sculpt is given differs from the target's on purpose.
SCULPT_PROMPT = "an old man with a long face and a big nose"


def sculpted_skin(glb: Path):
    """The sculpt's skin as read from its GLB. The mouth's inside — a pocket behind the
    lips, hidden until the jaw opens — is left out as the target's mouth and teeth are
    (measure_reconstruction keeps the target's outer points only)."""
    return read_head_glb(glb, skip_meshes=(MOUTH_INSIDE_PART,))


def check_reconstruction(target, result, sidecar) -> None:
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


def check_still_a_head(result) -> None:
    """MediaPipe finds the face from the front and no face on the back. (At the test
    preset's 96² fine renders the face's texture is soft: the 0° view is found, the ±22.5°
    views not always — docs/sculpt.md. 22.5° off the back MediaPipe may find the real
    face's profile at the silhouette: the judge does not count that as a second face.)"""
    judged, _ = judge_head(result, MediaPipeFaces())
    front = next(v for v in judged.views if v.azimuth == 0.0)
    assert front.face_detected, judged.summary()
    assert judged.janus_rate == 0.0, judged.summary()
