"""One SDS step against the bare UNet (+ ControlNet) forward it cannot avoid; a table.

"Bare forward" is what any SDS step must do: one UNet call (with the landmark
ControlNet) over the doubled batch, the conditional and unconditional halves,
under no_grad. "SDS step" is the whole guidance call from renders to a loss and
its backward into the renders: prompt lookup, timestep and noise sampling,
the same UNet/ControlNet call, weighting and the backward pass — for latent
renders (the coarse stage) and, separately, for RGB renders encoded by the VAE
at 512² (the fine stage). Target: step ≤ 1.2 × bare forward.
Models have random weights: "tiny" (the tests' architecture) or "sd15" (the
full SD 1.5 UNet, VAE and text encoder, plus a ControlNet of the same shape).
Run: .venv/bin/python benchmarks/sds.py [--architecture tiny|sd15] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from headsculpt.guidance.models import DiffusionModels, ModelSources
from headsculpt.guidance.random_models import random_controlnet, random_stable_diffusion
from headsculpt.guidance.score_distillation import GuidanceBatch
from headsculpt.guidance.sds import SDSConfig, StableDiffusionGuidance


def _median_ms(run, device: torch.device, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", choices=("tiny", "sd15"), default="tiny")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--latent", type=int, default=64, help="latent side (64 = 512² image)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as folder:
        base = random_stable_diffusion(args.architecture, Path(folder) / "sd")
        control = random_controlnet(base, Path(folder) / "controlnet")
        sources = ModelSources(base_model=str(base), landmark_controlnet=str(control))
        models = DiffusionModels.from_sources(sources, device=device)
    image_size = args.latent * 8
    guidance = StableDiffusionGuidance(models, "an old fisherman", SDSConfig(image_size=image_size))
    count = args.batch
    labels = ["front", "side", "overhead"] * count
    batch = GuidanceBatch(labels[:count], landmark_images=torch.rand(count, 3, 512, 512))
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(count, 4, args.latent, args.latent, device=device)
    noisy, steps = latents.clone(), torch.full((count,), 500, device=device)

    def bare() -> None:
        with torch.no_grad():
            guidance.predict_noise(noisy, steps, batch)

    def step_latents() -> None:
        renders = latents.clone().requires_grad_(True)
        guidance(renders, batch, generator=generator, as_latents=True).loss.backward()

    def step_rgb() -> None:
        renders = torch.rand(count, 3, image_size, image_size, device=device, requires_grad=True)
        guidance(renders, batch, generator=generator).loss.backward()

    bare_ms = _median_ms(bare, device, args.repeats)
    rows = [("bare UNet + ControlNet forward (2 × batch)", bare_ms)]
    rows.append(("SDS step, latent renders", _median_ms(step_latents, device, args.repeats)))
    rows.append((f"SDS step, RGB renders ({image_size}² VAE)", _median_ms(step_rgb, device, 3)))

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    print(f"machine: {name}, {os.cpu_count()} cores, torch {torch.__version__}; "
          f"{args.architecture} architecture, {models.dtype}, batch {count}, "
          f"latents {args.latent}²\n")  # fmt: skip
    print("| measure | ms | × bare forward |")
    print("|---|---|---|")
    for label, ms in rows:
        print(f"| {label} | {ms:.1f} | {ms / bare_ms:.2f} |")


if __name__ == "__main__":
    main()
