"""MediaPipe face detection and FaceMesh, run in MediaPipe's own Python.

``mediapipe==0.10.21`` (the last wheel that ships the FaceMesh and face
detection models) needs Python ≤ 3.12 and numpy < 2, which the backend's
environment does not promise. So the judge renders images here and hands them to
``mediapipe_worker.py`` in an interpreter that has MediaPipe, found in this
order: the ``python`` argument, ``$HEADSCULPT_MEDIAPIPE_PYTHON``, this
interpreter if it can import mediapipe, the checkout's ``.venv-mediapipe``
(made by ``scripts/bootstrap.sh --judge``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from headsculpt.progress import ProgressCallback, no_progress

WORKER = Path(__file__).with_name("mediapipe_worker.py")
PYTHON_VARIABLE = "HEADSCULPT_MEDIAPIPE_PYTHON"
_CHECKOUT_VENV = Path(__file__).resolve().parents[3] / ".venv-mediapipe" / "bin" / "python"
SETUP_HINT = (
    "the MediaPipe judge needs mediapipe==0.10.21 (Python 3.11, numpy<2) in its own "
    f"environment: run scripts/bootstrap.sh --judge, or set {PYTHON_VARIABLE} to a Python "
    "that has it"
)


class MediaPipeUnavailableError(RuntimeError):
    """No interpreter with MediaPipe was found, or it failed to run."""


@dataclass
class FaceFinding:
    """What MediaPipe saw in one image."""

    short_range: float  # best score of the short-range (close-up) face detector, 0 if none
    full_range: float  # the same for the full-range detector
    landmarks: np.ndarray | None  # (478, 2) pixel coordinates (pixel (0, 0) spans [0, 1]²)

    @property
    def face_score(self) -> float:
        """How surely both detectors see a face: the lower of their scores.

        The short-range model alone scores the back of some bald heads at 0.5–0.7;
        the full-range one does not, while both score real faces well above 0.5.
        """
        return min(self.short_range, self.full_range)


def find_mediapipe_python(python: str | os.PathLike | None = None) -> str:
    """The interpreter that will run the worker (see the module docstring)."""
    candidates = [python, os.environ.get(PYTHON_VARIABLE)]
    for candidate in candidates:
        if candidate:
            if not Path(candidate).exists():
                raise MediaPipeUnavailableError(f"{candidate} does not exist; {SETUP_HINT}")
            return str(candidate)
    if importlib.util.find_spec("mediapipe") is not None:
        return sys.executable
    if _CHECKOUT_VENV.exists():
        return str(_CHECKOUT_VENV)
    raise MediaPipeUnavailableError(SETUP_HINT)


class MediaPipeFaces:
    """Detect faces and their 478 landmarks in images through the worker."""

    def __init__(self, python: str | os.PathLike | None = None) -> None:
        self.python = find_mediapipe_python(python)

    def detect(
        self, images: list[np.ndarray], progress: ProgressCallback = no_progress
    ) -> list[FaceFinding]:
        """One finding per (H, W, 3) uint8 RGB image, in order; reports each image done."""
        with tempfile.TemporaryDirectory(prefix="headsculpt-judge-") as folder:
            paths = []
            for index, image in enumerate(images):
                path = Path(folder) / f"view_{index:03d}.png"
                Image.fromarray(image).save(path)
                paths.append(str(path))
            answer = self._run({"images": paths}, progress)
        return [
            FaceFinding(
                short_range=float(item["short_range"]),
                full_range=float(item["full_range"]),
                landmarks=None if item["landmarks"] is None else np.asarray(item["landmarks"]),
            )
            for item in answer["results"]
        ]

    def connections(self) -> dict[str, list[list[int]]]:
        """MediaPipe's FaceMesh drawing groups (face oval, lips, eyes, eyebrows)."""
        return self._run({"connections": True})["connections"]

    def _run(self, request: dict, progress: ProgressCallback = no_progress) -> dict:
        with tempfile.TemporaryFile("w+") as errors:
            worker = subprocess.Popen(
                [self.python, str(WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
            worker.stdin.write(json.dumps(request))
            worker.stdin.close()
            answer = None
            for line in worker.stdout:
                message = json.loads(line)
                if "done" in message:
                    progress("detect", message["done"] / message["of"])
                else:
                    answer = message
            code = worker.wait()
            errors.seek(0)
            tail = errors.read().strip().splitlines()[-5:]
        if code != 0 or answer is None:
            raise MediaPipeUnavailableError(
                f"MediaPipe worker failed with {self.python} (exit {code}): "
                + " | ".join(tail)
                + f"; {SETUP_HINT}"
            )
        return answer
