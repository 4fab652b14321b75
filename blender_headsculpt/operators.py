"""Operators (stable ids for scripting): generate, edit, rig_selected, cancel, import_job,
start_backend, check_backend, install_backend, refresh_history, delete_job, random_seed.

Every long one is a :class:`~.background.BackgroundOperator`: its ``prepare`` reads
the scene and returns a :class:`~.background.Task` (work on a thread → apply on the
main thread → report). In the UI nothing blocks; with Blender in background mode
(scripts, farms) the same operators block until the work is done. The operators that
change the scene register an undo step (``UNDO``); a head a timer imports after the
operator returned pushes its own.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import bpy

from .background import BLOCKING_ITEMS, BackgroundOperator, Task, fail, redraw
from .core import session
from .core.choices import PRESET_PROPERTY
from .core.code_summary import summarize_code
from .core.errors import HeadSculptError
from .core.job_monitor import JobMonitor, JobSnapshot
from .core.local_backend import install_bundled_backend
from .core.messages import readiness
from .core.placement import Box, free_shift
from .core.rig_request import rig_request
from .core.sculpt_request import sculpt_fields
from .core.versions import version_labels
from .importer import import_head, origin_of
from .preferences import backend_settings, model_settings, user_folder

TICK_SECONDS = 0.2
tick_durations: list[float] = []  # main-thread time of each job timer tick (benchmarks)
SCENE_CHANGING = {"REGISTER", "UNDO"}  # an undo step for each operator that changes the scene


def _downloads() -> str:
    return str(user_folder() / "downloads")


# --- backend ------------------------------------------------------------------------
class HEADSCULPT_OT_check_backend(BackgroundOperator):
    """Ask the backend for its version, device and available modes"""

    bl_idname = "headsculpt.check_backend"
    bl_label = "Check connection"

    def prepare(self, context) -> Task:
        settings = backend_settings(context)
        models = model_settings(context)  # read here: bpy data stays on the main thread
        state = session.get()
        state.health = None

        def apply(health: dict) -> str:
            state.health, state.last_error = health, ""
            return readiness(health, models)  # per mode: ready, or the weights it lacks

        def work() -> dict:
            client = state.connect(settings, start=False)
            health = client.health()
            state.follow_up(client)
            return health

        return Task(work, apply)


class HEADSCULPT_OT_start_backend(BackgroundOperator):
    """Start the local backend (`headsculpt serve` on a free loopback port)"""

    bl_idname = "headsculpt.start_backend"
    bl_label = "Start backend"

    def prepare(self, context) -> Task:
        settings = backend_settings(context)
        if settings.mode == "REMOTE":
            raise HeadSculptError("The backend is remote; nothing to start here")
        state = session.get()

        def apply(health: dict) -> str:
            state.health, state.last_error = health, ""
            return "HeadSculpt backend running"

        return Task(
            lambda: state.connect(settings, start=True).health(),
            apply,
            started="Starting the HeadSculpt backend…",
        )


class HEADSCULPT_OT_install_backend(BackgroundOperator):
    """Create a venv in the extension's user folder and install the bundled backend"""

    bl_idname = "headsculpt.install_backend"
    bl_label = "Install backend"

    def prepare(self, context) -> Task:
        install = session.get().install
        if install.running:
            raise HeadSculptError("An install is already running")
        settings = backend_settings(context)
        prefs = context.preferences.addons[__package__].preferences
        source = str(Path(__file__).resolve().parent / "backend")
        torch_index = prefs.torch_index_url.strip()
        install.running, install.error, install.progress, install.line = True, "", 0.0, ""

        def report(fraction: float, line: str) -> None:
            install.progress, install.line = fraction, line

        def work() -> str:
            try:
                return install_bundled_backend(
                    sys.executable, settings.bundled_venv, source, report, torch_index
                )
            except Exception as error:  # the preferences show it; the base reports it
                install.running, install.error = False, str(error)
                raise

        def apply(python: str) -> str:
            install.running, install.python, install.line = False, python, f"installed: {python}"
            return "HeadSculpt backend installed"

        if not bpy.app.background:
            bpy.app.timers.register(_redraw_while_installing, first_interval=0.5)
        return Task(work, apply, started="Installing the HeadSculpt backend…")


def _redraw_while_installing() -> float | None:
    redraw()
    return 0.5 if session.get().install.running else None


# --- jobs -----------------------------------------------------------------------------
class JobOperator(BackgroundOperator):
    """A backend job: a request (and a file sent first) → followed → its heads imported.

    Subclasses implement :meth:`job`; the monitor follows the job on its own thread, a
    timer (:func:`job_tick`) shows its progress in the panel, and the base imports the
    result on the main thread."""

    bl_options = SCENE_CHANGING

    def job(self, context) -> tuple[dict, str | None, dict | None]:
        """(request, file to upload first or None, placement or None)."""
        raise NotImplementedError

    def prepare(self, context) -> Task:
        state = session.get()
        if state.monitor is not None and not state.monitor.snapshot().done:
            raise HeadSculptError("A job is already running", "Cancel it first")
        request, upload, placement = self.job(context)
        connection = backend_settings(context)
        monitor = JobMonitor(
            lambda: state.connect(connection), request, _downloads(), upload=upload,
            on_lost=state.job_lost, follow_up=state.follow_up,
        )  # fmt: skip
        monitor.placement = placement
        scene_name = context.scene.name
        state.monitor, state.monitor_scene, state.last_error = monitor, scene_name, ""
        state.notices.clear()  # said already; a job the backend stopped on adds its own
        context.scene.headsculpt.code_lines.clear()
        context.scene.headsculpt.preview_path = ""
        monitor.start()
        if not bpy.app.background:
            bpy.app.timers.register(job_tick, first_interval=TICK_SECONDS)

        def apply(snapshot: JobSnapshot) -> str:
            scene = bpy.data.scenes.get(scene_name)
            if scene is None:
                raise HeadSculptError("The scene the job was started from is gone")
            _show(scene, snapshot)
            if snapshot.error is not None:
                raise snapshot.error
            with bpy.context.temp_override(**_context_for(scene)):
                objects = _import_results(
                    bpy.context,
                    snapshot.job_id,
                    snapshot.files,
                    snapshot.code,
                    monitor.request,
                    _monitor_url(monitor),
                    placement,
                )
            return f"HeadSculpt job {snapshot.job_id} imported ({len(objects)} objects)"

        return Task(monitor.wait, apply, started="HeadSculpt job started")


class HEADSCULPT_OT_generate(JobOperator):
    """Make a head from the prompt and import it into the scene"""

    bl_idname = "headsculpt.generate"
    bl_label = "Generate"

    def job(self, context) -> tuple[dict, str | None, None]:
        settings = context.scene.headsculpt
        if not settings.prompt.strip():
            raise HeadSculptError("Write a prompt first")
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
        upload = None
        if settings.mode == "sculpt":  # its guidance; a reference target is uploaded first
            fields, upload = sculpt_fields(
                settings.sculpt_guidance,
                settings.sculpt_target,
                bpy.path.abspath(settings.sculpt_target_path),
                _selected_history_job(context),
            )
            request.update(fields)
        return request, upload, None


class HEADSCULPT_OT_edit(JobOperator):
    """Change the selected generated head with an instruction (identity kept)"""

    bl_idname = "headsculpt.edit"
    bl_label = "Apply edit"

    @classmethod
    def poll(cls, context):
        return context.active_object is not None and bool(origin_of(context.active_object))

    def job(self, context) -> tuple[dict, None, dict]:
        settings = context.scene.headsculpt
        origin = origin_of(context.active_object)
        if not settings.edit_instruction.strip():
            raise HeadSculptError("Write an edit instruction first")
        request = {
            "kind": "edit",
            "mode": origin.get("mode", "parametric"),
            "prompt": origin.get("prompt", ""),
            "parent_id": origin["job_id"],
            "instruction": settings.edit_instruction,
            "edit_scale": settings.edit_scale,
            "models": model_settings(context),
        }
        # The new version (made at the world origin) goes beside the old one, which stays.
        source = context.active_object.parent or context.active_object
        return request, None, _beside(context, source)


class HEADSCULPT_OT_rig_selected(JobOperator):
    """Give the selected head mesh the armature and 52 ARKit shape keys (a rigged copy
    is imported beside it; the original is left as it is)"""

    bl_idname = "headsculpt.rig_selected"
    bl_label = "Rig selected head"

    @classmethod
    def poll(cls, context):
        return context.active_object is not None and context.active_object.type == "MESH"

    def job(self, context) -> tuple[dict, str, dict]:
        source = context.active_object
        settings = context.scene.headsculpt
        request = rig_request(settings.rig_up, settings.rig_front)
        folder = Path(_downloads()) / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        mesh_file = folder / f"{bpy.path.clean_name(source.name)}-{int(time.time())}.glb"
        placement = _beside(context, source)  # before the export moves it for a moment
        _export_mesh(context, source, str(mesh_file))
        return request, str(mesh_file), placement


def _beside(context, source: bpy.types.Object) -> dict[str, Any]:
    """Where a new copy of ``source`` (made around ``source``'s origin) goes: its origin
    moved along X past the source and past any earlier copy standing there."""
    own = {source, *source.children_recursive}
    box = _world_box([o for o in own if o.type == "MESH"])
    others = [
        _world_box([o])
        for o in context.view_layer.objects
        if o.type == "MESH" and o not in own and o.visible_get()
    ]
    x, y, z = source.matrix_world.translation
    return {"beside": source.name, "offset": (x + free_shift(box, others), y, z)}


def _world_box(objects: list[bpy.types.Object]) -> Box:
    """The world-space box around ``objects``' bounding boxes (a point when empty)."""
    import mathutils

    corners = [o.matrix_world @ mathutils.Vector(c) for o in objects for c in o.bound_box]
    if not corners:
        return (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    low = tuple(min(c[i] for c in corners) for i in range(3))
    high = tuple(max(c[i] for c in corners) for i in range(3))
    return low, high


def _export_mesh(context, source: bpy.types.Object, path: str) -> None:
    """Only ``source``, with its modifiers applied, turned and scaled as it sits in the
    world but around its own origin (glTF, Y up): the rigged copy comes back around the
    origin, and placing that at the source's origin (shifted) keeps the two alike."""
    selected = [o for o in context.view_layer.objects if o.select_get()]
    for obj in selected:
        obj.select_set(False)
    source.select_set(True)
    placed = source.matrix_world.copy()
    centred = placed.copy()
    centred.translation = (0.0, 0.0, 0.0)
    source.matrix_world = centred
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
    except RuntimeError as error:
        raise HeadSculptError(f"Blender could not export {source.name} ({error})") from None
    finally:
        source.matrix_world = placed
        source.select_set(False)
        for obj in selected:
            obj.select_set(True)
    if "FINISHED" not in result or not os.path.exists(path):
        raise HeadSculptError(f"Blender could not export {source.name}")


class HEADSCULPT_OT_cancel(bpy.types.Operator):
    """Stop the running job (files it finished are kept)"""

    bl_idname = "headsculpt.cancel"
    bl_label = "Cancel"

    blocking: bpy.props.EnumProperty(items=BLOCKING_ITEMS, default="AUTO", options={"SKIP_SAVE"})

    def execute(self, context):
        monitor = session.get().monitor
        if monitor is None or monitor.snapshot().done:
            return fail(self, HeadSculptError("No job is running"))
        monitor.cancel()
        if bpy.app.background if self.blocking == "AUTO" else self.blocking == "YES":
            _show(context.scene, monitor.wait())
        self.report({"INFO"}, "Cancelling the HeadSculpt job…")
        return {"FINISHED"}


def job_tick() -> float | None:
    """Timer: copy the monitor's snapshot into the scene while the job runs (the job
    operator's task imports the result when it ends)."""
    started = time.perf_counter()
    state = session.get()
    monitor = state.monitor
    scene = bpy.data.scenes.get(state.monitor_scene)
    if monitor is None or scene is None:
        return None
    snapshot = monitor.snapshot()
    _show(scene, snapshot)
    tick_durations.append(time.perf_counter() - started)
    return None if snapshot.done else TICK_SECONDS


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
        offset = tuple(placement["offset"])  # beside its source, not at the 3D cursor
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


def _show(scene, snapshot: JobSnapshot) -> None:
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
    redraw()


def _remember(scene, job_id: str, files: dict, request: dict) -> None:
    history = scene.headsculpt.history
    for index, item in enumerate(history):
        if item.job_id == job_id:
            history.remove(index)
            break
    item = history.add()
    item.job_id, item.prompt, item.state = job_id, request.get("prompt", ""), "succeeded"
    item.kind, item.mode = request.get("kind", ""), request.get("mode", "")
    item.parent_id = request.get("parent_id") or ""
    item.thumbnail = next((p for n, p in sorted(files.items()) if n.endswith(".png")), "")
    history.move(len(history) - 1, 0)
    _label_versions(history)


def _label_versions(history) -> None:
    """Each item's label: its version along a chain of edits, or its kind (upload, rig…)."""
    labels = version_labels(
        {"id": i.job_id, "kind": i.kind, "mode": i.mode, "parent_id": i.parent_id} for i in history
    )
    for item in history:
        item.version = labels[item.job_id]


# --- history ----------------------------------------------------------------------------
class HEADSCULPT_OT_refresh_history(BackgroundOperator):
    """List the backend's past jobs (newest first) with their previews"""

    bl_idname = "headsculpt.refresh_history"
    bl_label = "Refresh history"

    def prepare(self, context) -> Task:
        settings = backend_settings(context)
        state = session.get()
        scene_name = context.scene.name
        downloads = _downloads()

        def work() -> list[dict]:
            client = state.connect(settings, start=False)
            state.follow_up(client)  # a stopped job shown finished is announced too
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

        def apply(jobs: list[dict]) -> str:
            scene = bpy.data.scenes.get(scene_name)
            if scene is None:
                return ""
            history = scene.headsculpt.history
            history.clear()
            for job in jobs:
                item = history.add()
                item.job_id, item.prompt, item.state = job["id"], job["prompt"], job["state"]
                item.kind, item.mode = job.get("kind", ""), job.get("mode", "")
                item.parent_id = job.get("parent_id") or ""
                item.thumbnail = job["thumbnail"]
            _label_versions(history)
            return f"{len(jobs)} HeadSculpt jobs"

        return Task(work, apply)


class HEADSCULPT_OT_import_job(BackgroundOperator):
    """Import a finished job's head(s) again"""

    bl_idname = "headsculpt.import_job"
    bl_label = "Import"
    bl_options = SCENE_CHANGING

    job_id: bpy.props.StringProperty(
        name="Job id", description="Default: the selected history item", options={"SKIP_SAVE"}
    )

    def prepare(self, context) -> Task:
        job_id = self.job_id or _selected_history_job(context)
        if not job_id:
            raise HeadSculptError("Pick a job in the history first")
        settings = backend_settings(context)
        scene_name = context.scene.name
        downloads = _downloads()

        def work() -> tuple[dict, dict, str]:
            client = session.get().connect(settings, start=False)
            status = client.job(job_id)
            if not any(o["name"].endswith(".glb") for o in status["outputs"]):
                raise HeadSculptError(f"Job {job_id} has no head to import ({status['state']})")
            files = {
                o["name"]: client.download(
                    job_id, o["name"], os.path.join(downloads, job_id, o["name"])
                )
                for o in status["outputs"]
            }
            return status, files, client.url

        def apply(found: tuple[dict, dict, str]) -> str:
            status, files, url = found
            scene = bpy.data.scenes.get(scene_name)
            if scene is None:
                raise HeadSculptError("The scene the import was started from is gone")
            request = {  # what the job was asked, as far as the History needs it
                "prompt": status["prompt"],
                "mode": status["mode"],
                "kind": status.get("kind", ""),
                "parent_id": status.get("parent_id") or "",
            }
            with bpy.context.temp_override(**_context_for(scene)):
                objects = _import_results(
                    bpy.context, job_id, files, status["descriptive_code"], request, url
                )
            return f"Imported {len(objects)} objects from job {job_id}"

        return Task(work, apply, started=f"Importing job {job_id}…")


class HEADSCULPT_OT_delete_job(BackgroundOperator):
    """Delete the selected job and its files on the backend (the scene is not touched)"""

    bl_idname = "headsculpt.delete_job"
    bl_label = "Delete job"

    job_id: bpy.props.StringProperty(name="Job id", options={"SKIP_SAVE"})

    def prepare(self, context) -> Task:
        job_id = self.job_id or _selected_history_job(context)
        if not job_id:
            raise HeadSculptError("Pick a job in the history first")
        settings = backend_settings(context)
        scene_name = context.scene.name

        def apply(_: None) -> str:
            scene = bpy.data.scenes.get(scene_name)
            history = scene.headsculpt.history if scene is not None else []
            for index, item in enumerate(history):
                if item.job_id == job_id:
                    history.remove(index)
                    break
            return f"Deleted job {job_id}"

        return Task(lambda: session.get().connect(settings, start=False).delete(job_id), apply)


class HEADSCULPT_OT_random_seed(bpy.types.Operator):
    """Draw a new seed"""

    bl_idname = "headsculpt.random_seed"
    bl_label = "Random seed"
    bl_options = SCENE_CHANGING

    def execute(self, context):
        context.scene.headsculpt.seed = random.randrange(0, 2**31)
        return {"FINISHED"}


def _selected_history_job(context) -> str:
    """The job id of the History's selected entry, or "" when none is."""
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
