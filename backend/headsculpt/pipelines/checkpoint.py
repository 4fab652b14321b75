"""A stage's checkpoint: what a sculpt or edit stage needs to go on after a crash.

A stage saves its state about once a minute of wall time and when it is stopped (a
cancel, a shutdown), atomically, so a crash leaves the previous checkpoint or the new
one, never half. It holds only what cannot be made again from the request and the
preset: learnt parameters, the optimiser's moments, the occupancy grid's memory, the
random generator's state, the loss curve and the step — not the tet grid's vertices and
tets (DMTet rebuilds them; a ``standard`` grid's int64 tets alone are 400 MB).

A checkpoint that cannot be read (a disk filled mid-write by something else, a file
from an incompatible version) is set aside as ``<name>.damaged`` and the stage starts
from its beginning; :attr:`StageCheckpoint.restarted` says why, for the sidecar.
"""

from __future__ import annotations

import os
import pickle
import time
import zipfile
from pathlib import Path
from typing import Any

import torch


class StageCheckpoint:
    """One stage's state in one file: its ``parts`` (anything with a state_dict: modules,
    the optimiser), the random generator, the loss curve and the step."""

    def __init__(
        self, path: Path, generator: torch.Generator, every_seconds: float, **parts: Any
    ) -> None:
        self.path = Path(path)
        self.generator = generator
        self.every_seconds = every_seconds
        self.parts = parts
        self.restarted: str | None = None  # why a damaged checkpoint was set aside
        self._saved_at = time.monotonic()

    def restore(self) -> tuple[list[float], int]:
        """Load the last checkpoint into the parts: (losses so far, the step to go on from);
        ([], 0) when there is none, or when it is damaged (then set aside)."""
        if not self.path.exists():
            return [], 0
        device = self.generator.device
        try:
            state = torch.load(self.path, map_location=device, weights_only=False)
            for name, part in self.parts.items():
                part.load_state_dict(state[name])
            self.generator.set_state(state["generator"].cpu())
            losses, step = list(state["losses"]), int(state["step"])
        except (RuntimeError, EOFError, KeyError, ValueError, TypeError, pickle.UnpicklingError,
                zipfile.BadZipFile) as error:  # fmt: skip
            damaged = self.path.with_suffix(".damaged")
            os.replace(self.path, damaged)
            self.restarted = (
                f"the checkpoint {self.path.name} could not be read ({type(error).__name__}); "
                f"it was set aside as {damaged.name} and the stage started again"
            )
            return [], 0
        self._saved_at = time.monotonic()
        return losses, step

    def due(self) -> bool:
        """Whether ``every_seconds`` of wall time have passed since the last save."""
        return time.monotonic() - self._saved_at >= self.every_seconds

    def save(self, losses: list[float], step: int) -> None:
        state = {name: part.state_dict() for name, part in self.parts.items()}
        state.update(generator=self.generator.get_state(), losses=losses, step=step)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        torch.save(state, partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, self.path)
        self._saved_at = time.monotonic()
