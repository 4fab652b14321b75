"""Where a new copy of a head goes: beside its source, never on top of an earlier copy.

No bpy: the operators hand in world-space boxes (lowest and highest corner) of the
source and of what already stands in the scene.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Box = tuple[Sequence[float], Sequence[float]]  # (lowest corner, highest corner), world space


def free_shift(source: Box, others: Iterable[Box], spacing: float = 1.25) -> float:
    """How far along +X to move a copy of ``source``: ``spacing`` widths, then a width
    more each time the spot is taken by one of ``others``, until none overlaps."""
    low, high = source
    width = max(high[0] - low[0], 1e-3)
    others = list(others)
    shift = spacing * width
    for _ in range(1000):  # a scene holds far fewer heads in a row than this
        moved_low = (low[0] + shift, low[1], low[2])
        moved_high = (high[0] + shift, high[1], high[2])
        if not any(_overlap((moved_low, moved_high), other) for other in others):
            return shift
        shift += width
    return shift


def _overlap(a: Box, b: Box) -> bool:
    """Whether two boxes share some volume (touching faces do not count)."""
    return all(a[0][i] < b[1][i] - 1e-6 and b[0][i] < a[1][i] - 1e-6 for i in range(3))
