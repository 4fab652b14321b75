"""The reconstruction proofs' measures on meshes whose answer is known by construction.

A target with hair cards (strands on transparent quads) is measured as the reference
teacher shows it: the gaps between strands are neither surface to reach nor colour.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import trimesh

from headsculpt.eval.reconstruction import (
    measure_reconstruction,
    novel_view_psnr,
    outer_points,
    sample_opaque_surface,
    surface_test,
)
from headsculpt.render.camera import framing_distance
from headsculpt.render.preview import TexturedMesh

SKIN, STRAND, GAP = (200, 160, 140), (40, 160, 60), (230, 20, 20)
STRIPE = (44 / 64, 52 / 64)  # the card's opaque texel columns, in u


def _texture(alpha: bool) -> np.ndarray:
    """Left half skin; right half the card: a green stripe of strands, red gaps around it
    (transparent where ``alpha``; the red must never be seen or reached)."""
    texture = np.zeros((64, 64, 4), np.uint8)
    texture[:, :32, :3], texture[:, :32, 3] = SKIN, 255
    texture[:, 32:, :3] = GAP
    columns = slice(round(STRIPE[0] * 64), round(STRIPE[1] * 64))
    texture[:, columns, :3], texture[:, columns, 3] = STRAND, 255
    return texture if alpha else texture[..., :3].copy()


def _fine_strands() -> np.ndarray:
    """Left half skin; right half strands a texel wide, a gap between each two: on the
    card ~0.4 of a pixel at 96², as a parametric head's hair is at 128²."""
    texture = np.zeros((64, 256, 4), np.uint8)
    texture[:, :128, :3], texture[:, :128, 3] = SKIN, 255
    texture[:, 128::2, :3], texture[:, 128::2, 3] = STRAND, 255
    texture[:, 129::2, :3] = GAP
    return texture


def _mesh(
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    alpha: bool,
    texture: np.ndarray | None = None,
) -> TexturedMesh:
    vertices, triangles, uvs, base = [], [], [], 0
    for piece_vertices, piece_triangles, piece_uv in pieces:
        vertices.append(piece_vertices)
        triangles.append(piece_triangles + base)
        uvs.append(piece_uv)
        base += len(piece_vertices)
    vertices = np.concatenate(vertices)
    triangles = np.concatenate(triangles)
    normals = np.asarray(trimesh.Trimesh(vertices, triangles, process=False).vertex_normals)
    texture = _texture(alpha) if texture is None else texture
    return TexturedMesh(vertices, normals, np.concatenate(uvs).astype(np.float32), triangles,
                        texture, np.full((64, 64), 128, np.uint8))  # fmt: skip


def _ball():
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    uv = np.tile([0.25, 0.5], (len(ball.vertices), 1))
    return np.asarray(ball.vertices), np.asarray(ball.faces), uv


def _card(u_range=(0.5, 1.0), cells: int = 12):
    """A double-sided card in front of the ball (−y), its u running along x; a grid of
    small quads, as hair cards are (closest-point queries look among nearby triangles)."""
    x0, x1 = (-0.15 + 0.3 * (u - 0.5) / 0.5 for u in u_range)
    s, t = np.meshgrid(np.linspace(0.0, 1.0, cells + 1), np.linspace(0.0, 1.0, cells + 1))
    s, t = s.ravel(), t.ravel()
    vertices = np.stack([x0 + s * (x1 - x0), np.full_like(s, -0.16), -0.15 + 0.3 * t], axis=1)
    uv = np.stack([u_range[0] + s * (u_range[1] - u_range[0]), 1.0 - t], axis=1)
    corner = (np.arange(cells)[:, None] * (cells + 1) + np.arange(cells)[None]).ravel()
    a, b, c, d = corner, corner + 1, corner + cells + 2, corner + cells + 1
    front = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return vertices, np.concatenate([front, front[:, ::-1]]), uv


@pytest.fixture(scope="module")
def carded_target() -> TexturedMesh:
    return _mesh([_ball(), _card()], alpha=True)


def test_only_the_strands_of_a_card_are_sampled(carded_target):
    points = sample_opaque_surface(carded_target, 4000, np.random.default_rng(0))
    assert len(points) == 4000
    on_card = points[np.abs(points[:, 1] + 0.16) < 1e-9]
    on_ball = np.abs(np.linalg.norm(points, axis=1) - 0.1) < 2e-3
    assert len(on_card) > 200 and (on_ball | (np.abs(points[:, 1] + 0.16) < 1e-9)).all()
    x_stripe = [-0.15 + 0.3 * (u - 0.5) / 0.5 for u in STRIPE]
    margin = 0.3 / 64  # one texel of bilinear alpha
    assert (on_card[:, 0] > x_stripe[0] - margin).all()
    assert (on_card[:, 0] < x_stripe[1] + margin).all()


def test_the_ball_is_seen_through_the_gaps_between_strands(carded_target):
    ball_vertices, _, _ = _ball()
    # The ball's front, behind the card's gaps (the strands cover |x| < 0.0375) …
    in_front = (ball_vertices[:, 1] < -0.06) & (np.abs(ball_vertices[:, 0]) > 0.05)
    behind_gaps = ball_vertices[in_front]
    behind_gaps = behind_gaps * 1.001  # just off the surface they were sampled on
    front_view = {"views": 1}  # the first of the ring: in front, from a little below
    keep = surface_test(carded_target)
    seen = outer_points(behind_gaps, carded_target.vertices, carded_target.triangles,
                        keep=keep, **front_view)  # fmt: skip
    hidden = outer_points(behind_gaps, carded_target.vertices, carded_target.triangles,
                          **front_view)  # fmt: skip
    assert len(behind_gaps) >= 10 and len(seen) == len(behind_gaps)
    assert len(hidden) == 0  # … which hide it when the card is taken as opaque


def test_a_result_with_the_strands_alone_matches_the_carded_target(carded_target):
    strands_only = _mesh([_ball(), _card(STRIPE)], alpha=False)
    report = measure_reconstruction(strands_only, carded_target, samples=6000, views=4, size=96)
    assert report.chamfer < 0.002
    assert report.psnr > 30.0
    # Without its strands the same result misses what the teacher shows …
    bald = _mesh([_ball()], alpha=False)
    missing = measure_reconstruction(bald, carded_target, samples=6000, views=4, size=96)
    assert missing.target_to_result > 10 * report.target_to_result + 0.005
    # … and the whole card, gaps included, is not what the target looks like.
    whole_card = _mesh([_ball(), _card()], alpha=False)
    opaque = measure_reconstruction(whole_card, carded_target, samples=6000, views=4, size=96)
    assert opaque.psnr < report.psnr - 10.0
    assert opaque.result_to_target < 1e-6  # every point of it lies on the target's card


def test_the_psnr_of_strands_thinner_than_a_pixel_holds_under_half_a_pixel():
    """The target against itself moved by half a pixel. Sampled once per pixel, strands
    thinner than a pixel alias, and the copy scores like a poor reconstruction (these
    regular strands: 15 dB; the long-haired head against itself turned by half a pixel:
    21.5 dB). Antialiased: 23 dB here (a worst case: straight, even, high-contrast
    strands), 32.5 dB for the head."""
    target = _mesh([_ball(), _card(cells=24)], alpha=True, texture=_fine_strands())
    radius = float(np.linalg.norm(np.ptp(target.vertices, axis=0))) / 2.0
    size, fov = 96, 30.0  # the ring's field of view (novel_view_psnr)
    pixel = 2.0 * framing_distance(radius, fov, margin=1.05) * np.tan(np.radians(fov / 2)) / size
    shifted = replace(target, vertices=target.vertices + np.array([0.5, 0.0, 0.5]) * pixel)
    psnr = novel_view_psnr(shifted, target, views=4, size=size)
    assert np.mean(psnr) > 20.0, psnr
    # The measure still tells: the whole card opaque, gaps and all, is far off.
    opaque = _mesh([_ball(), _card(cells=24)], alpha=False, texture=_fine_strands()[..., :3])
    assert np.mean(novel_view_psnr(opaque, target, views=4, size=size)) < np.mean(psnr) - 4.0
