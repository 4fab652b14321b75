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
EDIT_SCALE_DEFAULT = 1.0  # how strongly an edit is applied: 1 = as asked, for every kind
# IESD (a sculpted head's edit) blends the instruction's noise prediction with the
# identity's, w_e · ε(edit) + (1 − w_e) · ε(identity). "As asked" is HeadSculpt's even
# blend, the identity kept on; an edit_scale of 2 or more follows the instruction alone.
IESD_WEIGHT_AS_ASKED = 0.5
MODEL_SLOTS = ("base_model", "landmark_controlnet", "edit_controlnet", "back_view_embedding")
MAX_MODEL_SOURCE_CHARS = 1000
MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply")  # what `rig` reads
MAX_UPLOAD_BYTES = 256 * 2**20  # a 200k-face scan with textures fits
MAX_CONCURRENT_UPLOADS = 4  # uploads streaming at once; more get 429 + Retry-After
UPLOAD_RETRY_AFTER_SECONDS = 5  # what a refused upload is told to wait

# Mesh budgets (docs/rig.md, "Budgets"): every mesh or glTF read — `headsculpt rig`,
# `evaluate`, uploads, rig/sculpt/edit jobs — is measured against these before the work
# that grows with it, and refused with the budget's name and what to do. The rig's cost
# is ~7 KB of memory per vertex (docs/benchmarks.md: 200k vertices peak at +1.4 GB), so
# the vertex budget keeps the largest accepted rig near 2 GB.
MAX_MESH_FILE_BYTES = MAX_UPLOAD_BYTES  # a mesh file (and each file it names) on disk
MAX_MESH_VERTICES = 250_000  # vertices after instancing (every placement of a mesh counts)
MAX_MESH_TRIANGLES = 500_000  # triangles after instancing and triangulating polygons
MAX_MESH_PARTS = 1_000  # placed primitives / material groups: each is a mesh of the result
MAX_GLTF_NODES = 5_000  # glTF nodes (a head with a 300-bone skeleton has a few hundred)
MAX_GLTF_JSON_VALUES = 1_000_000  # commas in a glTF's JSON: ~its number of values
MAX_GLTF_JSON_BYTES = 32 * 2**20  # a .gltf, or a GLB's JSON chunk (a big head: export .glb)
MAX_ACCESSOR_BYTES = 2 * MAX_UPLOAD_BYTES  # all glTF accessors' data as arrays, summed
MAX_TEXTURE_SIDE = 8192  # pixels, either side of any one image
MAX_TEXTURE_PIXELS = 4 * 4096 * 4096  # decoded pixels of all images of a file: four 4K maps
MAX_POINTS_AT_ONE_SPOT = 1_000  # vertices (or triangle centres) at one position; a pole or
# a seam of a real head has a few dozen, a pile of copies has thousands
MAX_OVERDRAW = 128  # Σ (longest edge / bounding-box diagonal)² over the welded triangles:
# how many times their extents cover a picture of the mesh, what each render of the face
# search costs (a head: ~5-10; the project's heads with hair cards: ~30-35)
MIN_KEPT_TRIANGLE_SHARE = 0.1  # at least this share must survive welding (not degenerate,
# not a repeat of another)

# A rig job on the server runs in a worker process of its own (api/worker.py) that is
# stopped when it outgrows these: the job fails, the server stays up.
RIG_MEMORY_BYTES = 3 * 2**30  # the worker's resident memory (~0.6 GB of it is its models)
RIG_SECONDS = 900  # a 200k-vertex rig takes ~30 s on a quiet 2-core machine, ~70 s busy
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


def iesd_weight(edit_scale: float) -> float:
    """IESD's w_e in [0, 1] for a request's ``edit_scale`` (``IESD_WEIGHT_AS_ASKED`` at 1)."""
    return min(1.0, max(0.0, IESD_WEIGHT_AS_ASKED * edit_scale))
