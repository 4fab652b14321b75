"""HeadSculpt's guidance: Stable Diffusion SDS with the landmark ControlNet.

For each render: its view prompt ("…, side view of head"), classifier-free
guidance (scale 100 by default, as in the paper) computed with one batched UNet
call over the conditional and unconditional halves, and the landmark ControlNet
fed the view's landmark drawing — except for back views, which get no
ControlNet residuals and carry the ``<back-view>`` token instead. No gradient
flows through the UNet or the ControlNet; only the renders receive one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from headsculpt.guidance.prompts import PromptEncoder, ViewPrompts, back_view_negative
from headsculpt.guidance.score_distillation import (
    DistillationConfig,
    GuidanceBatch,
    ScoreDistillation,
)


@dataclass(frozen=True)
class SDSConfig(DistillationConfig):
    guidance_scale: float = 100.0
    conditioning_scale: float = 1.0  # the landmark ControlNet's residuals are scaled by this
    negative_prompt: str = ""
    # Back views' negative prompt adds "face, eyes, nose, mouth" when no <back-view> token
    # is loaded (guidance/prompts.py): nothing else keeps a face off the back of the head.
    back_view_negative: bool = True


class StableDiffusionGuidance(ScoreDistillation):
    """SDS toward ``prompt`` with per-view prompts and landmark control."""

    def __init__(self, models, prompt: str, config: SDSConfig | None = None) -> None:
        super().__init__(models, config or SDSConfig())
        self.prompt = prompt
        self.view_prompts = ViewPrompts.fit(models.tokenizer, prompt, models.back_view_token)
        self.encode_prompts = PromptEncoder(models)

    def prompts(self, labels: list[str]) -> list[str]:
        """The view prompt of each render (the description shortened to fit, if it had to)."""
        return [self.view_prompts(label) for label in labels]

    def negative_prompts(self, labels: list[str]) -> list[str]:
        """The negative prompt of each render: back views also push away from a face when
        no back-view token is loaded."""
        negative = self.config.negative_prompt
        guard = self.config.back_view_negative and not self.models.back_view_token
        return [back_view_negative(negative) if guard and label == "back" else negative
                for label in labels]  # fmt: skip

    def describe(self) -> dict:
        """What the sidecar says of the prompts the guidance used."""
        guard = self.config.back_view_negative and not self.models.back_view_token
        return {
            "view_prompt": self.view_prompts("front"),
            "dropped_from_prompt": self.view_prompts.dropped,  # to fit CLIP's 77 tokens
            "back_view": "token" if self.models.back_view_token else
                         ("negative prompt" if guard else "none"),
        }  # fmt: skip

    def predict_noise(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, batch: GuidanceBatch
    ) -> torch.Tensor:
        """Classifier-free guided ε̂ for each noisy latent (one UNet call for both halves)."""
        conditional = self.encode_prompts(self.prompts(batch.labels))
        unconditional = self.encode_prompts(self.negative_prompts(batch.labels))
        embeddings = torch.cat([conditional, unconditional])
        sample = torch.cat([noisy, noisy]).to(self.models.dtype)
        steps = torch.cat([timesteps, timesteps])
        residuals = self.landmark_residuals(
            sample, steps, embeddings, batch, copies=2, scale=self.config.conditioning_scale
        )
        prediction = self.models.unet(
            sample, steps, encoder_hidden_states=embeddings, **residuals
        ).sample
        with_text, without = prediction.float().chunk(2)
        return without + self.config.guidance_scale * (with_text - without)
