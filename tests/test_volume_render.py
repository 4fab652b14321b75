"""The volume renderer against scenes whose answer is known (spheres of uniform density)."""

import math

import pytest
import torch

from headsculpt.bounds import Box
from headsculpt.render.camera import orbit_camera, to_pixels
from headsculpt.render.occupancy import PROBE_EVERY_CELL_UP_TO, OccupancyGrid
from headsculpt.render.rasterizer import rasterize
from headsculpt.render.rays import camera_rays, intersect_box
from headsculpt.render.volume import (
    SHADINGS,
    VolumeRenderConfig,
    random_shading,
    render_volume,
)

ALBEDO = (0.8, 0.4, 0.2)


class SphereField:
    """Density ``sigma`` inside a ball, zero outside; counts the points it is asked about."""

    def __init__(self, centre=(0.0, 0.0, 0.0), radius=0.5, sigma=3.0, albedo=ALBEDO):
        self.centre = torch.tensor(centre)
        self.radius = radius
        self.sigma = sigma
        self.albedo = torch.tensor(albedo)
        self.calls = 0
        self.points = 0

    def __call__(self, points):
        self.calls += 1
        self.points += points.shape[0]
        return self.density(points), self.albedo.expand(points.shape[0], 3)

    def density(self, points):
        inside = (points - self.centre).norm(dim=1) < self.radius
        return inside.to(points.dtype) * self.sigma

    def normals(self, points):
        return torch.nn.functional.normalize(points - self.centre, dim=1)


def _chords(origins, directions, centre, radius):
    """(entry distance, chord length) of unit rays through a sphere; length 0 on a miss."""
    offset = origins - torch.tensor(centre)
    b = (directions * offset).sum(1)
    disc = b**2 - ((offset**2).sum(1) - radius**2)
    half = disc.clamp(min=0).sqrt()
    return -b - half, 2 * half


def _icosphere(radius, centre, subdivisions=3):
    """Vertices and triangles of a subdivided icosahedron inscribed in the sphere."""
    p = (1 + math.sqrt(5)) / 2
    verts = [(-1, p, 0), (1, p, 0), (-1, -p, 0), (1, -p, 0), (0, -1, p), (0, 1, p)]
    verts += [(0, -1, -p), (0, 1, -p), (p, 0, -1), (p, 0, 1), (-p, 0, -1), (-p, 0, 1)]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4)]
    faces += [(11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8)]
    faces += [(3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    verts = [tuple(c / math.sqrt(1 + p * p) for c in v) for v in verts]
    for _ in range(subdivisions):
        cache, finer = {}, []

        def midpoint(i, j, cache=cache):
            key = (min(i, j), max(i, j))
            if key not in cache:
                m = [(a + b) / 2 for a, b in zip(verts[i], verts[j], strict=True)]
                norm = math.sqrt(sum(c * c for c in m))
                verts.append(tuple(c / norm for c in m))
                cache[key] = len(verts) - 1
            return cache[key]

        for a, b, c in faces:
            ab, bc, ca = midpoint(a, b), midpoint(b, c), midpoint(c, a)
            finer += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = finer
    positions = torch.tensor(verts, dtype=torch.float32) * radius + torch.tensor(centre)
    return positions, torch.tensor(faces)


def _config(**overrides):
    settings = {"box": Box((0.0, 0.0, 0.0), 1.0), "samples_per_ray": 128, "stratified": False}
    settings["background"] = (0.0, 0.0, 0.0)
    return VolumeRenderConfig(**(settings | overrides))


FRONT = orbit_camera(0.0, 0.0, 3.0, (0.0, 0.0, 0.0), fov_y_degrees=40.0)
OBLIQUE = orbit_camera(35.0, 25.0, 3.2, (0.0, 0.0, 0.0), fov_y_degrees=35.0)


def test_rays_pass_through_the_rasterizers_pixel_centres():
    height, width = 12, 20  # not square: catches a swapped aspect ratio
    origins, directions = camera_rays(OBLIQUE, height, width)
    assert torch.allclose(directions.norm(dim=1), torch.ones(height * width), atol=1e-6)
    pixels, _ = to_pixels(OBLIQUE, origins + 2.0 * directions, width, height)
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    centres = torch.stack([cols.reshape(-1) + 0.5, rows.reshape(-1) + 0.5], dim=1).float()
    assert torch.allclose(pixels, centres, atol=1e-3)


def test_box_intersection_of_known_rays():
    box = Box((0.0, 0.0, 1.0), (1.0, 2.0, 0.5))
    origins = torch.tensor([[-5.0, 0.0, 1.0], [0.0, 0.0, 1.0], [-5.0, 3.0, 1.0]])
    directions = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    t_near, t_far, hit = intersect_box(origins, directions, box)
    assert hit.tolist() == [True, True, False]
    assert torch.allclose(t_near[:2], torch.tensor([4.0, 0.0]))  # from inside: starts at 0
    assert torch.allclose(t_far[:2], torch.tensor([6.0, 2.0]))


def test_constant_density_box_is_exact_and_so_is_its_gradient():
    # Σ σ·δ over equal intervals is σ·L for any sample count when the density fills the box.
    box = Box((0.0, 0.0, 0.2), (0.8, 0.6, 0.7))
    sigma = torch.tensor(1.5, requires_grad=True)

    def fog(points):
        return sigma.expand(points.shape[0]), torch.ones(points.shape[0], 3)

    origins, directions = camera_rays(OBLIQUE, 16, 16)
    t_near, t_far, hit = intersect_box(origins, directions, box)
    length = ((t_far - t_near) * hit).view(16, 16)
    transmitted = torch.exp(-sigma.detach() * length)
    out = render_volume(fog, [OBLIQUE], 16, 16, _config(box=box, samples_per_ray=8))
    assert hit.any() and not hit.all()
    assert torch.allclose(out.opacity[0, 0], 1 - transmitted, atol=1e-5)
    out.opacity.sum().backward()
    assert sigma.grad == pytest.approx((length * transmitted).sum().item(), rel=1e-4)
    # Expected stopping distance given a stop: a + 1/σ − L e^{−σL} / (1 − e^{−σL}).
    out = render_volume(fog, [OBLIQUE], 16, 16, _config(box=box, samples_per_ray=256))
    seen = length > 0.05
    near, s = t_near.view(16, 16)[seen], sigma.item()
    expected = near + 1 / s - length[seen] * transmitted[seen] / (1 - transmitted[seen])
    assert (out.depth[0, 0][seen] - expected).abs().max() < 1e-3


def test_opacity_of_a_uniform_sphere_follows_its_chord_lengths():
    sphere = SphereField(centre=(0.1, 0.0, -0.1), radius=0.5, sigma=3.0)
    config = _config(samples_per_ray=512)
    out = render_volume(sphere, [OBLIQUE], 24, 24, config)
    origins, directions = camera_rays(OBLIQUE, 24, 24)
    _, chord = _chords(origins, directions, (0.1, 0.0, -0.1), 0.5)
    expected = (1 - torch.exp(-3.0 * chord)).view(24, 24)
    error = (out.opacity[0, 0] - expected).abs()
    assert expected.max() > 0.9 and (expected == 0).any()  # the scene spans the whole range
    assert error.max() < 0.02 and error.mean() < 2e-3
    # The albedo is composited by the same weights over a black background.
    assert torch.allclose(out.rgb[0], out.opacity[0] * torch.tensor(ALBEDO)[:, None, None])


def test_depth_of_a_dense_sphere_is_its_entry_distance():
    sphere = SphereField(radius=0.6, sigma=2000.0)
    out = render_volume(sphere, [OBLIQUE], 20, 20, _config(samples_per_ray=256))
    origins, directions = camera_rays(OBLIQUE, 20, 20)
    entry, chord = _chords(origins, directions, (0.0, 0.0, 0.0), 0.6)
    solid = chord.view(20, 20) > 0.2
    assert solid.sum() > 50
    step = 2 * math.sqrt(3) / 256  # the longest interval through the box
    assert (out.depth[0, 0][solid] - entry.view(20, 20)[solid]).abs().max() < 1.5 * step
    assert (out.depth[0, 0][out.opacity[0, 0] == 0] == 0).all()


@pytest.mark.parametrize("camera", [FRONT, OBLIQUE], ids=["front", "oblique"])
def test_silhouette_lines_up_with_the_rasterized_sphere(camera):
    # Off to the camera's left and up: a flipped axis or swapped row/col moves it.
    centre, radius, height, width = (-0.3, 0.0, 0.25), 0.35, 40, 56
    sphere = SphereField(centre=centre, radius=radius, sigma=500.0)
    out = render_volume(sphere, [camera], height, width, _config(samples_per_ray=192))
    volume = out.opacity[0, 0] > 0.5
    positions, triangles = _icosphere(radius, centre)
    clip = camera.to_clip(positions, aspect=width / height)
    raster = rasterize(clip, triangles, height, width).coverage
    iou = (volume & raster).sum() / (volume | raster).sum()
    assert iou >= 0.95

    def centroid(mask):
        rows, cols = torch.nonzero(mask, as_tuple=True)
        return torch.stack([rows.float().mean(), cols.float().mean()])

    assert (centroid(volume) - centroid(raster)).abs().max() <= 0.5
    if camera is FRONT:  # left of and above the image centre
        row, col = centroid(volume)
        assert row < height / 2 - 3 and col < width / 2 - 3


def test_occupancy_skips_empty_space_without_changing_the_image():
    box = Box((0.0, 0.0, 0.0), 1.0)
    sphere = SphereField(centre=(0.2, 0.0, 0.1), radius=0.4, sigma=8.0)
    grid = OccupancyGrid(box, resolution=32)
    generator = torch.Generator().manual_seed(0)
    for step in range(4):
        grid.update(sphere.density, step, generator=generator)
    assert grid.occupied_fraction < 0.2
    cameras = [FRONT, OBLIQUE]
    config = _config(samples_per_ray=96)
    sphere.points = 0
    full = render_volume(sphere, cameras, 32, 32, config)
    everything, sphere.points = sphere.points, 0
    skipped = render_volume(sphere, cameras, 32, 32, config, occupancy=grid)
    assert (full.opacity - skipped.opacity).abs().max() < 1e-4
    assert (full.rgb - skipped.rgb).abs().max() < 1e-4
    assert sphere.points == skipped.evaluated_samples
    assert everything > 5 * sphere.points


def test_occupancy_grid_marks_cells_and_round_trips_its_state():
    box = Box((0.0, 0.0, 1.0), (1.0, 1.0, 0.5))
    sphere = SphereField(centre=(0.5, 0.0, 1.0), radius=0.3, sigma=5.0)
    grid = OccupancyGrid(box, resolution=16, dilation=0)
    probes = torch.tensor([[0.5, 0.0, 1.0], [-0.6, 0.5, 0.7], [0.5, 0.0, 2.0]])
    assert grid.occupied(probes).tolist() == [True, True, False]  # all cells, inside the box
    generator = torch.Generator().manual_seed(1)
    for step in range(3):
        grid.update(sphere.density, step, warmup_steps=2, generator=generator)
    assert grid.occupied(probes).tolist() == [True, False, False]
    restored = OccupancyGrid(box, resolution=16, dilation=0)
    restored.load_state_dict(grid.state_dict())
    assert torch.equal(restored.mask, grid.mask) and int(restored.updates) == 3
    # A small grid has every cell probed at every update, warm-up or not: an emptied field
    # fades out by the decay at each one (a cell probed less often would keep more).
    for step in range(3, 40):
        grid.update(lambda p: torch.zeros(p.shape[0]), step, warmup_steps=2, generator=generator)
    assert grid.density.max() == pytest.approx(5.0 * 0.95**37, rel=1e-4)


def test_a_large_grid_probes_part_of_its_cells_after_the_warm_up():
    resolution = round(PROBE_EVERY_CELL_UP_TO ** (1 / 3)) + 8
    grid = OccupancyGrid(Box((0.0, 0.0, 0.0), 1.0), resolution=resolution, dilation=0)
    probed = []

    def density(points):
        probed.append(len(points))
        return (points.norm(dim=1) < 0.5).float()

    generator = torch.Generator().manual_seed(0)
    grid.update(density, 0, warmup_steps=1, generator=generator)
    assert sum(probed) == resolution**3  # the warm-up: every cell
    probed.clear()
    grid.update(density, 1, warmup_steps=1, generator=generator)
    share = sum(probed) / resolution**3
    assert 0.25 < share < 0.5, share  # a quarter of all, a quarter of the occupied (overlaps)


def test_batched_views_equal_one_view_at_a_time():
    sphere = SphereField(centre=(0.1, -0.1, 0.2), radius=0.5, sigma=6.0)
    cameras = [FRONT, OBLIQUE, orbit_camera(200.0, -10.0, 2.5, (0.0, 0.0, 0.0))]
    config = _config(samples_per_ray=48, background=(0.2, 0.5, 1.0))
    batched = render_volume(
        sphere, cameras, 16, 16, config, shading="lambertian", normals_fn=sphere.normals
    )
    assert sphere.calls == 1
    for index, camera in enumerate(cameras):
        single = render_volume(
            sphere, [camera], 16, 16, config, shading="lambertian", normals_fn=sphere.normals
        )
        assert torch.allclose(batched.rgb[index], single.rgb[0], atol=1e-6)
        assert torch.allclose(batched.depth[index], single.depth[0], atol=1e-5)


def _mlp_field(seed=0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 32), torch.nn.SiLU(), torch.nn.Linear(32, 32), torch.nn.SiLU()
    )
    head = torch.nn.Linear(32, 4)
    modules = torch.nn.ModuleList([net, head])

    def field(points):
        out = head(net(points))
        return torch.nn.functional.softplus(out[:, 0] + 2.0), torch.sigmoid(out[:, 1:])

    return field, modules


def test_gradients_reach_the_field_parameters():
    field, modules = _mlp_field()
    out = render_volume(field, [FRONT, OBLIQUE], 12, 12, _config(samples_per_ray=16))
    (out.rgb * torch.tensor([0.3, -0.5, 1.0])[:, None, None]).mean().backward()
    for parameter in modules.parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0
    head = modules[1]
    assert (head.weight.grad[1:].abs().sum(1) > 0).all()  # the colour itself, not only density


def test_fitting_a_voxel_density_to_a_sphere_silhouette():
    sphere = SphereField(radius=0.5, sigma=20.0)
    cameras = [FRONT, orbit_camera(90.0, 30.0, 3.0, (0.0, 0.0, 0.0), fov_y_degrees=40.0)]
    config = _config(samples_per_ray=32, stratified=True)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        target = render_volume(sphere, cameras, 20, 20, _config(samples_per_ray=256)).opacity
    logits = torch.full((1, 1, 12, 12, 12), -1.0, requires_grad=True)

    def voxels(points):
        grid = points.view(1, -1, 1, 1, 3)  # box is [-1, 1]³: points are grid coordinates
        raw = torch.nn.functional.grid_sample(logits, grid, align_corners=True)
        return torch.nn.functional.softplus(raw.view(-1)) * 5.0, torch.ones(points.shape[0], 3)

    optimiser = torch.optim.Adam([logits], lr=0.2)
    losses = []
    for _ in range(40):
        out = render_volume(voxels, cameras, 20, 20, config, generator=generator)
        loss = ((out.opacity - target) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.1 * losses[0]


def test_lambertian_headlight_lights_the_centre_more_than_the_rim():
    sphere = SphereField(radius=0.6, sigma=2000.0)
    config = _config(samples_per_ray=128, ambient=0.1, diffuse=0.9)
    out = render_volume(
        sphere, [FRONT], 33, 33, config, shading="lambertian", normals_fn=sphere.normals
    )
    red = out.rgb[0, 0]
    opaque = out.opacity[0, 0] > 0.99
    rim = red[opaque][red[opaque].argmin()]
    assert red[16, 16] > 0.95 * ALBEDO[0]  # facing the light: albedo · (ambient + diffuse)
    assert rim < 0.6 * red[16, 16]
    assert rim >= 0.1 * ALBEDO[0] - 1e-6  # never below the ambient light
    # A light from behind leaves only the ambient term on the visible side.
    behind = render_volume(
        sphere,
        [FRONT],
        33,
        33,
        config,
        shading="lambertian",
        normals_fn=sphere.normals,
        light_dirs=torch.tensor([0.0, 1.0, 0.0]),
    )
    assert torch.allclose(behind.rgb[0, 0, 16, 16], torch.tensor(0.1 * ALBEDO[0]), atol=1e-3)


def test_textureless_shading_ignores_the_albedo():
    red = SphereField(radius=0.6, sigma=50.0, albedo=(1.0, 0.0, 0.0))
    blue = SphereField(radius=0.6, sigma=50.0, albedo=(0.0, 0.2, 1.0))
    config = _config(samples_per_ray=64)
    images = {}
    for shading in SHADINGS:
        images[shading] = [
            render_volume(f, [OBLIQUE], 12, 12, config, shading=shading, normals_fn=f.normals).rgb
            for f in (red, blue)
        ]
    assert torch.allclose(*images["textureless"], atol=1e-6)
    grey = images["textureless"][0][0]
    assert torch.allclose(grey[0], grey[1]) and torch.allclose(grey[1], grey[2])
    assert not torch.allclose(*images["lambertian"], atol=1e-2)
    assert not torch.allclose(*images["albedo"], atol=1e-2)


def test_orientation_loss_penalises_normals_facing_away():
    sphere = SphereField(radius=0.6, sigma=30.0)
    config = _config(samples_per_ray=64)
    asked = []

    def outward_normals(points):
        asked.append(points.shape[0])
        return sphere.normals(points)

    outward = render_volume(sphere, [OBLIQUE], 12, 12, config, normals_fn=outward_normals)
    # Normals are computed only where a sample shows in the image.
    assert sum(asked) == (outward.sample_weights > config.normal_weight_threshold).sum()
    assert sum(asked) < 0.5 * outward.evaluated_samples
    inward = render_volume(
        sphere, [OBLIQUE], 12, 12, config, normals_fn=lambda p: -sphere.normals(p)
    )
    # Outward normals face the camera where it sees the sphere; the back half is hidden.
    assert outward.orientation_loss() < 0.1 * inward.orientation_loss()
    assert inward.orientation_loss() > 0.05
    assert outward.sample_normals.shape == (outward.evaluated_samples, 3)


def test_random_background_is_per_view_and_fills_empty_pixels():
    sphere = SphereField(radius=0.5, sigma=3.0)
    config = _config(samples_per_ray=32, background="random")
    generator = torch.Generator().manual_seed(3)
    out = render_volume(sphere, [FRONT, OBLIQUE], 10, 10, config, generator=generator)
    assert not torch.allclose(out.background[0], out.background[1])
    assert torch.allclose(out.rgb[:, :, 0, 0], out.background)
    # Everywhere: the albedo over the view's background, in proportion to the opacity.
    albedo = torch.tensor(ALBEDO)[None, :, None, None]
    background = out.background[:, :, None, None]
    assert torch.allclose(out.rgb, out.opacity * albedo + (1 - out.opacity) * background)
    assert ((out.opacity > 0.2) & (out.opacity < 0.99)).any()


def test_random_shading_schedule():
    generator = torch.Generator().manual_seed(0)
    assert {random_shading(step, generator) for step in range(0, 1000, 50)} == {"albedo"}
    draws = [random_shading(5000, generator) for _ in range(4000)]
    shares = [draws.count(mode) / len(draws) for mode in SHADINGS]
    assert shares == pytest.approx([0.25, 0.375, 0.375], abs=0.03)
