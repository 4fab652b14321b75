"""The sculpt stage's fields: hash encoding, the prior's SDF grid, density and texture."""

import math

import numpy as np
import pytest
import torch
import trimesh

from headsculpt.bounds import Box
from headsculpt.geometry.density_field import DensityField, DensityFieldConfig, trunc_exp
from headsculpt.geometry.hash_grid import HashGridConfig, HashGridEncoding
from headsculpt.geometry.prior_sdf import GridSDF
from headsculpt.geometry.regularisers import orientation_loss, sparsity_loss
from headsculpt.geometry.texture_field import TextureField

SMALL_GRID = HashGridConfig(levels=6, log2_table_size=12, base_resolution=4, per_level_scale=2.0)
UNIT_BOX = Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
RADIUS = 0.5


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sphere_sdf() -> GridSDF:
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=RADIUS)
    return GridSDF.from_mesh(sphere.vertices, sphere.faces, UNIT_BOX, resolution=32)


def grid_points(resolution: int) -> torch.Tensor:
    axis = torch.linspace(-1.0, 1.0, resolution)
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)


def box_distance(points: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
    """Analytic signed distance of an axis-aligned box centred at the origin."""
    d = points.abs() - half
    return d.clamp_min(0).norm(dim=-1) + d.max(-1).values.clamp_max(0)


# --- hash grid ---------------------------------------------------------------------------


def test_encoding_shape_and_levels():
    encoding = HashGridEncoding(SMALL_GRID)
    out = encoding(torch.rand(100, 3))
    assert out.shape == (100, 6 * 2) and out.dtype == torch.float32
    assert encoding.resolutions == [4, 8, 16, 32, 64, 128]
    assert encoding.dense == [True, True, False, False, False, False]  # 9³ ≤ 4096 < 17³
    assert encoding.table.abs().max() <= 1e-4
    assert HashGridConfig().resolutions()[-1] > 2000  # the default reaches ~4k cells


def test_coarsest_level_is_exact_at_vertices_and_trilinear_between():
    encoding = HashGridEncoding(SMALL_GRID)
    with torch.no_grad():
        encoding.table.normal_()
    cells = 4
    vertex_features = encoding.table[: (cells + 1) ** 3].reshape(cells + 1, cells + 1, cells + 1, 2)

    def by_hand(point):  # rows of the dense table are x + (cells+1) y + (cells+1)² z
        position = point * cells
        base = position.floor().clamp(max=cells - 1).long()
        f = position - base
        total = torch.zeros(2)
        for dx in (0, 1):
            for dy in (0, 1):
                for dz in (0, 1):
                    w = (f[0] if dx else 1 - f[0]) * (f[1] if dy else 1 - f[1])
                    w = w * (f[2] if dz else 1 - f[2])
                    total += w * vertex_features[base[2] + dz, base[1] + dy, base[0] + dx]
        return total

    vertices = torch.tensor([[0.0, 0.0, 0.0], [0.25, 0.5, 1.0], [1.0, 0.75, 0.0], [0.5, 0.5, 0.5]])
    out = encoding(vertices)[:, :2]
    for point, row in zip(vertices, out, strict=True):
        i, j, k = (point * cells).round().long().tolist()
        torch.testing.assert_close(row, vertex_features[k, j, i])
    points = torch.rand(200, 3)
    expected = torch.stack([by_hand(p) for p in points])
    torch.testing.assert_close(encoding(points)[:, :2], expected, atol=1e-5, rtol=1e-5)


def test_table_gradient_is_the_trilinear_weights():
    encoding = HashGridEncoding(SMALL_GRID)
    encoding(torch.tensor([[0.31, 0.62, 0.77]])).sum().backward()
    grad = encoding.table.grad[:, 0]
    for level in range(SMALL_GRID.levels):
        start = encoding.offsets[level]
        end = encoding.offsets[level + 1] if level + 1 < SMALL_GRID.levels else len(grad)
        touched = grad[start:end]
        assert 1 <= (touched != 0).sum() <= 8
        assert touched.sum().item() == pytest.approx(1.0, abs=1e-5)  # weights sum to one
    assert (grad >= 0).all()


def test_encoding_and_a_linear_head_fit_a_smooth_function():
    torch.manual_seed(0)

    def target(x):
        return torch.sin(2 * math.pi * x[:, 0]) * torch.cos(2 * math.pi * x[:, 1]) + x[:, 2] ** 2

    # Coarse levels only (4 … 30 cells): a smooth target needs no more.
    config = HashGridConfig(levels=6, log2_table_size=12, base_resolution=4, per_level_scale=1.5)
    encoding = HashGridEncoding(config)
    head = torch.nn.Linear(encoding.output_dim, 1)
    optimiser = torch.optim.Adam([*encoding.parameters(), *head.parameters()], lr=1e-2)
    for _ in range(300):
        train = torch.rand(1024, 3)  # fresh samples each step, as rays are in training
        optimiser.zero_grad()
        loss = (head(encoding(train))[:, 0] - target(train)).square().mean()
        loss.backward()
        optimiser.step()
    test = torch.rand(2000, 3)
    with torch.no_grad():
        error = (head(encoding(test))[:, 0] - target(test)).square().mean()
    assert error < 0.01 * target(test).var()


# --- the prior's SDF grid ----------------------------------------------------------------


def test_sphere_sdf_has_the_right_sign_and_distance(sphere_sdf):
    points = grid_points(32)
    analytic = points.norm(dim=-1) - RADIUS
    values = sphere_sdf.values.reshape(-1)
    cell = 2.0 / 31
    assert ((values < 0) == (analytic < 0))[analytic.abs() > 0.01].all()
    assert (values - analytic).abs().max() < 0.25 * cell
    queries = torch.rand(3000, 3) * 2.0 - 1.0
    assert (sphere_sdf(queries) - (queries.norm(dim=-1) - RADIUS)).abs().max() < 0.5 * cell
    far = torch.tensor([[3.0, 0.0, 0.0], [0.0, -2.0, 2.0]])
    assert (sphere_sdf(far) >= torch.tensor([2.0, 1.9])).all()  # beyond the box: still outside


def test_box_mesh_sdf_is_exact_at_edges_and_corners():
    half = torch.tensor([0.5, 0.3, 0.4])
    box = trimesh.creation.box(extents=(2 * half).tolist())
    sdf = GridSDF.from_mesh(box.vertices, box.faces, UNIT_BOX, resolution=17)
    torch.testing.assert_close(
        sdf.values.reshape(-1), box_distance(grid_points(17), half), atol=1e-5, rtol=0
    )


def test_sign_survives_a_hole_and_inward_winding():
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=RADIUS)
    top = sphere.triangles_center[:, 2].argsort()[-6:]  # a small hole at the north pole
    holed = np.delete(sphere.faces, top, axis=0)
    inward = holed[:, ::-1]
    points = grid_points(24)
    inside = points.norm(dim=-1) < RADIUS - 0.05
    outside = points.norm(dim=-1) > RADIUS + 0.05
    for faces in (holed, inward):
        sdf = GridSDF.from_mesh(sphere.vertices, faces, UNIT_BOX, resolution=24)
        values = sdf.values.reshape(-1)
        assert (values[inside] < 0).all() and (values[outside] > 0).all()


def test_sdf_gradient_points_outward_and_state_round_trips(sphere_sdf):
    directions = torch.nn.functional.normalize(torch.randn(200, 3), dim=-1)
    points = (directions * torch.empty(200, 1).uniform_(0.3, 0.8)).requires_grad_(True)
    (gradient,) = torch.autograd.grad(sphere_sdf(points).sum(), points)
    assert ((gradient * directions).sum(-1) > 0.9).all()
    copy = GridSDF.from_state_dict(sphere_sdf.state_dict())
    torch.testing.assert_close(copy(points), sphere_sdf(points))
    assert copy.box == UNIT_BOX and copy.resolution == 32


# --- density and texture fields ----------------------------------------------------------


@pytest.fixture(scope="module")
def sphere_field(sphere_sdf) -> DensityField:
    torch.manual_seed(1)
    config = DensityFieldConfig(box=UNIT_BOX, encoding=SMALL_GRID, prior_sharpness=20.0)
    return DensityField(config, prior=sphere_sdf)


def test_density_starts_as_the_prior(sphere_field):
    directions = torch.nn.functional.normalize(torch.randn(500, 3), dim=-1)
    inside = directions * torch.empty(500, 1).uniform_(0.0, 0.35)
    outside = directions * torch.empty(500, 1).uniform_(0.65, 0.95)
    density_in, albedo = sphere_field(inside)
    density_out, _ = sphere_field(outside)
    assert density_in.min() > 1000 * density_out.max()
    assert density_in.min() > 20.0 and density_out.max() < 0.2
    # The field agrees with the prior exactly at step 0: activation(bias), nothing else.
    torch.testing.assert_close(density_in, trunc_exp(sphere_field.density_bias(inside)))
    assert ((albedo >= 0) & (albedo <= 1)).all()
    beyond = torch.tensor([[1.2, 0.0, 0.0], [0.0, 0.0, -1.01]])
    assert (sphere_field(beyond)[0] == 0).all()


def test_density_normals_point_outward_and_train_the_field(sphere_field):
    directions = torch.nn.functional.normalize(torch.randn(300, 3), dim=-1)
    normals = sphere_field.density_normals(directions * RADIUS)
    assert ((normals * directions).sum(-1) > 0.95).all()
    # Normals facing the camera (rays along −n) cost nothing; reversed rays do.
    weights = torch.ones(300)
    assert orientation_loss(normals, -directions, weights) == 0
    loss = orientation_loss(normals, directions, weights)
    assert loss > 0.8
    loss.backward()  # create_graph: the loss reaches the network, not only the points
    assert sphere_field.mlp[-1].weight.grad.abs().sum() > 0
    sphere_field.zero_grad()


def test_orientation_and_sparsity_known_values():
    normals = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    rays = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.6, 0.8]])
    # Σ w · max(0, n·d)² / N = (2 · 1² + 1 · 0.8²) / 2
    loss = orientation_loss(normals, rays, torch.tensor([2.0, 1.0]))
    assert loss.item() == pytest.approx((2.0 + 0.64) / 2)
    assert orientation_loss(normals, -rays, torch.tensor([2.0, 1.0])) == 0
    opacity = torch.tensor([0.0, 1.0, 0.5, 0.5])
    assert sparsity_loss(opacity).item() == pytest.approx(0.5)
    entropy = sparsity_loss(opacity, kind="entropy").item()
    assert entropy == pytest.approx(math.log(2) / 2, abs=1e-3)  # only the 0.5s are unsure


def test_texture_field_starts_as_the_coarse_colours(sphere_field):
    torch.manual_seed(2)
    with torch.no_grad():  # give the colour branch something to copy
        sphere_field.mlp[-1].weight.normal_()
        sphere_field.encoding.table.normal_()
    points = torch.rand(400, 3) * 2.0 - 1.0
    texture = TextureField.create_from(sphere_field)
    expected = sphere_field.albedo_only(points)
    torch.testing.assert_close(texture(points), expected)
    torch.testing.assert_close(sphere_field(points)[1], expected)
    assert expected.std() > 0.05
    with torch.no_grad():
        texture.encoding.table.zero_()  # a deep copy: training it leaves the field alone
    torch.testing.assert_close(sphere_field.albedo_only(points), expected)
    with torch.no_grad():
        sphere_field.mlp[-1].weight.zero_()
        sphere_field.encoding.table.uniform_(-1e-4, 1e-4)
