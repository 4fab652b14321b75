"""The IESD edit of a sculpted head: parent GLB → volume and DMTet stages → rigged GLB.

HeadSculpt's second contribution, read top to bottom in :meth:`SculptEditor.__call__`:

1. **parent**: the parent's GLB (a sculpt's, or any head in the prior frame) and its 478
   landmarks — the anchors every HeadSculpt GLB carries, or, for a GLB without them,
   the description's parametric landmarks moved onto its surface — give the unit frame,
   box and cameras exactly as :meth:`SculptPipeline.prior` does for a text;
2. **initialise**: the coarse field with the parent's signed distance as its density
   bias and its albedo fitted to the parent's colours (step 0 renders the parent), then
   ``edit_coarse_steps`` of the sculpt's volume stage under IESD — the rasterizer passes
   almost no silhouette gradient, so only this stage moves outlines (docs/sculpt.md) —
   and DMTet + texture field from it, as the sculpt's fine stage starts. With
   ``edit_coarse_steps = 0`` the fine stage starts straight from the parent: a DMTet whose
   SDF is the parent's signed distance and a texture field fitted to its colours;
3. **edit**: the sculpt's own fine-stage loop (:meth:`SculptPipeline.surface_stage`)
   with IESD as the teacher — ``w_e · ε̂(instruction) + (1 − w_e) · ε̂(description)``,
   the InstructPix2Pix ControlNet shown the *unedited* parent rendered at the same
   cameras, the landmark ControlNet on non-back views (``guidance/iesd.py``); or, with
   ``guidance="reference"``, the reference edit teacher with two known answers: the
   edited target B and the parent A (``guidance/reference.py``);
4. **export**: bake and rig as the sculpt does (:meth:`SculptPipeline.export`).

The edit checkpoints into its scratch folder (``edit-coarse.pt``, ``edit-fine.pt``) and
resumes from them as the sculpt does. Not yet: starting from the parent's own fine-stage
checkpoint (``fine.pt`` in the parent job's scratch) instead of re-initialising from its
GLB; the GLB start is exact to the bake and needs nothing the parent job may have cleaned
up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headsculpt import __version__
from headsculpt.devices import resolve_device, seeded_generator
from headsculpt.eval.reconstruction import (
    measure_reconstruction,
    outer_points,
    sample_opaque_surface,
    surface_test,
)
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.export.mouth_opening import MOUTH_INSIDE_PART
from headsculpt.export.surface_query import TriangleSurface
from headsculpt.geometry.density_field import DensityField
from headsculpt.geometry.dmtet import DMTet, DMTetConfig
from headsculpt.geometry.hash_grid import HashGridConfig
from headsculpt.geometry.prior_sdf import GridSDF
from headsculpt.geometry.texture_field import TextureField, TextureFieldConfig
from headsculpt.guidance.iesd import IESDConfig
from headsculpt.guidance.score_distillation import GuidanceBatch, TimestepSchedule
from headsculpt.guidance.sources import MissingWeightsError
from headsculpt.limits import IESD_WEIGHT_AS_ASKED
from headsculpt.pipelines.sculpt import (
    GUIDANCES,
    REQUIRED_SLOTS,
    Prior,
    SculptPipeline,
    Teacher,
    landmark_drawer,
    mesh_renderer,
)
from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS, SculptPreset
from headsculpt.progress import ProgressCallback, no_progress, scaled_progress
from headsculpt.render.preview import TexturedMesh
from headsculpt.render.rasterizer import sample_texture

EDIT_SLOTS = (*REQUIRED_SLOTS, "edit_controlnet")  # + back_view_embedding, optional
COARSE_STAGE, FINE_STAGE = "edit-coarse", "edit-fine"  # progress stages and checkpoint names
_SDF_MAX_RESOLUTION = 129  # the parent's distance grid: the tet grid's vertices up to 128³ cells
_SDF_SPAN_CELLS = 1.0  # the DMTet SDF's ±1 is this many tet cells from the parent's surface
_TEXTURE_SAMPLES = 40000  # points on the parent's surface the texture field is fitted to
_COLOUR_FIT_STEPS = 150
_TEXTURE_BATCH = 8192
_TEXTURE_SHELL_CELLS = 2.0  # fitted points jitter this far off the surface (tet cells)


@dataclass
class SculptEditRequest:
    """What an edit of a sculpted head reads (the edit job's body or CLI options)."""

    parent_glb: Path  # the parent sculpt's GLB (prior frame, metres), rigged
    description: str  # the parent's prompt (identity text)
    instruction: str  # the edit ("give him a beard")
    edit_scale: float = IESD_WEIGHT_AS_ASKED  # w_e in [0, 1]: limits.iesd_weight
    quality: str = "standard"  # a SCULPT_PRESETS name
    seed: int = 0
    texture_size: int = 2048
    # sd: base_model, landmark_controlnet, edit_controlnet, back_view_embedding
    models: dict[str, str] = field(default_factory=dict)
    guidance: str = "sd"  # "sd" (EditGuidance, guidance/iesd.py) or "reference"
    reference: str | None = None  # reference guidance: the edited target B's GLB; A is the parent
    negative_prompt: str = ""
    device: str | None = None  # auto (CUDA when present), cpu, cuda, cuda:N: devices.py


class SculptEditor:
    """IESD on the fine stage of a sculpted head, through the sculpt's own loop and export."""

    def __init__(self, sculpt: SculptPipeline) -> None:
        self.sculpt = sculpt

    def __call__(
        self, request: SculptEditRequest, scratch: Path, progress: ProgressCallback = no_progress
    ) -> dict[str, Any]:
        """One edited head: returns the GLB bytes, the sidecar and the textured mesh."""
        self.check(request)
        preset = SCULPT_PRESETS[request.quality].for_guidance(request.guidance)
        device = resolve_device(request.device)
        scratch = Path(scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        timings: dict[str, float] = {}
        torch.manual_seed(request.seed)
        generator = seeded_generator(device, request.seed)
        coarse_steps, fine_steps = preset.edit_coarse_steps, preset.edit_steps
        total = coarse_steps + fine_steps + 2  # + the parent and the export

        def lap(name: str) -> None:
            timings[name] = time.perf_counter() - started - sum(timings.values())

        def share(first: int, last: int) -> ProgressCallback:
            return scaled_progress(progress, first / total, last / total)

        # 1. Parent: its surface, landmarks, unit frame and cameras; the teacher.
        progress("parent", 0.0)
        parent, prior = self.parent(request)
        teacher = self.teacher(request, preset, prior, parent, device)
        lap("parent")

        # 2. Re-initialise from the parent, and (edit_coarse_steps > 0) let the volume
        # stage move the outline: the rasterizer's silhouettes barely pass gradients
        # (docs/sculpt.md), so only colour and relief would change in the fine stage.
        surface_density, runs = None, {}
        if coarse_steps:
            field = self.sculpt.coarse_field(prior, preset, device)
            if not (scratch / f"{COARSE_STAGE}.pt").exists():  # else the checkpoint's state
                fit_field_colours(field, prior.mesh, request.seed)
            field, runs[COARSE_STAGE] = self.sculpt.coarse(
                prior, teacher, preset, generator, scratch, share(1, 1 + coarse_steps),
                field=field, steps=coarse_steps, stage=COARSE_STAGE,
            )  # fmt: skip
            dmtet, surface_density = self.sculpt.surface_from(field, prior, preset)
            texture = TextureField.create_from(field)
        else:
            fit = not (scratch / f"{FINE_STAGE}.pt").exists()
            dmtet, texture = self.initialise(prior, preset, request.seed, fit=fit, device=device)
        lap("initialise")

        # 3. IESD through the sculpt's fine-stage loop.
        runs[FINE_STAGE] = self.sculpt.surface_stage(
            FINE_STAGE, dmtet, texture, prior, teacher, preset, fine_steps, generator,
            scratch / f"{FINE_STAGE}.pt", share(1 + coarse_steps, 1 + coarse_steps + fine_steps),
        )  # fmt: skip
        lap("edit")

        # 4. Export: bake and rig as the sculpt does.
        progress("export", (total - 1) / total)
        texture_size = preset.texture_size or request.texture_size
        rig_progress = scaled_progress(progress, (total - 1) / total, 1.0)
        exported = self.sculpt.export(dmtet, texture, texture_size, prior, rig_progress)
        lap("export")
        sidecar = {
            "generator": f"headsculpt {__version__}",
            "mode": "sculpt",
            "prompt": request.description,
            "negative_prompt": request.negative_prompt,
            "edit": {
                "method": "iesd",
                "edit_scale": request.edit_scale,
                "instruction": request.instruction,
                "description": request.description,
            },
            "seed": request.seed,
            "quality": request.quality,
            "preset": asdict(preset),
            "guidance": teacher.describe,
            "texture_size": texture_size,
            "device": str(device),
            "seconds": {k: round(v, 2) for k, v in timings.items()},
            "losses": {stage: run.losses for stage, run in runs.items()},
            "gradient_norms": {stage: run.gradient_norms for stage, run in runs.items()},
            # > 0: the stage went on from its checkpoint
            "resumed_from": {stage: run.started_from for stage, run in runs.items()},
            # The volume stage's density DMTet restarted at (None: the parent's surface).
            "surface_start_density": surface_density,
            "mesh": {
                "vertices": len(exported.unwrapped.vertices),
                "triangles": len(exported.unwrapped.triangles),
            },
            "mouth": exported.mouth,
            "rig": {k: v for k, v in exported.rigged.report.items() if k == "check"},
        }
        restarted = [run.restarted for run in runs.values() if run.restarted]
        if restarted:
            sidecar["checkpoint_restarts"] = restarted
        if teacher.target is not None:  # reference: how close to B it came, and to A
            to_edited = measure_reconstruction(exported.mesh, teacher.target)
            to_identity = measure_reconstruction(exported.mesh, parent)
            sidecar["reconstruction"] = to_edited.to_dict()
            sidecar["reconstruction_to_identity"] = to_identity.to_dict()
        progress("done", 1.0)
        return {"glb": exported.rigged.glb, "sidecar": sidecar, "mesh": exported.mesh}

    # --- checks -------------------------------------------------------------------------
    def check(self, request: SculptEditRequest) -> None:
        """Refuse a request before any work, naming what is wrong."""
        if request.guidance not in GUIDANCES:
            raise ValueError(f"guidance must be one of {GUIDANCES}, got {request.guidance!r}")
        if request.quality not in SCULPT_PRESETS:
            raise ValueError(f"quality must be one of {', '.join(SCULPT_PRESETS)}")
        if not 0.0 <= request.edit_scale <= 1.0:
            raise ValueError(f"edit_scale must be in [0, 1], got {request.edit_scale}")
        if request.guidance == "sd":
            for slot in EDIT_SLOTS:
                if not request.models.get(slot):
                    raise MissingWeightsError(slot, "not set")
        elif not request.reference:
            raise ValueError("reference: the reference edit teacher needs the edited target's GLB")

    # --- 1. parent ----------------------------------------------------------------------
    def parent(self, request: SculptEditRequest) -> tuple[TexturedMesh, Prior]:
        """The parent's mesh (prior frame) and the sculpt's frame and cameras around it."""
        # The mouth's inside is left out: its pocket would hollow the parent's signed
        # distance behind the lips (the export opens the mouth again).
        head = read_head_glb(request.parent_glb, skip_meshes=(MOUTH_INSIDE_PART,))
        landmarks = head.landmarks
        if landmarks is None:  # a GLB without anchors: the description's, on its surface
            described = self.sculpt.prior(request.description, request.seed)
            guess = described.to_prior_frame(described.landmarks)
            surface = TriangleSurface(head.mesh.vertices, head.mesh.triangles)
            landmarks = surface.closest(guess).points
        return head.mesh, Prior.around(head.mesh, landmarks, {})

    # --- the guidance -------------------------------------------------------------------
    def teacher(
        self,
        request: SculptEditRequest,
        preset: SculptPreset,
        prior: Prior,
        parent: TexturedMesh,
        device: torch.device | str = "cpu",
    ) -> Teacher:
        """IESD with Stable Diffusion and both ControlNets, or the reference edit teacher,
        on ``device``."""
        device = torch.device(device)
        render_parent = mesh_renderer(parent, prior, device)
        if request.guidance == "reference":
            return _reference_edit_teacher(request, prior, render_parent, device)
        return _stable_diffusion_edit_teacher(
            request, preset, prior, render_parent,
            landmark_drawer(prior, self.sculpt.parametric.landmarks.connections, device), device,
        )  # fmt: skip

    # --- 2. initialise ------------------------------------------------------------------
    def initialise(
        self,
        prior: Prior,
        preset: SculptPreset,
        seed: int,
        fit: bool = True,
        device: torch.device | str = "cpu",
    ) -> tuple[DMTet, TextureField]:
        """The fine stage's start from the parent, on ``device``: its signed distance on the
        tet grid and a texture field fitted to its colours (``fit=False`` when a checkpoint
        follows)."""
        grid = DMTetConfig.with_spacing(prior.box, preset.tet_spacing, preset.max_tets)
        dmtet = DMTet(grid, device)
        encoding = HashGridConfig(levels=preset.hash_levels, log2_table_size=preset.hash_log2_table)
        texture = TextureField(TextureFieldConfig(box=prior.box, encoding=encoding), device=device)
        if fit:
            mesh = prior.mesh
            resolution = min(max(grid.cells) + 1, _SDF_MAX_RESOLUTION)
            sdf = GridSDF.from_mesh(mesh.vertices, mesh.triangles, prior.box, resolution)
            sdf = sdf.to(device)
            with torch.no_grad():
                dmtet.sdf.copy_(parent_sdf(sdf, dmtet))
            fit_texture(texture, mesh, float(dmtet.cell_size.max()), seed)
        return dmtet, texture


def parent_sdf(sdf: GridSDF, dmtet: DMTet) -> torch.Tensor:
    """DMTet's SDF values from the parent's signed distance, in units of one tet cell and
    clamped to ±1 as the sculpt's start from the coarse density is: the surface is the
    parent's to a fraction of a cell, and moves at the fine stage's usual pace."""
    span = _SDF_SPAN_CELLS * float(dmtet.cell_size.max())
    return (sdf(dmtet.grid_vertices) / span).clamp(-1.0, 1.0)


def fit_texture(texture: TextureField, mesh: TexturedMesh, cell: float, seed: int) -> None:
    """Fit the fine stage's texture field to the parent's colours."""

    def loss(points: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
        return (texture(points) - colours).square().mean()

    _fit_colours(loss, texture.parameters(), mesh, cell, seed)


def fit_field_colours(field: DensityField, mesh: TexturedMesh, seed: int) -> None:
    """Fit the coarse field's albedo to the parent's colours, holding its density where the
    parent's signed distance put it: the MLP's density output stays at its start (0) on
    the surface and anywhere in the box (hash collisions would otherwise grow floaters)."""
    box = field.config.box
    device = next(field.parameters()).device
    generator = seeded_generator(device, seed)

    def raw(points: torch.Tensor) -> torch.Tensor:
        return field.mlp(field.encoding(box.to_unit(points)))

    def loss(points: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
        anywhere = box.from_unit(torch.rand(points.shape, generator=generator, device=device))
        on_surface = raw(points)
        colour_error = (torch.sigmoid(on_surface[:, 1:]) - colours).square().mean()
        density_drift = on_surface[:, 0].square().mean() + raw(anywhere)[:, 0].square().mean()
        return colour_error + density_drift

    cell = 2.0 * max(box.half_extent) / (_SDF_MAX_RESOLUTION - 1)
    _fit_colours(loss, field.parameters(), mesh, cell, seed)


def _fit_colours(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    parameters: Iterable[torch.nn.Parameter],
    mesh: TexturedMesh,
    cell: float,
    seed: int,
) -> None:
    """Minimise ``loss_fn(points, colours)`` over ``mesh``'s visible surface (unit frame)
    and the same colours a little off it, so the colours hold where the edit moves the
    surface."""
    rng = np.random.default_rng(seed)
    points = sample_opaque_surface(mesh, _TEXTURE_SAMPLES, rng)  # strands, not their gaps
    keep = surface_test(mesh)
    points = outer_points(points, mesh.vertices, mesh.triangles, keep=keep)  # not teeth or eyes
    surface = TriangleSurface(mesh.vertices, mesh.triangles)
    hits = surface.closest(points)
    parameters = list(parameters)
    device = parameters[0].device
    uv = hits.interpolate(np.asarray(mesh.uv, np.float64), mesh.triangles)
    image = torch.as_tensor(mesh.base_color[..., :3], dtype=torch.float32, device=device) / 255.0
    colours = sample_texture(image, torch.as_tensor(uv, dtype=torch.float32, device=device))
    normals = surface.face_normals[hits.triangle_ids]
    shift = rng.uniform(-_TEXTURE_SHELL_CELLS, _TEXTURE_SHELL_CELLS, (len(points), 1)) * cell
    inputs = np.concatenate([hits.points, hits.points + shift * normals])
    inputs = torch.as_tensor(inputs, dtype=torch.float32, device=device)
    colours = torch.cat([colours, colours])
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    generator = seeded_generator(device, seed)
    for _ in range(_COLOUR_FIT_STEPS):
        rows = torch.randint(0, len(inputs), (_TEXTURE_BATCH,), generator=generator,
                             device=device)  # fmt: skip
        loss = loss_fn(inputs[rows], colours[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


# --- teachers -------------------------------------------------------------------------
def edit_timesteps(preset: SculptPreset) -> TimestepSchedule:
    """HeadSculpt's schedule over the edit: [0.02, 0.98] annealed to [0.02, 0.50] over the
    edit's coarse steps; the fine stage's [0.02, 0.50] throughout when there are none."""
    if preset.edit_coarse_steps == 0:
        return TimestepSchedule((0.02, 0.50))
    return TimestepSchedule((0.02, 0.98), (0.02, 0.50), preset.edit_coarse_steps)


def _reference_edit_teacher(
    request: SculptEditRequest, prior: Prior, render_parent, device: torch.device
) -> Teacher:
    from headsculpt.guidance.reference import ReferenceEditGuidance

    edited = read_head_glb(request.reference).mesh
    render_edited = mesh_renderer(edited, prior, device)

    def conditions(views, shading, light, size) -> GuidanceBatch:
        return GuidanceBatch(
            [v.label for v in views],
            target_images=render_edited(views, shading, light, size),
            identity_images=render_parent(views, shading, light, size),
        )

    config = IESDConfig(timesteps=TimestepSchedule((0.02, 0.98)), weighting="uniform",
                        edit_scale=request.edit_scale)  # fmt: skip
    describe = {"kind": "reference", "target": str(request.reference),
                "identity": str(request.parent_glb), "edit_scale": request.edit_scale}  # fmt: skip
    return Teacher(ReferenceEditGuidance(config), conditions, describe=describe, target=edited)


def _stable_diffusion_edit_teacher(
    request: SculptEditRequest,
    preset: SculptPreset,
    prior: Prior,
    render_parent,
    draw_landmarks,
    device: torch.device,
) -> Teacher:
    from headsculpt.guidance.iesd import EditGuidance
    from headsculpt.guidance.models import DiffusionModels, ModelSources

    models = DiffusionModels.from_sources(
        ModelSources.from_mapping(request.models), device,
        need=("landmark_controlnet", "edit_controlnet"),
    )  # fmt: skip
    config = IESDConfig(
        timesteps=edit_timesteps(preset),
        guidance_scale=preset.guidance_scale,
        edit_scale=request.edit_scale,
        negative_prompt=request.negative_prompt,
        image_size=models.image_size,
    )
    guidance = EditGuidance(models, request.description, request.instruction, config)

    def conditions(views, shading, light, size) -> GuidanceBatch:
        # The InstructPix2Pix ControlNet sees the parent at the guidance's own image size,
        # not at the stage's render size (64² in the volume stage, upsampled: a blur).
        return GuidanceBatch(
            [v.label for v in views],
            landmark_images=draw_landmarks(views),
            source_images=render_parent(views, shading, light, config.image_size),
        )

    describe = {
        "kind": "sd-iesd",
        "models": dict(request.models),
        "guidance_scale": config.guidance_scale,
        "image_guidance_scale": config.image_guidance_scale,
        "edit_scale": config.edit_scale,
    }
    return Teacher(guidance, conditions, describe=describe)
