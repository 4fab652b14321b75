"""Find the face on an arbitrary head mesh and the similarity that brings it to the prior.

A mesh from a sculpt, a scan or a store arrives in any unit (mm, cm, m), with any
axis up and any axis toward the front, turned a little more, anywhere in space. The
face is found the way the judge and the landmark builder look at heads:

1. the mesh is shown from each of the 24 axis-aligned (up, front) frames (fewer when
   the user names the up or front axis), rendered flat grey with the project's
   rasterizer and passed to MediaPipe in one batch; the frame whose render both face
   detectors score highest (with FaceMesh landmarks) wins;
2. its 478 landmarks are lifted onto the surface through the depth buffer and a
   similarity (scale, rotation, offset) to the prior's own landmarks is solved,
   robustly (Umeyama, trimmed), face oval left out (it follows the outline);
3. the mesh is looked at again in that refined frame, from the front and two
   near-front views, and the per-landmark median of those lifts gives the final
   landmarks and similarity — this is what absorbs the extra rotation.

No face in any frame raises :class:`NoFaceFoundError`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from headsculpt.eval.mediapipe_runner import FaceFinding, MediaPipeFaces
from headsculpt.export.surface_query import TriangleSurface
from headsculpt.prior.head_model import vertex_normals
from headsculpt.progress import ProgressCallback, no_progress, scaled_progress
from headsculpt.render.camera import Camera
from headsculpt.render.camera_sampler import CameraSampler
from headsculpt.render.picking import pick_surface
from headsculpt.render.preview import TexturedMesh, render_view

AXES = {"+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0),
        "+z": (0, 0, 1), "-z": (0, 0, -1)}  # fmt: skip
PRIOR_UP = np.array([0.0, 0.0, 1.0])
PRIOR_FRONT = np.array([0.0, -1.0, 0.0])  # the direction the face looks toward


class NoFaceFoundError(ValueError):
    """MediaPipe found no face on the mesh in any orientation tried."""


@dataclass(frozen=True)
class FaceFinderConfig:
    """How the mesh is looked at."""

    search_size: int = 320  # pixels, the 24-frame search
    refine_size: int = 384  # pixels, the refinement views
    fov: float = 24.0
    framing: float = 1.0
    refine_views: tuple[tuple[float, float], ...] = ((0.0, 0.0), (-15.0, 0.0), (15.0, 0.0))
    detection_threshold: float = 0.5
    trim: float = 0.2  # the share of worst-fitting landmarks left out of the similarity
    max_render_triangles: int = 40000  # denser meshes are looked at through a lighter copy


@dataclass
class FaceAlignment:
    """input point p → prior frame: ``scale · rotation @ p + offset``."""

    rotation: np.ndarray  # (3, 3) proper rotation
    scale: float
    offset: np.ndarray  # (3,)
    landmarks: np.ndarray  # (478, 3) on the input mesh, input frame; NaN where not found
    face_score: float  # the winning frame's detector score
    up: str  # the input axis found (or given) to be up, e.g. "+y"
    front: str  # the input axis the face looks toward
    residual: float  # RMS distance (prior metres) of the used landmarks after the fit

    def to_prior(self, points: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(points) @ self.rotation.T + self.offset

    def to_input(self, points: np.ndarray) -> np.ndarray:
        return ((np.asarray(points) - self.offset) / self.scale) @ self.rotation


def candidate_frames(up: str | None = None, front: str | None = None) -> list[tuple[str, str]]:
    """The (up, front) axis pairs to try; a given axis fixes its half of the pair."""
    for name, value in (("up", up), ("front", front)):
        if value is not None and value not in AXES:
            raise ValueError(f"{name} must be one of {sorted(AXES)}, got {value!r}")
    pairs = []
    for u in AXES:
        for f in AXES:
            if abs(np.dot(AXES[u], AXES[f])) == 0 and (up in (None, u)) and (front in (None, f)):
                pairs.append((u, f))
    if not pairs:
        raise ValueError(f"up {up} and front {front} must be perpendicular axes")
    return pairs


def frame_rotation(up: str, front: str) -> np.ndarray:
    """The rotation taking input axis ``up`` to the prior's up and ``front`` to its front."""
    u, f = np.asarray(AXES[up], float), np.asarray(AXES[front], float)
    source = np.stack([u, f, np.cross(u, f)])
    target = np.stack([PRIOR_UP, PRIOR_FRONT, np.cross(PRIOR_UP, PRIOR_FRONT)])
    return target.T @ source  # maps each source row to the matching target row


def find_face(
    vertices: np.ndarray,
    triangles: np.ndarray,
    reference_landmarks: np.ndarray,
    faces: MediaPipeFaces,
    excluded_landmarks: np.ndarray | None = None,
    up: str | None = None,
    front: str | None = None,
    config: FaceFinderConfig | None = None,
    progress: ProgressCallback = no_progress,
) -> FaceAlignment:
    """Locate the face on a mesh and solve its similarity to ``reference_landmarks``.

    ``reference_landmarks`` (478, 3) are the prior's, in its frame (metres, Z up, face
    toward −Y); ``excluded_landmarks`` are left out of the similarity (the face oval).
    """
    config = config or FaceFinderConfig()
    vertices = np.asarray(vertices, dtype=np.float64)
    triangles = np.asarray(triangles, dtype=np.int64)
    centre = (vertices.max(0) + vertices.min(0)) / 2.0
    size = float(np.linalg.norm(vertices.max(0) - vertices.min(0)))
    if size <= 0.0:
        raise ValueError("the mesh has no extent")
    unit = (vertices - centre) / size  # ~unit size for the renders; undone at the end
    # Renders and lifts see a lighter copy of a dense mesh (the rasterizer's cost grows
    # with triangles); the landmarks are put back on the full surface at the end.
    full_unit, full_triangles = unit, triangles
    unit, triangles, _ = simplified(unit, triangles, config.max_render_triangles)
    used = np.ones(len(reference_landmarks), dtype=bool)
    if excluded_landmarks is not None:
        used[np.asarray(excluded_landmarks, dtype=np.int64)] = False

    # 1. Which axis frame shows a face. Frames that share a front differ only by a turn
    # of the picture (the camera looks along the same axis at the same centre), so each
    # front is rendered once and turned in 90° steps for the other ups.
    frames = candidate_frames(up, front)
    renders, cameras, shown = [], [], {}
    for index, (u, f) in enumerate(frames):
        progress("find face", 0.3 * index / len(frames))
        rotated = unit @ frame_rotation(u, f).T
        camera = _front_camera(rotated, 0.0, 0.0, config)
        cameras.append(camera)
        if f not in shown:
            shown[f] = (u, _render(rotated, triangles, camera, config.search_size))
        base_up, image = shown[f]
        renders.append(np.ascontiguousarray(np.rot90(image, _quarter_turns(base_up, u, f))))
    findings = faces.detect(renders, scaled_progress(progress, 0.3, 0.45))
    best = _best(findings)
    if best is None or findings[best].face_score < config.detection_threshold:
        tried = (
            "the 24 axis-aligned orientations"
            if (up, front) == (None, None)
            else f"{len(frames)} orientation(s) with up={up or 'any'}, front={front or 'any'}"
        )
        raise NoFaceFoundError(
            f"no face was found on the mesh in {tried}. Is it a head with a face? If it is, "
            "name its up and front axes (--up/--front, e.g. --up +z --front -y), or if the "
            "mesh is already in the head prior's frame, say so"
        )
    up_found, front_found = frames[best]
    rotation0 = frame_rotation(up_found, front_found)
    rotated = unit @ rotation0.T
    lifted = _lift(rotated, triangles, cameras[best], findings[best], config.search_size)
    scale, rotation, offset = _similarity(lifted, reference_landmarks, used, config.trim)

    # 2. Look again, squarely, from the refined frame.
    aligned = scale * rotated @ rotation.T + offset
    median = look_at_face(aligned, triangles, reference_landmarks, used, faces, config,
                          scaled_progress(progress, 0.5, 0.9))  # fmt: skip
    if not np.isnan(median).all():
        s2, r2, o2 = _similarity(median, reference_landmarks, used, config.trim)
        landmarks_aligned = median
    else:
        s2, r2, o2 = 1.0, np.eye(3), np.zeros(3)
        landmarks_aligned = scale * lifted @ rotation.T + offset

    # Compose: input → unit → rotated → aligned → final.
    total_rotation = r2 @ rotation @ rotation0
    total_scale = s2 * scale / size
    total_offset = s2 * (r2 @ (offset - scale * rotation @ rotation0 @ centre / size)) + o2
    # The same map written out: p ↦ s2 R2 (s R R0 (p − c)/size + o) + o2.
    alignment = FaceAlignment(
        rotation=total_rotation,
        scale=float(total_scale),
        offset=total_offset,
        landmarks=np.full((len(reference_landmarks), 3), np.nan),
        face_score=float(findings[best].face_score),
        up=up_found,
        front=front_found,
        residual=0.0,
    )
    final = s2 * landmarks_aligned @ r2.T + o2  # prior frame
    on_input = alignment.to_input(final)
    if len(triangles) != len(full_triangles):
        found = ~np.isnan(on_input).any(1)
        surface = TriangleSurface(full_unit * size + centre, full_triangles)
        on_input[found] = surface.closest(on_input[found]).points
        final = alignment.to_prior(on_input)
    alignment.landmarks = on_input
    ok = used & ~np.isnan(final).any(1)
    alignment.residual = float(np.sqrt(np.mean(((final - reference_landmarks)[ok] ** 2).sum(1))))
    progress("find face", 1.0)
    return alignment


def look_at_face(
    vertices: np.ndarray,
    triangles: np.ndarray,
    reference_landmarks: np.ndarray,
    used: np.ndarray,
    faces: MediaPipeFaces,
    config: FaceFinderConfig | None = None,
    progress: ProgressCallback = no_progress,
    colours: np.ndarray | None = None,
) -> np.ndarray:
    """Landmarks (478, 3) on a mesh already in the prior's frame; NaN where not found.

    The face is framed from the front and near-front views (grey clay, or the surface in
    its ``colours``); each view's FaceMesh landmarks are lifted through the depth buffer
    and the per-landmark median kept.
    """
    config = config or FaceFinderConfig()
    face = reference_landmarks[used]
    sampler = CameraSampler(tuple(face.mean(0)), 0.75 * float(np.ptp(face, axis=0).max()))
    cameras = [
        sampler.view(az, el, config.fov, config.framing).camera for az, el in config.refine_views
    ]
    images = []
    for index, camera in enumerate(cameras):
        progress("find face", 0.4 * index / len(cameras))
        images.append(_render(vertices, triangles, camera, config.refine_size, colours))
    findings = faces.detect(images, scaled_progress(progress, 0.4, 0.9))
    lifts = [
        _lift(vertices, triangles, camera, finding, config.refine_size)
        for camera, finding in zip(cameras, findings, strict=True)
        if finding.landmarks is not None
    ]
    progress("find face", 1.0)
    if not lifts:
        return np.full((len(reference_landmarks), 3), np.nan)
    with warnings.catch_warnings():  # a landmark no view could lift stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.stack(lifts), axis=0)


def find_landmarks_in_frame(
    vertices: np.ndarray,
    triangles: np.ndarray,
    reference_landmarks: np.ndarray,
    faces: MediaPipeFaces,
    excluded_landmarks: np.ndarray | None = None,
    config: FaceFinderConfig | None = None,
    progress: ProgressCallback = no_progress,
    colours: np.ndarray | None = None,
) -> np.ndarray:
    """Landmarks (478, 3) on a mesh known to be in the prior's frame (no search), on its
    full surface; NaN where MediaPipe found none. ``colours``: (V, 3) sRGB uint8 of the
    surface, shown to MediaPipe in place of grey clay (see :func:`_render`)."""
    config = config or FaceFinderConfig()
    vertices = np.asarray(vertices, dtype=np.float64)
    triangles = np.asarray(triangles, dtype=np.int64)
    used = np.ones(len(reference_landmarks), dtype=bool)
    if excluded_landmarks is not None:
        used[np.asarray(excluded_landmarks, dtype=np.int64)] = False
    proxy, proxy_triangles, proxy_colours = simplified(
        vertices, triangles, config.max_render_triangles, colours
    )
    found = look_at_face(proxy, proxy_triangles, reference_landmarks, used, faces, config,
                         progress, proxy_colours)  # fmt: skip
    if len(proxy_triangles) != len(triangles):
        ok = ~np.isnan(found).any(1)
        found[ok] = TriangleSurface(vertices, triangles).closest(found[ok]).points
    return found


def simplified(
    vertices: np.ndarray,
    triangles: np.ndarray,
    max_triangles: int,
    colours: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A lighter copy for pictures: vertices clustered on a grid (fine enough that the
    face keeps its features at the render sizes used here); each cluster takes the mean
    position and, when given, the mean of its vertices' ``colours``."""
    if len(triangles) <= max_triangles:
        return vertices, triangles, colours
    low, extent = vertices.min(0), float(np.ptp(vertices, axis=0).max())
    cells = 64
    while True:
        cell = np.floor((vertices - low) / (extent / cells)).astype(np.int64)
        _, cluster = np.unique(cell, axis=0, return_inverse=True)
        cluster = cluster.ravel()
        merged = cluster[triangles]
        keep = (merged[:, 0] != merged[:, 1]) & (merged[:, 1] != merged[:, 2])
        keep &= merged[:, 2] != merged[:, 0]
        if keep.sum() >= 0.7 * max_triangles or cells >= 4096:
            break
        cells = int(cells * 1.25)
    counts = np.bincount(cluster)[:, None]

    def mean(values: np.ndarray) -> np.ndarray:
        total = np.zeros((len(counts), values.shape[1]))
        np.add.at(total, cluster, values)
        return total / counts

    proxy_colours = None if colours is None else mean(colours).round().astype(np.uint8)
    return mean(vertices), merged[keep], proxy_colours


def _quarter_turns(base_up: str, up: str, front: str) -> int:
    """How many counter-clockwise quarter turns take the render of (base_up, front) to
    the render of (up, front): the picture's up must come to point at ``up``."""
    # Where ``up`` points in the base frame's picture (x right, y down): the prior's
    # up is the picture's −y, the camera's right is the prior's +x.
    direction = frame_rotation(base_up, front) @ np.asarray(AXES[up], float)
    dx, dy = direction[0], -direction[2]
    for turns in range(4):
        if abs(dx) < 0.5 and dy < -0.5:
            return turns
        dx, dy = dy, -dx  # one counter-clockwise quarter turn of the picture
    raise AssertionError("up must be perpendicular to front")


def _best(findings: list[FaceFinding]) -> int | None:
    scored = [(f.face_score, i) for i, f in enumerate(findings) if f.landmarks is not None]
    return max(scored)[1] if scored else None


def _front_camera(
    vertices: np.ndarray, azimuth: float, elevation: float, config: FaceFinderConfig
) -> Camera:
    sampler = CameraSampler.around(vertices)
    return sampler.view(azimuth, elevation, config.fov, config.framing).camera


def _render(
    vertices: np.ndarray,
    triangles: np.ndarray,
    camera: Camera,
    size: int,
    colours: np.ndarray | None = None,
) -> np.ndarray:
    """Flat light-grey clay, where MediaPipe reads the shape alone; or the surface in its
    own ``colours`` (V, 3) sRGB, where the shape alone does not tell where the lips part
    (a sculpt's closed lips are one smooth sheet)."""
    mesh = TexturedMesh(
        vertices.astype(np.float32),
        vertex_normals(vertices, triangles).astype(np.float32),
        np.zeros((len(vertices), 2), np.float32),
        triangles,
        np.full((1, 1, 3), 200, np.uint8),
        np.full((1, 1), 200, np.uint8),
    )
    return render_view(mesh, camera, size, vertex_colors=colours)


def _lift(
    vertices: np.ndarray, triangles: np.ndarray, camera: Camera, finding: FaceFinding, size: int
) -> np.ndarray:
    """(478, 3) surface points under the detected landmarks; NaN where none is hit."""
    if finding.landmarks is None:
        return np.full((478, 3), np.nan)
    vertex_tensor = torch.from_numpy(vertices).double()
    triangle_tensor = torch.from_numpy(triangles).long()
    pick = pick_surface(
        camera,
        vertex_tensor,
        triangle_tensor,
        torch.from_numpy(np.asarray(finding.landmarks, dtype=np.float64)),
        size,
        size,
        supersample=1,  # the barycentrics are exact at the landmark anyway
    )
    return pick.interpolate(vertex_tensor, triangle_tensor).numpy()


def _similarity(
    source: np.ndarray, target: np.ndarray, used: np.ndarray, trim: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, R, t) minimising |s R source + t − target| over usable rows, worst ``trim`` cut."""
    ok = used & ~np.isnan(source).any(1) & ~np.isnan(target).any(1)
    if ok.sum() < 10:
        raise NoFaceFoundError(
            "MediaPipe saw a face but too few of its landmarks lie on the mesh; try --up/--front"
        )
    rows = np.nonzero(ok)[0]
    for _ in range(3):
        s, R, t = umeyama(source[rows], target[rows])
        error = np.linalg.norm(s * source[ok] @ R.T + t - target[ok], axis=1)
        rows = np.nonzero(ok)[0][error <= np.quantile(error, 1.0 - trim)]
    return umeyama(source[rows], target[rows])


def umeyama(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (Umeyama 1991): target ≈ s R source + t, R a rotation."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    a, b = source - mu_s, target - mu_t
    covariance = b.T @ a / len(source)
    U, S, Vt = np.linalg.svd(covariance)
    D = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        D[2, 2] = -1.0
    R = U @ D @ Vt
    variance = (a**2).sum() / len(source)
    s = float(np.trace(np.diag(S) @ D) / variance)
    return s, R, mu_t - s * R @ mu_s
