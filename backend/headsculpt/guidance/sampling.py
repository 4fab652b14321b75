"""DDIM sampling through the models the guidance uses: what a teacher draws when asked.

Score distillation never samples; this is how a teacher is *checked* — a model that has
learned a head draws that head at a camera it was not shown, steered there by the
landmark drawing. Classifier-free guidance and the ControlNet are the guidance's own
(``sds.py``, ``score_distillation.py``): the same prompts, the same residuals.
"""

from __future__ import annotations

import torch

from headsculpt.guidance.prompts import PromptEncoder
from headsculpt.guidance.score_distillation import controlnet_residuals, resized_conditions


def sample_images(
    models,
    prompts: list[str],
    drawings: torch.Tensor | None = None,
    controlled: torch.Tensor | None = None,
    negative_prompts: list[str] | None = None,
    steps: int = 50,
    guidance_scale: float = 7.5,
    conditioning_scale: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(B, 3, S, S) images in [0, 1] at the models' own size, one per prompt.

    ``drawings`` (B, 3, H, W) in [0, 1] go to the landmark ControlNet for the rows where
    ``controlled`` is True (default: every row); ``conditioning_scale`` 0 leaves it out.
    ``generator`` draws the starting noise (on the models' device)."""
    count = len(prompts)
    negative_prompts = negative_prompts or [""] * count
    encode = PromptEncoder(models)
    embeddings = torch.cat([encode(prompts), encode(negative_prompts)])
    latent_size = models.image_size // models.vae_scale_factor
    channels = models.unet.config.in_channels
    shape = (count, channels, latent_size, latent_size)
    where = "cpu" if generator is None else generator.device
    latents = torch.randn(shape, generator=generator, device=where).to(models.device)
    scheduler = models.scheduler
    scheduler.set_timesteps(steps, device=models.device)
    latents = latents * scheduler.init_noise_sigma
    rows, condition = None, None
    use_controlnet = (
        drawings is not None and models.landmark_controlnet is not None and conditioning_scale
    )
    if use_controlnet:
        controlled = torch.ones(count, dtype=torch.bool) if controlled is None else controlled
        chosen = controlled.nonzero().flatten()
        rows = torch.cat([chosen, chosen + count]).to(models.device)  # both CFG halves
        size = (latent_size * models.vae_scale_factor,) * 2
        resized = resized_conditions(drawings, size)
        condition = torch.cat([resized, resized])[rows.cpu()].to(models.device, models.dtype)
    with torch.no_grad():
        for timestep in scheduler.timesteps:
            sample = torch.cat([latents, latents]).to(models.dtype)
            times = torch.full((2 * count,), int(timestep), device=models.device)
            residuals = {}
            if use_controlnet and len(rows):
                residuals = controlnet_residuals(
                    models.landmark_controlnet, sample, times, embeddings, rows, condition,
                    conditioning_scale,
                )  # fmt: skip
            prediction = models.unet(sample, times, encoder_hidden_states=embeddings,
                                     **residuals).sample.float()  # fmt: skip
            with_text, without = prediction.chunk(2)
            noise = without + guidance_scale * (with_text - without)
            latents = scheduler.step(noise, timestep, latents).prev_sample
        decoded = models.vae.decode((latents / models.vae.config.scaling_factor).to(models.dtype))
    return ((decoded.sample.float() + 1.0) / 2.0).clamp(0.0, 1.0)
