"""The reference teacher: a guidance whose "denoiser" already knows the answer.

It has the call of every score-distillation guidance, but instead of asking a
diffusion model what the noisy render should have been, it says: the target
image (a render of a reference mesh at the same camera, given in the batch).
With x̂₀ = target, the predicted noise is ε̂ = (x_t − √ᾱ·target) / √(1 − ᾱ), so
the usual score w(t)·(ε̂ − ε) becomes w(t)·√ᾱ/√(1 − ᾱ)·(render − target): the
noise cancels, leaving a pull toward the target weighted by the sampled
timestep. Any 3D pipeline driven by it becomes a reconstruction problem with a
known answer — for tests and benchmarks, with no weights at all. It works in
pixel space (or on latents, against latents).
"""

from __future__ import annotations

import torch
from torch.nn import functional

from headsculpt.guidance.score_distillation import (
    DistillationConfig,
    GuidanceBatch,
    GuidanceOutput,
    distillation_loss,
    sample_timesteps,
    weight,
)

_TRAIN_STEPS = 1000


def stable_diffusion_alphas() -> torch.Tensor:
    """ᾱ_t of Stable Diffusion's training schedule (scaled linear betas 0.00085–0.012)."""
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, _TRAIN_STEPS, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0).float()


class ReferenceGuidance:
    """Score distillation toward ``batch.target_images`` (same call as the others)."""

    def __init__(self, config: DistillationConfig | None = None) -> None:
        self.config = config or DistillationConfig()
        self.alphas_cumprod = stable_diffusion_alphas()

    def __call__(
        self,
        renders: torch.Tensor,
        batch: GuidanceBatch,
        step: int = 0,
        as_latents: bool = False,
        generator: torch.Generator | None = None,
    ) -> GuidanceOutput:
        if batch.target_images is None:
            raise ValueError("the reference teacher needs target_images in the batch")
        target = batch.target_images.to(renders.device, torch.float32)
        if target.shape[-2:] != renders.shape[-2:]:
            target = functional.interpolate(
                target, renders.shape[-2:], mode="bilinear", align_corners=False
            )
        if target.shape[1] != renders.shape[1]:
            raise ValueError(f"targets have {target.shape[1]} channels, renders {renders.shape[1]}")
        count = renders.shape[0]
        timesteps = sample_timesteps(self.config.timesteps, step, count, _TRAIN_STEPS, generator)
        alphas = self.alphas_cumprod[timesteps].to(renders.device).view(-1, 1, 1, 1)
        x0 = renders.detach().float()
        noise = torch.randn(x0.shape, generator=generator).to(renders.device)
        noisy = alphas.sqrt() * x0 + (1.0 - alphas).sqrt() * noise
        predicted = (noisy - alphas.sqrt() * target) / (1.0 - alphas).sqrt()
        w = weight(self.config.weighting, alphas)
        loss, grad_norm = distillation_loss(renders, w * (predicted - noise), self.config.grad_clip)
        return GuidanceOutput(loss=loss, timesteps=timesteps, grad_norm=grad_norm)
