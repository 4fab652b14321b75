"""Differentiable shaded renders of a triangle mesh, the fine stage's counterpart of
render/volume.py.

The sculpt's fine stage renders its DMTet surface with the rasterizer, and the reference
teacher renders its target mesh the same way; both must shade exactly as the coarse
stage's volume renderer does (the same albedo / lambertian / textureless modes, light
levels and backgrounds), or the teacher's answer would not be reachable. Silhouette
gradients come from render/antialias.py, so the surface moves toward the target's
outline, not only its colours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional

from headsculpt.render.antialias import EdgeAdjacency, antialias
from headsculpt.render.camera import Camera
from headsculpt.render.rasterizer import (
    FragmentTest,
    Rasterization,
    interpolate,
    rasterize,
    sample_texture,
)

# Albedo at each covered pixel (N, 3) in [0, 1], given where the pixels landed.
SurfaceAlbedo = Callable[[Rasterization, torch.Tensor], torch.Tensor]
SHADINGS = ("albedo", "lambertian", "textureless")


@dataclass(frozen=True)
class MeshShading:
    """Light levels of the shaded modes: the volume renderer's defaults."""

    ambient: float = 0.1
    diffuse: float = 0.9


@dataclass
class MeshRender:
    rgb: torch.Tensor  # (B, 3, H, W) over the background
    opacity: torch.Tensor  # (B, 1, H, W), anti-aliased coverage


def albedo_from_points(colour: Callable[[torch.Tensor], torch.Tensor], vertices: torch.Tensor):
    """A SurfaceAlbedo that asks a 3D colour field at each pixel's surface point."""

    def albedo(raster: Rasterization, triangles: torch.Tensor) -> torch.Tensor:
        return colour(interpolate(vertices, raster, triangles))

    return albedo


def albedo_from_texture(uv: torch.Tensor, texture: torch.Tensor):
    """A SurfaceAlbedo read from an (S, S, 3) texture in [0, 1] at per-vertex glTF UVs
    (an RGBA texture's colour; its alpha is the fragment test, ``alpha_test``)."""
    colour = texture[..., :3].contiguous()

    def albedo(raster: Rasterization, triangles: torch.Tensor) -> torch.Tensor:
        return sample_texture(colour, interpolate(uv, raster, triangles))

    return albedo


def render_mesh(
    vertices: torch.Tensor,
    triangles: torch.Tensor,
    cameras: Sequence[Camera],
    size: int,
    albedo: SurfaceAlbedo,
    background: torch.Tensor,
    shading: str = "albedo",
    light_dirs: torch.Tensor | None = None,
    config: MeshShading | None = None,
    adjacency: EdgeAdjacency | None = None,
    keep: FragmentTest | None = None,
) -> MeshRender:
    """Each camera's (size × size) render; gradients reach ``vertices`` and the albedo.

    ``background`` (B, 3) or (3,); ``light_dirs`` (B, 3) or (3,) point from the head
    toward the light (default: from the head's centre toward each camera, as the
    volume renderer does). ``keep``: a fragment test (``alpha_test`` of a hair texture).
    """
    if shading not in SHADINGS:
        raise ValueError(f"shading must be one of {SHADINGS}, got {shading!r}")
    config = config or MeshShading()
    triangles = triangles.long()
    adjacency = adjacency or EdgeAdjacency.from_triangles(triangles)
    count = len(cameras)
    device = vertices.device
    background = torch.as_tensor(background, dtype=vertices.dtype, device=device).expand(count, 3)
    corners = vertices[triangles]
    face_normals = functional.normalize(
        torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), dim=1
    )
    centre = (vertices.detach().amax(0) + vertices.detach().amin(0)) / 2.0
    images, alphas = [], []
    for index, camera in enumerate(cameras):
        clip = camera.to_clip(vertices)
        raster = rasterize(clip, triangles, size, size, keep=keep)
        colour = albedo(raster, triangles)
        if shading != "albedo":
            if light_dirs is None:
                light = torch.tensor(camera.eye, dtype=vertices.dtype, device=device) - centre
            else:
                light = torch.as_tensor(light_dirs, dtype=vertices.dtype, device=device)
                light = light.expand(count, 3)[index]
            light = functional.normalize(light, dim=0)
            normal = face_normals[raster.triangle_ids]
            lambert = (normal @ light).clamp(min=0.0)[:, None]
            brightness = config.ambient + config.diffuse * lambert
            colour = brightness.expand(-1, 3) if shading == "textureless" else colour * brightness
        ones = torch.ones_like(colour[:, :1])
        values = torch.cat([colour, ones], dim=1)
        fill = torch.cat([background[index], background.new_zeros(1)])
        image = raster.to_image(values, fill)
        image = antialias(image, raster, clip, triangles, adjacency)
        images.append(image[..., :3].permute(2, 0, 1))
        alphas.append(image[..., 3:].permute(2, 0, 1))
    return MeshRender(rgb=torch.stack(images), opacity=torch.stack(alphas))
