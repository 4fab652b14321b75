"""``headsculpt generate``: a head from text, with any generating job kind (--mode)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from headsculpt.cli.common import checked_outputs, option_name, run_job
from headsculpt.limits import MODEL_SLOTS, TEXTURE_SIZES
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
    sculpt = generate.add_argument_group("sculpt mode")
    sculpt.add_argument(
        "--guidance",
        default="sd",
        choices=("sd", "reference"),
        help="sd: Stable Diffusion with the landmark ControlNet (needs --base-model and "
        "--landmark-controlnet); reference: rebuild --reference by score distillation "
        "(no weights; the reconstruction proof)",
    )
    sculpt.add_argument("--reference", default=None, help="the target GLB for --guidance reference")
    for slot in MODEL_SLOTS:
        sculpt.add_argument(
            option_name(slot),
            dest=slot,
            default=os.environ.get(f"HEADSCULPT_{slot.upper()}", ""),
            help=f"a local folder, .safetensors file or hub id (or HEADSCULPT_{slot.upper()})",
        )
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
    if kind.model_slots:  # a mode that distils from weights
        values["models"] = {slot: getattr(args, slot) for slot in MODEL_SLOTS}
        values["guidance"] = args.guidance
        if args.guidance == "reference":
            if not args.reference:
                raise ValueError("--guidance reference needs --reference TARGET.glb")
            if not Path(args.reference).is_file():
                raise ValueError(f"--reference {args.reference!r}: no such file")
            values["reference"] = args.reference
    elif args.guidance != "sd" or args.reference:
        raise ValueError(f"--guidance and --reference are for the sculpt mode, not {args.mode}")
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
