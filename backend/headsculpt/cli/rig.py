"""``headsculpt rig``: the prior's armature and 52 ARKit shape keys on any head mesh."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from headsculpt.cli.common import checked_outputs, run_job
from headsculpt.limits import MESH_SUFFIXES
from headsculpt.pipelines.folder_outputs import InputFile
from headsculpt.pipelines.registry import find_kind

AXES = ("+x", "-x", "+y", "-y", "+z", "-z")


def add_parser(commands) -> None:
    rig = commands.add_parser(
        "rig", help="rig a head mesh: jaw/eye armature and the 52 ARKit shape keys"
    )
    rig.add_argument("mesh", help=f"the head to rig ({', '.join(MESH_SUFFIXES)})")
    rig.add_argument("--out", default="rigged.glb", help="GLB to write (a report beside it)")
    rig.add_argument("--up", choices=AXES, default=None,
                     help="the mesh's up axis, if the automatic search gets it wrong")  # fmt: skip
    rig.add_argument("--front", choices=AXES, default=None,
                     help="the axis the face looks along, likewise")  # fmt: skip
    rig.add_argument("--preview", default=None, help="also write a preview PNG here")
    rig.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    mesh = Path(args.mesh)
    if not mesh.is_file():
        raise ValueError(f"mesh {str(mesh)!r}: no such file")
    if not mesh.name.lower().endswith(MESH_SUFFIXES):
        raise ValueError(f"mesh {str(mesh)!r}: give a {', '.join(MESH_SUFFIXES)} file")
    out = checked_outputs(args.out, args.preview)
    kind = find_kind("rig", None)
    values = kind.check({"parent_id": str(mesh), "up": args.up, "front": args.front})
    # The file is read and checked against the mesh budgets before the models load (~10 s):
    # a file that cannot be rigged is refused at once, naming the budget or the damage.
    from headsculpt.export.mesh_reader import read_mesh, weld_input  # no torch: a second

    print(f"reading {mesh}", file=sys.stderr)
    read = read_mesh(mesh, str(mesh))
    weld_input(read)
    loading = "loading the head model and the face finder"
    outputs = run_job(kind, values, out, args.preview, loading, parent=InputFile(mesh, read))
    report = json.loads(out.with_suffix(".json").read_text())["report"]
    for line in report.get("check", []):
        print(f"check: {line}", file=sys.stderr)
    for path in outputs.written:
        print(path)
    return 0
