"""The MediaPipe judge on parametric heads from several descriptions; prints a table.

The first row is the README quick start's head (its default seed); the others
are descriptions the parser was not tuned on, one head each. Needs the MediaPipe
environment (scripts/bootstrap.sh --judge).
Run: .venv/bin/python benchmarks/judge.py [--views 16] [--elevation 10] [--sheet PNG]
[--texts FILE] (one description per line instead of the list below)
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from headsculpt.eval.judge import JudgeConfig, judge_head
from headsculpt.eval.mediapipe_runner import MediaPipeFaces
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.pipelines.parametric import ParametricPipeline

DESCRIPTIONS = (
    "a weathered fisherman in his seventies with a bulbous nose",
    "a young woman with freckles and a small upturned nose",
    "a gaunt old woman with hollow cheeks and a long hooked nose",
    "a heavy-set middle-aged african man with a broad nose and thick lips",
    "a smiling east asian teenage girl with round cheeks",
    "an angry bald man with a square jaw and deep-set eyes",
    "a thin elderly south asian man with a long face and bushy eyebrows",
    "a chubby baby-faced young man with big ears",
)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=16)
    parser.add_argument("--elevation", type=float, default=10.0)
    parser.add_argument("--sheet", type=Path, default=None, help="save the first head's sheet")
    parser.add_argument("--texts", type=Path, help="one description per line")
    args = parser.parse_args()
    texts = DESCRIPTIONS
    if args.texts:
        texts = [t.strip() for t in args.texts.read_text("utf-8").splitlines() if t.strip()]
    config = JudgeConfig(views=args.views, elevation=args.elevation)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    ring = f"{config.views} views at {config.elevation:g}° elevation, {config.size}² renders"
    print(f"machine: {machine}; {ring}\n")
    pipeline = ParametricPipeline.from_defaults()
    faces = MediaPipeFaces()
    print("| description | front detection | side detection | front NME | Janus | s |")
    print("|---|---|---|---|---|---|")
    for index, text in enumerate(texts):
        result = pipeline(text)
        with tempfile.TemporaryDirectory() as folder:
            glb = Path(folder) / "head.glb"
            glb.write_bytes(result.glb)
            started = time.perf_counter()
            report, sheet = judge_head(read_head_glb(glb), faces, config)
            seconds = time.perf_counter() - started
        nme = "n/a" if report.front_nme is None else f"{report.front_nme:.4f}"
        print(f"| {text} | {_percent(report.front_detection_rate)} | "
              f"{_percent(report.side_detection_rate)} | {nme} | "
              f"{_percent(report.janus_rate)} | {seconds:.1f} |")  # fmt: skip
        if index == 0 and args.sheet:
            sheet.resize((sheet.width // 2, sheet.height // 2)).save(args.sheet, optimize=True)


if __name__ == "__main__":
    main()
