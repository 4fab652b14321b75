"""Drive the installed extension in real bpy 4.5 (run by tests/test_blender_addon.py).

argv: ZIP BACKEND_PYTHON DATA_DIR REPORT_JSON. BLENDER_USER_RESOURCES must point at
an empty folder so the install does not touch the user's Blender.
"""

import json
import socket
import sys
import time
import traceback
import urllib.request

import bpy
import mathutils
from session_support import foreign_copy

zip_path, backend_python, data_dir, report_path = sys.argv[-4:]
MODULE = "bl_ext.user_default.headsculpt"
report = {"steps": []}


def step(name, **data):
    report["steps"].append(name)
    report[name] = data


def op_error(call):
    """Run an operator expected to fail: Blender turns its ERROR report into RuntimeError."""
    try:
        call()
    except RuntimeError as error:
        return str(error)
    return None


def describe_objects(names):
    out = {}
    for name in names:
        obj = bpy.data.objects[name]
        if [c.name for c in obj.users_collection] == ["glTF_not_exported"]:
            continue  # the glTF importer's bone-display shape, not part of the head
        entry = {
            "type": obj.type,
            "collections": [c.name for c in obj.users_collection],
            "props": {k: obj[k] for k in obj.keys() if k.startswith("headsculpt_")},  # noqa: SIM118
            "location": list(obj.location),
            "parent": obj.parent.name if obj.parent else None,
        }
        if obj.type == "MESH":
            keys = obj.data.shape_keys
            entry["shape_keys"] = [k.name for k in keys.key_blocks] if keys else []
            entry["armature_modifier"] = any(m.type == "ARMATURE" for m in obj.modifiers)
            images = []
            for slot in obj.material_slots:
                if slot.material and slot.material.use_nodes:
                    images += [
                        n.image.name
                        for n in slot.material.node_tree.nodes
                        if n.type == "TEX_IMAGE" and n.image
                    ]
            entry["images"] = images
        if obj.type == "ARMATURE":
            entry["bones"] = [b.name for b in obj.data.bones]
        out[name] = entry
    return out


def shape_key_motion(obj, key_name):
    """World-space motion of ``obj`` when only ``key_name`` is at 1: the moving vertices'
    mean displacement and mean height relative to the mesh's vertical extent."""
    keys = obj.data.shape_keys.key_blocks
    basis, key = keys[0], keys[key_name]
    matrix = obj.matrix_world
    rest = [matrix @ p.co for p in basis.data]
    moved = [matrix @ p.co for p in key.data]
    deltas = [b - a for a, b in zip(rest, moved, strict=True)]
    lengths = [d.length for d in deltas]
    biggest = max(lengths)
    movers = [i for i, length in enumerate(lengths) if length > 0.5 * biggest]
    heights = [p.z for p in rest]
    low, high = min(heights), max(heights)
    mean = sum((deltas[i] for i in movers), mathutils.Vector()) / len(movers)
    return {
        "max": biggest,
        "height": high - low,
        "movers": len(movers),
        "mean_delta": list(mean),
        "mover_height": (sum(heights[i] for i in movers) / len(movers) - low) / (high - low),
    }


ICONS = set(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())


class CheckingLayout:
    """Stands in for UILayout when drawing without a window: runs the panel's draw code and
    checks every property, operator and icon it names against Blender's own registry."""

    def __init__(self, seen):
        self.seen = seen

    def __getattr__(self, name):
        def call(*args, **kwargs):
            icon = kwargs.get("icon")
            assert icon is None or icon in ICONS, f"unknown icon {icon}"
            if name == "prop":
                data, prop = args[0], args[1]
                assert prop in data.bl_rna.properties, f"no property {prop}"
            if name == "operator":
                group, _, op = args[0].partition(".")
                assert hasattr(getattr(bpy.ops, group), op), f"no operator {args[0]}"
            if name == "template_list":
                assert args[0] in dir(bpy.types), f"no UIList {args[0]}"
            self.seen.append(name)
            return self

        return call

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)


class PrefsView:
    """The preferences with a checking layout (a real one exists only in a window)."""

    def __init__(self, prefs, layout):
        self.__dict__.update(_prefs=prefs, layout=layout)

    def __getattr__(self, name):
        return getattr(self._prefs, name)


def draw_everything():
    seen = []
    panels = [
        getattr(bpy.types, n)
        for n in (
            "HEADSCULPT_PT_main",
            "HEADSCULPT_PT_history",
            "HEADSCULPT_PT_edit",
            "HEADSCULPT_PT_rig",
        )
    ]
    for panel in panels:
        holder = type("Holder", (), {"layout": CheckingLayout(seen)})()
        panel.draw(holder, bpy.context)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    mode_before = prefs.backend_mode
    for mode in ("LOCAL", "BUNDLED", "REMOTE"):
        prefs.backend_mode = mode
        type(prefs).draw(PrefsView(prefs, CheckingLayout(seen)), bpy.context)
    prefs.backend_mode = mode_before
    ui_list = bpy.types.HEADSCULPT_UL_history
    for item in bpy.context.scene.headsculpt.history:
        ui_list.draw_item(None, bpy.context, CheckingLayout(seen), None, item, 0, None, "", 0, 0)
    return seen


try:
    result = bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True
    )
    step("install", result=list(result), enabled=MODULE in bpy.context.preferences.addons)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.backend_mode = "LOCAL"
    prefs.python_path = backend_python
    prefs.data_dir = data_dir
    session = sys.modules[MODULE + ".core.session"]

    step("check_before_start", error=op_error(lambda: bpy.ops.headsculpt.check_backend()))
    bpy.ops.headsculpt.start_backend()
    url = session.get().local_backend.url
    step("start", url=url, health=session.get().health)

    scene = bpy.context.scene
    scene.cursor.location = (1.0, 2.0, 0.5)
    settings = scene.headsculpt
    settings.prompt = "a weathered fisherman in his seventies with a bulbous nose, blorf"
    settings.seed = 11
    before = set(bpy.data.objects.keys())
    started = time.perf_counter()
    result = bpy.ops.headsculpt.generate()
    new = sorted(set(bpy.data.objects.keys()) - before)
    step(
        "generate",
        result=list(result),
        seconds=time.perf_counter() - started,
        objects=describe_objects(new),
        state=settings.job_state,
        code_lines=[line.text for line in settings.code_lines],
        history=[item.job_id for item in settings.history],
        preview=settings.preview_path,
    )

    # Cancel: a long job started without blocking, cancelled while it runs.
    settings.variants, settings.texture_size = 16, "2048"
    bpy.ops.headsculpt.generate(blocking="NO")
    monitor = session.get().monitor
    deadline = time.monotonic() + 120
    while monitor.snapshot().state != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    bpy.ops.headsculpt.cancel(blocking="YES")
    step("cancel", state=monitor.snapshot().state, scene_state=settings.job_state)
    settings.variants, settings.texture_size = 1, "1024"

    bpy.ops.headsculpt.refresh_history()
    step("history", jobs=[(i.job_id, i.state, bool(i.thumbnail)) for i in settings.history])

    settings.history_index = 0
    step("draw", calls=len(draw_everything()))

    # Re-import the first job by id.
    first_job = report["generate"]["objects"] and next(
        o["props"]["headsculpt_job_id"]
        for o in report["generate"]["objects"].values()
        if "headsculpt_job_id" in o["props"]
    )
    before = set(bpy.data.objects.keys())
    bpy.ops.headsculpt.import_job(job_id=first_job)
    step("reimport", objects=describe_objects(sorted(set(bpy.data.objects.keys()) - before)))

    # Edit: a new version of the selected head, imported beside it; the history chains it.
    head = next(o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys)
    bpy.context.view_layer.objects.active = head
    origin_of = sys.modules[MODULE + ".importer"].origin_of
    parent_root = head.parent or head
    parent_location = list(parent_root.matrix_world.translation)
    settings.edit_instruction = "make him thirty years younger and give him a scar"
    before = set(bpy.data.objects.keys())
    edit_result = bpy.ops.headsculpt.edit()
    new = sorted(set(bpy.data.objects.keys()) - before)
    bpy.context.view_layer.update()
    edited = describe_objects(new)
    bpy.ops.headsculpt.refresh_history()
    step(
        "edit",
        result=list(edit_result),
        objects=edited,
        parent_job=origin_of(head)["job_id"],
        parent_location=parent_location,
        parent_width=head.dimensions.x,
        parent_code=origin_of(head)["descriptive_code"],
        history=[(i.job_id, i.parent_id, i.version, i.state) for i in settings.history],
        code_lines=[line.text for line in settings.code_lines],
    )

    # Rig selected head: a foreign copy of the head (no rig, no shape keys, scaled, yawed,
    # moved) goes to the backend and comes back rigged, beside the original.
    # The head is the mesh with all 52 face units (hair and lashes carry only those that move
    # them, and the hair may have more vertices than the head).
    full_head = max(
        (o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys),
        key=lambda o: (len(o.data.shape_keys.key_blocks), len(o.data.vertices)),
    )
    source = foreign_copy(full_head)
    bpy.context.view_layer.objects.active = source
    source_corners = [source.matrix_world @ mathutils.Vector(c) for c in source.bound_box]
    source_faces = len(source.data.polygons)
    before = set(bpy.data.objects.keys())
    rig_result = bpy.ops.headsculpt.rig_selected()
    new = sorted(set(bpy.data.objects.keys()) - before)
    rigged = next(
        bpy.data.objects[n]
        for n in new
        if bpy.data.objects[n].type == "MESH" and bpy.data.objects[n].data.shape_keys
    )
    bpy.context.view_layer.update()
    rigged_corners = [rigged.matrix_world @ mathutils.Vector(c) for c in rigged.bound_box]
    step(
        "rig",
        result=list(rig_result),
        objects=describe_objects(new),
        source_centre=list(sum(source_corners, mathutils.Vector()) / 8),
        source_size=list(source.dimensions),
        rigged_centre=list(sum(rigged_corners, mathutils.Vector()) / 8),
        source_faces=source_faces,
        rigged_faces=len(rigged.data.polygons),
        jaw_open=shape_key_motion(rigged, "jawOpen"),
        source_untouched=source.data.shape_keys is None and not source.modifiers,
    )

    # Backend down: a remote URL where nothing listens.
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    dead_port = free.getsockname()[1]
    free.close()
    prefs.backend_mode = "REMOTE"
    prefs.remote_url = f"http://127.0.0.1:{dead_port}"
    objects_before = sorted(bpy.data.objects.keys())
    step(
        "backend_down",
        check=op_error(lambda: bpy.ops.headsculpt.check_backend()),
        generate=op_error(lambda: bpy.ops.headsculpt.generate()),
        scene_intact=sorted(bpy.data.objects.keys()) == objects_before,
        panel_error=session.get().last_error,
    )

    # Disable stops the local backend; enable again starts clean.
    bpy.ops.preferences.addon_disable(module=MODULE)
    try:
        urllib.request.urlopen(url + "/v1/health", timeout=3)
        backend_stopped = False
    except OSError:
        backend_stopped = True
    bpy.ops.preferences.addon_enable(module=MODULE)
    step(
        "reenable",
        backend_stopped=backend_stopped,
        enabled=MODULE in bpy.context.preferences.addons,
        has_operator=hasattr(bpy.ops.headsculpt, "generate"),
        scene_settings=hasattr(bpy.context.scene, "headsculpt"),
    )
    bpy.ops.preferences.addon_disable(module=MODULE)
except Exception:
    report["exception"] = traceback.format_exc()
finally:
    with open(report_path, "w") as handle:
        json.dump(report, handle, indent=1, default=str)
