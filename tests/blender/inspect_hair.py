"""Import a head GLB with hair and measure how its hair meshes behave in Blender.

Run with the bpy 4.5 interpreter: python inspect_hair.py HEAD.glb REPORT.json

For Hair and FacialHair: the material (its image's alpha wired to the shader's alpha,
the blend method), how far the evaluated vertices move when the head bone turns, when
the jaw bone opens, and when the jawOpen shape key is set (metres, Blender's Z up).
"""

import json
import math
import sys

import bpy
import numpy as np


def evaluated(obj) -> np.ndarray:
    depsgraph = bpy.context.evaluated_depsgraph_get()
    mesh = obj.evaluated_get(depsgraph).to_mesh()
    points = np.array([obj.matrix_world @ v.co for v in mesh.vertices])
    obj.evaluated_get(depsgraph).to_mesh_clear()
    return points


def alpha_wired(material) -> bool:
    """The base colour image's alpha reaches the shader's Alpha input (maybe via nodes)."""
    if material is None or not material.use_nodes:
        return False
    for link in material.node_tree.links:
        if link.to_socket.name == "Alpha" and link.from_node.type in ("TEX_IMAGE", "MATH"):
            return True
    return False


def main(glb_path: str, report_path: str) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=glb_path)
    armature = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    report = {}
    meshes = {o.name: o for o in bpy.context.scene.objects if o.type == "MESH"}
    rest = {name: evaluated(obj) for name, obj in meshes.items()}

    def moved(pose) -> dict:
        pose()
        bpy.context.view_layer.update()
        out = {name: np.linalg.norm(evaluated(obj) - rest[name], axis=1) for name, obj in
               meshes.items()}  # fmt: skip
        for bone in armature.pose.bones:
            bone.rotation_mode = "XYZ"
            bone.rotation_euler = (0.0, 0.0, 0.0)
        bpy.context.view_layer.update()
        return out

    def turn(bone_name: str, degrees: float):
        def pose():
            bone = armature.pose.bones[bone_name]
            bone.rotation_mode = "XYZ"
            bone.rotation_euler = (math.radians(degrees), 0.0, 0.0)

        return pose

    head_turn = moved(turn("head", 25.0))
    jaw_turn = moved(turn("jaw", 20.0))
    for name in ("Hair", "FacialHair", "Head"):
        obj = meshes.get(name)
        if obj is None:
            continue
        low = rest[name][:, 2] < np.quantile(rest[name][:, 2], 0.2)
        entry = {
            "materials": [s.material.name if s.material else None for s in obj.material_slots],
            "alpha_wired": all(alpha_wired(s.material) for s in obj.material_slots),
            "blend_method": [getattr(s.material, "blend_method", "") for s in obj.material_slots],
            "armature_modifier": any(m.type == "ARMATURE" for m in obj.modifiers),
            "head_turn_mean": float(head_turn[name].mean()),
            "jaw_turn_low_mean": float(jaw_turn[name][low].mean()),
        }
        keys = obj.data.shape_keys.key_blocks if obj.data.shape_keys else {}
        if "jawOpen" in keys:
            keys["jawOpen"].value = 1.0
            bpy.context.view_layer.update()
            entry["jaw_open_low_dz"] = float((evaluated(obj) - rest[name])[low, 2].mean())
            keys["jawOpen"].value = 0.0
        report[name] = entry
    with open(report_path, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[-2], sys.argv[-1])
