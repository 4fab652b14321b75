"""Scene settings (``scene.headsculpt``): what to make, and what the running job shows."""

from __future__ import annotations

import bpy

from .core.choices import (
    DEFAULT_PRESET,
    EDIT_SCALE_DEFAULT,
    EDIT_SCALE_RANGE,
    MAX_VARIANTS,
    MODES,
    PRESETS,
    SEED_MAX,
    TEXTURE_SIZES,
    enum_items,
)
from .core.rig_request import BLENDER_AXES
from .core.sculpt_request import SCULPT_GUIDANCE, SCULPT_TARGETS


def _texture_label(size: int) -> str:
    return f"{size} × {size} textures"


class HeadSculptHistoryItem(bpy.types.PropertyGroup):
    job_id: bpy.props.StringProperty()
    prompt: bpy.props.StringProperty()
    state: bpy.props.StringProperty()
    thumbnail: bpy.props.StringProperty(subtype="FILE_PATH")
    kind: bpy.props.StringProperty()  # generate, edit, rig, upload
    mode: bpy.props.StringProperty()  # parametric, sculpt
    parent_id: bpy.props.StringProperty()  # the job it was made from (edit, rig, a sculpt's target)
    version: bpy.props.StringProperty()  # "v1", "v2" … along edits; else "rig", "upload", "sculpt"


class HeadSculptCodeLine(bpy.types.PropertyGroup):
    text: bpy.props.StringProperty()


class HeadSculptSettings(bpy.types.PropertyGroup):
    prompt: bpy.props.StringProperty(
        name="Prompt",
        default="a weathered fisherman in his seventies with a bulbous nose",
        description="Describe the head",
    )
    negative_prompt: bpy.props.StringProperty(name="Negative", default="")
    mode: bpy.props.EnumProperty(name="Mode", items=list(MODES), default=MODES[0][0])
    quality: bpy.props.EnumProperty(
        name="Quality", items=enum_items(PRESETS["parametric"]), default=DEFAULT_PRESET
    )
    sculpt_quality: bpy.props.EnumProperty(
        name="Quality", items=enum_items(PRESETS["sculpt"]), default=DEFAULT_PRESET
    )
    sculpt_guidance: bpy.props.EnumProperty(
        name="Guidance", items=list(SCULPT_GUIDANCE), default=SCULPT_GUIDANCE[0][0]
    )
    sculpt_target: bpy.props.EnumProperty(
        name="Target", items=list(SCULPT_TARGETS), default=SCULPT_TARGETS[0][0]
    )
    sculpt_target_path: bpy.props.StringProperty(
        name="Target GLB", subtype="FILE_PATH", description="The head the sculpt rebuilds"
    )
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0, max=SEED_MAX)
    use_random_seed: bpy.props.BoolProperty(
        name="Random", default=False, description="Draw a new seed for every Generate"
    )
    variants: bpy.props.IntProperty(name="Variants", default=1, min=1, max=MAX_VARIANTS)
    texture_size: bpy.props.EnumProperty(
        name="Texture",
        items=enum_items(TEXTURE_SIZES, _texture_label),
        default=str(TEXTURE_SIZES[0]),
    )
    edit_instruction: bpy.props.StringProperty(name="Instruction", default="")
    rig_up: bpy.props.EnumProperty(
        name="Up",
        items=[(a, a.title(), "The mesh's up axis in Blender") for a in BLENDER_AXES],
        default="AUTO",
        description="Auto finds the face; pick an axis when the head lies on its side",
    )
    rig_front: bpy.props.EnumProperty(
        name="Front",
        items=[(a, a.title(), "The axis the face looks along in Blender") for a in BLENDER_AXES],
        default="AUTO",
    )
    edit_scale: bpy.props.FloatProperty(
        name="Edit scale",
        default=EDIT_SCALE_DEFAULT,
        min=EDIT_SCALE_RANGE[0],
        max=EDIT_SCALE_RANGE[1],
    )

    # What the panel shows about the current (or last) job.
    job_id: bpy.props.StringProperty()
    job_state: bpy.props.StringProperty()
    job_progress: bpy.props.FloatProperty(min=0.0, max=1.0, subtype="FACTOR")
    job_stage: bpy.props.StringProperty()
    job_message: bpy.props.StringProperty()
    preview_path: bpy.props.StringProperty(subtype="FILE_PATH")
    code_lines: bpy.props.CollectionProperty(type=HeadSculptCodeLine)
    history: bpy.props.CollectionProperty(type=HeadSculptHistoryItem)
    history_index: bpy.props.IntProperty()


CLASSES = (HeadSculptHistoryItem, HeadSculptCodeLine, HeadSculptSettings)
