"""Import a rigged GLB in Blender and measure what jawOpen does to the lips.

Run with the bpy 4.5 interpreter:
python inspect_rig.py HEAD.glb REPORT.json LOWER_X LOWER_Y LOWER_Z UPPER_X UPPER_Y UPPER_Z
(the lower and upper lip points in glTF coordinates). The report lists the meshes'
shape keys, the armature's bones, and for each lip point the jawOpen displacement
of the nearest vertex of the mesh that carries the keys, in glTF coordinates.
"""

import json
import sys

import bpy
from mathutils import Vector


def _to_blender(x: float, y: float, z: float) -> Vector:
    return Vector((x, -z, y))  # glTF Y-up → Blender Z-up, as the importer converts


def _to_gltf(v: Vector) -> list[float]:
    return [v.x, v.z, -v.y]


def main(glb_path: str, report_path: str, lips: list[float]) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.import_scene.gltf(filepath=glb_path)
    report = {"result": sorted(result), "meshes": {}, "armatures": {}}
    for obj in bpy.context.scene.objects:
        if obj.type == "ARMATURE":
            report["armatures"][obj.name] = [b.name for b in obj.data.bones]
        if obj.type != "MESH":
            continue
        keys = obj.data.shape_keys.key_blocks if obj.data.shape_keys else []
        entry = {
            "shape_keys": [k.name for k in keys],
            "armature_modifier": any(m.type == "ARMATURE" for m in obj.modifiers),
            "vertex_groups": [g.name for g in obj.vertex_groups],
            "vertices": len(obj.data.vertices),
        }
        if "jawOpen" in [k.name for k in keys]:
            basis, jaw = keys["Basis"], keys["jawOpen"]
            world = obj.matrix_world
            for name, start in (("lower_lip", 0), ("upper_lip", 3)):
                target = _to_blender(*lips[start : start + 3])
                nearest = min(
                    range(len(basis.data)),
                    key=lambda i: ((world @ basis.data[i].co) - target).length,
                )
                moved = (world @ jaw.data[nearest].co) - (world @ basis.data[nearest].co)
                entry[name] = {
                    "distance": ((world @ basis.data[nearest].co) - target).length,
                    "jaw_open": _to_gltf(moved),
                }
        report["meshes"][obj.name] = entry
    with open(report_path, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[-8], sys.argv[-7], [float(v) for v in sys.argv[-6:]])
