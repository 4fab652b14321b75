"""MediaPipe's 478 FaceMesh landmarks, fixed to the Anny head's surface.

Each landmark is a triangle of the head's mesh and barycentric coordinates in
it, so it follows every shape, expression and edit of the head: positions are a
weighted sum of three vertices. The data file is built by
``scripts/build_landmark_embedding.py`` (MediaPipe run on renders of the neutral
head, lifted onto the surface through the depth buffer) and also carries
MediaPipe's drawing groups (face oval, eyes, eyebrows, lips) as index pairs.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from headsculpt.prior.head_model import PART_NAMES, HeadTopology

DATA_FILE = Path(__file__).with_name("data") / "mediapipe_landmarks.json"
LANDMARK_COUNT = 478  # 468 face mesh points + 2 × 5 iris points
RIGHT_PUPIL, LEFT_PUPIL = 468, 473  # iris centres (the subject's right and left)
OUTER_EYE_CORNERS = (33, 263)  # the subject's right and left; their distance normalises errors


def inter_ocular_distance(landmarks: np.ndarray | torch.Tensor) -> float:
    """Distance between the outer eye corners of (478, 2 or 3) landmarks."""
    right, left = OUTER_EYE_CORNERS
    return float(((landmarks[right] - landmarks[left]) ** 2).sum() ** 0.5)


@dataclass(frozen=True)
class LandmarkEmbedding:
    """Where each landmark sits on the head: three mesh vertices and their weights."""

    corners: np.ndarray  # (478, 3) int64 split-vertex ids of the landmark's triangle
    barycentric: np.ndarray  # (478, 3) float, rows sum to 1
    triangle_ids: np.ndarray  # (478,) int64 into HeadTopology.triangles
    connections: dict[str, np.ndarray]  # drawing group → (E, 2) landmark index pairs
    residual: dict  # how well the build's lift agreed across views (see the script)

    @classmethod
    def load(cls, topology: HeadTopology, path: Path = DATA_FILE) -> LandmarkEmbedding:
        """Read the data file and check that it was built for this head topology."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{path} is missing; build it with scripts/build_landmark_embedding.py"
            ) from None
        triangle_ids = np.asarray(data["triangles"], dtype=np.int64)
        corners = topology.triangles[triangle_ids].astype(np.int64)
        anny = topology.source_vertex[corners]
        if len(triangle_ids) != LANDMARK_COUNT or not np.array_equal(
            anny, np.asarray(data["anny_vertices"])
        ):
            raise ValueError(
                f"{path} was built for another head topology (anny {data.get('anny_version')}); "
                "rebuild it with scripts/build_landmark_embedding.py"
            )
        barycentric = np.asarray(data["barycentric"], dtype=np.float64)
        barycentric /= barycentric.sum(1, keepdims=True)
        connections = {
            name: np.asarray(pairs, dtype=np.int64) for name, pairs in data["connections"].items()
        }
        return cls(corners, barycentric, triangle_ids, connections, data.get("residual", {}))

    def positions(self, vertices: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """(478, 3) landmark positions on a head's split vertices (numpy or torch)."""
        if torch.is_tensor(vertices):
            weights = torch.as_tensor(self.barycentric, dtype=vertices.dtype)
            corners = torch.as_tensor(self.corners, device=vertices.device)
            return (vertices[corners] * weights.to(vertices.device)[..., None]).sum(1)
        return (vertices[self.corners] * self.barycentric[..., None]).sum(1)

    def part_anchors(self, topology: HeadTopology) -> dict[str, dict[str, list]]:
        """Per part (as exported): landmark ids, triangle index within the part, weights.

        The form written into a GLB, where each part is its own mesh.
        """
        anchors: dict[str, dict[str, list]] = {}
        part_of = topology.triangle_part[self.triangle_ids]
        for index, part in enumerate(PART_NAMES):
            chosen = np.nonzero(part_of == index)[0]
            if len(chosen) == 0:
                continue
            in_part = np.cumsum(topology.triangle_part == index) - 1  # global → local index
            anchors[part] = {
                "landmarks": chosen.tolist(),
                "triangles": in_part[self.triangle_ids[chosen]].tolist(),
                "barycentric": np.round(self.barycentric[chosen], 6).ravel().tolist(),
            }
        return anchors


@functools.cache
def load_landmark_embedding() -> LandmarkEmbedding:
    """The embedding for the process-wide head model."""
    from headsculpt.prior.head_model import load_head_model

    return LandmarkEmbedding.load(load_head_model().topology)
