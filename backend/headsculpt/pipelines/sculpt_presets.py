"""The sculpt pipeline's presets: everything that differs between test, preview, standard
and high lives here, and nowhere else.

``standard`` follows HeadSculpt's paper and released code (REFERENCE.md): 64² coarse
renders, 512² fine renders, timesteps [0.02, 0.98] then [0.02, 0.50], CFG 100, a tet
grid of 256, 7,000 steps in all. ``test`` is small enough for a 2-core CPU (minutes)
and is what the reconstruction proofs run. Every preset lights some coarse steps: in
albedo renders a pit inside the silhouette looks like the surface around it, and DMTet
starts from a cratered head the fine stage cannot close (docs/sculpt.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SculptPreset:
    """Steps, resolutions and learning rates of one preset."""

    coarse_steps: int
    coarse_size: int  # volume renders (pixels per side)
    coarse_views: int  # cameras per step
    samples_per_ray: int
    hash_levels: int
    hash_log2_table: int
    fine_steps: int
    fine_size: int  # rasterized renders (pixels per side)
    fine_views: int
    tet_resolution: int
    texture_size: int | None  # None: the request's texture_size
    coarse_lr: float = 1e-2
    fine_lr: float = 1e-3  # DMTet SDF and offsets
    texture_lr: float = 1e-2
    albedo_only_steps: int = 200  # no lighting until the shape has normals worth lighting
    face_view_share: float = 0.25  # of the fine stage's views, close-ups of the face
    checkpoint_every: int = 50
    preview_every: int = 100
    occupancy_resolution: int = 64
    occupancy_every: int = 16
    # Mesh regularisers of the fine stage. HeadSculpt's 0.2 is for its own loss scale; in
    # this unit frame (edges ~1/64 long) 0.2 does nothing measurable against the guidance,
    # 1000 removes the tet grid's ridges without losing the accessories (docs/sculpt.md).
    laplacian_weight: float = 1000.0
    normal_weight: float = 1000.0
    orientation_weight: float = 0.01
    sparsity_weight: float = 0.001
    guidance_scale: float = 100.0
    guidance_image_size: int = 512  # renders are resized to this before the VAE (SD 1.5)
    # The IESD edit of a sculpted head (pipelines/sculpt_edit.py): volume steps from the
    # parent (0: straight to the fine stage, which moves colour and relief, not outlines),
    # then fine-stage steps.
    edit_coarse_steps: int = 300
    edit_steps: int = 100

    def __post_init__(self) -> None:
        names = ("coarse_steps", "fine_steps", "edit_steps", "coarse_size", "fine_size",
                 "tet_resolution")  # fmt: skip
        for name in names:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.edit_coarse_steps < 0:
            raise ValueError("edit_coarse_steps must not be negative")
        if not 0.0 <= self.face_view_share <= 1.0:
            raise ValueError("face_view_share must be between 0 and 1")

    @property
    def total_steps(self) -> int:
        return self.coarse_steps + self.fine_steps


SCULPT_PRESETS: dict[str, SculptPreset] = {
    "test": SculptPreset(
        coarse_steps=1000, coarse_size=48, coarse_views=2, samples_per_ray=48,
        hash_levels=12, hash_log2_table=15,
        fine_steps=200, fine_size=96, fine_views=2, tet_resolution=64, texture_size=512,
        albedo_only_steps=700, checkpoint_every=50, preview_every=100,
        occupancy_resolution=32, fine_lr=1e-2, edit_coarse_steps=300, edit_steps=100,
    ),
    "preview": SculptPreset(
        coarse_steps=1000, coarse_size=64, coarse_views=4, samples_per_ray=64,
        hash_levels=16, hash_log2_table=19,
        fine_steps=400, fine_size=256, fine_views=2, tet_resolution=128, texture_size=1024,
        fine_lr=1e-2, edit_coarse_steps=400, edit_steps=200,
    ),
    "standard": SculptPreset(
        coarse_steps=5000, coarse_size=64, coarse_views=4, samples_per_ray=96,
        hash_levels=16, hash_log2_table=19,
        fine_steps=2000, fine_size=512, fine_views=1, tet_resolution=256, texture_size=None,
        albedo_only_steps=1000, preview_every=250,
        edit_coarse_steps=2000, edit_steps=1000,
    ),
    "high": SculptPreset(
        coarse_steps=7000, coarse_size=64, coarse_views=4, samples_per_ray=128,
        hash_levels=16, hash_log2_table=19,
        fine_steps=3000, fine_size=512, fine_views=2, tet_resolution=256, texture_size=None,
        albedo_only_steps=1000, preview_every=250,
        edit_coarse_steps=3000, edit_steps=1500,
    ),
}  # fmt: skip
