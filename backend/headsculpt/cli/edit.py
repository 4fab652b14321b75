"""``headsculpt edit``: a new version of a head, changed by an instruction."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from headsculpt.cli.common import add_model_options, checked_outputs, model_values, run_job
from headsculpt.limits import EDIT_SCALE_DEFAULT, EDIT_SCALE_RANGE, TEXTURE_SIZES
from headsculpt.pipelines.folder_outputs import FileParent
from headsculpt.pipelines.registry import all_presets, find_kind


def add_parser(commands) -> None:
    edit = commands.add_parser(
        "edit", help="change a head made by HeadSculpt with an instruction, keeping who it is"
    )
    edit.add_argument("parent", help="the head to edit (a .glb with its .json sidecar beside it)")
    edit.add_argument("instruction", help='what to change, e.g. "make him older, add a beard"')
    edit.add_argument(
        "--out", default="edited.glb", help="GLB to write (its sidecar is written beside it)"
    )
    edit.add_argument(
        "--edit-scale",
        type=float,
        default=EDIT_SCALE_DEFAULT,
        help="how strongly to apply it: 0 keeps the parent, 1 as asked (a sculpted head's "
        "IESD blends the instruction and the identity evenly at 1, follows the instruction "
        "alone from 2)",
    )
    edit.add_argument(
        "--quality",
        "--preset",
        dest="quality",
        default=None,
        choices=all_presets(),
        help="the preset (parametric heads: draft|standard|high for the preview; sculpted "
        "heads: test|preview|standard|high)",
    )
    edit.add_argument(
        "--texture-size", type=int, default=None, choices=TEXTURE_SIZES,
        help="default: the parent's",
    )  # fmt: skip
    edit.add_argument("--preview", default=None, help="also write a preview PNG here")
    add_model_options(edit.add_argument_group("sculpted heads (IESD)"), "move toward")
    edit.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    parent = Path(args.parent)
    if not parent.is_file() or parent.suffix.lower() != ".glb":
        raise ValueError(f"parent {str(parent)!r}: give a .glb made by headsculpt")
    sidecar_path = parent.with_suffix(".json")
    if not sidecar_path.is_file():
        raise ValueError(
            f"parent {str(parent)!r}: no sidecar {sidecar_path.name} beside it (the JSON "
            "headsculpt writes with every head says how to remake it)"
        )
    try:
        mode = json.loads(sidecar_path.read_text()).get("mode")
    except (ValueError, AttributeError) as error:
        raise ValueError(f"parent {str(parent)!r}: unreadable sidecar ({error})") from None
    low, high = EDIT_SCALE_RANGE
    if not low <= args.edit_scale <= high:
        raise ValueError(f"--edit-scale must be in [{low}, {high}], got {args.edit_scale}")
    out = checked_outputs(args.out, args.preview)
    # The parent's sidecar checked before the models load: a damaged one is refused at once.
    from headsculpt.pipelines.edit import ParentHead

    try:
        ParentHead.read(FileParent(parent))
    except ValueError as error:  # "parent_id: PATH: why" → the positional's own words
        raise ValueError(f"parent {str(parent)!r}: {str(error).split(': ', 2)[-1]}") from None
    kind = find_kind("edit", mode)
    values = kind.check(
        {
            "kind": "edit",
            "mode": mode,
            "parent_id": str(parent),
            "instruction": args.instruction,
            "edit_scale": args.edit_scale,
            "quality": args.quality,
        }
    )
    values["texture_size"] = args.texture_size
    values.update(model_values(args, kind))
    loading = f"loading the {kind.name} pipeline"
    outputs = run_job(kind, values, out, args.preview, loading, parent=FileParent(parent))
    sidecar = json.loads(out.with_suffix(".json").read_text())
    for item in sidecar.get("edit", {}).get("not_applied", []):
        print(f"not applied: {item}", file=sys.stderr)
    for path in outputs.written:
        print(path)
    return 0
