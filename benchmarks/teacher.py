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

``--sculpt`` then sculpts the description with that teacher (``--guidance sd`` at the
``test`` preset, its ``sd`` settings; ``--teacher DIR`` reuses one trained before) once per
``--runs`` entry — ``default`` (the preset's CFG 100, the ControlNet at 1),
``no-controlnet`` (its scale 0), ``cfg7.5`` — and prints the reconstruction measures
of eval/reconstruction.py against the target (Chamfer and accessory coverage within
0.02 of the diagonal, novel-view PSNR) and the judge's (the face found from the front,
Janus rate). Targets: Chamfer ≤ 0.02, each accessory ≥ 60 %, a face in front and none
behind.

Run: .venv/bin/python benchmarks/teacher.py [--target stretched|accessorised]
     [--views 384] [--training FIELD=VALUE ...] [--out DIR]
     [--sculpt [--teacher DIR] [--runs default,no-controlnet,cfg7.5]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path

import torch

from headsculpt.eval.reconstruction import measure_reconstruction
from headsculpt.guidance.teacher_training import TeacherTraining
from headsculpt.pipelines.sculpt import SculptRequest
from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS
from headsculpt.pipelines.trained_teacher import REPORT_FILE, TeacherRequest, TeacherTrainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sculpt_proofs import sculpted_skin  # noqa: E402
from sculpt_targets import accessorised, non_human  # noqa: E402

DESCRIPTIONS = {
    "stretched": "a middle-aged man with a square jaw",
    "accessorised": "a young woman with a round face and short black hair",
}


# The sculpt's test preset with one guidance setting changed: the runs --sculpt makes.
RUNS = {
    "default": {},
    "no-controlnet": {"controlnet_scale": 0.0},
    "cfg7.5": {"guidance_scale": 7.5},
}


def make_target(trainer: TeacherTrainer, name: str):
    parametric = trainer.sculpt.parametric
    head = parametric(DESCRIPTIONS[name], seed=8).mesh
    landmarks = parametric.landmarks.positions(head.vertices)
    if name == "stretched":
        return non_human(head, landmarks=landmarks)
    return accessorised(head, ("horn", "bun", "ring"), landmarks=landmarks)


def sculpt_rows(trainer, target, description: str, teacher: Path, seed: int, runs, scratch):
    """Each run's measures: (name, seconds, reconstruction dict, front found, Janus rate)."""
    from headsculpt.eval.judge import judge_head
    from headsculpt.eval.mediapipe_runner import MediaPipeFaces

    models = {"base_model": str(teacher), "landmark_controlnet": str(teacher),
              "back_view_embedding": str(teacher)}  # fmt: skip
    rows = []
    for name in runs:
        preset = replace(SCULPT_PRESETS["test"], **RUNS[name])
        request = SculptRequest(description, seed=seed, quality="test", models=models,
                                guidance="sd", device="cpu", preview=False)  # fmt: skip
        folder = Path(scratch) / name
        folder.mkdir(parents=True)
        started = time.monotonic()
        result = trainer.sculpt.sculpt(request, preset, seed, folder)
        seconds = time.monotonic() - started
        (folder / "head.glb").write_bytes(result["glb"])
        skin = sculpted_skin(folder / "head.glb")
        report = measure_reconstruction(skin.mesh, target.mesh, target.regions)
        judged, _ = judge_head(skin, MediaPipeFaces())
        front = next(v for v in judged.views if v.azimuth == 0.0)
        rows.append((name, seconds, report.to_dict(), front.face_detected, judged.janus_rate))
    return rows


def training_from(settings: list[str], parser: argparse.ArgumentParser) -> TeacherTraining:
    """TeacherTraining's defaults with ``FIELD=VALUE`` settings (each read as its field's
    default's type; ``none`` for None)."""
    defaults = TeacherTraining()
    changes = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in {f.name for f in fields(TeacherTraining)} or not value:
            parser.error(f"--training: {setting!r} is not FIELD=VALUE of TeacherTraining")
        default = getattr(defaults, name)
        kind = float if default is None else type(default)
        changes[name] = None if value.lower() == "none" else kind(value)
    try:
        return replace(defaults, **changes)
    except ValueError as error:
        parser.error(f"--training: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(DESCRIPTIONS), default="stretched")
    parser.add_argument("--views", type=int, default=TeacherRequest.views)
    parser.add_argument("--check-views", type=int, default=TeacherRequest.check_views)
    parser.add_argument("--training", action="append", default=[], metavar="FIELD=VALUE",
                        help="a TeacherTraining field (repeat): denoiser_steps=2600")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="keep the trained teacher here")
    parser.add_argument("--sculpt", action="store_true", help="then sculpt with it")
    parser.add_argument("--teacher", type=Path, help="a teacher trained before: no training")
    parser.add_argument("--runs", default=",".join(RUNS), help="which sculpts, comma-separated")
    args = parser.parse_args()
    runs = [r for r in args.runs.split(",") if r]
    unknown = sorted(set(runs) - set(RUNS))
    if unknown:
        parser.error(f"--runs: unknown {unknown}; known: {', '.join(RUNS)}")
    training = training_from(args.training, parser)
    trainer = TeacherTrainer.from_defaults()
    description = DESCRIPTIONS[args.target]
    target = make_target(trainer, args.target)
    with tempfile.TemporaryDirectory() as scratch:
        glb = target.write(Path(scratch) / f"{args.target}.glb")
        request = TeacherRequest(glb, description, seed=args.seed, views=args.views,
                                 check_views=args.check_views, training=training)  # fmt: skip
        out = args.teacher or args.out or Path(scratch) / "teacher"
        if args.teacher is None:
            trainer(request, out)
        report = json.loads((out / REPORT_FILE).read_text())
        rows = []
        if args.sculpt:
            rows = sculpt_rows(trainer, target, description, out, args.seed, runs, scratch)
    print_teacher(report)
    if rows:
        print_sculpts(rows)


def print_teacher(report: dict) -> None:
    check = report["check"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")  # fmt: skip
    print(f"target: {report['target']}; {report['views']} views")
    print(f"architecture: {report['architecture']}")
    print(f"training: {report['training']}")
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


def print_sculpts(rows) -> None:
    print()
    print("| run | seconds | Chamfer | accessories within 0.02 | novel-view PSNR | front face | "
          "Janus |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, seconds, measures, front, janus in rows:
        coverage = ", ".join(f"{k} {v:.0%}" for k, v in measures["coverage"].items()) or "–"
        print(f"| {name} | {seconds:.0f} | {measures['chamfer']:.4f} | {coverage} | "
              f"{measures['psnr']:.1f} | {'yes' if front else 'no'} | "
              f"{'–' if janus is None else f'{janus:.2f}'} |")  # fmt: skip


if __name__ == "__main__":
    main()
