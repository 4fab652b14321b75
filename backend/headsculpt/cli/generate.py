"""``headsculpt generate``: a head from text, with any generating job kind (--mode)."""

from __future__ import annotations

import argparse
import sys

from headsculpt.cli.common import add_model_options, checked_outputs, model_values, run_job
from headsculpt.limits import TEXTURE_SIZES
from headsculpt.pipelines.registry import all_presets, find_kind, job_kinds


def add_parser(commands) -> None:
    generating = [kind for kind in job_kinds() if kind.kind == "generate" and kind.mode]
    modes = [kind.mode for kind in generating]
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
        help=" ".join(f"{k.mode}: {k.summary}." for k in generating),
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
    add_model_options(generate.add_argument_group("sculpt mode"), "rebuild")
    generate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = checked_outputs(args.out, args.preview)  # before any work, not after it
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
    values.update(model_values(args, kind))
    loading = (
        f"loading the {kind.name} pipeline (the first run on a machine builds its models: "
        "about a minute)"
    )
    outputs = run_job(kind, values, out, args.preview, loading)
    code = outputs.code or {}
    if code.get("ignored"):
        print(f"words not used: {', '.join(code['ignored'])}", file=sys.stderr)
    if code.get("abstract"):
        print(f"not shaped (abstract): {'; '.join(code['abstract'])}", file=sys.stderr)
    for path in outputs.written:
        print(path)
    return 0
