"""One progress interface for every pipeline: the CLI draws a bar, the server stores it.

A callback may also stop the pipeline: raising :class:`Cancelled` from it ends
the run at that step (the server does this when a job is cancelled), so every
pipeline reports progress often enough for a cancel to take effect promptly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image


class Cancelled(Exception):  # noqa: N818 (a stop signal, not an error)
    """Raised by a progress callback to stop the running pipeline between steps."""


class ProgressCallback(Protocol):
    def __call__(self, stage: str, fraction: float, preview: Image.Image | None = None) -> None:
        """``stage`` names the step now running; ``fraction`` is overall progress in [0, 1];
        ``preview`` is an optional picture of the work so far (long pipelines)."""


def no_progress(stage: str, fraction: float, preview: Image.Image | None = None) -> None:
    """The default callback: report nothing."""


def scaled_progress(progress: ProgressCallback, start: float, end: float) -> ProgressCallback:
    """A callback for one part of a job: its 0–1 maps to ``start``–``end`` of the whole."""

    def report(stage: str, fraction: float, preview: Image.Image | None = None) -> None:
        progress(stage, start + (end - start) * fraction, preview)

    return report
