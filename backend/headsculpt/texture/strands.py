"""Procedural strand textures for hair cards and shells: colour with alpha, normals, roughness.

One square atlas per hair mesh, laid out as ``prior/hair.py`` defines (its
``CARD_REGION``, ``SHELL_DENSE_REGION`` and ``SHELL_SPARSE_REGION``):

- left half: card strands running down, root at the top (v = 0), tapering and
  thinning toward the tips at the bottom;
- right half, top: a dense shell tile (hides the skin under the hair);
- right half, bottom: a sparse shell tile (depth and a broken silhouette).
  Both shell tiles thin out over their last rows (the soft hairline).

Strands are drawn one by one: each gets its own lightness and hue jitter
(grey hair mixes pigmented, grey and white strands, as grey hair does), is
darker at the root and lighter at the tip, and has a round cross-section that
gives the normal map and the alpha. Colours are given in sRGB, 0–1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from headsculpt.prior.hair import CARD_REGION, SHELL_DENSE_REGION, SHELL_SPARSE_REGION

STRAND_KINDS: tuple[str, ...] = ("scalp", "beard", "brow", "lash")


@dataclass
class StrandTextures:
    """The three images of a hair material (uint8)."""

    base_color: np.ndarray  # (S, S, 4) sRGB colour, alpha: strands opaque, gaps clear
    normal: np.ndarray  # (S, S, 3) tangent space, +v strands run along
    roughness: np.ndarray  # (S, S, 3) glTF metallic-roughness (G roughness, B metal 0)


@dataclass(frozen=True)
class _Look:
    """How a kind of hair is drawn (widths in texels at 1024², scaled with size)."""

    strands_per_texel: float  # strands per texel of region width
    width: tuple[float, float]
    length: tuple[float, float]  # of the region's height, card region
    sway: float  # texels of sideways wander
    waviness: float  # cycles over the region's height
    root_dark: float
    tip_light: float
    roughness: float
    card_density: float = 1.0  # the card region's strands, relative to strands_per_texel


_LOOKS = {
    # Scalp cards carry twice the strands: at 1.0 half a card's texels were gaps and long
    # hair read as wet strings with the skin showing through (docs/parametric.md).
    "scalp": _Look(0.55, (1.4, 2.6), (0.72, 1.0), 3.0, 1.5, 0.72, 1.12, 0.45, card_density=2.0),
    "beard": _Look(0.45, (1.8, 3.2), (0.5, 0.95), 7.0, 4.0, 0.8, 1.15, 0.55),
    "brow": _Look(0.35, (1.8, 3.0), (0.55, 0.95), 2.0, 1.0, 0.85, 1.08, 0.55),
    "lash": _Look(0.4, (2.0, 3.5), (0.6, 1.0), 2.5, 0.4, 1.0, 1.0, 0.4),
}


def strand_textures(
    colour_rgb: tuple[float, float, float], kind: str, size: int, seed: int
) -> StrandTextures:
    """The strand atlas for hair of ``colour_rgb`` (sRGB, each 0–1).

    ``kind`` ("scalp", "beard", "brow", "lash") sets strand width, length and wave;
    deterministic for ``seed``.
    """
    if kind not in _LOOKS:
        raise ValueError(f"unknown strand kind {kind!r}; one of {STRAND_KINDS}")
    look = _LOOKS[kind]
    rng = np.random.default_rng(seed)
    base = _to_linear(np.clip(np.asarray(colour_rgb, dtype=np.float64), 0.0, 1.0))
    colour = np.zeros((size, size, 3), dtype=np.float32)  # float32: a 2048² atlas stays quick
    alpha = np.zeros((size, size), dtype=np.float32)
    height = np.zeros((size, size), dtype=np.float32)
    slope = np.zeros((size, size), dtype=np.float32)
    for region, density, card in (
        (CARD_REGION, look.card_density, True),
        (SHELL_DENSE_REGION, 3.2, False),
        (SHELL_SPARSE_REGION, 2.2, False),
    ):
        _draw_region(rng, look, base, size, region, density, card, colour, alpha, height, slope)
    covered = np.clip(alpha, 0.0, 1.0)
    rgb = colour / np.maximum(alpha, 1e-6)[..., None]
    # Gaps keep the mean colour so filtering at strand edges does not darken or halo.
    rgb = np.where(covered[..., None] > 0.0, rgb, base.astype(np.float32))
    base_color = np.concatenate([_to_srgb(rgb), covered[..., None]], axis=-1)
    normal = np.stack([np.clip(slope, -0.8, 0.8), np.zeros_like(slope), np.ones_like(slope)], -1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    rough = np.clip(look.roughness + 0.12 * (0.5 - height), 0.2, 0.9)
    roughness = np.stack([np.zeros_like(rough), rough, np.zeros_like(rough)], -1)
    return StrandTextures(
        base_color=_u8(base_color),
        normal=_u8(normal * 0.5 + 0.5),
        roughness=_u8(roughness),
    )


def _draw_region(
    rng: np.random.Generator,
    look: _Look,
    base: np.ndarray,
    size: int,
    region: tuple[float, float, float, float],
    density: float,
    card: bool,
    colour: np.ndarray,
    alpha: np.ndarray,
    height: np.ndarray,
    slope: np.ndarray,
) -> None:
    """Draw one region's strands into the accumulators (premultiplied colour)."""
    x0, y0 = int(region[0] * size), int(region[1] * size)
    width, rows = int((region[2] - region[0]) * size), int((region[3] - region[1]) * size)
    scale = size / 1024.0
    count = max(4, int(look.strands_per_texel * density * width))
    centre = rng.uniform(0, width, count).astype(np.float32)
    strand_width = rng.uniform(*look.width, count) * max(scale, 0.35)
    if card:
        start = rng.uniform(0.0, 0.08, count)
        end = np.clip(start + rng.uniform(*look.length, count), 0.0, 1.0)
    elif (
        region == SHELL_DENSE_REGION
    ):  # dense shell: strands run the whole tile, thinning at its end
        start = rng.uniform(-0.3, 0.0, count)
        end = rng.uniform(0.9, 1.0, count)
    else:  # sparse shell: short dashes, the loose tips over the dense layer
        start = rng.uniform(-0.1, 1.0, count)
        end = np.minimum(start + rng.uniform(0.03, 0.16, count), rng.uniform(0.9, 1.0, count))
    phase = rng.uniform(0, 2 * np.pi, count).astype(np.float32)
    tint = _strand_tints(rng, base, count)  # (count, 3) linear

    y = ((np.arange(rows) + 0.5) / rows).astype(np.float32)  # 0 root … 1 tip
    start, end = start.astype(np.float32), end.astype(np.float32)
    t = np.clip((y[None, :] - start[:, None]) / (end - start)[:, None], -1.0, 2.0)  # (C, R)
    inside = (t >= 0.0) & (t <= 1.0)
    sway = look.sway if region != SHELL_SPARSE_REGION else min(look.sway, 1.0)
    x = centre[:, None] + sway * max(scale, 0.35) * np.sin(
        2 * np.pi * look.waviness * y[None, :] + phase[:, None]
    )
    half = 0.5 * strand_width[:, None] * (1.0 - 0.65 * np.clip(t, 0, 1) ** 2) + 0.35
    shade = look.root_dark + (look.tip_light - look.root_dark) * np.clip(t, 0, 1)
    fade = np.clip((1.0 - t) / 0.12, 0.0, 1.0)  # tips fade out
    reach = int(np.ceil(half.max() + 1))
    for dx in range(-reach, reach + 1):
        column = np.floor(x).astype(np.int64) + dx
        offset = (column + 0.5 - x) / half  # -1 … 1 across the strand
        cover = np.clip(1.0 - offset**2, 0.0, 1.0) ** 0.5 * inside * fade
        keep = cover > 0.0
        strand, row = np.nonzero(keep)
        col = column[keep] % width  # shells wrap sideways; cards have margins anyway
        c = cover[keep]
        py, px = y0 + row, x0 + col
        # Later strands lie over earlier ones ("over" compositing of the coverage).
        np.add.at(alpha, (py, px), c * (1.0 - np.clip(alpha[py, px], 0, 1)))
        rgb = tint[strand] * shade[strand, row][:, None] * (0.85 + 0.15 * c)[:, None]
        np.add.at(colour, (py, px), rgb * c[:, None])
        np.maximum.at(height, (py, px), c)
        np.add.at(slope, (py, px), offset[keep] * c * 0.7)


def _strand_tints(rng: np.random.Generator, base: np.ndarray, count: int) -> np.ndarray:
    """Per-strand colours around ``base`` (linear RGB).

    Pigmented hair varies in lightness and a little in hue; grey hair is a mix of
    pigmented, grey and white strands, which is what makes it read as grey.
    """
    lightness = np.exp(rng.normal(0.0, 0.18, count))
    hue = 1.0 + rng.normal(0.0, 0.04, (count, 3))
    tints = base[None, :] * lightness[:, None] * hue
    saturation = (base.max() - base.min()) / max(base.max(), 1e-6)
    if saturation < 0.15 and base.max() > 0.12:  # grey or white
        kind = rng.uniform(size=count)
        dark = kind < 0.25
        tints[dark] = np.array([0.06, 0.05, 0.045]) * lightness[dark, None] * 1.5
        white = kind > 0.8
        tints[white] = np.minimum(0.95, base.max() * 1.35) * np.array([1.0, 0.99, 0.97])
    return np.clip(tints, 0.0, 1.0)


def _to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def _u8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
