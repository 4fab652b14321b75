"""Render an imported head in Blender: front, three-quarter, jawOpen = 1, jaw bone rotated.

Run with Blender's Python (bpy 4.5), e.g. the test interpreter:

    .venv-blender/bin/python scripts/render_head.py head.glb renders/ [--samples 32] [--size 512]

The head comes in through the add-on's importer (HeadSculpt collection, rig, shape
keys, PBR material), lit by a three-point rig (key, fill, rim) and rendered with
Cycles on the CPU (no GPU or display needed). Writes front.png, three_quarter.png,
jaw_open.png, jaw_bone.png and sheet.png (all four side by side).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import bpy
from mathutils import Euler, Vector

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from blender_headsculpt.importer import import_head  # noqa: E402


def main() -> None:
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("glb")
    parser.add_argument("out")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    objects = import_head(bpy.context, str(Path(args.glb).resolve()), {"mode": "parametric"})
    head = max(
        (o for o in objects if o.type == "MESH" and o.data.shape_keys),
        key=lambda o: len(o.data.shape_keys.key_blocks),
    )
    armature = next(o for o in objects if o.type == "ARMATURE")
    centre, radius = _bounds(head)

    _setup_render(scene, args.samples, args.size)
    _three_point_lights(centre, radius)
    camera = _camera(scene)
    shots = []
    for name, azimuth in (("front", 0.0), ("three_quarter", 35.0)):
        _aim(camera, centre, radius, azimuth)
        shots.append(_render(scene, out / f"{name}.png"))
    _aim(camera, centre, radius, 0.0)
    head.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    shots.append(_render(scene, out / "jaw_open.png"))
    head.data.shape_keys.key_blocks["jawOpen"].value = 0.0
    jaw = armature.pose.bones["jaw"]
    jaw.rotation_mode = "XYZ"
    jaw.rotation_euler = Euler((math.radians(18.0), 0.0, 0.0))
    shots.append(_render(scene, out / "jaw_bone.png"))
    _sheet(shots, out / "sheet.png")
    print("\n".join(str(p) for p in [*shots, out / "sheet.png"]))


def _bounds(obj) -> tuple[Vector, float]:
    corners = [obj.matrix_world @ Vector(c) for c in obj.bound_box]
    low = Vector([min(c[i] for c in corners) for i in range(3)])
    high = Vector([max(c[i] for c in corners) for i in range(3)])
    return (low + high) / 2, (high - low).length / 2


def _setup_render(scene, samples: int, size: int) -> None:
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = True
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "AgX"
    world = bpy.data.worlds.new("HeadSculpt studio")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs[0].default_value = (0.05, 0.05, 0.06, 1.0)
    scene.world = world


def _three_point_lights(centre: Vector, radius: float) -> None:
    """Key (front left, high), fill (front right, low, weaker), rim (behind, high)."""
    # (name, watts as if 1 m away, direction from the head: the face looks toward −Y)
    rig = (
        ("Key", 40.0, Vector((-1.0, -1.6, 0.9))),
        ("Fill", 12.0, Vector((1.4, -1.2, 0.2))),
        ("Rim", 30.0, Vector((0.6, 1.6, 1.2))),
    )
    distance = radius * 5.0
    for name, energy, direction in rig:
        data = bpy.data.lights.new(name, "AREA")
        data.energy, data.size = energy * distance**2, radius * 1.5  # same look at any scale
        light = bpy.data.objects.new(name, data)
        bpy.context.scene.collection.objects.link(light)
        light.location = centre + direction.normalized() * distance
        light.rotation_euler = (centre - light.location).to_track_quat("-Z", "Y").to_euler()


def _camera(scene):
    data = bpy.data.cameras.new("Camera")
    data.lens = 85.0
    camera = bpy.data.objects.new("Camera", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    return camera


def _aim(camera, centre: Vector, radius: float, azimuth_degrees: float) -> None:
    angle = math.radians(azimuth_degrees)
    fov = camera.data.angle
    distance = radius * 0.8 / math.tan(fov / 2)
    camera.location = centre + Vector((math.sin(angle), -math.cos(angle), 0.05)) * distance
    camera.rotation_euler = (centre - camera.location).to_track_quat("-Z", "Y").to_euler()


def _render(scene, path: Path) -> Path:
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return path


def _sheet(paths: list[Path], target: Path) -> None:
    images = [bpy.data.images.load(str(p)) for p in paths]
    width, height = images[0].size
    sheet = bpy.data.images.new("sheet", width * len(images), height)
    pixels = [0.0] * (width * len(images) * height * 4)
    for index, image in enumerate(images):
        source = list(image.pixels)
        for row in range(height):
            start = (row * width * len(images) + index * width) * 4
            pixels[start : start + width * 4] = source[row * width * 4 : (row + 1) * width * 4]
    sheet.pixels = pixels
    sheet.filepath_raw, sheet.file_format = str(target), "PNG"
    sheet.save()


if __name__ == "__main__":
    main()
