"""View3D › Sidebar › HeadSculpt: prompt and settings, the running job, history, edit."""

from __future__ import annotations

import os

import bpy

from .core import session
from .core.choices import PRESET_PROPERTY
from .importer import origin_of


def _icon(path: str) -> int:
    """A preview icon for an image file (loaded once per path)."""
    previews = session.get().previews
    if previews is None or not path or not os.path.exists(path):
        return 0
    if path not in previews:
        previews.load(path, path, "IMAGE")
    return previews[path].icon_id


class HEADSCULPT_UL_history(bpy.types.UIList):
    def draw_item(
        self, context, layout, data, item, icon, active_data, active_prop, index=0, flt_flag=0
    ):
        thumbnail = _icon(item.thumbnail)
        row = layout.row(align=True)
        if thumbnail:
            row.label(text="", icon_value=thumbnail)
        version = f"{item.version} · " if item.version and item.version != "v1" else ""
        row.label(text=version + (item.prompt or item.job_id))
        row.label(text=item.state)


class HEADSCULPT_PT_main(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "HeadSculpt"
    bl_label = "HeadSculpt"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.headsculpt
        state = session.get()
        layout.prop(settings, "prompt", text="")
        layout.prop(settings, "negative_prompt")
        layout.prop(settings, "mode", expand=True)
        layout.prop(settings, PRESET_PROPERTY[settings.mode])
        if settings.mode == "sculpt":
            _draw_sculpt_guidance(layout, settings)
        row = layout.row(align=True)
        row.prop(settings, "seed")
        row.prop(settings, "use_random_seed", toggle=True, text="", icon="FILE_REFRESH")
        row.operator("headsculpt.random_seed", text="", icon="MODIFIER")
        row = layout.row(align=True)
        row.prop(settings, "variants")
        row.prop(settings, "texture_size", text="")

        monitor = state.monitor
        running = monitor is not None and not monitor.snapshot().done
        if running:
            layout.progress(
                factor=settings.job_progress,
                text=f"{settings.job_stage or settings.job_state} {settings.job_progress:.0%}",
            )
            if settings.job_state == "queued" and settings.job_stage:
                for line in _lines(settings.job_stage, 40):  # why it waits
                    layout.label(text=line)
            layout.operator("headsculpt.cancel", icon="CANCEL")
        else:
            layout.operator("headsculpt.generate", icon="USER")
        if state.last_error:
            box = layout.box()
            for index, line in enumerate(_lines(state.last_error, 40)):
                box.label(text=line, icon="ERROR" if index == 0 else "NONE")
        elif settings.job_message and settings.job_state in ("failed", "interrupted"):
            layout.label(text=settings.job_message[:80], icon="ERROR")
        if state.notices or state.stopped_jobs:  # jobs the backend stopped on, and how
            box = layout.box()
            for job_id, (_, seen) in list(state.stopped_jobs.items()):
                box.label(text=f"Kept after the backend stopped: {job_id} ({seen})", icon="TIME")
            for notice in state.notices[-3:]:
                for index, line in enumerate(_lines(notice, 40)):
                    box.label(text=line, icon="INFO" if index == 0 else "NONE")
        icon = _icon(settings.preview_path)
        if icon:
            layout.template_icon(icon_value=icon, scale=8.0)
        if len(settings.code_lines):
            box = layout.box()
            box.label(text="Understood:", icon="INFO")
            for line in settings.code_lines:
                box.label(text=line.text)


def _draw_sculpt_guidance(layout, settings) -> None:
    """Stable Diffusion, or a reference target (a file or the History's selected head)."""
    layout.prop(settings, "sculpt_guidance", text="")
    if settings.sculpt_guidance != "reference":
        return
    layout.row().prop(settings, "sculpt_target", expand=True)
    if settings.sculpt_target == "FILE":
        layout.prop(settings, "sculpt_target_path", text="")
    elif 0 <= settings.history_index < len(settings.history):
        item = settings.history[settings.history_index]
        layout.label(text=f"{item.version} {item.prompt[:36]}", icon="CHECKMARK")
    else:
        layout.label(text="Select a head in the History below", icon="INFO")


class HEADSCULPT_PT_history(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "HeadSculpt"
    bl_label = "History"
    bl_parent_id = "HEADSCULPT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.headsculpt
        layout.template_list(
            "HEADSCULPT_UL_history", "", settings, "history", settings, "history_index", rows=4
        )
        row = layout.row(align=True)
        row.operator("headsculpt.refresh_history", icon="FILE_REFRESH", text="Refresh")
        row.operator("headsculpt.import_job", icon="IMPORT", text="Import")
        row.operator("headsculpt.delete_job", icon="TRASH", text="Delete")


class HEADSCULPT_PT_edit(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "HeadSculpt"
    bl_label = "Edit"
    bl_parent_id = "HEADSCULPT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.headsculpt
        origin = origin_of(context.active_object) if context.active_object else {}
        if not origin:
            layout.label(text="Select a generated head to edit it")
            return
        layout.label(text=f"Head: {origin.get('prompt', '')[:40]}")
        layout.prop(settings, "edit_instruction", text="")
        layout.prop(settings, "edit_scale")
        layout.operator("headsculpt.edit", icon="SCULPTMODE_HLT")


class HEADSCULPT_PT_rig(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "HeadSculpt"
    bl_label = "Rig a head"
    bl_parent_id = "HEADSCULPT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.headsculpt
        active = context.active_object
        if active is None or active.type != "MESH":
            layout.label(text="Select a head mesh to rig it")
            return
        layout.label(text=f"Mesh: {active.name[:40]}")
        row = layout.row(align=True)
        row.prop(settings, "rig_up")
        row.prop(settings, "rig_front")
        layout.operator("headsculpt.rig_selected", icon="ARMATURE_DATA")


def _lines(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [text]


CLASSES = (
    HEADSCULPT_UL_history,
    HEADSCULPT_PT_main,
    HEADSCULPT_PT_history,
    HEADSCULPT_PT_edit,
    HEADSCULPT_PT_rig,
)
