"""Render parametric heads with hair, facial hair, brows and lashes in Blender (a visual check).

Run with Blender's Python (bpy 4.5):

    .venv-blender/bin/python scripts/render_hair.py OUTDIR [--only NAME ...] [--size 384]

Blender's interpreter has no torch, so the script calls itself under the backend's
interpreter (``.venv``) to build the heads, their painted textures and the hair
into ``OUTDIR/hair_cases.npz``; then it builds bpy meshes from those arrays
(hair: the strand texture's alpha drives the material's alpha, clipped as glTF
MASK is) and renders front, three-quarter and back views with Cycles on the CPU.
Writes one PNG per case and view, and ``contact.png`` with all of them.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BACKEND_PYTHON = ROOT / ".venv" / "bin" / "python"

# name → (code attributes, hair style, hair length, curl, hair colour sRGB,
#          facial hair style, beard colour sRGB or None for the hair's)
CASES: dict[str, tuple] = {
    "bald_stubble": ({"gender": 1.0, "age": 40.0}, "bald", 0.5, 0.0, (0.12, 0.08, 0.06),
                     "stubble", None),
    "buzz_goatee": ({"gender": 1.0, "age": 28.0, "ancestry": {"african": 1.0}}, "buzz", 0.5,
                    0.0, (0.05, 0.04, 0.035), "goatee", None),
    "short_fullbeard": ({"gender": 1.0, "age": 35.0}, "short", 0.5, 0.0, (0.25, 0.15, 0.08),
                        "full_beard", None),
    "side_part": ({"gender": 0.6, "age": 30.0, "ancestry": {"asian": 1.0}}, "side_part", 0.5,
                  0.0, (0.04, 0.035, 0.03), "none", None),
    "bob_child": ({"gender": 0.0, "age": 8.0}, "bob", 0.5, 0.0, (0.75, 0.58, 0.32), "none", None),
    "long_straight": ({"gender": -1.0, "age": 26.0}, "long_straight", 0.6, 0.0,
                      (0.10, 0.06, 0.04), "none", None),
    "long_wavy_red": ({"gender": -1.0, "age": 32.0}, "long_wavy", 0.5, 0.5, (0.55, 0.18, 0.06),
                      "none", None),
    "curly_wide": ({"gender": 0.5, "head.width": 1.0, "weight": 1.0, "face.shape": "round"},
                   "curly", 0.5, 0.7, (0.18, 0.1, 0.05), "short_beard", None),
    "ponytail": ({"gender": -1.0, "age": 22.0}, "ponytail", 0.5, 0.0, (0.3, 0.18, 0.1), "none",
                 None),
    "bun_old": ({"gender": -1.0, "age": 75.0, "skin.wrinkles": 1.0}, "bun", 0.5, 0.0,
                (0.78, 0.78, 0.78), "none", None),
    "afro": ({"gender": 0.3, "age": 30.0, "ancestry": {"african": 1.0}}, "afro", 0.5, 1.0,
             (0.05, 0.04, 0.035), "none", None),
    "receding_moustache": ({"gender": 1.0, "age": 80.0, "skin.wrinkles": 1.0}, "receding", 0.5,
                           0.0, (0.72, 0.72, 0.72), "moustache", (0.85, 0.85, 0.85)),
}  # fmt: skip

VIEWS = (("front", 0.0), ("three_quarter", 35.0), ("back", 180.0))


# --- stage 1: the backend builds arrays --------------------------------------------------


def build_cases(target: Path, only: list[str]) -> None:
    """Heads, painted textures and hair for every case, saved as one npz."""
    from headsculpt.descriptive_code import DescriptiveCode
    from headsculpt.pipelines.parametric import ParametricPipeline, _with_sampled_identity
    from headsculpt.prior.code_mapping import head_parameters
    from headsculpt.prior.facial_hair import build_brows, build_facial_hair, build_lashes
    from headsculpt.prior.hair import HairSpec, build_hair
    from headsculpt.prior.head_model import load_head_model
    from headsculpt.texture.strands import strand_textures

    head = load_head_model()
    pipeline = ParametricPipeline(head, parse=lambda _: DescriptiveCode())
    arrays: dict[str, np.ndarray] = {}
    for name, (attributes, style, length, curl, colour, facial, beard_colour) in CASES.items():
        if only and name not in only:
            continue
        code = DescriptiveCode(attributes=dict(attributes))
        seed = 7
        result = pipeline.from_code(code, seed=seed)
        rng = np.random.default_rng(seed)  # the same draws as from_code makes
        identity = _with_sampled_identity(code, rng)
        mesh = head(head_parameters(identity, rng))
        assert np.allclose(mesh.vertices, result.mesh.vertices)
        topology = head.topology
        arrays[f"{name}/head_v"] = mesh.vertices
        arrays[f"{name}/head_n"] = mesh.normals
        arrays[f"{name}/head_uv"] = topology.uv
        arrays[f"{name}/head_f"] = topology.triangles
        arrays[f"{name}/head_tex"] = result.mesh.base_color
        pieces = {
            "hair": (build_hair(head, mesh, HairSpec(style, length, curl, 0.5, seed)), colour,
                     "scalp"),
            "beard": (build_facial_hair(head, mesh, facial, 0.5, seed), beard_colour or colour,
                      "beard"),
            "brows": (build_brows(head, mesh, 0.5, seed), colour, "brow"),
            "lashes": (build_lashes(head, mesh, seed), (0.03, 0.025, 0.02), "lash"),
        }  # fmt: skip
        for piece, (geometry, rgb, kind) in pieces.items():
            if geometry is None:
                continue
            textures = strand_textures(rgb, kind, 512, seed)
            arrays[f"{name}/{piece}_v"] = geometry.vertices
            arrays[f"{name}/{piece}_n"] = geometry.normals
            arrays[f"{name}/{piece}_uv"] = geometry.uv
            arrays[f"{name}/{piece}_f"] = geometry.triangles
            arrays[f"{name}/{piece}_tex"] = textures.base_color
        print(name, {k.split("/")[1]: len(v) for k, v in arrays.items()
                     if k.startswith(name) and k.endswith("_f")}, flush=True)  # fmt: skip
    np.savez_compressed(target, **arrays)


# --- stage 2: Blender renders them ----------------------------------------------------------


def render_cases(data: Path, out: Path, size: int, samples: int) -> None:
    import bpy

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from render_head import _camera  # the same 85 mm camera as the head renders

    arrays = np.load(data)
    names = sorted({key.split("/")[0] for key in arrays.files}, key=list(CASES).index)
    shots: list[list[Path]] = []
    for name in names:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        _setup(scene, size, samples)
        for piece in ("head", "hair", "beard", "brows", "lashes"):
            if f"{name}/{piece}_v" in arrays.files:
                _mesh_object(name, piece, arrays, alpha=piece != "head")
        vertices = arrays[f"{name}/head_v"]
        low, high = vertices.min(0), vertices.max(0)
        centre = (low + high) / 2
        centre[2] = high[2] - 0.13  # frame the head, not the neck
        _lights(centre)
        camera = _camera(scene)
        row = []
        for view, azimuth in VIEWS:
            _aim(camera, centre, azimuth)
            path = out / f"{name}_{view}.png"
            scene.render.filepath = str(path)
            bpy.ops.render.render(write_still=True)
            row.append(path)
        shots.append(row)
        print("rendered", name, flush=True)
    _contact(shots, out / "contact.png")


def _setup(scene, size: int, samples: int) -> None:
    import bpy

    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = True
    scene.cycles.transparent_max_bounces = 48
    scene.cycles.max_bounces = 4
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.threads_mode = "FIXED"
    scene.render.threads = 2
    scene.view_settings.view_transform = "AgX"
    world = bpy.data.worlds.new("studio")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs[0].default_value = (0.32, 0.34, 0.38, 1.0)
    world.node_tree.nodes["Background"].inputs[1].default_value = 0.6
    scene.world = world


def _mesh_object(name: str, piece: str, arrays, alpha: bool):
    import bpy

    vertices = arrays[f"{name}/{piece}_v"].astype(np.float64)
    triangles = arrays[f"{name}/{piece}_f"].astype(np.int64)
    uv = arrays[f"{name}/{piece}_uv"].astype(np.float64)
    mesh = bpy.data.meshes.new(piece)
    mesh.from_pydata(vertices.tolist(), [], triangles.tolist())
    layer = mesh.uv_layers.new(name="UVMap")
    loop_uv = uv[triangles.ravel()].copy()
    loop_uv[:, 1] = 1.0 - loop_uv[:, 1]  # glTF v runs down, Blender's up
    layer.data.foreach_set("uv", loop_uv.ravel())
    mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
    obj = bpy.data.objects.new(piece, mesh)
    bpy.context.scene.collection.objects.link(obj)
    texture = arrays[f"{name}/{piece}_tex"]
    obj.data.materials.append(_material(piece, texture, alpha))
    return obj


def _material(piece: str, texture: np.ndarray, alpha: bool):
    import bpy

    height, width = texture.shape[:2]
    rgba = np.ones((height, width, 4), dtype=np.float32)
    rgba[..., : texture.shape[2]] = texture[..., :4] / 255.0
    image = bpy.data.images.new(piece, width, height, alpha=True)
    # (Setting the colour space after the pixels would reload the image blank.)
    image.pixels.foreach_set(rgba[::-1].ravel())  # Blender's rows run bottom-up
    material = bpy.data.materials.new(piece)
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    bsdf = nodes["Principled BSDF"]
    node = nodes.new("ShaderNodeTexImage")
    node.image = image
    node.interpolation = "Closest" if alpha else "Linear"
    links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 0.6 if alpha else 0.55
    if alpha:  # glTF MASK: alpha above the cutoff is opaque, below it is not there
        cutoff = nodes.new("ShaderNodeMath")
        cutoff.operation = "GREATER_THAN"
        cutoff.inputs[1].default_value = 0.5
        links.new(node.outputs["Alpha"], cutoff.inputs[0])
        links.new(cutoff.outputs[0], bsdf.inputs["Alpha"])
        material.blend_method = "CLIP" if hasattr(material, "blend_method") else None
    return material


def _lights(centre: np.ndarray) -> None:
    import bpy
    from mathutils import Vector

    c = Vector(centre.tolist())
    for label, energy, direction in (
        ("Key", 60.0, Vector((-1.0, -1.6, 0.9))),
        ("Fill", 25.0, Vector((1.4, -1.2, 0.2))),
        ("Rim", 40.0, Vector((0.6, 1.6, 1.2))),
        ("Back", 30.0, Vector((-0.8, 1.5, 0.3))),
    ):
        data = bpy.data.lights.new(label, "AREA")
        data.energy, data.size = energy, 0.5
        light = bpy.data.objects.new(label, data)
        bpy.context.scene.collection.objects.link(light)
        light.location = c + direction.normalized() * 1.0
        light.rotation_euler = (c - light.location).to_track_quat("-Z", "Y").to_euler()


def _aim(camera, centre: np.ndarray, azimuth_degrees: float) -> None:
    from mathutils import Vector

    angle = math.radians(azimuth_degrees)
    c = Vector(centre.tolist())
    distance = 0.26 / math.tan(camera.data.angle / 2)
    camera.location = c + Vector((math.sin(angle), -math.cos(angle), 0.05)) * distance
    camera.rotation_euler = (c - camera.location).to_track_quat("-Z", "Y").to_euler()


def _contact(shots: list[list[Path]], target: Path) -> None:
    """All cases, one row each (front, three-quarter, back), as one PNG."""
    import bpy

    rows = []
    for row in shots:
        images = []
        for path in row:
            image = bpy.data.images.load(str(path))
            w, h = image.size
            pixels = np.empty(w * h * 4, dtype=np.float32)
            image.pixels.foreach_get(pixels)
            images.append(pixels.reshape(h, w, 4)[::-1])
        rows.append(np.concatenate(images, axis=1))
    # Two columns of cases keep the sheet roughly square.
    half = (len(rows) + 1) // 2
    if len(rows) > 3:
        left, right = rows[:half], rows[half:]
        right += [np.zeros_like(rows[0])] * (len(left) - len(right))
        sheet = np.concatenate([np.concatenate(left, 0), np.concatenate(right, 0)], axis=1)
    else:
        sheet = np.concatenate(rows, 0)
    h, w = sheet.shape[:2]
    image = bpy.data.images.new("contact", w, h, alpha=True)
    image.pixels.foreach_set(np.ascontiguousarray(sheet[::-1]).ravel())
    image.filepath_raw, image.file_format = str(target), "PNG"
    image.save()
    print(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(sys.argv[1:])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "hair_cases.npz"
    if args.build_only:
        build_cases(data, args.only)
        return
    command = [str(BACKEND_PYTHON), __file__, str(out), "--build-only", "--only", *args.only]
    subprocess.run(command, check=True, cwd=ROOT)
    render_cases(data, out, args.size, args.samples)


if __name__ == "__main__":
    main()
