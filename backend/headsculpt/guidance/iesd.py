"""Identity-aware editing score distillation (IESD), HeadSculpt's edit guidance.

Two noise predictions are blended by the user's edit scale ``w_e``:

    ε̂ = w_e · ε̂(instruction) + (1 − w_e) · ε̂(original description)

Each is an InstructPix2Pix-style prediction: the InstructPix2Pix ControlNet sees
the render of the *unedited* head at the same camera, the landmark ControlNet
sees the view's landmarks (not on back views), and guidance runs over both the
image and the text:

    ε̂(y) = ε(∅, ∅) + s_img · (ε(∅, img) − ε(∅, ∅)) + s_txt · (ε(y, img) − ε(∅, img))

All four UNet inputs — ε(∅, ∅), ε(∅, img), ε(instruction, img), ε(description,
img) — go through the UNet in one batched call. ``w_e = 0`` is pure identity
(the unedited head's score), ``w_e = 1`` the edit's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from headsculpt.guidance.prompts import PromptEncoder, ViewPrompts
from headsculpt.guidance.score_distillation import (
    DistillationConfig,
    GuidanceBatch,
    ScoreDistillation,
    add_residuals,
    controlnet_residuals,
)
from headsculpt.guidance.sources import MissingWeightsError
from headsculpt.limits import IESD_WEIGHT_AS_ASKED


@dataclass(frozen=True)
class IESDConfig(DistillationConfig):
    edit_scale: float = IESD_WEIGHT_AS_ASKED  # w_e: 0 keeps the identity, 1 the instruction alone
    guidance_scale: float = 100.0  # s_txt
    image_guidance_scale: float = 20.0  # s_img, on the InstructPix2Pix path
    conditioning_scale: float = 1.0  # landmark ControlNet
    edit_conditioning_scale: float = 1.0  # InstructPix2Pix ControlNet
    negative_prompt: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.edit_scale <= 1.0:
            raise ValueError(f"edit_scale must be in [0, 1], got {self.edit_scale}")


@dataclass
class EditPredictions:
    """The two guided predictions IESD blends."""

    edit: torch.Tensor  # ε̂(instruction)
    identity: torch.Tensor  # ε̂(original description)


class EditGuidance(ScoreDistillation):
    """IESD toward ``instruction`` while keeping what ``description`` made."""

    def __init__(
        self, models, description: str, instruction: str, config: IESDConfig | None = None
    ) -> None:
        if models.edit_controlnet is None:
            raise MissingWeightsError("edit_controlnet", "editing needs it and it is not loaded")
        super().__init__(models, config or IESDConfig())
        self.description = description
        self.instruction = instruction
        token = models.back_view_token
        self.description_prompts = ViewPrompts.fit(models.tokenizer, description, token)
        self.instruction_prompts = ViewPrompts.fit(models.tokenizer, instruction, token)
        self.encode_prompts = PromptEncoder(models)

    def predict_noise(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, batch: GuidanceBatch
    ) -> torch.Tensor:
        both = self.predictions(noisy, timesteps, batch)
        w = self.config.edit_scale
        return w * both.edit + (1.0 - w) * both.identity

    def predictions(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, batch: GuidanceBatch
    ) -> EditPredictions:
        """ε̂(instruction) and ε̂(description) from one UNet call over four inputs each."""
        if batch.source_images is None:
            raise ValueError("IESD needs source_images: the unedited head at the same cameras")
        count = noisy.shape[0]
        empty = self.encode_prompts([self.config.negative_prompt] * count)
        edit = self.encode_prompts([self.instruction_prompts(v) for v in batch.labels])
        identity = self.encode_prompts([self.description_prompts(v) for v in batch.labels])
        # Rows: [ε(∅, ∅) | ε(∅, img) | ε(instruction, img) | ε(description, img)]
        embeddings = torch.cat([empty, empty, edit, identity])
        sample = torch.cat([noisy] * 4).to(self.models.dtype)
        steps = torch.cat([timesteps] * 4)
        residuals = self._residuals(sample, steps, embeddings, batch, count)
        out = self.models.unet(sample, steps, encoder_hidden_states=embeddings, **residuals)
        plain, with_image, with_edit, with_identity = out.sample.float().chunk(4)
        base = plain + self.config.image_guidance_scale * (with_image - plain)
        text = self.config.guidance_scale
        return EditPredictions(
            edit=base + text * (with_edit - with_image),
            identity=base + text * (with_identity - with_image),
        )

    def _residuals(self, sample, steps, embeddings, batch: GuidanceBatch, count: int) -> dict:
        """InstructPix2Pix ControlNet on the image rows, landmark ControlNet on front/side views."""
        image_rows = torch.arange(count, 4 * count, device=sample.device)
        source = self.condition_images(batch.source_images, sample)
        edit = controlnet_residuals(
            self.models.edit_controlnet,
            sample,
            steps,
            embeddings,
            image_rows,
            torch.cat([source] * 3),
            self.config.edit_conditioning_scale,
        )
        landmarks = self.landmark_residuals(
            sample, steps, embeddings, batch, copies=4, scale=self.config.conditioning_scale
        )
        return add_residuals(edit, landmarks)
