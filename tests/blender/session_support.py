"""What the add-on's session scripts (tests/blender/*_session.py) do alike, in bpy 4.5.

Each script is run as ``python SCRIPT ZIP BACKEND_PYTHON DATA_DIR REPORT_JSON [its own]``
by ``conftest.addon_session``; its folder is first on ``sys.path``, so it imports this.
"""

from __future__ import annotations

import json
import math
import sys
import traceback

import bpy
import mathutils

MODULE = "bl_ext.user_default.headsculpt"  # the extension's package once installed


def install(zip_path: str, backend_python: str, data_dir: str):
    """Install and enable the add-on from its zip, set to start a local backend with
    ``backend_python`` keeping its jobs in ``data_dir``; its preferences."""
    bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True
    )
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.backend_mode, prefs.python_path, prefs.data_dir = "LOCAL", backend_python, data_dir
    return prefs


def addon(name: str):
    """One of the installed add-on's modules: ``addon("core.session")``."""
    return sys.modules[f"{MODULE}.{name}"]


def op_error(call) -> str | None:
    """Run an operator expected to fail: Blender turns its ERROR report into RuntimeError."""
    try:
        call()
    except RuntimeError as error:
        return str(error)
    return None


def save_report(report: dict, path: str) -> None:
    """Stop the add-on's session (and its local backend), then write ``report``; a
    failure to stop is recorded in ``report["errors"]["reset"]``."""
    try:
        addon("core.session").reset()
    except Exception:
        report.setdefault("errors", {})["reset"] = traceback.format_exc()
    with open(path, "w") as handle:
        json.dump(report, handle, indent=1, default=str)


def foreign_copy(head, name: str = "ForeignHead"):
    """A copy of the mesh object ``head`` as a mesh from elsewhere would come in: no
    parent, no armature, no vertex groups, no shape keys — and far from the world origin,
    turned and scaled, so its origin is where an artist put it."""
    source = head.copy()
    source.data = head.data.copy()
    source.name = name
    bpy.context.scene.collection.objects.link(source)
    source.parent = None
    source.modifiers.clear()
    source.vertex_groups.clear()
    source.shape_key_clear()
    source.matrix_world = mathutils.Matrix.LocRotScale(
        mathutils.Vector((-3.0, 1.0, 0.2)),
        mathutils.Euler((0.0, 0.0, math.radians(25.0))),
        mathutils.Vector((10.0, 10.0, 10.0)),
    )
    bpy.context.view_layer.update()
    return source
