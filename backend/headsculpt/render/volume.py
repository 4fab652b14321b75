"""Differentiable volume rendering of a density/albedo field (the coarse NeRF stage).

The field is a callable, ``field(points (N, 3)) -> (density (N,), albedo (N, 3))``,
so this layer knows nothing of what represents it (an MLP, a hash grid, a voxel
grid). Density must already be non-negative (the field applies its activation).
All views of a batch are sampled together and the field sees their samples in
one call (per ``chunk_size``), which is what keeps a GPU busy during score
distillation.

Each ray is clipped to the config's box and cut into ``samples_per_ray`` equal
intervals; the field is evaluated at one point per interval (its centre, or a
uniformly jittered point when ``stratified``), and the interval's length is the
quadrature step: ``alpha = 1 - exp(-σ δ)``, transmittance ``T = exp(-Σ σ δ)`` of the
intervals before it. With jitter this is an unbiased estimate of the optical
depth, so fitting with random offsets converges to the continuous answer.
Samples in unoccupied cells of an :class:`~headsculpt.render.occupancy.OccupancyGrid`
are given zero density without calling the field.

Shading follows DreamFusion: ``albedo`` (colour as is), ``lambertian``
(``albedo · (ambient + diffuse · max(0, n·l))``) and ``textureless`` (the same
with a white albedo), which forces geometry, not paint, to explain the image.
Normals come from the caller (``normals_fn``; e.g. ``-∇σ`` by autograd) and are
evaluated only at samples that contribute to the image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import torch

from headsculpt.bounds import Box
from headsculpt.render.camera import Camera
from headsculpt.render.occupancy import OccupancyGrid
from headsculpt.render.rays import camera_rays, intersect_box

Shading = Literal["albedo", "lambertian", "textureless"]
SHADINGS: tuple[str, ...] = get_args(Shading)
Field = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
NormalsFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class VolumeRenderConfig:
    """How rays are sampled, composited and shaded."""

    box: Box = Box()  # the field's domain: rays are sampled only inside it
    samples_per_ray: int = 64
    stratified: bool = True  # jitter each sample within its interval (training)
    background: tuple[float, float, float] | Literal["random"] = (1.0, 1.0, 1.0)
    shading: Shading = "albedo"  # used when render_volume is given none
    ambient: float = 0.1  # light levels of the shaded modes (threestudio's defaults)
    diffuse: float = 0.9
    normal_weight_threshold: float = 1e-4  # samples below this weight get no normal
    chunk_size: int = 2**19  # points per field call (bounds memory under no_grad)

    def __post_init__(self) -> None:
        if self.samples_per_ray < 1 or self.chunk_size < 1:
            raise ValueError("samples_per_ray and chunk_size must be positive")
        if self.shading not in SHADINGS:
            raise ValueError(f"shading must be one of {SHADINGS}, not {self.shading!r}")
        if self.background != "random" and len(self.background) != 3:
            raise ValueError('background must be an RGB triple or "random"')


@dataclass
class VolumeRender:
    """Images of a batch of views, and the samples behind them (for regularisers).

    Per-sample tensors are packed: one entry per sample at which the field was
    evaluated, ``sample_ray_indices`` naming its ray (a flat index into B·H·W).
    """

    rgb: torch.Tensor  # (B, 3, H, W), composited over the background
    opacity: torch.Tensor  # (B, 1, H, W), Σ weights
    depth: torch.Tensor  # (B, 1, H, W), Σ w·t / Σ w: distance from the eye; 0 where empty
    background: torch.Tensor  # (B, 3), the colour each view was composited over
    shading: Shading
    ray_directions: torch.Tensor  # (B·H·W, 3) unit, from the eye into the scene
    sample_ray_indices: torch.Tensor  # (K,) int64
    sample_t: torch.Tensor  # (K,) distance of each sample from the eye
    sample_weights: torch.Tensor  # (K,) compositing weights (differentiable)
    sample_normals: torch.Tensor | None  # (K, 3); zero where the weight was negligible

    @property
    def evaluated_samples(self) -> int:
        """How many points the field was evaluated at."""
        return int(self.sample_weights.numel())

    def orientation_loss(self) -> torch.Tensor:
        """DreamFusion's orientation loss: Σ stopgrad(w) · max(0, n·d)² per visible ray.

        Penalises normals that face away from the camera where the ray stops,
        which removes the "floaters" that are visible from one side only.
        """
        if self.sample_normals is None:
            raise ValueError("render with normals_fn to get the orientation loss")
        facing = (self.sample_normals * self.ray_directions[self.sample_ray_indices]).sum(1)
        penalty = (self.sample_weights.detach() * facing.clamp(min=0.0) ** 2).sum()
        visible = (self.opacity.detach() > 0).sum().clamp(min=1)
        return penalty / visible


def random_shading(
    step: int,
    generator: torch.Generator | None = None,
    albedo_only_steps: int = 1000,
    probabilities: tuple[float, float, float] = (0.25, 0.375, 0.375),
) -> Shading:
    """A shading mode for one training step.

    Plain albedo for the first ``albedo_only_steps`` (the geometry has no normals
    worth lighting yet), then albedo / lambertian / textureless with
    ``probabilities``. The defaults are threestudio's diffuse-with-point-light
    material: ambient only for 1000 steps, then diffuse with probability 3/4, half
    of that textureless.
    """
    if step < albedo_only_steps:
        return "albedo"
    device = generator.device if generator is not None else "cpu"
    draw = torch.rand((), generator=generator, device=device).item() * sum(probabilities)
    for mode, probability in zip(SHADINGS, probabilities, strict=True):
        if draw < probability:
            return mode
        draw -= probability
    return SHADINGS[-1]


def render_volume(
    field: Field,
    cameras: Sequence[Camera],
    height: int,
    width: int,
    config: VolumeRenderConfig | None = None,
    occupancy: OccupancyGrid | None = None,
    shading: Shading | None = None,
    normals_fn: NormalsFn | None = None,
    light_dirs: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> VolumeRender:
    """Render ``cameras`` (B views of H×W) of ``field`` by alpha compositing.

    ``light_dirs`` (B, 3) or (3,) point toward a directional light, world space;
    by default each view is lit from its own eye (a headlight). ``normals_fn`` is
    required for the lambertian and textureless modes; given with ``albedo``, it
    still yields normals for :meth:`VolumeRender.orientation_loss`. ``generator``
    drives the jitter and a random background (on the render's device). The
    device defaults to the occupancy grid's, else the CPU.
    """
    config = VolumeRenderConfig() if config is None else config
    shading = config.shading if shading is None else shading
    if shading not in SHADINGS:
        raise ValueError(f"shading must be one of {SHADINGS}, not {shading!r}")
    if shading != "albedo" and normals_fn is None:
        raise ValueError(f"{shading} shading needs normals_fn")
    if device is None:
        device = occupancy.density.device if occupancy is not None else torch.device("cpu")
    views, pixels, samples = len(cameras), height * width, config.samples_per_ray

    rays = [camera_rays(camera, height, width, device) for camera in cameras]
    origins = torch.cat([origin for origin, _ in rays])
    directions = torch.cat([direction for _, direction in rays])
    t_near, t_far, hit = intersect_box(origins, directions, config.box)
    hit_rays = torch.nonzero(hit).squeeze(1)

    # Equal intervals between the box's entry and exit, one sample in each.
    step = (t_far - t_near)[hit_rays] / samples
    if config.stratified:
        offsets = torch.rand(
            (hit_rays.numel(), samples), device=device, dtype=step.dtype, generator=generator
        )
    else:
        offsets = torch.full((hit_rays.numel(), samples), 0.5, device=device, dtype=step.dtype)
    index = torch.arange(samples, device=device, dtype=step.dtype)
    t = t_near[hit_rays, None] + (index + offsets) * step[:, None]
    points = (origins[hit_rays, None] + t[..., None] * directions[hit_rays, None]).reshape(-1, 3)

    # Empty-space skipping: only samples in occupied cells reach the field.
    if occupancy is not None:
        kept = torch.nonzero(occupancy.occupied(points)).squeeze(1)
    else:
        kept = torch.arange(points.shape[0], device=device)
    kept_points = points[kept]
    density, albedo = _evaluate(field, kept_points, config.chunk_size)

    sigma = torch.zeros(points.shape[0], device=device, dtype=density.dtype)
    sigma = sigma.index_put((kept,), density).view(-1, samples)
    optical = sigma * step[:, None]
    before = torch.cat([torch.zeros_like(optical[:, :1]), optical.cumsum(1)[:, :-1]], dim=1)
    weights = torch.exp(-before) * -torch.expm1(-optical)  # T · alpha

    sample_weights = weights.reshape(-1)[kept]
    sample_rays = hit_rays[torch.div(kept, samples, rounding_mode="floor")]
    sample_t = t.reshape(-1)[kept]

    normals = None
    if normals_fn is not None:
        normals = _normals_where_visible(
            normals_fn,
            kept_points,
            sample_weights,
            config.normal_weight_threshold,
            config.chunk_size,
        )
    colour = _shade(
        shading, albedo, normals, sample_rays // pixels, cameras, light_dirs, config, device
    )

    total = views * pixels
    dtype = sample_weights.dtype
    opacity = torch.zeros(total, device=device, dtype=dtype).index_add(
        0, sample_rays, sample_weights
    )
    distance = torch.zeros(total, device=device, dtype=dtype).index_add(
        0, sample_rays, sample_weights * sample_t
    )
    depth = torch.where(opacity > 1e-6, distance / opacity.clamp(min=1e-6), 0.0)
    painted = torch.zeros(total, 3, device=device, dtype=dtype).index_add(
        0, sample_rays, sample_weights[:, None] * colour
    )

    background = _background(config, views, device, dtype, generator)
    ray_background = background.repeat_interleave(pixels, dim=0)
    rgb = painted + (1.0 - opacity[:, None]) * ray_background

    def image(values: torch.Tensor) -> torch.Tensor:
        return values.reshape(views, height, width, -1).permute(0, 3, 1, 2)

    return VolumeRender(
        rgb=image(rgb),
        opacity=image(opacity[:, None]),
        depth=image(depth[:, None]),
        background=background,
        shading=shading,
        ray_directions=directions,
        sample_ray_indices=sample_rays,
        sample_t=sample_t,
        sample_weights=sample_weights,
        sample_normals=normals,
    )


def _evaluate(
    field: Field, points: torch.Tensor, chunk_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The field at ``points`` in chunks; (density (N,), albedo (N, 3))."""
    if points.shape[0] == 0:
        return points.new_zeros(0), points.new_zeros(0, 3)
    densities, albedos = [], []
    for chunk in points.split(chunk_size):
        density, albedo = field(chunk)
        densities.append(density.reshape(-1))
        albedos.append(albedo.reshape(-1, 3))
    return torch.cat(densities), torch.cat(albedos)


def _normals_where_visible(
    normals_fn: NormalsFn,
    points: torch.Tensor,
    weights: torch.Tensor,
    threshold: float,
    chunk_size: int,
) -> torch.Tensor:
    """(K, 3) unit normals at samples whose weight exceeds ``threshold``, zero elsewhere."""
    visible = torch.nonzero(weights.detach() > threshold).squeeze(1)
    normals = points.new_zeros(points.shape[0], 3)
    if visible.numel() == 0:
        return normals
    found = torch.cat([normals_fn(chunk) for chunk in points[visible].split(chunk_size)])
    found = torch.nn.functional.normalize(found, dim=1)
    return normals.index_put((visible,), found.to(normals.dtype))


def _shade(
    shading: Shading,
    albedo: torch.Tensor,
    normals: torch.Tensor | None,
    sample_views: torch.Tensor,
    cameras: Sequence[Camera],
    light_dirs: torch.Tensor | None,
    config: VolumeRenderConfig,
    device: torch.device | str,
) -> torch.Tensor:
    """Per-sample colour (K, 3) in the given shading mode."""
    if shading == "albedo":
        return albedo
    if light_dirs is None:
        centre = torch.tensor(config.box.centre, dtype=albedo.dtype, device=device)
        eyes = torch.tensor([camera.eye for camera in cameras], dtype=albedo.dtype, device=device)
        light_dirs = eyes - centre
    lights = torch.as_tensor(light_dirs, dtype=albedo.dtype, device=device)
    lights = torch.nn.functional.normalize(lights.expand(len(cameras), 3), dim=1)
    lambert = (normals * lights[sample_views]).sum(1).clamp(min=0.0)
    brightness = (config.ambient + config.diffuse * lambert)[:, None]
    if shading == "textureless":
        return brightness.expand(-1, 3)
    return albedo * brightness


def _background(
    config: VolumeRenderConfig,
    views: int,
    device: torch.device | str,
    dtype: torch.dtype,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """(B, 3) background colours: the config's, or one random colour per view."""
    if config.background == "random":
        return torch.rand((views, 3), device=device, dtype=dtype, generator=generator)
    colour = torch.tensor(config.background, device=device, dtype=dtype)
    return colour.expand(views, 3).clone()
