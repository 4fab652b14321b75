"""Seeded 3D value noise, sampled at surface positions.

Noise evaluated on the 3D surface (not in UV space) has no seams where UV
islands meet, and the same seed gives the same pattern on any shape.
"""

from __future__ import annotations

import torch

_LATTICE = 48  # lattice cells per tile; the tile repeats (mirrored) beyond that


class SolidNoise:
    """Fractal value noise over R³ from one seed; call with positions in metres."""

    def __init__(self, seed: int, channels: int = 1) -> None:
        generator = torch.Generator().manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)
        shape = (1, channels, _LATTICE, _LATTICE, _LATTICE)
        self._lattice = torch.rand(shape, generator=generator) * 2.0 - 1.0

    def __call__(self, positions: torch.Tensor, cycles_per_metre: float, octaves: int = 1):
        """(N, 3) positions → (N, C) noise in about [-1, 1]."""
        total = torch.zeros(positions.shape[0], self._lattice.shape[1])
        amplitude, norm, frequency = 1.0, 0.0, cycles_per_metre
        for octave in range(octaves):
            # Offset each octave so their lattices do not line up.
            shifted = positions * (frequency / _LATTICE) + 0.37 * octave
            grid = (shifted * 2.0 - 1.0).view(1, 1, 1, -1, 3).to(self._lattice.dtype)
            sample = torch.nn.functional.grid_sample(
                self._lattice, grid, mode="bilinear", padding_mode="reflection",
                align_corners=False,
            )  # fmt: skip
            total += amplitude * sample[0, :, 0, 0].T
            norm += amplitude
            amplitude *= 0.5
            frequency *= 2.0
        return total / norm
