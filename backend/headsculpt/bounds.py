"""The axis-aligned box every field, grid and ray of the sculpt stage lives in.

The density field, the texture field, the prior's SDF grid, the tet grid, the
occupancy grid and the volume renderer's rays all cover the same box; one small value
type (shared by render/ and geometry/, hence core) keeps their mapping to the unit
cube identical, so a point means the same thing to each.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Box:
    """``centre`` ± ``half_extent`` per axis (world units)."""

    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    half_extent: tuple[float, float, float] = (1.0, 1.0, 1.0)  # one number: a cube

    def __post_init__(self) -> None:
        if isinstance(self.half_extent, (int, float)):
            object.__setattr__(self, "half_extent", (float(self.half_extent),) * 3)
        object.__setattr__(self, "centre", tuple(float(c) for c in self.centre))
        object.__setattr__(self, "half_extent", tuple(float(h) for h in self.half_extent))
        if len(self.centre) != 3 or len(self.half_extent) != 3:
            raise ValueError("centre and half_extent need three values each")
        if min(self.half_extent) <= 0.0:
            raise ValueError(f"half_extent must be positive, got {self.half_extent}")

    @classmethod
    def around(cls, points: torch.Tensor, padding: float = 0.1) -> Box:
        """The points' bounding box grown by ``padding`` × its largest side on every side."""
        lo, hi = points.min(0).values.double(), points.max(0).values.double()
        margin = padding * float((hi - lo).max())
        centre = ((lo + hi) / 2).tolist()
        half = ((hi - lo) / 2 + margin).clamp_min(1e-9).tolist()
        return cls(tuple(centre), tuple(half))

    def half_extents(self) -> tuple[float, float, float]:
        return self.half_extent

    def corners(
        self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(lower (3,), upper (3,)) corners."""
        centre = torch.tensor(self.centre, device=device, dtype=dtype)
        half = torch.tensor(self.half_extent, device=device, dtype=dtype)
        return centre - half, centre + half

    def lo(self, like: torch.Tensor | None = None) -> torch.Tensor:
        return self._tensor(self.centre, like) - self._tensor(self.half_extent, like)

    def size(self, like: torch.Tensor | None = None) -> torch.Tensor:
        return 2.0 * self._tensor(self.half_extent, like)

    def to_unit(self, points: torch.Tensor) -> torch.Tensor:
        """World points → the unit cube [0, 1]³ (not clamped)."""
        return (points - self.lo(points)) / self.size(points)

    def from_unit(self, unit: torch.Tensor) -> torch.Tensor:
        """Unit-cube points → world points."""
        return self.lo(unit) + unit * self.size(unit)

    def contains(self, points: torch.Tensor) -> torch.Tensor:
        """(N,) bool: inside the closed box."""
        unit = self.to_unit(points)
        return ((unit >= 0.0) & (unit <= 1.0)).all(-1)

    @staticmethod
    def _tensor(values: tuple[float, ...], like: torch.Tensor | None) -> torch.Tensor:
        if like is None:
            return torch.tensor(values, dtype=torch.float32)
        return torch.tensor(values, dtype=like.dtype, device=like.device)
