"""How close a sculpt came to a known answer: the measures of the reconstruction proofs.

With the reference teacher, the sculpt pipeline is asked to rebuild a target mesh it
only ever sees through renders. These measures say how well it did, in units of the
target's size so that they mean the same for any head:

- **Chamfer**: the mean of the two mean closest-surface distances (result → target and
  target → result), over points sampled evenly by area (on the target, only those some
  camera can see: eyeballs behind lids and teeth are not asked for), divided by the
  target's bounding-box diagonal;
- **coverage** of named target regions (accessories the head model cannot express): the
  share of their sampled points within a tolerance of the result's surface;
- **novel-view PSNR**: albedo renders of result and target from views the pipeline's
  random cameras were not told about, over the same background, antialiased (each pixel
  the mean of 4 × 4 samples). Sampled once per pixel, a target of hair strands thinner
  than a pixel is noise: the long-haired parametric head scores 21.5 dB against *itself*
  turned by half a pixel (0.45°) at 128²; antialiased, 32.5 dB (docs/sculpt.md).

A target with alpha-tested parts (hair cards: strands on transparent quads) is measured
as the reference teacher shows it: only its opaque texels are surface to be reached,
and one sees through the gaps between strands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional

from headsculpt.export.surface_query import TriangleSurface
from headsculpt.render.camera import Camera
from headsculpt.render.camera_sampler import CameraSampler
from headsculpt.render.mesh_render import albedo_from_texture, render_mesh
from headsculpt.render.picking import visible_points
from headsculpt.render.preview import TexturedMesh
from headsculpt.render.rasterizer import FragmentTest, alpha_test

# Samples per pixel side of the PSNR renders: strands thinner than a pixel, sampled once,
# are noise (the module's docstring).
SUPERSAMPLING = 4


@dataclass
class ReconstructionReport:
    """The measures of one result against its target (distances as a share of the
    target's bounding-box diagonal)."""

    chamfer: float
    result_to_target: float
    target_to_result: float
    coverage: dict[str, float] = field(default_factory=dict)
    psnr: float = 0.0
    view_psnr: list[float] = field(default_factory=list)
    diagonal: float = 0.0

    def to_dict(self) -> dict:
        return {
            "chamfer": round(self.chamfer, 5),
            "result_to_target": round(self.result_to_target, 5),
            "target_to_result": round(self.target_to_result, 5),
            "coverage": {k: round(v, 4) for k, v in self.coverage.items()},
            "psnr": round(self.psnr, 2),
            "view_psnr": [round(v, 2) for v in self.view_psnr],
            "diagonal": self.diagonal,
        }


def sample_surface(
    vertices: np.ndarray, triangles: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """(count, 3) points spread evenly over the surface (area-weighted triangles)."""
    chosen, barycentric = _sample_triangles(vertices, triangles, count, rng)
    corners = np.asarray(vertices, np.float64)[np.asarray(triangles)[chosen]]
    return (barycentric[..., None] * corners).sum(1)


def sample_opaque_surface(
    mesh: TexturedMesh, count: int, rng: np.random.Generator, attempts: int = 8
) -> np.ndarray:
    """Like ``sample_surface``, but only where the mesh is drawn: with an RGBA texture,
    a point on a transparent texel (between hair strands) is drawn again. Up to
    ``count`` points; fewer only if the mesh is almost all transparent."""
    keep = surface_test(mesh)
    if keep is None:
        return sample_surface(mesh.vertices, mesh.triangles, count, rng)
    corners = np.asarray(mesh.vertices, np.float64)[np.asarray(mesh.triangles)]
    found: list[np.ndarray] = []
    have = 0
    for _ in range(attempts):
        chosen, barycentric = _sample_triangles(mesh.vertices, mesh.triangles, 2 * count, rng)
        opaque = keep(torch.from_numpy(chosen), torch.from_numpy(barycentric)).numpy()
        found.append((barycentric[opaque, :, None] * corners[chosen[opaque]]).sum(1))
        have += int(opaque.sum())
        if have >= count:
            break
    return np.concatenate(found)[:count]


def surface_test(mesh: TexturedMesh) -> FragmentTest | None:
    """The fragment test of the mesh's alpha (None for an opaque texture)."""
    return alpha_test(
        torch.from_numpy(np.asarray(mesh.uv, np.float32)),
        torch.from_numpy(np.asarray(mesh.triangles)).long(),
        torch.from_numpy(np.asarray(mesh.base_color)).float() / 255.0,
    )


def _sample_triangles(
    vertices: np.ndarray, triangles: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` triangle ids drawn by area and a uniform barycentric point (count, 3) in each."""
    corners = np.asarray(vertices, np.float64)[np.asarray(triangles)]
    areas = 0.5 * np.linalg.norm(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
    )
    if areas.sum() <= 0:
        raise ValueError("the mesh has no area")
    chosen = rng.choice(len(triangles), size=count, p=areas / areas.sum())
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1.0
    u[flip], v[flip] = 1.0 - u[flip], 1.0 - v[flip]
    return chosen, np.stack([1.0 - u - v, u, v], axis=1)


def outer_points(
    points: np.ndarray,
    vertices: np.ndarray,
    triangles: np.ndarray,
    views: int = 26,
    keep: FragmentTest | None = None,
) -> np.ndarray:
    """The points that some camera around the mesh can see (its outer surface: not the
    eyeballs behind the lids, the teeth or the inside of the mouth). ``keep``: the
    mesh's fragment test (``surface_test``): a point behind a gap between strands is seen."""
    sampler = CameraSampler.around(np.asarray(vertices))
    angles = [(az, el) for el in (-30.0, 0.0, 30.0) for az in range(0, 360, 45)]
    angles += [(0.0, 85.0), (0.0, -85.0)]
    seen = torch.zeros(len(points), dtype=torch.bool)
    query = torch.from_numpy(np.asarray(points, np.float32))
    mesh_vertices = torch.from_numpy(np.asarray(vertices, np.float32))
    mesh_triangles = torch.from_numpy(np.asarray(triangles)).long()
    tolerance = 0.002 * float(np.linalg.norm(np.ptp(vertices, axis=0)))
    for azimuth, elevation in angles[:views]:
        camera = sampler.view(azimuth, elevation, 30.0, 1.05).camera
        seen |= visible_points(
            camera, query, mesh_vertices, mesh_triangles, 256, tolerance, keep=keep
        )
    return np.asarray(points)[seen.numpy()]


def surface_distances(points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray):
    """Distance of each point to the closest point of the surface."""
    hits = TriangleSurface(np.asarray(vertices, np.float64), np.asarray(triangles)).closest(points)
    return np.linalg.norm(hits.points - points, axis=1)


def measure_reconstruction(
    result: TexturedMesh,
    target: TexturedMesh,
    regions: dict[str, np.ndarray] | None = None,
    tolerance: float = 0.02,
    samples: int = 20000,
    views: int = 8,
    size: int = 128,
    seed: int = 0,
) -> ReconstructionReport:
    """Compare ``result`` with ``target``; ``regions`` name target points (N, 3) whose
    coverage is reported (within ``tolerance`` × diagonal of the result's surface)."""
    rng = np.random.default_rng(seed)
    diagonal = float(np.linalg.norm(target.vertices.max(0) - target.vertices.min(0)))
    on_result = sample_surface(result.vertices, result.triangles, samples, rng)
    target_test = surface_test(target)
    on_target = sample_opaque_surface(target, samples, rng)
    on_target = outer_points(on_target, target.vertices, target.triangles, keep=target_test)
    forward = surface_distances(on_result, target.vertices, target.triangles).mean() / diagonal
    backward = surface_distances(on_target, result.vertices, result.triangles).mean() / diagonal
    coverage = {}
    for name, points in (regions or {}).items():
        distance = surface_distances(points, result.vertices, result.triangles) / diagonal
        coverage[name] = float((distance <= tolerance).mean())
    view_psnr = novel_view_psnr(result, target, views, size)
    return ReconstructionReport(
        chamfer=float((forward + backward) / 2.0),
        result_to_target=float(forward),
        target_to_result=float(backward),
        coverage=coverage,
        psnr=float(np.mean(view_psnr)),
        view_psnr=view_psnr,
        diagonal=diagonal,
    )


def novel_view_psnr(
    result: TexturedMesh, target: TexturedMesh, views: int = 8, size: int = 128
) -> list[float]:
    """PSNR (dB) per view of albedo renders on a ring offset from the usual azimuths
    (22.5° + k·360°/views, elevation 20°), both over white, each ``size``² pixel the
    mean of ``SUPERSAMPLING``² samples."""
    sampler = CameraSampler.around(target.vertices)
    cameras = [
        sampler.view(22.5 + 360.0 * k / views, 20.0, 30.0, 1.05).camera for k in range(views)
    ]
    images = [antialiased_albedo(mesh, cameras, size) for mesh in (result, target)]
    error = ((images[0] - images[1]) ** 2).mean(dim=(1, 2, 3)).clamp(min=1e-10)
    return [float(v) for v in (-10.0 * torch.log10(error))]


def antialiased_albedo(mesh: TexturedMesh, cameras: list[Camera], size: int) -> torch.Tensor:
    """(B, 3, size, size) albedo renders over white, alpha-tested where the mesh's texture
    has alpha, each pixel the mean of ``SUPERSAMPLING``² samples."""
    albedo = albedo_from_texture(
        torch.from_numpy(np.asarray(mesh.uv, np.float32)),
        torch.from_numpy(mesh.base_color).float() / 255.0,
    )
    with torch.no_grad():
        render = render_mesh(
            torch.from_numpy(np.asarray(mesh.vertices, np.float32)),
            torch.from_numpy(np.asarray(mesh.triangles)).long(),
            cameras, size * SUPERSAMPLING, albedo, torch.ones(3), keep=surface_test(mesh),
        )  # fmt: skip
    return functional.avg_pool2d(render.rgb, SUPERSAMPLING)
