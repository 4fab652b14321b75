"""Shaded, textured preview images of a head (front and three-quarter views).

A studio set-up: a warm key light, a cool fill and a rim light, Lambert diffuse
plus a Blinn–Phong highlight driven by the roughness map. Rendered at twice the
output size and averaged down, which antialiases edges and texture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from headsculpt.progress import ProgressCallback, no_progress
from headsculpt.render.camera import Camera
from headsculpt.render.camera_sampler import CameraSampler
from headsculpt.render.colour import linear_to_srgb, srgb_to_linear
from headsculpt.render.rasterizer import alpha_test, interpolate, rasterize, sample_texture

PREVIEW_VIEWS: tuple[tuple[str, float], ...] = (("front", 0.0), ("three-quarter", 35.0))
_SUPERSAMPLE = 2  # for previews up to _SUPERSAMPLE_UP_TO pixels; larger ones are sharp enough
_SUPERSAMPLE_UP_TO = 512
# (direction toward the light, linear RGB intensity)
_LIGHTS = (
    ((-0.55, -0.75, 0.45), (1.00, 0.95, 0.88)),
    ((0.70, -0.55, 0.10), (0.28, 0.32, 0.40)),
    ((0.10, 0.90, 0.45), (0.35, 0.35, 0.38)),
)
_AMBIENT = 0.12


@dataclass
class TexturedMesh:
    """What the preview needs of a head: split vertices with UVs, and its textures."""

    vertices: np.ndarray  # (V, 3)
    normals: np.ndarray  # (V, 3)
    uv: np.ndarray  # (V, 2) glTF UVs
    triangles: np.ndarray  # (F, 3)
    base_color: np.ndarray  # (S, S, 3) uint8 sRGB, or (S, S, 4) with alpha: alpha-tested
    roughness: np.ndarray  # (S, S) uint8


def merge_meshes(meshes: list[TexturedMesh], atlas_height: int = 1024) -> TexturedMesh:
    """One mesh of several (a head and its hair); their textures side by side in one atlas,
    each resized to ``atlas_height``. Alpha is kept when any texture has it."""
    with_alpha = any(m.base_color.shape[-1] == 4 for m in meshes)
    tiles, rough_tiles, offsets, x = [], [], [], 0
    for mesh in meshes:
        height, width = mesh.base_color.shape[:2]
        size = (max(1, round(width * atlas_height / height)), atlas_height)
        mode = "RGBA" if with_alpha else "RGB"
        tile = Image.fromarray(mesh.base_color).convert(mode).resize(size, Image.BILINEAR)
        tiles.append(np.asarray(tile))
        rough_tiles.append(np.asarray(Image.fromarray(mesh.roughness).resize(size)))
        offsets.append((x, size[0]))
        x += size[0]
    vertices, normals, uvs, triangles, base = [], [], [], [], 0
    for mesh, (start, width) in zip(meshes, offsets, strict=True):
        uv = np.clip(mesh.uv, 0.0, 1.0)  # the atlas has no room to repeat a texture
        uvs.append(np.stack([(start + uv[:, 0] * width) / x, uv[:, 1]], axis=1))
        vertices.append(mesh.vertices)
        normals.append(mesh.normals)
        triangles.append(mesh.triangles + base)
        base += len(mesh.vertices)
    return TexturedMesh(
        np.concatenate(vertices), np.concatenate(normals),
        np.concatenate(uvs).astype(np.float32), np.concatenate(triangles).astype(np.int64),
        np.concatenate(tiles, axis=1), np.concatenate(rough_tiles, axis=1),
    )  # fmt: skip


def render_view(
    mesh: TexturedMesh, camera: Camera, size: int, vertex_colors: np.ndarray | None = None
) -> np.ndarray:
    """One (size, size, 3) uint8 sRGB image of ``mesh`` seen by ``camera``.
    ``vertex_colors``: (V, 3) uint8 sRGB in place of the texture (a surface not yet
    unwrapped: a sculpt before its bake)."""
    factor = _SUPERSAMPLE if size <= _SUPERSAMPLE_UP_TO else 1
    full = size * factor
    vertices = torch.from_numpy(mesh.vertices).float()
    triangles = torch.from_numpy(mesh.triangles).long()
    texture = torch.from_numpy(mesh.base_color).float() / 255.0
    keep = alpha_test(torch.from_numpy(mesh.uv).float(), triangles, texture)
    raster = rasterize(camera.to_clip(vertices), triangles, full, full, keep=keep)

    position = interpolate(vertices, raster, triangles)
    normal = torch.nn.functional.normalize(
        interpolate(torch.from_numpy(mesh.normals).float(), raster, triangles), dim=1
    )
    uv = interpolate(torch.from_numpy(mesh.uv).float(), raster, triangles)
    if vertex_colors is None:
        srgb = sample_texture(texture[..., :3].contiguous(), uv)
    else:
        colors = torch.from_numpy(np.asarray(vertex_colors, dtype=np.float32)) / 255.0
        srgb = interpolate(colors, raster, triangles)
    albedo = srgb_to_linear(srgb)
    roughness = sample_texture(torch.from_numpy(mesh.roughness).float()[..., None] / 255.0, uv)

    to_eye = torch.nn.functional.normalize(torch.tensor(camera.eye) - position, dim=1)
    normal = torch.where((normal * to_eye).sum(1, keepdim=True) < 0, -normal, normal)
    shininess = 2.0 / roughness.clamp(0.05, 1.0) ** 4
    radiance = albedo * _AMBIENT
    for direction, colour in _LIGHTS:
        light = torch.nn.functional.normalize(torch.tensor(direction), dim=0)
        lambert = (normal @ light).clamp(min=0.0)[:, None]
        half = torch.nn.functional.normalize(to_eye + light, dim=1)
        specular = ((normal * half).sum(1, keepdim=True).clamp(min=0.0) ** shininess) * 0.25
        specular = specular * (1.0 - roughness) * (lambert > 0)
        radiance = radiance + torch.tensor(colour) * (albedo * lambert + specular)

    background = _background(full)
    image = raster.to_image(radiance.clamp(0.0, 1.0))
    image = torch.where(raster.coverage[..., None], image, background)
    image = image.view(size, factor, size, factor, 3).mean(dim=(1, 3))
    srgb_out = linear_to_srgb(image)
    return (srgb_out * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).numpy()


def render_preview(
    mesh: TexturedMesh, size: int = 512, progress: ProgressCallback = no_progress
) -> Image.Image:
    """Front and three-quarter views side by side (2·size × size); reports each view."""
    sampler = CameraSampler.around(mesh.vertices)
    views = []
    for index, (_, azimuth) in enumerate(PREVIEW_VIEWS):
        progress("preview", index / len(PREVIEW_VIEWS))
        camera = sampler.view(azimuth, 5.0, fov=28.0, framing=0.95).camera
        views.append(render_view(mesh, camera, size))
    return Image.fromarray(np.concatenate(views, axis=1))


def _background(size: int) -> torch.Tensor:
    """A soft vertical grey gradient (linear light)."""
    ramp = torch.linspace(0.20, 0.06, size)[:, None, None]
    return ramp.expand(size, size, 3).clone()
