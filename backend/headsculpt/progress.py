"""One progress interface for every pipeline: the CLI draws a bar, the server stores it."""

from __future__ import annotations

from typing import Protocol


class ProgressCallback(Protocol):
    def __call__(self, stage: str, fraction: float) -> None:
        """``stage`` names the step now running; ``fraction`` is overall progress in [0, 1]."""


def no_progress(stage: str, fraction: float) -> None:
    """The default callback: report nothing."""
