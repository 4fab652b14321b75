"""An occupancy grid over the field's box: which cells may hold density.

Volume rendering spends almost all its time evaluating the field; most samples
of a head fall in empty air. The grid keeps a decaying maximum of the density
seen in each cell (nerfacc's estimator) and the volume renderer evaluates the
field only at samples in occupied cells. The occupied set is dilated by
``dilation`` cells: a cell the jittered probes narrowly missed is still rendered,
and geometry keeps a band of evaluated (hence trainable) space to grow into.
The grid is an ``nn.Module`` whose state lives in buffers, so it saves and
loads with the field's checkpoint and moves with ``.to(device)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from headsculpt.bounds import Box

DensityFn = Callable[[torch.Tensor], torch.Tensor]  # points (N, 3) → density (N,)
# Grids up to this many cells have every cell probed at every update: one probe a cell
# every 16 steps costs less than a step's samples, and a cell probed only now and then
# remembers a passing spike of density for hundreds of steps (docs/sculpt.md).
PROBE_EVERY_CELL_UP_TO = 64**3


class OccupancyGrid(nn.Module):
    """``resolution``³ cells over ``box``; every cell starts occupied."""

    def __init__(
        self, box: Box, resolution: int = 64, dilation: int = 1, device: torch.device | str = "cpu"
    ) -> None:
        super().__init__()
        if resolution < 1 or dilation < 0:
            raise ValueError("resolution must be ≥ 1 and dilation ≥ 0")
        self.box = box
        self.resolution = resolution
        self.dilation = dilation
        lower, upper = box.corners(device)
        cube = (resolution,) * 3
        self.register_buffer("lower", lower)
        self.register_buffer("cell_size", (upper - lower) / resolution)
        self.register_buffer("density", torch.zeros(cube, device=device))
        self.register_buffer("mask", torch.ones(cube, dtype=torch.bool, device=device))
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64, device=device))

    @property
    def occupied_fraction(self) -> float:
        """Share of cells that the renderer evaluates."""
        return self.mask.float().mean().item()

    def cell_indices(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(flat cell index (N,), inside-the-box (N,) bool) of world points (N, 3)."""
        scaled = (points - self.lower) / self.cell_size
        inside = ((scaled >= 0) & (scaled < self.resolution)).all(dim=1)
        cells = scaled.floor().long().clamp(0, self.resolution - 1)
        res = self.resolution
        return (cells[:, 0] * res + cells[:, 1]) * res + cells[:, 2], inside

    def occupied(self, points: torch.Tensor) -> torch.Tensor:
        """(N,) bool: points inside the box whose cell is occupied."""
        flat, inside = self.cell_indices(points.detach())
        return self.mask.view(-1)[flat] & inside

    @torch.no_grad()
    def update(
        self,
        density_fn: DensityFn,
        step: int,
        decay: float = 0.95,
        threshold: float = 0.01,
        warmup_steps: int = 256,
        generator: torch.Generator | None = None,
        chunk_size: int = 2**18,
    ) -> None:
        """Probe the density at one jittered point per chosen cell and re-mark cells.

        Every cell is probed during the first ``warmup_steps`` steps and, on grids of
        up to ``PROBE_EVERY_CELL_UP_TO`` cells, always; on larger grids, after the
        warm-up, a random quarter of all cells plus a random quarter of the occupied
        ones (the cells that matter get refreshed more often). Each probed cell keeps
        ``max(decay · old, new)``; a cell is occupied when that exceeds
        ``min(threshold, mean density)`` (a field that is faint everywhere is not
        culled away), before dilation. A grid with no occupied cell would starve the
        field of gradients, so it falls back to all cells. Call it every few
        training steps (nerfacc: 16).
        """
        device = self.density.device
        count = self.resolution**3
        if step < warmup_steps or count <= PROBE_EVERY_CELL_UP_TO:
            cells = torch.arange(count, device=device)
        else:
            quarter = max(count // 4, 1)
            anywhere = torch.randint(count, (quarter,), device=device, generator=generator)
            occupied = torch.nonzero(self.mask.view(-1)).squeeze(1)
            if occupied.numel() > 0:
                pick = torch.randint(
                    occupied.numel(), (quarter,), device=device, generator=generator
                )
                anywhere = torch.cat([anywhere, occupied[pick]])
            cells = torch.unique(anywhere)
        res = self.resolution
        ijk = torch.stack([cells // (res * res), (cells // res) % res, cells % res], dim=1)
        jitter = torch.rand(
            ijk.shape, device=device, dtype=self.cell_size.dtype, generator=generator
        )
        points = self.lower + (ijk + jitter) * self.cell_size
        probed = torch.cat(
            [density_fn(chunk).reshape(-1).float() for chunk in points.split(chunk_size)]
        )
        flat = self.density.view(-1)
        flat[cells] = torch.maximum(flat[cells] * decay, probed)
        cutoff = min(threshold, flat.mean().item())
        mask = self.density > cutoff
        if self.dilation > 0:
            size = 2 * self.dilation + 1
            grown = nn.functional.max_pool3d(
                mask[None, None].float(), size, stride=1, padding=self.dilation
            )
            mask = grown[0, 0] > 0
        if not mask.any():  # nothing evaluated would mean no gradient could ever bring density
            mask = torch.ones_like(mask)
        self.mask.copy_(mask)
        self.updates += 1
