"""Train a teacher of our own on a known target and print what it learned; a table.

The target is a project head the head model cannot express (``stretched``: other
proportions; ``accessorised``: a horn, a bun and a ring), written as a GLB with its
landmarks, as the sculpt proofs use. ``headsculpt train-teacher``'s own code trains it
(pipelines/trained_teacher.py) at the architecture and lengths given, then samples it with
DDIM at held-out cameras. Printed: the time to train, the final losses, per held-out view
the PSNR (dB) against the nearest of the target's renders there with the landmark
ControlNet and without it, and how far the sampled head follows a drawing moved sideways.
Targets (issue 30): training ≤ 10 min on the 2-core CPU, PSNR ≥ 20 dB on front and side
views, the head following the drawing.

Run: .venv/bin/python benchmarks/teacher.py [--target stretched|accessorised]
     [--views 384] [--vae-steps N] [--denoiser-steps N] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from headsculpt.guidance.teacher_training import TeacherArchitecture, TeacherTraining
from headsculpt.pipelines.trained_teacher import TeacherRequest, TeacherTrainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sculpt_targets import accessorised, non_human  # noqa: E402

DESCRIPTIONS = {
    "stretched": "a middle-aged man with a square jaw",
    "accessorised": "a young woman with a round face and short black hair",
}


def target_glb(trainer: TeacherTrainer, name: str, folder: Path) -> Path:
    parametric = trainer.sculpt.parametric
    head = parametric(DESCRIPTIONS[name], seed=8).mesh
    landmarks = parametric.landmarks.positions(head.vertices)
    if name == "stretched":
        target = non_human(head, landmarks=landmarks)
    else:
        target = accessorised(head, ("horn", "bun", "ring"), landmarks=landmarks)
    return target.write(folder / f"{name}.glb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(DESCRIPTIONS), default="stretched")
    parser.add_argument("--views", type=int, default=TeacherRequest.views)
    parser.add_argument("--check-views", type=int, default=TeacherRequest.check_views)
    parser.add_argument("--vae-steps", type=int, default=TeacherTraining.vae_steps)
    parser.add_argument("--denoiser-steps", type=int, default=TeacherTraining.denoiser_steps)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="keep the trained teacher here")
    args = parser.parse_args()
    training = replace(TeacherTraining(), vae_steps=args.vae_steps,
                       denoiser_steps=args.denoiser_steps)  # fmt: skip
    trainer = TeacherTrainer.from_defaults()
    with tempfile.TemporaryDirectory() as scratch:
        glb = target_glb(trainer, args.target, Path(scratch))
        request = TeacherRequest(glb, DESCRIPTIONS[args.target], seed=args.seed, views=args.views,
                                 check_views=args.check_views, training=training)  # fmt: skip
        out = args.out or Path(scratch) / "teacher"
        report = trainer(request, out)
    check = report["check"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")  # fmt: skip
    print(f"target: {args.target}; {args.views} views; architecture {TeacherArchitecture()}")
    print(f"training: {training}")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| train seconds (examples + training + saving) | {report['train_seconds']} |")
    for part, loss in report["final_losses"].items():
        print(f"| final {part} loss (mean of the last 50 steps) | {loss:.4f} |")
    means = report["check_mean_psnr"]
    print(f"| PSNR front/side, mean (dB) | {means['front_side']} |")
    print(f"| PSNR back, mean (dB) | {means['back']} |")
    print(f"| drawing moved (px) / sampled head moved (px) | {check['face_shift_asked']} / "
          f"{check['face_shift_seen']} |")  # fmt: skip
    print()
    print("| view | PSNR with ControlNet | without |")
    print("|---|---|---|")
    rows = zip(check["labels"], check["psnr"], check["psnr_without_controlnet"], strict=True)
    for label, with_control, without in rows:
        print(f"| {label} | {with_control} | {without} |")


if __name__ == "__main__":
    main()
