"""Train a small Stable Diffusion of our own on what one head looks like.

The reference teacher pulls renders toward the answer with no noise, no error and no
classifier-free guidance: it proves the 3D side, not score distillation. A diffusion
model that has *learned* a target — queried at a random timestep, only approximately
right, its error amplified by CFG, steered by a ControlNet that must be used — puts the
sculpt in the regime Stable Diffusion puts it in, with nothing downloaded.

What is trained, all diffusers / transformers classes in SD 1.5's roles:

1. **tokenizer and text encoder**: the character-level CLIP tokenizer of
   ``random_models`` (plus the ``<back-view>`` token) and a small ``CLIPTextModel``,
   trained with the UNet;
2. **VAE**: an ``AutoencoderKL`` trained on the renders (reconstruction and a small KL
   term, as SD's), its ``scaling_factor`` set so scaled latents have unit variance —
   SD's latent contract (SD 1.5's 0.18215 was found the same way);
3. **UNet and ControlNet**: a ``UNet2DConditionModel`` with cross-attention and a
   ``ControlNetModel`` built from it, trained together with the ε-prediction loss on
   SD's noise schedule. The prompt is replaced by an unconditional one (``""``, or the
   back views' negative prompt the sculpt uses when it has no token) for a share of the
   examples — classifier-free guidance needs the unconditional model — and the landmark
   drawing is left out for a share, so the UNet alone also knows the head. Half the
   examples are moved a latent pixel or so with their drawings, so the ControlNet learns
   that the drawing says where the face is. A short training's usual aids: Min-SNR-γ
   loss weights and a warmed-up cosine learning rate.

:meth:`TrainedTeacher.save` writes SD 1.5's folder layout — the ControlNet in its
``diffusion_sd15`` subfolder, the token's vector in ``learned_embeds.safetensors`` — so
``--base-model DIR --landmark-controlnet DIR [--back-view-embedding DIR]`` loads it
through the product's own path (``guidance/models.py``), with no special case. The
examples (renders, drawings, view prompts) come from the sculpt's own cameras and
drawer: ``pipelines/trained_teacher.py``. Seeded and deterministic on one machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn import functional

from headsculpt.guidance.back_view_token import BACK_VIEW_TOKEN, EMBEDDING_FILE
from headsculpt.guidance.models import SD15_CONTROLNET_SUBFOLDER
from headsculpt.guidance.prompts import BACK_VIEW_NEGATIVE, token_ids
from headsculpt.guidance.random_models import character_tokenizer
from headsculpt.guidance.score_distillation import controlnet_residuals
from headsculpt.progress import ProgressCallback, no_progress

# SD 1.5's noise schedule (its scheduler_config.json), so timesteps mean what they mean there.
SD_SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                   beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False,
                   steps_offset=1, prediction_type="epsilon")  # fmt: skip
# What the sculpt's classifier-free guidance subtracts: the empty prompt, or for back
# views without a token the negative prompt that keeps a face off them (guidance/prompts.py).
UNCONDITIONAL_PROMPTS = ("", BACK_VIEW_NEGATIVE)


@dataclass(frozen=True)
class TeacherArchitecture:
    """Sizes of the components. The image side is the UNet's latent side times the VAE's
    factor (2 per block after the first): the sculpt's guidance resizes renders to it."""

    image_size: int = 64
    vae_channels: tuple[int, ...] = (16, 32, 32, 32)  # four blocks: latents 1/8, as SD's
    latent_channels: int = 4  # SD's
    unet_channels: tuple[int, ...] = (32, 64)
    text_width: int = 64
    text_layers: int = 2

    def __post_init__(self) -> None:
        if len(self.vae_channels) < 2 or len(self.unet_channels) < 2:
            raise ValueError("the VAE and the UNet need at least two blocks each")
        latent = self.image_size // self.vae_scale_factor
        if latent * self.vae_scale_factor != self.image_size or latent % 2 ** (
            len(self.unet_channels) - 1
        ):
            raise ValueError(
                f"image_size {self.image_size} must divide into the VAE's and UNet's blocks"
            )

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae_channels) - 1)

    def vae(self):
        from diffusers import AutoencoderKL

        blocks = len(self.vae_channels)
        return AutoencoderKL(
            block_out_channels=self.vae_channels,
            down_block_types=("DownEncoderBlock2D",) * blocks,
            up_block_types=("UpDecoderBlock2D",) * blocks,
            layers_per_block=1, latent_channels=self.latent_channels, norm_num_groups=8,
            sample_size=self.image_size,
        )  # fmt: skip

    def unet(self):
        from diffusers import UNet2DConditionModel

        blocks = len(self.unet_channels)
        return UNet2DConditionModel(
            sample_size=self.image_size // self.vae_scale_factor,
            in_channels=self.latent_channels, out_channels=self.latent_channels,
            block_out_channels=self.unet_channels,
            down_block_types=("CrossAttnDownBlock2D",) * (blocks - 1) + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (blocks - 1),
            layers_per_block=1, cross_attention_dim=self.text_width, attention_head_dim=8,
            norm_num_groups=8,
        )  # fmt: skip

    def controlnet(self, unet):
        """A ControlNet mirroring ``unet``'s encoder; its condition embedding brings the
        drawing down by the VAE's factor, to the latents' size."""
        from diffusers import ControlNetModel

        steps = len(self.vae_channels) - 1  # stride-2 convolutions: one per factor of 2
        embedding = tuple(16 * 2**k for k in range(steps + 1))
        return ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=embedding)

    def text_encoder(self, vocabulary: int):
        from transformers import CLIPTextConfig, CLIPTextModel

        config = CLIPTextConfig(
            vocab_size=vocabulary, hidden_size=self.text_width,
            intermediate_size=2 * self.text_width, num_hidden_layers=self.text_layers,
            num_attention_heads=4, max_position_embeddings=77, hidden_act="quick_gelu",
            bos_token_id=vocabulary - 3, eos_token_id=vocabulary - 2,
            pad_token_id=vocabulary - 2,
        )  # fmt: skip
        return CLIPTextModel(config)


@dataclass(frozen=True)
class TeacherTraining:
    """How long and how hard each part is trained (Adam; one example batch a step). The
    defaults train in about 9 minutes on the project's 2-core CPU (docs/benchmarks.md)."""

    vae_steps: int = 300
    denoiser_steps: int = 1300
    batch_size: int = 16  # the denoiser's
    vae_batch_size: int = 8
    vae_learning_rate: float = 1e-3
    denoiser_learning_rate: float = 2e-3  # the peak: warmed up, then down to 0 on a cosine
    warmup_steps: int = 50
    kl_weight: float = 1e-6  # SD's VAE: a light KL keeps the latents near N(0, σ²)
    prompt_dropout: float = 0.1  # the unconditional model classifier-free guidance needs
    drawing_dropout: float = 0.1  # of views with a drawing, shown without it
    # Min-SNR-γ weighting of the ε loss (Hang et al. 2023): each timestep's loss weighted by
    # min(SNR, γ)/SNR, so the nearly clean timesteps stop dominating; None: unweighted.
    snr_gamma: float | None = 5.0
    # Examples moved sideways and up or down by up to ``max_shift`` latent pixels (the
    # VAE's factor in image pixels), the drawing with its image: the sculpt's cameras
    # always centre the head, and a ControlNet never shown a moved drawing does not learn
    # that the drawing says *where* the face is.
    shift_share: float = 0.5
    max_shift: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.vae_steps, self.denoiser_steps, self.batch_size, self.vae_batch_size) < 1:
            raise ValueError(
                "vae_steps, denoiser_steps, batch_size and vae_batch_size must be positive"
            )
        if min(self.max_shift, self.warmup_steps) < 0:
            raise ValueError("max_shift and warmup_steps must not be negative")
        for name in ("prompt_dropout", "drawing_dropout", "shift_share"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")


@dataclass
class TeacherExamples:
    """What the teacher learns from: one entry per rendered view."""

    images: torch.Tensor  # (N, 3, S, S) RGB in [0, 1]: the target at the view
    drawings: torch.Tensor  # (N, 3, S, S) the landmark drawing at the view (blank: back views)
    controlled: torch.Tensor  # (N,) bool: the sculpt runs the ControlNet for this view
    prompts: list[tuple[str, ...]]  # the view prompts the sculpt may write for it

    def __post_init__(self) -> None:
        count = len(self.images)
        if not (len(self.drawings) == len(self.controlled) == len(self.prompts) == count):
            raise ValueError("images, drawings, controlled and prompts must be as many")
        if count == 0:
            raise ValueError("no examples to learn from")


@dataclass
class TrainedTeacher:
    """The trained components (CPU, fp32) and their loss curves."""

    tokenizer: object
    text_encoder: torch.nn.Module
    vae: torch.nn.Module
    unet: torch.nn.Module
    controlnet: torch.nn.Module
    losses: dict[str, list[float]] = field(default_factory=dict)

    def save(self, folder: Path) -> Path:
        """SD 1.5's folder layout at ``folder``: the pipeline's components, the ControlNet
        in ``diffusion_sd15/``, the back-view token's vector in ``learned_embeds``."""
        from diffusers import DDIMScheduler, StableDiffusionPipeline
        from safetensors.torch import save_file

        folder = Path(folder)
        pipeline = StableDiffusionPipeline(
            vae=self.vae, text_encoder=self.text_encoder, tokenizer=self.tokenizer,
            unet=self.unet, scheduler=DDIMScheduler(**SD_SCHEDULE), safety_checker=None,
            feature_extractor=None, requires_safety_checker=False,
        )  # fmt: skip
        pipeline.save_pretrained(folder)
        self.controlnet.save_pretrained(folder / SD15_CONTROLNET_SUBFOLDER)
        index = self.tokenizer.convert_tokens_to_ids(BACK_VIEW_TOKEN)
        vector = self.text_encoder.get_input_embeddings().weight[index].detach().clone()
        save_file({BACK_VIEW_TOKEN: vector.contiguous()}, str(folder / EMBEDDING_FILE))
        return folder


def teacher_tokenizer():
    """The trained teacher's tokenizer: one token per character, and ``<back-view>``."""
    tokenizer = character_tokenizer()
    tokenizer.add_tokens([BACK_VIEW_TOKEN])
    return tokenizer


def train_teacher(
    examples: TeacherExamples,
    architecture: TeacherArchitecture | None = None,
    training: TeacherTraining | None = None,
    progress: ProgressCallback = no_progress,
) -> TrainedTeacher:
    """Train every component on ``examples`` (on the CPU; seeded). Progress: ``vae`` for
    the first 20 % of the time, then ``denoiser``."""
    architecture = architecture or TeacherArchitecture()
    training = training or TeacherTraining()
    size = architecture.image_size
    if examples.images.shape[-2:] != (size, size):
        raise ValueError(f"examples are {tuple(examples.images.shape[-2:])}, the teacher {size}²")
    torch.manual_seed(training.seed)
    generator = torch.Generator().manual_seed(training.seed)

    # 1. The tokenizer and text encoder (the <back-view> token among its words).
    tokenizer = teacher_tokenizer()
    text_encoder = architecture.text_encoder(len(tokenizer))

    # 2. The VAE, then the scale that gives its latents unit variance.
    vae = architecture.vae()
    vae_losses = _train_vae(vae, examples.images, training, generator, progress)
    vae.eval().requires_grad_(False)
    with torch.no_grad():  # each example's latent distribution, drawn from at every step
        posteriors = [vae.encode(c * 2 - 1).latent_dist for c in examples.images.split(64)]
    means = torch.cat([p.mean for p in posteriors])
    deviations = torch.cat([p.std for p in posteriors])
    vae.register_to_config(scaling_factor=float(1.0 / means.std()))
    with torch.no_grad():  # what a shifted example is filled with: a blank background
        blank = vae.encode(torch.ones_like(examples.images[:1])).latent_dist
    background = (blank.mean[0, :, 0, 0], blank.std[0, :, 0, 0])

    # 3. The UNet and ControlNet (and the text encoder) on noised latents.
    unet = architecture.unet()
    controlnet = architecture.controlnet(unet)
    denoiser_losses = _train_denoiser(
        (tokenizer, text_encoder, unet, controlnet),
        (means, deviations, background, vae.config.scaling_factor, architecture.vae_scale_factor),
        examples, training, generator, progress,
    )  # fmt: skip
    for module in (text_encoder, vae, unet, controlnet):
        module.eval().requires_grad_(False)
    progress("done", 1.0)
    return TrainedTeacher(tokenizer, text_encoder, vae, unet, controlnet,
                          {"vae": vae_losses, "denoiser": denoiser_losses})  # fmt: skip


def _train_vae(vae, images, training, generator, progress) -> list[float]:
    optimizer = torch.optim.Adam(vae.parameters(), lr=training.vae_learning_rate)
    losses = []
    for step in range(training.vae_steps):
        progress("vae", 0.2 * step / training.vae_steps)
        rows = torch.randint(len(images), (training.vae_batch_size,), generator=generator)
        pixels = images[rows] * 2.0 - 1.0
        posterior = vae.encode(pixels).latent_dist
        latents = posterior.sample(generator)
        reconstruction = vae.decode(latents).sample
        loss = functional.mse_loss(reconstruction, pixels) + functional.l1_loss(
            reconstruction, pixels
        )
        loss = loss + training.kl_weight * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(round(float(loss.detach()), 6))
    return losses


def _train_denoiser(components, latents, examples, training, generator, progress) -> list[float]:
    from diffusers import DDIMScheduler, DDPMScheduler

    tokenizer, text_encoder, unet, controlnet = components
    # Each example's latent distribution, a blank background's, SD's scale, the VAE's factor.
    means, deviations, background, scale, factor = latents
    scheduler = DDPMScheduler.from_config(DDIMScheduler(**SD_SCHEDULE).config)
    prompts = [prompt for choices in examples.prompts for prompt in choices]
    prompts = list(dict.fromkeys([*prompts, *UNCONDITIONAL_PROMPTS]))
    tokens = token_ids(tokenizer, prompts)
    index = {prompt: k for k, prompt in enumerate(prompts)}
    parameters = [*unet.parameters(), *controlnet.parameters(), *text_encoder.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=training.denoiser_learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _learning_rate_share(step, training)
    )
    losses = []
    for step in range(training.denoiser_steps):
        progress("denoiser", 0.2 + 0.8 * step / training.denoiser_steps)
        rows = torch.randint(len(means), (training.batch_size,), generator=generator)
        mean, deviation, drawings = means[rows], deviations[rows], examples.drawings[rows]
        if training.shift_share and training.max_shift:
            moves = _draw_shifts(len(rows), training, generator)
            mean = _shifted(mean, moves, 1, background[0])
            deviation = _shifted(deviation, moves, 1, background[1])
            drawings = _shifted(drawings, moves, factor, torch.zeros(3))
        noise = torch.randn(mean.shape, generator=generator)
        latents = (mean + deviation * torch.randn(mean.shape, generator=generator)) * scale
        timesteps = torch.randint(scheduler.config.num_train_timesteps, (len(rows),),
                                  generator=generator)  # fmt: skip
        noisy = scheduler.add_noise(latents, noise, timesteps)
        chosen = _draw_prompts(examples, rows, training.prompt_dropout, generator)
        embeddings = text_encoder(tokens[[index[p] for p in chosen]])[0]
        keep = torch.rand(len(rows), generator=generator) >= training.drawing_dropout
        controlled = (examples.controlled[rows] & keep).nonzero().flatten()
        residuals = {}
        if len(controlled):
            residuals = controlnet_residuals(controlnet, noisy, timesteps, embeddings, controlled,
                                             drawings[controlled], 1.0)  # fmt: skip
        predicted = unet(noisy, timesteps, encoder_hidden_states=embeddings, **residuals).sample
        loss = functional.mse_loss(predicted, noise, reduction="none").mean(dim=(1, 2, 3))
        if training.snr_gamma is not None:
            snr = scheduler.alphas_cumprod[timesteps] / (1.0 - scheduler.alphas_cumprod[timesteps])
            loss = loss * snr.clamp(max=training.snr_gamma) / snr
        loss = loss.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(round(float(loss.detach()), 6))
    return losses


def _draw_prompts(examples, rows, dropout, generator) -> list[str]:
    """Each row's prompt: one of the view prompts the sculpt may write for it, or with
    probability ``dropout`` an unconditional one."""
    chosen = []
    for row in rows.tolist():
        draws = torch.rand(2, generator=generator).tolist()
        choices = UNCONDITIONAL_PROMPTS if draws[0] < dropout else examples.prompts[row]
        chosen.append(choices[min(int(draws[1] * len(choices)), len(choices) - 1)])
    return chosen


def _draw_shifts(count: int, training: TeacherTraining, generator) -> torch.Tensor:
    """(count, 2) moves (x, y) in latent pixels: none for a row with probability
    1 − ``shift_share``, else each in [−max_shift, max_shift]."""
    reach = training.max_shift
    moves = torch.randint(-reach, reach + 1, (count, 2), generator=generator)
    kept = torch.rand(count, generator=generator) < training.shift_share
    return moves * kept[:, None]


def _shifted(images: torch.Tensor, moves: torch.Tensor, unit: int, fill: torch.Tensor):
    """(B, C, H, W) each moved by its (x, y) × ``unit`` pixels; what comes in is ``fill``
    (C,): a blank background, not the other edge."""
    out = fill.to(images.dtype)[None, :, None, None].expand_as(images).clone()
    size_y, size_x = images.shape[-2:]
    for row, (move_x, move_y) in enumerate((moves * unit).tolist()):
        source_x = slice(max(-move_x, 0), size_x - max(move_x, 0))
        target_x = slice(max(move_x, 0), size_x - max(-move_x, 0))
        source_y = slice(max(-move_y, 0), size_y - max(move_y, 0))
        target_y = slice(max(move_y, 0), size_y - max(-move_y, 0))
        out[row, :, target_y, target_x] = images[row, :, source_y, source_x]
    return out


def _learning_rate_share(step: int, training: TeacherTraining) -> float:
    """The denoiser's learning rate at ``step`` as a share of its peak: a linear warm-up
    over ``warmup_steps``, then a cosine down to 0 at the last step (a short training
    ends on small steps, where the loss settles)."""
    if step < training.warmup_steps:
        return (step + 1) / training.warmup_steps
    progress = (step - training.warmup_steps) / max(
        training.denoiser_steps - training.warmup_steps, 1
    )
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
