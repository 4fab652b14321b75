"""What a sculpt job adds to its request, from the panel's Sculpt choices (no bpy here).

A sculpt is guided either by Stable Diffusion (the weights set in the preferences'
Models, a GPU's work) or by a *reference target*: a head the sculpt rebuilds by score
distillation on the CPU, with no weights at all — the way to try the sculpt on any
machine, and how its proofs run. The target is a ``.glb`` on disk (uploaded first) or
a finished head in the History (sent as the job's parent).
"""

from __future__ import annotations

import os
from typing import Any

from .errors import HeadSculptError

# (value, label, description): the backend's ``guidance`` values.
SCULPT_GUIDANCE = (
    ("sd", "Stable Diffusion", "Score distillation from Stable Diffusion: the weights set in "
     "the preferences' Models, minutes on a GPU"),
    ("reference", "Reference target", "Rebuild a target head by score distillation on the "
     "CPU: no weights; the Test preset takes about ten minutes"),
)  # fmt: skip
SCULPT_TARGETS = (
    ("FILE", "File", "A .glb head on disk"),
    ("HISTORY", "History", "The head selected in the History"),
)
TARGET_SUFFIXES = (".glb",)


def sculpt_fields(
    guidance: str, target: str, path: str, history_job: str
) -> tuple[dict[str, Any], str | None]:
    """The request's sculpt fields and the file to upload first (its upload becomes the
    job's ``parent_id``), or None.

    ``path`` is absolute (Blender's ``//`` resolved by the caller); ``history_job`` the
    job id of the History's selected entry, or "" when none is selected."""
    if guidance == "sd":
        return {"guidance": "sd"}, None
    if guidance != "reference":
        raise HeadSculptError(f"Unknown sculpt guidance {guidance!r}")
    if target == "HISTORY":
        if not history_job:
            raise HeadSculptError(
                "No head is selected in the History to sculpt to",
                "Select one there (Refresh lists the backend's heads), or pick a file",
            )
        return {"guidance": "reference", "parent_id": history_job}, None
    if not path.strip():
        raise HeadSculptError("Pick the target head's .glb file in the Sculpt settings")
    if not path.lower().endswith(TARGET_SUFFIXES):
        raise HeadSculptError(
            f"The target {os.path.basename(path)} is not a .glb file",
            "Export the head as glTF Binary (.glb) first",
        )
    if not os.path.isfile(path):
        raise HeadSculptError(f"The target file {os.path.basename(path)} does not exist")
    return {"guidance": "reference"}, path
