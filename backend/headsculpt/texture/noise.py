"""Seeded solid noise on the head surface, fast enough for half-second heads.

Noise evaluated on the 3D surface (not in UV space) has no seams where UV
islands meet. Sampling 3D noise at every texel is the slow part, and it does
not depend on the seed, so a :class:`NoiseBank` samples a few independent
fractal fields per frequency band once per UV layout; a seed then mixes them
with random unit-length weights. A unit-length mix of independent fields has
the same variance and spectrum as one field, so every seed gets fresh noise of
the same character for the cost of a small matrix product.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import torch

from headsculpt.progress import ProgressCallback, no_progress

_LATTICE = 48  # lattice cells per tile; the tile repeats (mirrored) beyond that
_FIELDS_PER_BAND = 6


@dataclass(frozen=True)
class NoiseBand:
    """Fractal noise starting at ``cycles_per_metre``, doubling ``octaves`` times."""

    cycles_per_metre: float
    octaves: int = 1


def solid_noise(positions: torch.Tensor, band: NoiseBand, fields: int, seed: int) -> torch.Tensor:
    """(N, 3) positions in metres → (N, fields) independent fractal value noise in ~[-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    lattice = torch.rand((1, fields, _LATTICE, _LATTICE, _LATTICE), generator=generator) * 2 - 1
    total = torch.zeros(positions.shape[0], fields)
    amplitude, norm, frequency = 1.0, 0.0, band.cycles_per_metre
    for octave in range(band.octaves):
        shifted = positions * (frequency / _LATTICE) + 0.37 * octave  # decorrelate octaves
        grid = (shifted * 2.0 - 1.0).view(1, 1, 1, -1, 3).to(lattice.dtype)
        sample = torch.nn.functional.grid_sample(
            lattice, grid, mode="bilinear", padding_mode="reflection", align_corners=False
        )
        total += amplitude * sample[0, :, 0, 0].T
        norm += amplitude
        amplitude *= 0.5
        frequency *= 2.0
    return total / norm


class NoiseBank:
    """Independent noise fields per band, sampled once at fixed positions."""

    def __init__(
        self,
        positions: torch.Tensor,
        bands: dict[str, NoiseBand],
        progress: ProgressCallback = no_progress,
    ) -> None:
        self._fields = {}
        for index, (name, band) in enumerate(sorted(bands.items())):
            progress("prepare", index / len(bands))  # seconds per band at 2048²
            self._fields[name] = solid_noise(positions, band, _FIELDS_PER_BAND, seed=index)

    def draw(self, band: str, seed: int, channels: int = 1) -> torch.Tensor:
        """(N, channels) noise of ``band`` for ``seed``; channels are independent."""
        generator = torch.Generator().manual_seed(zlib.crc32(f"{band}:{seed}".encode()))
        weights = torch.randn((_FIELDS_PER_BAND, channels), generator=generator)
        weights = weights / weights.norm(dim=0, keepdim=True)
        return self._fields[band] @ weights
