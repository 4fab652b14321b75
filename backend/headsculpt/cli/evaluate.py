"""``headsculpt evaluate``: judge a head GLB with MediaPipe (face detection, landmarks, Janus)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from headsculpt.cli.common import progress_bar
from headsculpt.files import png_bytes, write_atomically


def add_parser(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="judge a head GLB with MediaPipe (face detection, landmarks, Janus)"
    )
    evaluate.add_argument("glb", help="the head to judge (.glb)")
    evaluate.add_argument(
        "--views", type=int, default=16, help="views around the head (default 16, 4–72)"
    )
    evaluate.add_argument(
        "--elevation", type=float, default=10.0, help="camera elevation in degrees (default 10)"
    )
    evaluate.add_argument("--size", type=int, default=512, help="render size (default 512)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument(
        "--sheet", default=None, help="contact sheet PNG (default: <glb stem>_judge.png beside it)"
    )
    evaluate.add_argument(
        "--mediapipe-python",
        default=None,
        help="a Python with mediapipe==0.10.21 (default: $HEADSCULPT_MEDIAPIPE_PYTHON, "
        "this Python, or the checkout's .venv-mediapipe)",
    )
    evaluate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from headsculpt.eval.judge import JudgeConfig, judge_head
    from headsculpt.eval.mediapipe_runner import MediaPipeFaces, MediaPipeUnavailableError
    from headsculpt.export.glb_reader import read_head_glb

    config = JudgeConfig(views=args.views, elevation=args.elevation, size=args.size)
    glb = Path(args.glb)
    sheet_path = Path(args.sheet) if args.sheet else glb.with_name(glb.stem + "_judge.png")
    if sheet_path.suffix.lower() != ".png":
        raise ValueError(f"--sheet must name a .png file, got {str(sheet_path)!r}")
    head = read_head_glb(glb)
    try:
        faces = MediaPipeFaces(args.mediapipe_python)
        report, sheet = judge_head(head, faces, config, progress_bar())
    except MediaPipeUnavailableError as error:
        print(f"headsculpt: error: {error}", file=sys.stderr)
        return 3
    write_atomically(sheet_path, png_bytes(sheet))
    if args.json:
        print(json.dumps({"glb": str(glb), "contact_sheet": str(sheet_path), **report.to_dict()}))
    else:
        print(report.summary())
        print(f"contact sheet: {sheet_path}")
    return 0
