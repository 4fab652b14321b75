"""Add-on preferences: how to reach the backend, and which models the GPU modes use."""

from __future__ import annotations

from pathlib import Path

import bpy

from .core import session
from .core.messages import SLOT_LABELS, mode_readiness
from .core.session import BackendSettings

MODES = [
    ("LOCAL", "Local", "Start `headsculpt serve` from a Python interpreter you installed it in"),
    ("BUNDLED", "Bundled", "Install the backend shipped with this extension into its own venv"),
    ("REMOTE", "Remote", "Use a backend running elsewhere (URL and token)"),
]


def addon_name() -> str:
    return __package__


def preferences(context=None) -> HeadSculptPreferences:
    context = context or bpy.context
    return context.preferences.addons[addon_name()].preferences


def user_folder() -> Path:
    return Path(bpy.utils.extension_path_user(addon_name(), path="", create=True))


def backend_settings(context=None) -> BackendSettings:
    """The connection settings as plain values, safe to hand to a worker thread."""
    prefs = preferences(context)
    folder = user_folder()
    return BackendSettings(
        mode=prefs.backend_mode,
        python=bpy.path.abspath(prefs.python_path),
        bundled_venv=str(folder / "venv"),
        data_dir=bpy.path.abspath(prefs.data_dir) if prefs.data_dir else str(folder / "jobs"),
        log_path=str(folder / "backend.log"),
        remote_url=prefs.remote_url.strip(),
        remote_token=prefs.remote_token.strip(),
    )


def model_settings(context=None) -> dict[str, str]:
    prefs = preferences(context)
    slots = ("base_model", "landmark_controlnet", "edit_controlnet", "back_view_embedding")
    return {slot: getattr(prefs, slot).strip() for slot in slots if getattr(prefs, slot).strip()}


class HeadSculptPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    backend_mode: bpy.props.EnumProperty(name="Backend", items=MODES, default="LOCAL")
    python_path: bpy.props.StringProperty(
        name="Python",
        subtype="FILE_PATH",
        default="",
        description="Interpreter with the headsculpt backend installed (e.g. .venv/bin/python)",
    )
    data_dir: bpy.props.StringProperty(
        name="Job folder",
        subtype="DIR_PATH",
        default="",
        description="Where the local backend keeps jobs (default: the extension's user folder)",
    )
    torch_index_url: bpy.props.StringProperty(
        name="Torch index",
        default="",
        description="Optional pip index for torch in the bundled install "
        "(e.g. https://download.pytorch.org/whl/cpu for a small CPU build)",
    )
    remote_url: bpy.props.StringProperty(name="URL", default="http://127.0.0.1:7860")
    remote_token: bpy.props.StringProperty(name="Token", subtype="PASSWORD", default="")
    base_model: bpy.props.StringProperty(
        name="Stable Diffusion",
        default="",
        description="Folder, .safetensors file or hub id of SD 1.5/2.1-base (sculpt, edit)",
    )
    landmark_controlnet: bpy.props.StringProperty(name="Landmark ControlNet", default="")
    edit_controlnet: bpy.props.StringProperty(name="InstructPix2Pix ControlNet", default="")
    back_view_embedding: bpy.props.StringProperty(name="Back-view token", default="")

    def draw(self, context) -> None:
        layout = self.layout
        layout.prop(self, "backend_mode", expand=True)
        state = session.get()
        if self.backend_mode == "LOCAL":
            layout.prop(self, "python_path")
            layout.prop(self, "data_dir")
        elif self.backend_mode == "BUNDLED":
            layout.prop(self, "torch_index_url")
            layout.prop(self, "data_dir")
            install = state.install
            row = layout.row()
            row.enabled = not install.running
            row.operator("headsculpt.install_backend", icon="IMPORT")
            if install.running or install.line:
                layout.progress(factor=install.progress, text=install.line[-60:])
            if install.error:
                layout.label(text=install.error[:120], icon="ERROR")
        else:
            layout.prop(self, "remote_url")
            layout.prop(self, "remote_token")
        row = layout.row()
        if self.backend_mode != "REMOTE":
            row.operator("headsculpt.start_backend", icon="PLAY")
        row.operator("headsculpt.check_backend", icon="URL")
        _draw_health(layout, state, {slot: getattr(self, slot).strip() for slot in SLOT_LABELS})
        box = layout.box()
        box.label(text="Models for the Sculpt and Edit modes (sent to the backend)")
        for slot in ("base_model", "landmark_controlnet", "edit_controlnet", "back_view_embedding"):
            box.prop(self, slot)


def _draw_health(layout, state, models: dict[str, str]) -> None:
    """The last check: per mode ready, the weights still unset below (each job sends them;
    ``model_slots`` in the backend's health), or why the backend cannot run it."""
    if state.last_error:
        layout.label(text=state.last_error[:160], icon="ERROR")
    elif state.health:
        health = state.health
        layout.label(text=f"HeadSculpt {health['version']} on {health['device']}", icon="CHECKMARK")
        for name, kind, detail in mode_readiness(health, models):
            text = {"ready": f"{name}: ready", "needs": f"{name}: needs {detail}",
                    "unavailable": f"{name}: {detail or 'not available'}"}[kind]  # fmt: skip
            ready = kind == "ready"
            layout.label(text=text, icon="CHECKBOX_HLT" if ready else "CHECKBOX_DEHLT")
