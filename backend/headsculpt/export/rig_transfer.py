"""Move a rig (skin weights, face units, joints) from a source surface onto another mesh.

The source is the head prior fitted and registered onto the target, so the two
surfaces nearly coincide and a closest point is a correspondence. Robust Skin
Weights Transfer (Abdrashitov et al., SIGGRAPH Asia 2023) decides which
correspondences to trust: a target vertex takes the values interpolated at its
closest source point only if that point is within ``distance_ratio`` × the target's
bounding-box diagonal and the normals there differ by at most ``max_normal_angle``
(this keeps an upper lip from taking the lower lip's motion across a closed mouth).
Every other vertex is inpainted: the smoothest extension of the matched values
(see :mod:`headsculpt.export.mesh_laplacian`). Skin weights and the 52 face units'
offsets go through the same solve, as columns of one matrix.

Joints follow the registration: each bone moves by the skin-weighted mean of the
displacement of the vertices it drives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from headsculpt.export.mesh_laplacian import inpaint
from headsculpt.export.surface_query import TriangleSurface
from headsculpt.prior.head_model import vertex_normals


@dataclass
class RigSource:
    """A rigged surface in the same frame and scale as the target it is moved onto."""

    vertices: np.ndarray  # (S, 3)
    triangles: np.ndarray  # (F, 3)
    skin_weights: np.ndarray  # (S, B) dense, rows sum to 1
    face_deltas: np.ndarray  # (U, S, 3)


@dataclass(frozen=True)
class TransferConfig:
    """Matching thresholds of Robust Skin Weights Transfer (the paper's defaults)."""

    distance_ratio: float = 0.05  # × the target's bounding-box diagonal
    max_normal_angle: float = 30.0  # degrees

    def __post_init__(self) -> None:
        if self.distance_ratio <= 0.0:
            raise ValueError(f"distance_ratio must be positive, got {self.distance_ratio}")
        if not 0.0 < self.max_normal_angle <= 180.0:
            raise ValueError(f"max_normal_angle must be in (0, 180], got {self.max_normal_angle}")


@dataclass
class TransferredRig:
    """The rig on the target's vertices."""

    skin_weights: np.ndarray  # (V, B) dense, rows sum to 1
    face_deltas: np.ndarray  # (U, V, 3)
    matched: np.ndarray  # (V,) bool: taken from the source (else inpainted)
    distance: np.ndarray  # (V,) to the closest source point

    @property
    def matched_fraction(self) -> float:
        return float(self.matched.mean()) if len(self.matched) else 0.0


def transfer_rig(
    source: RigSource,
    target_vertices: np.ndarray,
    target_triangles: np.ndarray,
    config: TransferConfig | None = None,
    inpainted: np.ndarray | None = None,
    sides: tuple[np.ndarray, np.ndarray] | None = None,
) -> TransferredRig:
    """Skin weights and face-unit offsets of ``source`` on a (welded) target mesh.

    ``inpainted`` (V,) bool marks vertices that take no correspondence even where one
    passes both tests: they are inpainted from their neighbours. A cut the source does
    not have needs this — a sculpt's opened mouth line lies where the closest source
    point may be either lip (export/mouth_opening.py).

    ``sides`` = (target (V,), source (S,)): a cut's two sides, −1 and +1 (0 off it), on
    the target, and which side each source vertex's values belong to (fractions where
    unsure). A correspondence that crosses the cut — a target vertex on one side, its
    closest source point on the other — is not taken: an upper lip does not take the
    lower lip's motion where the source's mouth line lies a few millimetres off the cut.

    The target should be welded (one vertex per position): the inpainting's Laplacian
    treats a split seam as a boundary. Normals are computed here, from the geometry;
    if the target's winding is inverted as a whole, its normals are turned around
    (a file's winding convention is not the artist's intent).
    """
    config = config or TransferConfig()
    vertices = np.asarray(target_vertices, dtype=np.float64)
    triangles = np.asarray(target_triangles, dtype=np.int64)
    diagonal = float(np.linalg.norm(vertices.max(0) - vertices.min(0)))

    surface = TriangleSurface(source.vertices, source.triangles)
    hits = surface.closest(vertices)
    source_normals = vertex_normals(source.vertices.astype(np.float64), source.triangles)
    at_hit = hits.interpolate(source_normals, source.triangles)
    at_hit /= np.maximum(np.linalg.norm(at_hit, axis=1, keepdims=True), 1e-30)
    normals = vertex_normals(vertices, triangles)
    agreement = (normals * at_hit).sum(1)
    if np.median(agreement[hits.distance <= config.distance_ratio * diagonal]) < 0:
        agreement = -agreement  # the target's winding is inverted as a whole
    matched = (hits.distance <= config.distance_ratio * diagonal) & (
        agreement >= np.cos(np.radians(config.max_normal_angle))
    )
    if inpainted is not None:
        matched &= ~np.asarray(inpainted, dtype=bool)
    if sides is not None:
        target_side, source_side = sides
        at_hit = hits.interpolate(np.asarray(source_side, np.float64)[:, None], source.triangles)
        matched &= np.asarray(target_side) * at_hit[:, 0] > -0.5
    if not matched.any():
        raise ValueError(
            "no vertex of the mesh lies near the fitted head; the alignment failed "
            "(try --up/--front)"
        )

    # Only bones that drive some source vertex take part in the solve.
    bones = np.nonzero(source.skin_weights.max(0) > 0)[0]
    units = source.face_deltas.shape[0]
    columns = np.concatenate(
        [
            source.skin_weights[:, bones],
            source.face_deltas.transpose(1, 0, 2).reshape(len(source.vertices), units * 3),
        ],
        axis=1,
    )
    values = hits.interpolate(columns, source.triangles)
    values = inpaint(vertices, triangles, values, matched)

    weights = np.zeros((len(vertices), source.skin_weights.shape[1]))
    weights[:, bones] = np.clip(values[:, : len(bones)], 0.0, None)
    total = weights.sum(1, keepdims=True)
    # A vertex whose inpainted weights all clip to zero keeps its strongest bone.
    empty = total[:, 0] <= 1e-12
    if empty.any():
        strongest = bones[values[empty, : len(bones)].argmax(1)]
        weights[np.nonzero(empty)[0], strongest] = 1.0
        total = weights.sum(1, keepdims=True)
    weights /= total
    deltas = values[:, len(bones) :].reshape(len(vertices), units, 3).transpose(1, 0, 2)
    return TransferredRig(
        skin_weights=weights.astype(np.float32),
        face_deltas=deltas.astype(np.float32),
        matched=matched,
        distance=hits.distance,
    )


def top_influences(weights: np.ndarray, count: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` strongest bones per vertex (glTF JOINTS_0/WEIGHTS_0), renormalised."""
    order = np.argsort(-weights, axis=1, kind="stable")[:, :count]
    top = np.take_along_axis(weights, order, axis=1)
    top = top / np.maximum(top.sum(1, keepdims=True), 1e-12)
    order = np.where(top > 0, order, 0)  # unused slots point at joint 0 with weight 0
    return order.astype(np.uint16), top.astype(np.float32)


def dense_weights(indices: np.ndarray, weights: np.ndarray, bone_count: int) -> np.ndarray:
    """(V, bone_count) weights from (V, k) influence lists."""
    dense = np.zeros((len(indices), bone_count))
    rows = np.repeat(np.arange(len(indices)), indices.shape[1])
    np.add.at(dense, (rows, indices.ravel().astype(np.int64)), weights.ravel())
    return dense


def move_joints(
    rest_matrices: np.ndarray,
    skin_weights: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    neighbours: int = 8,
) -> np.ndarray:
    """Bone rest matrices (B, 4, 4) carried along by a deformation ``before`` → ``after``.

    A bone moves by the skin-weighted mean displacement of the vertices it drives, so the
    jaw pivot and the eye centres follow the registered surface. A bone that drives no
    vertex (a root, a helper) moves with the vertices nearest to its head. Orientations
    are kept.
    """
    displacement = np.asarray(after, np.float64) - np.asarray(before, np.float64)
    total = skin_weights.sum(0)
    moved = np.array(rest_matrices, dtype=np.float64, copy=True)
    tree = cKDTree(before)
    for bone in range(len(moved)):
        if total[bone] > 1e-6:
            offset = skin_weights[:, bone] @ displacement / total[bone]
        else:
            distance, near = tree.query(moved[bone, :3, 3], k=min(neighbours, len(before)))
            weight = 1.0 / np.maximum(np.atleast_1d(distance), 1e-9)
            offset = weight @ displacement[np.atleast_1d(near)] / weight.sum()
        moved[bone, :3, 3] += offset
    return moved
