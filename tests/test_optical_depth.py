"""Optical depth from outside a grid, and DMTet's start filling what renders show as solid."""

import pytest
import torch
import trimesh

from headsculpt.bounds import Box
from headsculpt.geometry.density_field import DensityField, DensityFieldConfig
from headsculpt.geometry.dmtet import DMTet, DMTetConfig
from headsculpt.geometry.hash_grid import HashGridConfig
from headsculpt.geometry.optical_depth import LATTICE_DIRECTIONS, optical_depth_from_outside
from headsculpt.geometry.prior_sdf import GridSDF

RHO = 2.0


def hollow_cube(size: int = 21, wall: tuple[int, int] = (5, 15), hollow: tuple[int, int] = (8, 12)):
    """Density RHO on the vertices of a cube of indices [5, 15]³ less a hollow [8, 12]³."""
    density = torch.zeros(size, size, size, dtype=torch.float64)
    a, b = wall
    density[a : b + 1, a : b + 1, a : b + 1] = RHO
    c, d = hollow
    density[c : d + 1, c : d + 1, c : d + 1] = 0.0
    return density


def test_the_26_directions_are_the_lattice_neighbours():
    assert len(set(LATTICE_DIRECTIONS)) == 26 and (0, 0, 0) not in LATTICE_DIRECTIONS


def test_the_hollow_is_as_deep_as_the_wall_is_thick():
    depth = optical_depth_from_outside(hollow_cube(), torch.tensor([1.0, 1.0, 1.0]))
    # Straight in along an axis: vertices 4 (empty), 5, 6, 7 (walls), 8 (hollow): the
    # trapezoids give RHO · (½ + 1 + 1 + ½) = 3 RHO. Diagonals cross more wall.
    assert depth[10, 10, 10].item() == pytest.approx(3 * RHO)
    assert depth[8, 10, 10].item() == pytest.approx(3 * RHO)
    assert depth[0, 3, 20].item() == 0.0  # outside the cube
    assert depth[5, 10, 10].item() == pytest.approx(0.5 * RHO)  # on the wall's face
    assert depth[6, 10, 10].item() == pytest.approx(1.5 * RHO)  # one cell into the wall


def test_light_takes_the_thinnest_wall_in_world_units():
    # z cells half as long: the walls crossed along z hold half the optical depth.
    depth = optical_depth_from_outside(hollow_cube(), torch.tensor([1.0, 1.0, 0.5]))
    assert depth[10, 10, 10].item() == pytest.approx(1.5 * RHO)


@pytest.mark.parametrize("channel", ["axis", "diagonal"])
def test_a_channel_to_the_outside_lets_the_light_in(channel):
    density = hollow_cube()
    if channel == "axis":  # drilled along z from the hollow's top face to the border
        density[10, 10, 12:] = 0.0
        lit, dark = (10, 10, 9), (12, 12, 12)  # down the channel; a corner off its line
    else:  # drilled along the (1, 1, 1) diagonal from the hollow's corner
        for step in range(9):
            density[12 + step, 12 + step, 12 + step] = 0.0
        lit, dark = (9, 9, 9), (10, 10, 9)
    depth = optical_depth_from_outside(density, torch.tensor([1.0, 1.0, 1.0]))
    assert depth[lit].item() == 0.0  # light goes straight on into the hollow
    assert depth[dark].item() == pytest.approx(3 * RHO)  # but never round a corner


def test_rejects_what_is_not_a_grid():
    with pytest.raises(ValueError, match="density must be a"):
        optical_depth_from_outside(torch.ones(8, 8), torch.ones(3))


def test_dmtet_starts_from_the_outside_of_a_hollow_shell():
    """The coarse field of a thick opaque shell over a hollow (what a volume render cannot
    tell from a solid): DMTet's start is its outer surface alone, closed."""
    box = Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    outer = trimesh.creation.icosphere(subdivisions=3, radius=0.6)
    inner = trimesh.creation.icosphere(subdivisions=3, radius=0.4)
    inner.invert()  # wound inward: the hollow is outside the shell
    shell = trimesh.util.concatenate([outer, inner])
    prior = GridSDF.from_mesh(shell.vertices, shell.faces, box, resolution=32)
    small = HashGridConfig(levels=4, log2_table_size=12, base_resolution=4, per_level_scale=2.0)
    field = DensityField(DensityFieldConfig(box=box, encoding=small), prior=prior)
    centre = field(torch.zeros(1, 3))[0].item()
    wall = field(torch.tensor([[0.5, 0.0, 0.0]]))[0].item()
    assert centre < 1.0 < wall  # a hollow inside an opaque wall, as built
    dmtet = DMTet.create_from(field, DMTetConfig(resolution=24, box=box), threshold=1.0)
    vertices, faces = dmtet.extract_mesh()
    radius = vertices.norm(dim=-1)
    assert radius.min() > 0.5  # nothing of the hollow's surface
    assert (radius - 0.6).abs().max() < 1.5 * 2.0 / 24
