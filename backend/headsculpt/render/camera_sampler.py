"""Random and evenly spaced views of a head, each with HeadSculpt's view label.

Score distillation sees the head from a random camera at every step; the view
label ("front", "side", "back", "overhead") picks the prompt suffix ("…, back view
of head") and whether the landmark ControlNet is used (not for back views). The
label ranges follow the DreamFusion lineage HeadSculpt forks: front within ±30°
of the face, back within ±30° of the back of the head, overhead above 60°.

Distance is sampled as a *framing margin*: the camera sits where a sphere around
the head fills the chosen field of view times the margin, so the head's size on
screen stays in range whatever the field of view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from headsculpt.render.camera import Camera, framing_distance, orbit_camera

VIEW_LABELS: tuple[str, ...] = ("front", "side", "back", "overhead")


@dataclass(frozen=True)
class ViewRanges:
    """Where one view label ends and the next begins (degrees)."""

    front_span: float = 60.0  # azimuths within ±front_span/2 of the face are "front"
    back_span: float = 60.0  # within ±back_span/2 of the back of the head: "back"
    overhead_elevation: float = 60.0  # at or above this elevation: "overhead"

    def label(self, azimuth_degrees: float, elevation_degrees: float) -> str:
        """The view label of a camera at these angles (azimuth 0 = front, 180 = back)."""
        if elevation_degrees >= self.overhead_elevation:
            return "overhead"
        off_front = abs((azimuth_degrees + 180.0) % 360.0 - 180.0)  # 0 … 180
        if off_front < self.front_span / 2.0:
            return "front"
        if off_front > 180.0 - self.back_span / 2.0:
            return "back"
        return "side"


@dataclass(frozen=True)
class CameraSamplerConfig:
    """Ranges sampled uniformly (degrees; framing as a multiple of the tight distance)."""

    elevation_range: tuple[float, float] = (-10.0, 45.0)
    azimuth_range: tuple[float, float] = (-180.0, 180.0)
    fov_range: tuple[float, float] = (30.0, 45.0)
    framing_range: tuple[float, float] = (1.0, 1.3)
    views: ViewRanges = ViewRanges()

    def __post_init__(self) -> None:
        for name in ("elevation_range", "azimuth_range", "fov_range", "framing_range"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name}: low {low} is above high {high}")
        if not (self.fov_range[0] > 0.0 and self.fov_range[1] < 180.0):
            raise ValueError("fov_range must lie inside (0, 180) degrees")
        if self.framing_range[0] <= 0.0:
            raise ValueError("framing_range must be positive")
        if not (self.elevation_range[0] >= -90.0 and self.elevation_range[1] <= 90.0):
            raise ValueError("elevation_range must lie inside [-90, 90] degrees")


@dataclass(frozen=True)
class SampledView:
    """A camera and the angles and label it was made from."""

    camera: Camera
    azimuth: float
    elevation: float
    fov: float
    label: str


class CameraSampler:
    """Draws views around a head of known centre and bounding radius."""

    def __init__(
        self,
        target: tuple[float, float, float],
        radius: float,
        config: CameraSamplerConfig | None = None,
    ) -> None:
        if radius <= 0.0:
            raise ValueError(f"radius must be positive, got {radius}")
        self.target = tuple(float(c) for c in target)
        self.radius = float(radius)
        self.config = config or CameraSamplerConfig()

    @classmethod
    def around(
        cls, vertices: np.ndarray, config: CameraSamplerConfig | None = None
    ) -> CameraSampler:
        """A sampler framing the bounding box of ``vertices`` (V, 3): centre, half diagonal."""
        low, high = vertices.min(0), vertices.max(0)
        target = tuple(float(c) for c in (low + high) / 2.0)
        return cls(target, float(np.linalg.norm(high - low)) / 2.0, config)

    def view(self, azimuth: float, elevation: float, fov: float, framing: float) -> SampledView:
        """The view at exactly these angles (degrees) and framing margin."""
        distance = framing_distance(self.radius, fov, margin=framing)
        camera = orbit_camera(azimuth, elevation, distance, self.target, fov)
        label = self.config.views.label(azimuth, elevation)
        return SampledView(camera, float(azimuth), float(elevation), float(fov), label)

    def sample(self, count: int, generator: torch.Generator | None = None) -> list[SampledView]:
        """``count`` random views, reproducible through ``generator``."""
        config = self.config
        # Drawn where the generator lives (one device, one random stream per run); a camera
        # is a few numbers the host needs, so they come back as floats.
        device = "cpu" if generator is None else generator.device
        draws = torch.rand(count, 4, generator=generator, dtype=torch.float64, device=device)
        ranges = np.array(
            [config.azimuth_range, config.elevation_range, config.fov_range, config.framing_range]
        )
        values = ranges[:, 0] + draws.cpu().numpy() * (ranges[:, 1] - ranges[:, 0])
        return [self.view(*(float(v) for v in row)) for row in values]

    def orbit(
        self, count: int, elevation: float = 5.0, fov: float = 30.0, framing: float = 1.05
    ) -> list[SampledView]:
        """``count`` views evenly spaced around the head, the first one facing it."""
        return [self.view(360.0 * k / count, elevation, fov, framing) for k in range(count)]
