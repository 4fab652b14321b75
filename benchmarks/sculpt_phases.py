"""Where a sculpt step's time goes, phase by phase, on any device; and the preset's total.

One coarse step and one fine step of a preset are taken apart into the phases the issue
of running on a GPU names, each timed with the device synchronised before and after:

| phase | what |
|---|---|
| render | the volume render (coarse) or the DMTet extraction + rasterization (fine), forward |
| landmarks | the landmark ControlNet's drawings of the step's views |
| vae_encode | the renders resized to the guidance's size and encoded (forward) |
| unet_controlnet | the noise prediction: UNet + landmark ControlNet, CFG's two halves |
| vae_backward | the score pushed back through the VAE encoder to the renders |
| render_backward | the renders' gradient pushed into the field / grid and texture |
| regularisers | sparsity + orientation, or Laplacian + normal consistency; both passes |
| optimiser | Adam's step |

"3D side" is everything but the three guidance phases. The models are Stable Diffusion
1.5's architecture with random weights (fp16 on CUDA, fp32 on the CPU) and a random
landmark ControlNet: nothing is downloaded. The projection is steps × the measured step
plus the preset's export, measured separately or assumed (say which).

Run: .venv/bin/python benchmarks/sculpt_phases.py [--presets preview standard]
     [--device cuda] [--steps 5] [--architecture sd15|tiny] [--json OUT.json]
     [--whole FOLDER]   (one whole sculpt per preset instead, through export and rig)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

PROMPT = "a weathered fisherman in his seventies with a bulbous nose"
GUIDANCE_PHASES = ("vae_encode", "unet_controlnet", "vae_backward")


class PhaseClock:
    """Sums the synchronised wall time of named phases."""

    def __init__(self, device) -> None:
        import torch

        self.device = device
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, work):
        self.sync()
        started = time.perf_counter()
        result = work()
        self.sync()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        return result


def measure(preset_name: str, device_name: str, steps: int, architecture: str) -> dict:
    import torch

    from headsculpt.devices import resolve_device, seeded_generator
    from headsculpt.geometry.regularisers import (
        laplacian_smoothness,
        normal_consistency,
        sparsity_loss,
    )
    from headsculpt.geometry.texture_field import TextureField
    from headsculpt.guidance.models import SD15_CONTROLNET_SUBFOLDER
    from headsculpt.guidance.random_models import random_controlnet, random_stable_diffusion
    from headsculpt.guidance.score_distillation import distillation_loss, standard_noise, weight
    from headsculpt.pipelines.sculpt import (
        _TARGET_BACKGROUND,
        SculptPipeline,
        SculptRequest,
        _light_directions,
        _occupied_density,
        _volume_render_config,
    )
    from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS
    from headsculpt.render.antialias import EdgeAdjacency
    from headsculpt.render.mesh_render import albedo_from_points, render_mesh
    from headsculpt.render.occupancy import OccupancyGrid
    from headsculpt.render.volume import render_volume

    device = resolve_device(device_name)
    preset = SCULPT_PRESETS[preset_name]
    pipeline = SculptPipeline.from_defaults()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        base = random_stable_diffusion(architecture, folder / "sd")
        random_controlnet(base, folder / "landmarks" / SD15_CONTROLNET_SUBFOLDER)
        models = {"base_model": str(base), "landmark_controlnet": str(folder / "landmarks")}
        request = SculptRequest(prompt=PROMPT, models=models, device=str(device))
        prior = pipeline.prior(PROMPT, 0)
        teacher = pipeline.teacher(request, preset, prior, device=device)
        guidance = teacher.guidance
        generator = seeded_generator(device, 0)
        field = pipeline.coarse_field(prior, preset, device)
        occupancy = OccupancyGrid(prior.box, preset.occupancy_resolution, device=device)
        with torch.no_grad():
            occupancy.update(lambda p: field(p)[0], 0, threshold=_occupied_density(prior, preset))
        optimizer = torch.optim.Adam(
            field.parameters(), lr=preset.coarse_lr, betas=preset.adam_betas, eps=1e-15
        )
        config = _volume_render_config(prior, preset)

        def guided(clock: PhaseClock, rgb, batch, step):
            latents = clock("vae_encode", lambda: guidance.encode(rgb, generator))
            t = clock(
                "vae_encode",
                lambda: torch.randint(20, 980, (len(rgb),), generator=generator, device=device),
            )
            noise = standard_noise(latents.shape, generator, device)
            with torch.no_grad():
                noisy = guidance.models.scheduler.add_noise(latents.detach(), noise, t)
                eps = clock("unet_controlnet", lambda: guidance.predict_noise(noisy, t, batch))
            w = weight("sds", guidance.alphas_cumprod[t]).view(-1, 1, 1, 1)
            loss, _ = distillation_loss(latents, w * (eps - noise), None)
            (grad,) = clock("vae_backward", lambda: torch.autograd.grad(loss, rgb))
            return grad

        def coarse_step(clock: PhaseClock, step: int) -> None:
            views = prior.views(preset.coarse_views, generator)
            light = _light_directions(views, prior, device)
            render = clock(
                "render",
                lambda: render_volume(
                    field,
                    [v.camera for v in views],
                    preset.coarse_size,
                    preset.coarse_size,
                    config,
                    occupancy,
                    "lambertian",
                    normals_fn=lambda p: field.density_normals(p, create_graph=True),
                    light_dirs=light,
                    generator=generator,
                ),
            )
            batch = clock("landmarks", lambda: teacher.conditions(views, "lambertian", light, 64))
            grad = guided(clock, render.rgb, batch, step)
            optimizer.zero_grad(set_to_none=True)
            clock("render_backward", lambda: render.rgb.backward(grad, retain_graph=True))
            clock(
                "regularisers",
                lambda: (
                    preset.sparsity_weight * sparsity_loss(render.opacity)
                    + preset.orientation.end * render.orientation_loss()
                ).backward(),
            )
            clock("optimiser", optimizer.step)

        def timed_stage(run) -> dict:
            run(PhaseClock(device), -1)  # warm-up: allocations, kernels, cuDNN choices
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            clock = PhaseClock(device)
            for step in range(steps):
                run(clock, step)
            per_step = {k: v / steps for k, v in clock.seconds.items()}
            total = sum(per_step.values())
            three_d = total - sum(per_step.get(p, 0.0) for p in GUIDANCE_PHASES)
            peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
            return {
                "phases_ms": {k: round(1000 * v, 2) for k, v in per_step.items()},
                "step_ms": round(1000 * total, 2),
                "three_d_share": round(three_d / total, 3),
                "peak_gpu_gb": None if peak is None else round(peak / 2**30, 2),
            }

        rows = {"coarse": timed_stage(coarse_step)}
        dmtet, _ = pipeline.surface_from(field, prior, preset)
        texture = TextureField.create_from(field)
        fine_optimizer = torch.optim.Adam(
            [*dmtet.parameters(), *texture.parameters()],
            lr=preset.fine_lr,
            betas=preset.adam_betas,
            eps=1e-15,
        )
        background = torch.tensor(_TARGET_BACKGROUND, device=device)

        def fine_step(clock: PhaseClock, step: int) -> None:
            views = prior.views(preset.fine_views, generator, preset.face_view_share)
            light = _light_directions(views, prior, device)

            def forward():
                vertices, triangles = dmtet.extract_mesh()
                adjacency = EdgeAdjacency.from_triangles(triangles)
                albedo = albedo_from_points(texture, vertices)
                cameras = [v.camera for v in views]
                rgb = render_mesh(
                    vertices,
                    triangles,
                    cameras,
                    preset.fine_size,
                    albedo,
                    background,
                    "lambertian",
                    light,
                    adjacency=adjacency,
                ).rgb
                return vertices, triangles, rgb

            vertices, triangles, rgb = clock("render", forward)
            batch = clock("landmarks", lambda: teacher.conditions(views, "lambertian", light, 64))
            grad = guided(clock, rgb, batch, preset.coarse_steps + step)
            fine_optimizer.zero_grad(set_to_none=True)
            clock("render_backward", lambda: rgb.backward(grad, retain_graph=True))

            def regularise():
                smooth = laplacian_smoothness(vertices, triangles)
                crease = normal_consistency(vertices, triangles)
                (preset.laplacian_weight * smooth + preset.normal_weight * crease).backward()

            clock("regularisers", regularise)
            clock("optimiser", fine_optimizer.step)

        rows["fine"] = timed_stage(fine_step)
    steps_seconds = (
        preset.coarse_steps * rows["coarse"]["step_ms"]
        + preset.fine_steps * rows["fine"]["step_ms"]
    ) / 1000
    return {
        "preset": preset_name,
        "device": _device_label(device),
        "architecture": architecture,
        "stages": rows,
        "projected_steps_min": round(steps_seconds / 60, 2),
    }


def whole(preset_name: str, device_name: str, architecture: str, folder: Path) -> dict:
    """One whole sculpt at ``preset_name`` through the export and the rig: seconds per stage
    (the sidecar's), peak GPU memory, the GLB written to ``folder``."""
    import torch

    from headsculpt.devices import resolve_device
    from headsculpt.guidance.models import SD15_CONTROLNET_SUBFOLDER
    from headsculpt.guidance.random_models import random_controlnet, random_stable_diffusion
    from headsculpt.pipelines.sculpt import SculptPipeline, SculptRequest
    from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS

    device = resolve_device(device_name)
    started = time.perf_counter()
    pipeline = SculptPipeline.from_defaults()
    with tempfile.TemporaryDirectory() as weights:
        weights = Path(weights)
        base = random_stable_diffusion(architecture, weights / "sd")
        random_controlnet(base, weights / "landmarks" / SD15_CONTROLNET_SUBFOLDER)
        models = {"base_model": str(base), "landmark_controlnet": str(weights / "landmarks")}
        setup = time.perf_counter() - started
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        request = SculptRequest(prompt=PROMPT, models=models, quality=preset_name,
                                device=str(device))  # fmt: skip
        started = time.perf_counter()
        result = pipeline.sculpt(request, SCULPT_PRESETS[preset_name], 0, folder / "scratch")
        seconds = time.perf_counter() - started
    (folder / f"{preset_name}.glb").write_bytes(result["glb"])
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"preset": preset_name, "device": _device_label(device), "setup_s": round(setup, 1),
            "sculpt_s": round(seconds, 1), "stages_s": result["sidecar"]["seconds"],
            "peak_gpu_gb": None if peak is None else round(peak, 2)}  # fmt: skip


def _device_label(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def markdown(results: list[dict]) -> str:
    lines = [
        "| preset | device | stage | step ms | 3D share | peak GPU GB | phases (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for stage, row in result["stages"].items():
            phases = ", ".join(f"{k} {v:g}" for k, v in row["phases_ms"].items())
            lines.append(
                f"| {result['preset']} | {result['device']} | {stage} | {row['step_ms']:g} "
                f"| {row['three_d_share']:.0%} | {row['peak_gpu_gb']} | {phases} |"
            )
        lines.append(
            f"| {result['preset']} | | steps projected | "
            f"{result['projected_steps_min']} min | | | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["preview", "standard"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per stage")
    parser.add_argument("--architecture", default="sd15", choices=("sd15", "tiny"))
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    parser.add_argument(
        "--whole", default=None, metavar="FOLDER", help="instead: one whole sculpt a preset"
    )
    args = parser.parse_args()
    if args.whole:
        folder = Path(args.whole)
        folder.mkdir(parents=True, exist_ok=True)
        rows = [whole(p, args.device, args.architecture, folder) for p in args.presets]
        print(json.dumps(rows, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        return
    results = []
    for preset in args.presets:
        results.append(measure(preset, args.device, args.steps, args.architecture))
        print(markdown(results[-1:]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
