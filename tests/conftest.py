"""Shared fixtures: one head model and a few generated heads per test session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pygltflib
import pytest

import build_addon
from headsculpt.pipelines.parametric import ParametricPipeline
from headsculpt.prior.head_model import load_head_model
from headsculpt.text.parser import DescriptionParser

ROOT = Path(__file__).resolve().parents[1]
BLENDER_PYTHON = ROOT / ".venv-blender" / "bin" / "python"
NODE_MODULES = ROOT / ".cache" / "node" / "node_modules"
MEDIAPIPE_PYTHON = ROOT / ".venv-mediapipe" / "bin" / "python"
FISHERMAN = "a weathered fisherman in his seventies with a bulbous nose"
# The longest files, longest first (docs/testing.md, measured): ./run_tests.sh hands whole
# files to its workers in collection order, so these start at once and the many short
# files fill in around them instead of one of these running alone at the end.
LONGEST_FILES = (
    "test_sculpt_on_the_server.py",
    "test_sculpt_reconstruction.py",
    "test_sculpt_edit.py",
    "test_sculpt_pipeline.py",
    "test_server.py",
    "test_batch.py",
    "test_server_faults.py",
    "test_judge.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (their own order kept), then the rest as collected."""
    rank = {name: k for k, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def description_parser() -> DescriptionParser:
    return DescriptionParser.from_pretrained()


@pytest.fixture(scope="session")
def pipeline(description_parser) -> ParametricPipeline:
    return ParametricPipeline(load_head_model(), description_parser)


@pytest.fixture(scope="session")
def fisherman(pipeline):
    return pipeline(FISHERMAN, seed=7)


@pytest.fixture(scope="session")
def default_head(pipeline):
    """The head the README's quick start makes (its seed comes from the text)."""
    return pipeline(FISHERMAN)


@pytest.fixture(scope="session")
def fisherman_glb(fisherman, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("glb") / "fisherman.glb"
    path.write_bytes(fisherman.glb)
    return path


def load_gltf(glb: bytes) -> pygltflib.GLTF2:
    return pygltflib.GLTF2.load_from_bytes(glb)


def require_tool(path: Path, what: str) -> None:
    """Fail (not skip) when a test tool is missing: ./run_tests.sh installs them."""
    if not path.exists():
        pytest.fail(f"{what} missing at {path}; run ./run_tests.sh (it installs it)")


def addon_session(folder: Path, script: str, *arguments: str, timeout: int = 1200) -> dict:
    """Run ``tests/blender/<script>`` in bpy 4.5 with the add-on built into ``folder`` and
    a real backend (this interpreter) keeping its jobs there; the session's report.

    Every session script takes the add-on's zip, the backend's Python, the jobs folder
    and the report's path, then its own ``arguments``."""
    require_tool(BLENDER_PYTHON, "the bpy 4.5 interpreter")
    zip_path = build_addon.build(folder / "dist")
    report_path = folder / "report.json"
    completed = subprocess.run(
        [str(BLENDER_PYTHON), str(ROOT / "tests/blender" / script), str(zip_path),
         sys.executable, str(folder / "jobs"), str(report_path), *arguments],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "BLENDER_USER_RESOURCES": str(folder / "blender-user")},
    )  # fmt: skip
    assert report_path.exists(), completed.stderr[-3000:]
    return json.loads(report_path.read_text())


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the glTF validator")
    return node


def khronos_errors(glb: Path) -> tuple[int, list[dict]]:
    """The Khronos glTF validator's error count for a GLB file, and its error messages."""
    require_tool(NODE_MODULES / "gltf-validator", "the Khronos glTF validator")
    completed = subprocess.run(
        [node_binary(), str(ROOT / "tests/tools/validate_gltf.mjs"), str(glb)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )  # fmt: skip
    report = json.loads(completed.stdout)
    errors = [m for m in report["issues"]["messages"] if m["severity"] == 0]
    return report["issues"]["numErrors"], errors


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small tensors on shared cores: one thread avoids OpenMP wake-ups (10× faster here)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
