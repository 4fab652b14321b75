"""``headsculpt generate``: a head from text, with any generating job kind (--mode)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from headsculpt.cli.common import check_writable, progress_bar
from headsculpt.limits import TEXTURE_SIZES
from headsculpt.pipelines.contract import make_request
from headsculpt.pipelines.folder_outputs import FolderOutputs
from headsculpt.pipelines.registry import all_presets, find_kind, job_kinds


def add_parser(commands) -> None:
    modes = [kind.mode for kind in job_kinds() if kind.kind == "generate" and kind.mode]
    generate = commands.add_parser("generate", help="make a rigged, textured head from text")
    generate.add_argument("text", help='a description, e.g. "an old fisherman with a big nose"')
    generate.add_argument(
        "--out",
        default="head.glb",
        help="GLB to write (default head.glb); "
        "a JSON sidecar with the parameters is written beside it",
    )
    generate.add_argument(
        "--mode",
        default=modes[0],
        choices=modes,
        help=" ".join(f"{k.mode}: {k.summary}." for k in job_kinds() if k.mode in modes),
    )
    generate.add_argument(
        "--quality",
        "--preset",
        dest="quality",
        default=None,
        choices=all_presets(),
        help="the mode's quality preset (default: its standard one)",
    )
    generate.add_argument(
        "--seed", type=int, default=None, help="variation seed (default: derived from the text)"
    )
    generate.add_argument(
        "--texture-size", type=int, default=TEXTURE_SIZES[0], choices=TEXTURE_SIZES
    )
    generate.add_argument("--preview", default=None, help="also write a preview PNG here")
    generate.add_argument(
        "--variants",
        type=int,
        default=1,
        help="make N different heads that all match the text "
        "(head_1.glb … head_N.glb; seeds seed … seed+N-1)",
    )
    generate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".glb":
        raise ValueError(f"--out must name a .glb file, got {args.out!r}")
    check_writable(out, "--out")  # before any work, not after it
    if args.preview is not None:
        check_writable(Path(args.preview), "--preview")
    kind = find_kind("generate", args.mode)
    values = kind.check(
        {
            "kind": "generate",
            "mode": args.mode,
            "prompt": args.text,
            "seed": args.seed,
            "quality": args.quality,
            "variants": args.variants,
            "texture_size": args.texture_size,
        }
    )
    values["preview"] = args.preview is not None
    pipeline_class = kind.load_pipeline_class()
    print(
        f"loading the {kind.name} pipeline (the first run on a machine builds its models: "
        "about a minute)",
        file=sys.stderr,
    )
    pipeline = pipeline_class.from_defaults()
    with tempfile.TemporaryDirectory(prefix="headsculpt-") as scratch:
        outputs = FolderOutputs(out, Path(scratch), preview=args.preview)
        pipeline.run(make_request(pipeline_class.Request, values), outputs, progress_bar())
    code = outputs.code or {}
    if code.get("ignored"):
        print(f"words not used: {', '.join(code['ignored'])}", file=sys.stderr)
    if code.get("abstract"):
        print(f"not shaped (abstract): {'; '.join(code['abstract'])}", file=sys.stderr)
    for path in outputs.written:
        print(path)
    return 0
