"""What MediaPipe is shown of a surface: grey clay, or the surface in its own colours.

A sculpt's closed lips are one smooth sheet, so in grey clay MediaPipe guessed where they
part (4–11 mm too high on the accessorised proof); the sculpt's export shows the surface
in its texture field's colours instead (pipelines/sculpt.py, surface_landmarks). Here:
the colours reach the picture, and the lighter copy dense meshes are seen through keeps
them.
"""

from __future__ import annotations

import numpy as np
import trimesh

from headsculpt.eval.face_finder import simplified
from headsculpt.prior.head_model import vertex_normals
from headsculpt.render.camera import orbit_camera
from headsculpt.render.preview import TexturedMesh, render_view

RED, BLUE = (220, 30, 30), (30, 30, 220)


def _two_tone_sphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A unit sphere (prior frame: z up), red above its equator and blue below."""
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    vertices, triangles = np.asarray(sphere.vertices), np.asarray(sphere.faces)
    colours = np.where(vertices[:, 2:] > 0.0, RED, BLUE).astype(np.uint8)
    return vertices, triangles, colours


def test_a_surface_is_shown_in_its_colours_in_place_of_its_texture():
    vertices, triangles, colours = _two_tone_sphere(3)
    mesh = TexturedMesh(
        vertices.astype(np.float32),
        vertex_normals(vertices, triangles).astype(np.float32),
        np.zeros((len(vertices), 2), np.float32),
        triangles,
        np.full((1, 1, 3), 200, np.uint8),  # grey clay
        np.full((1, 1), 200, np.uint8),
    )
    camera = orbit_camera(0.0, 0.0, 5.0, (0.0, 0.0, 0.0))
    coloured = render_view(mesh, camera, 64, vertex_colors=colours).astype(int)
    top, bottom = coloured[20, 32], coloured[44, 32]  # above and below the equator
    assert top[0] > 2 * top[2] and bottom[2] > 2 * bottom[0], (top, bottom)
    clay = render_view(mesh, camera, 64).astype(int)  # without colours: the texture's grey
    assert abs(clay[20, 32, 0] - clay[20, 32, 2]) < 10, clay[20, 32]


def test_the_lighter_copy_keeps_the_colours_of_the_vertices_it_merges():
    vertices, triangles, colours = _two_tone_sphere(6)  # 81,920 triangles
    proxy, proxy_triangles, proxy_colours = simplified(vertices, triangles, 20000, colours)
    assert len(proxy_triangles) < len(triangles) and len(proxy_colours) == len(proxy)
    assert proxy_triangles.max() < len(proxy)
    above, below = proxy[:, 2] > 0.05, proxy[:, 2] < -0.05  # clusters off the equator
    assert (proxy_colours[above] == RED).all() and (proxy_colours[below] == BLUE).all()
    # A mesh light enough is looked at as it is, colours and all.
    small = _two_tone_sphere(2)
    assert all(a is b for a, b in zip(simplified(*small[:2], 20000, small[2]), small, strict=True))
