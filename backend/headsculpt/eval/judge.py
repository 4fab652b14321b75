"""The MediaPipe judge: does a head read as a face, where it should and only there?

The textured head is rendered from views evenly spaced around it, and
MediaPipe's own face detector and FaceMesh look at each render:

- **detection rate** on front and side views: the share of views in which a
  face is found: MediaPipe's short-range and full-range face detectors both
  score it at or above the threshold (the short-range model alone fires on the
  back of some bald heads);
- **NME** where the head carries the embedded landmarks (heads from the prior):
  the mean distance between FaceMesh's 478 landmarks and the embedded landmarks'
  projections, over the landmarks the head does not hide, divided by the
  inter-ocular distance (outer eye corners) — reported per view and as the mean
  over front views;
- **Janus rate**: the share of back views in which a second face is found: both
  detectors score it and FaceMesh traces it. A head with a face on its back scores high
  here; the back of a head should not — the detectors alone fire on some (the
  short-range one at 0.5–0.7 on bald heads; a long sculpt's back view crossed both
  thresholds on one machine and not on another), while a face on the back faces the
  camera, and FaceMesh, which fits a whole face, traces it. Where the head carries its
  landmarks, a back view's face that sits on the head's own face seen edge-on (under half
  of its landmarks visible, MediaPipe's face centred among them) is that face's profile at
  the silhouette, not a second face: the views 22.5° off the back show a sliver of it.

It also draws a contact sheet: every view with the detected landmarks (green)
and the embedded ones (red), labelled with its angle, label and scores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from PIL import Image, ImageDraw

from headsculpt.contact_sheet import contact_sheet
from headsculpt.eval.mediapipe_runner import FaceFinding, MediaPipeFaces
from headsculpt.export.glb_reader import GlbHead
from headsculpt.prior.landmarks import inter_ocular_distance
from headsculpt.progress import ProgressCallback, no_progress, scaled_progress
from headsculpt.render.camera import to_pixels
from headsculpt.render.camera_sampler import CameraSampler, SampledView
from headsculpt.render.picking import visible_points
from headsculpt.render.preview import render_view

_SHEET_COLUMNS = 4
_DETECTED_COLOUR = (40, 230, 60)
# The head's own face seen edge-on (_own_face_edge_on): under this share of its
# landmarks visible, and MediaPipe's face centred within this share of its size of them.
EDGE_ON_VISIBLE_SHARE = 0.5
EDGE_ON_CENTRE_OFFSET = 0.5
_EMBEDDED_COLOUR = (240, 40, 40)


@dataclass(frozen=True)
class JudgeConfig:
    """How the head is looked at.

    Views sit on a ring at ``elevation`` degrees, the first facing the head. The
    default ring is a little above eye level, as a person looks at a bust: level
    with the neck's opening, a render shows the inside of the mouth through it.
    """

    views: int = 16
    elevation: float = 10.0
    size: int = 512
    fov: float = 30.0
    framing: float = 1.05
    detection_threshold: float = 0.5

    def __post_init__(self) -> None:
        if not 4 <= self.views <= 72:
            raise ValueError(f"views must be between 4 and 72, got {self.views}")
        if not 128 <= self.size <= 2048:
            raise ValueError(f"size must be between 128 and 2048, got {self.size}")
        if not -80.0 <= self.elevation <= 80.0:
            raise ValueError(f"elevation must be within ±80 degrees, got {self.elevation}")


@dataclass
class ViewScore:
    """What the judge saw in one view."""

    azimuth: float
    elevation: float
    label: str
    face_score: float  # the lower of the two detectors' scores
    short_range: float
    full_range: float
    face_detected: bool
    landmarks_found: bool
    nme: float | None  # None without embedded landmarks or FaceMesh landmarks
    # A detection FaceMesh traces that is not the head's own face seen edge-on (see the
    # module docstring).
    second_face: bool = False


@dataclass
class JudgeReport:
    """Scores of one head; rates are fractions in [0, 1], None where no view counts."""

    views: list[ViewScore] = field(default_factory=list)
    has_embedded_landmarks: bool = False

    def _rate(self, labels: tuple[str, ...], hit) -> float | None:
        chosen = [v for v in self.views if v.label in labels]
        return sum(1 for v in chosen if hit(v)) / len(chosen) if chosen else None

    @property
    def front_detection_rate(self) -> float | None:
        return self._rate(("front",), lambda v: v.face_detected)

    @property
    def side_detection_rate(self) -> float | None:
        return self._rate(("side",), lambda v: v.face_detected)

    @property
    def janus_rate(self) -> float | None:
        return self._rate(("back",), lambda v: v.second_face)

    @property
    def front_nme(self) -> float | None:
        """Mean NME over front views (a front view where FaceMesh found nothing counts as
        missing: the detection rate already tells)."""
        values = [v.nme for v in self.views if v.label == "front" and v.nme is not None]
        return float(np.mean(values)) if values else None

    def to_dict(self) -> dict:
        return {
            "front_detection_rate": self.front_detection_rate,
            "side_detection_rate": self.side_detection_rate,
            "janus_rate": self.janus_rate,
            "front_nme": self.front_nme,
            "has_embedded_landmarks": self.has_embedded_landmarks,
            "views": [asdict(v) for v in self.views],
        }

    def summary(self) -> str:
        def percent(value: float | None) -> str:
            return "n/a" if value is None else f"{100 * value:.0f}%"

        nme = "n/a (no embedded landmarks)" if self.front_nme is None else f"{self.front_nme:.4f}"
        if self.has_embedded_landmarks and self.front_nme is None:
            nme = "n/a (no landmarks found on front views)"
        counts = {
            label: sum(v.label == label for v in self.views) for label in ("front", "side", "back")
        }
        lines = [
            f"front-view face detection: {percent(self.front_detection_rate)} "
            f"of {counts['front']} views",
            f"side-view face detection:  {percent(self.side_detection_rate)} "
            f"of {counts['side']} views",
            f"landmark NME (front):      {nme}",
            f"Janus rate (back views):   {percent(self.janus_rate)} of {counts['back']} views",
        ]
        # Every back view's scores: a reader of a failed check sees which view and how near.
        lines += [
            f"  back {v.azimuth:g}°: short-range {v.short_range:.2f}, full-range "
            f"{v.full_range:.2f}, FaceMesh {'traced' if v.landmarks_found else 'nothing'}"
            + (", a second face" if v.second_face else "")
            for v in self.views
            if v.label == "back"
        ]
        return "\n".join(lines)


def judge_head(
    head: GlbHead,
    faces: MediaPipeFaces,
    config: JudgeConfig | None = None,
    progress: ProgressCallback = no_progress,
) -> tuple[JudgeReport, Image.Image]:
    """Score ``head`` and draw its contact sheet."""
    config = config or JudgeConfig()
    mesh = head.mesh
    sampler = CameraSampler.around(mesh.vertices)
    views = sampler.orbit(config.views, config.elevation, config.fov, config.framing)

    images = []
    for index, view in enumerate(views):
        progress("render", 0.3 * index / len(views))
        images.append(render_view(mesh, view.camera, config.size))
    findings = faces.detect(images, scaled_progress(progress, 0.3, 0.95))

    report = JudgeReport(has_embedded_landmarks=head.landmarks is not None)
    tiles = []
    for view, image, finding in zip(views, images, findings, strict=True):
        projected = _embedded_projection(head, view, config.size)
        nme = None
        if projected is not None and finding.landmarks is not None:
            pixels, visible = projected
            if visible.any():
                error = np.linalg.norm(finding.landmarks - pixels, axis=1)[visible]
                nme = float(error.mean() / inter_ocular_distance(finding.landmarks))
        detected = finding.face_score >= config.detection_threshold
        score = ViewScore(
            azimuth=view.azimuth,
            elevation=view.elevation,
            label=view.label,
            face_score=round(finding.face_score, 4),
            short_range=round(finding.short_range, 4),
            full_range=round(finding.full_range, 4),
            face_detected=detected,
            landmarks_found=finding.landmarks is not None,
            nme=None if nme is None else round(nme, 5),
            second_face=detected
            and finding.landmarks is not None
            and not _own_face_edge_on(finding.landmarks, projected),
        )
        report.views.append(score)
        tiles.append(_tile(image, score, finding, projected))
    progress("done", 1.0)
    return report, contact_sheet(tiles, _SHEET_COLUMNS)


def _embedded_projection(
    head: GlbHead, view: SampledView, size: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Pixels (478, 2) of the embedded landmarks and which of them the head leaves visible."""
    if head.landmarks is None:
        return None
    points = torch.from_numpy(head.landmarks).double()
    vertices = torch.from_numpy(head.mesh.vertices).double()
    triangles = torch.from_numpy(head.mesh.triangles).long()
    visible = visible_points(view.camera, points, vertices, triangles, size)
    pixels, _ = to_pixels(view.camera, points, size, size)
    return pixels.numpy(), visible.numpy()


def _own_face_edge_on(
    found: np.ndarray | None, projected: tuple[np.ndarray, np.ndarray] | None
) -> bool:
    """Whether the face MediaPipe found is the head's own face seen edge-on: under half of
    the embedded landmarks are visible, and the found landmarks' centre lies within half
    the found face's size of theirs. Without either set of landmarks: False
    (a detection then counts as a face of its own)."""
    if found is None or projected is None:
        return False
    pixels, visible = projected
    if not visible.any() or visible.mean() >= EDGE_ON_VISIBLE_SHARE:
        return False
    size = float(np.ptp(found, axis=0).max())
    offset = np.linalg.norm(found.mean(axis=0) - pixels[visible].mean(axis=0))
    return bool(offset <= EDGE_ON_CENTRE_OFFSET * size)


def _tile(
    image: np.ndarray,
    score: ViewScore,
    finding: FaceFinding,
    projected: tuple[np.ndarray, np.ndarray] | None,
) -> Image.Image:
    tile = Image.fromarray(image)
    draw = ImageDraw.Draw(tile)
    if projected is not None:
        pixels, visible = projected
        for x, y in pixels[visible]:
            draw.rectangle([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=_EMBEDDED_COLOUR)
    if finding.landmarks is not None:
        for x, y in finding.landmarks:
            draw.rectangle([x - 1, y - 1, x, y], fill=_DETECTED_COLOUR)
    caption = f"{score.azimuth:.0f}° {score.label}  face {score.face_score:.2f}"
    if score.nme is not None:
        caption += f"  NME {score.nme:.3f}"
    draw.rectangle([0, 0, tile.width, 18], fill=(0, 0, 0))
    draw.text((4, 3), caption, fill=(255, 255, 255))
    return tile
