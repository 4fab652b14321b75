"""Score-distillation guidance on tiny random models built here (no downloads)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from ldm_checkpoint import write_ldm_checkpoint
from PIL import Image
from safetensors.torch import save_file

from headsculpt.guidance.back_view_token import (
    BACK_VIEW_TOKEN,
    TokenTraining,
    load_back_view_embedding,
    train_back_view_token,
)
from headsculpt.guidance.iesd import EditGuidance, IESDConfig
from headsculpt.guidance.models import (
    SD15_CONTROLNET_SUBFOLDER,
    DiffusionModels,
    MissingWeightsError,
    ModelSources,
)
from headsculpt.guidance.prompts import (
    BACK_VIEW_NEGATIVE,
    ViewPrompts,
    token_ids,
    view_prompt,
)
from headsculpt.guidance.random_models import (
    character_tokenizer,
    random_controlnet,
    random_stable_diffusion,
)
from headsculpt.guidance.reference import ReferenceGuidance
from headsculpt.guidance.score_distillation import (
    DistillationConfig,
    GuidanceBatch,
    TimestepSchedule,
    resized_conditions,
    sample_timesteps,
    weight,
)
from headsculpt.guidance.sds import SDSConfig, StableDiffusionGuidance

SIZE = 64  # image size: latents are 8 × 8


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A tiny SD folder, the landmark ControlNet in CrucibleAI's layout, an IP2P ControlNet."""
    root = tmp_path_factory.mktemp("models")
    base = random_stable_diffusion("tiny", root / "sd")
    random_controlnet(base, root / "mediapipe_face" / SD15_CONTROLNET_SUBFOLDER, seed=1)
    random_controlnet(base, root / "ip2p", seed=2)
    return {"base": base, "landmark": root / "mediapipe_face", "edit": root / "ip2p", "root": root}


@pytest.fixture(scope="module")
def models(folders) -> DiffusionModels:
    sources = ModelSources(
        base_model=str(folders["base"]),
        landmark_controlnet=str(folders["landmark"]),
        edit_controlnet=str(folders["edit"]),
    )
    return DiffusionModels.from_sources(sources, device="cpu")


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


# --- Loading --------------------------------------------------------------------------


def test_folder_loading_gives_fp32_cpu_models_frozen(models):
    assert models.dtype == torch.float32 and models.device.type == "cpu"
    assert models.sd_version == "1.x"
    assert not any(p.requires_grad for p in models.unet.parameters())
    assert models.landmark_controlnet is not None and models.edit_controlnet is not None
    assert not models.memory.cpu_offload  # memory savers are for small GPUs only


def test_single_file_checkpoint_loads_the_same_weights(folders, models, tmp_path):
    checkpoint = write_ldm_checkpoint(folders["base"], tmp_path / "tiny-sd.safetensors")
    sources = ModelSources(base_model=str(checkpoint), base_model_config=str(folders["base"]))
    loaded = DiffusionModels.from_sources(sources, device="cpu", need=())
    assert _same_weights(loaded.unet, models.unet)
    assert _same_weights(loaded.vae, models.vae)
    assert _same_weights(loaded.text_encoder, models.text_encoder)


def test_single_file_controlnet_takes_its_shape_from_the_unet(folders, models, tmp_path):
    single = tmp_path / "control_mediapipe_face.safetensors"
    save_file(_state(models.landmark_controlnet), str(single))
    sources = ModelSources(base_model=str(folders["base"]), landmark_controlnet=str(single))
    loaded = DiffusionModels.from_sources(sources, device="cpu")
    assert _same_weights(loaded.landmark_controlnet, models.landmark_controlnet)


def test_sd15_landmark_controlnet_comes_from_its_subfolder(folders, models):
    # The fixture put the weights only in diffusion_sd15/, as CrucibleAI's repository does.
    assert not (folders["landmark"] / "config.json").exists()
    assert models.landmark_controlnet.config.cross_attention_dim == 32


@pytest.mark.parametrize(
    ("sources", "slot"),
    [
        (ModelSources(), "base_model"),
        (ModelSources(base_model="/nowhere/sd-v1-5.safetensors"), "base_model"),
        (ModelSources(base_model="someone/not-cached-anywhere"), "base_model"),
    ],
)
def test_missing_weights_say_what_to_set(sources, slot):
    with pytest.raises(MissingWeightsError) as error:
        DiffusionModels.from_sources(sources, device="cpu", need=())
    message = str(error.value)
    assert message.startswith(slot) and error.value.slot == slot
    # Guidance names the slot; where to set it is the caller's to say (CLI option, request).
    assert "--" not in message and "preferences" not in message


def test_a_needed_controlnet_that_is_not_set_is_named(folders):
    with pytest.raises(MissingWeightsError, match="^landmark_controlnet"):
        DiffusionModels.from_sources(ModelSources(base_model=str(folders["base"])), device="cpu")


# --- SDS ------------------------------------------------------------------------------


def _noisy(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, 4, 8, 8, generator=generator), torch.tensor([500] * count)


def _drawings(count: int) -> torch.Tensor:
    return torch.rand(count, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(5))


def test_cfg_matches_direct_unet_and_controlnet_calls(models):
    guidance = StableDiffusionGuidance(models, "an old fisherman", SDSConfig(image_size=SIZE))
    noisy, steps = _noisy(2)
    batch = GuidanceBatch(["front", "back"], landmark_images=_drawings(2))
    with torch.no_grad():
        predicted = guidance.predict_noise(noisy, steps, batch)
        prompts = guidance.encode_prompts(guidance.prompts(batch.labels))
        # No back-view token in these models: the back view pushes away from a face.
        empty = guidance.encode_prompts(["", BACK_VIEW_NEGATIVE])
        condition = torch.nn.functional.interpolate(batch.landmark_images, (64, 64))
        expected = []
        for row, label in enumerate(batch.labels):
            halves = []
            for embedding in (prompts[row : row + 1], empty[row : row + 1]):
                extra = {}
                if label != "back":
                    down, mid = models.landmark_controlnet(
                        noisy[row : row + 1], steps[row : row + 1], embedding,
                        controlnet_cond=condition[row : row + 1], return_dict=False,
                    )  # fmt: skip
                    extra = dict(
                        down_block_additional_residuals=down, mid_block_additional_residual=mid
                    )
                halves.append(
                    models.unet(
                        noisy[row : row + 1], steps[row : row + 1], embedding, **extra
                    ).sample
                )
            with_text, without = halves
            expected.append(without + 100.0 * (with_text - without))
    assert torch.allclose(predicted, torch.cat(expected), atol=1e-4, rtol=1e-4)


def test_back_views_get_no_controlnet_and_carry_the_token(models):
    guidance = StableDiffusionGuidance(models, "a man", SDSConfig(image_size=SIZE))
    noisy, steps = _noisy(1)
    drawing = _drawings(1)
    with torch.no_grad():
        back = guidance.predict_noise(noisy, steps, GuidanceBatch(["back"], drawing))
        back_blind = guidance.predict_noise(noisy, steps, GuidanceBatch(["back"]))
        front = guidance.predict_noise(noisy, steps, GuidanceBatch(["front"], drawing))
        front_blind = guidance.predict_noise(noisy, steps, GuidanceBatch(["front"]))
    assert torch.equal(back, back_blind)  # the drawing changed nothing on a back view
    assert not torch.allclose(front, front_blind)  # and does on a front view
    token_models = dataclasses.replace(models, back_view_token=BACK_VIEW_TOKEN)
    prompts = StableDiffusionGuidance(token_models, "a man").prompts(["back", "side"])
    assert prompts == [f"a man, {BACK_VIEW_TOKEN} back view of head", "a man, side view of head"]


def test_back_views_push_away_from_a_face_unless_a_token_says_what_is_there(models):
    guidance = StableDiffusionGuidance(models, "a man", SDSConfig(negative_prompt="blurry"))
    labels = ["front", "side", "back"]
    assert guidance.negative_prompts(labels) == [
        "blurry",
        "blurry",
        f"blurry, {BACK_VIEW_NEGATIVE}",
    ]
    assert guidance.describe()["back_view"] == "negative prompt"
    token_models = dataclasses.replace(models, back_view_token=BACK_VIEW_TOKEN)
    with_token = StableDiffusionGuidance(token_models, "a man", SDSConfig(negative_prompt="blurry"))
    assert with_token.negative_prompts(labels) == ["blurry"] * 3
    off = StableDiffusionGuidance(models, "a man", SDSConfig(back_view_negative=False))
    assert off.negative_prompts(labels) == [""] * 3


def test_a_long_description_keeps_its_view_phrase_and_token_in_what_clip_sees():
    """CLIP reads 77 tokens; appended after a long description, the view phrase and the
    back-view token were cut off. The description is shortened instead, and says so."""
    tokenizer = character_tokenizer()  # one token per character: 75 fit
    tokenizer.add_tokens([BACK_VIEW_TOKEN])
    text = " ".join(f"w{k}" for k in range(120))  # 120 words
    room = tokenizer.model_max_length - 2
    assert len(tokenizer.tokenize(view_prompt(text, "back", BACK_VIEW_TOKEN))) > room  # cut before
    fitted = ViewPrompts.fit(tokenizer, text, BACK_VIEW_TOKEN)
    for label in ("front", "side", "back", "overhead"):
        prompt = fitted(label)
        assert prompt.endswith(f"{label} view of head") and len(tokenizer.tokenize(prompt)) <= room
        ids = token_ids(tokenizer, [prompt])[0].tolist()
        if label == "back":  # the token itself is among the ids the encoder sees
            assert tokenizer.convert_tokens_to_ids(BACK_VIEW_TOKEN) in ids
    assert fitted.description.startswith("w0 w1") and fitted.dropped.endswith("w118 w119")
    assert f"{fitted.description} {fitted.dropped}" == text
    short = ViewPrompts.fit(tokenizer, "a man", BACK_VIEW_TOKEN)
    assert short.description == "a man" and short.dropped == ""


def test_gradients_reach_the_renders_and_nothing_else(models):
    guidance = StableDiffusionGuidance(models, "a woman", SDSConfig(image_size=SIZE))
    renders = torch.rand(2, 3, 48, 48, requires_grad=True)
    batch = GuidanceBatch(["front", "side"], landmark_images=_drawings(2))
    output = guidance(renders, batch, step=0, generator=torch.Generator().manual_seed(1))
    output.loss.backward()
    assert renders.grad is not None and torch.isfinite(renders.grad).all()
    assert renders.grad.abs().sum() > 0
    for module in (models.unet, models.vae, models.text_encoder, models.landmark_controlnet):
        assert all(p.grad is None for p in module.parameters())
    latents = torch.randn(2, 4, 8, 8, requires_grad=True)
    guidance(latents, batch, as_latents=True).loss.backward()  # the coarse stage's input
    assert latents.grad is not None and latents.grad.abs().sum() > 0


def test_score_is_weighted_clipped_and_scaled_by_batch(models):
    config = SDSConfig(image_size=SIZE, grad_clip=0.01, weighting="uniform")
    guidance = StableDiffusionGuidance(models, "a man", config)
    latents = torch.randn(2, 4, 8, 8, requires_grad=True)
    guidance(latents, GuidanceBatch(["side", "back"]), as_latents=True).loss.backward()
    assert latents.grad.abs().max() <= 0.01 / 2 + 1e-7  # clipped score / batch size


def test_timestep_schedule_anneals_and_weights():
    schedule = TimestepSchedule(start=(0.02, 0.98), end=(0.02, 0.50), anneal_steps=100)
    assert schedule.range(0) == (0.02, 0.98)
    assert schedule.range(50) == pytest.approx((0.02, 0.74))
    assert schedule.range(500) == pytest.approx((0.02, 0.50))
    late = sample_timesteps(schedule, 200, 500, 1000, torch.Generator().manual_seed(0))
    assert late.min() >= 20 and late.max() <= 500
    alphas = torch.tensor([0.9, 0.1])
    assert torch.allclose(weight("sds", alphas), torch.tensor([0.1, 0.9]))
    assert torch.equal(weight("uniform", alphas), torch.ones(2))
    with pytest.raises(ValueError, match="weighting"):
        DistillationConfig(weighting="snr")


# --- IESD -----------------------------------------------------------------------------


def test_iesd_blends_edit_and_identity_as_defined(models):
    noisy, steps = _noisy(2, seed=3)
    batch = GuidanceBatch(
        ["side", "back"], landmark_images=_drawings(2), source_images=torch.rand(2, 3, SIZE, SIZE)
    )
    results = {}
    for scale in (0.0, 0.3, 1.0):
        guidance = EditGuidance(
            models, "an old man", "give him a scar", IESDConfig(image_size=SIZE, edit_scale=scale)
        )
        with torch.no_grad():
            results[scale] = guidance.predict_noise(noisy, steps, batch)
            both = guidance.predictions(noisy, steps, batch)
    assert torch.allclose(results[0.0], both.identity, atol=1e-5)
    assert torch.allclose(results[1.0], both.edit, atol=1e-5)
    assert torch.allclose(results[0.3], 0.3 * both.edit + 0.7 * both.identity, atol=1e-4)
    assert not torch.allclose(both.edit, both.identity)


def test_iesd_predictions_match_direct_calls(models):
    """The back view (no landmark ControlNet): ε̂ from four direct UNet calls."""
    config = IESDConfig(image_size=SIZE, guidance_scale=7.5, image_guidance_scale=1.5)
    guidance = EditGuidance(models, "an old man", "make him bald", config)
    noisy, steps = _noisy(1, seed=4)
    source = torch.rand(1, 3, SIZE, SIZE)
    with torch.no_grad():
        both = guidance.predictions(noisy, steps, GuidanceBatch(["back"], source_images=source))
        encode = guidance.encode_prompts
        empty = encode([""])
        edit = encode(["make him bald, back view of head"])  # the fixture has no token
        identity = encode(["an old man, back view of head"])

        def unet(embedding, with_image: bool) -> torch.Tensor:
            extra = {}
            if with_image:
                down, mid = models.edit_controlnet(
                    noisy, steps, embedding, controlnet_cond=source, return_dict=False
                )
                extra = dict(
                    down_block_additional_residuals=down, mid_block_additional_residual=mid
                )
            return models.unet(noisy, steps, embedding, **extra).sample

        plain, image = unet(empty, False), unet(empty, True)
        base = plain + 1.5 * (image - plain)
        expected_edit = base + 7.5 * (unet(edit, True) - image)
        expected_identity = base + 7.5 * (unet(identity, True) - image)
    assert torch.allclose(both.edit, expected_edit, atol=1e-4, rtol=1e-4)
    assert torch.allclose(both.identity, expected_identity, atol=1e-4, rtol=1e-4)


def test_iesd_needs_the_unedited_renders(models):
    guidance = EditGuidance(models, "a man", "add a beard", IESDConfig(image_size=SIZE))
    with pytest.raises(ValueError, match="source_images"):
        guidance(torch.rand(1, 3, SIZE, SIZE), GuidanceBatch(["front"]))


# --- Reference teacher ----------------------------------------------------------------


def test_reference_teacher_turns_distillation_into_reconstruction():
    target = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    image = torch.zeros(2, 3, 16, 16, requires_grad=True)
    teacher = ReferenceGuidance()
    optimizer = torch.optim.Adam([image], lr=0.05)
    batch = GuidanceBatch(["front", "back"], target_images=target)
    start = (image - target).abs().mean().item()
    generator = torch.Generator().manual_seed(1)
    for step in range(200):
        optimizer.zero_grad()
        teacher(image, batch, step, generator=generator).loss.backward()
        optimizer.step()
    assert (image - target).abs().mean().item() < 0.05 * start
    with pytest.raises(ValueError, match="target_images"):
        teacher(image, GuidanceBatch(["front", "back"]))


# --- The back-view token --------------------------------------------------------------


def test_back_view_embedding_loads_into_the_tokenizer(folders, tmp_path):
    sources = ModelSources(base_model=str(folders["base"]))
    fresh = DiffusionModels.from_sources(sources, device="cpu", need=())
    vector = torch.randn(32)
    path = tmp_path / "learned_embeds.safetensors"
    save_file({"<back-view>": vector}, str(path))
    token = load_back_view_embedding(fresh, str(tmp_path))  # a folder holding the file
    assert token == "<back-view>"
    index = fresh.tokenizer.convert_tokens_to_ids(token)
    ids = fresh.tokenizer("<back-view> back view").input_ids
    assert index in ids
    assert torch.equal(fresh.text_encoder.get_input_embeddings().weight[index], vector)
    save_file({"<back-view>": torch.randn(768)}, str(tmp_path / "sd15.safetensors"))
    with pytest.raises(MissingWeightsError, match="768 values"):
        load_back_view_embedding(fresh, str(tmp_path / "sd15.safetensors"))


def _back_images(count: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 255, (80, 96, 3), dtype=np.uint8)) for _ in range(count)
    ]


def test_token_training_moves_only_the_token(folders):
    sources = ModelSources(base_model=str(folders["base"]))
    fresh = DiffusionModels.from_sources(sources, device="cpu", need=())
    before = fresh.text_encoder.get_input_embeddings().weight.detach().clone()
    settings = TokenTraining(steps=4, resolution=SIZE, learning_rate=1e-2)
    vector, losses = train_back_view_token(fresh, _back_images(2), settings)
    after = fresh.text_encoder.get_input_embeddings().weight
    index = fresh.tokenizer.convert_tokens_to_ids(settings.token)
    assert index == len(before) and len(after) == len(before) + 1  # one new token
    assert torch.equal(after[: len(before)], before)  # every other embedding kept
    assert torch.equal(after[index], vector)
    start = before[fresh.tokenizer.encode("back", add_special_tokens=False)].mean(0)
    assert not torch.allclose(vector, start)  # it learned, starting from "back"
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert all(p.grad is None for p in fresh.unet.parameters())


def test_train_back_token_command(folders, tmp_path):
    images = tmp_path / "backs"
    images.mkdir()
    for k, image in enumerate(_back_images(2)):
        image.save(images / f"back_{k}.png")
    out = tmp_path / "back_view.safetensors"
    command = [sys.executable, "-m", "headsculpt", "train-back-token", "--images", str(images),
               "--base-model", str(folders["base"]), "--steps", "2", "--resolution", str(SIZE),
               "--out", str(out)]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    sources = ModelSources(base_model=str(folders["base"]), back_view_embedding=str(out))
    loaded = DiffusionModels.from_sources(sources, device="cpu", need=())
    assert loaded.back_view_token == BACK_VIEW_TOKEN
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = subprocess.run(
        [*command[:5], str(empty), *command[6:]], capture_output=True, text=True, check=False
    )
    assert failed.returncode == 2 and "--images" in failed.stderr
    shutil.rmtree(images)


def test_a_shrunk_landmark_drawing_keeps_every_stroke():
    """A teacher smaller than the drawer's 512² sees the drawing shrunk: a one-pixel stroke
    stays a stroke (bilinear sampling from 512² to 64² reads two columns in eight: these
    strokes vanished)."""
    drawing = torch.zeros(1, 3, 512, 512)
    drawing[0, 1, 100:400, 1::8] = 1.0  # one-pixel vertical strokes, green as the face oval
    shrunk = resized_conditions(drawing, (64, 64))
    assert shrunk.shape == (1, 3, 64, 64)
    assert shrunk[0, 1, 13:50].amin() == 1.0  # every output pixel under the strokes is inked
    assert shrunk[0, 0].abs().max() == 0.0  # no colour added
    # Enlarged (a drawing smaller than the models' size) it is interpolated, not blocky.
    assert resized_conditions(torch.rand(1, 3, 32, 32), (64, 64)).shape == (1, 3, 64, 64)
