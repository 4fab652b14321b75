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

:class:`ReferenceEditGuidance` is the same stand-in for IESD (``guidance/iesd.py``):
two known answers — the edited head B (``target_images``) and the unedited one A
(``identity_images``) — give ε̂_edit and ε̂_identity, blended by IESD's own code,
``w_e · ε̂_edit + (1 − w_e) · ε̂_identity``. Since ε̂ is affine in x̂₀, the blend pulls
the render toward ``w_e · B + (1 − w_e) · A``: an edit with a known answer at every
edit scale.
"""

from __future__ import annotations

import torch
from torch.nn import functional

from headsculpt.guidance.iesd import EditGuidance, EditPredictions, IESDConfig
from headsculpt.guidance.score_distillation import (
    DistillationConfig,
    GuidanceBatch,
    GuidanceOutput,
    distillation_loss,
    sample_timesteps,
    standard_noise,
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
        self.check(batch)
        count = renders.shape[0]
        timesteps = sample_timesteps(self.config.timesteps, step, count, _TRAIN_STEPS, generator)
        alphas = self.alphas_at(timesteps, renders.device)
        x0 = renders.detach().float()
        noise = standard_noise(x0.shape, generator, renders.device)
        noisy = alphas.sqrt() * x0 + (1.0 - alphas).sqrt() * noise
        predicted = self.predict_noise(noisy, timesteps, batch)
        w = weight(self.config.weighting, alphas)
        loss, grad_norm = distillation_loss(renders, w * (predicted - noise), self.config.grad_clip)
        return GuidanceOutput(loss=loss, timesteps=timesteps, grad_norm=grad_norm)

    def check(self, batch: GuidanceBatch) -> None:
        """Fail before any random draw when the batch lacks an answer."""
        if batch.target_images is None:
            raise ValueError("the reference teacher needs target_images in the batch")

    def predict_noise(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, batch: GuidanceBatch
    ) -> torch.Tensor:
        return self.noise_toward(batch.target_images, noisy, timesteps)

    def noise_toward(
        self, answer: torch.Tensor, noisy: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        """The ε̂ whose denoised image x̂₀ is ``answer`` (resized to the renders)."""
        answer = answer.to(noisy.device, torch.float32)
        if answer.shape[-2:] != noisy.shape[-2:]:
            answer = functional.interpolate(
                answer, noisy.shape[-2:], mode="bilinear", align_corners=False
            )
        if answer.shape[1] != noisy.shape[1]:
            raise ValueError(f"targets have {answer.shape[1]} channels, renders {noisy.shape[1]}")
        alphas = self.alphas_at(timesteps, noisy.device)
        return (noisy - alphas.sqrt() * answer) / (1.0 - alphas).sqrt()

    def alphas_at(self, timesteps: torch.Tensor, device: torch.device) -> torch.Tensor:
        """ᾱ_t (B, 1, 1, 1) on ``device`` for timesteps on any device."""
        if self.alphas_cumprod.device != timesteps.device:
            self.alphas_cumprod = self.alphas_cumprod.to(timesteps.device)
        return self.alphas_cumprod[timesteps].to(device).view(-1, 1, 1, 1)


class ReferenceEditGuidance(ReferenceGuidance):
    """IESD with known answers: B (``target_images``) for the instruction, A
    (``identity_images``) for the original description, blended by ``config.edit_scale``."""

    config: IESDConfig

    def __init__(self, config: IESDConfig | None = None) -> None:
        super().__init__(config or IESDConfig())

    def check(self, batch: GuidanceBatch) -> None:
        super().check(batch)
        if batch.identity_images is None:
            raise ValueError("the reference edit teacher needs identity_images (the unedited A)")

    def predictions(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, batch: GuidanceBatch
    ) -> EditPredictions:
        """ε̂ toward B and toward A, as ReferenceGuidance predicts each."""
        return EditPredictions(
            edit=self.noise_toward(batch.target_images, noisy, timesteps),
            identity=self.noise_toward(batch.identity_images, noisy, timesteps),
        )

    # IESD's blend, the very code EditGuidance runs on its two UNet predictions.
    predict_noise = EditGuidance.predict_noise
