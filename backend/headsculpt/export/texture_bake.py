"""UV unwrap (xatlas) and texture bake for meshes that have no UVs: the sculpt's surface.

The sculpt's colour lives in a 3D field; an artist needs a texture. Unwrap the mesh,
rasterize its UV layout (the rasterizer bakes when given UVs as clip positions), ask
the colour field at every texel's surface point, and pad each chart outward so that
mip-mapping and bilinear lookups at seams do not pull in the empty background (the
"black seams" users report from other tools).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional

from headsculpt.render.rasterizer import interpolate, rasterize, uv_to_clip

_FIELD_CHUNK = 2**16  # texels asked of the colour field at once


@dataclass
class UnwrappedMesh:
    """A mesh split at its UV seams, with per-vertex UVs (the bake writes the texture in
    the same convention it reads them: glTF's, v = 0 at the top row)."""

    vertices: np.ndarray  # (V', 3) float64
    triangles: np.ndarray  # (F, 3) int64
    uv: np.ndarray  # (V', 2) float64 in [0, 1]
    source_vertex: np.ndarray  # (V',) the input vertex each one was split from


def unwrap(vertices: np.ndarray, triangles: np.ndarray, resolution: int = 1024) -> UnwrappedMesh:
    """xatlas charts packed into the unit square (``resolution`` sets the packing grid)."""
    import xatlas

    atlas = xatlas.Atlas()
    atlas.add_mesh(
        np.ascontiguousarray(vertices, np.float32), np.ascontiguousarray(triangles, np.uint32)
    )
    pack = xatlas.PackOptions()
    pack.resolution = resolution
    pack.padding = max(2, resolution // 256)
    atlas.generate(pack_options=pack)
    source, faces, uv = atlas[0]
    source = source.astype(np.int64)
    uv = uv.astype(np.float64)
    return UnwrappedMesh(
        vertices=np.asarray(vertices, np.float64)[source],
        triangles=faces.astype(np.int64),
        uv=uv,
        source_vertex=source,
    )


def bake_texture(
    mesh: UnwrappedMesh,
    colour: Callable[[torch.Tensor], torch.Tensor],
    size: int,
    padding: int = 8,
) -> np.ndarray:
    """(size, size, 3) uint8: ``colour(points (N, 3)) → (N, 3) in [0, 1]`` at each texel's
    surface point, charts padded outward by ``padding`` texels."""
    uv = torch.from_numpy(mesh.uv).float()
    triangles = torch.from_numpy(mesh.triangles)
    raster = rasterize(uv_to_clip(uv), triangles, size, size)
    points = interpolate(torch.from_numpy(mesh.vertices).float(), raster, triangles)
    image = raster.to_image(_field_values(colour, points)).permute(2, 0, 1)[None]
    covered = raster.coverage.float()[None, None]
    image, covered = pad_charts(image, covered, padding)
    return (image[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)


def colours_at(points: np.ndarray, colour: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
    """(N, 3) uint8: ``colour`` (a field, as :func:`bake_texture` takes) at ``points``,
    quantised as the baked texture is."""
    values = _field_values(colour, torch.from_numpy(np.asarray(points, dtype=np.float32)))
    return (values.numpy() * 255.0 + 0.5).astype(np.uint8)


def _field_values(
    colour: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor
) -> torch.Tensor:
    """(N, 3) in [0, 1] on the CPU: the field at ``points``, asked a chunk at a time on the
    field's own device (a module's parameters say which), no gradients."""
    parameters = colour.parameters() if isinstance(colour, torch.nn.Module) else iter(())
    device = next(parameters, points).device
    with torch.no_grad():
        values = torch.cat([
            colour(chunk.to(device)).float().cpu() for chunk in points.split(_FIELD_CHUNK)
        ])  # fmt: skip
    return values.clamp(0.0, 1.0)


def pad_charts(
    image: torch.Tensor, covered: torch.Tensor, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grow covered texels outward, one ring per step: each empty texel next to covered
    ones takes their mean. (1, C, H, W) image, (1, 1, H, W) coverage in {0, 1}."""
    kernel = torch.ones(1, 1, 3, 3)
    channels = image.shape[1]
    for _ in range(steps):
        weight = functional.conv2d(covered, kernel, padding=1)
        total = functional.conv2d(
            (image * covered).reshape(channels, 1, *image.shape[-2:]), kernel, padding=1
        ).reshape(1, channels, *image.shape[-2:])
        grow = (covered == 0) & (weight > 0)
        if not grow.any():
            break
        image = torch.where(grow, total / weight.clamp(min=1.0), image)
        covered = torch.where(grow, torch.ones_like(covered), covered)
    return image, covered
