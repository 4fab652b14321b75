"""The CPU reference sculpt from the panel, with its step previews (issue 36, item 6).

Run by tests/test_blender_sculpt_panel.py. argv: ZIP BACKEND_PYTHON DATA_DIR REPORT_JSON.
BLENDER_USER_RESOURCES must point at an empty folder. In real bpy 4.5 against a real
local backend: a parametric head is made (it is the target), a reference sculpt with no
target is refused, a sculpt to the head's file is started without blocking and followed
until its first step preview reaches the panel (the timer's tick copies the monitor's
snapshot into the scene, as in the UI), then cancelled; a sculpt to the History's head
is started and cancelled. Nothing is sculpted to the end: that is the proofs' work.
"""

import sys
import time
import traceback

import bpy
from session_support import addon, install, op_error, save_report

zip_path, backend_python, data_dir, report_path = sys.argv[-4:]
PREVIEW_SECONDS = 600  # the first preview comes after 100 coarse steps
report: dict = {"errors": {}}


def wait_for(monitor, done, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done(monitor.snapshot()):
        if time.monotonic() > deadline or monitor.snapshot().done:
            return done(monitor.snapshot())
        time.sleep(0.25)
    return True


def is_png(path: str) -> bool:
    if not path:
        return False
    with open(path, "rb") as handle:
        return handle.read(8) == b"\x89PNG\r\n\x1a\n"


try:
    prefs = install(zip_path, backend_python, data_dir)
    session = addon("core.session")
    operators = addon("operators")
    settings = bpy.context.scene.headsculpt
    bpy.ops.headsculpt.start_backend()

    # The target: a parametric head, made and imported as an artist would.
    settings.mode, settings.quality = "parametric", "draft"
    settings.prompt = "a middle-aged man with a square jaw"
    bpy.ops.headsculpt.generate()
    made = session.get().monitor.snapshot()
    report["target"] = {"job": made.job_id, "state": made.state, "file": made.files["head.glb"]}

    settings.mode, settings.sculpt_quality = "sculpt", "test"
    settings.sculpt_guidance, settings.sculpt_target = "reference", "FILE"
    settings.sculpt_target_path = ""
    report["no_target"] = op_error(lambda: bpy.ops.headsculpt.generate())

    # A sculpt to the file, followed until its first step preview is in the panel.
    settings.sculpt_target_path = made.files["head.glb"]
    started = time.monotonic()
    bpy.ops.headsculpt.generate(blocking="NO")
    monitor = session.get().monitor
    previewed = wait_for(monitor, lambda s: bool(s.preview_path), PREVIEW_SECONDS)
    operators.job_tick()  # what the UI's timer does while the job runs
    snapshot = monitor.snapshot()
    preview = settings.preview_path
    report["file_sculpt"] = {
        "request": {k: v for k, v in monitor.request.items() if k != "models"},
        "previewed": previewed, "seconds": round(time.monotonic() - started, 1),
        "state": snapshot.state, "stage": snapshot.stage, "progress": snapshot.progress,
        "scene_preview": preview, "monitor_preview": snapshot.preview_path,
        "png": is_png(preview),
        "scene_state": settings.job_state, "scene_stage": settings.job_stage,
    }  # fmt: skip
    bpy.ops.headsculpt.cancel(blocking="YES")
    report["file_sculpt"]["ended"] = monitor.snapshot().state

    # A sculpt to the head selected in the History: its job is the sculpt's parent.
    bpy.ops.headsculpt.refresh_history()
    jobs = [item.job_id for item in settings.history]
    settings.history_index = jobs.index(made.job_id)
    settings.sculpt_target = "HISTORY"
    bpy.ops.headsculpt.generate(blocking="NO")
    monitor = session.get().monitor
    wait_for(monitor, lambda s: bool(s.job_id), 120)
    report["history_sculpt"] = {
        "request": {k: v for k, v in monitor.request.items() if k != "models"},
        "job": monitor.snapshot().job_id,
    }
    bpy.ops.headsculpt.cancel(blocking="YES")
    report["history_sculpt"]["ended"] = monitor.snapshot().state
    bpy.ops.headsculpt.refresh_history()
    report["history"] = {item.job_id: item.version for item in settings.history}
except Exception:
    report["errors"]["session"] = traceback.format_exc()
finally:
    save_report(report, report_path)
