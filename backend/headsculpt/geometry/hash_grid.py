"""Multi-resolution hash encoding (Instant-NGP, Müller et al. 2022) in plain torch.

The coarse stage's density and colour live in a stack of 3D grids of learnable
feature vectors, from coarse (a few cells across the box) to fine (thousands):
coarse levels give smooth shape quickly, fine ones detail. Levels whose grid fits
in the table are indexed densely; finer ones share a fixed-size table through a
spatial hash (collisions are left for the MLP and gradient averaging to resolve).

Everything is ordinary torch ops, so gradients reach the table *and* the input
points, and second derivatives work (normals from ∇density with ``create_graph``
for the orientation loss). tiny-cuda-nn, when importable on a CUDA machine, is
used instead (several times faster) when the encoding is built *for a CUDA device*;
its parameters have their own layout, so the choice is made once, when the encoding is
built, by the device it is given (see :attr:`HashGridEncoding.backend`). A CPU run
never reaches tiny-cuda-nn, installed or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

# Instant-NGP's hash primes; the first is 1 so neighbouring x stay coherent in memory.
_PRIMES = (1, 2654435761, 805459861)
_INIT_RANGE = 1e-4  # Instant-NGP: tiny features, so the MLP sees ~0 at step 0


@dataclass(frozen=True)
class HashGridConfig:
    """threestudio's defaults (16 levels × 2 features, 2^19 entries, 16 → ~4096 cells)."""

    levels: int = 16
    features_per_level: int = 2
    log2_table_size: int = 19
    base_resolution: int = 16
    per_level_scale: float = 1.4473
    use_tcnn: bool = True  # tiny-cuda-nn when importable and the encoding is built on CUDA

    @property
    def output_dim(self) -> int:
        return self.levels * self.features_per_level

    @property
    def table_size(self) -> int:
        return 2**self.log2_table_size

    def resolutions(self) -> list[int]:
        """Cells per axis of each level (the grid has one more vertex per axis)."""
        return [
            max(1, math.floor(self.base_resolution * self.per_level_scale**level))
            for level in range(self.levels)
        ]


class HashGridEncoding(nn.Module):
    """(N, 3) points in [0, 1]³ → (N, levels × features_per_level) float32 features.

    ``device``: where its parameters live; tiny-cuda-nn stands behind it only there, on
    CUDA, when importable (``config.use_tcnn``).
    """

    def __init__(
        self, config: HashGridConfig | None = None, device: torch.device | str = "cpu"
    ) -> None:
        super().__init__()
        self.config = config or HashGridConfig()
        device = torch.device(device)
        self._tcnn = _tcnn_encoding(self.config, device) if self.config.use_tcnn else None
        self.resolutions = self.config.resolutions()
        # A level is dense when its whole vertex grid fits in the table.
        self.dense = [(r + 1) ** 3 <= self.config.table_size for r in self.resolutions]
        sizes = [
            (r + 1) ** 3 if dense else self.config.table_size
            for r, dense in zip(self.resolutions, self.dense, strict=True)
        ]
        self.offsets = [sum(sizes[:level]) for level in range(len(sizes))]
        if self._tcnn is None:
            table = torch.empty(sum(sizes), self.config.features_per_level, device=device)
            self.table = nn.Parameter(table.uniform_(-_INIT_RANGE, _INIT_RANGE))

    @property
    def backend(self) -> str:
        """``"tcnn"`` (tiny-cuda-nn, CUDA inputs only) or ``"torch"`` (any device)."""
        return "torch" if self._tcnn is None else "tcnn"

    @property
    def output_dim(self) -> int:
        return self.config.output_dim

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"points must be (N, 3), got {tuple(points.shape)}")
        unit = points.float().clamp(0.0, 1.0)
        if self._tcnn is not None:
            if not unit.is_cuda:
                raise RuntimeError("this encoding was built on tiny-cuda-nn: give it CUDA points")
            return self._tcnn(unit).float()
        corners = [self._level_corners(unit, level) for level in range(len(self.dense))]
        ids = torch.stack([ids for ids, _ in corners], 1)  # (N, levels, 8)
        weights = torch.stack([weights for _, weights in corners], 1)  # (N, levels, 8)
        # One gather for all levels: its backward fills one table-sized gradient, not 16.
        features = self.table.index_select(0, ids.reshape(-1)).view(*ids.shape, -1)
        return (features * weights[..., None]).sum(2).reshape(len(unit), -1)

    def _level_corners(self, unit: torch.Tensor, level: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Table rows (N, 8) of the cell's corners at one level and their trilinear weights."""
        cells = self.resolutions[level]
        position = unit * cells
        # The last cell is closed on both sides: x = 1 interpolates with weight 1 at the top.
        corner = position.detach().floor().clamp(0, cells - 1)
        fraction = position - corner  # carries the gradient w.r.t. the points
        corner = corner.long()
        axis_ids = torch.stack([corner, corner + 1], -1)  # (N, 3, 2)
        axis_weights = torch.stack([1.0 - fraction, fraction], -1)  # (N, 3, 2)
        if self.dense[level]:
            strides = torch.tensor([1, cells + 1, (cells + 1) ** 2], device=unit.device)
            terms = axis_ids * strides[:, None]
            ids = (
                terms[:, 0, None, None, :] + terms[:, 1, None, :, None] + terms[:, 2, :, None, None]
            )
        else:
            primes = torch.tensor(_PRIMES, device=unit.device)
            terms = axis_ids * primes[:, None]
            ids = (
                terms[:, 0, None, None, :] ^ terms[:, 1, None, :, None] ^ terms[:, 2, :, None, None]
            )
            ids = ids & (self.config.table_size - 1)
        weights = (
            axis_weights[:, 0, None, None, :]
            * axis_weights[:, 1, None, :, None]
            * axis_weights[:, 2, :, None, None]
        )  # (N, 2, 2, 2): corner (z, y, x) bits, the same order as ids
        count = len(unit)
        return ids.reshape(count, 8) + self.offsets[level], weights.reshape(count, 8)


def _tcnn_encoding(config: HashGridConfig, device: torch.device) -> nn.Module | None:
    """tiny-cuda-nn's HashGrid with the same settings on ``device``, or None where it cannot
    run: a device other than CUDA, or no tiny-cuda-nn."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    try:
        import tinycudann
    except ImportError:  # the usual case: no wheels on PyPI; the torch path serves
        return None
    with torch.cuda.device(device):  # tiny-cuda-nn builds on the current CUDA device
        return tinycudann.Encoding(
            3,
            {
                "otype": "HashGrid",
                "n_levels": config.levels,
                "n_features_per_level": config.features_per_level,
                "log2_hashmap_size": config.log2_table_size,
                "base_resolution": config.base_resolution,
                "per_level_scale": config.per_level_scale,
            },
        )
