"""Procedural PBR skin: base colour, roughness and a detail normal map in UV space.

Colours are mixed in linear light and stored as sRGB. Detail (pores, freckles,
wrinkles, hair strokes) comes from solid noise evaluated on the head surface,
so it is seamless across UV islands and fixed by the seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from headsculpt.progress import ProgressCallback, no_progress
from headsculpt.render.colour import linear_to_srgb, srgb_to_linear
from headsculpt.texture.noise import NoiseBand, NoiseBank
from headsculpt.texture.skin_parameters import SKIN_TONES, SkinParameters
from headsculpt.texture.surface_maps import SurfaceMaps, smoothstep

_SCLERA = (0.93, 0.90, 0.87)
MOUTH_INSIDE = (0.45, 0.14, 0.13)  # sRGB: the mouth's inside (also a sculpt's)
_TONGUE = (0.78, 0.40, 0.40)
_IRIS_HALF_ANGLE = 0.50  # radians from the gaze axis to the iris rim
_PUPIL_HALF_ANGLE = 0.19
_NORMAL_STRENGTH = 1.0


# The detail the painter uses, by scale: blotches of a few cm, age spots,
# freckles, and pores and hair strokes of about a millimetre.
DETAIL_BANDS = {
    "mottled": NoiseBand(40.0, octaves=3),
    "spots": NoiseBand(240.0),
    "freckles": NoiseBand(900.0),
    "fine": NoiseBand(900.0, octaves=2),
}


def detail_noise(maps: SurfaceMaps, progress: ProgressCallback = no_progress) -> NoiseBank:
    """The noise bank for one UV layout (slow: build once per texture size)."""
    return NoiseBank(maps.position, DETAIL_BANDS, progress)


@dataclass
class PBRTextures:
    """Texture images ready for glTF: sRGB base colour, glTF metallic-roughness, normal."""

    base_color: np.ndarray  # (S, S, 3) uint8 sRGB
    metallic_roughness: np.ndarray  # (S, S, 3) uint8: G = roughness, B = metallic (0)
    normal: np.ndarray  # (S, S, 3) uint8 tangent-space, OpenGL (+Y up) as glTF wants


def paint(
    parameters: SkinParameters,
    maps: SurfaceMaps,
    noise: NoiseBank,
    seed: int,
    progress: ProgressCallback = no_progress,
) -> PBRTextures:
    """Paint the head's textures for ``parameters``; deterministic for a seed.

    ``progress`` hears about each layer (base colour, roughness, normal), so a
    cancel reaches a 2048² paint between layers.
    """
    r = maps.regions
    progress("texture", 0.0)
    mottled = noise.draw("mottled", seed, channels=4)
    fine = noise.draw("fine", seed, channels=4)

    skin = _linear(_skin_tone(parameters.tone))[None].repeat(len(maps.position), 1)
    skin = skin * (1.0 + 0.06 * mottled[:, :3])
    redness = torch.tensor([1.0, 0.78, 0.74])
    flush = 0.35 * r["cheeks"] + 0.35 * r["nose"] + 0.3 * r["ears"]
    skin = _mix(skin, skin * redness, flush[:, None])
    skin = skin * (1.0 - 0.22 * r["eye_socket"][:, None])  # shadowed sockets read as eyes

    age = (parameters.age_years - 25.0) / 55.0
    ageing = float(np.clip(age, 0.0, 1.0))
    if ageing > 0.3:  # sun and age spots
        spots = smoothstep(0.55, 0.75, noise.draw("spots", seed)[:, 0]) * (ageing - 0.3)
        skin = skin * (1.0 - 0.5 * spots[:, None] * torch.tensor([0.6, 0.8, 1.0]))
    if parameters.freckles > 0:
        area = torch.clamp(r["cheeks"] * 2.5 + r["nose"], 0.0, 1.0)
        dots = smoothstep(0.25, 0.55, noise.draw("freckles", seed)[:, 0])
        amount = parameters.freckles * area * dots
        skin = _mix(skin, skin * torch.tensor([0.72, 0.52, 0.36]), amount[:, None])

    lips = _linear(parameters.lip_colour or _lip_colour(parameters.tone))
    skin = _mix(skin, lips[None] * (1.0 + 0.08 * mottled[:, :3]), r["lips"][:, None])

    strands = smoothstep(-0.1, 0.45, fine[:, 2])
    arch = float(np.clip(parameters.brow_arch, 0.0, 1.0))
    brow_region = (1.0 - arch) * r["brows"] + arch * r["brows_arched"]
    brow_amount = brow_region * (0.55 + 0.45 * parameters.eyebrow_density) * (0.35 + 0.65 * strands)
    brow = _linear(parameters.eyebrow_colour)
    skin = _mix(skin, brow[None], (0.92 * brow_amount)[:, None])
    if parameters.scalp_cover > 0:  # under the hair: no skin between the strands
        cover = parameters.scalp_cover * r[parameters.scalp_region] * (0.75 + 0.25 * strands)
        hair = _linear(parameters.hair_colour)[None] * (0.7 + 0.3 * strands[:, None])
        skin = _mix(skin, hair, cover[:, None])
    if parameters.beard > 0:
        full = smoothstep(0.35, 0.9, torch.tensor(parameters.beard))
        coverage = r[parameters.beard_region] * (
            0.45 * min(parameters.beard / 0.35, 1.0) + 0.5 * full
        )
        stubble = coverage * (0.55 + 0.45 * strands)
        skin = _mix(skin, _linear(parameters.beard_colour)[None], stubble[:, None])

    colour = skin
    colour = _mix(colour, _linear(MOUTH_INSIDE)[None], r["cavity"][:, None])
    colour = torch.where(maps.is_part("tongue")[:, None], _linear(_TONGUE)[None]
                         * (1.0 + 0.1 * fine[:, :3]), colour)  # fmt: skip
    eyes = maps.is_part("eyes")
    colour = torch.where(eyes[:, None], _eye_colour(parameters, maps, fine), colour)

    progress("texture", 0.4)
    roughness = 0.52 + 0.06 * mottled[:, 3] + 0.05 * fine[:, 3] + 0.12 * ageing
    roughness = roughness - 0.12 * r["nose"] - 0.06 * r["forehead"] - 0.15 * r["lips"]
    roughness = roughness + 0.2 * r[parameters.beard_region] * parameters.beard
    roughness = torch.where(eyes, torch.tensor(0.06), roughness).clamp(0.04, 1.0)

    height = _height(parameters, maps, fine, ageing)
    base_color = _to_srgb8(maps.to_image(colour.clamp(0.0, 1.0)))
    progress("texture", 0.7)
    metallic_roughness = _metallic_roughness(maps.to_image(roughness[:, None])[..., 0])
    normal = _normal_map(maps.to_image(height[:, None])[..., 0], maps.metres_per_texel)
    return PBRTextures(base_color, metallic_roughness, normal)


def _eye_colour(parameters: SkinParameters, maps: SurfaceMaps, fine: torch.Tensor):
    angle = maps.eye_angle
    iris = _linear(parameters.iris_colour)[None]
    # Radial streaks and a darker limbal ring make an iris read as one.
    streak = 1.0 + 0.35 * fine[:, 0:1]
    radial = (angle / _IRIS_HALF_ANGLE).clamp(0, 1)[:, None]
    iris_colour = iris * streak * (1.25 - 0.5 * radial)
    limbal = smoothstep(0.75, 1.0, radial[:, 0])[:, None]
    iris_colour = _mix(iris_colour, iris * 0.25, limbal)
    sclera = _linear(_SCLERA)[None] * (1.0 - 0.08 * smoothstep(0.9, 1.6, angle)[:, None])
    in_iris = 1.0 - smoothstep(_IRIS_HALF_ANGLE - 0.03, _IRIS_HALF_ANGLE + 0.03, angle)
    in_pupil = 1.0 - smoothstep(_PUPIL_HALF_ANGLE - 0.02, _PUPIL_HALF_ANGLE + 0.02, angle)
    colour = _mix(sclera, iris_colour, in_iris[:, None])
    return _mix(colour, torch.full_like(colour, 0.01), in_pupil[:, None])


def _height(parameters: SkinParameters, maps: SurfaceMaps, fine, ageing: float) -> torch.Tensor:
    """Skin micro-relief in metres: pores everywhere, wrinkles with age."""
    p, r = maps.position, maps.regions
    skin = (1.0 - r["cavity"]) * (~maps.is_part("eyes")).float()
    pores = 0.00004 * fine[:, 3] * (1.0 + r["nose"])
    lines = min(ageing + parameters.wrinkles, 1.5)
    forehead = torch.sin(p[:, 2] * (2.0 * math.pi / 0.007)) * r["forehead"]
    crow = torch.sin(torch.atan2(p[:, 2], p[:, 0].abs()) * 40.0) * r["eye_socket"] * 0.6
    wrinkles = 0.00012 * lines * (forehead + crow)
    return (pores + wrinkles) * skin


def _normal_map(height: torch.Tensor, metres_per_texel: float) -> np.ndarray:
    # glTF normal maps: +X along +u, +Y toward -v (up in the image), +Z out of the surface.
    dh_du = (torch.roll(height, -1, 1) - torch.roll(height, 1, 1)) / (2.0 * metres_per_texel)
    dh_dv = (torch.roll(height, -1, 0) - torch.roll(height, 1, 0)) / (2.0 * metres_per_texel)
    n = torch.stack([-dh_du, dh_dv, torch.ones_like(height)], dim=-1) * torch.tensor(
        [_NORMAL_STRENGTH, _NORMAL_STRENGTH, 1.0]
    )
    n = torch.nn.functional.normalize(n, dim=-1)
    return ((n * 0.5 + 0.5) * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).numpy()


def _metallic_roughness(roughness: torch.Tensor) -> np.ndarray:
    out = torch.zeros(*roughness.shape, 3)
    out[..., 0] = 1.0  # R is unused by glTF (occlusion slot); white is neutral
    out[..., 1] = roughness
    return (out * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).numpy()


def _skin_tone(tone: float) -> tuple[float, float, float]:
    """Interpolate the skin tone ramp at ``tone`` in [-1, 1]."""
    position = (np.clip(tone, -1.0, 1.0) + 1.0) / 2.0 * (len(SKIN_TONES) - 1)
    low = int(np.floor(position))
    high = min(low + 1, len(SKIN_TONES) - 1)
    t = position - low
    return tuple(
        (1 - t) * a + t * b for a, b in zip(SKIN_TONES[low], SKIN_TONES[high], strict=True)
    )


def _lip_colour(tone: float) -> tuple[float, float, float]:
    """Lips: the skin tone, redder and darker."""
    r, g, b = _skin_tone(tone)
    return (r * 0.82, g * 0.60, b * 0.62)


def _linear(srgb) -> torch.Tensor:
    return srgb_to_linear(torch.as_tensor(srgb, dtype=torch.float32))


def _to_srgb8(linear: torch.Tensor) -> np.ndarray:
    return (linear_to_srgb(linear) * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).numpy()


def _mix(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t
