"""Import a head with the add-on's importer, set only the Head's jawOpen key, and measure
how far every mesh moves.

Run with the bpy 4.5 interpreter: python follow_face_units.py HEAD.glb REPORT.json
The report maps each mesh to its largest vertex displacement (metres) and to the names
of its shape keys that are driven.
"""

import json
import sys
from pathlib import Path

import bpy

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from blender_headsculpt.importer import import_head  # noqa: E402


def _positions(obj) -> list:
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    return [obj.matrix_world @ v.co for v in evaluated.data.vertices]


def main(glb_path: str, report_path: str) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    objects = import_head(bpy.context, glb_path, {"mode": "test"})
    meshes = [o for o in objects if o.type == "MESH"]
    rest = {o.name: _positions(o) for o in meshes}
    (head,) = [o for o in meshes if o.name == "Head"]
    head.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    bpy.context.view_layer.update()
    report = {}
    for obj in meshes:
        moved = [(a - b).length for a, b in zip(_positions(obj), rest[obj.name], strict=True)]
        keys = obj.data.shape_keys
        driven = []
        if keys is not None and keys.animation_data is not None:
            driven = [d.data_path for d in keys.animation_data.drivers]
        report[obj.name] = {"moved": max(moved, default=0.0), "driven": driven}
    with open(report_path, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[-2], sys.argv[-1])
