"""Landmark condition images for the facial-landmark ControlNet.

CrucibleAI's ControlNetMediaPipeFace was trained on MediaPipe FaceMesh drawings of
photos: black background, polylines two pixels thick for the face oval, each eye, each
eyebrow and the lips (no iris ring), and a filled 4×4 square at each pupil (landmarks
468 and 473), each group in its own colour. MediaPipe draws every connection in the
frame, whether the face hides it or not, so a three-quarter view carries both eyes and
the whole oval; drawing our head's landmarks the same way, for the camera of the
current view, shows the ControlNet what it learnt from.

How much is drawn depends on how far the view is from the face (HeadArtist's rule):
within 90° of the front, every group (:data:`FACE`); farther round, the face oval only
(:data:`OVAL`); back views nothing (:data:`BLANK`: HeadSculpt runs no ControlNet there and
gives them the ``<back-view>`` token instead).

Drawing is vectorised, on the device the landmarks are on: each line is sampled every
half pixel, each sample paints a 2 × 2 block, and where groups overlap the later group
of :data:`GROUP_COLOURS` wins (a max over group ranks), as drawing them in order would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from headsculpt.render.camera import Camera, to_pixels

# Final RGB colours of each drawing group, in drawing order (later ones on top).
GROUP_COLOURS: dict[str, tuple[int, int, int]] = {
    "face_oval": (10, 200, 10),
    "right_eyebrow": (180, 220, 10),
    "left_eyebrow": (10, 220, 180),
    "right_eye": (180, 200, 10),
    "left_eye": (10, 200, 180),
    "lips": (10, 180, 10),
}
PUPILS: dict[int, tuple[int, int, int]] = {
    468: (250, 200, 10),  # the subject's right pupil
    473: (10, 200, 250),  # the subject's left pupil
}
LINE_WIDTH = 2  # pixels: each line sample paints a LINE_WIDTH² block
PUPIL_SIZE = 4
_SAMPLES_PER_PIXEL = 2  # samples along a line per pixel of its length

# What a view shows of the face.
FACE, OVAL, BLANK = "face", "oval", "blank"
FULL_FACE_WITHIN = 90.0  # degrees between the view and the face's front


def drawing_scope(off_front_degrees: float, back_view: bool) -> str:
    """What to draw for a view ``off_front_degrees`` from the face's front (0 = facing it,
    180 = behind): every group within :data:`FULL_FACE_WITHIN`, the oval beyond, nothing
    for a back view."""
    if back_view:
        return BLANK
    return FACE if off_front_degrees <= FULL_FACE_WITHIN else OVAL


def off_front(camera: Camera, face_centre: Sequence[float], face_forward: Sequence[float]) -> float:
    """Degrees between the face's forward direction and the direction from the face's
    centre toward ``camera`` (0: the camera faces the face)."""
    to_eye = np.asarray(camera.eye, np.float64) - np.asarray(face_centre, np.float64)
    forward = np.asarray(face_forward, np.float64)
    cosine = to_eye @ forward / max(np.linalg.norm(to_eye) * np.linalg.norm(forward), 1e-12)
    return math.degrees(math.acos(min(max(cosine, -1.0), 1.0)))


class LandmarkPainter:
    """Draws the condition images of a batch of views; built once per head's connections.

    ``connections`` maps each group of :data:`GROUP_COLOURS` to (K, 2) landmark index
    pairs (the prior's MediaPipe drawing groups: render does not import the prior's data).
    """

    def __init__(self, connections: dict[str, np.ndarray], size: int) -> None:
        missing = sorted(set(GROUP_COLOURS) - set(connections))
        if missing:
            raise ValueError(f"connections lack the drawing group(s) {missing}")
        self.size = size
        pairs, ranks = [], []
        for rank, group in enumerate(GROUP_COLOURS, start=1):
            group_pairs = np.asarray(connections[group], np.int64).reshape(-1, 2)
            pairs.append(group_pairs)
            ranks.append(np.full(len(group_pairs), rank))
        self._pairs = np.concatenate(pairs)  # (M, 2)
        self._ranks = np.concatenate(ranks)  # (M,) 1 … groups: the later group wins
        self._oval_rank = 1 + list(GROUP_COLOURS).index("face_oval")
        first_pupil = len(GROUP_COLOURS) + 1
        self._pupil_ranks = {index: first_pupil + k for k, index in enumerate(PUPILS)}
        palette = [(0, 0, 0), *GROUP_COLOURS.values(), *PUPILS.values()]
        self._palette = np.asarray(palette, np.float32) / 255.0  # rank → colour

    def __call__(
        self, cameras: Sequence[Camera], landmarks: torch.Tensor, scopes: Sequence[str]
    ) -> torch.Tensor:
        """(B, 3, size, size) drawings in [0, 1] on the landmarks' device, one per camera;
        ``landmarks`` (478, 3) world positions, ``scopes`` one of FACE / OVAL / BLANK each."""
        if len(cameras) != len(scopes):
            raise ValueError(f"{len(cameras)} cameras for {len(scopes)} scopes")
        device, size = landmarks.device, self.size
        pairs = torch.as_tensor(self._pairs, device=device)
        ranks = torch.as_tensor(self._ranks, device=device)
        painted, painted_ranks = [], []  # per view: (N, 3) view/x/y and (N,) ranks
        for view, (camera, scope) in enumerate(zip(cameras, scopes, strict=True)):
            if scope == BLANK:
                continue
            if scope not in (FACE, OVAL):
                raise ValueError(f"scope must be {FACE}, {OVAL} or {BLANK}, got {scope!r}")
            pixels, _ = to_pixels(camera, landmarks.float(), size, size)
            chosen = slice(None) if scope == FACE else ranks == self._oval_rank
            where, rank = _line_pixels(pixels[pairs[chosen, 0]], pixels[pairs[chosen, 1]],
                                       ranks[chosen])  # fmt: skip
            if scope == FACE:
                squares = [_pupil_square(pixels[index]) for index in self._pupil_ranks]
                where = torch.cat([where, *squares])
                pupil_ranks = torch.tensor(list(self._pupil_ranks.values()), device=device)
                rank = torch.cat([rank, pupil_ranks.repeat_interleave(PUPIL_SIZE**2)])
            painted.append(torch.nn.functional.pad(where, (1, 0), value=view))  # view, x, y
            painted_ranks.append(rank)
        canvas = torch.zeros(len(cameras) * size * size, dtype=torch.int64, device=device)
        if painted:
            where, rank = torch.cat(painted), torch.cat(painted_ranks)
            view, x, y = where.unbind(1)
            inside = (x >= 0) & (x < size) & (y >= 0) & (y < size)
            flat = (view * size + y.clamp(0, size - 1)) * size + x.clamp(0, size - 1)
            canvas.scatter_reduce_(0, flat, rank * inside, reduce="amax")  # off-frame: rank 0
        palette = torch.as_tensor(self._palette.T.copy(), device=device)  # (3, ranks)
        colours = palette.index_select(1, canvas)  # (3, B·size²)
        return colours.reshape(3, len(cameras), size, size).transpose(0, 1)


def _line_pixels(
    starts: torch.Tensor, ends: torch.Tensor, ranks: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The integer pixels (N, 2) the lines from ``starts`` to ``ends`` (M, 2) paint and each
    one's rank (N,): samples every 1/_SAMPLES_PER_PIXEL of a pixel along each line, each a
    LINE_WIDTH² block (the pixel the sample is in and its neighbours toward the sample)."""
    lengths = (ends - starts).norm(dim=1)
    counts = (lengths * _SAMPLES_PER_PIXEL).ceil().long() + 1  # ≥ 1 sample: both ends too
    line = torch.repeat_interleave(torch.arange(len(starts), device=starts.device), counts)
    first = torch.cumsum(counts, 0) - counts
    step = torch.arange(len(line), device=starts.device) - first[line]
    t = (step / (counts[line] - 1).clamp(min=1))[:, None]
    samples = starts[line] + t * (ends - starts)[line]  # (N, 2)
    half = (LINE_WIDTH - 1) / 2.0
    offsets = torch.tensor([[dx, dy] for dx in (-half, half) for dy in (-half, half)],
                           device=starts.device)  # fmt: skip
    blocks = (samples[:, None] + offsets).floor().long().reshape(-1, 2)
    return blocks, ranks[line].repeat_interleave(len(offsets))


def _pupil_square(pixel: torch.Tensor) -> torch.Tensor:
    """(PUPIL_SIZE², 2) the filled square around a pupil's pixel (PIL's rectangle from
    −PUPIL_SIZE/2 to +PUPIL_SIZE/2 − 1)."""
    half = PUPIL_SIZE // 2
    steps = torch.arange(-half, PUPIL_SIZE - half, device=pixel.device)
    dx, dy = torch.meshgrid(steps, steps, indexing="ij")
    return pixel.floor().long() + torch.stack([dx.reshape(-1), dy.reshape(-1)], 1)
