"""DMTet (Shen et al. 2021): the fine stage's surface, a learnable SDF on a tet grid.

The fine stage renders a *mesh* (rasterised at high resolution, cheap per pixel)
instead of volume-rendering the coarse field. The mesh is the zero level set of
an SDF stored at the vertices of a tetrahedral grid, each vertex also allowed to
slide by up to a fraction of a cell; marching tetrahedra turns both into triangles
whose positions are differentiable w.r.t. every SDF value and offset, so score
distillation on the renders sculpts the surface directly.

Convention: **negative SDF is inside**. Faces are wound so their normals point from
negative to positive SDF (outward; a closed result has positive signed volume).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from headsculpt.bounds import Box
from headsculpt.geometry.density_field import DensityField
from headsculpt.geometry.optical_depth import HALF_TRANSMITTANCE_DEPTH, optical_depth_from_outside

# The six edges of a tet as pairs of its local corners; triangles name these edges.
TET_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


LOG_DENSITY_SPAN = 5.0  # a density e^5 times the threshold (or below) saturates the SDF


@dataclass(frozen=True)
class DMTetConfig:
    """Grid cells per axis, its box, and how far vertices may slide.

    ``resolution``: cubes per axis — one number for the same count on every axis (a cube
    grid stretched over the box), or (X, Y, Z). :meth:`with_spacing` picks counts that make
    the cubes as near to cubes in the world as the box allows, of a given side.
    ``deformation_scale`` is the largest offset in cells (tanh-limited). At 0.5 two
    neighbours moving toward each other can fold a tet; the SDF then simply folds too.
    """

    resolution: int | tuple[int, int, int] = 64
    box: Box = Box()
    deformation_scale: float = 0.5

    @property
    def cells(self) -> tuple[int, int, int]:
        """Cubes along x, y and z."""
        if isinstance(self.resolution, int):
            return (self.resolution,) * 3
        return tuple(int(c) for c in self.resolution)  # type: ignore[return-value]

    @property
    def tet_count(self) -> int:
        """How many tets the grid has: 6 per cube."""
        x, y, z = self.cells
        return 6 * x * y * z

    @classmethod
    def with_spacing(cls, box: Box, spacing: float, max_tets: int | None = None) -> DMTetConfig:
        """The grid over ``box`` whose cubes are ``spacing`` on a side (world units), the
        count on each axis rounded up; where that would pass ``max_tets``, the spacing grows
        until it does not (a box stretched by long hair keeps the budget, not the detail).

        A tet grid named by its spacing means the same detail in any box: threestudio's
        refine grids ("128") are quartet meshes about as fine as 128 cubes across a head's
        box, which is what the ``standard`` preset's spacing gives here.
        """
        if spacing <= 0:
            raise ValueError(f"spacing must be positive, got {spacing}")
        extent = [2.0 * h for h in box.half_extent]
        while True:
            cells = tuple(max(1, math.ceil(e / spacing - 1e-6)) for e in extent)
            config = cls(cells, box)
            if max_tets is None or config.tet_count <= max_tets:
                return config
            spacing *= (config.tet_count / max_tets) ** (1.0 / 3.0) * 1.001


def tet_grid(
    resolution: int | tuple[int, int, int], device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """A cube grid over [−0.5, 0.5]³ with every cube split into 6 tets, built on ``device``.

    ``resolution``: cubes per axis (one number, or X, Y, Z). Returns vertices
    ((X + 1)(Y + 1)(Z + 1), 3) float32 and tets (6 X Y Z, 4) long, all positively
    oriented. Every cube uses the same Kuhn (Freudenthal) split along its (0,0,0)–(1,1,1)
    diagonal: one tet per order in which the path steps along x, y and z. Translated
    copies of that split agree on shared cube faces, so the tets form a conforming mesh
    (each interior triangle belongs to exactly two tets).
    """
    cells = (resolution,) * 3 if isinstance(resolution, int) else tuple(resolution)
    if min(cells) < 1:
        raise ValueError(f"resolution must be at least 1, got {resolution}")
    sides = [c + 1 for c in cells]
    axes = [torch.linspace(-0.5, 0.5, side, device=device) for side in sides]
    vertices = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    ranges = [torch.arange(c, device=device) for c in cells]
    i, j, k = (c.reshape(-1) for c in torch.meshgrid(*ranges, indexing="ij"))
    _, side_y, side_z = sides
    tets = []
    for order in itertools.permutations(range(3)):
        step = [0, 0, 0]
        path = [(i * side_y + j) * side_z + k]
        for axis_id in order:
            step[axis_id] += 1
            path.append(((i + step[0]) * side_y + (j + step[1])) * side_z + (k + step[2]))
        if _is_odd(order):  # an odd order mirrors the tet: swap two corners to undo it
            path[2], path[3] = path[3], path[2]
        tets.append(torch.stack(path, 1))
    return vertices, torch.cat(tets, 0)


def _is_odd(order: tuple[int, ...]) -> bool:
    inversions = sum(a > b for a, b in itertools.combinations(order, 2))
    return inversions % 2 == 1


def _triangle_table() -> tuple[np.ndarray, np.ndarray]:
    """Per inside-pattern (bit c set: corner c inside) up to two triangles of TET_EDGES ids.

    Built, not typed in: each triangle is oriented on a reference tet of positive
    volume so its normal points from the inside corners to the outside ones. The
    orientation of a triangle across a tet is an affine invariant of positively
    oriented tets, so the table holds for every tet of :func:`tet_grid`. A constant of
    the module (numpy); marching copies it to the grid's device.
    """
    corners = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    table = np.full((16, 2, 3), -1, dtype=np.int64)
    counts = np.zeros(16, dtype=np.int64)
    for case in range(16):
        inside = [c for c in range(4) if case >> c & 1]
        outside = [c for c in range(4) if not case >> c & 1]
        if len(inside) in (0, 4):
            continue

        def edge(a: int, b: int) -> int:
            return TET_EDGES.index((min(a, b), max(a, b)))

        if len(inside) == 2:  # a quad: the cycle p-r, p-s, q-s, q-r split along (p-r, q-s)
            (p, q), (r, s) = inside, outside
            triangles = [[edge(p, r), edge(p, s), edge(q, s)], [edge(p, r), edge(q, s), edge(q, r)]]
        else:
            lone = inside[0] if len(inside) == 1 else outside[0]
            triangles = [[edge(lone, other) for other in range(4) if other != lone]]
        direction = corners[outside].mean(0) - corners[inside].mean(0)
        for slot, triangle in enumerate(triangles):
            points = np.stack([corners[list(TET_EDGES[e])].mean(0) for e in triangle])
            normal = np.cross(points[1] - points[0], points[2] - points[0])
            if np.dot(normal, direction) < 0:
                triangle = [triangle[0], triangle[2], triangle[1]]
            table[case, slot] = triangle
        counts[case] = len(triangles)
    return table, counts


_TABLE, _TABLE_COUNTS = _triangle_table()


def marching_tetrahedra(
    positions: torch.Tensor, tets: torch.Tensor, sdf: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The zero level set of per-vertex ``sdf`` (V,) on tets (T, 4) over ``positions`` (V, 3).

    Returns vertices (M, 3), differentiable w.r.t. ``positions`` and ``sdf`` (one vertex
    per crossed grid edge, shared by every tet around it, so the mesh is watertight
    wherever the surface stays inside the grid) and faces (F, 3) long, wound outward.
    """
    inside = sdf < 0
    corner_inside = inside[tets]  # (T, 4)
    inside_count = corner_inside.sum(1)
    crossed = (inside_count > 0) & (inside_count < 4)
    tets, corner_inside = tets[crossed], corner_inside[crossed]
    if len(tets) == 0:
        return positions.new_zeros(0, 3), torch.zeros(0, 3, dtype=torch.long, device=tets.device)
    edge_corners = torch.tensor(TET_EDGES, device=tets.device)
    ends = tets[:, edge_corners].sort(-1).values  # (T, 6, 2) global ids, low first
    keys = ends[..., 0] * len(positions) + ends[..., 1]
    unique_keys, edge_ids = torch.unique(keys.reshape(-1), return_inverse=True)
    low, high = unique_keys // len(positions), unique_keys % len(positions)
    is_crossing = inside[low] != inside[high]
    vertex_of_edge = torch.cumsum(is_crossing.long(), 0) - 1  # only read where crossing
    low, high = low[is_crossing], high[is_crossing]
    sdf_low, sdf_high = sdf[low], sdf[high]
    weight = (sdf_low / (sdf_low - sdf_high))[:, None]  # signs differ: never 0 / 0
    vertices = positions[low] + weight * (positions[high] - positions[low])
    tet_vertex = vertex_of_edge[edge_ids].reshape(-1, 6)  # (T, 6) output vertex per edge
    powers = torch.tensor([1, 2, 4, 8], device=tets.device)
    case = (corner_inside.long() * powers).sum(1)
    table = torch.as_tensor(_TABLE, device=tets.device)[case]
    counts = torch.as_tensor(_TABLE_COUNTS, device=tets.device)[case]
    first = torch.gather(tet_vertex, 1, table[:, 0])
    second = torch.gather(tet_vertex, 1, table[:, 1].clamp_min(0))[counts == 2]
    return vertices, torch.cat([first, second], 0)


class DMTet(nn.Module):
    """Learnable SDF and per-vertex offsets on a :func:`tet_grid` filling ``config.box``."""

    def __init__(self, config: DMTetConfig | None = None, device: torch.device | str = "cpu"):
        """The grid is built on ``device``. Its vertices and tets are made again from the
        config whenever a DMTet is built, so they are not in :meth:`state_dict`: a
        checkpoint holds the learnt SDF and offsets only (a ``standard`` grid's int64
        tets alone are 400 MB)."""
        super().__init__()
        self.config = config or DMTetConfig()
        unit, tets = tet_grid(self.config.resolution, device)
        self.register_buffer("grid_vertices", self.config.box.from_unit(unit + 0.5), False)
        self.register_buffer("tets", tets, False)
        self.sdf = nn.Parameter(torch.zeros(len(unit), device=device))
        self.deformation = nn.Parameter(torch.zeros(len(unit), 3, device=device))

    @property
    def cell_size(self) -> torch.Tensor:
        """(3,) one cube's side per axis, world units."""
        cells = torch.tensor(self.config.cells, dtype=self.grid_vertices.dtype,
                             device=self.grid_vertices.device)  # fmt: skip
        return self.config.box.size(self.grid_vertices) / cells

    def vertex_positions(self) -> torch.Tensor:
        """(V, 3) grid vertices moved by their tanh-limited offsets."""
        limit = self.config.deformation_scale * self.cell_size
        return self.grid_vertices + torch.tanh(self.deformation) * limit

    def extract_mesh(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Vertices (M, 3) and outward faces (F, 3) of the SDF's zero level set."""
        return marching_tetrahedra(self.vertex_positions(), self.tets, self.sdf)

    @classmethod
    def create_from(
        cls,
        field: DensityField,
        config: DMTetConfig | None = None,
        threshold: float | None = None,
        chunk: int = 65536,
    ) -> DMTet:
        """The fine stage's start: the coarse field's density isosurface (threestudio).

        ``sdf = −log(density / threshold) / LOG_DENSITY_SPAN`` clamped to [−1, 1] at the
        grid vertices; ``threshold`` defaults to the mean of the positive densities there.
        The zero level set is threestudio's (density = threshold), but the crossings are
        interpolated in log density: a trained density is an exponential across the
        surface, and interpolating it linearly snaps every crossing to a grid vertex (a
        staircase surface the fine stage then has to undo). ``config`` defaults to the
        field's box at the default resolution.
        """
        dmtet = cls(config or DMTetConfig(box=field.config.box), _device_of(field))
        evidence = dmtet.read_field(field, chunk)
        dmtet.start_at(evidence, evidence.mean_density() if threshold is None else threshold)
        return dmtet

    @classmethod
    def create_matching(
        cls,
        field: DensityField,
        config: DMTetConfig,
        thresholds: Sequence[float],
        score: Callable[[torch.Tensor, torch.Tensor], float],
        chunk: int = 65536,
    ) -> tuple[DMTet, float]:
        """:meth:`create_from` at whichever of ``thresholds`` gives the surface that
        ``score(vertices, triangles)`` rates highest; returns it and that threshold.

        No one density is the surface for every field: where the coarse field is a
        fuzz (hair's strands, seen through) its renders turn opaque well outside a
        density of 25, and a start cut there is smaller than what the renders showed
        (docs/sculpt.md). The sculpt scores each candidate by how its silhouettes agree
        with the field's own renders."""
        dmtet = cls(config, _device_of(field))
        evidence = dmtet.read_field(field, chunk)
        scores = []
        for threshold in thresholds:
            dmtet.start_at(evidence, threshold)
            with torch.no_grad():
                vertices, triangles = dmtet.extract_mesh()
            scores.append(score(vertices, triangles) if len(triangles) else -math.inf)
        best = max(range(len(scores)), key=scores.__getitem__)
        dmtet.start_at(evidence, thresholds[best])
        return dmtet, float(thresholds[best])

    def read_field(self, field: DensityField, chunk: int = 65536) -> FieldEvidence:
        """The coarse field's density at each grid vertex, and how deep (in optical
        depth) each lies from the grid's outside."""
        self.to(_device_of(field))
        positions = self.grid_vertices
        with torch.no_grad():
            density = torch.cat(
                [field(positions[s : s + chunk])[0] for s in range(0, len(positions), chunk)]
            )
            sides = [c + 1 for c in self.config.cells]
            depth = optical_depth_from_outside(density.reshape(sides), self.cell_size)
        return FieldEvidence(density, depth.reshape(-1))

    def start_at(self, evidence: FieldEvidence, threshold: float) -> None:
        """Set the SDF from ``evidence``: inside where the density passes ``threshold``
        or where light reaches only through opaque matter."""
        if threshold <= 0:
            raise ValueError(f"threshold must be positive, got {threshold}")
        with torch.no_grad():
            ratio = evidence.density.clamp(min=threshold * 1e-12) / threshold
            sdf = -torch.log(ratio) / LOG_DENSITY_SPAN
            # Inside too: what light reaches only through opaque matter from every side
            # (a render's surface is at transmittance 1/2), however thin its density.
            seen = evidence.depth.clamp(min=1e-12) / HALF_TRANSMITTANCE_DEPTH
            sdf = torch.minimum(sdf, -torch.log(seen) / LOG_DENSITY_SPAN)
            self.sdf.copy_(sdf.clamp(-1.0, 1.0))


def _device_of(field: DensityField) -> torch.device:
    return next(field.parameters()).device


@dataclass(frozen=True)
class FieldEvidence:
    """What a coarse field says at each DMTet grid vertex: its density, and its least
    optical depth from the grid's outside (:func:`optical_depth_from_outside`)."""

    density: torch.Tensor  # (V,)
    depth: torch.Tensor  # (V,)

    def mean_density(self) -> float:
        """The mean of the positive densities: :meth:`DMTet.create_from`'s default."""
        positive = self.density[self.density > 0]
        if len(positive) == 0:
            raise ValueError("the field has no density in its box: nothing to extract")
        return float(positive.mean())
