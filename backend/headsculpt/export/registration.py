"""Non-rigid registration: deform a source mesh until it lies on a target surface.

After the head prior is fitted to a mesh, its surface still differs from the
artist's by whatever Anny's parameters cannot express. Registration closes that
gap so every target vertex finds a true corresponding point on the prior (for
the rig transfer). It is non-rigid ICP with a Laplacian prior on the displacement
(in the spirit of Amberg et al. 2007 and ARAP-style nearest-point deformation):

    E(x) = Σ_i w_i |x_i − c_i|²            source vertex → closest target point
         + Σ_j u_j |B_j x − t_j|²          sampled target vertex → closest source point
         + λ Σ_k |A_k x − l_k|²            landmarks (optional)
         + α |L (x − x₀)|²                 smooth displacement (cotangent L)
         + γ |x_f − Σ w x_nearest leaders|² followers (eyes, teeth) ride along

Correspondences are rejected beyond a distance, across normals more than
``max_normal_angle`` apart, and on open boundaries (holes, the neck's cut) so a
rim does not drag the surface. Stiffness α steps down from coarse to fine; each
iteration is one sparse linear solve, the same matrix for x, y and z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from scipy.spatial import cKDTree

from headsculpt.export.mesh_laplacian import cotangent_laplacian
from headsculpt.export.surface_query import SurfaceHits, TriangleSurface
from headsculpt.prior.head_model import vertex_normals
from headsculpt.progress import ProgressCallback, no_progress


@dataclass(frozen=True)
class RegistrationConfig:
    """Stiffness schedule and correspondence rejection."""

    stiffness: tuple[float, ...] = (30.0, 10.0, 3.0, 1.0, 0.3)
    iterations_per_stage: int = 3
    max_distance_ratio: float = 0.08  # × the source's bounding-box diagonal, first stage
    final_distance_ratio: float = 0.03  # … tightening to this by the last stage
    max_normal_angle: float = 60.0  # degrees
    landmark_weight: float = 0.5
    follower_weight: float = 10.0
    target_samples: int = 12000  # target vertices pulling the source (subsampled above it)


@dataclass
class Landmarks:
    """Landmark pairs: points on the source (barycentric rows) and where they belong."""

    matrix: scipy.sparse.csr_matrix  # (K, S)
    targets: np.ndarray  # (K, 3)


def register(
    source_vertices: np.ndarray,
    source_triangles: np.ndarray,
    target_vertices: np.ndarray,
    target_triangles: np.ndarray,
    landmarks: Landmarks | None = None,
    followers: np.ndarray | None = None,
    config: RegistrationConfig | None = None,
    progress: ProgressCallback = no_progress,
) -> np.ndarray:
    """Deformed source vertices (S, 3) lying on the target surface.

    Both meshes should be welded (seams would count as boundaries). ``followers``
    (S,) bool marks vertices that take no correspondences of their own but move with
    the nearest other vertices (eyeballs and the tongue inside a head).
    """
    config = config or RegistrationConfig()
    x0 = np.asarray(source_vertices, dtype=np.float64)
    source_triangles = np.asarray(source_triangles, dtype=np.int64)
    target_vertices = np.asarray(target_vertices, dtype=np.float64)
    target_triangles = np.asarray(target_triangles, dtype=np.int64)
    count = len(x0)
    followers = np.zeros(count, bool) if followers is None else np.asarray(followers, bool)
    diagonal = float(np.linalg.norm(x0.max(0) - x0.min(0)))

    target = TriangleSurface(target_vertices, target_triangles)
    target_normals = vertex_normals(target_vertices, target_triangles)
    target_rim = _rim_triangles(target_triangles, len(target_vertices))
    source_rim = _rim_triangles(source_triangles, count)
    rng = np.random.default_rng(0)
    samples = np.arange(len(target_vertices))
    if len(samples) > config.target_samples:
        samples = np.sort(rng.choice(samples, config.target_samples, replace=False))

    L = cotangent_laplacian(x0, source_triangles)
    # Scale-free stiffness: the Laplacian term is made comparable to one data term per vertex.
    LtL = (L.T @ L).tocsr()
    LtL = LtL * (1.0 / max(float(np.abs(LtL.diagonal()).mean()), 1e-30))
    follow = _follower_matrix(x0, followers)
    follow_system = (follow.T @ follow).tocsr() * config.follower_weight
    landmark_system = None
    if landmarks is not None and landmarks.matrix.shape[0]:
        landmark_system = (landmarks.matrix.T @ landmarks.matrix).tocsr() * config.landmark_weight

    x = x0.copy()
    steps = len(config.stiffness) * config.iterations_per_stage
    ratios = np.geomspace(config.max_distance_ratio, config.final_distance_ratio, steps)
    cos_limit = np.cos(np.radians(config.max_normal_angle))
    step = 0
    orientation = 0.0  # +1, or −1 when the target's winding is inverted as a whole
    for alpha in config.stiffness:
        for _ in range(config.iterations_per_stage):
            progress("register", step / steps)
            limit = ratios[step] * diagonal
            normals = vertex_normals(x, source_triangles)

            # Source vertices → target surface.
            hits = target.closest(x)
            agree = (normals * target.face_normals[hits.triangle_ids]).sum(1)
            if orientation == 0.0:
                orientation = -1.0 if _flipped(agree, hits) else 1.0
            keep = (
                (hits.distance <= limit)
                & (agree * orientation >= cos_limit)
                & ~_on_rim(hits, target_rim)
                & ~followers
            )
            forward_weight = keep.astype(np.float64)

            # Sampled target vertices → current source surface.
            current = TriangleSurface(x, source_triangles)
            back = current.closest(target_vertices[samples])
            face_normals = current.face_normals[back.triangle_ids]
            back_agree = (target_normals[samples] * face_normals).sum(1)
            back_keep = (
                (back.distance <= limit)
                & (back_agree * orientation >= cos_limit)
                & ~_on_rim(back, source_rim)
                & ~followers[source_triangles[back.triangle_ids]].any(1)
            )
            B = _barycentric_rows(back, source_triangles, count, back_keep)
            # Each target sample counts as much as a source vertex on average.
            back_scale = count / max(len(samples), 1)

            system = (
                scipy.sparse.diags(forward_weight)
                + (B.T @ B) * back_scale
                + LtL * alpha
                + follow_system
                + scipy.sparse.identity(count) * 1e-6
            )
            rhs = (
                forward_weight[:, None] * hits.points
                + (B.T @ target_vertices[samples][back_keep]) * back_scale
                + LtL @ x0 * alpha
                + follow_system @ x0
                + x0 * 1e-6
            )
            if landmark_system is not None:
                system = system + landmark_system
                rhs = rhs + (landmarks.matrix.T @ landmarks.targets) * config.landmark_weight
            # The follower term is written on displacements: F(x − x0) = 0 for a rigid ride.
            solver = scipy.sparse.linalg.splu(system.tocsc())
            x = solver.solve(rhs)
            step += 1
    progress("register", 1.0)
    return x


def _flipped(agree: np.ndarray, hits: SurfaceHits) -> bool:
    """True when the target's winding looks inverted as a whole (most close hits disagree)."""
    near = hits.distance <= np.percentile(hits.distance, 50)
    return bool(np.median(agree[near]) < 0)


def _rim_triangles(triangles: np.ndarray, count: int) -> np.ndarray:
    """(F,) bool: triangles with an edge on an open boundary (used by one triangle only)."""
    edges = np.sort(
        np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]), axis=1
    )
    keys = edges[:, 0] * count + edges[:, 1]
    _, inverse, uses = np.unique(keys, return_inverse=True, return_counts=True)
    boundary = (uses[inverse] == 1).reshape(3, -1).T
    return boundary.any(1)


def _on_rim(hits: SurfaceHits, rim: np.ndarray) -> np.ndarray:
    """Hits on the edge of a rim triangle: the query lies past an open boundary."""
    return rim[hits.triangle_ids] & (hits.barycentric.min(1) < 1e-6)


def _barycentric_rows(
    hits: SurfaceHits, triangles: np.ndarray, count: int, keep: np.ndarray
) -> scipy.sparse.csr_matrix:
    rows = np.repeat(np.arange(int(keep.sum())), 3)
    cols = triangles[hits.triangle_ids[keep]].ravel()
    return scipy.sparse.csr_matrix(
        (hits.barycentric[keep].ravel(), (rows, cols)), shape=(int(keep.sum()), count)
    )


def _follower_matrix(vertices: np.ndarray, followers: np.ndarray, k: int = 8):
    """Rows d_f − mean(d of the k nearest leaders) for each follower vertex f."""
    count = len(vertices)
    follower_ids = np.nonzero(followers)[0]
    leader_ids = np.nonzero(~followers)[0]
    if len(follower_ids) == 0 or len(leader_ids) == 0:
        return scipy.sparse.csr_matrix((0, count))
    k = min(k, len(leader_ids))
    _, near = cKDTree(vertices[leader_ids]).query(vertices[follower_ids], k=k)
    near = leader_ids[np.asarray(near).reshape(len(follower_ids), k)]
    rows = np.concatenate(
        [np.arange(len(follower_ids)), np.repeat(np.arange(len(follower_ids)), k)]
    )
    cols = np.concatenate([follower_ids, near.ravel()])
    values = np.concatenate([np.ones(len(follower_ids)), np.full(near.size, -1.0 / k)])
    return scipy.sparse.csr_matrix((values, (rows, cols)), shape=(len(follower_ids), count))
