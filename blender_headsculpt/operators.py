"""Operators (stable ids for scripting): generate, edit, rig_selected, cancel, import_job,
start_backend, check_backend, install_backend, refresh_history, delete_job, random_seed.

In the UI they never block: network work runs on threads and a timer copies what
they found into ``scene.headsculpt``. With Blender in background mode (scripts,
farms) timers do not fire, so the same operators block until the job ends.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import bpy

from . import session
from .choices import PRESET_PROPERTY
from .client import BackendError
from .code_summary import summarize_code
from .importer import import_head, origin_of
from .job_monitor import JobMonitor
from .local_backend import install_bundled_backend
from .preferences import backend_settings, model_settings, user_folder
from .rig_request import rig_request
from .versions import version_labels

BLOCKING_ITEMS = [
    ("AUTO", "Auto", "Block only when Blender runs in background mode"),
    ("YES", "Block", "Wait for the job to end"),
    ("NO", "Don't block", "Return at once; a timer follows the job"),
]
TICK_SECONDS = 0.2
tick_durations: list[float] = []  # main-thread time of each job timer tick (benchmarks)


def _blocking(choice: str) -> bool:
    return bpy.app.background if choice == "AUTO" else choice == "YES"


def _fail(operator, error: Exception) -> set[str]:
    """Report an error in the report bar and the panel; Blender keeps working."""
    message = str(error)
    session.get().last_error = message
    operator.report({"ERROR"}, message)
    return {"CANCELLED"}


def _downloads() -> str:
    return str(user_folder() / "downloads")


# --- backend ------------------------------------------------------------------------
class HEADSCULPT_OT_check_backend(bpy.types.Operator):
    """Ask the backend for its version, device and available modes"""

    bl_idname = "headsculpt.check_backend"
    bl_label = "Check connection"

    blocking: bpy.props.EnumProperty(items=BLOCKING_ITEMS, default="AUTO")

    def execute(self, context):
        settings = backend_settings(context)
        state = session.get()
        blocking = _blocking(self.blocking)
        outcome: dict = {}

        def work():
            return state.connect(settings, start=False).health()

        def apply(health, error):
            if error is not None:
                state.health, state.last_error = None, str(error)
                outcome["error"] = error
                if not blocking:
                    print(f"HeadSculpt: {error}")
                return
            state.health, state.last_error = health, ""
            outcome["health"] = health
            _redraw()

        session.run_in_background(work, apply, blocking)
        if not blocking:
            return {"FINISHED"}
        if "error" in outcome:
            return _fail(self, outcome["error"])
        health = outcome["health"]
        ready = [n for n, p in health["pipelines"].items() if p["available"]]
        self.report(
            {"INFO"},
            f"HeadSculpt {health['version']} on {health['device']}; "
            f"modes: {', '.join(ready) or 'none'}",
        )
        return {"FINISHED"}


class HEADSCULPT_OT_start_backend(bpy.types.Operator):
    """Start the local backend (`headsculpt serve` on a free loopback port)"""

    bl_idname = "headsculpt.start_backend"
    bl_label = "Start backend"

    blocking: bpy.props.EnumProperty(items=BLOCKING_ITEMS, default="AUTO")

    def execute(self, context):
        settings = backend_settings(context)
        if settings.mode == "REMOTE":
            return _fail(self, BackendError("The backend is remote; nothing to start here"))
        state = session.get()
        blocking = _blocking(self.blocking)
        outcome: dict = {}

        def apply(client, error):
            if error is not None:
                state.last_error = str(error)
                outcome["error"] = error
            else:
                try:
                    state.health, state.last_error = client.health(), ""
                except BackendError as failure:
                    state.last_error, outcome["error"] = str(failure), failure
            _redraw()

        session.run_in_background(lambda: state.connect(settings, start=True), apply, blocking)
        if blocking and "error" in outcome:
            return _fail(self, outcome["error"])
        self.report(
            {"INFO"},
            "HeadSculpt backend running" if blocking else "Starting the HeadSculpt backend…",
        )
        return {"FINISHED"}


class HEADSCULPT_OT_install_backend(bpy.types.Operator):
    """Create a venv in the extension's user folder and install the bundled backend"""

    bl_idname = "headsculpt.install_backend"
    bl_label = "Install backend"

    def execute(self, context):
        import sys

        state = session.get()
        if state.install.running:
            return _fail(self, BackendError("An install is already running"))
        settings = backend_settings(context)
        prefs = context.preferences.addons[__package__].preferences
        source = str(Path(__file__).resolve().parent / "backend")
        install = state.install
        install.running, install.error, install.progress, install.line = True, "", 0.0, ""

        def report(fraction: float, line: str) -> None:
            install.progress, install.line = fraction, line

        def work():
            return install_bundled_backend(
                sys.executable, settings.bundled_venv, source, report, prefs.torch_index_url.strip()
            )

        def apply(python, error):
            install.running = False
            if error is not None:
                install.error = str(error)
            else:
                install.python, install.line = python, f"installed: {python}"
            _redraw()

        blocking = bpy.app.background
        if not blocking:
            bpy.app.timers.register(_redraw_while_installing, first_interval=0.5)
        session.run_in_background(work, apply, blocking)
        if blocking and install.error:
            return _fail(self, BackendError(install.error))
        return {"FINISHED"}


def _redraw_while_installing():
    _redraw()
    return 0.5 if session.get().install.running else None


# --- jobs -----------------------------------------------------------------------------
class HEADSCULPT_OT_generate(bpy.types.Operator):
    """Make a head from the prompt and import it into the scene"""

    bl_idname = "headsculpt.generate"
    bl_label = "Generate"

    blocking: bpy.props.EnumProperty(items=BLOCKING_ITEMS, default="AUTO")

    def execute(self, context):
        settings = context.scene.headsculpt
        if not settings.prompt.strip():
            return _fail(self, BackendError("Write a prompt first"))
        if settings.use_random_seed:
            settings.seed = random.randrange(0, 2**31)
        request = {
            "kind": "generate",
            "mode": settings.mode,
            "prompt": settings.prompt,
            "negative_prompt": settings.negative_prompt,
            "seed": settings.seed,
            "quality": getattr(settings, PRESET_PROPERTY[settings.mode]),
            "variants": settings.variants,
            "texture_size": int(settings.texture_size),
            "models": model_settings(context),
        }
        return _start_job(self, context, request, _blocking(self.blocking))


class HEADSCULPT_OT_edit(bpy.types.Operator):
    """Change the selected generated head with an instruction (identity kept)"""

    bl_idname = "headsculpt.edit"
    bl_label = "Apply edit"

    blocking: bpy.props.EnumProperty(items=BLOCKING_ITEMS, default="AUTO")

    @classmethod
    def poll(cls, context):
        return context.active_object is not None and bool(origin_of(context.active_object))

    def execute(self, context):
        settings = context.scene.headsculpt
        origin = origin_of(context.active_object)
        if not settings.edit_instruction.strip():
            return _fail(self, BackendError("Write an edit instruction first"))
        request = {
            "kind": "edit",
            "mode": origin.get("mode", "parametric"),
            "prompt": origin.get("prompt", ""),
            "parent_id": origin["job_id"],
            "instruction": settings.edit_instruction,
            "edit_scale": settings.edit_scale,
            "models": model_settings(context),
        }
        # The new version (made at the origin) goes beside the old one, which stays as it is.
        source = context.active_object.parent or context.active_object
        width = max(context.active_object.dimensions.x, 1e-3)
        x, y, z = source.matrix_world.translation
        placement = {"beside": source.name, "offset": (x + 1.25 * width, y, z)}
        blocking = _blocking(self.blocking)
        return _start_job(self, context, request, blocking, placement=placement)


class HEADSCULPT_OT_rig_selected(bpy.types.Operator):
    """Give the selected head mesh the armature and 52 ARKit shape keys (a rigged copy
    is imported beside it; the original is left as it is)"""

    bl_idname = "headsculpt.rig_selected"
    bl_label = "Rig selected head"

    blocking: bpy.props.EnumProperty(items=BLOCKING_ITEMS, default="AUTO")

    @classmethod
    def poll(cls, context):
        return context.active_object is not None and context.active_object.type == "MESH"

    def execute(self, context):
        source = context.active_object
        settings = context.scene.headsculpt
        try:
            request = rig_request(settings.rig_up, settings.rig_front)
        except ValueError as error:
            return _fail(self, BackendError(str(error)))
        folder = Path(_downloads()) / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        mesh_file = folder / f"{bpy.path.clean_name(source.name)}-{int(time.time())}.glb"
        try:
            _export_mesh(context, source, str(mesh_file))
        except RuntimeError as error:
            return _fail(self, BackendError(f"Could not export {source.name}: {error}"))
        width = max(source.dimensions.x, 1e-3)
        placement = {"beside": source.name, "offset": (1.25 * width, 0.0, 0.0)}
        return _start_job(
            self, context, request, _blocking(self.blocking), str(mesh_file), placement
        )


def _export_mesh(context, source, path: str) -> None:
    """Only ``source``, with its modifiers applied, as it sits in the world (glTF, Y up)."""
    selected = [o for o in context.view_layer.objects if o.select_get()]
    for obj in selected:
        obj.select_set(False)
    source.select_set(True)
    try:
        result = bpy.ops.export_scene.gltf(
            filepath=path,
            export_format="GLB",
            use_selection=True,
            export_apply=True,
            export_skins=False,
            export_morph=False,
            export_animations=False,
        )
    finally:
        source.select_set(False)
        for obj in selected:
            obj.select_set(True)
    if "FINISHED" not in result or not os.path.exists(path):
        raise RuntimeError("the glTF exporter did not finish")


class HEADSCULPT_OT_cancel(bpy.types.Operator):
    """Stop the running job (files it finished are kept)"""

    bl_idname = "headsculpt.cancel"
    bl_label = "Cancel"

    blocking: bpy.props.EnumProperty(items=BLOCKING_ITEMS, default="AUTO")

    def execute(self, context):
        monitor = session.get().monitor
        if monitor is None or monitor.snapshot().done:
            return _fail(self, BackendError("No job is running"))
        monitor.cancel()
        if _blocking(self.blocking):
            _show(context.scene, monitor.wait())
        self.report({"INFO"}, "Cancelling the HeadSculpt job…")
        return {"FINISHED"}


def _start_job(
    operator,
    context,
    request: dict,
    blocking: bool,
    upload: str | None = None,
    placement: dict | None = None,
) -> set[str]:
    """Follow ``request`` (sending ``upload`` first, when given) and import what it makes;
    ``placement`` puts the result beside an object instead of at the 3D cursor."""
    state = session.get()
    if state.monitor is not None and not state.monitor.snapshot().done:
        return _fail(operator, BackendError("A job is already running", "Cancel it first"))
    connection = backend_settings(context)
    monitor = JobMonitor(lambda: state.connect(connection), request, _downloads(), upload=upload)
    monitor.placement = placement
    state.monitor, state.monitor_scene, state.last_error = monitor, context.scene.name, ""
    scene = context.scene
    scene.headsculpt.code_lines.clear()
    scene.headsculpt.preview_path = ""
    monitor.start()
    if not blocking:
        bpy.app.timers.register(job_tick, first_interval=TICK_SECONDS)
        operator.report({"INFO"}, "HeadSculpt job started")
        return {"FINISHED"}
    snapshot = monitor.wait()
    _show(scene, snapshot)
    if snapshot.error is not None or snapshot.state != "succeeded":
        reason = snapshot.error or BackendError(
            f"The job ended {snapshot.state}: {snapshot.message or 'no message'}"
        )
        return _fail(operator, reason)
    _import_results(
        context,
        snapshot.job_id,
        snapshot.files,
        snapshot.code,
        monitor.request,
        _monitor_url(monitor),
        placement,
    )
    operator.report({"INFO"}, f"HeadSculpt job {snapshot.job_id} imported")
    return {"FINISHED"}


def job_tick() -> float | None:
    """Timer: copy the monitor's snapshot into the scene; hand finished jobs to the importer."""
    started = time.perf_counter()
    state = session.get()
    monitor = state.monitor
    scene = bpy.data.scenes.get(state.monitor_scene)
    if monitor is None or scene is None:
        return None
    snapshot = monitor.snapshot()
    _show(scene, snapshot)
    tick_durations.append(time.perf_counter() - started)
    if not snapshot.done:
        return TICK_SECONDS
    if snapshot.state == "succeeded":
        bpy.app.timers.register(_import_finished, first_interval=0.0)
    elif snapshot.error is not None:
        state.last_error = str(snapshot.error)
    return None


def _import_finished() -> None:
    state = session.get()
    monitor = state.monitor
    scene = bpy.data.scenes.get(state.monitor_scene)
    if monitor is None or scene is None:
        return None
    context = _context_for(scene)
    try:
        snapshot = monitor.snapshot()
        with bpy.context.temp_override(**context):
            _import_results(
                bpy.context,
                snapshot.job_id,
                snapshot.files,
                snapshot.code,
                monitor.request,
                _monitor_url(monitor),
                monitor.placement,
            )
    except Exception as error:  # import problems are reported, the scene stays as it was
        state.last_error = f"Import failed: {error}"
    _redraw()
    return None


def _import_results(
    context,
    job_id: str,
    files: dict,
    code,
    request: dict,
    url: str,
    placement: dict | None = None,
) -> list:
    """Import every head a job made, tagged with where it came from."""
    offset = None
    if placement and placement["beside"] in bpy.data.objects:
        offset = tuple(placement["offset"])  # the result keeps the source's world position
    objects = []
    for name in sorted(files):
        if not name.endswith(".glb"):
            continue
        sidecar_path = files.get(name[:-4] + ".json")
        sidecar = json.loads(Path(sidecar_path).read_text()) if sidecar_path else {}
        origin = {
            "prompt": request.get("prompt", ""),
            "seed": sidecar.get("seed", request.get("seed")),
            "mode": request.get("mode", "parametric"),
            "job_id": job_id,
            "backend_url": url,
            "descriptive_code": code,
            "parent_id": request.get("parent_id") or "",
        }
        objects += import_head(context, files[name], origin, offset)
    _remember(context.scene, job_id, files, request)
    return objects


def _monitor_url(monitor: JobMonitor) -> str:
    return monitor.client.url if monitor.client else ""


def _show(scene, snapshot) -> None:
    settings = scene.headsculpt
    settings.job_id = snapshot.job_id
    settings.job_state = snapshot.state
    settings.job_progress = snapshot.progress
    settings.job_stage = snapshot.stage
    settings.job_message = str(snapshot.error) if snapshot.error else snapshot.message
    if snapshot.preview_path and snapshot.preview_path != settings.preview_path:
        settings.preview_path = snapshot.preview_path
    lines = summarize_code(snapshot.code)
    if [line.text for line in settings.code_lines] != lines:
        settings.code_lines.clear()
        for text in lines:
            settings.code_lines.add().text = text
    _redraw()


def _remember(scene, job_id: str, files: dict, request: dict) -> None:
    history = scene.headsculpt.history
    for index, item in enumerate(history):
        if item.job_id == job_id:
            history.remove(index)
            break
    item = history.add()
    item.job_id, item.prompt, item.state = job_id, request.get("prompt", ""), "succeeded"
    item.parent_id = request.get("parent_id") or ""
    item.thumbnail = next((p for n, p in sorted(files.items()) if n.endswith(".png")), "")
    history.move(len(history) - 1, 0)
    _label_versions(history)


def _label_versions(history) -> None:
    """Each item's place in its chain of edits (v1 made from text, v2 its edit, …)."""
    labels = version_labels({"id": i.job_id, "parent_id": i.parent_id} for i in history)
    for item in history:
        item.version = labels[item.job_id]


# --- history ----------------------------------------------------------------------------
class HEADSCULPT_OT_refresh_history(bpy.types.Operator):
    """List the backend's past jobs (newest first) with their previews"""

    bl_idname = "headsculpt.refresh_history"
    bl_label = "Refresh history"

    blocking: bpy.props.EnumProperty(items=BLOCKING_ITEMS, default="AUTO")

    def execute(self, context):
        settings = backend_settings(context)
        state = session.get()
        scene_name = context.scene.name
        downloads = _downloads()
        outcome: dict = {}

        def work():
            client = state.connect(settings, start=False)
            jobs = client.jobs(limit=30)["jobs"]
            for job in jobs:
                thumbs = [o["name"] for o in job["outputs"] if o["name"].endswith(".png")]
                job["thumbnail"] = ""
                if thumbs:
                    path = os.path.join(downloads, job["id"], thumbs[0])
                    if not os.path.exists(path):
                        client.download(job["id"], thumbs[0], path)
                    job["thumbnail"] = path
            return jobs

        def apply(jobs, error):
            if error is not None:
                state.last_error = outcome["error"] = str(error)
                _redraw()
                return
            scene = bpy.data.scenes.get(scene_name)
            if scene is None:
                return
            history = scene.headsculpt.history
            history.clear()
            for job in jobs:
                item = history.add()
                item.job_id, item.prompt, item.state = job["id"], job["prompt"], job["state"]
                item.parent_id = job.get("parent_id") or ""
                item.thumbnail = job["thumbnail"]
            _label_versions(history)
            _redraw()

        blocking = _blocking(self.blocking)
        session.run_in_background(work, apply, blocking)
        if blocking and "error" in outcome:
            return _fail(self, BackendError(outcome["error"]))
        return {"FINISHED"}


class HEADSCULPT_OT_import_job(bpy.types.Operator):
    """Import a finished job's head(s) again"""

    bl_idname = "headsculpt.import_job"
    bl_label = "Import"

    job_id: bpy.props.StringProperty(
        name="Job id", description="Default: the selected history item"
    )

    def execute(self, context):
        job_id = self.job_id or _selected_history_job(context)
        if not job_id:
            return _fail(self, BackendError("Pick a job in the history first"))
        try:
            client = session.get().connect(backend_settings(context), start=False)
            status = client.job(job_id)
            if status["state"] != "succeeded" and not any(
                o["name"].endswith(".glb") for o in status["outputs"]
            ):
                raise BackendError(f"Job {job_id} has no head to import ({status['state']})")
            files = {
                o["name"]: client.download(
                    job_id, o["name"], os.path.join(_downloads(), job_id, o["name"])
                )
                for o in status["outputs"]
            }
        except BackendError as error:
            return _fail(self, error)
        request = {"prompt": status["prompt"], "mode": status["mode"]}
        objects = _import_results(
            context, job_id, files, status["descriptive_code"], request, client.url
        )
        self.report({"INFO"}, f"Imported {len(objects)} objects from job {job_id}")
        return {"FINISHED"}


class HEADSCULPT_OT_delete_job(bpy.types.Operator):
    """Delete the selected job and its files on the backend (the scene is not touched)"""

    bl_idname = "headsculpt.delete_job"
    bl_label = "Delete job"

    job_id: bpy.props.StringProperty(name="Job id")

    def execute(self, context):
        job_id = self.job_id or _selected_history_job(context)
        if not job_id:
            return _fail(self, BackendError("Pick a job in the history first"))
        try:
            session.get().connect(backend_settings(context), start=False).delete(job_id)
        except BackendError as error:
            return _fail(self, error)
        history = context.scene.headsculpt.history
        for index, item in enumerate(history):
            if item.job_id == job_id:
                history.remove(index)
                break
        return {"FINISHED"}


class HEADSCULPT_OT_random_seed(bpy.types.Operator):
    """Draw a new seed"""

    bl_idname = "headsculpt.random_seed"
    bl_label = "Random seed"

    def execute(self, context):
        context.scene.headsculpt.seed = random.randrange(0, 2**31)
        return {"FINISHED"}


def _selected_history_job(context) -> str:
    settings = context.scene.headsculpt
    if 0 <= settings.history_index < len(settings.history):
        return settings.history[settings.history_index].job_id
    return ""


def _context_for(scene) -> dict:
    window = bpy.context.window_manager.windows[0] if bpy.context.window_manager.windows else None
    override = {"scene": scene}
    if window is not None:
        override["window"] = window
    return override


def _redraw() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type in ("VIEW_3D", "PREFERENCES"):
                area.tag_redraw()


CLASSES = (
    HEADSCULPT_OT_check_backend,
    HEADSCULPT_OT_start_backend,
    HEADSCULPT_OT_install_backend,
    HEADSCULPT_OT_generate,
    HEADSCULPT_OT_edit,
    HEADSCULPT_OT_rig_selected,
    HEADSCULPT_OT_cancel,
    HEADSCULPT_OT_refresh_history,
    HEADSCULPT_OT_import_job,
    HEADSCULPT_OT_delete_job,
    HEADSCULPT_OT_random_seed,
)
