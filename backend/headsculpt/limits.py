"""The limits every surface agrees on, and the one rule for what counts as a prompt.

The text layer, the pipelines, the HTTP schema and the CLI all read these numbers
from here (the add-on keeps a copy that tests/test_job_kinds.py checks). Nothing
here imports torch: the HTTP schema imports this module.
"""

from __future__ import annotations

import unicodedata

MAX_PROMPT_CHARS = 2000
SEED_RANGE = (0, 2**32)  # [low, high): a uint32, as Blender and numpy both hold it
MAX_VARIANTS = 16
TEXTURE_SIZES = (1024, 2048)
EDIT_SCALE_RANGE = (0.0, 10.0)
MODEL_SLOTS = ("base_model", "landmark_controlnet", "edit_controlnet", "back_view_embedding")
MAX_MODEL_SOURCE_CHARS = 1000
MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply")  # what `rig` reads
MAX_UPLOAD_BYTES = 256 * 2**20  # a 200k-face scan with textures fits
MAX_JOB_ATTEMPTS = 3  # a job the server died under starts again (from its checkpoints) this often
AXIS_PATTERN = r"^[+-]?[xyzXYZ]$"  # an input mesh's up / front axis: "+y", "-z", "x"

# Whitespace a person types inside a description; every other control character is refused.
_TYPED_WHITESPACE = frozenset("\t\n\r")
# Unicode categories of characters that show nothing: separators, controls, format
# (zero-width) characters, surrogates, private use and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"})


class RequestError(ValueError):
    """A request value out of its limits; ``field`` names it (the API's field name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def clean_prompt(text: object, field: str = "prompt", required: bool = True) -> str:
    """The prompt as a pipeline reads it: trimmed, bounded, with something visible in it.

    Raises :class:`RequestError` for text that is not valid Unicode (lone surrogates),
    carries control characters other than tabs and line breaks, is longer than
    ``MAX_PROMPT_CHARS``, or — when ``required`` — shows nothing once trimmed
    (empty, spaces, zero-width characters only). Messages never echo the text
    itself, which may not be encodable.
    """
    if not isinstance(text, str):
        raise RequestError(field, f"must be text, got {type(text).__name__}")
    if len(text) > MAX_PROMPT_CHARS:
        raise RequestError(
            field, f"is {len(text)} characters long; the limit is {MAX_PROMPT_CHARS}"
        )
    for position, character in enumerate(text):
        category = unicodedata.category(character)
        if category == "Cs":
            raise RequestError(
                field, f"has a lone surrogate at character {position} (not valid Unicode text)"
            )
        if category == "Cc" and character not in _TYPED_WHITESPACE:
            raise RequestError(
                field, f"has the control character U+{ord(character):04X} at character {position}"
            )
    trimmed = _trim(text)
    if required and not any(_is_visible(c) for c in trimmed):
        raise RequestError(field, "is empty: describe the head in words")
    return trimmed


def _trim(text: str) -> str:
    """Strip whitespace and invisible characters from both ends."""
    start, end = 0, len(text)
    while start < end and not _is_visible(text[start]):
        start += 1
    while end > start and not _is_visible(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_visible(character: str) -> bool:
    return unicodedata.category(character) not in _INVISIBLE_CATEGORIES
