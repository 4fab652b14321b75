"""Bring a generated head into the scene, ready to rig and animate.

The glTF importer does the reading; this puts the new objects in a "HeadSculpt"
collection at the 3D cursor and tags them with where they came from (prompt,
seed, mode, job id, backend URL, descriptive code), which Edit and re-import use.
The face units live on the Head mesh; the other meshes that move with them (beard,
tongue, a sculpt's mouth inside) carry keys of the same names, driven here by the
Head's, so an artist animates one set of 52 keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bpy

from .core.errors import HeadSculptError
from .core.messages import for_the_panel

COLLECTION = "HeadSculpt"
PROPERTY_PREFIX = "headsculpt_"


def import_head(
    context,
    glb_path: str,
    origin: dict[str, Any],
    offset: tuple[float, float, float] | None = None,
) -> list[bpy.types.Object]:
    """Import ``glb_path``; returns the new objects (armature first). Raises HeadSculptError.

    The head lands at the 3D cursor, or moved by ``offset`` from where the file puts it
    (a rigged copy of a mesh, beside the original)."""
    before = set(bpy.data.objects)
    try:
        result = bpy.ops.import_scene.gltf(filepath=glb_path)
    except RuntimeError as error:
        reason = for_the_panel(str(error))  # the glTF importer names the downloaded file's path
        raise HeadSculptError(f"Blender could not import the head ({reason})") from None
    if "FINISHED" not in result:
        raise HeadSculptError(f"Blender could not import {Path(glb_path).name}")
    created = [o for o in bpy.data.objects if o not in before]
    # The importer's bone-display shape stays where it put it (a hidden helper collection).
    shapes = {
        pb.custom_shape
        for o in created
        if o.type == "ARMATURE"
        for pb in o.pose.bones
        if pb.custom_shape is not None
    }
    new = [o for o in created if o not in shapes]
    collection = _collection(context.scene)
    for obj in new:
        for owner in list(obj.users_collection):
            owner.objects.unlink(obj)
        collection.objects.link(obj)
    shift = context.scene.cursor.location if offset is None else offset
    for obj in new:
        if obj.parent is None:
            obj.location = obj.location + type(obj.location)(shift)
        _tag(obj, origin)
    new.sort(key=lambda o: (o.type != "ARMATURE", o.name))
    heads = sorted(
        (o for o in new if o.type == "MESH" and o.data.shape_keys is not None),
        key=lambda o: -len(o.data.shape_keys.key_blocks),
    )  # the face units live on Head
    if heads:
        _follow_the_face(heads[0], heads[1:])
    for obj in context.view_layer.objects:
        obj.select_set(False)
    for obj in new:
        if obj.name in context.view_layer.objects:
            obj.select_set(True)
    if heads and heads[0].name in context.view_layer.objects:
        context.view_layer.objects.active = heads[0]
    return new


def _follow_the_face(face: bpy.types.Object, others: list[bpy.types.Object]) -> None:
    """Drive each other mesh's shape keys by the face's key of the same name: jawOpen set
    on Head opens the beard and the mouth's inside with it (glTF keeps one set per mesh)."""
    units = face.data.shape_keys
    for obj in others:
        keys = obj.data.shape_keys
        for block in keys.key_blocks:
            if block == keys.reference_key or block.name not in units.key_blocks:
                continue
            driver = block.driver_add("value").driver
            driver.type = "AVERAGE"
            variable = driver.variables.new()
            variable.name = "unit"
            variable.type = "SINGLE_PROP"
            variable.targets[0].id_type = "KEY"
            variable.targets[0].id = units
            name = bpy.utils.escape_identifier(block.name)
            variable.targets[0].data_path = f'key_blocks["{name}"].value'


def origin_of(obj: bpy.types.Object) -> dict[str, Any]:
    """The tags ``import_head`` put on an object (or on its armature parent)."""
    for candidate in (obj, obj.parent):
        if candidate is not None and f"{PROPERTY_PREFIX}job_id" in candidate:
            tags = {
                k[len(PROPERTY_PREFIX) :]: candidate[k]
                for k in candidate.keys()  # noqa: SIM118 (ID properties need keys())
                if k.startswith(PROPERTY_PREFIX)
            }
            if "descriptive_code" in tags:
                tags["descriptive_code"] = json.loads(tags["descriptive_code"])
            return tags
    return {}


def _collection(scene) -> bpy.types.Collection:
    collection = bpy.data.collections.get(COLLECTION)
    if collection is None:
        collection = bpy.data.collections.new(COLLECTION)
    if collection.name not in scene.collection.children:
        scene.collection.children.link(collection)
    return collection


def _tag(obj: bpy.types.Object, origin: dict[str, Any]) -> None:
    for key in ("prompt", "seed", "mode", "job_id", "backend_url", "parent_id"):
        value = origin.get(key)
        if value is not None:  # as text: a seed can exceed Blender's 32-bit int properties
            obj[f"{PROPERTY_PREFIX}{key}"] = str(value)
    obj[f"{PROPERTY_PREFIX}descriptive_code"] = json.dumps(origin.get("descriptive_code") or {})
