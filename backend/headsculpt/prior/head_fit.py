"""Fit the Anny head to a mesh: phenotypes, local changes and a similarity, by gradient.

The rig transfer needs a prior that already resembles the target, so that what is
left for the non-rigid registration is small and the face units it carries suit
this face (a wide mouth's smile should be a wide smile). The fit minimises

- the distance between the prior's 478 embedded MediaPipe landmarks and the
  landmarks found on the target (lifted onto its surface), face oval down-weighted
  (MediaPipe's oval follows the visible outline, not fixed points);
- point-to-plane distances from the prior's skin to the target's surface, with the
  correspondences refreshed as the shape changes and rejected beyond a distance or
  across normals (a bust's shoulders, hair, a missing back of the head);
- a quadratic pull of every parameter toward the average head,

over Anny's phenotypes (in [0, 1] through a sigmoid), its head local changes (in
[-1, 1] through tanh) and a similarity transform of the prior (rotation, offset,
log scale). Adam, a few seconds on two CPU cores. The target surface is passed in as
anything with ``nearest_with_normals`` so this module needs no mesh library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from headsculpt.prior.head_model import HeadModel, HeadParameters
from headsculpt.prior.landmarks import LandmarkEmbedding
from headsculpt.progress import ProgressCallback, no_progress

FITTED_PHENOTYPES = ("gender", "age", "muscle", "weight", "african", "asian", "caucasian")


class SurfaceQuery(Protocol):
    def nearest_with_normals(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closest surface points (N, 3) and the surface normals there (N, 3)."""


@dataclass(frozen=True)
class FitConfig:
    """Weights and schedule of the fit (distances in the prior's metres)."""

    steps: int = 60
    learning_rate: float = 0.04
    refresh_every: int = 10  # steps between closest-point updates
    landmark_sigma: float = 0.003  # a landmark this far off costs as much as …
    surface_sigma: float = 0.003  # … a skin vertex this far off the target's plane
    oval_weight: float = 0.2
    surface_max_distance: float = 0.02
    surface_max_angle: float = 60.0  # degrees
    local_change_prior: float = 0.05  # per unit² of a local change
    phenotype_prior: float = 0.05


@dataclass
class HeadFit:
    """The fitted prior: its parameters and the similarity placing it on the target."""

    parameters: HeadParameters
    rotation: np.ndarray  # (3, 3): target-frame point = scale · rotation @ prior point + offset
    scale: float
    offset: np.ndarray  # (3,)
    landmark_rms: float  # metres, over the landmarks used
    surface_rms: float  # metres, point-to-plane over the kept correspondences
    history: list[float] = field(default_factory=list)

    def to_target(self, points: np.ndarray) -> np.ndarray:
        """Prior-frame points of the fitted head → the target's frame."""
        return self.scale * points @ self.rotation.T + self.offset


def fit_head(
    model: HeadModel,
    embedding: LandmarkEmbedding,
    target_landmarks: np.ndarray,
    surface: SurfaceQuery,
    config: FitConfig | None = None,
    progress: ProgressCallback = no_progress,
) -> HeadFit:
    """Fit ``model`` to a target given its landmarks (478, 3; NaN where not found).

    The target must already be roughly in the prior's frame (metres, Z up, face toward
    −Y, within a couple of centimetres and degrees); the similarity fitted here takes
    up what is left.
    """
    config = config or FitConfig()
    dtype = torch.float64
    landmarks = torch.as_tensor(np.asarray(target_landmarks, dtype=np.float64))
    found = ~torch.isnan(landmarks).any(1)
    weights = torch.ones(len(landmarks), dtype=dtype)
    oval = np.unique(embedding.connections.get("face_oval", np.zeros((0, 2), int)))
    weights[torch.as_tensor(oval, dtype=torch.long)] = config.oval_weight
    weights = torch.where(found, weights, torch.zeros_like(weights))
    landmarks = torch.nan_to_num(landmarks)

    phenotype_logits = torch.zeros(len(FITTED_PHENOTYPES), dtype=dtype, requires_grad=True)
    change_raw = torch.zeros(len(model.local_change_names), dtype=dtype, requires_grad=True)
    rotation_vector = torch.zeros(3, dtype=dtype, requires_grad=True)
    offset = torch.zeros(3, dtype=dtype, requires_grad=True)
    log_scale = torch.zeros(1, dtype=dtype, requires_grad=True)
    optimiser = torch.optim.Adam(
        [phenotype_logits, change_raw, rotation_vector, offset, log_scale],
        lr=config.learning_rate,
    )

    topology = model.topology
    source = torch.as_tensor(topology.source_vertex)
    skin = np.unique(topology.source_vertex[topology.part_triangles("head")])
    skin_t = torch.as_tensor(skin)
    corners = torch.as_tensor(embedding.corners)
    bary = torch.as_tensor(embedding.barycentric, dtype=dtype)
    cos_limit = float(np.cos(np.radians(config.surface_max_angle)))
    anny_triangles = torch.as_tensor(model.triangles.astype(np.int64))

    fitted_columns = torch.tensor([model.phenotype_names.index(n) for n in FITTED_PHENOTYPES])
    average = torch.full((len(model.phenotype_names),), 0.5, dtype=dtype)

    def shape() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        phenotypes = average.index_put((fitted_columns,), torch.sigmoid(phenotype_logits))
        rest = model.rest_shape(phenotypes, torch.tanh(change_raw)).to(dtype)
        rotation = _rotation_matrix(rotation_vector)
        placed = torch.exp(log_scale) * rest @ rotation.T + offset
        return placed, rotation, rest

    targets = normals = keep = None
    history: list[float] = []
    landmark_rms = surface_rms = float("nan")
    for step in range(config.steps + 1):
        progress("fit", step / (config.steps + 1))
        placed, _, _ = shape()
        if step % config.refresh_every == 0:
            with torch.no_grad():
                points = placed[skin_t].numpy()
                closest, surface_normals = surface.nearest_with_normals(points)
                skin_normals = _vertex_normals(placed, anny_triangles)[skin_t].numpy()
                distance = np.linalg.norm(closest - points, axis=1)
                agree = (skin_normals * surface_normals).sum(1)
                keep = torch.as_tensor(
                    (distance <= config.surface_max_distance) & (np.abs(agree) >= cos_limit)
                )
                targets = torch.as_tensor(closest)
                normals = torch.as_tensor(surface_normals)
        split = placed[source]
        predicted = (split[corners] * bary[..., None]).sum(1)
        landmark_error = ((predicted - landmarks) ** 2).sum(1)
        landmark_term = (weights * landmark_error).sum() / weights.sum().clamp(min=1e-9)
        plane = ((placed[skin_t] - targets) * normals).sum(1)
        kept = keep.to(dtype)
        surface_term = (kept * plane**2).sum() / kept.sum().clamp(min=1.0)
        prior_term = config.local_change_prior * (torch.tanh(change_raw) ** 2).sum() + (
            config.phenotype_prior * ((torch.sigmoid(phenotype_logits) - 0.5) ** 2).sum()
        )
        loss = (
            landmark_term / config.landmark_sigma**2
            + surface_term / config.surface_sigma**2
            + prior_term
        )
        landmark_rms = float(torch.sqrt(landmark_term.detach()))
        surface_rms = float(torch.sqrt(surface_term.detach()))
        history.append(float(loss.detach()))
        if step == config.steps:
            break
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    with torch.no_grad():
        _, rotation, _ = shape()
        parameters = HeadParameters(
            phenotypes={
                name: float(value)
                for name, value in zip(
                    FITTED_PHENOTYPES, torch.sigmoid(phenotype_logits), strict=True
                )
            },
            local_changes={
                name: float(value)
                for name, value in zip(
                    model.local_change_names, torch.tanh(change_raw), strict=True
                )
            },
        )
        return HeadFit(
            parameters=parameters,
            rotation=rotation.numpy(),
            scale=float(torch.exp(log_scale)),
            offset=offset.detach().numpy().copy(),
            landmark_rms=landmark_rms,
            surface_rms=surface_rms,
            history=history,
        )


def part_vertex_mask(model: HeadModel, part: str) -> np.ndarray:
    """(V,) bool over Anny's vertices: those of one part (head, eyes, tongue)."""
    topology = model.topology
    mask = np.zeros(int(topology.source_vertex.max()) + 1, dtype=bool)
    mask[topology.source_vertex[topology.part_triangles(part)].ravel()] = True
    return mask


def _rotation_matrix(vector: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula, smooth at zero."""
    angle = torch.sqrt((vector**2).sum() + 1e-24)
    axis = vector / angle
    x, y, z = axis
    zero = torch.zeros((), dtype=vector.dtype)
    cross = torch.stack([torch.stack([zero, -z, y]), torch.stack([z, zero, -x]),
                         torch.stack([-y, x, zero])])  # fmt: skip
    eye = torch.eye(3, dtype=vector.dtype)
    return eye + torch.sin(angle) * cross + (1 - torch.cos(angle)) * cross @ cross


def _vertex_normals(vertices: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
    corners = vertices[triangles]
    face = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = torch.zeros_like(vertices).index_add_(0, triangles[:, 0], face)
    normals = normals.index_add_(0, triangles[:, 1], face).index_add_(0, triangles[:, 2], face)
    return torch.nn.functional.normalize(normals, dim=1)
