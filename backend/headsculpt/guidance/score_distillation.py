"""What every guidance shares: the batch it sees, what it returns, and the SDS step.

A guidance takes a batch of renders (RGB images, or latents in the coarse
stage) and returns a loss whose gradient, and only that, reaches the renders:
score distillation's ``w(t) · (ε̂(x_t; y, t) − ε)`` pushed into the renders via
the usual target trick. Subclasses say how ``ε̂`` is predicted (Stable Diffusion
with classifier-free guidance and the landmark ControlNet; IESD); the reference
teacher implements the same call without a diffusion model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.nn import functional

WEIGHTINGS = ("sds", "uniform", "fantasia")


@dataclass
class GuidanceBatch:
    """What the 3D side knows about the views it rendered, one entry per render."""

    labels: list[str]  # view labels: front, side, back, overhead
    landmark_images: torch.Tensor | None = None  # (B, 3, H, W) in [0, 1]; blank for back views
    source_images: torch.Tensor | None = None  # IESD: the unedited head at the same cameras
    target_images: torch.Tensor | None = None  # reference teacher: the answer at these cameras
    identity_images: torch.Tensor | None = None  # reference edit teacher: the unedited answer

    def __post_init__(self) -> None:
        for name in ("landmark_images", "source_images", "target_images", "identity_images"):
            images = getattr(self, name)
            if images is not None and len(images) != len(self.labels):
                raise ValueError(f"{name} has {len(images)} images for {len(self.labels)} views")


@dataclass
class GuidanceOutput:
    loss: torch.Tensor  # scalar; its gradient w.r.t. the renders is the guidance
    timesteps: torch.Tensor  # (B,) the diffusion timesteps used
    grad_norm: float  # of the score before it is pushed into the renders


@dataclass(frozen=True)
class TimestepSchedule:
    """Range of t / T sampled at each step, annealed linearly from ``start`` to ``end``.

    HeadSculpt: [0.02, 0.98] in the coarse stage, [0.02, 0.50] in the fine stage.
    """

    start: tuple[float, float] = (0.02, 0.98)
    end: tuple[float, float] | None = None
    anneal_steps: int = 0

    def __post_init__(self) -> None:
        for pair in (self.start, self.end or self.start):
            if not 0.0 <= pair[0] <= pair[1] <= 1.0:
                raise ValueError(f"timestep ranges must satisfy 0 ≤ low ≤ high ≤ 1, got {pair}")

    def range(self, step: int) -> tuple[float, float]:
        if self.end is None or self.anneal_steps <= 0:
            return self.start
        progress = min(max(step / self.anneal_steps, 0.0), 1.0)
        low = self.start[0] + (self.end[0] - self.start[0]) * progress
        high = self.start[1] + (self.end[1] - self.start[1]) * progress
        return low, high


@dataclass(frozen=True)
class DistillationConfig:
    """Settings shared by every score-distillation guidance."""

    timesteps: TimestepSchedule = field(default_factory=TimestepSchedule)
    weighting: str = "sds"  # w(t): "sds" 1 − ᾱ, "uniform" 1, "fantasia" √ᾱ (1 − ᾱ)
    grad_clip: float | None = None  # clamp each element of the score to ±grad_clip
    # RGB renders are resized to this before VAE encoding: the models' own image size
    # (DiffusionModels.image_size: 512 for SD 1.5), which the pipelines pass.
    image_size: int = 512

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"grad_clip must be positive, got {self.grad_clip}")
        if self.image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {self.image_size}")


def weight(name: str, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """w(t) for ᾱ_t of each sample."""
    if name == "sds":
        return 1.0 - alphas_cumprod
    if name == "uniform":
        return torch.ones_like(alphas_cumprod)
    return alphas_cumprod.sqrt() * (1.0 - alphas_cumprod)


def sample_timesteps(
    schedule: TimestepSchedule,
    step: int,
    count: int,
    train_steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(count,) integer timesteps uniform in the schedule's range at ``step``, drawn on the
    generator's device."""
    low, high = schedule.range(step)
    first = int(low * train_steps)
    last = max(first, min(int(high * train_steps), train_steps - 1))
    device = "cpu" if generator is None else generator.device
    return torch.randint(first, last + 1, (count,), generator=generator, device=device)


def standard_noise(
    shape: torch.Size, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """ε ~ N(0, I) of ``shape`` on ``device``, drawn from ``generator`` where it lives (a
    run's generator is on its device; a CPU generator's draws are moved)."""
    where = "cpu" if generator is None else generator.device
    noise = torch.randn(shape, generator=generator, dtype=torch.float32, device=where)
    return noise.to(device)


def distillation_loss(
    latents: torch.Tensor, score: torch.Tensor, grad_clip: float | None
) -> tuple[torch.Tensor, float]:
    """A loss whose gradient w.r.t. ``latents`` is ``score`` / batch size."""
    score = torch.nan_to_num(score.float())
    if grad_clip is not None:
        score = score.clamp(-grad_clip, grad_clip)
    target = (latents.float() - score).detach()
    loss = 0.5 * functional.mse_loss(latents.float(), target, reduction="sum") / latents.shape[0]
    return loss, float(score.norm())


class ScoreDistillation:
    """The SDS step around a noise predictor: encode, noise, predict, weight, push back.

    Subclasses implement :meth:`predict_noise`; ``models`` is a
    :class:`~headsculpt.guidance.models.DiffusionModels`.
    """

    def __init__(self, models, config: DistillationConfig) -> None:
        self.models = models
        self.config = config
        self.alphas_cumprod = models.scheduler.alphas_cumprod.to(models.device, torch.float32)
        self.train_steps = len(self.alphas_cumprod)

    def __call__(
        self,
        renders: torch.Tensor,
        batch: GuidanceBatch,
        step: int = 0,
        as_latents: bool = False,
        generator: torch.Generator | None = None,
    ) -> GuidanceOutput:
        """``renders``: (B, 3, H, W) RGB in [0, 1], or (B, 4, h, w) latents."""
        if len(renders) != len(batch.labels):
            raise ValueError(f"{len(renders)} renders for {len(batch.labels)} view labels")
        latents = renders if as_latents else self.encode(renders, generator)
        count = latents.shape[0]
        device = self.models.device
        timesteps = sample_timesteps(
            self.config.timesteps, step, count, self.train_steps, generator
        ).to(device)
        noise = standard_noise(latents.shape, generator, device)
        with torch.no_grad():
            clean = latents.detach().float()
            noisy = self.models.scheduler.add_noise(clean, noise, timesteps)
            predicted = self.predict_noise(noisy, timesteps, batch).float()
        w = weight(self.config.weighting, self.alphas_cumprod[timesteps]).view(-1, 1, 1, 1)
        loss, grad_norm = distillation_loss(latents, w * (predicted - noise), self.config.grad_clip)
        return GuidanceOutput(loss=loss, timesteps=timesteps, grad_norm=grad_norm)

    def predict_noise(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, batch: GuidanceBatch
    ) -> torch.Tensor:
        raise NotImplementedError

    def encode(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """RGB in [0, 1] → VAE latents (scaled), with gradients to the images; the latent
        distribution is sampled from ``generator`` (a resumed run draws what it would
        have drawn)."""
        size = self.config.image_size
        if images.shape[-2:] != (size, size):
            images = functional.interpolate(
                images, (size, size), mode="bilinear", align_corners=False
            )
        return encode_images(self.models, images, generator)

    def condition_images(self, images: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """ControlNet inputs at the VAE's factor times the latent size (SD: 8×), in the
        models' dtype."""
        factor = self.models.vae_scale_factor
        size = (latents.shape[-2] * factor, latents.shape[-1] * factor)
        return resized_conditions(images, size).to(self.models.device, self.models.dtype)

    def landmark_residuals(
        self,
        sample: torch.Tensor,
        steps: torch.Tensor,
        embeddings: torch.Tensor,
        batch: GuidanceBatch,
        copies: int,
        scale: float,
    ) -> dict:
        """The landmark ControlNet's residuals for a batch stacked ``copies`` times.

        Every copy of a front, side or overhead view gets its drawing; back views get
        zero residuals (the ControlNet is not run for them). Empty when there is no
        ControlNet or no drawing.
        """
        controlnet = self.models.landmark_controlnet
        controlled = [i for i, label in enumerate(batch.labels) if label != "back"]
        if controlnet is None or batch.landmark_images is None or not controlled:
            return {}
        count = len(batch.labels)
        rows = [i + k * count for k in range(copies) for i in controlled]
        rows = torch.tensor(rows, device=sample.device)
        drawings = self.condition_images(batch.landmark_images, sample)
        condition = torch.cat([drawings] * copies)[rows]
        return controlnet_residuals(controlnet, sample, steps, embeddings, rows, condition, scale)


def resized_conditions(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """ControlNet condition images (B, 3, H, W) at ``size``, as every guidance, the sampler
    and a trained teacher's examples see them. Shrunk by a max over each output pixel's
    footprint: a drawing's strokes are a pixel or two wide, and bilinear sampling from 512²
    to 64² drops most of them (a small teacher saw scattered dots for a face's outline);
    enlarged bilinearly."""
    if images.shape[-2:] == size:
        return images
    if size[0] <= images.shape[-2] and size[1] <= images.shape[-1]:
        return functional.adaptive_max_pool2d(images.float(), size)
    return functional.interpolate(images.float(), size, mode="bilinear", align_corners=False)


def encode_images(
    models, images: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """RGB (B, 3, H, W) in [0, 1] → scaled VAE latents; one image at a time when the
    memory plan says so. Gradients flow to the images unless called under no_grad. The
    latent distribution is sampled from ``generator`` (on the models' device), not the
    global random state."""
    vae = models.vae
    pixels = (images * 2.0 - 1.0).to(models.device, models.dtype)
    chunks = pixels.split(1) if models.memory.vae_slicing else [pixels]
    if generator is not None and generator.device != models.device:
        raise ValueError(f"the generator is on {generator.device}, the models on {models.device}")
    latents = [vae.encode(chunk).latent_dist.sample(generator) for chunk in chunks]
    return torch.cat(latents).float() * vae.config.scaling_factor


def controlnet_residuals(
    controlnet: torch.nn.Module,
    sample: torch.Tensor,
    steps: torch.Tensor,
    embeddings: torch.Tensor,
    rows: torch.Tensor,
    condition: torch.Tensor,
    scale: float,
) -> dict:
    """Run ``controlnet`` on ``rows`` of the batch; other rows get zero residuals.

    Returns the UNet's keyword arguments (down and mid residuals for the whole batch).
    """
    down, mid = controlnet(
        sample[rows],
        steps[rows],
        encoder_hidden_states=embeddings[rows],
        controlnet_cond=condition,
        conditioning_scale=scale,
        return_dict=False,
    )

    def spread(part: torch.Tensor) -> torch.Tensor:
        full = part.new_zeros((sample.shape[0], *part.shape[1:]))
        full[rows] = part
        return full

    return {
        "down_block_additional_residuals": [spread(d) for d in down],
        "mid_block_additional_residual": spread(mid),
    }


def add_residuals(first: dict, second: dict) -> dict:
    """Two ControlNets' residual arguments summed (either may be empty)."""
    if not first or not second:
        return first or second
    down = zip(
        first["down_block_additional_residuals"],
        second["down_block_additional_residuals"],
        strict=True,
    )
    return {
        "down_block_additional_residuals": [a + b for a, b in down],
        "mid_block_additional_residual": first["mid_block_additional_residual"]
        + second["mid_block_additional_residual"],
    }
