"""Import a GLB with Blender's own glTF importer and describe what landed.

Run with the bpy 4.5 interpreter: python inspect_glb.py HEAD.glb REPORT.json
"""

import json
import sys

import bpy


def main(glb_path: str, report_path: str) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.import_scene.gltf(filepath=glb_path)
    objects = {}
    for obj in bpy.context.scene.objects:
        entry = {"type": obj.type, "parent": obj.parent.name if obj.parent else None}
        if obj.type == "MESH":
            mesh = obj.data
            keys = mesh.shape_keys.key_blocks if mesh.shape_keys else []
            entry["shape_keys"] = [k.name for k in keys]
            entry["vertices"] = len(mesh.vertices)
            entry["uv_layers"] = len(mesh.uv_layers)
            entry["vertex_groups"] = [g.name for g in obj.vertex_groups]
            entry["armature_modifier"] = any(m.type == "ARMATURE" for m in obj.modifiers)
            materials = []
            for slot in obj.material_slots:
                material = slot.material
                images = []
                if material and material.use_nodes:
                    images = [
                        n.image.name
                        for n in material.node_tree.nodes
                        if n.type == "TEX_IMAGE" and n.image is not None
                    ]
                materials.append({"name": material.name if material else None, "images": images})
            entry["materials"] = materials
        if obj.type == "ARMATURE":
            entry["bones"] = [b.name for b in obj.data.bones]
        objects[obj.name] = entry
    with open(report_path, "w") as f:
        json.dump({"result": sorted(result), "objects": objects}, f)


if __name__ == "__main__":
    main(sys.argv[-2], sys.argv[-1])
