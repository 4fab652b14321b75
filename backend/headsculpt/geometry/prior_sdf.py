"""The prior head as a signed distance on a dense grid: the sculpt stage's starting shape.

The coarse field's density starts from the head the prompt shapes, so every query
of the field asks "how far inside or outside the prior mesh is this point". A
triangle mesh cannot answer that cheaply for millions of points per step; a
distance sampled once on a 64³ grid and read back with trilinear interpolation
can, and its gradient w.r.t. the query points comes for free.

Building it (once per head, a few seconds on two cores):

* **distance**: within a band of the surface, the closest point among the
  triangles whose centroids are the k nearest (a k-d tree; exact point-triangle
  distance after Ericson's region test): exact whenever the closest triangle is
  among those k, as on meshes of fairly even triangles such as heads and spheres.
  Farther out, the closest triangle of the nearest band point (carried by a
  distance transform), an upper bound off by a fraction of a cell (≤ 0.2 cells
  on a sphere at 64³), where only the sign and rough size matter.
* **sign**: the winding number along the six axis half-rays from each grid point,
  counted with each crossing's orientation, one vote per ray; inside when at
  least four of six rays see a winding number ≥ 0.5. A hole lets at most the
  rays through it disagree, and nested closed parts (eyes in sockets) count as
  inside. Ties (3 : 3) take the exact generalised winding number (solid angles).

Negative is inside. Points outside the box read the value at the nearest box
point plus their distance to the box, so the field stays positive out there.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt
from scipy.spatial import cKDTree
from torch import nn

from headsculpt.bounds import Box

_CANDIDATES = 8  # nearest triangle centroids tried per grid point near the surface
_BAND_CELLS = 2.0  # points this close to the surface (in cells) get the exact search
_CHUNK = 16384  # grid points per distance chunk (~chunk × candidates × 3 doubles per array)
_LINE_SHIFT = (1e-4 * math.sqrt(2.0), 1e-4 * math.sqrt(3.0))  # cells; rays miss edges


class GridSDF(nn.Module):
    """Signed distance sampled at the vertices of a resolution³ grid over a box.

    ``values[i, j, k]`` is the distance at ``lo + (hi - lo) * (i, j, k) / (resolution - 1)``.
    Every tensor is a buffer, so ``state_dict`` / :meth:`from_state_dict` round-trip it.
    """

    def __init__(self, values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> None:
        super().__init__()
        if values.ndim != 3 or len(set(values.shape)) != 1 or values.shape[0] < 2:
            raise ValueError(f"values must be a cube of at least 2³, got {tuple(values.shape)}")
        self.register_buffer("values", values.float().contiguous())
        self.register_buffer("lo", lo.float().reshape(3))
        self.register_buffer("hi", hi.float().reshape(3))

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> GridSDF:
        return cls(state["values"], state["lo"], state["hi"])

    @classmethod
    def from_mesh(
        cls,
        vertices: torch.Tensor | np.ndarray,
        faces: torch.Tensor | np.ndarray,
        box: Box | None = None,
        resolution: int = 64,
    ) -> GridSDF:
        """Sample the signed distance of a (mostly closed) triangle mesh on a grid.

        ``box`` defaults to the mesh's bounds padded by 10 % of its largest side.
        """
        vertices = _numpy(vertices).astype(np.float64)
        faces = _numpy(faces).astype(np.int64)
        if box is None:
            box = Box.around(torch.from_numpy(vertices))  # cpu-side: a box is a few numbers
        lo = np.asarray(box.centre) - np.asarray(box.half_extent)
        hi = np.asarray(box.centre) + np.asarray(box.half_extent)
        distance = _grid_distance(vertices, faces, lo, hi, resolution)
        inside = _inside_by_ray_votes(vertices, faces, lo, hi, resolution)
        signed = np.where(inside, -distance, distance).reshape((resolution,) * 3)
        # Built with scipy on the host, once per head; the caller's .to(device) moves it.
        values, low, high = (torch.from_numpy(a) for a in (signed, lo, hi))  # cpu-side: scipy's
        return cls(values, low, high)

    @property
    def resolution(self) -> int:
        return self.values.shape[0]

    @property
    def box(self) -> Box:
        centre = ((self.lo + self.hi) / 2).tolist()
        half = ((self.hi - self.lo) / 2).tolist()
        return Box(tuple(centre), tuple(half))

    @property
    def cell_size(self) -> torch.Tensor:
        return (self.hi - self.lo) / (self.resolution - 1)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """(N, 3) world points → (N,) signed distance, differentiable w.r.t. the points."""
        lo, hi = self.lo.to(points.dtype), self.hi.to(points.dtype)
        inside_box = torch.minimum(torch.maximum(points, lo), hi)
        beyond = (points - inside_box).square().sum(-1).clamp_min(1e-20).sqrt()
        cells = self.resolution - 1
        position = (inside_box - lo) / (hi - lo) * cells
        corner = position.detach().floor().clamp(0, cells - 1)
        fraction = position - corner
        corner = corner.long()
        size = self.resolution
        flat = self.values.to(points.dtype).reshape(-1)
        result = torch.zeros(len(points), dtype=points.dtype, device=points.device)
        for bits in range(8):
            offset = torch.tensor(
                [(bits >> 2) & 1, (bits >> 1) & 1, bits & 1], device=points.device
            )
            ids = corner + offset
            weight = torch.where(offset.bool(), fraction, 1.0 - fraction).prod(-1)
            result = result + weight * flat[(ids[:, 0] * size + ids[:, 1]) * size + ids[:, 2]]
        return torch.where(beyond > 1e-10, result + beyond, result)


def _numpy(values: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _grid_distance(
    vertices: np.ndarray, faces: np.ndarray, lo: np.ndarray, hi: np.ndarray, resolution: int
) -> np.ndarray:
    """(R³,) unsigned distance at the grid points, (x, y, z) order.

    Near the surface (a band a few cells thick) each point tries its k nearest
    triangle centroids exactly. Farther points, where a k-d tree over a closed
    surface is slowest (every centroid nearly equidistant), take the closest
    triangle of the nearest band point (a Euclidean distance transform carries it)
    or the one the rough search found, whichever is nearer.
    """
    axis = np.linspace(0.0, 1.0, resolution)
    unit = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    points = lo + unit * (hi - lo)
    corners = vertices[faces]  # (F, 3, 3)
    centroids = corners.mean(1)
    tree = cKDTree(centroids)
    reach = float(np.linalg.norm(corners - centroids[:, None], axis=-1).max())  # centroid → corner
    # With eps, the distance found is at most (1 + eps) × the true nearest-centroid distance,
    # which is at most (surface distance + reach): every point within the band survives.
    eps, band = 0.5, _BAND_CELLS * float(((hi - lo) / (resolution - 1)).max())
    rough, rough_triangle = tree.query(points, k=1, eps=eps)
    near = rough <= (1.0 + eps) * (band + reach)
    distance = np.empty(len(points))
    closest = np.zeros(len(points), dtype=np.int64)
    count = min(_CANDIDATES, len(faces))
    near_ids = np.flatnonzero(near)
    for start in range(0, len(near_ids), _CHUNK):
        rows = near_ids[start : start + _CHUNK]
        _, candidates = tree.query(points[rows], k=count)
        candidates = candidates.reshape(len(rows), count)
        found = _triangle_distances(points[rows, None, :], corners[candidates])  # (n, k)
        best = found.argmin(1)
        distance[rows] = found[np.arange(len(rows)), best]
        closest[rows] = candidates[np.arange(len(rows)), best]
    if not near.all():
        _, nearest = distance_transform_edt(~near.reshape((resolution,) * 3), return_indices=True)
        source = np.ravel_multi_index(tuple(nearest.reshape(3, -1)), (resolution,) * 3)
        far = np.flatnonzero(~near)
        # Candidates: the nearest band point's closest triangle and the rough search's.
        candidates = np.stack([closest[source[far]], rough_triangle[far]], 1)
        distance[far] = _triangle_distances(points[far, None, :], corners[candidates]).min(1)
    return distance


def _triangle_distances(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Distance from (n, 1, 3) points to (n, k, 3, 3) triangles: (n, k)."""
    a, b, c = corners[..., 0, :], corners[..., 1, :], corners[..., 2, :]
    return np.linalg.norm(closest_point_on_triangles(points, a, b, c) - points, axis=-1)


def closest_point_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """Closest point to ``p`` on triangles ``abc`` (broadcast; Ericson, Real-Time Collision
    Detection §5.1.5: the Voronoi region of a vertex, an edge or the face decides)."""

    def dot(u, v):
        return (u * v).sum(-1)

    def ratio(num, den):
        return num / np.where(np.abs(den) > 1e-30, den, 1e-30)

    ab, ac, ap, bp, cp = b - a, c - a, p - a, p - b, p - c
    d1, d2, d3, d4, d5, d6 = (
        dot(ab, ap),
        dot(ac, ap),
        dot(ab, bp),
        dot(ac, bp),
        dot(ab, cp),
        dot(ac, cp),
    )
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    total = va + vb + vc
    v, w = ratio(vb, total), ratio(vc, total)
    result = a + ab * v[..., None] + ac * w[..., None]  # inside the face
    # Regions from the face outwards; later assignments win, as in Ericson's early returns.
    bc_t = ratio(d4 - d3, (d4 - d3) + (d5 - d6))
    regions = [
        ((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), b + (c - b) * bc_t[..., None]),
        ((vb <= 0) & (d2 >= 0) & (d6 <= 0), a + ac * ratio(d2, d2 - d6)[..., None]),
        ((d6 >= 0) & (d5 <= d6), np.broadcast_to(c, result.shape)),
        ((vc <= 0) & (d1 >= 0) & (d3 <= 0), a + ab * ratio(d1, d1 - d3)[..., None]),
        ((d3 >= 0) & (d4 <= d3), np.broadcast_to(b, result.shape)),
        ((d1 <= 0) & (d2 <= 0), np.broadcast_to(a, result.shape)),
    ]
    for mask, point in regions:
        result = np.where(mask[..., None], point, result)
    return result


def _inside_by_ray_votes(
    vertices: np.ndarray, faces: np.ndarray, lo: np.ndarray, hi: np.ndarray, resolution: int
) -> np.ndarray:
    """(R³,) bool in the grid's (x, y, z) order: at least 4 of 6 half-rays say inside."""
    cells = resolution - 1
    grid_vertices = (vertices - lo) / (hi - lo) * cells  # grid units: vertex i sits at i
    if _signed_volume(vertices, faces) < 0:  # inward-facing mesh: read its crossings flipped
        faces = faces[:, ::-1]
    index = np.stack(np.meshgrid(*(np.arange(resolution),) * 3, indexing="ij"), -1)
    index = index.reshape(-1, 3)
    votes = np.zeros(len(index), dtype=np.int64)
    for axis in range(3):
        forward, backward = _axis_windings(grid_vertices, faces, index, axis, resolution)
        votes += (forward >= 0.5).astype(np.int64) + (backward >= 0.5)
    inside = votes >= 4
    ties = np.flatnonzero(votes == 3)
    if len(ties):
        points = lo + index[ties] / cells * (hi - lo)
        inside[ties] = generalised_winding_number(points, vertices, faces) >= 0.5
    return inside


def _axis_windings(grid_vertices, faces, index, axis: int, resolution: int):
    """Winding numbers along the +axis and −axis half-rays from every grid point."""
    u, v = (axis + 1) % 3, (axis + 2) % 3  # (u, v, axis) is a cyclic order of (x, y, z)
    corners = grid_vertices[faces]  # (F, 3, 3)
    cu = corners[..., u] - _LINE_SHIFT[0]
    cv = corners[..., v] - _LINE_SHIFT[1]
    u0 = np.clip(np.ceil(cu.min(1)), 0, resolution).astype(np.int64)
    u1 = np.clip(np.floor(cu.max(1)), -1, resolution - 1).astype(np.int64)
    v0 = np.clip(np.ceil(cv.min(1)), 0, resolution).astype(np.int64)
    v1 = np.clip(np.floor(cv.max(1)), -1, resolution - 1).astype(np.int64)
    width, height = np.maximum(u1 - u0 + 1, 0), np.maximum(v1 - v0 + 1, 0)
    triangle = np.repeat(np.arange(len(faces)), width * height)
    local = np.arange(len(triangle)) - np.repeat(
        np.cumsum(width * height) - width * height, width * height
    )
    line_u = u0[triangle] + local // height[triangle]
    line_v = v0[triangle] + local % height[triangle]
    # Where the ray (line_u, line_v) meets the triangle's plane, in barycentric coordinates.
    au, av = cu[triangle, 0], cv[triangle, 0]
    e1u, e1v = cu[triangle, 1] - au, cv[triangle, 1] - av
    e2u, e2v = cu[triangle, 2] - au, cv[triangle, 2] - av
    ru, rv = line_u - au, line_v - av
    det = e1u * e2v - e1v * e2u  # the normal's axis component (twice the projected area)
    safe = np.where(np.abs(det) > 1e-20, det, 1.0)
    beta, gamma = (ru * e2v - rv * e2u) / safe, (e1u * rv - e1v * ru) / safe
    hit = (np.abs(det) > 1e-20) & (beta >= 0) & (gamma >= 0) & (beta + gamma <= 1)
    depth = corners[triangle, :, axis] @ np.array([1.0, 0.0, 0.0])
    depth = depth + beta * (corners[triangle, 1, axis] - depth)
    depth = depth + gamma * (corners[triangle, 2, axis] - corners[triangle, 0, axis])
    span = resolution + 1.0  # keys per ray: depths clipped to [-1, resolution] then +1
    line = (line_u * resolution + line_v)[hit]
    keys = line * span + np.clip(depth[hit], -1.0, resolution - 1.0 + 1.0) + 1.0
    order = np.argsort(keys, kind="stable")
    keys, signs = keys[order], np.sign(det[hit])[order]
    running = np.concatenate([[0.0], np.cumsum(signs)])
    point_line = index[:, u] * resolution + index[:, v]
    before_point = np.searchsorted(keys, point_line * span + index[:, axis] + 1.0)
    line_start = np.searchsorted(keys, point_line * span)
    line_end = np.searchsorted(keys, (point_line + 1) * span)
    # An outward face crossed going +axis has a positive axis normal: leaving the solid.
    forward = running[line_end] - running[before_point]
    backward = running[line_start] - running[before_point]
    return forward, backward


def generalised_winding_number(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray):
    """(N,) Σ solid angle / 4π of every triangle seen from each point (Jacobson et al. 2013;
    triangle solid angle by Van Oosterom & Strackee 1983). O(N × F): for few points."""
    corners = vertices[faces]
    result = np.zeros(len(points))
    step = max(1, 2_000_000 // max(len(faces), 1))
    for start in range(0, len(points), step):
        rel = corners[None] - points[start : start + step, None, None, :]  # (n, F, 3, 3)
        a, b, c = rel[:, :, 0], rel[:, :, 1], rel[:, :, 2]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        numerator = np.einsum("nfk,nfk->nf", a, np.cross(b, c))
        denominator = (
            la * lb * lc + (a * b).sum(-1) * lc + (b * c).sum(-1) * la + (c * a).sum(-1) * lb
        )
        result[start : start + step] = (
            2.0 * np.arctan2(numerator, denominator).sum(1) / (4 * math.pi)
        )
    return result


def _signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    corners = vertices[faces]
    return float(
        np.einsum("fk,fk->f", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])).sum() / 6
    )
