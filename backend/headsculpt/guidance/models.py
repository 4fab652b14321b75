"""Load the diffusion models the sculpt and edit jobs need, from what artists have.

Each model is named by a *source*: a local diffusers folder, a single-file
checkpoint (``.safetensors``/``.ckpt``, as kept for other SD tools), or a hub id
(fetched only when downloads are allowed: on the user's networked machine, never
in tests or CI). The four slots are the ones the job request and the add-on's
preferences use: ``base_model`` (Stable Diffusion 1.5 or 2.1-base),
``landmark_controlnet`` (CrucibleAI's ControlNetMediaPipeFace: SD 1.5 weights in
its ``diffusion_sd15`` subfolder, 2.1 weights at its root), ``edit_controlnet``
(the InstructPix2Pix ControlNet) and ``back_view_embedding`` (the learned
``<back-view>`` token). One ``DiffusionModels.from_sources`` call loads them all,
fp16 on CUDA and fp32 on CPU, with memory options chosen by the GPU's size.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from headsculpt.guidance.sources import MissingWeightsError, source_kind

SD15_CONTROLNET_SUBFOLDER = "diffusion_sd15"
# What diffusers raises for a missing, partial or mismatched model.
_LOAD_ERRORS = (OSError, ValueError, KeyError, RuntimeError)


@dataclass(frozen=True)
class ModelSources:
    """Where each model comes from; empty strings are unset slots."""

    base_model: str = ""
    landmark_controlnet: str = ""
    edit_controlnet: str = ""
    back_view_embedding: str = ""
    # A single-file base model needs its architecture: a diffusers folder (or hub id)
    # whose configs describe it. Unset: diffusers' default for the detected version.
    base_model_config: str = ""
    allow_download: bool = False

    @classmethod
    def from_mapping(cls, models: dict[str, str], allow_download: bool = False) -> ModelSources:
        """From a job request's ``models`` (same slot names)."""
        return cls(**{k: v for k, v in models.items() if v}, allow_download=allow_download)


@dataclass(frozen=True)
class MemoryPlan:
    """Memory savers, chosen by the GPU memory free at load time (all off on a CPU).

    Free rather than total memory, so a GPU shared with Blender or another job gets
    the savers it needs.
    """

    attention_slicing: bool = False
    vae_slicing: bool = False  # encode one image at a time
    cpu_offload: bool = False  # models wait in RAM and visit the GPU when called

    @classmethod
    def for_device(cls, device: torch.device) -> MemoryPlan:
        if device.type != "cuda":
            return cls()
        free_bytes, _ = torch.cuda.mem_get_info(device)
        gib = free_bytes / 2**30
        return cls(attention_slicing=gib < 12, vae_slicing=gib < 12, cpu_offload=gib < 8)


@dataclass
class DiffusionModels:
    """The loaded components, on one device and dtype; ControlNets are optional."""

    tokenizer: object
    text_encoder: torch.nn.Module
    unet: torch.nn.Module
    vae: torch.nn.Module
    scheduler: object
    landmark_controlnet: torch.nn.Module | None = None
    edit_controlnet: torch.nn.Module | None = None
    back_view_token: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32
    memory: MemoryPlan = field(default_factory=MemoryPlan)

    @property
    def vae_scale_factor(self) -> int:
        """Image pixels per latent pixel: 2 per VAE block after the first (SD's VAE: 8)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def image_size(self) -> int:
        """The side of the images the models were trained on: the UNet's latent size times
        the VAE's factor (SD 1.5 and 2.1-base: 64 × 8 = 512). Renders are resized to it."""
        return int(self.unet.config.sample_size) * self.vae_scale_factor

    @property
    def sd_version(self) -> str:
        """SD "2.x" has 1024-wide text embeddings (OpenCLIP ViT-H); anything else is "1.x"."""
        return "2.x" if self.unet.config.cross_attention_dim == 1024 else "1.x"

    @classmethod
    def from_sources(
        cls,
        sources: ModelSources,
        device: str | torch.device | None = None,
        need: tuple[str, ...] = ("landmark_controlnet",),
    ) -> DiffusionModels:
        """Load the base model and the slots in ``need`` (others load when set)."""
        from diffusers import DDIMScheduler

        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        pipeline = _load_base_model(sources, dtype)
        models = cls(
            tokenizer=pipeline.tokenizer,
            text_encoder=pipeline.text_encoder,
            unet=pipeline.unet,
            vae=pipeline.vae,
            scheduler=DDIMScheduler.from_config(pipeline.scheduler.config),
            device=device,
            dtype=dtype,
            memory=MemoryPlan.for_device(device),
        )
        for slot in ("landmark_controlnet", "edit_controlnet"):
            source = getattr(sources, slot)
            if source or slot in need:
                setattr(models, slot, _load_controlnet(slot, source, models, sources, dtype))
        if sources.back_view_embedding or "back_view_embedding" in need:
            from headsculpt.guidance.back_view_token import load_back_view_embedding

            models.back_view_token = load_back_view_embedding(
                models, sources.back_view_embedding, sources.allow_download
            )
        return models.placed()

    def placed(self) -> DiffusionModels:
        """Move to the device (or set up offloading), eval mode, frozen, memory savers on."""
        modules = [self.text_encoder, self.unet, self.vae]
        modules += [m for m in (self.landmark_controlnet, self.edit_controlnet) if m is not None]
        for module in modules:
            module.requires_grad_(False).eval()
            if next(module.parameters()).dtype != self.dtype:
                module.to(dtype=self.dtype)
        if self.memory.attention_slicing:
            self.unet.set_attention_slice("auto")
        if self.memory.cpu_offload:
            from accelerate import cpu_offload_with_hook

            hook = None
            for module in modules:
                _, hook = cpu_offload_with_hook(module, self.device, prev_module_hook=hook)
        else:
            for module in modules:
                module.to(self.device)
        return self


def _load_base_model(sources: ModelSources, dtype: torch.dtype):
    from diffusers import StableDiffusionPipeline

    source = sources.base_model
    if not source:
        raise MissingWeightsError("base_model", "not set")
    kind = source_kind(source)
    source = os.path.expanduser(source) if kind in ("folder", "file") else source
    options = dict(
        torch_dtype=dtype,
        safety_checker=None,
        requires_safety_checker=False,
        local_files_only=not sources.allow_download,
    )
    try:
        if kind == "file":
            config = sources.base_model_config or None
            return StableDiffusionPipeline.from_single_file(source, config=config, **options)
        if kind in ("folder", "hub"):
            return StableDiffusionPipeline.from_pretrained(source, **options)
    except _LOAD_ERRORS as error:
        raise MissingWeightsError("base_model", f"could not load {source!r} ({error})") from None
    raise MissingWeightsError("base_model", f"{source!r} is not a folder, file or hub id")


def _load_controlnet(
    slot: str, source: str, models: DiffusionModels, sources: ModelSources, dtype: torch.dtype
):
    from diffusers import ControlNetModel

    if not source:
        raise MissingWeightsError(slot, "not set")
    kind = source_kind(source)
    source = os.path.expanduser(source) if kind in ("folder", "file") else source
    local_only = not sources.allow_download
    try:
        if kind == "file":
            # A single-file ControlNet mirrors the base UNet's encoder: take its shape from there.
            with tempfile.TemporaryDirectory() as folder:
                ControlNetModel.from_unet(models.unet, load_weights_from_unet=False).save_config(
                    folder
                )
                return ControlNetModel.from_single_file(
                    source, config=folder, torch_dtype=dtype, local_files_only=True
                )
        if kind in ("folder", "hub"):
            subfolder = _controlnet_subfolder(slot, source, kind, models.sd_version)
            return ControlNetModel.from_pretrained(
                source, subfolder=subfolder, torch_dtype=dtype, local_files_only=local_only
            )
    except _LOAD_ERRORS as error:
        raise MissingWeightsError(slot, f"could not load {source!r} ({error})") from None
    raise MissingWeightsError(slot, f"{source!r} is not a folder, file or hub id")


def _controlnet_subfolder(slot: str, source: str, kind: str, sd_version: str) -> str | None:
    """CrucibleAI's repository keeps SD 1.5 weights in a subfolder, 2.1 weights at its root."""
    if slot != "landmark_controlnet" or sd_version != "1.x":
        return None
    if kind == "folder":
        nested = Path(os.path.expanduser(source)) / SD15_CONTROLNET_SUBFOLDER / "config.json"
        return SD15_CONTROLNET_SUBFOLDER if nested.is_file() else None
    return SD15_CONTROLNET_SUBFOLDER
