"""The undirected edges of a triangle mesh, and which edge each triangle side is.

The fine stage's regularisers and the rasterizer's antialiasing need the edges of a
mesh whose triangles change every step (marching tetrahedra), so finding them is on the
hot path. Each edge becomes one integer, ``low · n + high``, and a 1-D sort finds the
unique ones: ``torch.unique(..., dim=0)`` on (E, 2) pairs was 70 % of a fine step on
the CPU (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class MeshEdges:
    """The unique edges of (F, 3) triangles, lexicographically sorted."""

    ends: torch.Tensor  # (E, 2) int64: the two vertex ids of each edge, low id first
    of_side: torch.Tensor  # (F, 3) int64: the edge of each side k (corner k → corner k+1)
    uses: torch.Tensor  # (E,) int64: how many triangle sides lie on each edge

    @classmethod
    def of(cls, triangles: torch.Tensor) -> MeshEdges:
        triangles = triangles.long()
        start, end = triangles, triangles.roll(-1, dims=1)
        low, high = torch.minimum(start, end), torch.maximum(start, end)
        n = int(triangles.max()) + 1 if triangles.numel() else 1
        keys, of_side, uses = torch.unique(
            (low * n + high).reshape(-1), return_inverse=True, return_counts=True
        )
        ends = torch.stack([torch.div(keys, n, rounding_mode="floor"), keys % n], dim=1)
        return cls(ends, of_side.reshape(triangles.shape), uses)

    def shared_sides(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(first, second): flat side indices (3·face + k) of the two sides of each edge
        with exactly two; edges with one side (borders) or more (non-manifold) are left
        out."""
        edge = self.of_side.reshape(-1)
        order = torch.argsort(edge, stable=True)  # the sides of an edge become neighbours
        ordered = edge[order]
        pair = (ordered[:-1] == ordered[1:]) & (self.uses[ordered[:-1]] == 2)
        return order[:-1][pair], order[1:][pair]
