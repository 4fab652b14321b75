"""The sculpt job: text → prior head → coarse NeRF → DMTet → baked texture → rigged GLB.

HeadSculpt's coarse-to-fine method, read top to bottom in :meth:`SculptPipeline.sculpt`:

1. **prior**: the description's descriptive code shapes the Anny head (the parametric
   pipeline); its signed distance initialises the coarse density, so the field agrees
   with the text at step 0, and its landmarks are drawn for the ControlNet;
2. **coarse**: a hash-grid density + albedo field rendered by volume rendering at low
   resolution, trained by the guidance (score distillation) with DreamFusion's shading
   augmentation, orientation and sparsity losses;
3. **fine**: a DMTet grid created from the coarse density and a texture field copied
   from its colours, rendered by the rasterizer, trained with Laplacian and
   normal-consistency regularisers;
4. **export**: xatlas unwrap, texture bake with seam padding, the rig and 52 face units
   moved on by "Rig any head" (the mesh is already in the prior's frame), GLB, sidecar.

The guidance is either Stable Diffusion with the landmark ControlNet and the back-view
token (``sd``) or the reference teacher (``reference``): a target mesh rendered at the
same cameras with the same shading, which turns the whole pipeline into a
reconstruction with a known answer (the tests' and benchmarks' proof).

Every stage checkpoints into the job's scratch folder; a job started again (after a
crash or a restart) resumes from its last checkpoint with the same random streams.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headsculpt import __version__
from headsculpt.bounds import Box
from headsculpt.devices import resolve_device, seeded_generator
from headsculpt.eval.reconstruction import measure_reconstruction
from headsculpt.export.glb import PartMaterial
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.export.mesh_reader import InputMesh, InputPart
from headsculpt.export.mouth_opening import (
    MOUTH_INSIDE_PART,
    OpenedMouth,
    mouth_line,
    open_mouth,
)
from headsculpt.export.surface_query import SurfaceHits, TriangleSurface
from headsculpt.export.texture_bake import UnwrappedMesh, bake_texture, colours_at, unwrap
from headsculpt.files import png_bytes
from headsculpt.geometry.density_field import DensityField, DensityFieldConfig
from headsculpt.geometry.dmtet import DMTet, DMTetConfig
from headsculpt.geometry.hash_grid import HashGridConfig
from headsculpt.geometry.prior_sdf import GridSDF
from headsculpt.geometry.regularisers import (
    laplacian_smoothness,
    normal_consistency,
    sparsity_loss,
)
from headsculpt.geometry.texture_field import TextureField
from headsculpt.guidance.score_distillation import GuidanceBatch, TimestepSchedule
from headsculpt.guidance.sources import MissingWeightsError
from headsculpt.limits import RequestError
from headsculpt.pipelines.checkpoint import StageCheckpoint
from headsculpt.pipelines.contract import (
    OUTPUT_STEM,
    JobOutputs,
    default_seed,
    starting_file,
    variant_seed,
    variant_stem,
)
from headsculpt.pipelines.gradient_norms import GradientNorms
from headsculpt.pipelines.parametric import ParametricPipeline
from headsculpt.pipelines.rig import RigOptions, RigPipeline, RigResult
from headsculpt.pipelines.sculpt_presets import SCULPT_PRESETS, SculptPreset
from headsculpt.prior.head_fit import fit_head
from headsculpt.prior.head_model import vertex_normals
from headsculpt.progress import Cancelled, ProgressCallback, no_progress, scaled_progress
from headsculpt.render.antialias import EdgeAdjacency
from headsculpt.render.camera import FACE_FORWARD
from headsculpt.render.camera_sampler import CameraSampler, CameraSamplerConfig, SampledView
from headsculpt.render.colour import srgb_to_linear
from headsculpt.render.landmark_condition import LandmarkPainter, drawing_scope, off_front
from headsculpt.render.mesh_render import (
    albedo_from_points,
    albedo_from_texture,
    render_mesh,
)
from headsculpt.render.occupancy import OccupancyGrid
from headsculpt.render.preview import TexturedMesh, render_preview
from headsculpt.render.rasterizer import alpha_test
from headsculpt.render.silhouettes import SilhouetteMatch
from headsculpt.render.volume import VolumeRenderConfig, random_shading, render_volume
from headsculpt.texture.painter import MOUTH_INSIDE

GUIDANCES = ("sd", "reference")
REQUIRED_SLOTS = ("base_model", "landmark_controlnet")  # back_view_embedding is optional
_BOX_PADDING = 0.15  # the field's box around the prior head, as a share of its largest side
_SDF_RESOLUTION = 64
# The ControlNet's drawings; the guidance resizes them to its latents' side × the VAE's factor.
_LANDMARK_SIZE = 512
_TARGET_BACKGROUND = (1.0, 1.0, 1.0)  # the reference teacher's renders and the student's
_PRIOR_TRANSITION = 0.01  # the prior's density falls from full to none over 1 % of the box
_PRIOR_STRENGTH = 10.0  # density e^10 inside the prior (threestudio's blob)
# Far outside it e^-4: air stays clear (a sample's alpha ~0.1 %), yet what the prior
# lacks — a horn, long hair — can grow: at e^-10 the gradient that would grow it was
# e^6 times smaller, and a horn stopped half-way (docs/sculpt.md).
_PRIOR_FLOOR = -4.0
# How much of its remembered density an occupancy cell keeps at each update (every cell
# is probed every 16 steps): with nerfacc's 0.95 (and a quarter of the cells probed) a fog
# that passes early in a run kept 96–99 % of a long-haired target's grid occupied
# hundreds of steps later, 4× the samples (docs/sculpt.md).
OCCUPANCY_DECAY = 0.8
# threestudio's surface level (unit frame): the prior's density passes it inside.
SURFACE_DENSITY = 25.0
# The fine stage's start is cut at whichever of these densities gives the outline the
# coarse field's renders show (a fuzz such as hair turns opaque far below 25).
SURFACE_DENSITIES = (50.0, 25.0, 12.5, 6.25, 3.125)
_EMPTY_ALPHA = 0.01
# Landmarks MediaPipe finds on a sculpt are used only when the head model fits them this
# well (metres, RMS): a parametric head's own surface in clay fits to 5.9 mm, stretched
# 0.8 × 1.1 × 1.35 to 8.9 mm; a face MediaPipe imagined on a random model's blotches, 14.8.
FOUND_FACE_MAX_FIT = 0.012
# Where the box reaches past the head (long hair, a target's accessory) by more than this
# (unit frame), this share of both stages' views aims at the box's centre instead of the
# head's, at the head's own framing: hair tips at the frame's edge get into frame.
_REACH_OFFSET = 0.05
REACH_VIEW_SHARE = 0.25
# Face close-ups of the fine stage: the front half of the head, the face filling the frame.
_FACE_CAMERAS = CameraSamplerConfig(
    elevation_range=(-10.0, 30.0), azimuth_range=(-60.0, 60.0), framing_range=(1.0, 1.2)
)


@dataclass
class SculptRequest:
    """What a sculpt job reads (the HTTP body or the CLI options)."""

    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    quality: str = "standard"
    variants: int = 1
    texture_size: int = 2048
    models: dict[str, str] = field(default_factory=dict)
    guidance: str = "sd"
    reference: str | None = None  # a target GLB for the reference teacher
    preview: bool = True
    device: str | None = None  # auto (CUDA when present), cpu, cuda, cuda:N: devices.py


@dataclass
class Teacher:
    """The guidance and what it needs to see about each batch of views."""

    guidance: Callable[..., Any]
    conditions: Callable[[list[SampledView], str, torch.Tensor, int], GuidanceBatch]
    describe: dict[str, Any] = field(default_factory=dict)
    target: TexturedMesh | None = None  # the reference teacher's answer (prior frame)


@dataclass
class Prior:
    """The head the text describes, as the sculpt's starting point.

    The optimisation runs in a *unit frame*: the prior frame moved and scaled so the
    head's largest side is 1 and its box is centred at the origin. Densities,
    thresholds and learning rates then mean the same for any head size (threestudio's
    settings are for scenes of this size); :meth:`to_prior_frame` maps results back.
    """

    mesh: TexturedMesh  # unit frame
    landmarks: np.ndarray  # (478, 3) on it, unit frame
    box: Box
    sampler: CameraSampler
    code: dict[str, Any]
    centre: np.ndarray  # (3,) the head's box centre, prior frame (metres)
    size: float  # its largest side (metres)
    reach_sampler: CameraSampler | None = None  # aimed at the box, when it reaches further

    @classmethod
    def around(
        cls,
        mesh: TexturedMesh,
        landmarks: np.ndarray,
        code: dict[str, Any],
        also_contain: np.ndarray | None = None,
    ) -> Prior:
        """The unit frame, box and cameras around a head given in the prior frame (metres):
        the parametric head for a sculpt, the parent's surface for an edit.

        ``also_contain``: points (prior frame) the field's box must hold too — the prior's
        drawn hair, or a reference target (long hair, a horn) reaching past the head's own
        box. The cameras still frame the head: the face keeps its pixels (a camera framing
        hair to the chest leaves the face too few of them at the test preset's 96² renders
        to be found by the judge). The unit frame stays the head's, so settings keep their
        meaning."""
        low, high = mesh.vertices.min(0), mesh.vertices.max(0)
        centre, size = (low + high) / 2.0, float((high - low).max())
        vertices = (mesh.vertices - centre) / size
        half = 0.5 * (1.0 + 2.0 * _BOX_PADDING)
        box_low, box_high = np.full(3, -half), np.full(3, half)
        if also_contain is not None and len(also_contain):
            extra = (np.asarray(also_contain, np.float64) - centre) / size
            box_low = np.minimum(box_low, extra.min(0) - _BOX_PADDING)
            box_high = np.maximum(box_high, extra.max(0) + _BOX_PADDING)
        box = Box(tuple((box_low + box_high) / 2.0), tuple((box_high - box_low) / 2.0))
        sampler = CameraSampler.around(vertices, CameraSamplerConfig(framing_range=(1.0, 1.2)))
        reach = None
        if np.linalg.norm(np.asarray(box.centre) - sampler.target) > _REACH_OFFSET:
            reach = CameraSampler(box.centre, sampler.radius, sampler.config)
        unit_landmarks = (np.asarray(landmarks, np.float64) - centre) / size
        return cls(replace(mesh, vertices=vertices), unit_landmarks, box, sampler, code, centre,
                   size, reach)  # fmt: skip

    def views(
        self, count: int, generator: torch.Generator, face_share: float = 0.0
    ) -> list[SampledView]:
        """``count`` random views of the head, each with probability ``face_share`` a
        close-up of the face instead (TADA's face views): from whole-head renders alone
        an eye is a few pixels at the test preset's size, and the texture keeps no more.

        Where the box reaches past the head, each view is with probability
        ``REACH_VIEW_SHARE`` aimed at the box's centre instead: framed on the head alone,
        long hair's tips stay at the frame's edge or out of it."""
        views = self.sampler.sample(count, generator)
        if self.reach_sampler is not None:
            reaching = self.reach_sampler.sample(count, generator)
            draws = torch.rand(count, generator=generator, device=generator.device)
            aimed = (draws < REACH_VIEW_SHARE).tolist()
            views = [r if a else v for v, r, a in zip(views, reaching, aimed, strict=True)]
        if face_share <= 0.0:
            return views
        close = torch.rand(count, generator=generator, device=generator.device) < face_share
        faces = self.face_sampler().sample(count, generator)
        chosen = zip(views, faces, close.tolist(), strict=True)
        return [face if up else view for view, face, up in chosen]

    def face_sampler(self) -> CameraSampler:
        """Cameras on the face's side framing its landmarks (brows to chin, cheek to
        cheek)."""
        return CameraSampler.around(self.landmarks, _FACE_CAMERAS)

    def to_unit_frame(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, np.float64) - self.centre) / self.size

    def to_prior_frame(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, np.float64) * self.size + self.centre


class SculptPipeline:
    """Compose the prior, the coarse field, DMTet, the bake and the rig transfer."""

    PRESETS = SCULPT_PRESETS
    Request = SculptRequest

    def __init__(self, parametric: ParametricPipeline, rig: RigPipeline) -> None:
        self.parametric = parametric
        self.rig = rig

    @classmethod
    def from_defaults(cls) -> SculptPipeline:
        parametric = ParametricPipeline.from_defaults()
        return cls(parametric, RigPipeline(parametric.head, parametric.landmarks))

    # --- the job ----------------------------------------------------------------
    def run(self, request: SculptRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        """A job: each variant's GLB, sidecar and preview; checkpoints in the scratch folder."""
        if request.guidance not in GUIDANCES:
            raise ValueError(f"guidance must be one of {GUIDANCES}, got {request.guidance!r}")
        if request.quality not in SCULPT_PRESETS:
            raise ValueError(f"quality must be one of {', '.join(SCULPT_PRESETS)}")
        if request.guidance == "sd":
            for slot in REQUIRED_SLOTS:  # before minutes of work, not after
                if not request.models.get(slot):
                    raise MissingWeightsError(slot, "not set")
        elif request.reference is None:  # the server's way: the target is the parent's GLB
            request = replace(request, reference=str(_parent_glb(outputs)))
        seed = default_seed(request.prompt) if request.seed is None else request.seed
        preset = SCULPT_PRESETS[request.quality]
        for k in range(request.variants):
            stem = variant_stem(OUTPUT_STEM, k, request.variants)
            share = scaled_progress(progress, k / request.variants, (k + 1) / request.variants)
            scratch = Path(outputs.scratch) / stem
            scratch.mkdir(parents=True, exist_ok=True)
            result = self.sculpt(
                request, preset, variant_seed(seed, k), scratch, share, outputs.set_code
            )
            outputs.write(f"{stem}.glb", result["glb"])
            outputs.write(f"{stem}.json", json.dumps(result["sidecar"], indent=2).encode())
            if request.preview:
                outputs.write(f"{stem}.png", png_bytes(render_preview(result["mesh"], 512)))
        progress("done", 1.0)

    def sculpt(
        self,
        request: SculptRequest,
        preset: SculptPreset,
        seed: int,
        scratch: Path,
        progress: ProgressCallback = no_progress,
        set_code: Callable[[dict], None] | None = None,
    ) -> dict[str, Any]:
        """One head: returns the GLB bytes, the sidecar and the textured mesh.

        Everything it computes lives on one device (``request.device``, see devices.py);
        the mesh and the images leave it at the export."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        preset = preset.for_guidance(request.guidance)
        device = resolve_device(request.device)
        torch.manual_seed(seed)
        generator = seeded_generator(device, seed)
        total = preset.total_steps + 2  # + the prior and the export

        # 1. Prior: the head the text describes, in a box that holds its hair (or the
        #    reference target, which may reach further: long hair, a horn).
        progress("prior", 0.0)
        target = _reference_target(request.reference) if request.guidance == "reference" else None
        prior = self.prior(request.prompt, seed, target)
        if set_code is not None:
            set_code(prior.code)
        teacher = self.teacher(request, preset, prior, target, device)
        timings["prior"] = time.perf_counter() - started

        # 2. Coarse: the density field, from the prior's shape.
        coarse_progress = scaled_progress(progress, 1 / total, (1 + preset.coarse_steps) / total)
        density, coarse = self.coarse(prior, teacher, preset, generator, scratch, coarse_progress)
        timings["coarse"] = time.perf_counter() - started - sum(timings.values())

        # 3. Fine: DMTet and the texture field, from the coarse field.
        fine_progress = scaled_progress(
            progress, (1 + preset.coarse_steps) / total, (1 + preset.total_steps) / total
        )
        dmtet, texture, fine, surface_density = self.fine(
            density, prior, teacher, preset, generator, scratch, fine_progress
        )
        timings["fine"] = time.perf_counter() - started - sum(timings.values())

        # 4. Export: unwrap, bake, rig.
        progress("export", (1 + preset.total_steps) / total)
        texture_size = preset.texture_size or request.texture_size
        rig_progress = scaled_progress(progress, (1 + preset.total_steps) / total, 1.0)
        exported = self.export(dmtet, texture, texture_size, prior, rig_progress)
        mesh, unwrapped, rigged = exported.mesh, exported.unwrapped, exported.rigged
        reconstruction = None
        if teacher.target is not None:  # a reconstruction: say how close it came
            reconstruction = measure_reconstruction(mesh, teacher.target).to_dict()
        timings["export"] = time.perf_counter() - started - sum(timings.values())
        sidecar = {
            "generator": f"headsculpt {__version__}",
            "mode": "sculpt",
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": seed,
            "quality": request.quality,
            "preset": asdict(preset),
            "guidance": teacher.describe,
            "texture_size": texture_size,
            "descriptive_code": prior.code,
            "device": str(device),
            "seconds": {k: round(v, 2) for k, v in timings.items()},
            "losses": {"coarse": coarse.losses, "fine": fine.losses},
            # Each weighted loss term's gradient norm every preset.diagnostics_every steps.
            "gradient_norms": {"coarse": coarse.gradient_norms, "fine": fine.gradient_norms},
            # The step each stage started at in this run: > 0 when it resumed a checkpoint.
            "resumed_from": {"coarse": coarse.started_from, "fine": fine.started_from},
            # The coarse field's density DMTet started at (its silhouettes matched best).
            "surface_start_density": surface_density,
            "mesh": {"vertices": len(unwrapped.vertices), "triangles": len(unwrapped.triangles)},
            # Vertices split along the mouth line (0: no cut was found; the lips stay shut)
            # and whose landmarks placed it: "found" on the surface (MediaPipe), or "prior".
            "mouth": exported.mouth,
            "rig": {k: rigged.report[k] for k in ("check",) if k in rigged.report},
        }
        restarted = [run.restarted for run in (coarse, fine) if run.restarted]
        if restarted:
            sidecar["checkpoint_restarts"] = restarted
        if reconstruction is not None:
            sidecar["reconstruction"] = reconstruction
        return {"glb": rigged.glb, "sidecar": sidecar, "mesh": mesh}

    # --- 1. prior -----------------------------------------------------------------
    def prior(self, prompt: str, seed: int, target: TexturedMesh | None = None) -> Prior:
        """The parametric head for the text, its landmarks, cameras around it and a box
        that holds its drawn hair too — or, with a reference ``target``, the target."""
        code = self.parametric.parse(prompt)
        head = self.parametric.from_code(code, prompt, seed)
        landmarks = self.parametric.landmarks.positions(head.mesh.vertices)
        if target is not None:
            also_contain = target.vertices
        else:
            also_contain = np.concatenate([np.zeros((0, 3))] + [h.vertices for h in head.hair])
        return Prior.around(head.mesh, landmarks, code.to_json(), also_contain)

    # --- the guidance ---------------------------------------------------------------
    def teacher(
        self,
        request: SculptRequest,
        preset: SculptPreset,
        prior: Prior,
        target: TexturedMesh | None = None,
        device: torch.device | str = "cpu",
    ) -> Teacher:
        """Stable Diffusion with the landmark ControlNet, or the reference teacher (its
        ``target`` read by :func:`_reference_target`), on ``device``."""
        device = torch.device(device)
        if request.guidance == "reference":
            if target is None:
                target = _reference_target(request.reference)
            return _reference_teacher(target, request.reference, prior, device)
        return _stable_diffusion_teacher(request, preset, prior, self.parametric, device)

    # --- 2. coarse ------------------------------------------------------------------
    def coarse_field(
        self, prior: Prior, preset: SculptPreset, device: torch.device | str = "cpu"
    ) -> DensityField:
        """A hash-grid density + albedo field on ``device`` whose density is biased by the
        prior's signed distance: at step 0 its surface is the prior's."""
        sdf = GridSDF.from_mesh(prior.mesh.vertices, prior.mesh.triangles, prior.box,
                                _SDF_RESOLUTION)  # fmt: skip
        encoding = HashGridConfig(levels=preset.hash_levels,
                                  log2_table_size=preset.hash_log2_table)  # fmt: skip
        size = 2.0 * max(prior.box.half_extent)
        return DensityField(
            DensityFieldConfig(box=prior.box, encoding=encoding, prior_strength=_PRIOR_STRENGTH,
                               prior_floor=_PRIOR_FLOOR,
                               prior_sharpness=1.0 / (_PRIOR_TRANSITION * size)),
            prior=sdf, device=device,
        )  # fmt: skip

    def coarse(
        self,
        prior: Prior,
        teacher: Teacher,
        preset: SculptPreset,
        generator: torch.Generator,
        scratch: Path,
        progress: ProgressCallback,
        field: DensityField | None = None,
        steps: int | None = None,
        stage: str = "coarse",
    ) -> tuple[DensityField, StageRun]:
        """Score distillation on the volume-rendered density field: ``steps`` (the
        preset's coarse steps by default) from ``field`` (default :meth:`coarse_field`),
        checkpointed as ``<stage>.pt``, on the generator's device. The IESD edit runs it
        from the parent's field."""
        device = generator.device
        field = self.coarse_field(prior, preset, device) if field is None else field
        steps = preset.coarse_steps if steps is None else steps
        occupancy = OccupancyGrid(prior.box, preset.occupancy_resolution, device=device)
        occupied_density = _occupied_density(prior, preset)
        optimizer = torch.optim.Adam(field.parameters(), lr=preset.coarse_lr,
                                     betas=preset.adam_betas, eps=1e-15)  # fmt: skip
        render_config = _volume_render_config(prior, preset)
        norms = GradientNorms(preset.diagnostics_every)
        checkpoint = StageCheckpoint(scratch / f"{stage}.pt", generator,
                                     preset.checkpoint_seconds, field=field,
                                     optimizer=optimizer, occupancy=occupancy,
                                     gradient_norms=norms)  # fmt: skip
        losses, start = checkpoint.restore()

        def density_only(points: torch.Tensor) -> torch.Tensor:
            return field(points)[0]

        with _saved_when_stopped(checkpoint, losses):
            for step in range(start, steps):
                progress(stage, step / steps)
                if step % preset.occupancy_every == 0:
                    with torch.no_grad():
                        occupancy.update(density_only, step, threshold=occupied_density,
                                         decay=OCCUPANCY_DECAY, generator=generator)  # fmt: skip
                views = prior.views(preset.coarse_views, generator)
                shading = random_shading(step, generator, preset.albedo_only_steps)
                light = light_directions(views, prior, device)
                lit = shading != "albedo"  # normals (a second backward) only when used
                normals = (lambda p: field.density_normals(p, create_graph=True)) if lit else None
                render = render_volume(
                    field, [v.camera for v in views], preset.coarse_size, preset.coarse_size,
                    render_config, occupancy, shading, normals_fn=normals, light_dirs=light,
                    generator=generator,
                )  # fmt: skip
                batch = teacher.conditions(views, shading, light, preset.coarse_size)
                guided = teacher.guidance(render.rgb, batch, step=step, generator=generator)
                terms = {
                    "guidance": guided.loss,
                    "sparsity": preset.sparsity_weight * sparsity_loss(render.opacity),
                }
                if lit:
                    weight = preset.orientation.at(step, steps)
                    terms["orientation"] = weight * render.orientation_loss()
                if norms.due(step):
                    norms.record(step, terms, field.parameters())
                optimizer.zero_grad(set_to_none=True)
                sum(terms.values()).backward()
                optimizer.step()
                losses.append(round(float(guided.loss.detach()), 6))
                done = step + 1
                if done % preset.preview_every == 0:  # what the views look like now
                    progress(stage, done / steps, _step_image(render.rgb))
                if checkpoint.due() or done == steps:
                    checkpoint.save(losses, done)
        progress(stage, 1.0)
        run = StageRun(summarise_losses(losses), start, norms.to_dict(), checkpoint.restarted)
        return field, run

    # --- 3. fine --------------------------------------------------------------------
    def fine(
        self,
        density: DensityField,
        prior: Prior,
        teacher: Teacher,
        preset: SculptPreset,
        generator: torch.Generator,
        scratch: Path,
        progress: ProgressCallback,
    ) -> tuple[DMTet, TextureField, StageRun, float]:
        """Score distillation on the rasterized DMTet surface and its texture field.
        Returns them, what the stage reports and the start's density."""
        dmtet, surface_density = self.surface_from(density, prior, preset)
        texture = TextureField.create_from(density)
        run = self.surface_stage(
            "fine", dmtet, texture, prior, teacher, preset, preset.fine_steps, generator,
            scratch / "fine.pt", progress,
        )  # fmt: skip
        return dmtet, texture, run, surface_density

    def surface_from(
        self, field: DensityField, prior: Prior, preset: SculptPreset
    ) -> tuple[DMTet, float]:
        """DMTet's start: the coarse field's isosurface at the density of
        ``SURFACE_DENSITIES`` whose silhouettes best match the field's renders (8 views
        around the head, at most 128²); returns it and that density."""
        views = [*prior.sampler.orbit(6, elevation=15.0), *prior.sampler.orbit(2, elevation=45.0)]
        device = next(field.parameters()).device
        occupancy = OccupancyGrid(prior.box, preset.occupancy_resolution, device=device)
        with torch.no_grad():
            occupancy.update(lambda points: field(points)[0], 0,
                             threshold=_occupied_density(prior, preset))  # fmt: skip
        size, config = min(preset.fine_size, 128), _volume_render_config(prior, preset)
        match = SilhouetteMatch.of_volume(field, [v.camera for v in views], size, config, occupancy)
        grid = DMTetConfig.with_spacing(prior.box, preset.tet_spacing, preset.max_tets)
        return DMTet.create_matching(field, grid, SURFACE_DENSITIES, match)

    def surface_stage(
        self,
        stage: str,
        dmtet: DMTet,
        texture: TextureField,
        prior: Prior,
        teacher: Teacher,
        preset: SculptPreset,
        steps: int,
        generator: torch.Generator,
        checkpoint_path: Path,
        progress: ProgressCallback,
    ) -> StageRun:
        """The fine stage's loop, shared by the sculpt and the IESD edit: ``steps`` of
        score distillation on the rasterized DMTet surface and its texture field, with
        checkpoints at ``checkpoint_path`` and step previews, on the generator's device."""
        optimizer = torch.optim.Adam([
            {"params": dmtet.parameters(), "lr": preset.fine_lr},
            {"params": texture.parameters(), "lr": preset.texture_lr},
        ], betas=preset.adam_betas, eps=1e-15)  # fmt: skip
        norms = GradientNorms(preset.diagnostics_every)
        checkpoint = StageCheckpoint(checkpoint_path, generator, preset.checkpoint_seconds,
                                     dmtet=dmtet, texture=texture, optimizer=optimizer,
                                     gradient_norms=norms)  # fmt: skip
        losses, start = checkpoint.restore()
        background = torch.tensor(_TARGET_BACKGROUND, device=generator.device)
        with _saved_when_stopped(checkpoint, losses):
            for step in range(start, steps):
                progress(stage, step / steps)
                vertices, triangles = dmtet.extract_mesh()
                if len(triangles) == 0:
                    raise RuntimeError(f"the {stage} stage lost the surface (no triangles left)")
                views = prior.views(preset.fine_views, generator, preset.face_view_share)
                shading = random_shading(step + preset.coarse_steps, generator,
                                         preset.albedo_only_steps)  # fmt: skip
                light = light_directions(views, prior, generator.device)
                render = render_mesh(
                    vertices, triangles, [v.camera for v in views], preset.fine_size,
                    albedo_from_points(texture, vertices), background, shading, light,
                    adjacency=EdgeAdjacency.from_triangles(triangles),
                )  # fmt: skip
                batch = teacher.conditions(views, shading, light, preset.fine_size)
                # The run's step count: the timestep schedule is annealed across both stages
                # (HeadSculpt's fine stage samples t in [0.02, 0.50]).
                overall = preset.coarse_steps + step
                guided = teacher.guidance(render.rgb, batch, step=overall, generator=generator)
                smooth = laplacian_smoothness(vertices, triangles)
                crease = normal_consistency(vertices, triangles)
                terms = {"guidance": guided.loss, "laplacian": preset.laplacian_weight * smooth,
                         "normal_consistency": preset.normal_weight * crease}  # fmt: skip
                if norms.due(step):
                    norms.record(step, terms, [*dmtet.parameters(), *texture.parameters()])
                optimizer.zero_grad(set_to_none=True)
                sum(terms.values()).backward()
                optimizer.step()
                losses.append(round(float(guided.loss.detach()), 6))
                done = step + 1
                if done % preset.preview_every == 0:
                    progress(stage, done / steps, _step_image(render.rgb))
                if checkpoint.due() or done == steps:
                    checkpoint.save(losses, done)
        progress(stage, 1.0)
        return StageRun(summarise_losses(losses), start, norms.to_dict(), checkpoint.restarted)

    # --- 4. export ------------------------------------------------------------------
    def export(
        self,
        dmtet: DMTet,
        texture: TextureField,
        texture_size: int,
        prior: Prior,
        progress: ProgressCallback = no_progress,
    ) -> Exported:
        """Open the mouth, bake, then rig, the mouth and the rig placed by the landmarks
        found on the surface (:meth:`surface_landmarks`)."""
        with torch.no_grad():  # the mesh leaves the device here
            vertices, triangles = (t.cpu().numpy() for t in dmtet.extract_mesh())
        vertices, triangles = largest_component(vertices, triangles)
        colours = colours_at(vertices, texture)
        landmarks, found = self.surface_landmarks(vertices, triangles, prior, colours)
        line, up = mouth_line(landmarks)
        opened = open_mouth(vertices, triangles, line, up)
        mesh, unwrapped, base_colour = self.bake(opened, texture, texture_size, prior)
        parts = [_textured_part(unwrapped, base_colour)]
        inpainted = [opened.free[unwrapped.source_vertex]]
        sides = [opened.sides[unwrapped.source_vertex]]
        if len(opened.pocket):  # the mouth's inside: its rig comes from the lips around it
            parts.append(_mouth_inside_part(opened, prior))
            inpainted.append(np.ones(len(parts[-1].vertices), dtype=bool))
            sides.append(np.zeros(len(parts[-1].vertices), dtype=np.int8))
        surface = TriangleSurface(unwrapped.vertices, unwrapped.triangles)
        fit_to = surface.closest(prior.to_prior_frame(landmarks)).points
        options = RigOptions(already_in_prior_frame=True, landmarks=fit_to, find_landmarks=False,
                             inpainted=np.concatenate(inpainted),
                             lip_sides=np.concatenate(sides))  # fmt: skip
        rigged = self.rig(InputMesh(parts), options, progress)
        # The GLB's anchors stay the prior's: the face the guidance was told to draw, which
        # an edit reframes on and the judge measures the result against.
        anchors = surface.closest(prior.to_prior_frame(prior.landmarks))
        rigged.glb = with_landmark_anchors(rigged.glb, anchors)
        mouth = {"cut_vertices": opened.cut_nodes, "landmarks": "found" if found else "prior"}
        return Exported(mesh, unwrapped, rigged, mouth)

    def surface_landmarks(
        self,
        vertices: np.ndarray,
        triangles: np.ndarray,
        prior: Prior,
        colours: np.ndarray | None = None,
    ) -> tuple[np.ndarray, bool]:
        """The face's 478 landmarks on the sculpted surface (unit frame), where the mouth
        is opened and the rig fitted, and whether they were found on it: MediaPipe's, from
        views of the surface, when it is installed and sees the face there (the surface
        may have left the prior's face: a reference run, a strong edit); else the prior's.
        A landmark no view could lift is the prior's. Found landmarks the head model cannot
        fit within ``FOUND_FACE_MAX_FIT`` are not a face: the prior's are used.

        The views show the surface in its ``colours`` (V, 3) sRGB when given: closed
        lips are one smooth sheet, and in grey clay MediaPipe put their parting 4–11 mm
        too high on the accessorised proof (the upper lip fell below the cut and opened
        with the jaw); in colour, 1 mm low."""
        expected = prior.to_prior_frame(prior.landmarks)
        surface = prior.to_prior_frame(vertices)
        found = self.rig.find_landmarks(surface, triangles, expected, colours=colours)
        if found is None:
            return prior.landmarks, False
        # MediaPipe can see a face in any blotch of colour; one that no head fits is not the
        # face the sculpt drew (the prior's landmarks place the mouth then).
        on_surface = TriangleSurface(surface, triangles)
        fit = fit_head(self.rig.head, self.rig.landmarks, found, on_surface)
        if fit.landmark_rms > FOUND_FACE_MAX_FIT:
            return prior.landmarks, False
        missing = np.isnan(found).any(1)
        found[missing] = expected[missing]
        return prior.to_unit_frame(found), True

    def bake(
        self, opened: OpenedMouth, texture: TextureField, size: int, prior: Prior
    ) -> tuple[TexturedMesh, UnwrappedMesh, np.ndarray]:
        """The surface (without the mouth's inside) unwrapped, its texture field baked into
        a ``size``² base colour; returned in the prior's frame (metres)."""
        vertices = opened.vertices[: opened.surface_count]
        unwrapped = unwrap(vertices, opened.triangles, resolution=size)
        base_colour = bake_texture(unwrapped, texture, size)
        unwrapped.vertices = prior.to_prior_frame(unwrapped.vertices)
        normals = vertex_normals(unwrapped.vertices, unwrapped.triangles)
        roughness = np.full(base_colour.shape[:2], 178, dtype=np.uint8)
        mesh = TexturedMesh(unwrapped.vertices, normals, unwrapped.uv, unwrapped.triangles,
                            base_colour, roughness)  # fmt: skip
        return mesh, unwrapped, base_colour


@dataclass
class Exported:
    """A finished head: the baked mesh (prior frame), its unwrapped form and the rig."""

    mesh: TexturedMesh
    unwrapped: UnwrappedMesh
    rigged: RigResult
    mouth: dict[str, Any]  # vertices split along the mouth line; whose landmarks placed it


@dataclass
class StageRun:
    """What a training stage reports for the sidecar."""

    losses: list[float]  # the loss curve, summarised (summarise_losses)
    started_from: int  # the step it started at: > 0 when it resumed a checkpoint
    gradient_norms: dict[str, list]  # GradientNorms.to_dict()
    restarted: str | None = None  # why a damaged checkpoint was set aside


@contextmanager
def _saved_when_stopped(checkpoint: StageCheckpoint, losses: list[float]):
    """Save the stage's state when it is stopped (cancel, shutdown): a resumed job goes on
    from the step it was stopped at, not from the last timed checkpoint."""
    try:
        yield
    except Cancelled:
        checkpoint.save(losses, len(losses))
        raise


# --- teachers -------------------------------------------------------------------------
def _reference_target(reference: str | None) -> TexturedMesh:
    """The reference teacher's target: the GLB's meshes in one (hair cards alpha-tested)."""
    if not reference:
        raise ValueError("reference: the reference teacher needs a target GLB (--reference)")
    return read_head_glb(reference).mesh


def _reference_teacher(
    target: TexturedMesh, reference: str | None, prior: Prior, device: torch.device
) -> Teacher:
    from headsculpt.guidance.reference import ReferenceGuidance
    from headsculpt.guidance.score_distillation import DistillationConfig

    render_target = mesh_renderer(target, prior, device)

    def conditions(views, shading, light, size) -> GuidanceBatch:
        return GuidanceBatch([v.label for v in views],
                             target_images=render_target(views, shading, light, size))  # fmt: skip

    config = DistillationConfig(timesteps=TimestepSchedule((0.02, 0.98)), weighting="uniform")
    return Teacher(ReferenceGuidance(config), conditions,
                   describe={"kind": "reference", "target": str(reference)},
                   target=target)  # fmt: skip


def _stable_diffusion_teacher(
    request: SculptRequest,
    preset: SculptPreset,
    prior: Prior,
    parametric: ParametricPipeline,
    device: torch.device,
) -> Teacher:
    from headsculpt.guidance.models import DiffusionModels, ModelSources
    from headsculpt.guidance.sds import SDSConfig, StableDiffusionGuidance

    models = DiffusionModels.from_sources(ModelSources.from_mapping(request.models), device)
    config = SDSConfig(
        timesteps=TimestepSchedule((0.02, 0.98), (0.02, 0.50), preset.coarse_steps),
        guidance_scale=preset.guidance_scale,
        conditioning_scale=preset.controlnet_scale,
        negative_prompt=request.negative_prompt,
        image_size=models.image_size,
    )
    guidance = StableDiffusionGuidance(models, request.prompt, config)
    draw_landmarks = landmark_drawer(prior, parametric.landmarks.connections, device)

    def conditions(views, shading, light, size) -> GuidanceBatch:
        return GuidanceBatch([v.label for v in views], landmark_images=draw_landmarks(views))

    describe = {
        "kind": "sd",
        "models": dict(request.models),
        "guidance_scale": config.guidance_scale,
        "controlnet_scale": config.conditioning_scale,
        **guidance.describe(),
    }
    return Teacher(guidance, conditions, describe=describe)


def _occupied_density(prior: Prior, preset: SculptPreset) -> float:
    """The density above which an occupancy cell is not empty: a sample there would be
    more than 1 % opaque."""
    spacing = 2.0 * max(prior.box.half_extent) * 3**0.5 / preset.samples_per_ray
    return _EMPTY_ALPHA / spacing


def _volume_render_config(prior: Prior, preset: SculptPreset) -> VolumeRenderConfig:
    return VolumeRenderConfig(box=prior.box, samples_per_ray=preset.samples_per_ray,
                              background=_TARGET_BACKGROUND)  # fmt: skip


def mesh_renderer(
    mesh: TexturedMesh, prior: Prior, device: torch.device | str = "cpu"
) -> Callable[[list[SampledView], str, torch.Tensor, int], torch.Tensor]:
    """Renders (B, 3, size, size) on ``device`` of a textured mesh given in the prior frame,
    at the student's cameras with its shading and light: what the reference teachers see,
    and the unedited head IESD's InstructPix2Pix ControlNet sees."""

    def on_device(values: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values), dtype=dtype, device=device)

    vertices = on_device(prior.to_unit_frame(mesh.vertices), torch.float32)
    triangles = on_device(mesh.triangles, torch.long)
    uv, texture = on_device(mesh.uv, torch.float32), on_device(mesh.base_color, torch.float32)
    texture = texture / 255.0
    albedo = albedo_from_texture(uv, texture)
    keep = alpha_test(uv, triangles, texture)  # a target's hair cards: strands only
    adjacency = EdgeAdjacency.from_triangles(triangles)
    background = torch.tensor(_TARGET_BACKGROUND, device=device)

    def render(views: list[SampledView], shading: str, light: torch.Tensor, size: int):
        with torch.no_grad():
            return render_mesh(vertices, triangles, [v.camera for v in views], size, albedo,
                               background, shading, light, adjacency=adjacency,
                               keep=keep).rgb  # fmt: skip

    return render


def landmark_drawer(
    prior: Prior, connections: dict[str, np.ndarray], device: torch.device | str = "cpu"
) -> Callable[[list[SampledView]], torch.Tensor]:
    """The landmark ControlNet's drawings (B, 3, 512, 512) on ``device`` of the prior's
    landmarks for each view: every group within 90° of the face, its oval farther round,
    nothing for back views (render/landmark_condition.py)."""
    painter = LandmarkPainter(connections, _LANDMARK_SIZE)
    landmarks = torch.as_tensor(prior.landmarks, dtype=torch.float32, device=device)
    centre = prior.landmarks.mean(0)

    def draw(views: list[SampledView]) -> torch.Tensor:
        scopes = [drawing_scope(off_front(v.camera, centre, FACE_FORWARD), v.label == "back")
                  for v in views]  # fmt: skip
        return painter([v.camera for v in views], landmarks, scopes)

    return draw


# --- helpers --------------------------------------------------------------------------
def _parent_glb(outputs: JobOutputs) -> Path:
    """The parent job's GLB, copied into the scratch folder for the reference teacher."""
    if outputs.parent is None:
        raise RequestError("parent_id", "reference guidance needs a parent job with a GLB")
    name = starting_file(outputs.parent.names())
    if name is None:
        raise RequestError("parent_id", f"job {outputs.parent.id} has no GLB to rebuild")
    path = Path(outputs.scratch) / "reference.glb"
    path.write_bytes(outputs.parent.read(name))
    return path


def light_directions(
    views: list[SampledView], prior: Prior, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """A light near each camera (threestudio's "light near the eye"), the same for the
    student's render and the teacher's."""
    centre = np.asarray(prior.sampler.target)
    eyes = np.asarray([v.camera.eye for v in views])
    directions = torch.as_tensor(eyes - centre, dtype=torch.float32, device=device)
    return torch.nn.functional.normalize(directions, dim=1)


def _textured_part(mesh: UnwrappedMesh, base_colour: np.ndarray) -> InputPart:
    return InputPart(
        name="Head",
        vertices=mesh.vertices,
        triangles=mesh.triangles,
        uv=mesh.uv,
        material=PartMaterial(name="Head", base_color=base_colour),
    )


def _mouth_inside_part(opened: OpenedMouth, prior: Prior) -> InputPart:
    """The pocket behind the lips, in the painted head's mouth colour. Its rim shares
    the cut's positions, so the rig welds it to the lips."""
    used, triangles = np.unique(opened.pocket, return_inverse=True)
    linear = srgb_to_linear(torch.tensor(MOUTH_INSIDE))  # cpu-side: a material's colour
    colour = tuple(float(c) for c in linear)
    return InputPart(
        name=MOUTH_INSIDE_PART,
        vertices=prior.to_prior_frame(opened.vertices[used]),
        triangles=triangles.reshape(-1, 3).astype(np.int64),
        material=PartMaterial(
            name=MOUTH_INSIDE_PART, base_color_factor=(*colour, 1.0), roughness_factor=0.6
        ),
    )


def with_landmark_anchors(glb: bytes, hits: SurfaceHits) -> bytes:
    """``glb`` with the landmarks as surface anchors of its head mesh (the parametric
    GLB's ``asset.extras.headsculpt.landmarks`` form, which ``read_head_glb`` reads).
    Only the JSON chunk is rewritten; the binary chunk is kept byte for byte."""
    (json_length,) = struct.unpack_from("<I", glb, 12)
    document = json.loads(glb[20 : 20 + json_length])
    binary = glb[20 + json_length :]
    head = max(document["meshes"], key=lambda m: len(m.get("extras", {}).get("targetNames", [])))
    asset = document.setdefault("asset", {})
    ours = asset.setdefault("extras", {}).setdefault("headsculpt", {})
    ours["landmarks"] = {
        head["name"]: {
            "landmarks": list(range(len(hits.triangle_ids))),
            "triangles": hits.triangle_ids.tolist(),
            "barycentric": np.round(hits.barycentric, 6).ravel().tolist(),
        }
    }
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)  # chunks are 4-byte aligned, JSON padded with spaces
    header = struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(text) + len(binary))
    return header + struct.pack("<I4s", len(text), b"JSON") + text + binary


def largest_component(vertices: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The connected piece with the most triangles (floaters dropped), vertices reindexed."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    count = len(vertices)
    rows = np.concatenate([triangles[:, 0], triangles[:, 1], triangles[:, 2]])
    cols = np.concatenate([triangles[:, 1], triangles[:, 2], triangles[:, 0]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    face_labels = labels[triangles[:, 0]]
    biggest = np.bincount(face_labels).argmax()
    kept = triangles[face_labels == biggest]
    used, remap = np.unique(kept, return_inverse=True)
    return vertices[used].astype(np.float64), remap.reshape(-1, 3).astype(np.int64)


def _step_image(rgb: torch.Tensor):
    """The step's renders side by side, at least 256 pixels high (a PIL image)."""
    from PIL import Image

    row = torch.cat(
        list(rgb.detach().clamp(0, 1).cpu()), dim=2
    )  # views side by side, off the device
    pixels = (row.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    image = Image.fromarray(pixels)
    factor = max(1, 256 // image.height)
    return image.resize((image.width * factor, image.height * factor), Image.NEAREST)


def summarise_losses(losses: list[float]) -> list[float]:
    """The loss curve in at most 50 points (the sidecar stays small)."""
    if len(losses) <= 50:
        return losses
    stride = len(losses) / 50
    return [losses[int(k * stride)] for k in range(50)] + [losses[-1]]
