"""The rig job's request, from what the artist picked in Blender (no bpy here).

The selected mesh travels as a glTF file, so an axis the artist names in Blender's
frame (Z up, −Y the front view's direction) is sent in glTF's frame (Y up): the
exporter maps Blender (x, y, z) to glTF (x, z, −y).
"""

from __future__ import annotations

from typing import Any

from .errors import HeadSculptError

# "AUTO" lets the backend find the face; the rest are Blender's axes.
BLENDER_AXES = ("AUTO", "+X", "-X", "+Y", "-Y", "+Z", "-Z")
_BLENDER_TO_GLTF = {"X": ("+", "x"), "Y": ("-", "z"), "Z": ("+", "y")}


def gltf_axis(blender_axis: str) -> str | None:
    """'+Z' → '+y', '-Y' → '+z'; None for 'AUTO'."""
    if blender_axis == "AUTO":
        return None
    if blender_axis not in BLENDER_AXES:
        raise HeadSculptError(f"An axis is one of {', '.join(BLENDER_AXES)}, not {blender_axis}")
    sign, name = blender_axis[0], blender_axis[1]
    extra_sign, gltf_name = _BLENDER_TO_GLTF[name]
    flipped = (sign == "-") != (extra_sign == "-")
    return ("-" if flipped else "+") + gltf_name


def rig_request(up: str = "AUTO", front: str = "AUTO") -> dict[str, Any]:
    """``POST /v1/jobs`` body for a rig job; the monitor adds ``parent_id`` after upload."""
    request: dict[str, Any] = {"kind": "rig"}
    for field, axis in (("up", up), ("front", front)):
        value = gltf_axis(axis)
        if value is not None:
            request[field] = value
    if up != "AUTO" and front != "AUTO" and up[1] == front[1]:
        raise HeadSculptError(
            f"Up ({up}) and Front ({front}) are the same axis",
            "Pick two different axes in the Rig a head section, or Auto",
        )
    return request
