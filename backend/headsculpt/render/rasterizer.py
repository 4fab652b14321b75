"""A small triangle rasterizer in pure torch (CPU or CUDA).

It follows nvdiffrast's split so a faster backend can stand behind the same
calls later: :func:`rasterize` finds, for every pixel, the nearest triangle;
:func:`interpolate` blends per-vertex attributes with the barycentrics it
returned. Visibility is found without gradients (a z-buffer), but the returned
barycentrics are recomputed from the clip-space positions with ordinary torch
ops, so they carry gradients with respect to vertex positions.

Conventions: pixel (row, col) has its centre at NDC
``x = (2 col + 1) / W - 1``, ``y = 1 - (2 row + 1) / H`` (row 0 is the top).
The same function bakes textures when it is given UV coordinates as clip
positions (see :func:`uv_to_clip`).

On CUDA, when nvdiffrast is importable, it finds the visible triangles instead
of the torch z-buffer (``backend="auto"``); the differentiable barycentrics are
computed the same way for both, so results and gradients do not depend on it.
Silhouette gradients come from :mod:`headsculpt.render.antialias`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

Backend = Literal["auto", "torch", "nvdiffrast"]

_TRIANGLE_BITS = 24  # room for 16.7 M triangles in the packed depth key
_DEPTH_LEVELS = 2**38  # depth quantisation of the z-buffer key
_DEFAULT_CANDIDATE_BUDGET = 2**22  # pixel/triangle pairs tested at once (memory bound)


@dataclass
class Rasterization:
    """Which triangle covers each covered pixel, and where inside it.

    Only covered pixels are stored (``pixels`` are flat indices into H×W), which
    keeps shading and baking work proportional to what is visible.
    """

    height: int
    width: int
    pixels: torch.Tensor  # (N,) int64 flat pixel indices, row-major
    triangle_ids: torch.Tensor  # (N,) int64
    barycentric: torch.Tensor  # (N, 3) perspective-correct, differentiable
    depth: torch.Tensor  # (N,) NDC z of the surface at the pixel

    @property
    def coverage(self) -> torch.Tensor:
        """(H, W) bool mask of covered pixels."""
        mask = torch.zeros(self.height * self.width, dtype=torch.bool, device=self.pixels.device)
        mask[self.pixels] = True
        return mask.view(self.height, self.width)

    def to_image(
        self, values: torch.Tensor, background: float | torch.Tensor = 0.0
    ) -> torch.Tensor:
        """Scatter per-covered-pixel ``values`` (N, C) into an (H, W, C) image."""
        channels = values.shape[-1]
        image = torch.empty(
            self.height * self.width, channels, dtype=values.dtype, device=values.device
        )
        image[:] = torch.as_tensor(background, dtype=values.dtype, device=values.device)
        image = image.index_put((self.pixels,), values)
        return image.view(self.height, self.width, channels)


def uv_to_clip(uv: torch.Tensor) -> torch.Tensor:
    """Clip positions that rasterize a mesh into its glTF UV layout (v = 0 at the top row)."""
    ones = torch.ones_like(uv[:, :1])
    return torch.cat([2.0 * uv[:, :1] - 1.0, 1.0 - 2.0 * uv[:, 1:2], 0.0 * ones, ones], dim=1)


def screen_coordinates(clip: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(V, 3): pixel-centre x, pixel-centre y, NDC z."""
    ndc = clip[:, :3] / clip[:, 3:4]
    x = (ndc[:, 0] + 1.0) * 0.5 * width - 0.5
    y = (1.0 - ndc[:, 1]) * 0.5 * height - 0.5
    return torch.stack([x, y, ndc[:, 2]], dim=1)


def signed_area(corners: torch.Tensor) -> torch.Tensor:
    """Twice the signed screen area of triangles ``corners`` (N, 3, 2+).

    Negative for triangles counter-clockwise in NDC (screen y grows downwards).
    """
    ax, ay = corners[:, 0, 0], corners[:, 0, 1]
    bx, by = corners[:, 1, 0], corners[:, 1, 1]
    cx, cy = corners[:, 2, 0], corners[:, 2, 1]
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


def edge_barycentric(corners: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Screen-space barycentrics of points (px, py) in triangles ``corners`` (N, 3, 2+).

    Weight k is zero on the edge opposite corner k and positive inside, whichever
    way the triangle winds.
    """
    ax, ay = corners[:, 0, 0], corners[:, 0, 1]
    bx, by = corners[:, 1, 0], corners[:, 1, 1]
    cx, cy = corners[:, 2, 0], corners[:, 2, 1]
    area = signed_area(corners)
    w0 = (bx - px) * (cy - py) - (by - py) * (cx - px)
    w1 = (cx - px) * (ay - py) - (cy - py) * (ax - px)
    w2 = (ax - px) * (by - py) - (ay - py) * (bx - px)
    return torch.stack([w0, w1, w2], dim=1) / area[:, None]


# keep(triangle ids (N,), perspective-correct barycentrics (N, 3)) → (N,) bool: whether
# each candidate fragment counts (an alpha test: strands of hair cards, not their gaps).
FragmentTest = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def _nearest_triangle_keys(
    screen: torch.Tensor,
    triangles: torch.Tensor,
    valid: torch.Tensor,
    height: int,
    width: int,
    candidate_budget: int,
    keep: FragmentTest | None = None,
    inverse_w: torch.Tensor | None = None,
) -> torch.Tensor:
    """Packed (depth, triangle id) z-buffer over all pixels; int64 max where empty.

    With ``keep``, fragments it refuses are discarded before the depth test, so what
    lies behind them shows (``inverse_w``: 1/w per vertex, for its barycentrics)."""
    device = screen.device
    empty = torch.iinfo(torch.int64).max
    zbuffer = torch.full((height * width,), empty, dtype=torch.int64, device=device)

    corners = screen[triangles]  # (F, 3, 3)
    xmin = corners[..., 0].amin(1).ceil().clamp(0, width - 1).long()
    xmax = corners[..., 0].amax(1).floor().clamp(-1, width - 1).long()
    ymin = corners[..., 1].amin(1).ceil().clamp(0, height - 1).long()
    ymax = corners[..., 1].amax(1).floor().clamp(-1, height - 1).long()
    widths = (xmax - xmin + 1).clamp(min=0)
    heights = (ymax - ymin + 1).clamp(min=0)
    counts = torch.where(valid, widths * heights, torch.zeros_like(widths))
    ids = torch.nonzero(counts > 0).squeeze(1)
    if ids.numel() == 0:
        return zbuffer

    # Chunk the triangles so that no chunk tests more than the budget of pixels.
    cumulative = counts[ids].cumsum(0)
    chunk_of = torch.div(cumulative - 1, candidate_budget, rounding_mode="floor")
    for chunk in torch.unique(chunk_of):
        tri = ids[chunk_of == chunk]
        tri_counts = counts[tri]
        owner = torch.repeat_interleave(torch.arange(tri.numel(), device=device), tri_counts)
        starts = tri_counts.cumsum(0) - tri_counts
        local = torch.arange(owner.numel(), device=device) - starts[owner]
        tri_of = tri[owner]
        px = xmin[tri_of] + local % widths[tri_of]
        py = ymin[tri_of] + torch.div(local, widths[tri_of], rounding_mode="floor")
        bary = edge_barycentric(corners[tri_of], px.to(screen.dtype), py.to(screen.dtype))
        inside = (bary >= -1e-7).all(1)
        if not inside.any():
            continue
        bary, tri_of, px, py = bary[inside], tri_of[inside], px[inside], py[inside]
        z = (bary * corners[tri_of, :, 2]).sum(1)
        in_range = (z >= -1.0) & (z <= 1.0)
        z, tri_of, px, py = z[in_range], tri_of[in_range], px[in_range], py[in_range]
        if keep is not None:
            weighted = bary[in_range] * inverse_w[triangles[tri_of]]
            kept = keep(tri_of, weighted / weighted.sum(1, keepdim=True))
            z, tri_of, px, py = z[kept], tri_of[kept], px[kept], py[kept]
        quantised = ((z + 1.0) * 0.5 * (_DEPTH_LEVELS - 1)).long()
        keys = (quantised << _TRIANGLE_BITS) | tri_of
        zbuffer.scatter_reduce_(0, py * width + px, keys, reduce="amin")
    return zbuffer


def rasterize(
    clip_positions: torch.Tensor,
    triangles: torch.Tensor,
    height: int,
    width: int,
    cull_backfaces: bool = False,
    candidate_budget: int = _DEFAULT_CANDIDATE_BUDGET,
    backend: Backend = "auto",
    keep: FragmentTest | None = None,
) -> Rasterization:
    """Rasterize triangles given in clip space (V, 4) into an H×W grid.

    Triangles with a vertex behind the camera (w <= 0) are skipped rather than
    clipped: cameras in this project always look at the head from outside.
    Backface culling keeps counter-clockwise triangles (as seen on screen, y up).
    ``keep`` discards fragments (an alpha test); it runs on the torch z-buffer.
    """
    triangles = triangles.long()
    if triangles.shape[0] >= 2**_TRIANGLE_BITS:
        raise ValueError(f"too many triangles: {triangles.shape[0]}")
    if backend not in ("auto", "torch", "nvdiffrast"):
        raise ValueError(f"unknown rasterizer backend {backend!r}")
    if keep is not None and backend == "nvdiffrast":
        raise ValueError("a fragment test needs the torch rasterizer")
    use_nvdiffrast = backend == "nvdiffrast" or (
        backend == "auto" and clip_positions.is_cuda and nvdiffrast_available() and keep is None
    )
    with torch.no_grad():
        if use_nvdiffrast:
            pixels, triangle_ids = _visible_triangles_nvdiffrast(
                clip_positions.detach(), triangles, height, width, cull_backfaces
            )
        else:
            pixels, triangle_ids = _visible_triangles(
                clip_positions.detach(), triangles, height, width, cull_backfaces,
                candidate_budget, keep,
            )  # fmt: skip

    # Differentiable part: barycentrics of the winning triangle at each pixel centre.
    screen_grad = screen_coordinates(clip_positions, height, width)
    corners = screen_grad[triangles[triangle_ids]]
    px = (pixels % width).to(clip_positions.dtype)
    py = torch.div(pixels, width, rounding_mode="floor").to(clip_positions.dtype)
    screen_bary = edge_barycentric(corners, px, py)
    inverse_w = 1.0 / clip_positions[:, 3][triangles[triangle_ids]]
    weighted = screen_bary * inverse_w
    barycentric = weighted / weighted.sum(1, keepdim=True)
    depth = (screen_bary * corners[..., 2]).sum(1)
    return Rasterization(height, width, pixels, triangle_ids, barycentric, depth)


def _visible_triangles(
    clip: torch.Tensor,
    triangles: torch.Tensor,
    height: int,
    width: int,
    cull_backfaces: bool,
    candidate_budget: int,
    keep: FragmentTest | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(covered flat pixel indices, nearest triangle at each) from the torch z-buffer."""
    screen = screen_coordinates(clip, height, width)
    valid = (clip[:, 3][triangles] > 1e-8).all(1)
    if cull_backfaces:
        valid &= _front_facing(screen[triangles])
    keys = _nearest_triangle_keys(screen, triangles, valid, height, width, candidate_budget,
                                  keep, 1.0 / clip[:, 3].clamp(min=1e-8))  # fmt: skip
    pixels = torch.nonzero(keys != torch.iinfo(torch.int64).max).squeeze(1)
    return pixels, keys[pixels] & ((1 << _TRIANGLE_BITS) - 1)


def _front_facing(corners: torch.Tensor) -> torch.Tensor:
    """(F,) bool: counter-clockwise in NDC, i.e. clockwise on screen where y grows down."""
    return signed_area(corners) < 0


@functools.cache
def nvdiffrast_available() -> bool:
    """Whether nvdiffrast's CUDA rasterizer can be used in this process."""
    try:
        import nvdiffrast.torch  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


@functools.cache
def _nvdiffrast_context(device: torch.device):
    import nvdiffrast.torch as dr

    return dr.RasterizeCudaContext(device=device)


def _visible_triangles_nvdiffrast(
    clip: torch.Tensor, triangles: torch.Tensor, height: int, width: int, cull_backfaces: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same answer as :func:`_visible_triangles`, from nvdiffrast's hardware rasterizer."""
    import nvdiffrast.torch as dr

    if cull_backfaces:
        kept = torch.nonzero(_front_facing(screen_coordinates(clip, height, width)[triangles]))
        kept = kept.squeeze(1)
    else:
        kept = torch.arange(len(triangles), device=clip.device)
    context = _nvdiffrast_context(clip.device)
    faces = triangles[kept].int().contiguous()
    raster, _ = dr.rasterize(context, clip.float()[None].contiguous(), faces, (height, width))
    # nvdiffrast's row 0 is the bottom of the image (NDC y = −1); ours is the top.
    ids = raster[0, :, :, 3].flip(0).reshape(-1).long() - 1
    pixels = torch.nonzero(ids >= 0).squeeze(1)
    return pixels, kept[ids[pixels]]


def interpolate(
    attributes: torch.Tensor, rasterization: Rasterization, triangles: torch.Tensor
) -> torch.Tensor:
    """Per-vertex attributes (V, C) → per-covered-pixel values (N, C)."""
    corner_values = attributes[triangles.long()[rasterization.triangle_ids]]  # (N, 3, C)
    return (corner_values * rasterization.barycentric[..., None]).sum(1)


def sample_texture(texture: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup of an (H, W, C) texture at glTF UVs (N, 2), v = 0 at the top row."""
    grid = (uv * 2.0 - 1.0).view(1, 1, -1, 2)
    image = texture.permute(2, 0, 1).unsqueeze(0)
    sampled = torch.nn.functional.grid_sample(
        image, grid.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )
    return sampled[0, :, 0].T


ALPHA_CUTOFF = 0.5  # glTF's default alphaCutoff: texels below it are not drawn


def alpha_test(
    uv: torch.Tensor, triangles: torch.Tensor, texture: torch.Tensor
) -> FragmentTest | None:
    """The fragment test of an RGBA ``texture`` (H, W, 4) in [0, 1] at per-vertex ``uv``:
    the strands of hair cards are drawn, the gaps between them not. None when the
    texture has no alpha or is opaque everywhere (nothing to test)."""
    if texture.shape[-1] != 4 or bool((texture[..., 3] >= 1.0).all()):
        return None
    alpha = texture[..., 3:].contiguous()
    triangles = triangles.long()

    def keep(triangle_ids: torch.Tensor, barycentric: torch.Tensor) -> torch.Tensor:
        at = (barycentric[..., None] * uv[triangles[triangle_ids]]).sum(1)
        return sample_texture(alpha, at)[:, 0] >= ALPHA_CUTOFF

    return keep
