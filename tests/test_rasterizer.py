"""The rasterizer against scenes whose answer is known."""

import pytest
import torch

from headsculpt.render.antialias import EdgeAdjacency, antialias
from headsculpt.render.camera import orbit_camera
from headsculpt.render.rasterizer import (
    interpolate,
    nvdiffrast_available,
    rasterize,
    sample_texture,
    uv_to_clip,
)


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


def test_a_fragment_test_shows_what_lies_behind_what_it_discards():
    """An alpha test (hair cards): the near square's left half is cut away."""
    far, tri = _square(0.5, half=0.8)
    near, _ = _square(-0.5, half=0.5)
    positions, triangles = torch.cat([far, near]), torch.cat([tri, tri + 4])
    x = positions[:, 0]

    def keep(triangle_ids, barycentric):
        inside = (barycentric[..., None] * x[triangles[triangle_ids]][..., None]).sum(1)[:, 0]
        return (triangle_ids < 2) | (inside > 0.0)  # the near square only where x > 0

    raster = rasterize(positions, triangles, 32, 32, keep=keep)
    image = raster.to_image(raster.triangle_ids[:, None].float(), background=-1.0)[..., 0]
    # The near square covers columns 8–23: its right half stays, its left half is gone.
    assert image[16, 17:23].min() >= 2.0 and image[8:24, 20].min() >= 2.0
    assert image[16, 9:16].max() <= 1.0 and image[8:24, 12].max() <= 1.0
    assert image[16, 26] in (0.0, 1.0)  # beyond it: the far square, as without a test
    with pytest.raises(ValueError, match="torch rasterizer"):
        rasterize(positions, triangles, 8, 8, keep=keep, backend="nvdiffrast")


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


# --- Antialiasing and gradients ------------------------------------------------------


def _triangle_image(positions: torch.Tensor, size: int) -> torch.Tensor:
    """A white triangle on black, antialiased: its sum is the triangle's area in pixels."""
    triangles = torch.tensor([[0, 1, 2]])
    raster = rasterize(positions, triangles, size, size)
    image = raster.to_image(torch.ones(len(raster.pixels), 1, dtype=positions.dtype))
    return antialias(image, raster, positions, triangles, EdgeAdjacency.from_triangles(triangles))


def _pixel_area(positions: torch.Tensor, size: int) -> torch.Tensor:
    a, b, c = (positions[:, :2] + 1.0) * 0.5 * size
    return 0.5 * torch.abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))


_TRIANGLE = [[-0.6, -0.5, 0.0, 1.0], [0.7, -0.3, 0.0, 1.0], [0.1, 0.65, 0.0, 1.0]]


def test_antialiased_edge_pixels_hold_their_coverage_fraction():
    # A square whose left edge is at x = 10.3 pixel widths: column 10 spans [10, 11], so
    # 70 % of it is inside the square.
    size = 32
    left = 10.3 / size * 2.0 - 1.0
    positions = torch.tensor(
        [[left, -0.9, 0, 1], [0.4, -0.9, 0, 1], [0.4, 0.9, 0, 1], [left, 0.9, 0, 1]],
        dtype=torch.float64,
    )
    triangles = torch.tensor([[0, 1, 2], [0, 2, 3]])
    raster = rasterize(positions, triangles, size, size)
    image = raster.to_image(torch.ones(len(raster.pixels), 1, dtype=torch.float64))
    smooth = antialias(image, raster, positions, triangles, EdgeAdjacency.from_triangles(triangles))
    row = smooth[16, :, 0]
    assert torch.allclose(row[10], torch.tensor(0.7, dtype=torch.float64), atol=1e-9)
    assert row[11] == 1.0 and row[9] == 0.0
    # The diagonal shared by the two triangles is not a silhouette: the inside stays flat.
    assert torch.all(smooth[4:28, 11:22] == 1.0)


def test_antialiased_triangle_sums_to_its_area():
    positions = torch.tensor(_TRIANGLE, dtype=torch.float64)
    for size in (32, 128):
        total = _triangle_image(positions, size).sum()
        assert abs(float(total) - float(_pixel_area(positions, size))) < 0.01 * size


def test_silhouette_gradients_match_finite_differences_and_the_area_derivative():
    size = 64
    positions = torch.tensor(_TRIANGLE, dtype=torch.float64, requires_grad=True)
    _triangle_image(positions, size).sum().backward()
    exact = positions.detach().clone().requires_grad_(True)
    _pixel_area(exact, size).backward()
    step = 0.1 * 2.0 / size  # a tenth of a pixel
    for vertex in range(3):
        for axis in range(2):
            plus, minus = positions.detach().clone(), positions.detach().clone()
            plus[vertex, axis] += step
            minus[vertex, axis] -= step
            finite = (_triangle_image(plus, size).sum() - _triangle_image(minus, size).sum()) / (
                2 * step
            )
            assert abs(float(positions.grad[vertex, axis] - finite)) < 0.02 * abs(float(finite)) + 1
    # The image's outline moves as the true outline does (up to pixel sampling).
    error = (positions.grad[:, :2] - exact.grad[:, :2]).norm() / exact.grad[:, :2].norm()
    assert error < 0.1


def test_render_passes_gradcheck_in_positions_and_colours():
    """rasterize → interpolate → antialias against finite differences (float64)."""
    positions = torch.tensor(
        [[-0.7, -0.6, 0.2, 1.0], [0.6, -0.5, 0.1, 1.2], [0.2, 0.7, 0.3, 0.9], [0.8, 0.6, 0.5, 1.1]],
        dtype=torch.float64,
        requires_grad=True,
    )
    colours = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)
    triangles = torch.tensor([[0, 1, 2], [1, 3, 2]])
    adjacency = EdgeAdjacency.from_triangles(triangles)

    def render(clip: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
        raster = rasterize(clip, triangles, 12, 12)
        image = raster.to_image(interpolate(attributes, raster, triangles))
        return antialias(image, raster, clip, triangles, adjacency)

    assert torch.autograd.gradcheck(render, (positions, colours), eps=1e-6, atol=1e-5)


def test_perspective_interpolation_matches_ray_plane_intersection():
    # A plane tilted away from the camera; interpolated world x equals the ray hit's x.
    camera = orbit_camera(0.0, 0.0, 2.0, (0.0, 0.0, 0.0), fov_y_degrees=50.0)
    corners = torch.tensor(
        [[-1.0, -0.8, -1.0], [1.0, 0.8, -1.0], [1.0, 0.8, 1.0], [-1.0, -0.8, 1.0]],
        dtype=torch.float64,
    )
    triangles = torch.tensor([[0, 1, 2], [0, 2, 3]])
    size = 24
    raster = rasterize(camera.to_clip(corners), triangles, size, size)
    hit = interpolate(corners, raster, triangles)
    # Rays through pixel centres, in world space.
    col = (raster.pixels % size).double()
    row = torch.div(raster.pixels, size, rounding_mode="floor").double()
    tan = torch.tan(torch.deg2rad(torch.tensor(25.0, dtype=torch.float64)))
    ndc_x, ndc_y = (2 * col + 1) / size - 1, 1 - (2 * row + 1) / size
    direction = torch.stack([ndc_x * tan, torch.ones_like(ndc_x), ndc_y * tan], 1)  # (+Y forward)
    eye = torch.tensor(camera.eye, dtype=torch.float64)
    normal = torch.linalg.cross(corners[1] - corners[0], corners[3] - corners[0])
    distance = ((corners[0] - eye) @ normal) / (direction @ normal)
    expected = eye + distance[:, None] * direction
    assert raster.pixels.numel() > 200
    assert torch.allclose(hit, expected, atol=1e-6)


def test_seams_are_not_open_edges_once_welded():
    # Two triangles sharing an edge through split (seam) copies of its vertices.
    triangles = torch.tensor([[0, 1, 2], [3, 5, 4]])  # 3 and 4 are copies of 2 and 1
    welded = EdgeAdjacency.from_triangles(triangles, vertex_ids=[0, 1, 2, 2, 1, 6])
    assert welded.neighbour[0].tolist() == [-1, 1, -1]
    assert welded.neighbour[1].tolist() == [-1, -1, 0]
    assert (EdgeAdjacency.from_triangles(triangles).neighbour < 0).all()


def test_unknown_backend_is_refused():
    positions, triangles = _square(0.0)
    with pytest.raises(ValueError, match="backend"):
        rasterize(positions, triangles, 8, 8, backend="opengl")


@pytest.mark.skipif(not nvdiffrast_available(), reason="nvdiffrast and CUDA are optional")
def test_nvdiffrast_finds_the_same_surfaces_as_the_torch_zbuffer():
    torch.manual_seed(0)
    clip = torch.cat([torch.rand(300, 2) * 1.6 - 0.8, torch.rand(300, 1), torch.ones(300, 1)], 1)
    triangles = torch.randint(0, 300, (200, 3))
    ours = rasterize(clip.cuda(), triangles.cuda(), 96, 96, backend="torch")
    theirs = rasterize(clip.cuda(), triangles.cuda(), 96, 96, backend="nvdiffrast")
    agree = (ours.coverage == theirs.coverage).float().mean()
    assert agree > 0.99  # edge pixels may differ by the rasterizers' tie rules
