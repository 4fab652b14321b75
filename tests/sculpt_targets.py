"""Known answers for the sculpt pipeline: heads the head model cannot express.

A project head (the parametric pipeline's, for one description) plus accessories — a
horn, a bun, a ring around the neck — or the same head with non-human proportions,
written as a GLB for ``--guidance reference`` (or ``train-teacher``). The accessories' own
sampled points are kept, so a test can ask whether the sculpt grew them; the head's
landmarks, when given, follow it and are written as the GLB's landmark anchors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh

from headsculpt.eval.reconstruction import outer_points, sample_surface
from headsculpt.export.glb import HeadAsset, MeshPart, PartMaterial, Skeleton, write_glb
from headsculpt.export.surface_query import TriangleSurface
from headsculpt.pipelines.sculpt import with_landmark_anchors
from headsculpt.render.preview import TexturedMesh

ACCESSORY_COLOURS = {  # sRGB, chosen apart from skin and from each other
    "horn": (235, 225, 190),
    "bun": (60, 35, 20),
    "ring": (40, 120, 200),
}


@dataclass
class SculptTarget:
    """A target mesh (prior frame, metres) and points on each accessory."""

    name: str
    mesh: TexturedMesh
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    landmarks: np.ndarray | None = None  # (478, 3) on the head, prior frame

    def write(self, path: Path) -> Path:
        """The target as a GLB the reference teacher reads."""
        parts = [_part("Target", self.mesh.vertices, self.mesh.triangles, self.mesh.uv,
                       self.mesh.base_color)]  # fmt: skip
        skeleton = Skeleton(["Root"], [-1], np.eye(4)[None])
        glb = write_glb(HeadAsset(parts=parts, skeleton=skeleton, textures=None))
        if self.landmarks is not None:
            surface = TriangleSurface(self.mesh.vertices, self.mesh.triangles)
            glb = with_landmark_anchors(glb, surface.closest(self.landmarks))
        path.write_bytes(glb)
        return path


def accessorised(
    head: TexturedMesh,
    which: tuple[str, ...],
    seed: int = 0,
    landmarks: np.ndarray | None = None,
) -> SculptTarget:
    """``head`` with accessories placed from its own bounds (any head size works)."""
    low, high = head.vertices.min(0), head.vertices.max(0)
    size = float((high - low).max())
    centre = (low + high) / 2.0
    pieces: list[tuple[str, trimesh.Trimesh]] = []
    if "horn" in which:  # a cone from the crown, leaning forward
        horn = trimesh.creation.cone(radius=0.09 * size, height=0.3 * size, sections=24)
        horn.apply_transform(trimesh.transformations.rotation_matrix(-0.35, [1, 0, 0]))
        horn.apply_translation([centre[0], centre[1] - 0.1 * size, high[2] - 0.05 * size])
        pieces.append(("horn", horn))
    if "bun" in which:  # a ball of hair at the back of the crown
        bun = trimesh.creation.icosphere(subdivisions=3, radius=0.13 * size)
        bun.apply_translation([centre[0], high[1] - 0.02 * size, high[2] - 0.2 * size])
        pieces.append(("bun", bun))
    if "ring" in which:  # a thick ring around the neck
        ring = trimesh.creation.torus(0.3 * size, 0.05 * size, major_sections=48)
        ring.apply_translation([centre[0], centre[1] + 0.05 * size, low[2] + 0.2 * size])
        pieces.append(("ring", ring))
    mesh = head
    rng = np.random.default_rng(seed)
    regions = {}
    for name, piece in pieces:
        mesh = _append(mesh, np.asarray(piece.vertices), np.asarray(piece.faces),
                       ACCESSORY_COLOURS[name])  # fmt: skip
        regions[name] = sample_surface(piece.vertices, piece.faces, 2000, rng)
    # Only what can be seen counts: the part of a horn or a bun inside the head cannot.
    regions = {k: outer_points(v, mesh.vertices, mesh.triangles) for k, v in regions.items()}
    return SculptTarget("+".join(("head", *which)), mesh, regions, landmarks)


def non_human(
    head: TexturedMesh,
    stretch: tuple[float, float, float] = (0.8, 1.1, 1.35),
    landmarks: np.ndarray | None = None,
) -> SculptTarget:
    """``head`` stretched about its centre: a tall narrow skull, a long face."""
    low, high = head.vertices.min(0), head.vertices.max(0)
    centre = (low + high) / 2.0
    vertices = centre + (head.vertices - centre) * np.asarray(stretch)
    mesh = TexturedMesh(vertices, head.normals, head.uv, head.triangles, head.base_color,
                        head.roughness)  # fmt: skip
    if landmarks is not None:
        landmarks = centre + (np.asarray(landmarks) - centre) * np.asarray(stretch)
    return SculptTarget("stretched", mesh, landmarks=landmarks)


def _append(mesh: TexturedMesh, vertices, triangles, colour) -> TexturedMesh:
    """``mesh`` plus a solid-coloured piece: a colour strip appended below its texture."""
    texture = mesh.base_color
    height, width = texture.shape[:2]
    strip = np.empty((max(4, height // 32), width, 3), np.uint8)
    strip[:] = colour
    atlas = np.concatenate([texture, strip])
    scale = height / len(atlas)
    uv = np.asarray(mesh.uv, np.float64).copy()
    uv[:, 1] *= scale  # old texels keep their place at the top of the atlas
    piece_uv = np.full((len(vertices), 2), 0.5)
    piece_uv[:, 1] = (height + len(strip) / 2.0) / len(atlas)
    roughness = np.concatenate([mesh.roughness, np.full(strip.shape[:2], 200, np.uint8)])
    return TexturedMesh(
        np.concatenate([mesh.vertices, vertices]),
        np.concatenate([mesh.normals, _normals(vertices, triangles)]),
        np.concatenate([uv, piece_uv]).astype(np.float32),
        np.concatenate([mesh.triangles, np.asarray(triangles) + len(mesh.vertices)]),
        atlas,
        roughness,
    )


def _normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    return np.asarray(trimesh.Trimesh(vertices, triangles, process=False).vertex_normals)


def _part(name, vertices, triangles, uv, base_color) -> MeshPart:
    count = len(vertices)
    return MeshPart(
        name=name,
        vertices=np.asarray(vertices, np.float64),
        normals=_normals(vertices, triangles),
        uv=np.asarray(uv, np.float64),
        triangles=np.asarray(triangles, np.int64),
        joint_indices=np.zeros((count, 4), np.int64),
        joint_weights=np.tile([1.0, 0.0, 0.0, 0.0], (count, 1)),
        morph_deltas=np.zeros((0, count, 3)),
        morph_names=[],
        material=PartMaterial(name=name, base_color=base_color),
    )
