"""The closest point on a triangle mesh to each of many query points.

Rig transfer and registration ask this hundreds of thousands of times: which point
of the other surface is nearest, in which triangle, with which barycentrics (to
interpolate skin weights and face-unit offsets there). Candidates come from a k-d
tree over triangle centroids; the exact point-triangle distance (Ericson's region
test, vectorised) picks among them. Queries run in chunks so memory stays bounded
on meshes of a few hundred thousand triangles. Plain numpy/scipy (no rtree, no
libigl).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

_CHUNK = 16384  # query points per chunk: ~(chunk × candidates × 3) doubles per array


@dataclass
class SurfaceHits:
    """Closest surface points of N queries."""

    points: np.ndarray  # (N, 3)
    triangle_ids: np.ndarray  # (N,) int64
    barycentric: np.ndarray  # (N, 3), rows sum to 1
    distance: np.ndarray  # (N,)

    def interpolate(self, values: np.ndarray, triangles: np.ndarray) -> np.ndarray:
        """Per-vertex ``values`` (V, ...) of the queried mesh at the hits (N, ...)."""
        out = np.empty((len(self.triangle_ids),) + values.shape[1:], dtype=np.result_type(values))
        for start in range(0, len(out), _CHUNK):  # chunks: (N, 3, C) at once can be a GB
            rows = slice(start, start + _CHUNK)
            corners = values[triangles[self.triangle_ids[rows]]]  # (n, 3, ...)
            bary = self.barycentric[rows]
            weights = bary.reshape(bary.shape + (1,) * (values.ndim - 1))
            out[rows] = (corners * weights).sum(1)
        return out


class TriangleSurface:
    """A triangle mesh prepared for closest-point queries."""

    def __init__(self, vertices: np.ndarray, triangles: np.ndarray, candidates: int = 16) -> None:
        self.vertices = np.asarray(vertices, dtype=np.float64)
        self.triangles = np.asarray(triangles, dtype=np.int64)
        if len(self.triangles) == 0:
            raise ValueError("the surface has no triangles")
        corners = self.vertices[self.triangles]
        self._tree = cKDTree(corners.mean(1))
        self._candidates = int(min(candidates, len(self.triangles)))
        cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        length = np.linalg.norm(cross, axis=1, keepdims=True)
        self.face_normals = cross / np.maximum(length, 1e-30)

    def closest(self, points: np.ndarray) -> SurfaceHits:
        """The nearest surface point to each of ``points`` (N, 3)."""
        points = np.asarray(points, dtype=np.float64)
        count = len(points)
        out_points = np.empty((count, 3))
        out_ids = np.empty(count, dtype=np.int64)
        out_bary = np.empty((count, 3))
        out_distance = np.empty(count)
        for start in range(0, count, _CHUNK):
            chunk = points[start : start + _CHUNK]
            _, near = self._tree.query(chunk, k=self._candidates)
            near = near.reshape(len(chunk), -1)
            corners = self.vertices[self.triangles[near]]  # (n, k, 3, 3)
            closest, bary = closest_on_triangles(
                chunk[:, None, :], corners[..., 0, :], corners[..., 1, :], corners[..., 2, :]
            )
            distance = np.linalg.norm(closest - chunk[:, None, :], axis=-1)
            best = distance.argmin(1)
            rows = np.arange(len(chunk))
            stop = start + len(chunk)
            out_points[start:stop] = closest[rows, best]
            out_ids[start:stop] = near[rows, best]
            out_bary[start:stop] = bary[rows, best]
            out_distance[start:stop] = distance[rows, best]
        return SurfaceHits(out_points, out_ids, out_bary, out_distance)

    def nearest_with_normals(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closest points and the surface normal there (the shape the head fit asks for)."""
        hits = self.closest(points)
        return hits.points, self.face_normals[hits.triangle_ids]


def closest_on_triangles(
    p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Closest point of triangles (a, b, c) to ``p`` and its barycentrics (broadcasting).

    Ericson, Real-Time Collision Detection, 5.1.5: the first Voronoi region of the
    triangle that contains the point decides; degenerate triangles fall back to an
    edge or corner without dividing by zero.
    """
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    bp = p - b
    d3, d4 = _dot(ab, bp), _dot(ac, bp)
    cp = p - c
    d5, d6 = _dot(ab, cp), _dot(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2

    total = va + vb + vc
    safe = np.where(np.abs(total) > 1e-300, total, 1.0)
    v, w = vb / safe, vc / safe
    bary = np.stack([1.0 - v - w, v, w], -1)  # inside the face

    def choose(condition: np.ndarray, weights: np.ndarray) -> None:
        nonlocal bary
        bary = np.where(condition[..., None], weights, bary)

    zero = np.zeros_like(d1)
    one = np.ones_like(d1)
    # Regions in reverse priority: later assignments win, as the first test would in C.
    denominator = (d4 - d3) + (d5 - d6)
    t = (d4 - d3) / np.where(np.abs(denominator) > 1e-300, denominator, 1.0)
    choose((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), np.stack([zero, 1 - t, t], -1))
    t = d2 / np.where(np.abs(d2 - d6) > 1e-300, d2 - d6, 1.0)
    choose((vb <= 0) & (d2 >= 0) & (d6 <= 0), np.stack([1 - t, zero, t], -1))
    choose((d6 >= 0) & (d5 <= d6), np.stack([zero, zero, one], -1))
    t = d1 / np.where(np.abs(d1 - d3) > 1e-300, d1 - d3, 1.0)
    choose((vc <= 0) & (d1 >= 0) & (d3 <= 0), np.stack([1 - t, t, zero], -1))
    choose((d3 >= 0) & (d4 <= d3), np.stack([zero, one, zero], -1))
    choose((d1 <= 0) & (d2 <= 0), np.stack([one, zero, zero], -1))
    bary = np.clip(bary, 0.0, 1.0)
    bary = bary / np.maximum(bary.sum(-1, keepdims=True), 1e-300)
    point = bary[..., :1] * a + bary[..., 1:2] * b + bary[..., 2:] * c
    return point, bary


def _dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x * y).sum(-1)
