"""Stable Diffusion and ControlNet architectures with random weights.

For tests and benchmarks, which may not download anything: "tiny" is a
two-block UNet, VAE and CLIP text encoder small enough for a CPU test, with a
character-level CLIP tokenizer written in code; "sd15" is the real SD 1.5
architecture (UNet, VAE, ViT-L/14 text encoder) for timing. Written to disk
with ``save_pretrained`` they load through the same paths as real weights.
"""

from __future__ import annotations

from pathlib import Path

import torch

ARCHITECTURES = ("tiny", "sd15")


def _unet_config(architecture: str) -> dict:
    if architecture == "sd15":
        return dict(
            sample_size=64,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            layers_per_block=2,
            cross_attention_dim=768,
            attention_head_dim=8,
        )
    return dict(
        sample_size=8,  # × the VAE's 8: 64² images
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1,
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=8,
    )


def _vae_config(architecture: str) -> dict:
    if architecture == "sd15":
        return dict(
            block_out_channels=(128, 256, 512, 512),
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            layers_per_block=2,
            latent_channels=4,
            sample_size=512,
        )
    return dict(  # four blocks, so latents are 1/8 of the image as in SD
        block_out_channels=(8, 8, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )


def _text_config(architecture: str, vocab_size: int):
    from transformers import CLIPTextConfig

    size = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12) if architecture == "sd15" else dict(
                hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4)  # fmt: skip
    # The tokenizer's last two entries are its start and end tokens.
    return CLIPTextConfig(vocab_size=vocab_size, max_position_embeddings=77,
                          hidden_act="quick_gelu", bos_token_id=vocab_size - 2,
                          eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1,
                          **size)  # fmt: skip


def character_tokenizer():
    """A CLIP BPE tokenizer with one token per character (no merges)."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    characters = sorted(ByteLevel.alphabet())
    tokens = characters + [c + "</w>" for c in characters] + ["<|startoftext|>", "<|endoftext|>"]
    tokenizer = CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=[])
    tokenizer.model_max_length = 77
    return tokenizer


def random_stable_diffusion(architecture: str, folder: Path, seed: int = 0) -> Path:
    """Write a diffusers Stable Diffusion folder with random weights; returns it."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    torch.manual_seed(seed)
    tokenizer = character_tokenizer()
    pipeline = StableDiffusionPipeline(
        vae=AutoencoderKL(**_vae_config(architecture)),
        text_encoder=CLIPTextModel(_text_config(architecture, len(tokenizer))),
        tokenizer=tokenizer,
        unet=UNet2DConditionModel(**_unet_config(architecture)),
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                clip_sample=False, set_alpha_to_one=False),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )  # fmt: skip
    pipeline.save_pretrained(folder)
    return folder


def random_controlnet(base_folder: Path, folder: Path, seed: int = 1) -> Path:
    """Write a ControlNet with random weights shaped for the UNet in ``base_folder``."""
    from diffusers import ControlNetModel, UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(base_folder, subfolder="unet")
    controlnet = ControlNetModel.from_unet(unet, load_weights_from_unet=False)
    # Fresh ControlNets start with zeroed output convolutions (no effect); make them
    # random so a test can tell whether their residuals are used.
    with torch.no_grad():
        for parameter in controlnet.parameters():
            if not parameter.abs().sum():
                parameter.normal_(0.0, 0.02)
    controlnet.save_pretrained(folder)
    return folder
