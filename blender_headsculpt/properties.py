"""Scene settings (``scene.headsculpt``): what to make, and what the running job shows."""

from __future__ import annotations

import bpy

JOB_MODES = [
    ("parametric", "Parametric", "Seconds, on the CPU: the head model shaped by the text"),
    ("sculpt", "Sculpt", "Minutes, on a GPU: score distillation from Stable Diffusion"),
]
QUALITY = [("draft", "Draft", ""), ("standard", "Standard", ""), ("high", "High", "")]
TEXTURE_SIZES = [("1024", "1024", "1024 × 1024 textures"), ("2048", "2048", "2048 × 2048")]


class HeadSculptHistoryItem(bpy.types.PropertyGroup):
    job_id: bpy.props.StringProperty()
    prompt: bpy.props.StringProperty()
    state: bpy.props.StringProperty()
    thumbnail: bpy.props.StringProperty(subtype="FILE_PATH")


class HeadSculptCodeLine(bpy.types.PropertyGroup):
    text: bpy.props.StringProperty()


class HeadSculptSettings(bpy.types.PropertyGroup):
    prompt: bpy.props.StringProperty(
        name="Prompt",
        default="a weathered fisherman in his seventies with a bulbous nose",
        description="Describe the head",
    )
    negative_prompt: bpy.props.StringProperty(name="Negative", default="")
    mode: bpy.props.EnumProperty(name="Mode", items=JOB_MODES, default="parametric")
    quality: bpy.props.EnumProperty(name="Quality", items=QUALITY, default="standard")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0)
    use_random_seed: bpy.props.BoolProperty(
        name="Random", default=False, description="Draw a new seed for every Generate"
    )
    variants: bpy.props.IntProperty(name="Variants", default=1, min=1, max=16)
    texture_size: bpy.props.EnumProperty(name="Texture", items=TEXTURE_SIZES, default="1024")
    edit_instruction: bpy.props.StringProperty(name="Instruction", default="")
    edit_scale: bpy.props.FloatProperty(name="Edit scale", default=1.0, min=0.0, max=10.0)

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
