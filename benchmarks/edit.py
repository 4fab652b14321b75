"""Edit speed: a parametric edit against a parametric generate, and an IESD step against
an SDS step; two tables.

1. Parametric (this machine's CPU, warm): generating a head from its code, and editing
   one (reading the instruction, the code edit, the head made again). Target: an edit
   ≤ 0.5 s, as generate.
2. Guidance (random weights: "tiny" or "sd15"): an IESD step runs the UNet over four
   inputs — ε(∅,∅), ε(∅,img), ε(instruction,img), ε(description,img) — with the
   InstructPix2Pix and landmark ControlNets, where SDS runs two; the ratio is recorded.

Run: .venv/bin/python benchmarks/edit.py [--architecture tiny|sd15] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from headsculpt.guidance.iesd import EditGuidance, IESDConfig  # noqa: E402
from headsculpt.guidance.models import DiffusionModels, ModelSources  # noqa: E402
from headsculpt.guidance.random_models import (  # noqa: E402
    random_controlnet,
    random_stable_diffusion,
)
from headsculpt.guidance.score_distillation import GuidanceBatch  # noqa: E402
from headsculpt.guidance.sds import SDSConfig, StableDiffusionGuidance  # noqa: E402
from headsculpt.pipelines.edit import EditPipeline, ParentHead  # noqa: E402
from headsculpt.pipelines.parametric import ParametricConfig  # noqa: E402

PARENTS = (
    "a weathered fisherman in his seventies with a bulbous nose",
    "a young woman with freckles and green eyes",
    "a stern man with a square jaw",
)
INSTRUCTIONS = ("make him thirty years younger", "fuller lips and a smile", "give him a beard")


def _median_seconds(run, repeats: int, device: torch.device | None = None) -> float:
    run()  # warm
    times = []
    for _ in range(repeats):
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        run()
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def parametric_table(repeats: int) -> None:
    editor = EditPipeline.from_defaults()
    config = ParametricConfig(texture_size=1024)
    rows = []
    for prompt, instruction in zip(PARENTS, INSTRUCTIONS, strict=True):
        made = editor.parametric(prompt, config=config)
        parent = ParentHead("parent", json.loads(made.sidecar_json()), "head.glb")
        generate = _median_seconds(lambda p=prompt: editor.parametric(p, config=config), repeats)
        reading = editor.read_instruction(instruction)

        def edit(parent=parent, instruction=instruction) -> None:
            editor.edit_parametric(parent, editor.read_instruction(instruction))

        rows.append((instruction, generate, _median_seconds(edit, repeats), len(reading.changes)))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; 1024² textures, warm\n")
    print("| instruction | changes | generate (s) | edit (s) |\n|---|---|---|---|")
    for instruction, generate, edit, changes in rows:
        print(f"| {instruction} | {changes} | {generate:.2f} | {edit:.2f} |")


def guidance_table(architecture: str, device: torch.device, latent: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = random_stable_diffusion(architecture, Path(folder) / "sd")
        landmark = random_controlnet(base, Path(folder) / "landmark")
        ip2p = random_controlnet(base, Path(folder) / "ip2p", seed=2)
        sources = ModelSources(base_model=str(base), landmark_controlnet=str(landmark),
                               edit_controlnet=str(ip2p))  # fmt: skip
        models = DiffusionModels.from_sources(sources, device=device)
    size = latent * 8
    sds = StableDiffusionGuidance(models, "an old fisherman", SDSConfig(image_size=size))
    iesd = EditGuidance(models, "an old fisherman", "give him a beard",
                        IESDConfig(image_size=size))  # fmt: skip
    batch = GuidanceBatch(["front"], landmark_images=torch.rand(1, 3, 512, 512),
                          source_images=torch.rand(1, 3, size, size))  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(1, 4, latent, latent, device=device)

    def step(guidance) -> None:
        renders = latents.clone().requires_grad_(True)
        guidance(renders, batch, generator=generator, as_latents=True).loss.backward()

    sds_s = _median_seconds(lambda: step(sds), repeats, device)
    iesd_s = _median_seconds(lambda: step(iesd), repeats, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    print(f"\nmachine: {name}, torch {torch.__version__}; {architecture} random weights, "
          f"{models.dtype}, latents {latent}²\n")  # fmt: skip
    print("| step | ms | × SDS |\n|---|---|---|")
    print(f"| SDS (UNet ×2, landmark ControlNet) | {1000 * sds_s:.1f} | 1.00 |")
    print(f"| IESD (UNet ×4, IP2P + landmark ControlNets) | {1000 * iesd_s:.1f} "
          f"| {iesd_s / sds_s:.2f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", choices=("tiny", "sd15"), default="tiny")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--latent", type=int, default=64, help="latent side (64 = 512² image)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-parametric", action="store_true")
    args = parser.parse_args()
    if not args.skip_parametric:
        parametric_table(args.repeats)
    guidance_table(args.architecture, torch.device(args.device), args.latent, args.repeats)


if __name__ == "__main__":
    main()
