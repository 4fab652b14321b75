"""The fine stage's mesh renderer and the texture bake, against known answers.

The reference teacher renders its target with render/mesh_render.py while the coarse
stage's student is volume rendered: the two must shade alike, or the teacher's answer
could not be reached. The bake must put each surface point's colour where its UVs say.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from headsculpt.bounds import Box
from headsculpt.export.texture_bake import bake_texture, pad_charts, unwrap
from headsculpt.render.camera import orbit_camera
from headsculpt.render.mesh_render import albedo_from_points, albedo_from_texture, render_mesh
from headsculpt.render.rasterizer import sample_texture
from headsculpt.render.volume import VolumeRenderConfig, render_volume

ALBEDO = torch.tensor([0.8, 0.4, 0.2])
RADIUS = 0.5


def _sphere_mesh():
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=RADIUS)
    return torch.tensor(sphere.vertices, dtype=torch.float32), torch.tensor(sphere.faces)


def _solid_sphere(points):
    inside = points.norm(dim=1) < RADIUS
    return inside.float() * 2000.0, ALBEDO.expand(len(points), 3)


def test_mesh_and_volume_renders_shade_alike_in_every_mode():
    vertices, triangles = _sphere_mesh()
    cameras = [orbit_camera(30.0, 20.0, 2.5, (0.0, 0.0, 0.0))]
    light = torch.tensor([[0.3, -1.0, 0.5]])
    config = VolumeRenderConfig(box=Box((0.0, 0.0, 0.0), 0.6), samples_per_ray=256,
                                stratified=False)  # fmt: skip
    for shading in ("albedo", "lambertian", "textureless"):
        mesh = render_mesh(vertices, triangles, cameras, 48,
                           albedo_from_points(lambda p: ALBEDO.expand(len(p), 3), vertices),
                           torch.ones(3), shading, light)  # fmt: skip
        volume = render_volume(_solid_sphere, cameras, 48, 48, config, shading=shading,
                               normals_fn=lambda p: torch.nn.functional.normalize(p, dim=1),
                               light_dirs=light)  # fmt: skip
        inside = (mesh.opacity[0, 0] > 0.99) & (volume.opacity[0, 0] > 0.99)
        assert inside.float().mean() > 0.2
        difference = (mesh.rgb[0] - volume.rgb[0]).abs()[:, inside]
        assert difference.mean() < 0.03, shading  # same light levels, same light direction
        silhouettes = (mesh.opacity > 0.5) ^ (volume.opacity > 0.5)
        assert silhouettes.float().mean() < 0.02


@pytest.mark.xfail(
    strict=True,
    reason="known bug: render/antialias.py finds a silhouette only where the covering "
    "triangle's neighbour faces away; on a finely meshed closed surface the outline's "
    "sliver triangles cover no pixel centre, so the outline gets no gradient (the fine "
    "stage moves it through colour gradients only)",
)
def test_mesh_render_gradients_move_the_silhouette():
    vertices, triangles = _sphere_mesh()
    vertices.requires_grad_(True)
    camera = [orbit_camera(0.0, 0.0, 2.5, (0.0, 0.0, 0.0))]
    render = render_mesh(vertices, triangles, camera, 32,
                         albedo_from_points(lambda p: ALBEDO + 0.0 * p, vertices),
                         torch.ones(3))  # fmt: skip
    render.opacity.sum().backward()  # more coverage: the sphere grows
    outward = (vertices.grad * vertices.detach()).sum(1)
    assert (outward > 0).sum() > 5 * (outward < 0).sum()  # coverage grows outward


def test_bake_puts_each_points_colour_at_its_uvs_and_pads_the_seams():
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=RADIUS)
    unwrapped = unwrap(sphere.vertices, sphere.faces, resolution=256)
    assert np.allclose(unwrapped.vertices, sphere.vertices[unwrapped.source_vertex])

    def colour(points):
        return (points / (2 * RADIUS) + 0.5).clamp(0, 1)

    texture = bake_texture(unwrapped, colour, 256, padding=4)
    centroids = torch.tensor(unwrapped.vertices[unwrapped.triangles].mean(1), dtype=torch.float32)
    uv = torch.tensor(unwrapped.uv[unwrapped.triangles].mean(1), dtype=torch.float32)
    looked_up = sample_texture(torch.tensor(texture, dtype=torch.float32) / 255.0, uv)
    error = (looked_up - colour(centroids)).abs().mean()
    assert error < 0.02  # the position → colour map survives bake and lookup
    # Padding: texels next to a chart take its colour instead of staying black.
    image = torch.zeros(1, 3, 8, 8)
    image[..., 2:4, 2:4] = 1.0
    covered = (image[:, :1] > 0).float()
    padded, grown = pad_charts(image, covered, 1)
    assert padded[0, :, 1, 1].eq(1.0).all() and grown[0, 0, 1:5, 1:5].all()
    assert padded[0, :, 6, 6].eq(0.0).all()  # only one ring per step


def test_texture_albedo_reads_the_texture_at_the_uvs():
    vertices = torch.tensor([[-0.5, 0.0, -0.5], [0.5, 0.0, -0.5], [0.0, 0.0, 0.5]])
    triangles = torch.tensor([[0, 2, 1]])
    uv = torch.tensor([[0.1, 0.9], [0.2, 0.9], [0.15, 0.8]])  # inside the red left half
    texture = torch.zeros(4, 4, 3)
    texture[:, :2, 0] = 1.0
    texture[:, 2:, 2] = 1.0
    camera = [orbit_camera(0.0, 0.0, 2.0, (0.0, 0.0, 0.0))]
    render = render_mesh(vertices, triangles, camera, 16, albedo_from_texture(uv, texture),
                         torch.zeros(3))  # fmt: skip
    covered = render.opacity[0, 0] > 0.99
    assert covered.any()
    assert torch.allclose(render.rgb[0, :, covered].mean(1), torch.tensor([1.0, 0.0, 0.0]))
