"""A teacher of our own (pipelines/trained_teacher.py, guidance/teacher_training.py): its
examples are what the sculpt would show Stable Diffusion, it is saved in SD 1.5's layout
and loads through the product's own loader, the guidance runs on it at its own image
size, and training is deterministic. (What it learns is checked where it is trained at
full length: the sculpt proofs with a trained teacher.)"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import ROOT
from headsculpt.guidance.back_view_token import BACK_VIEW_TOKEN
from headsculpt.guidance.models import SD15_CONTROLNET_SUBFOLDER, DiffusionModels, ModelSources
from headsculpt.guidance.prompts import ViewPrompts
from headsculpt.guidance.random_models import random_stable_diffusion
from headsculpt.guidance.sampling import sample_images
from headsculpt.guidance.score_distillation import GuidanceBatch
from headsculpt.guidance.sds import SDSConfig, StableDiffusionGuidance
from headsculpt.guidance.teacher_training import (
    TeacherArchitecture,
    TeacherTraining,
    teacher_tokenizer,
)
from headsculpt.pipelines.sculpt import SculptPipeline
from headsculpt.pipelines.trained_teacher import TeacherRequest, TeacherTrainer
from headsculpt.render.camera import to_pixels
from sculpt_targets import non_human

DESCRIPTION = "a middle-aged man with a square jaw"
# A few steps of everything: what is checked here is the plumbing, not what it learned.
SHORT = TeacherTraining(vae_steps=3, denoiser_steps=3, batch_size=4, vae_batch_size=4)


@pytest.fixture(scope="module")
def trainer() -> TeacherTrainer:
    return TeacherTrainer(SculptPipeline.from_defaults())


@pytest.fixture(scope="module")
def target_glb(trainer, tmp_path_factory):
    """The stretched project head, its landmarks stretched with it."""
    parametric = trainer.sculpt.parametric
    head = parametric(DESCRIPTION, seed=8).mesh
    target = non_human(head, landmarks=parametric.landmarks.positions(head.vertices))
    return target.write(tmp_path_factory.mktemp("target") / "stretched.glb")


@pytest.fixture(scope="module")
def trained(trainer, target_glb, tmp_path_factory):
    out = tmp_path_factory.mktemp("teacher")
    request = TeacherRequest(target_glb, DESCRIPTION, seed=1, views=32, check_views=2,
                             training=SHORT)  # fmt: skip
    return out, trainer(request, out)


def test_the_examples_are_what_the_sculpt_would_show_with_the_targets_landmarks(
    trainer, target_glb
):
    from headsculpt.export.glb_reader import read_head_glb

    target = read_head_glb(target_glb)
    prior = trainer.prior(DESCRIPTION, 1, target)
    views = trainer.views(prior, 24, torch.Generator().manual_seed(0))
    examples = trainer.examples(prior, target, DESCRIPTION, views, 64,
                                torch.Generator().manual_seed(0))  # fmt: skip
    labels = [v.label for v in views]
    assert {"front", "side", "back"} <= set(labels)
    # The view prompts the sculpt writes, with and without the back-view token.
    tokenizer = teacher_tokenizer()
    with_token = ViewPrompts.fit(tokenizer, DESCRIPTION, BACK_VIEW_TOKEN)
    without = ViewPrompts.fit(tokenizer, DESCRIPTION)
    for label, prompts in zip(labels, examples.prompts, strict=True):
        assert set(prompts) == {with_token(label), without(label)}
    assert any(BACK_VIEW_TOKEN in p for p in examples.prompts[labels.index("back")])
    # Back views: no ControlNet, a blank drawing; the others are drawn from the target's
    # own landmarks (the stretched face, not the prior's): its oval passes through them.
    assert examples.controlled.tolist() == [label != "back" for label in labels]
    assert examples.drawings[~examples.controlled].abs().max() == 0
    oval = np.unique(trainer.sculpt.parametric.landmarks.connections["face_oval"])
    own = trainer.sculpt.prior(DESCRIPTION, 1).landmarks  # the unstretched prior's

    def inked_share(k: int, landmarks: np.ndarray) -> float:
        """Of the oval's landmarks in view ``k``, the share with ink within a pixel."""
        points = torch.as_tensor(landmarks[oval]).float()
        pixels, _ = to_pixels(views[k].camera, points, 64, 64)
        inked = examples.drawings[k].amax(0) > 0.05
        return np.mean([
            bool(inked[max(int(y) - 1, 0) : int(y) + 2, max(int(x) - 1, 0) : int(x) + 2].any())
            for x, y in pixels.tolist() if 0 <= x < 64 and 0 <= y < 64
        ])  # fmt: skip

    fronts = [i for i, label in enumerate(labels) if label == "front"]
    target, unstretched = (np.mean([inked_share(k, m) for k in fronts])
                           for m in (prior.landmarks, own))  # fmt: skip
    assert target > 0.75 and target > unstretched + 0.2, (target, unstretched)  # 0.84, 0.46
    # The images are the target, not the background alone.
    assert (examples.images < 0.95).any(1).float().mean() > 0.1


def test_it_is_saved_in_sd15_layout_and_loads_through_the_products_loader(trained):
    folder, report = trained
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (folder / part).is_dir(), part
    assert (folder / SD15_CONTROLNET_SUBFOLDER / "config.json").is_file()
    models = DiffusionModels.from_sources(
        ModelSources(
            base_model=str(folder), landmark_controlnet=str(folder), back_view_embedding=str(folder)
        )  # fmt: skip
    )
    assert models.back_view_token == BACK_VIEW_TOKEN
    assert models.vae_scale_factor == 8 and models.image_size == 64
    assert report["check"]["labels"] and len(report["check"]["psnr"]) == 2
    # The sculpt's guidance on it at its own size: renders of any size are resized to 64²
    # and the drawings to the latents' 8² × 8 (the ControlNet refuses any other size).
    guidance = StableDiffusionGuidance(models, DESCRIPTION, SDSConfig(image_size=models.image_size))
    renders = torch.rand(2, 3, 48, 48, requires_grad=True)
    batch = GuidanceBatch(["front", "back"], landmark_images=torch.rand(2, 3, 512, 512))
    guided = guidance(renders, batch, generator=torch.Generator().manual_seed(0))
    guided.loss.backward()
    assert torch.isfinite(renders.grad).all() and renders.grad.abs().sum() > 0


def test_sampling_follows_the_drawing_only_where_the_controlnet_runs(trained):
    folder, _ = trained
    models = DiffusionModels.from_sources(
        ModelSources(base_model=str(folder), landmark_controlnet=str(folder))
    )
    drawings = torch.rand(2, 3, 64, 64)

    def sample(scale, controlled=None):
        return sample_images(models, ["a", "a"], drawings, controlled, steps=2,
                             conditioning_scale=scale,
                             generator=torch.Generator().manual_seed(0))  # fmt: skip

    both, neither = sample(1.0), sample(0.0)
    first_only = sample(1.0, torch.tensor([True, False]))
    assert both.shape == (2, 3, 64, 64)
    assert not torch.allclose(first_only[0], neither[0])
    assert torch.allclose(first_only[1], neither[1])
    assert torch.allclose(first_only[0], both[0])


def test_training_is_deterministic_for_a_seed(trainer, target_glb, tmp_path):
    from headsculpt.export.glb_reader import read_head_glb
    from headsculpt.guidance.teacher_training import train_teacher

    target = read_head_glb(target_glb)
    prior = trainer.prior(DESCRIPTION, 1, target)
    views = trainer.views(prior, 16, torch.Generator().manual_seed(0))
    examples = trainer.examples(prior, target, DESCRIPTION, views, 64,
                                torch.Generator().manual_seed(0))  # fmt: skip
    first, again = (train_teacher(examples, training=SHORT) for _ in range(2))
    other = train_teacher(examples, training=replace(SHORT, seed=1))
    weights = [dict(m.unet.state_dict()) for m in (first, again, other)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_the_guidance_image_size_is_the_models_own(tmp_path):
    folder = random_stable_diffusion("tiny", tmp_path / "sd")
    models = DiffusionModels.from_sources(ModelSources(base_model=str(folder)), need=())
    assert (models.vae_scale_factor, models.image_size) == (8, 64)
    # SD 1.5: a 64² UNet and a four-block VAE.
    architecture = TeacherArchitecture(image_size=128, vae_channels=(8, 8, 8, 8))
    assert architecture.vae_scale_factor == 8
    with pytest.raises(ValueError, match="image_size"):
        TeacherArchitecture(image_size=60)


def test_the_command_names_a_missing_target(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "headsculpt", "train-teacher", str(tmp_path / "none.glb"),
         "--description", "a man", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "target" in completed.stderr and "Traceback" not in completed.stderr
