"""DMTet's start cut where the coarse field's renders draw the outline (render/silhouettes.py,
DMTet.create_matching): a dense core in a fuzz that renders opaque at a density far below
the usual surface level, as hair's strands do."""

import pytest
import torch
from torch import nn

from headsculpt.bounds import Box
from headsculpt.geometry.dmtet import DMTet, DMTetConfig
from headsculpt.render.camera_sampler import CameraSampler
from headsculpt.render.silhouettes import SilhouetteMatch
from headsculpt.render.volume import VolumeRenderConfig

BOX = Box((0.0, 0.0, 0.0), (0.5, 0.5, 0.5))
CORE, FUZZ = 0.2, 0.4  # radii: density 200 inside the core, 4 in the fuzz around it

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class FuzzyBall(nn.Module):
    """A dense ball in a thin shell. Along a ray grazing the core the fuzz's optical depth
    is 4 × 2√(0.4² − 0.2²) ≈ 2.8: opaque (transmittance 6 %). Outlines are at r ≈ 0.39."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # where the field lives (its device)

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        radius = points.norm(dim=-1)
        density = torch.where(radius < CORE, 200.0, torch.where(radius < FUZZ, 4.0, 0.0))
        return density, torch.full_like(points, 0.5)


def _match(field: nn.Module) -> SilhouetteMatch:
    sampler = CameraSampler((0.0, 0.0, 0.0), 0.5)
    views = [*sampler.orbit(6, elevation=10.0), *sampler.orbit(3, elevation=50.0)]
    config = VolumeRenderConfig(box=BOX, samples_per_ray=96, background=(1.0, 1.0, 1.0))
    return SilhouetteMatch.of_volume(field, [v.camera for v in views], 48, config)


def _radius(dmtet: DMTet) -> float:
    vertices, _ = dmtet.extract_mesh()
    return float(vertices.detach().norm(dim=-1).median())


def test_the_start_is_cut_where_the_renders_turn_opaque_not_at_the_dense_core():
    field = FuzzyBall()
    match = _match(field)
    config = DMTetConfig(resolution=24, box=BOX)
    # the best not last: the start is set again after the others were tried
    dmtet, threshold = DMTet.create_matching(field, config, (50.0, 3.0, 25.0), match)
    assert threshold == 3.0
    assert _radius(dmtet) == pytest.approx(FUZZ, abs=0.03)
    # The usual level (25) would start from the core, well inside the renders' outline.
    core = DMTet.create_from(field, config, threshold=25.0)
    assert _radius(core) == pytest.approx(CORE, abs=0.03)
    assert match(*core.extract_mesh()) < 0.5 < 0.9 < match(*dmtet.extract_mesh())


def test_a_mesh_larger_than_the_outline_scores_below_the_outline():
    field = FuzzyBall()
    match = _match(field)
    config = DMTetConfig(resolution=24, box=BOX)
    outline = DMTet(config)
    larger = DMTet(config)
    with torch.no_grad():
        outline.sdf.copy_(outline.grid_vertices.norm(dim=-1) - 0.39)
        larger.sdf.copy_(larger.grid_vertices.norm(dim=-1) - 0.47)
    assert match(*larger.extract_mesh()) < match(*outline.extract_mesh()) - 0.2


def test_masks_and_cameras_must_pair():
    cameras = CameraSampler((0.0, 0.0, 0.0), 0.5).orbit(2)
    with pytest.raises(ValueError, match="one per camera"):
        SilhouetteMatch(torch.zeros(3, 8, 8), [v.camera for v in cameras])
