"""Pinhole cameras in the head prior's frame (Z up, the face looks toward −Y).

Azimuth 0° looks at the face from the front; positive azimuth turns the camera
toward the head's left side (+X), so 90° is the left profile and 180° the back.
Matrices follow OpenGL: the camera looks down its −Z axis and NDC z is in [−1, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

WORLD_UP = (0.0, 0.0, 1.0)
FACE_FORWARD = (0.0, -1.0, 0.0)  # the way the face looks, in the prior frame and its unit frame


@dataclass(frozen=True)
class Camera:
    """A look-at perspective camera."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    fov_y_degrees: float = 30.0
    near: float = 0.01
    far: float = 10.0
    up: tuple[float, float, float] = WORLD_UP

    def view_matrix(
        self, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """World → camera (4×4) on ``device``: worked out on the host in float64 (a
        camera is a handful of numbers), made a tensor once."""
        return torch.as_tensor(self._view(), dtype=dtype, device=device)

    def projection_matrix(
        self,
        aspect: float = 1.0,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> torch.Tensor:
        """Camera → clip (4×4) on ``device``, OpenGL convention."""
        return torch.as_tensor(self._projection(aspect), dtype=dtype, device=device)

    def to_clip(self, points: torch.Tensor, aspect: float = 1.0) -> torch.Tensor:
        """World points (V, 3) → homogeneous clip positions (V, 4), on the points' device."""
        matrix = self._projection(aspect) @ self._view()
        matrix = torch.as_tensor(matrix.T, dtype=points.dtype, device=points.device)
        homogeneous = torch.cat([points, torch.ones_like(points[:, :1])], dim=1)
        return homogeneous @ matrix

    def _view(self) -> np.ndarray:
        eye = np.asarray(self.eye, np.float64)
        forward = np.asarray(self.target, np.float64) - eye
        forward = forward / np.linalg.norm(forward)
        right = np.cross(forward, np.asarray(self.up, np.float64))
        if np.linalg.norm(right) < 1e-9:  # looking straight up or down: any right will do
            right = np.array([1.0, 0.0, 0.0])
        right = right / np.linalg.norm(right)
        true_up = np.cross(right, forward)
        view = np.eye(4)
        view[0, :3], view[1, :3], view[2, :3] = right, true_up, -forward
        view[:3, 3] = -view[:3, :3] @ eye
        return view

    def _projection(self, aspect: float) -> np.ndarray:
        f = 1.0 / math.tan(math.radians(self.fov_y_degrees) / 2.0)
        n, fa = self.near, self.far
        proj = np.zeros((4, 4))
        proj[0, 0] = f / aspect
        proj[1, 1] = f
        proj[2, 2] = (fa + n) / (n - fa)
        proj[2, 3] = 2.0 * fa * n / (n - fa)
        proj[3, 2] = -1.0
        return proj


def orbit_camera(
    azimuth_degrees: float,
    elevation_degrees: float,
    distance: float,
    target: tuple[float, float, float],
    fov_y_degrees: float = 30.0,
) -> Camera:
    """A camera on a sphere around ``target``; see the module docstring for angles."""
    azimuth, elevation = math.radians(azimuth_degrees), math.radians(elevation_degrees)
    offset = (
        distance * math.cos(elevation) * math.sin(azimuth),
        -distance * math.cos(elevation) * math.cos(azimuth),
        distance * math.sin(elevation),
    )
    eye = tuple(t + o for t, o in zip(target, offset, strict=True))
    return Camera(eye=eye, target=tuple(target), fov_y_degrees=fov_y_degrees)


def framing_distance(radius: float, fov_y_degrees: float, margin: float = 1.15) -> float:
    """Distance at which a sphere of ``radius`` fills the view with a small margin."""
    return margin * radius / math.sin(math.radians(fov_y_degrees) / 2.0)


def to_pixels(
    camera: Camera, points: torch.Tensor, width: int, height: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """World points (N, 3) → pixel coordinates (N, 2) and NDC depth (N,).

    Pixel coordinates are continuous with pixel (col, row) covering
    [col, col + 1] × [row, row + 1] and row 0 at the top, as image tools
    (MediaPipe, PIL) count them.
    """
    clip = camera.to_clip(points, aspect=width / height)
    ndc = clip[:, :3] / clip[:, 3:4]
    x = (ndc[:, 0] + 1.0) * 0.5 * width
    y = (1.0 - ndc[:, 1]) * 0.5 * height
    return torch.stack([x, y], dim=1), ndc[:, 2]
