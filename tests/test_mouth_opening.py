"""Opening a sculpt's closed lips: the cut, the pocket behind it, and the rig it allows."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from headsculpt.export.mouth_opening import MouthOpeningConfig, mouth_line, open_mouth
from headsculpt.export.rig_transfer import RigSource, transfer_rig

AXES = np.array([0.10, 0.11, 0.13])  # an egg of a head: x across, −y out of the face, z up
WIDTH = 0.05  # the mouth, corner to corner


def _egg() -> tuple[np.ndarray, np.ndarray]:
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=1.0)
    return sphere.vertices * AXES, sphere.faces


def _mouth(smile: float = 0.004) -> np.ndarray:
    """11 points corner to corner, a little in front of the egg, curving up at the ends."""
    x = np.linspace(-WIDTH / 2, WIDTH / 2, 11)
    z = -0.03 + smile * (x / (WIDTH / 2)) ** 2
    y = -AXES[1] * np.sqrt(1 - (x / AXES[0]) ** 2 - (z / AXES[2]) ** 2) - 0.002
    return np.stack([x, y, z], axis=1)


def _boundary_edges(triangles: np.ndarray) -> np.ndarray:
    edges = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]],
                                    triangles[:, [2, 0]]]), axis=1)  # fmt: skip
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return unique[counts == 1]


@pytest.mark.parametrize("smile", [0.0, 0.004, -0.003])
def test_the_cut_follows_the_mouth_line_and_the_pocket_closes_it_from_behind(smile):
    vertices, triangles = _egg()
    line = _mouth(smile)
    config = MouthOpeningConfig()
    opened = open_mouth(vertices, triangles, line, np.array([0.0, 0.0, 1.0]), config)
    assert opened.cut_nodes > 10

    # The surface alone is open along one slit: its border runs along the line from one
    # corner to the other, and nowhere else.
    surface = opened.vertices[: opened.surface_count]
    border = _boundary_edges(opened.triangles)
    on_border = np.unique(border)
    assert len(border) == 2 * (opened.cut_nodes + 1)  # one slit: two sides, corners shared
    x = surface[on_border, 0]
    expected_z = np.interp(x, line[:, 0], line[:, 2])
    assert np.abs(surface[on_border, 2] - expected_z).max() < 0.004  # on the line, not beside
    edge = 0.004  # the egg's edges: the cut ends on the last edge inside each corner
    assert x.min() < -WIDTH / 2 + edge and x.max() > WIDTH / 2 - edge  # corner to corner
    # The lips part a fraction of a millimetre at rest, the upper side above the lower.
    upper, lower = surface[opened.cut[:, 0]], surface[opened.cut[:, 1]]
    parting = upper[:, 2] - lower[:, 2]
    assert (parting > 0).all() and parting.max() <= config.gap * WIDTH * 1.01

    # With the pocket the head is closed again, wound one way, and the pocket lies inside
    # the head, behind the lips: the volume shrinks by the pocket's.
    whole = trimesh.Trimesh(opened.vertices, np.concatenate([opened.triangles, opened.pocket]),
                            process=False)  # fmt: skip
    assert whole.is_watertight and whole.is_winding_consistent
    egg_volume = trimesh.Trimesh(vertices, triangles).volume
    assert 0.0 < egg_volume - whole.volume < 0.01 * egg_volume
    pocket = opened.vertices[opened.surface_count :]
    assert ((pocket / AXES) ** 2).sum(1).max() < 1.0
    assert pocket[:, 1].max() > line[:, 1].max() + 0.4 * config.depth * WIDTH  # it goes back
    # The cut's sides and the pocket take their rig from beyond the cut.
    assert opened.free[opened.surface_count :].all()
    assert opened.free[opened.cut].all()
    assert opened.free[: opened.surface_count].mean() < 0.05


def test_a_cut_that_would_not_span_the_mouth_is_not_made():
    # No crossing of the line spans min_span × the width: the lips stay shut, the surface
    # stays closed (its triangles split where the line crosses, nothing pulled apart).
    vertices, triangles = _egg()
    config = MouthOpeningConfig(min_span=1.5)
    opened = open_mouth(vertices, triangles, _mouth(), np.array([0.0, 0.0, 1.0]), config)
    assert opened.cut_nodes == 0 and len(opened.pocket) == 0 and not opened.free.any()
    closed = trimesh.Trimesh(opened.vertices, opened.triangles, process=False)
    assert closed.is_watertight and closed.is_winding_consistent


def test_mouth_line_runs_between_the_inner_lips_and_up_points_to_the_upper_lip():
    rng = np.random.default_rng(0)
    landmarks = rng.normal(size=(478, 3))
    landmarks[0] = [0.0, 0.0, 1.0]  # the upper lip's top
    landmarks[17] = [0.0, 0.0, -1.0]  # the lower lip's bottom
    line, up = mouth_line(landmarks)
    assert np.allclose(line[0], landmarks[78]) and np.allclose(line[-1], landmarks[308])
    assert np.allclose(line[5], (landmarks[13] + landmarks[14]) / 2)
    assert np.allclose(up, [0.0, 0.0, 1.0])


def _half_moving_sheet():
    """A slab whose right half moves up 1 cm (one unit), its left half not; the band of
    vertices just right of the middle, where a cut the slab lacks might run."""
    sheet = trimesh.creation.box(extents=(1.0, 1.0, 0.2)).subdivide().subdivide().subdivide()
    vertices, triangles = np.asarray(sheet.vertices) + 0.5, np.asarray(sheet.faces)
    moves = np.where(vertices[:, 0] > 0.5, 0.01, 0.0)
    offsets = np.stack([np.zeros_like(moves), np.zeros_like(moves), moves], axis=1)[None]
    source = RigSource(vertices, triangles, np.ones((len(vertices), 1)), offsets)
    band = (vertices[:, 0] > 0.5) & (vertices[:, 0] < 0.75)
    return source, moves, band


def test_inpainted_vertices_take_their_neighbours_values_not_the_closest_points():
    source, moves, band = _half_moving_sheet()
    rig = transfer_rig(source, source.vertices, source.triangles, inpainted=band)
    assert not rig.matched[band].any() and rig.matched[~band].all()
    inside = rig.face_deltas[0, band, 2]
    assert (inside > 0.0005).all() and (inside < 0.0095).all()  # between the two sides
    assert np.allclose(rig.face_deltas[0, ~band, 2], moves[~band])


def test_a_correspondence_across_the_cut_is_not_taken():
    # The source's right half moves (the jaw's side, −1), its left half stays (+1). Target
    # vertices just right of the middle marked as the staying side (+1) must not take the
    # moving half's values; marked as the moving side (−1) they take them.
    source, moves, band = _half_moving_sheet()
    source_sides = np.where(moves > 0, -1.0, 1.0)
    for side, taken in ((1, False), (-1, True)):
        sides = (np.where(band, side, 0), source_sides)
        rig = transfer_rig(source, source.vertices, source.triangles, sides=sides)
        assert (rig.matched[band] == taken).all()
        assert rig.matched[~band].all()
    assert np.allclose(rig.face_deltas[0, :, 2], moves)
