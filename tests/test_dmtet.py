"""DMTet: the tet grid, marching tetrahedra, the start from the coarse field, mesh losses."""

import math

import pytest
import torch
import trimesh

from headsculpt.bounds import Box
from headsculpt.geometry.density_field import DensityField, DensityFieldConfig
from headsculpt.geometry.dmtet import DMTet, DMTetConfig, tet_grid
from headsculpt.geometry.hash_grid import HashGridConfig
from headsculpt.geometry.prior_sdf import GridSDF
from headsculpt.geometry.regularisers import (
    laplacian_smoothness,
    normal_consistency,
    uniform_laplacian,
)

UNIT_BOX = Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
CENTRE = torch.tensor([0.1, -0.05, 0.0])
RADIUS = 0.6


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tet_volumes(vertices: torch.Tensor, tets: torch.Tensor) -> torch.Tensor:
    c = vertices[tets]
    return (
        torch.linalg.det(torch.stack([c[:, 1] - c[:, 0], c[:, 2] - c[:, 0], c[:, 3] - c[:, 0]], 1))
        / 6
    )


def edge_face_counts(faces: torch.Tensor) -> torch.Tensor:
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).sort(1).values
    return torch.unique(edges, dim=0, return_counts=True)[1]


def signed_volume_and_area(vertices: torch.Tensor, faces: torch.Tensor) -> tuple[float, float]:
    c = vertices.detach()[faces]
    volume = (c[:, 0] * torch.linalg.cross(c[:, 1], c[:, 2])).sum() / 6
    area = torch.linalg.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0]).norm(dim=-1).sum() / 2
    return volume.item(), area.item()


def sphere_dmtet(resolution: int = 24) -> DMTet:
    dmtet = DMTet(DMTetConfig(resolution=resolution, box=UNIT_BOX))
    with torch.no_grad():
        dmtet.sdf.copy_((dmtet.grid_vertices - CENTRE).norm(dim=-1) - RADIUS)
    return dmtet


def flat_grid(n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """An n × n regular grid in the z = 0 plane, two consistently wound triangles per square."""
    axis = torch.linspace(0.0, 1.0, n)
    x, y = torch.meshgrid(axis, axis, indexing="ij")
    vertices = torch.stack([x, y, torch.zeros_like(x)], -1).reshape(-1, 3)
    i, j = torch.meshgrid(torch.arange(n - 1), torch.arange(n - 1), indexing="ij")
    a = (i * n + j).reshape(-1)
    b, c, d = a + n, a + n + 1, a + 1
    faces = torch.cat([torch.stack([a, b, c], 1), torch.stack([a, c, d], 1)])
    return vertices, faces


# --- the tet grid --------------------------------------------------------------------------


def test_tet_grid_tiles_the_cube_with_positive_tets():
    vertices, tets = tet_grid(3)
    assert vertices.shape == (64, 3) and tets.shape == (6 * 27, 4) and tets.dtype == torch.long
    assert vertices.min() == -0.5 and vertices.max() == 0.5
    volumes = tet_volumes(vertices, tets)
    assert (volumes > 0).all()
    assert volumes.sum().item() == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(volumes, torch.full_like(volumes, 1 / (6 * 27)))


def test_tet_grid_is_conforming():
    resolution = 3
    vertices, tets = tet_grid(resolution)
    triangles = torch.cat(
        [tets[:, [0, 1, 2]], tets[:, [0, 1, 3]], tets[:, [0, 2, 3]], tets[:, [1, 2, 3]]]
    )
    _, counts = torch.unique(triangles.sort(1).values, dim=0, return_counts=True)
    assert counts.max() == 2  # a triangle is never shared by three tets
    # Only the boundary's triangles (two per boundary square) have a single tet.
    assert (counts == 1).sum() == 6 * resolution**2 * 2


# --- marching tetrahedra -------------------------------------------------------------------


def test_marching_a_sphere_gives_a_closed_outward_sphere():
    dmtet = sphere_dmtet(24)
    vertices, faces = dmtet.extract_mesh()
    cell = 2.0 / 24
    assert (edge_face_counts(faces) == 2).all()  # closed 2-manifold
    radius = (vertices - CENTRE).norm(dim=-1)
    assert (radius - RADIUS).abs().max() < cell
    c = vertices[faces] - CENTRE  # normals point away from the centre
    normals = torch.linalg.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
    assert ((normals * c.mean(1)).sum(-1) > 0).all()
    volume, area = signed_volume_and_area(vertices - CENTRE, faces)
    assert volume == pytest.approx(4 / 3 * math.pi * RADIUS**3, rel=0.03)
    assert area == pytest.approx(4 * math.pi * RADIUS**2, rel=0.03)


def test_vertex_positions_are_differentiable():
    dmtet = sphere_dmtet(12).double()
    centre = CENTRE.double()

    def loss_of_mesh():
        return (dmtet.extract_mesh()[0] - centre).norm(dim=-1).sum()

    loss_of_mesh().backward()
    assert dmtet.sdf.grad.abs().sum() > 0 and dmtet.deformation.grad.abs().sum() > 0
    # Check the largest gradients against central differences (steps keep the topology).
    for parameter in (dmtet.sdf, dmtet.deformation):
        flat, grad = parameter.data.view(-1), parameter.grad.view(-1)
        index = int(grad.abs().argmax())
        step, original = 1e-6, flat[index].item()
        with torch.no_grad():
            flat[index] = original + step
            up = loss_of_mesh().item()
            flat[index] = original - step
            down = loss_of_mesh().item()
            flat[index] = original
        assert (up - down) / (2 * step) == pytest.approx(grad[index].item(), rel=1e-4)
    # Offsets are limited to half a cell whatever the parameter says.
    with torch.no_grad():
        dmtet.deformation.fill_(100.0)
    shift = dmtet.vertex_positions() - dmtet.grid_vertices
    torch.testing.assert_close(shift, (0.5 * dmtet.cell_size).expand_as(shift), rtol=1e-5, atol=0)


def test_create_from_the_coarse_field_extracts_the_prior():
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=RADIUS)
    prior = GridSDF.from_mesh(
        sphere.vertices + CENTRE.numpy(), sphere.faces, UNIT_BOX, resolution=32
    )
    small = HashGridConfig(levels=4, log2_table_size=12, base_resolution=4, per_level_scale=2.0)
    field = DensityField(DensityFieldConfig(box=UNIT_BOX, encoding=small), prior=prior)
    config = DMTetConfig(resolution=24, box=UNIT_BOX)
    dmtet = DMTet.create_from(field, config)
    assert dmtet.sdf.min() < 0 < dmtet.sdf.max() and dmtet.sdf.abs().max() <= 1
    vertices, faces = dmtet.extract_mesh()
    assert (edge_face_counts(faces) == 2).all()
    radius = (vertices - CENTRE).norm(dim=-1)
    assert (radius - RADIUS).abs().max() < 1.5 * 2.0 / 24
    volume, _ = signed_volume_and_area(vertices, faces)
    assert volume > 0


# --- mesh regularisers ---------------------------------------------------------------------


def test_laplacian_is_zero_inside_a_flat_grid_and_grows_with_noise():
    n = 12
    vertices, faces = flat_grid(n)
    laplacian = uniform_laplacian(vertices, faces).reshape(n, n, 3)
    assert laplacian[1:-1, 1:-1].abs().max() < 1e-6  # interior: at the neighbours' centroid
    assert laplacian[..., 2].abs().max() == 0  # the border pulls only within the plane
    torch.manual_seed(0)
    bumps = torch.randn(n * n) / n
    losses = []
    for amplitude in (0.0, 0.1, 0.3):
        bumpy = vertices.clone()
        bumpy[:, 2] = amplitude * bumps
        losses.append(laplacian_smoothness(bumpy, faces).item())
    assert losses[0] < losses[1] < losses[2]
    # The Laplacian is linear and the bumps are normal to the plane: their share of the
    # loss is quadratic in their amplitude.
    assert (losses[2] - losses[0]) / (losses[1] - losses[0]) == pytest.approx(9.0, rel=1e-3)


def test_normal_consistency_is_zero_on_a_plane_and_grows_with_creases():
    vertices, faces = flat_grid(10)
    assert normal_consistency(vertices, faces).item() == pytest.approx(0.0, abs=1e-6)
    torch.manual_seed(0)
    crumpled = vertices.clone()
    crumpled[:, 2] = 0.05 * torch.randn(len(vertices))
    assert normal_consistency(crumpled, faces) > 0.05
    # A closed sphere: small, and every edge counted (a flat fold-over would read 2).
    dmtet = sphere_dmtet(16)
    sphere_vertices, sphere_faces = dmtet.extract_mesh()
    assert 0 < normal_consistency(sphere_vertices, sphere_faces) < 0.1
    crumpled.requires_grad_(True)
    normal_consistency(crumpled, faces).backward()
    assert crumpled.grad.abs().sum() > 0
