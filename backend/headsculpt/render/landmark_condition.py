"""Landmark condition images for the facial-landmark ControlNet.

CrucibleAI's ControlNetMediaPipeFace was trained on MediaPipe FaceMesh drawings:
black background, polylines two pixels thick for the face oval, each eye, each
eyebrow and the lips (no iris ring), and a filled 4×4 square at each pupil
(landmarks 468 and 473), each group in its own colour. Drawing our head's
embedded landmarks the same way, for the camera of the current view, tells the
ControlNet where the face is and which way it turns. Back views get a blank
image (HeadSculpt switches the ControlNet off there), and a landmark the head
itself hides is not drawn, nor any line that touches it.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from headsculpt.render.camera import Camera, to_pixels
from headsculpt.render.picking import visible_points

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
LINE_WIDTH = 2
PUPIL_SIZE = 4


def draw_landmarks(
    pixels: np.ndarray,
    visible: np.ndarray,
    connections: dict[str, np.ndarray],
    size: int,
) -> np.ndarray:
    """A (size, size, 3) uint8 drawing of landmarks at ``pixels`` (478, 2).

    ``pixels`` are continuous image coordinates (pixel (0, 0) spans [0, 1]²);
    ``connections`` maps each group of :data:`GROUP_COLOURS` to index pairs.
    """
    missing = sorted(set(GROUP_COLOURS) - set(connections))
    if missing:
        raise ValueError(f"connections lack the drawing group(s) {missing}")
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    points = np.floor(pixels).astype(np.int64)
    for group, colour in GROUP_COLOURS.items():
        for start, end in np.asarray(connections[group]):
            if visible[start] and visible[end]:
                draw.line([tuple(points[start]), tuple(points[end])], fill=colour, width=LINE_WIDTH)
    half = PUPIL_SIZE // 2
    for index, colour in PUPILS.items():
        if visible[index]:
            x, y = points[index]
            draw.rectangle([x - half, y - half, x + half - 1, y + half - 1], fill=colour)
    return np.asarray(image)


def landmark_condition_image(
    camera: Camera,
    landmarks: torch.Tensor,
    vertices: torch.Tensor,
    triangles: torch.Tensor,
    connections: dict[str, np.ndarray],
    size: int,
    back_view: bool,
    tolerance: float | None = None,
) -> np.ndarray:
    """The ControlNet condition for one view: (size, size, 3) uint8 RGB.

    ``landmarks`` (478, 3) are the embedded landmarks on the mesh ``vertices``;
    the mesh hides the landmarks behind it. ``tolerance`` (world units, default 2 %
    of the mesh's size) is how far in front of the visible surface a landmark may
    sit and still count as on it.
    """
    if back_view:
        return np.zeros((size, size, 3), dtype=np.uint8)
    visible = visible_points(camera, landmarks, vertices, triangles, size, tolerance)
    pixels, _ = to_pixels(camera, landmarks, size, size)
    return draw_landmarks(pixels.detach().numpy(), visible.numpy(), connections, size)
