"""What the panel offers, as plain data (no bpy): modes, presets and limits.

The add-on cannot import the backend (it talks HTTP to it), so it keeps this copy
of the backend's registry of job kinds and limits; tests/test_job_kinds.py fails
when the two drift apart.
"""

from __future__ import annotations

# (mode, label, description), as the backend's generate job kinds.
MODES = (
    ("parametric", "Parametric", "Seconds, on the CPU: the head model shaped by the text"),
    (
        "sculpt",
        "Sculpt",
        "Minutes: score distillation from Stable Diffusion on a GPU, or to a "
        "reference target on the CPU",
    ),
)
# Quality presets per mode, cheapest first, and the scene property holding each mode's choice.
PRESETS = {
    "parametric": ("draft", "standard", "high"),
    "sculpt": ("test", "preview", "standard", "high"),
}
PRESET_PROPERTY = {"parametric": "quality", "sculpt": "sculpt_quality"}
DEFAULT_PRESET = "standard"
TEXTURE_SIZES = (1024, 2048)
MAX_VARIANTS = 16
EDIT_SCALE_RANGE = (0.0, 10.0)
EDIT_SCALE_DEFAULT = 1.0
SEED_MAX = 2**31 - 1  # Blender's int properties are 32-bit signed; the backend takes < 2**32


def enum_items(values: tuple, describe=lambda value: "") -> list[tuple[str, str, str]]:
    """Blender EnumProperty items for plain values."""
    return [(str(v), str(v).title(), describe(v)) for v in values]
