"""Camera rays through pixel centres, and where they cross the scene's box.

The rays use the rasterizer's pixel convention (pixel (row, col) has its centre
at NDC ``x = (2 col + 1) / W - 1``, ``y = 1 - (2 row + 1) / H``, row 0 at the
top), so a volume render and a rasterized render of one object line up pixel
for pixel. Distances along a ray are world units from the eye (directions are
unit length), not the camera's z depth.
"""

from __future__ import annotations

import math

import torch

from headsculpt.bounds import Box
from headsculpt.render.camera import Camera


def camera_rays(
    camera: Camera,
    height: int,
    width: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """World-space rays through every pixel centre, row-major.

    Returns origins (H·W, 3) (all the eye) and unit directions (H·W, 3). The
    aspect ratio is W / H, as :func:`headsculpt.render.camera.to_pixels` uses.
    """
    # Built in float64 so that rays of a distant camera stay exactly on the pixel centres.
    rows = torch.arange(height, dtype=torch.float64, device=device)
    cols = torch.arange(width, dtype=torch.float64, device=device)
    ndc_y = 1.0 - (2.0 * rows + 1.0) / height
    ndc_x = (2.0 * cols + 1.0) / width - 1.0
    tan_half = math.tan(math.radians(camera.fov_y_degrees) / 2.0)
    aspect = width / height
    grid_y, grid_x = torch.meshgrid(ndc_y, ndc_x, indexing="ij")
    # Camera space: the camera looks down −Z; a point at z = −1 projects to NDC (x·f/aspect, y·f).
    in_camera = torch.stack(
        [grid_x * tan_half * aspect, grid_y * tan_half, -torch.ones_like(grid_x)], dim=-1
    ).reshape(-1, 3)
    rotation = camera.view_matrix(torch.float64, device)[:3, :3]  # world → camera
    directions = in_camera @ rotation  # camera → world is the transpose
    directions = directions / directions.norm(dim=1, keepdim=True)
    origins = torch.tensor(camera.eye, dtype=torch.float64, device=device).expand_as(directions)
    return origins.to(dtype).contiguous(), directions.to(dtype).contiguous()


def intersect_box(
    origins: torch.Tensor, directions: torch.Tensor, box: Box
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Slab test: (t_near (R,), t_far (R,), hit (R,) bool) of rays against ``box``.

    ``t_near`` is clamped to 0, so a ray starting inside the box starts at its origin.
    """
    lower, upper = box.corners(origins.device, origins.dtype)
    # Axis-parallel rays: a tiny direction keeps the slab test finite and of the right sign.
    tiny = torch.finfo(directions.dtype).tiny ** 0.5
    safe = torch.where(
        directions.abs() < tiny, torch.full_like(directions, tiny).copysign(directions), directions
    )
    inverse = 1.0 / safe
    t_lower = (lower - origins) * inverse
    t_upper = (upper - origins) * inverse
    t_near = torch.minimum(t_lower, t_upper).amax(dim=1).clamp(min=0.0)
    t_far = torch.maximum(t_lower, t_upper).amin(dim=1)
    return t_near, t_far, t_far > t_near
