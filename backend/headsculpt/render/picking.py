"""Which surface point is under a pixel position, and which points can be seen.

Used to lift 2D landmarks found in a render onto the mesh (through the depth
buffer) and to hide projected landmarks that the head itself covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from headsculpt.render.camera import Camera, to_pixels
from headsculpt.render.rasterizer import (
    FragmentTest,
    edge_barycentric,
    rasterize,
    screen_coordinates,
)

PICK_SUPERSAMPLE = 4  # rasterize finer than the image so a pixel's triangle is the point's


@dataclass
class SurfacePick:
    """Surface points under image positions: triangle and perspective-correct barycentrics."""

    hit: torch.Tensor  # (N,) bool: a surface is under the position
    triangle_ids: torch.Tensor  # (N,) int64, −1 where nothing was hit
    barycentric: torch.Tensor  # (N, 3)

    def interpolate(self, values: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
        """Per-vertex ``values`` (V, C) at the picks (N, C); NaN where nothing was hit.

        With the mesh's vertices this gives the picked world positions.
        """
        corners = values[triangles.long()[self.triangle_ids.clamp(min=0)]]
        picked = (corners * self.barycentric.to(values.dtype)[..., None]).sum(1)
        return torch.where(self.hit[:, None], picked, torch.full_like(picked, float("nan")))


def pick_surface(
    camera: Camera,
    vertices: torch.Tensor,
    triangles: torch.Tensor,
    positions: torch.Tensor,
    width: int,
    height: int,
    supersample: int = PICK_SUPERSAMPLE,
    keep: FragmentTest | None = None,
) -> SurfacePick:
    """The nearest surface under each pixel position (N, 2) of a width×height image.

    The mesh is rasterized at ``supersample`` × the image size, so that the
    triangle found under a position is (nearly always) the one it lies in.
    ``keep``: a fragment test (the gaps between hair strands are not surface).
    """
    factor = supersample
    fine_w, fine_h = width * factor, height * factor
    clip = camera.to_clip(vertices.double(), aspect=width / height)
    raster = rasterize(clip, triangles, fine_h, fine_w, keep=keep)
    triangle_at = torch.full((fine_h * fine_w,), -1, dtype=torch.int64, device=clip.device)
    triangle_at[raster.pixels] = raster.triangle_ids
    fine = positions.double() * factor
    col = fine[:, 0].floor().long().clamp(0, fine_w - 1)
    row = fine[:, 1].floor().long().clamp(0, fine_h - 1)
    inside = (fine[:, 0] >= 0) & (fine[:, 0] < fine_w) & (fine[:, 1] >= 0) & (fine[:, 1] < fine_h)
    triangle_ids = torch.where(inside, triangle_at[row * fine_w + col], -1)
    hit = triangle_ids >= 0

    # Barycentrics of the exact position inside the picked triangle, perspective-correct.
    corner_ids = triangles.long()[triangle_ids.clamp(min=0)]
    corners = screen_coordinates(clip, fine_h, fine_w)[corner_ids]  # pixel-centre convention
    weights = edge_barycentric(corners, fine[:, 0] - 0.5, fine[:, 1] - 0.5)
    weights = weights.clamp(min=0.0)  # a position a hair outside its pixel's triangle
    weights = weights / clip[:, 3][corner_ids]
    barycentric = weights / weights.sum(1, keepdim=True).clamp(min=1e-30)
    return SurfacePick(hit, triangle_ids, barycentric.to(vertices.dtype))


def visible_points(
    camera: Camera,
    points: torch.Tensor,
    vertices: torch.Tensor,
    triangles: torch.Tensor,
    size: int,
    tolerance: float | None = None,
    keep: FragmentTest | None = None,
) -> torch.Tensor:
    """(N,) bool: each world point is in view and not hidden behind the mesh (behind
    what ``keep``, a fragment test, leaves of it: one sees between hair strands).

    ``tolerance`` is in world units: a point on the surface (a landmark) must not
    hide itself, so anything within that distance in front of the nearest
    surface along its ray counts as seen (default: 2 % of the mesh's bounding
    box diagonal). A depth test needs no supersampling: the mesh is rasterized
    at the image size.
    """
    if tolerance is None:
        tolerance = 0.02 * float((vertices.amax(0) - vertices.amin(0)).norm())
    pixels, _ = to_pixels(camera, points, size, size)
    pick = pick_surface(camera, vertices, triangles, pixels, size, size, supersample=1, keep=keep)
    surface = pick.interpolate(vertices, triangles)
    eye = torch.tensor(camera.eye, dtype=points.dtype, device=points.device)
    point_distance = (points - eye).norm(dim=1)
    surface_distance = (surface.to(points.dtype) - eye).norm(dim=1)
    in_view = (pixels >= 0).all(1) & (pixels[:, 0] < size) & (pixels[:, 1] < size)
    unoccluded = ~pick.hit | (point_distance <= surface_distance + tolerance)
    return in_view & unoccluded
