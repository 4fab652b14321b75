"""The add-on as a new artist meets it, in real bpy 4.5 (run by tests/test_blender_trust.py).

argv: ZIP BACKEND_PYTHON DATA_DIR REPORT_JSON. BLENDER_USER_RESOURCES must point at an
empty folder. Each step records what the artist would see (the operator's error, the
panel's history, where objects land) and carries on when one fails, so one run shows
every defect at once. Only public operators and scene settings are used.
"""

import http.server
import socket
import sys
import tempfile
import threading
import traceback
from pathlib import Path

import bpy
import mathutils
from session_support import addon, foreign_copy, install, op_error, save_report

zip_path, backend_python, data_dir, report_path = sys.argv[-4:]
report: dict = {"errors": {}}


def step(name: str, work) -> None:
    """Record ``work()``'s result under ``name``; a crash in one step is recorded, not fatal."""
    try:
        report[name] = work()
    except Exception:
        report["errors"][name] = traceback.format_exc()


def world_box(objects) -> tuple[mathutils.Vector, mathutils.Vector]:
    """The world-space box around the vertices of the meshes among ``objects`` (exact: a
    turned object's bound_box corners would give a larger box than its rigged copy's)."""
    points = [o.matrix_world @ v.co for o in objects if o.type == "MESH" for v in o.data.vertices]
    low = mathutils.Vector([min(p[i] for p in points) for i in range(3)])
    high = mathutils.Vector([max(p[i] for p in points) for i in range(3)])
    return low, high


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


prefs = install(zip_path, backend_python, data_dir)
session = addon("core.session")
user_folder = Path(addon("preferences").user_folder())
log_path = user_folder / "backend.log"
scene = bpy.context.scene
settings = scene.headsculpt


# --- item 4: a fresh log per start; a failed start quotes only its own lines -----------
def failed_start():
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        log.write("STALE line one from an earlier run\nSTALE line two from an earlier run\n")
    prefs.python_path = sys.executable  # Blender's own Python: no backend installed in it
    error = op_error(lambda: bpy.ops.headsculpt.start_backend())
    session.get().stop_backend()
    prefs.python_path = backend_python
    return {"error": error}


step("failed_start", failed_start)


def good_start():
    bpy.ops.headsculpt.start_backend()
    rotated = log_path.with_name("backend.log.1")
    return {
        "url": session.get().local_backend.url,
        "log": log_path.read_text(errors="replace"),
        "previous_log": rotated.read_text(errors="replace") if rotated.exists() else None,
    }


step("start", good_start)
local_url = report.get("start", {}).get("url", "")


# --- item 2: a wrong server on the port ------------------------------------------------
def wrong_server():
    folder = tempfile.mkdtemp()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=folder, **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    prefs.backend_mode, prefs.remote_url = "REMOTE", url
    try:
        return {
            "url": url,
            "check": op_error(lambda: bpy.ops.headsculpt.check_backend()),
            "generate": op_error(lambda: bpy.ops.headsculpt.generate()),
            "refresh": op_error(lambda: bpy.ops.headsculpt.refresh_history()),
        }
    finally:
        server.shutdown()
        prefs.backend_mode = "LOCAL"


step("wrong_server", wrong_server)


# --- item 8: a URL typed without http:// ---------------------------------------------
def url_without_scheme():
    prefs.backend_mode, prefs.remote_url = "REMOTE", local_url.removeprefix("http://")
    try:
        return {
            "typed": prefs.remote_url,
            "check": op_error(lambda: bpy.ops.headsculpt.check_backend()),
        }
    finally:
        prefs.backend_mode = "LOCAL"


step("url_without_scheme", url_without_scheme)


# --- a head, then rig a moved copy of it twice ------------------------------------------
def generate():
    settings.prompt, settings.seed = "a bald man in his forties", 3
    before = set(bpy.data.objects)
    bpy.ops.headsculpt.generate()
    new = [o for o in bpy.data.objects if o not in before]
    head = max(
        (o for o in new if o.type == "MESH" and o.data.shape_keys),
        key=lambda o: len(o.data.shape_keys.key_blocks),
    )
    return {"head": head.name, "job": head["headsculpt_job_id"]}


step("generate", generate)


def rig_twice():
    source = foreign_copy(bpy.data.objects[report["generate"]["head"]])
    low, high = world_box([source])
    source_centre = (low + high) / 2
    copies = []
    for _ in range(2):
        for obj in bpy.context.view_layer.objects:
            obj.select_set(False)
        source.select_set(True)
        bpy.context.view_layer.objects.active = source
        before = set(bpy.data.objects)
        result = bpy.ops.headsculpt.rig_selected()
        # The copy's own objects (not the glTF importer's bone-display helper).
        new = [o for o in bpy.data.objects if o not in before and "headsculpt_job_id" in o]
        bpy.context.view_layer.update()
        root = next(o for o in new if o.parent is None and o.type == "ARMATURE")
        rigged = next(o for o in new if o.type == "MESH" and o.data.shape_keys)
        c_low, c_high = world_box([o for o in new if o.type == "MESH"])
        copies.append({
            "result": list(result),
            "root_location": list(root.matrix_world.translation),
            "centre": list((c_low + c_high) / 2),
            "low": list(c_low),
            "high": list(c_high),
            "job": rigged["headsculpt_job_id"],
            "parent_id": rigged.get("headsculpt_parent_id", ""),
        })  # fmt: skip
    return {
        "source_origin": list(source.matrix_world.translation),
        "source_centre": list(source_centre),
        "source_size": list(high - low),
        "copies": copies,
    }


step("rig", rig_twice)


# --- item 5: a mesh the face finder cannot orient --------------------------------------
def rig_a_cube():
    bpy.ops.mesh.primitive_cube_add(size=0.2, location=(5.0, 0.0, 0.0))
    return {"error": op_error(lambda: bpy.ops.headsculpt.rig_selected())}


step("rig_failure", rig_a_cube)


# --- item 8: History labels by kind; re-import keeps parent_id -----------------------
def history():
    bpy.ops.headsculpt.refresh_history()
    return {
        "items": [
            {"job": i.job_id, "parent": i.parent_id, "version": i.version,
             "kind": getattr(i, "kind", "")}
            for i in settings.history
        ]
    }  # fmt: skip


step("history", history)


def reimport_rig():
    job = report["rig"]["copies"][0]["job"]
    before = set(bpy.data.objects)
    bpy.ops.headsculpt.import_job(job_id=job)
    new = [o for o in bpy.data.objects if o not in before and "headsculpt_job_id" in o]
    return {"parent_ids": sorted({o.get("headsculpt_parent_id", "") for o in new})}


step("reimport", reimport_rig)


# --- item 7: undo steps -------------------------------------------------------------
def try_undo(before: list[str]) -> str:
    """Undo once: "undone" when the import is gone, else why not (headless bpy has no
    screen, and ``ed.undo`` polls for one)."""
    try:
        bpy.ops.ed.undo()
    except RuntimeError as error:
        return str(error)
    now = set(bpy.data.objects.keys())
    # The import is gone when nothing it added is left (an earlier step may go too).
    return "undone" if now <= set(before) else f"not undone: {sorted(now - set(before))}"


def undo():
    """Which operators register an undo step; whether the timer's ``undo_push`` pushes one
    (timers do not fire headless, so it is called here after the same import); and what
    one undo does. Background bpy starts without an undo stack: an ``ed.undo_push``
    starts it."""
    registered = {
        name: "UNDO" in getattr(getattr(bpy.types, f"HEADSCULPT_OT_{name}"), "bl_options", set())
        for name in ("generate", "edit", "rig_selected", "import_job", "check_backend")
    }
    bpy.ops.ed.undo_push(message="before the imports")
    before = sorted(bpy.data.objects.keys())
    bpy.ops.headsculpt.import_job(job_id=report["generate"]["job"])
    imported = len(bpy.data.objects) - len(before)
    by_operator = try_undo(before)
    before = sorted(bpy.data.objects.keys())
    importer = addon("importer")
    background = addon("background")
    glb = next(Path(data_dir).rglob("head.glb"))
    importer.import_head(bpy.context, str(glb), {"job_id": "timer", "mode": "parametric"})
    timer_imported = len(bpy.data.objects) - len(before)
    pushed = background.undo_push("HeadSculpt: Import")
    return {
        "registered": registered,
        "imported": imported,
        "by_operator": by_operator,
        "timer_imported": timer_imported,
        "pushed": pushed,
        "by_timer": try_undo(before),
    }


step("undo", undo)

save_report(report, report_path)
