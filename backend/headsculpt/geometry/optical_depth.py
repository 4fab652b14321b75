"""How opaque the coarse field is between each grid vertex and the outside.

The coarse stage is trained on volume renders, and a render only needs light to be
stopped, not stopped at one density: where the field grew past the prior (a taller
skull, a horn) it often grows a shell of middling density over a hollow. The shell is
opaque in every render, yet a single density threshold cuts holes in it, and DMTet
then starts from a cratered surface the fine stage cannot close. A vertex that light
from every direction reaches only through opaque matter is inside, whatever its own
density: that is the surface the renders showed.

Light is followed along the 26 directions of the lattice (axes, face and cube
diagonals), each exactly by a running sum slice by slice over the grid.
"""

from __future__ import annotations

import itertools
import math

import torch

# The 26 steps to a lattice neighbour: the directions light is followed along.
LATTICE_DIRECTIONS = tuple(d for d in itertools.product((-1, 0, 1), repeat=3) if any(d))

# Transmittance 1/2: the median depth of a volume render, where it draws the surface.
HALF_TRANSMITTANCE_DEPTH = math.log(2.0)


def optical_depth_from_outside(density: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
    """Per vertex of a regular grid, the least optical depth from the grid's outside.

    ``density`` (X, Y, Z) sampled at the grid's vertices; ``cell`` (3,) the spacing per
    axis (world units). Returns (X, Y, Z): for each vertex the smallest, over the 26
    lattice directions, of ∫ density along the straight path from the grid's border to
    it (trapezoid rule over the vertices passed). Outside the grid there is no density.
    """
    if density.dim() != 3:
        raise ValueError(f"density must be a (X, Y, Z) grid, got shape {tuple(density.shape)}")
    least = torch.full_like(density, math.inf)
    for direction in LATTICE_DIRECTIONS:
        step = torch.tensor(direction, dtype=density.dtype, device=density.device)
        length = float(torch.linalg.vector_norm(step * cell.to(density)))
        least = torch.minimum(least, _along(density, direction, length))
    return least


def _along(density: torch.Tensor, direction: tuple[int, int, int], length: float) -> torch.Tensor:
    """Optical depth to each vertex of light travelling along ``direction`` (grid steps).

    depth(v) = depth(v − direction) + length·(density(v − direction) + density(v))/2,
    both taken as zero where v − direction is off the grid (the sweep's first slice is
    left at zero: a grid's border is empty space around the head). The sweep runs along
    the first axis the direction moves on, so each slice needs only the one before it.
    """
    axis = next(a for a in range(3) if direction[a])
    moving = density.movedim(axis, 0)
    shift = [direction[a] for a in range(3) if a != axis]  # the step within a slice
    order = range(moving.shape[0]) if direction[axis] > 0 else range(moving.shape[0] - 1, -1, -1)
    depth = torch.zeros_like(moving)
    previous = None
    for index in order:
        if previous is not None:
            earlier_depth = _shifted(depth[previous], shift)
            earlier_density = _shifted(moving[previous], shift)
            depth[index] = earlier_depth + 0.5 * length * (earlier_density + moving[index])
        previous = index
    return depth.movedim(0, axis)


def _shifted(plane: torch.Tensor, shift: list[int]) -> torch.Tensor:
    """``plane`` moved by ``shift`` cells (what lands at (u, v) came from (u−su, v−sv));
    zero where nothing came from."""
    result = torch.zeros_like(plane)
    su, sv = shift
    rows, cols = plane.shape
    result[max(su, 0) : rows + min(su, 0), max(sv, 0) : cols + min(sv, 0)] = plane[
        max(-su, 0) : rows + min(-su, 0), max(-sv, 0) : cols + min(-sv, 0)
    ]
    return result
