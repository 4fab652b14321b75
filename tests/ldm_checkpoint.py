"""Write a diffusers Stable Diffusion folder as one original-format (LDM) checkpoint.

Artists keep Stable Diffusion as a single ``.safetensors`` file in the original
CompVis key layout (``model.diffusion_model.…``, ``first_stage_model.…``,
``cond_stage_model.transformer.…``). To test loading such a file without
downloading one, this renames a tiny random model's keys into that layout; the
test then loads it through diffusers' real single-file path.
"""

from __future__ import annotations

import re
from pathlib import Path

from safetensors.torch import save_file

_UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0",
                "conv2": "out_layers.3", "time_emb_proj": "emb_layers.1",
                "conv_shortcut": "skip_connection"}  # fmt: skip
_UNET_FIXED = {"time_embedding.linear_1": "time_embed.0",
               "time_embedding.linear_2": "time_embed.2", "conv_in": "input_blocks.0.0",
               "conv_norm_out": "out.0", "conv_out": "out.2"}  # fmt: skip
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v",
                  "to_out.0": "proj_out"}  # fmt: skip


def _resnet(rest: str, names: dict[str, str]) -> str:
    layer, _, tail = rest.partition(".")
    return f"{names.get(layer, layer)}.{tail}"


def unet_key(key: str, layers_per_block: int, up_has_attention: list[bool]) -> str:
    span = layers_per_block + 1
    for name, ldm in _UNET_FIXED.items():
        if key.startswith(name + "."):
            return ldm + key[len(name) :]
    if match := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        block, kind, layer, rest = int(match[1]), match[2], int(match[3]), match[4]
        index = 1 + block * span + layer
        if kind == "resnets":
            return f"input_blocks.{index}.0.{_resnet(rest, _UNET_RESNET)}"
        return f"input_blocks.{index}.1.{rest}"
    if match := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"input_blocks.{1 + int(match[1]) * span + layers_per_block}.0.op.{match[2]}"
    if match := re.match(r"mid_block\.resnets\.(\d+)\.(.*)", key):
        return f"middle_block.{2 * int(match[1])}.{_resnet(match[2], _UNET_RESNET)}"
    if match := re.match(r"mid_block\.attentions\.0\.(.*)", key):
        return f"middle_block.1.{match[1]}"
    if match := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        block, kind, layer, rest = int(match[1]), match[2], int(match[3]), match[4]
        index = block * span + layer
        if kind == "resnets":
            return f"output_blocks.{index}.0.{_resnet(rest, _UNET_RESNET)}"
        return f"output_blocks.{index}.1.{rest}"
    if match := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        block = int(match[1])
        slot = 2 if up_has_attention[block] else 1
        return f"output_blocks.{block * span + layers_per_block}.{slot}.conv.{match[2]}"
    raise KeyError(f"no LDM name for UNet key {key}")


def vae_key(key: str, blocks: int) -> tuple[str, bool]:
    """The LDM name, and whether the weight is an attention projection (a 1×1 conv there)."""
    key = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
    if match := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.*)", key):
        part, rest = match[1], match[2]
        for name, ldm in _VAE_ATTENTION.items():
            if rest.startswith(name + "."):
                return f"{part}.mid.attn_1.{ldm}{rest[len(name) :]}", name != "group_norm"
    if match := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)", key):
        return f"{match[1]}.mid.block_{int(match[2]) + 1}.{match[3]}", False
    if match := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(.*)", key):
        return f"encoder.down.{match[1]}.block.{match[2]}", False
    if match := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.(.*)", key):
        return f"encoder.down.{match[1]}.downsample.{match[2]}", False
    if match := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(.*)", key):
        return f"decoder.up.{blocks - 1 - int(match[1])}.block.{match[2]}", False
    if match := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.(.*)", key):
        return f"decoder.up.{blocks - 1 - int(match[1])}.upsample.{match[2]}", False
    return key, False


def write_ldm_checkpoint(folder: Path, path: Path) -> Path:
    """One LDM-layout ``.safetensors`` holding the UNet, VAE and text encoder of ``folder``."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet")
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae")
    text = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder")
    up_attention = ["CrossAttn" in kind for kind in unet.config.up_block_types]
    state = {}
    for key, value in unet.state_dict().items():
        name = unet_key(key, unet.config.layers_per_block, up_attention)
        state["model.diffusion_model." + name] = value
    for key, value in vae.state_dict().items():
        name, projection = vae_key(key, len(vae.config.down_block_types))
        state["first_stage_model." + name] = (
            value[..., None, None] if projection and value.dim() == 2 else value
        )
    for key, value in text.state_dict().items():
        name = key if key.startswith("text_model.") else "text_model." + key
        state["cond_stage_model.transformer." + name] = value
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path
