"""Per-stage step time, peak memory and projected wall time of the sculpt pipeline.

Each row runs in a fresh process (peak memory is that run's): a few steps of the coarse
and the fine stage at one preset's sizes, with either the reference teacher (no
weights: what the test preset's proofs run) or Stable Diffusion 1.5's full architecture
with random weights and a random landmark ControlNet (what a real sculpt costs per
step; nothing downloaded). It reports the mean step time, the share of a step spent
outside the guidance call (rendering, regularisers, the backward pass into the field
and the optimiser: the part this project owns), the process's peak memory, and the
preset's projected wall time (steps × step time, export excluded).

Run: .venv/bin/python benchmarks/sculpt.py [--rows test:reference test:sd15 standard:sd15]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ROWS = ["test:reference", "test:sd15", "preview:sd15", "standard:sd15"]


def one(preset_name: str, guidance: str, steps: int) -> dict:
    import torch

    from headsculpt.guidance.models import SD15_CONTROLNET_SUBFOLDER
    from headsculpt.guidance.random_models import random_controlnet, random_stable_diffusion
    from headsculpt.pipelines.sculpt import SculptPipeline, SculptRequest
    from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS

    full = SCULPT_PRESETS[preset_name]
    preset = replace(full, coarse_steps=steps, fine_steps=steps, checkpoint_seconds=1e9,
                     preview_every=10**6).for_guidance(guidance)  # fmt: skip
    pipeline = SculptPipeline.from_defaults()
    prompt = "a weathered fisherman in his seventies with a bulbous nose"
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if guidance == "reference":
            target = folder / "target.glb"
            target.write_bytes(pipeline.parametric("a young woman with a round face", 3).glb)
            request = SculptRequest(prompt=prompt, guidance="reference", reference=str(target))
        else:
            base = random_stable_diffusion("sd15", folder / "sd")
            random_controlnet(base, folder / "landmarks" / SD15_CONTROLNET_SUBFOLDER)
            models = {"base_model": str(base), "landmark_controlnet": str(folder / "landmarks")}
            request = SculptRequest(prompt=prompt, models=models)
        prior = pipeline.prior(prompt, 0)
        teacher = pipeline.teacher(request, preset, prior, device="cpu")
        inside = {"seconds": 0.0}
        guide = teacher.guidance

        def timed(*args, **kwargs):
            started = time.perf_counter()
            result = guide(*args, **kwargs)
            inside["seconds"] += time.perf_counter() - started
            return result

        teacher.guidance = timed
        rows = {}
        generator = torch.Generator().manual_seed(0)
        # One untimed step first (lazy allocations, the first occupancy sweep).
        warm = replace(preset, coarse_steps=1, fine_steps=1)
        (folder / "warm").mkdir()
        pipeline.coarse(prior, teacher, warm, generator, folder / "warm", lambda *a: None)
        for stage in ("coarse", "fine"):
            scratch = folder / stage
            scratch.mkdir()
            inside["seconds"] = 0.0
            started = time.perf_counter()
            if stage == "coarse":
                field, _ = pipeline.coarse(prior, teacher, preset, generator, scratch,
                                           lambda *a: None)  # fmt: skip
            else:
                pipeline.fine(field, prior, teacher, preset, generator, scratch, lambda *a: None)
            seconds = (time.perf_counter() - started) / steps
            rows[stage] = {
                "step_s": round(seconds, 3),
                "outside_guidance": round(1.0 - inside["seconds"] / steps / seconds, 3),
                "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
    projected = (
        full.coarse_steps * rows["coarse"]["step_s"] + full.fine_steps * rows["fine"]["step_s"]
    )
    return {"preset": preset_name, "guidance": guidance, "stages": rows,
            "projected_min": round(projected / 60, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, help="PRESET:GUIDANCE")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per stage")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        preset, guidance = args.one.split(":")
        print(json.dumps(one(preset, guidance, args.steps)))
        return
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"device: {device}; {args.steps} timed steps per stage after one warm-up step")
    print("| preset | guidance | stage | step (s) | outside guidance | peak MB | projected |")
    print("|---|---|---|---|---|---|---|")
    for row in args.rows:
        completed = subprocess.run(
            [sys.executable, __file__, "--one", row, "--steps", str(args.steps)],
            capture_output=True, text=True,
        )  # fmt: skip
        if completed.returncode != 0:
            print(f"| {row} | failed: {completed.stderr.strip().splitlines()[-1]} |", flush=True)
            continue
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        for stage, numbers in result["stages"].items():
            projected = f"{result['projected_min']} min" if stage == "coarse" else ""
            print(f"| {result['preset']} | {result['guidance']} | {stage} | "
                  f"{numbers['step_s']:.3f} | {numbers['outside_guidance']:.0%} | "
                  f"{numbers['peak_mb']} | {projected} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
