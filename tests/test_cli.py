"""The headsculpt command as a user runs it."""

import json
import subprocess
import sys

from PIL import Image


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "headsculpt", *args], cwd=cwd, capture_output=True, text=True
    )


def test_generate_writes_glb_sidecar_and_preview(tmp_path):
    completed = _run("generate", "an old woman with green eyes", "--out", "out/h.glb",
                     "--preview", "out/h.png", "--seed", "3", cwd=tmp_path)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "out/h.glb").read_bytes()[:4] == b"glTF"
    sidecar = json.loads((tmp_path / "out/h.json").read_text())
    assert sidecar["seed"] == 3 and sidecar["prompt"] == "an old woman with green eyes"
    assert sidecar["descriptive_code"]["attributes"]["eyes.color"] == "green"
    assert Image.open(tmp_path / "out/h.png").size == (1024, 512)
    assert not list((tmp_path / "out").glob(".*partial"))


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path):
    completed = _run("generate", "a man", "--out", "head.obj", cwd=tmp_path)
    assert completed.returncode == 2
    assert "--out" in completed.stderr and "Traceback" not in completed.stderr
    too_long = _run("generate", "x" * 2001, cwd=tmp_path)
    assert too_long.returncode == 2 and "2000" in too_long.stderr
