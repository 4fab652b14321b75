"""One device end to end: the sculpt's 3D side names the device of every tensor it makes,
and CUDA accelerators are chosen by the device a part is built for, not by what is
installed.

CI has no GPU, so a CUDA run cannot be tried here. What can be checked is what would
break one: a tensor factory in the 3D side that does not say where its tensor goes
lands on the CPU, and the next operation with a CUDA tensor fails (or, worse, copies
across every step). The scan below reads the source of every module a sculpt runs on its
device and fails on such a call.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest
import torch

from headsculpt.devices import resolve_device
from headsculpt.limits import RequestError

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "headsculpt"
# The modules whose tensors live on the run's device: fields, grids, renderers, the
# sculpt and its edit. (Export code that takes the mesh off the device is elsewhere.)
# render/preview.py is left out: the preview is an image leaving the pipeline, drawn on
# the host at the export.
SCANNED = [
    *sorted((PACKAGE / "geometry").glob("*.py")),
    *sorted(p for p in (PACKAGE / "render").glob("*.py") if p.name != "preview.py"),
    *sorted((PACKAGE / "pipelines").glob("sculpt*.py")),
]
# torch calls that make a new tensor (or generator) somewhere.
FACTORIES = {
    "zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "tensor", "as_tensor",
    "from_numpy", "rand", "randn", "randint", "randperm", "eye", "Generator",
}  # fmt: skip
# A call that really must make its tensor on the CPU says why on its line.
CPU_SIDE_MARK = "# cpu-side:"


def undeviced_factories(source: str) -> list[tuple[int, str]]:
    """(line, call) of each ``torch.<factory>(...)`` in ``source`` that neither names a
    ``device=`` nor is moved by a ``.to(...)`` around it, nor is marked cpu-side."""
    tree = ast.parse(source)
    lines = source.splitlines()
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Name) and owner.id == "torch"):
            continue
        if node.func.attr not in FACTORIES or any(k.arg == "device" for k in node.keywords):
            continue
        if _moved(node, parents) or CPU_SIDE_MARK in lines[node.lineno - 1]:
            continue
        found.append((node.lineno, f"torch.{node.func.attr}"))
    return found


def _moved(node: ast.AST, parents: dict) -> bool:
    """Whether a method chain on ``node`` (x.float().to(device), …) ends in ``.to(...)``
    with a device argument (a dtype alone does not move it)."""
    while isinstance(parents.get(node), ast.Attribute):
        attribute = parents[node]
        call = parents.get(attribute)
        if not isinstance(call, ast.Call):
            return False
        if attribute.attr == "to" and (call.args or any(k.arg == "device" for k in call.keywords)):
            first = call.args[0] if call.args else None
            if not (isinstance(first, ast.Attribute) and first.attr.startswith("float")):
                return True
        node = call
    return False


def test_the_3d_side_names_the_device_of_every_tensor_it_makes():
    missing = [
        f"{path.relative_to(PACKAGE)}:{line} {call}"
        for path in SCANNED
        for line, call in undeviced_factories(path.read_text(encoding="utf-8"))
    ]
    assert not missing, "tensors made without a device:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("import torch\nx = torch.zeros(n)\n", True),
        ("import torch\nx = torch.zeros(n, device=d)\n", False),
        ("import torch\nx = torch.from_numpy(a).float().to(d)\n", False),
        ("import torch\nx = torch.from_numpy(a).to(torch.float32)\n", True),
        ("import torch\nx = torch.tensor(v)  # cpu-side: a constant table\n", False),
        ("import torch\ng = torch.Generator()\n", True),
    ],
)
def test_the_scan_tells_a_placed_tensor_from_a_stray_one(source, flagged):
    assert bool(undeviced_factories(source)) == flagged


def test_a_device_the_machine_lacks_is_refused_not_replaced():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RequestError, match="no CUDA device") as caught:
            resolve_device("cuda:0")
        assert caught.value.field == "device"
    with pytest.raises(RequestError, match="not a device name"):
        resolve_device("gpu please")


@pytest.fixture
def tiny_cuda_nn_installed(monkeypatch):
    """A stand-in tiny-cuda-nn on a machine that reports CUDA: its encoding refuses CPU
    tensors, as the real one does."""

    class Encoding(torch.nn.Module):
        def __init__(self, inputs, config):
            super().__init__()
            self.params = torch.nn.Parameter(torch.zeros(16))

        def forward(self, points):
            if not points.is_cuda:
                raise RuntimeError("tiny-cuda-nn: input must be a CUDA tensor")
            return points

    monkeypatch.setitem(sys.modules, "tinycudann", types.SimpleNamespace(Encoding=Encoding))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def test_an_installed_tiny_cuda_nn_does_not_crash_a_cpu_sculpt(tiny_cuda_nn_installed, tmp_path):
    """Before: the hash grid picked tiny-cuda-nn whenever it imported and CUDA existed, then
    refused the CPU points of a CPU run at step 0. Now the device it is built for decides."""
    from dataclasses import replace

    from headsculpt.geometry.hash_grid import HashGridConfig, HashGridEncoding
    from headsculpt.pipelines.sculpt import SculptPipeline, SculptRequest
    from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS

    assert HashGridEncoding(HashGridConfig(levels=4, log2_table_size=10), "cpu").backend == "torch"
    pipeline = SculptPipeline.from_defaults()
    target = tmp_path / "target.glb"
    target.write_bytes(pipeline.parametric("a bald man with a round face", seed=1).glb)
    preset = replace(
        SCULPT_PRESETS["test"], coarse_steps=2, coarse_size=24, samples_per_ray=16,
        hash_levels=6, hash_log2_table=12, albedo_only_steps=1,
    ).for_guidance("reference")  # fmt: skip
    request = SculptRequest(prompt="an old man", guidance="reference", reference=str(target),
                            device="cpu")  # fmt: skip
    prior = pipeline.prior(request.prompt, 0)
    teacher = pipeline.teacher(request, preset, prior, device="cpu")
    generator = torch.Generator(device="cpu").manual_seed(0)
    field, run = pipeline.coarse(prior, teacher, preset, generator, tmp_path, lambda *a: None)
    assert field.encoding.backend == "torch" and len(run.losses) == 2
