"""``headsculpt train-teacher``: a small Stable Diffusion of our own, trained on one head."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from headsculpt.cli.common import progress_bar


def add_parser(commands) -> None:
    train = commands.add_parser(
        "train-teacher",
        help="train a small diffusion model and landmark ControlNet on renders of a target "
        "head (SD 1.5's layout: --base-model DIR --landmark-controlnet DIR loads it)",
    )
    train.add_argument("target", help="the head to learn: a .glb in the prior's frame (metres)")
    train.add_argument(
        "--description", required=True, help="the text the sculpt will be given for it"
    )
    train.add_argument("--out", required=True, help="folder to write the models into")
    train.add_argument("--seed", type=int, default=0, help="the sculpt's seed (its cameras)")
    train.add_argument("--views", type=int, default=384, help="rendered examples")
    train.add_argument("--vae-steps", type=int, default=None)
    train.add_argument("--denoiser-steps", type=int, default=None)
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from headsculpt.guidance.teacher_training import TeacherTraining
    from headsculpt.pipelines.trained_teacher import TeacherRequest, TeacherTrainer

    target = Path(args.target)
    if not target.is_file():
        raise ValueError(f"target: no file at {args.target!r}")
    if args.views < 16:
        raise ValueError(f"--views must be at least 16, got {args.views}")
    training = TeacherTraining()
    steps = {"vae_steps": args.vae_steps, "denoiser_steps": args.denoiser_steps}
    training = replace(training, **{k: v for k, v in steps.items() if v is not None})
    request = TeacherRequest(target, args.description, seed=args.seed, views=args.views,
                             training=training)  # fmt: skip
    print("loading the sculpt's prior and renderer", file=sys.stderr)
    report = TeacherTrainer.from_defaults()(request, Path(args.out), progress_bar())
    psnr = report["check_mean_psnr"]
    print(f"wrote {args.out} in {report['train_seconds']} s: DDIM samples at held-out cameras "
          f"{psnr['front_side']} dB (front and side), {psnr['back']} dB (back)")  # fmt: skip
    return 0
