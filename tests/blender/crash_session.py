"""The add-on's own backend killed mid-job, then the next Generate (issue 36, item 3).

Run by tests/test_blender_crash_recovery.py in real bpy 4.5. argv: ZIP BACKEND_PYTHON
DATA_DIR REPORT_JSON VARIANTS. BLENDER_USER_RESOURCES must point at an empty folder.

A multi-variant head is generated without blocking (the monitor follows it on its
thread, as in the UI); once it is part-way the backend process gets ``kill -9``. What
the panel then says is recorded, the artist presses Generate again (the add-on starts
a fresh backend, which recovers the killed job), and the report holds how long that
took, both jobs' server timestamps, what the panel said while waiting (with when), and what it says
once the recovered job has finished too.
"""

import json
import sys
import time
import traceback
import urllib.request

import bpy
from session_support import addon, install, save_report

zip_path, backend_python, data_dir, report_path, variants = sys.argv[-5:]
report: dict = {"errors": {}}


def job_status(url: str, job_id: str) -> dict:
    with urllib.request.urlopen(f"{url}/v1/jobs/{job_id}", timeout=10) as answer:
        return json.loads(answer.read())


def panel_lines(scene) -> list[str]:
    """What the main panel shows as text about the job (its state, stage, message) and
    the session's notices."""
    settings = scene.headsculpt
    state = session.get()
    return [settings.job_state, settings.job_stage, settings.job_message, state.last_error,
            *getattr(state, "notices", [])]  # fmt: skip


try:
    prefs = install(zip_path, backend_python, data_dir)
    session = addon("core.session")
    operators = addon("operators")
    scene = bpy.context.scene
    settings = scene.headsculpt
    bpy.ops.headsculpt.start_backend()
    first_url = session.get().local_backend.url

    # The long job: followed on the monitor's thread (as in the UI), not blocking.
    settings.prompt, settings.seed, settings.quality = "a round-faced old sailor", 11, "draft"
    settings.variants = int(variants)
    bpy.ops.headsculpt.generate(blocking="NO")
    monitor = session.get().monitor
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        snapshot = monitor.snapshot()
        if snapshot.state == "running" and snapshot.progress >= 0.5:
            break
        time.sleep(0.1)
    long_job = monitor.snapshot().job_id
    report["killed_at_progress"] = monitor.snapshot().progress
    session.get().local_backend.process.kill()  # the backend dies mid-job (kill -9)
    monitor.wait(60)
    operators.job_tick()  # what the panel's timer does (timers do not fire headless)
    report["after_kill"] = panel_lines(scene)
    report["after_kill_state"] = monitor.snapshot().state

    # The artist's next Generate: one draft head.
    settings.variants, settings.seed = 1, 12
    seen: list[list[str]] = []
    started = time.monotonic()
    bpy.ops.headsculpt.generate(blocking="NO")
    second = session.get().monitor
    while not second.snapshot().done and time.monotonic() - started < 600:
        operators.job_tick()
        lines = panel_lines(scene)
        if not seen or seen[-1][1:] != lines:
            seen.append([time.monotonic() - started, *lines])
        time.sleep(0.1)
    operators.job_tick()
    seen.append([time.monotonic() - started, *panel_lines(scene)])
    report["second_seconds"] = time.monotonic() - started
    report["second_state"] = second.snapshot().state
    report["second_error"] = str(second.snapshot().error or "")
    report["panel_while_second"] = seen
    url = session.get().local_backend.url
    report["restarted"] = url != first_url
    new_job = second.snapshot().job_id
    report["second"] = job_status(url, new_job)
    # The recovered job finishes after the artist's; then the panel says so.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = job_status(url, long_job)
        if status["state"] in ("succeeded", "failed", "cancelled", "interrupted"):
            break
        time.sleep(0.5)
    report["long"] = job_status(url, long_job)
    bpy.ops.headsculpt.refresh_history()
    report["history"] = {i.job_id: i.state for i in settings.history}
    report["after_recovered"] = panel_lines(scene)
except Exception:
    report["errors"]["session"] = traceback.format_exc()
finally:
    save_report(report, report_path)
