"""A diffusion teacher trained on one target head, and the check that it has learned it.

``headsculpt train-teacher TARGET.glb --description TEXT --out DIR`` (docs/sculpt.md,
"A teacher of our own"). The examples are what the sculpt's Stable Diffusion guidance
would be shown for that description, with the target in place of the unknown answer:

1. the prior the sculpt starts from for the description: its unit frame and cameras;
2. views as the sculpt samples them — whole-head views and close-ups of the face, every
   view label, back views included;
3. the target rendered at each view, in the shadings the sculpt renders (albedo,
   lambertian, textureless; lit from near the camera as the sculpt lights);
4. each view's landmark drawing by the sculpt's own drawer, from the target's landmarks
   (embedded in its GLB, else found on it by MediaPipe);
5. the view prompts the sculpt writes, with and without the back-view token.

The components are then trained (``guidance/teacher_training.py``) and saved in SD
1.5's layout. :meth:`TeacherTrainer.check` loads them back through the product's own
loader and samples them with DDIM at cameras they were not trained on: PSNR against the
target's render there, with the landmark ControlNet and without it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from headsculpt.export.glb_reader import GlbHead, read_head_glb
from headsculpt.files import write_atomically
from headsculpt.guidance.back_view_token import BACK_VIEW_TOKEN
from headsculpt.guidance.prompts import ViewPrompts
from headsculpt.guidance.score_distillation import resized_conditions
from headsculpt.guidance.teacher_training import (
    TeacherArchitecture,
    TeacherExamples,
    TeacherTraining,
    teacher_tokenizer,
    train_teacher,
)
from headsculpt.pipelines.sculpt import (
    Prior,
    SculptPipeline,
    landmark_drawer,
    light_directions,
    mesh_renderer,
)
from headsculpt.progress import ProgressCallback, no_progress, scaled_progress
from headsculpt.render.camera_sampler import SampledView
from headsculpt.render.volume import SHADINGS

FACE_VIEW_SHARE = 0.25  # of the views, close-ups of the face (the fine stage's share)
SHADING_SHARES = (0.5, 0.25, 0.25)  # albedo, lambertian, textureless (albedo most seen)
REPORT_FILE = "teacher.json"


class TargetLandmarksError(ValueError):
    """The target carries no landmarks and none could be found on it."""


@dataclass(frozen=True)
class TeacherRequest:
    """What ``train-teacher`` reads."""

    target: Path  # a GLB (prior frame, metres), as the reference teacher reads
    description: str  # the text the sculpt will be given
    seed: int = 0  # the sculpt's seed: its prior and cameras
    views: int = 384  # rendered examples
    check_views: int = 16  # held-out cameras the learned check samples at
    architecture: TeacherArchitecture = field(default_factory=TeacherArchitecture)
    training: TeacherTraining = field(default_factory=TeacherTraining)


@dataclass
class TeacherCheck:
    """DDIM samples against the target at held-out cameras (PSNR in dB, per view)."""

    labels: list[str]
    psnr: list[float]  # with the landmark ControlNet (back views: without, as the sculpt)
    psnr_without_controlnet: list[float]
    # How far the sampled face follows a drawing moved sideways: the shift (pixels) that
    # best aligns the sample made with the moved drawing to the one made with the true one.
    face_shift_asked: float = 0.0
    face_shift_seen: float = 0.0

    def mean(self, labels: tuple[str, ...] = ("front", "side")) -> float:
        values = [p for p, label in zip(self.psnr, self.labels, strict=True) if label in labels]
        return float(np.mean(values)) if values else float("nan")


class TeacherTrainer:
    """Builds a trained teacher's examples from the sculpt's own parts, trains, checks."""

    def __init__(self, sculpt: SculptPipeline) -> None:
        self.sculpt = sculpt

    @classmethod
    def from_defaults(cls) -> TeacherTrainer:
        return cls(SculptPipeline.from_defaults())

    def __call__(
        self, request: TeacherRequest, out: Path, progress: ProgressCallback = no_progress
    ) -> dict:
        """Train on ``request.target`` and save to ``out`` (SD 1.5's layout); check it and
        write ``teacher.json`` there. Returns that report."""
        started = time.monotonic()
        target = read_head_glb(request.target)
        # 1–5. The examples.
        prior = self.prior(request.description, request.seed, target)
        generator = torch.Generator().manual_seed(request.seed)
        views = self.views(prior, request.views, generator)
        size = request.architecture.image_size
        examples = self.examples(prior, target, request.description, views, size, generator)
        progress("examples", 0.05)
        # 6. Training.
        trained = train_teacher(examples, request.architecture, request.training,
                                scaled_progress(progress, 0.05, 0.9))  # fmt: skip
        out = Path(out)
        trained.save(out)
        seconds = round(time.monotonic() - started, 1)
        # 7. The check, through the product's loader.
        check = self.check(out, prior, target, request.description, request.check_views,
                           request.seed + 1)  # fmt: skip
        progress("done", 1.0)
        report = {
            "target": str(request.target),
            "description": request.description,
            "seed": request.seed,
            "views": request.views,
            "architecture": asdict(request.architecture),
            "training": asdict(request.training),
            "train_seconds": seconds,
            "final_losses": {k: float(np.mean(v[-50:])) for k, v in trained.losses.items()},
            "check": asdict(check),
            "check_mean_psnr": {
                "front_side": round(check.mean(), 2),
                "back": round(check.mean(("back",)), 2),
            },  # fmt: skip
        }
        write_atomically(out / REPORT_FILE, json.dumps(report, indent=2).encode())
        return report

    # --- the examples ---------------------------------------------------------------
    def prior(self, description: str, seed: int, target: GlbHead) -> Prior:
        """The sculpt's prior for the description (it does not know the target), drawing
        the target's landmarks instead of its own."""
        prior = self.sculpt.prior(description, seed)
        return replace(prior, landmarks=prior.to_unit_frame(self.target_landmarks(target)))

    def target_landmarks(self, target: GlbHead) -> np.ndarray:
        """(478, 3) prior frame: the GLB's own, else found by MediaPipe on its surface."""
        if target.landmarks is not None:
            return target.landmarks
        mesh = target.mesh
        found = self.sculpt.rig.find_landmarks(mesh.vertices, mesh.triangles)
        if found is None or np.isnan(found).any():
            raise TargetLandmarksError(
                "target: the GLB carries no landmarks and MediaPipe found no whole face on it "
                "(scripts/bootstrap.sh --judge installs MediaPipe)"
            )
        return found

    @staticmethod
    def views(prior: Prior, count: int, generator: torch.Generator) -> list[SampledView]:
        """Cameras as the sculpt draws them: whole-head views and close-ups of the face."""
        return prior.views(count, generator, FACE_VIEW_SHARE)

    def examples(
        self,
        prior: Prior,
        target: GlbHead,
        description: str,
        views: list[SampledView],
        size: int,
        generator: torch.Generator,
    ) -> TeacherExamples:
        render = mesh_renderer(target.mesh, prior)
        draw = landmark_drawer(prior, self.sculpt.parametric.landmarks.connections)
        shares = torch.tensor(SHADING_SHARES)
        picks = torch.multinomial(shares, len(views), replacement=True, generator=generator)
        images = torch.empty(len(views), 3, size, size)
        for index, shading in enumerate(SHADINGS):
            chosen = (picks == index).nonzero().flatten().tolist()
            for start in range(0, len(chosen), 32):
                rows = chosen[start : start + 32]
                batch = [views[r] for r in rows]
                light = light_directions(batch, prior)
                images[rows] = render(batch, shading, light, size)
        drawings = torch.cat([resized_conditions(draw(views[k : k + 32]), (size, size))
                              for k in range(0, len(views), 32)])  # fmt: skip
        tokenizer = teacher_tokenizer()
        forms = (ViewPrompts.fit(tokenizer, description, BACK_VIEW_TOKEN),
                 ViewPrompts.fit(tokenizer, description))  # fmt: skip
        prompts = [tuple(dict.fromkeys(form(v.label) for form in forms)) for v in views]
        controlled = torch.tensor([v.label != "back" for v in views])
        return TeacherExamples(images, drawings, controlled, prompts)

    # --- the check ------------------------------------------------------------------
    def check(
        self,
        folder: Path,
        prior: Prior,
        target: GlbHead,
        description: str,
        count: int,
        seed: int,
    ) -> TeacherCheck:
        """Sample the saved teacher (loaded as a sculpt loads it) at ``count`` cameras the
        training did not draw, and compare with the target's renders there."""
        from headsculpt.guidance.models import DiffusionModels, ModelSources
        from headsculpt.guidance.sampling import sample_images
        from headsculpt.guidance.sds import SDSConfig, StableDiffusionGuidance

        sources = ModelSources(base_model=str(folder), landmark_controlnet=str(folder),
                               back_view_embedding=str(folder))  # fmt: skip
        models = DiffusionModels.from_sources(sources, "cpu")
        guidance = StableDiffusionGuidance(models, description, SDSConfig())
        generator = torch.Generator().manual_seed(seed)
        views = self.views(prior, count, generator)
        size = models.image_size
        light = light_directions(views, prior)
        render = mesh_renderer(target.mesh, prior)
        answers = [render(views, shading, light, size) for shading in SHADINGS]
        drawer = landmark_drawer(prior, self.sculpt.parametric.landmarks.connections)
        drawings = drawer(views)
        labels = [v.label for v in views]
        controlled = torch.tensor([label != "back" for label in labels])

        def sample(drawn: torch.Tensor, scale: float) -> torch.Tensor:
            noise = torch.Generator().manual_seed(seed)
            return sample_images(models, guidance.prompts(labels), drawn, controlled,
                                 guidance.negative_prompts(labels), conditioning_scale=scale,
                                 generator=noise)  # fmt: skip

        with_control, without = sample(drawings, 1.0), sample(drawings, 0.0)
        shift = 0.125  # of the drawing's width
        moved = torch.roll(drawings, int(shift * drawings.shape[-1]), dims=-1)
        moved_sample = sample(moved, 1.0)
        seen = _best_shift(with_control[controlled], moved_sample[controlled])
        return TeacherCheck(labels, _psnr(with_control, answers), _psnr(without, answers),
                            face_shift_asked=shift * size, face_shift_seen=seen)  # fmt: skip


def _psnr(images: torch.Tensor, answers: list[torch.Tensor]) -> list[float]:
    """Per image, the PSNR (dB) against the nearest of the target's renders at its camera:
    the teacher learned every shading under the same prompt, so any of them is right."""
    errors = torch.stack([((images - a) ** 2).mean(dim=(1, 2, 3)) for a in answers])
    error = errors.amin(0).clamp(min=1e-10)
    return [round(float(v), 2) for v in -10.0 * torch.log10(error)]


def _best_shift(reference: torch.Tensor, moved: torch.Tensor, reach: int = 16) -> float:
    """The horizontal shift (pixels, mean over images) that best aligns ``moved`` onto
    ``reference`` (how far the sampled head followed its drawing)."""
    if not len(reference):
        return 0.0
    errors = [((torch.roll(moved, -s, dims=-1) - reference) ** 2).mean().item()
              for s in range(-reach, reach + 1)]  # fmt: skip
    return float(int(np.argmin(errors)) - reach)
