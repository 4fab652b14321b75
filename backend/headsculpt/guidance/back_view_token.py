"""The ``<back-view>`` token: load it into the text encoder, or learn it.

HeadSculpt learns one textual-inversion embedding from images of the backs of
heads and adds it to back-view prompts, so that score distillation does not
paint a face where the hair should be. The file format is diffusers' textual
inversion one: a ``.safetensors`` (or ``.bin``) holding ``{token: vector}``.
Learning follows diffusers' textual-inversion recipe: a new token initialised
from the word "back", every weight frozen except that token's embedding row,
trained with the ordinary denoising loss on the images.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional

from headsculpt.guidance.prompts import token_ids
from headsculpt.guidance.score_distillation import encode_images
from headsculpt.guidance.sources import MissingWeightsError, source_kind
from headsculpt.progress import ProgressCallback, no_progress

BACK_VIEW_TOKEN = "<back-view>"
EMBEDDING_FILE = "learned_embeds.safetensors"
TEMPLATES = (
    "a photo of the {} of a head",
    "a rendering of the {} of a person's head",
    "the {} of a head",
    "a close-up photo of the {} of a head",
    "a 3D render of the {} of a human head",
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def load_back_view_embedding(models, source: str, allow_download: bool = False) -> str:
    """Add the token in ``source`` to the models' tokenizer and text encoder; returns it."""
    if not source:
        raise MissingWeightsError("back_view_embedding", "not set")
    kind = source_kind(source)
    path = Path(os.path.expanduser(source))
    if kind == "folder":
        path = path / EMBEDDING_FILE
    elif kind == "hub":
        from huggingface_hub import hf_hub_download

        try:
            path = Path(
                hf_hub_download(source, EMBEDDING_FILE, local_files_only=not allow_download)
            )
        except Exception as error:  # noqa: BLE001 — the hub raises many kinds
            raise MissingWeightsError("back_view_embedding", f"{source!r}: {error}") from None
    if not path.is_file():
        raise MissingWeightsError("back_view_embedding", f"no embedding file at {str(path)!r}")
    vectors = _read_embedding(path)
    if len(vectors) != 1:
        raise MissingWeightsError(
            "back_view_embedding", f"{path} holds {len(vectors)} tokens, expected one"
        )
    ((token, vector),) = vectors.items()
    add_token(models, token, vector)
    return token


def _read_embedding(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        data = load_file(str(path))
    else:
        data = torch.load(path, map_location="cpu", weights_only=True)
    if "string_to_param" in data:  # the original textual-inversion format
        data = {data["name"]: next(iter(data["string_to_param"].values()))}
    return {token: vector.reshape(-1) for token, vector in data.items()}


def add_token(models, token: str, vector: torch.Tensor) -> None:
    """Give ``token`` the embedding ``vector`` (adding it to the vocabulary if new)."""
    embeddings = models.text_encoder.get_input_embeddings()
    if vector.numel() != embeddings.weight.shape[1]:
        raise MissingWeightsError(
            "back_view_embedding",
            f"its vector has {vector.numel()} values but this text encoder's embeddings have "
            f"{embeddings.weight.shape[1]} (trained for another Stable Diffusion version?)",
        )
    models.tokenizer.add_tokens([token])
    models.text_encoder.resize_token_embeddings(len(models.tokenizer))
    index = models.tokenizer.convert_tokens_to_ids(token)
    with torch.no_grad():
        weight = models.text_encoder.get_input_embeddings().weight
        weight[index] = vector.to(weight.device, weight.dtype)


@dataclass(frozen=True)
class TokenTraining:
    """Settings of ``headsculpt train-back-token`` (diffusers' textual-inversion defaults)."""

    steps: int = 1000
    learning_rate: float = 5e-4
    batch_size: int = 1
    resolution: int = 512
    token: str = BACK_VIEW_TOKEN
    init_word: str = "back"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("steps, batch_size and learning_rate must be positive")
        if self.resolution % 8:
            raise ValueError(f"resolution must be a multiple of 8, got {self.resolution}")


def image_files(folder: Path) -> list[Path]:
    """The images in ``folder`` (not recursive), sorted; an error when there are none."""
    if not folder.is_dir():
        raise ValueError(f"--images: {folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"--images: no {'/'.join(IMAGE_SUFFIXES)} files in {folder}")
    return files


def train_back_view_token(
    models,
    images: Sequence[Image.Image],
    settings: TokenTraining | None = None,
    progress: ProgressCallback = no_progress,
) -> tuple[torch.Tensor, list[float]]:
    """Learn the token's embedding from ``images``; returns it and the loss per step."""
    settings = settings or TokenTraining()
    generator = torch.Generator().manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    tokenizer, encoder = models.tokenizer, models.text_encoder
    init_ids = tokenizer.encode(settings.init_word, add_special_tokens=False)
    if not init_ids:
        raise ValueError(f"the init word {settings.init_word!r} has no tokens")
    embeddings = encoder.get_input_embeddings().weight.detach()
    # A word of several tokens starts from their mean.
    add_token(models, settings.token, embeddings[init_ids].float().mean(0).cpu())
    token_id = tokenizer.convert_tokens_to_ids(settings.token)
    weight = encoder.get_input_embeddings().weight
    original = weight.detach().clone()
    weight.requires_grad_(True)
    optimizer = torch.optim.AdamW([weight], lr=settings.learning_rate, weight_decay=0.0)
    latents_of = _latent_cache(models, images, settings.resolution)
    alphas_steps = models.scheduler.config.num_train_timesteps
    keep = torch.ones(len(weight), dtype=torch.bool, device=weight.device)
    keep[token_id] = False
    losses = []
    try:
        for step in range(settings.steps):
            chosen = [rng.randrange(len(images)) for _ in range(settings.batch_size)]
            latents = torch.cat([latents_of[i] for i in chosen])
            noise = torch.randn(latents.shape, generator=generator).to(latents.device)
            steps = torch.randint(0, alphas_steps, (len(chosen),), generator=generator)
            noisy = models.scheduler.add_noise(latents, noise, steps).to(models.dtype)
            prompts = [rng.choice(TEMPLATES).format(settings.token) for _ in chosen]
            ids = token_ids(tokenizer, prompts)
            hidden = encoder(ids.to(weight.device))[0].to(models.dtype)
            predicted = models.unet(noisy, steps.to(models.device), hidden).sample
            loss = functional.mse_loss(predicted.float(), noise.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():  # only the new token's row may move
                weight[keep] = original[keep]
            losses.append(float(loss))
            progress("train", (step + 1) / settings.steps)
    finally:
        weight.requires_grad_(False)
    return weight[token_id].detach().float().cpu().clone(), losses


def _latent_cache(models, images: Sequence[Image.Image], resolution: int) -> list[torch.Tensor]:
    """Each image centre-cropped, resized and encoded once (the VAE is frozen)."""
    cached = []
    for image in images:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize(
            (resolution, resolution), Image.BICUBIC
        )
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
        with torch.no_grad():
            cached.append(encode_images(models, pixels.permute(2, 0, 1)[None]))
    return cached


def save_embedding(path: Path, token: str, vector: torch.Tensor) -> None:
    """Write ``{token: vector}`` as diffusers' textual-inversion safetensors file."""
    from safetensors.torch import save

    from headsculpt.files import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, save({token: vector.contiguous()}))
