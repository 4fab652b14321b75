"""The rasterizer against scenes whose answer is known."""

import torch

from headsculpt.render.camera import orbit_camera
from headsculpt.render.rasterizer import interpolate, rasterize, sample_texture, uv_to_clip


def _square(z: float, half: float = 0.5):
    """Two triangles covering [-half, half]² at depth z, in clip space with w = 1."""
    positions = torch.tensor(
        [[-half, -half, z, 1.0], [half, -half, z, 1.0], [half, half, z, 1.0], [-half, half, z, 1.0]]
    )
    return positions, torch.tensor([[0, 1, 2], [0, 2, 3]])


def test_square_covers_its_area_exactly():
    positions, triangles = _square(0.0)
    raster = rasterize(positions, triangles, 64, 64)
    # [-0.5, 0.5] in NDC is the central half of the image: 32 × 32 pixel centres.
    assert raster.coverage.sum() == 32 * 32
    assert raster.coverage[16:48, 16:48].all()


def test_nearer_surface_wins():
    far, tri = _square(0.5, half=0.8)
    near, _ = _square(-0.5, half=0.3)
    positions = torch.cat([far, near])
    triangles = torch.cat([tri, tri + 4])
    raster = rasterize(positions, triangles, 32, 32)
    image = raster.to_image(raster.triangle_ids[:, None].float(), background=-1.0)[..., 0]
    assert image[16, 16] >= 2  # the near square's triangles are 2 and 3
    assert image[4, 16] in (0.0, 1.0)  # only the far one reaches out there
    assert image[0, 0] == -1.0  # nothing covers the corner


def test_interpolation_is_linear_on_screen_for_constant_w():
    positions, triangles = _square(0.0, half=1.0)
    raster = rasterize(positions, triangles, 16, 16)
    x = interpolate(positions[:, :1], raster, triangles)
    image = raster.to_image(x)[..., 0]
    expected = (2 * torch.arange(16) + 1) / 16 - 1
    assert torch.allclose(image[5], expected, atol=1e-5)


def test_barycentrics_carry_gradients_to_positions():
    positions, triangles = _square(0.0)
    positions = positions.clone().requires_grad_(True)
    raster = rasterize(positions, triangles, 16, 16)
    colours = torch.tensor([[1.0], [0.0], [0.0], [0.0]])
    interpolate(colours, raster, triangles).sum().backward()
    assert positions.grad is not None and positions.grad.abs().sum() > 0


def test_perspective_camera_sees_a_centred_object_in_the_middle():
    camera = orbit_camera(0.0, 0.0, 2.0, (0.0, 0.0, 0.0), fov_y_degrees=40.0)
    points = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.3], [0.3, 0.0, 0.0]])
    clip = camera.to_clip(points)
    ndc = clip[:, :3] / clip[:, 3:]
    assert torch.allclose(ndc[0, :2], torch.zeros(2), atol=1e-6)
    assert ndc[1, 1] > 0  # up in the world is up on screen
    assert ndc[2, 0] > 0  # the head's left (+X) is on the right of a front view


def test_uv_rasterization_and_texture_lookup_agree():
    uv = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    triangles = torch.tensor([[0, 1, 2], [0, 2, 3]])
    raster = rasterize(uv_to_clip(uv), triangles, 8, 8)
    assert raster.coverage.all()
    texels = interpolate(uv, raster, triangles)
    texture = raster.to_image(texels)
    assert torch.allclose(sample_texture(texture, texels), texels, atol=1e-5)
