"""What *Check connection* says each mode needs (issue 36, item 6), in real bpy 4.5.

Run by tests/test_blender_readiness.py. argv: ZIP BACKEND_PYTHON DATA_DIR REPORT_JSON.
BLENDER_USER_RESOURCES must point at an empty folder. The check runs twice against a
real local backend: with no model set in the preferences, then with the sculpt's three
set; the report holds the line the operator reported each time (Blender prints a
report as "Info: …" in background mode; it is read from the process's stdout).
"""

import ctypes
import os
import sys
import tempfile
import traceback

import bpy
from session_support import addon, install, save_report

zip_path, backend_python, data_dir, report_path = sys.argv[-4:]
report: dict = {"errors": {}}
libc = ctypes.CDLL(None)


def reported(call) -> str:
    """What ``call`` printed to the process's stdout (Blender's reports)."""
    sys.stdout.flush()
    libc.fflush(None)
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(1)
        os.dup2(captured.fileno(), 1)
        try:
            call()
        finally:
            sys.stdout.flush()
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
        captured.seek(0)
        return captured.read().decode(errors="replace")


try:
    prefs = install(zip_path, backend_python, data_dir)
    session = addon("core.session")
    bpy.ops.headsculpt.start_backend()
    report["no_models"] = reported(lambda: bpy.ops.headsculpt.check_backend())
    prefs.base_model = "runwayml/stable-diffusion-v1-5"
    prefs.landmark_controlnet = "CrucibleAI/ControlNetMediaPipeFace"
    prefs.back_view_embedding = "some/back-view-token"
    report["sculpt_models"] = reported(lambda: bpy.ops.headsculpt.check_backend())
    report["health"] = session.get().health
except Exception:
    report["errors"]["session"] = traceback.format_exc()
finally:
    save_report(report, report_path)
