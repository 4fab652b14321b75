"""The same text gives the same file in another process, with or without a seed.

Driven through the command line (`python -m headsculpt generate`), as an artist or a
script would, so it holds whatever the modules are called. Each process gets its own
PYTHONHASHSEED: a seed or an ordering that depended on Python's per-process string
hashing (or on the clock, the process id, a temporary path) would show up here, where
the in-process test of test_glb.py cannot see it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TEXT = "a freckled young woman with blue eyes and a small upturned nose"


def _generate(tmp_path: Path, name: str, *extra: str, processes: int = 1) -> list[Path]:
    """Run the same command in ``processes`` fresh interpreters at once; their GLB paths."""
    runs, outputs = [], []
    for k in range(processes):
        out = tmp_path / f"{name}_{k}" / "head.glb"
        out.parent.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": str(len(name) * 7919 + k)}
        runs.append(
            subprocess.Popen(
                [sys.executable, "-m", "headsculpt", "generate", TEXT, "--out", str(out), *extra],
                cwd=out.parent,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
        )
        outputs.append(out)
    for run in runs:
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-2000:]
    return outputs


def _sidecar(glb: Path) -> dict:
    return json.loads(glb.with_suffix(".json").read_text())


def test_same_text_same_bytes_across_processes(tmp_path):
    first, second = _generate(tmp_path, "default", processes=2)
    assert first.read_bytes()[:4] == b"glTF"
    assert first.read_bytes() == second.read_bytes(), "the text's own seed differs per process"
    seed = _sidecar(first)["seed"]
    assert _sidecar(second)["seed"] == seed
    assert _sidecar(first)["descriptive_code"] == _sidecar(second)["descriptive_code"]

    # The same seed given explicitly, in a third process: the very same file.
    (third,) = _generate(tmp_path, "explicit", "--seed", str(seed))
    assert third.read_bytes() == first.read_bytes(), "an explicit seed differs per process"
