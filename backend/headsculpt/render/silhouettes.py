"""Whether a mesh shows the outline a volume field's renders show.

The fine stage starts from an isosurface of the coarse field, but what the coarse stage
was trained on are its renders: where its density is a fuzz (hair's strands, with the
background between them), those turn opaque well outside any one density level. This
measures a candidate start by its silhouettes against the field's own, view by view.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from headsculpt.render.camera import Camera
from headsculpt.render.occupancy import OccupancyGrid
from headsculpt.render.rasterizer import rasterize
from headsculpt.render.volume import Field, VolumeRenderConfig, render_volume

# A render's outline: where it is more than half opaque.
_OPAQUE = 0.5


class SilhouetteMatch:
    """The intersection over union of a mesh's silhouettes with a volume field's, pooled
    over a set of views."""

    def __init__(self, masks: torch.Tensor, cameras: Sequence[Camera]) -> None:
        if masks.dim() != 3 or len(masks) != len(cameras):
            raise ValueError("masks must be (views, size, size), one per camera")
        self.masks = masks.bool()
        self.cameras = list(cameras)

    @classmethod
    def of_volume(
        cls,
        field: Field,
        cameras: Sequence[Camera],
        size: int,
        config: VolumeRenderConfig,
        occupancy: OccupancyGrid | None = None,
    ) -> SilhouetteMatch:
        """The field's silhouettes: its albedo renders' opacity above one half."""
        with torch.no_grad():
            render = render_volume(field, cameras, size, size, config, occupancy, "albedo")
        return cls(render.opacity[:, 0] > _OPAQUE, cameras)

    def mesh_masks(self, vertices: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
        """(views, size, size) the pixels the mesh covers from each camera."""
        size = self.masks.shape[-1]
        with torch.no_grad():
            return torch.stack([
                rasterize(camera.to_clip(vertices), triangles, size, size).coverage
                for camera in self.cameras
            ])  # fmt: skip

    def __call__(self, vertices: torch.Tensor, triangles: torch.Tensor) -> float:
        covered = self.mesh_masks(vertices, triangles)
        union = (covered | self.masks).sum()
        return float((covered & self.masks).sum() / union.clamp(min=1))
