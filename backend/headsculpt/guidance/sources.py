"""What a model source string names, and the error for a slot that names nothing usable.

Shared by the model loader (models.py) and the back-view token (back_view_token.py),
which the loader calls: kept apart so neither imports the other both ways.
Messages name the *slot* (``base_model``, ...); the caller says where to set it
(a CLI option, a request field, the add-on's preferences), since only it knows.
"""

from __future__ import annotations

import os
from pathlib import Path

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
SLOT_HELP = {
    "base_model": "Stable Diffusion 1.5 or 2.1-base",
    "landmark_controlnet": "the MediaPipe-face ControlNet (CrucibleAI/ControlNetMediaPipeFace)",
    "edit_controlnet": "the InstructPix2Pix ControlNet (e.g. lllyasviel/control_v11e_sd15_ip2p)",
    "back_view_embedding": "the <back-view> token (headsculpt train-back-token)",
}


class MissingWeightsError(ValueError):
    """A model slot is empty or names nothing loadable; ``slot`` names it."""

    def __init__(self, slot: str, reason: str) -> None:
        super().__init__(
            f"{slot} ({SLOT_HELP[slot]}): {reason}; give a diffusers folder, a single "
            ".safetensors checkpoint, or a hub id on a machine with the network"
        )
        self.slot = slot
        self.reason = reason


def source_kind(source: str) -> str:
    """ "folder", "file" or "hub" for a source string; "missing" for a path that is not there."""
    path = Path(os.path.expanduser(source))
    if path.is_dir():
        return "folder"
    if path.is_file():
        return "file"
    looks_like_path = source.startswith((".", "/", "~")) or path.suffix in SINGLE_FILE_SUFFIXES
    if looks_like_path or source.count("/") != 1:
        return "missing"
    return "hub"
