"""Forward and backward time of the differentiable rasterizer; prints a Markdown table.

The scene: a sphere of 10,000 triangles filling most of the view, with a
per-vertex colour. Forward = rasterize + interpolate + antialias, recording the
graph; backward = gradients of the image's sum to vertex positions and colours. Runs on the CPU,
and on CUDA when there is one (with nvdiffrast's visibility beside the torch
z-buffer when nvdiffrast is installed). Median of several runs after a warm-up.
Run: .venv/bin/python benchmarks/raster.py [--repeats N]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import torch

from headsculpt.render.antialias import EdgeAdjacency, antialias
from headsculpt.render.camera import orbit_camera
from headsculpt.render.rasterizer import interpolate, nvdiffrast_available, rasterize


def uv_sphere(stacks: int = 51, slices: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """A closed sphere with 2·slices·(stacks − 1) triangles (10,000 by default)."""
    rings = [
        (math.sin(math.pi * i / stacks), math.cos(math.pi * i / stacks)) for i in range(1, stacks)
    ]
    vertices = [(0.0, 0.0, 1.0)]
    for radius, z in rings:
        for j in range(slices):
            angle = 2 * math.pi * j / slices
            vertices.append((radius * math.cos(angle), radius * math.sin(angle), z))
    vertices.append((0.0, 0.0, -1.0))
    bottom = len(vertices) - 1
    triangles = []
    for j in range(slices):
        k = (j + 1) % slices
        triangles.append((0, 1 + j, 1 + k))
        last = 1 + (stacks - 2) * slices
        triangles.append((bottom, last + k, last + j))
    for i in range(stacks - 2):
        top, below = 1 + i * slices, 1 + (i + 1) * slices
        for j in range(slices):
            k = (j + 1) % slices
            triangles.append((top + j, below + j, below + k))
            triangles.append((top + j, below + k, top + k))
    return torch.tensor(vertices), torch.tensor(triangles)


def _time(run, device: torch.device, repeats: int, prepare=lambda: None) -> float:
    """Median ms of ``run(prepare())``; ``prepare`` is not timed."""
    run(prepare())  # warm-up
    times = []
    for _ in range(repeats):
        state = prepare()
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        run(state)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def measure(device: torch.device, size: int, backend: str, repeats: int) -> tuple[float, float]:
    """(forward ms, backward ms) for one device, resolution and backend."""
    vertices, triangles = uv_sphere()
    camera = orbit_camera(20.0, 15.0, 3.2, (0.0, 0.0, 0.0), fov_y_degrees=40.0)
    clip_base = camera.to_clip(vertices).to(device)
    triangles = triangles.to(device)
    colours_base = torch.rand(len(vertices), 3, generator=torch.Generator().manual_seed(0))
    colours_base = colours_base.to(device)
    adjacency = EdgeAdjacency.from_triangles(triangles)

    def render(clip: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
        raster = rasterize(clip, triangles, size, size, backend=backend)
        image = raster.to_image(interpolate(colours, raster, triangles))
        return antialias(image, raster, clip, triangles, adjacency)

    def forward(_) -> torch.Tensor:
        clip = clip_base.clone().requires_grad_(True)
        colours = colours_base.clone().requires_grad_(True)
        return render(clip, colours).sum()

    def backward(loss: torch.Tensor) -> None:
        loss.backward()

    return _time(forward, device, repeats), _time(backward, device, repeats, lambda: forward(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")  # fmt: skip
    rows = [(torch.device("cpu"), "torch")]
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()}")
        rows.append((torch.device("cuda"), "torch"))
        if nvdiffrast_available():
            rows.append((torch.device("cuda"), "nvdiffrast"))
        else:
            print("nvdiffrast: not installed")
    print()
    print("| device | visibility | size | forward ms | backward ms |")
    print("|---|---|---|---|---|")
    for device, backend in rows:
        for size in (256, 512):
            forward, backward = measure(device, size, backend, args.repeats)
            print(f"| {device.type} | {backend} | {size}² | {forward:.1f} | {backward:.1f} |")


if __name__ == "__main__":
    main()
