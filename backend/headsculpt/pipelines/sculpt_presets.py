"""The sculpt pipeline's presets: everything that differs between test, preview, standard
and high lives here, and nowhere else.

The settings are calibrated for Stable Diffusion's score distillation (the ``sd``
guidance). HeadSculpt's paper gives 64² coarse renders, 512² fine renders, timesteps
[0.02, 0.98] then [0.02, 0.50] and CFG 100; what it does not give (loss weights, learning
rates, grid density, views per step) is threestudio's, the framework its lineage is built
on, calibrated for SD 1.5 at the same loss scale (``0.5·Σ(x − (x − g))²/B``,
``guidance/score_distillation.py``): geometry Adam lr 0.01 with betas (0.9, 0.99); the
orientation weight ramped 10 → 1000 over the first half of the coarse stage (its 5,000 of
10,000 steps), sparsity 1 on the mean opacity; in the fine stage normal consistency 10⁴,
no Laplacian, SDF and offsets at lr 0.01; one view a step (REFERENCE.md, threestudio's
``dreamfusion-sd`` and ``magic3d-refine-sd``).

The *reference teacher* (a pixel loss toward a known render, no noise) is at another
scale: :data:`REFERENCE_TEACHER` holds the weights it needs instead, in one place, and
:meth:`SculptPreset.for_guidance` applies them.

Sizes: ``standard`` fits an H100 in about 15 minutes and ``preview`` in about 2 (the
projection in docs/benchmarks.md); ``test`` is small enough for a 2-core CPU (minutes) and
is what the reconstruction proofs run. Every preset lights some coarse steps: in albedo
renders a pit inside the silhouette looks like the surface around it, and DMTet starts
from a cratered head the fine stage cannot close (docs/sculpt.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Ramp:
    """A weight that goes linearly from ``start`` to ``end`` over the first ``until`` share
    of a stage's steps, then stays at ``end`` (threestudio's ``[0, start, end, steps]``)."""

    start: float
    end: float
    until: float = 0.5

    def at(self, step: int, steps: int) -> float:
        if self.until <= 0.0 or steps <= 0:
            return self.end
        progress = min(step / (self.until * steps), 1.0)
        return self.start + (self.end - self.start) * progress


@dataclass(frozen=True)
class SculptPreset:
    """Steps, resolutions, loss weights and learning rates of one preset."""

    coarse_steps: int
    coarse_size: int  # volume renders (pixels per side)
    coarse_views: int  # cameras per step
    samples_per_ray: int
    hash_levels: int
    hash_log2_table: int
    fine_steps: int
    fine_size: int  # rasterized renders (pixels per side)
    fine_views: int
    # The tet grid's cube side in the unit frame (the head's largest side is 1, its box
    # 1.3 with padding): 0.01 is about 2.5 mm on an adult head and 130 cubes across the
    # box — threestudio's refine density. ``max_tets`` caps a box that long hair or an
    # accessory stretches (the spacing grows instead).
    tet_spacing: float
    texture_size: int | None  # None: the request's texture_size
    max_tets: int = 13_000_000
    coarse_lr: float = 1e-2  # the density field (hash grid + MLP)
    fine_lr: float = 1e-2  # DMTet SDF and offsets
    texture_lr: float = 1e-2
    adam_betas: tuple[float, float] = (0.9, 0.99)
    albedo_only_steps: int = 200  # no lighting until the shape has normals worth lighting
    face_view_share: float = 0.25  # of the fine stage's views, close-ups of the face
    checkpoint_seconds: float = 60.0  # a stage's state is saved this often, and when stopped
    preview_every: int = 100
    diagnostics_every: int = 100  # each loss term's gradient norm goes to the sidecar
    occupancy_resolution: int = 64
    occupancy_every: int = 16
    orientation: Ramp = Ramp(10.0, 1000.0)
    sparsity_weight: float = 1.0
    laplacian_weight: float = 0.0
    normal_weight: float = 1e4
    guidance_scale: float = 100.0  # the guidance's image size is its models' own (512 for SD 1.5)
    controlnet_scale: float = 1.0  # the landmark ControlNet's residuals (0: left out)
    # The IESD edit of a sculpted head (pipelines/sculpt_edit.py): volume steps from the
    # parent (0: straight to the fine stage, which moves colour and relief, not outlines),
    # then fine-stage steps.
    edit_coarse_steps: int = 300
    edit_steps: int = 100

    def __post_init__(self) -> None:
        names = ("coarse_steps", "fine_steps", "edit_steps", "coarse_size", "fine_size",
                 "coarse_views", "fine_views", "max_tets")  # fmt: skip
        for name in names:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.tet_spacing <= 0.0:
            raise ValueError("tet_spacing must be positive")
        if self.edit_coarse_steps < 0 or self.checkpoint_seconds < 0:
            raise ValueError("edit_coarse_steps and checkpoint_seconds must not be negative")
        if not 0.0 <= self.face_view_share <= 1.0:
            raise ValueError("face_view_share must be between 0 and 1")

    @property
    def total_steps(self) -> int:
        return self.coarse_steps + self.fine_steps

    def for_guidance(self, guidance: str) -> SculptPreset:
        """This preset as the given guidance runs it: the ``reference`` teacher's weights
        (:data:`REFERENCE_TEACHER`) in place of the SDS-calibrated ones."""
        return replace(self, **REFERENCE_TEACHER) if guidance == "reference" else self


# The reference teacher's loss is a pixel-space pull toward the target's render: no noise,
# no CFG, another scale than SDS's latent score. threestudio's weights, set for that score,
# would bury it (orientation 10–1000 and normal consistency 10⁴ against a pull of order 1:
# the proofs' surfaces stop following the target). These are the weights the reference
# proofs were tuned with (docs/sculpt.md): they apply to every reference run, whatever the
# preset, and to nothing else.
REFERENCE_TEACHER: dict[str, object] = {
    "orientation": Ramp(0.01, 0.01),
    "sparsity_weight": 0.001,
    "laplacian_weight": 1000.0,
    "normal_weight": 1000.0,
    "adam_betas": (0.9, 0.999),
}


SCULPT_PRESETS: dict[str, SculptPreset] = {
    "test": SculptPreset(
        coarse_steps=1000, coarse_size=48, coarse_views=2, samples_per_ray=48,
        hash_levels=12, hash_log2_table=15,
        fine_steps=200, fine_size=96, fine_views=2, tet_spacing=1.3 / 64, texture_size=512,
        albedo_only_steps=700, checkpoint_seconds=15.0, preview_every=100,
        occupancy_resolution=32, edit_coarse_steps=300, edit_steps=100,
    ),
    "preview": SculptPreset(
        coarse_steps=600, coarse_size=64, coarse_views=1, samples_per_ray=64,
        hash_levels=16, hash_log2_table=19,
        fine_steps=300, fine_size=256, fine_views=1, tet_spacing=0.0135, texture_size=1024,
        albedo_only_steps=200, edit_coarse_steps=300, edit_steps=200,
    ),
    "standard": SculptPreset(
        coarse_steps=5000, coarse_size=64, coarse_views=1, samples_per_ray=96,
        hash_levels=16, hash_log2_table=19,
        fine_steps=2000, fine_size=512, fine_views=1, tet_spacing=0.01, texture_size=None,
        albedo_only_steps=1000, preview_every=250,
        edit_coarse_steps=2000, edit_steps=1000,
    ),
    "high": SculptPreset(
        coarse_steps=7000, coarse_size=64, coarse_views=2, samples_per_ray=128,
        hash_levels=16, hash_log2_table=19,
        fine_steps=3000, fine_size=512, fine_views=1, tet_spacing=0.01, texture_size=None,
        albedo_only_steps=1000, preview_every=250,
        edit_coarse_steps=3000, edit_steps=1500,
    ),
}  # fmt: skip
