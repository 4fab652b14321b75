"""The 478 embedded landmarks and the ControlNet condition images drawn from them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from headsculpt.export.glb_reader import read_head_glb
from headsculpt.prior.head_model import PART_NAMES, HeadParameters, load_head_model
from headsculpt.prior.landmarks import (
    LANDMARK_COUNT,
    LEFT_PUPIL,
    OUTER_EYE_CORNERS,
    RIGHT_PUPIL,
    LandmarkEmbedding,
    load_landmark_embedding,
)
from headsculpt.render.camera import to_pixels
from headsculpt.render.camera_sampler import CameraSampler
from headsculpt.render.landmark_condition import (
    GROUP_COLOURS,
    PUPILS,
    draw_landmarks,
    landmark_condition_image,
)

NOSE_TIP, CHIN = 1, 152  # MediaPipe FaceMesh indices
SIZE = 512


@pytest.fixture(scope="module")
def embedding() -> LandmarkEmbedding:
    return load_landmark_embedding()


@pytest.fixture(scope="module")
def neutral():
    return load_head_model()(HeadParameters())


def test_embedding_covers_all_landmarks_on_the_right_parts(embedding):
    assert embedding.corners.shape == (LANDMARK_COUNT, 3)
    assert np.allclose(embedding.barycentric.sum(1), 1.0)
    assert (embedding.barycentric >= 0).all()
    topology = load_head_model().topology
    parts = topology.triangle_part[embedding.triangle_ids]
    assert parts[RIGHT_PUPIL] == parts[LEFT_PUPIL] == PART_NAMES.index("eyes")
    assert parts[NOSE_TIP] == parts[CHIN] == PART_NAMES.index("head")
    assert set(embedding.connections) == set(GROUP_COLOURS)


def test_landmarks_sit_where_the_face_is(embedding, neutral):
    points = embedding.positions(neutral.vertices)
    right_corner, left_corner = points[list(OUTER_EYE_CORNERS)]
    assert right_corner[0] < 0 < left_corner[0]  # the subject's left is +X
    assert points[NOSE_TIP, 1] <= np.percentile(points[:, 1], 2)  # the nose leads (−Y)
    assert points[CHIN, 2] < points[NOSE_TIP, 2] < right_corner[2]
    distance = np.linalg.norm(right_corner - left_corner)
    assert 0.07 < distance < 0.12  # metres: an adult's outer eye corners


def test_landmarks_follow_shape_and_expression(embedding, neutral):
    head = load_head_model()
    long_nose = head(HeadParameters(local_changes={"nose-trans-forward": 1.0}))
    moved = embedding.positions(long_nose.vertices) - embedding.positions(neutral.vertices)
    assert moved[NOSE_TIP, 1] < -0.003  # the tip comes forward with the nose
    jaw = head.face_unit_names.index("jawOpen")
    opened = neutral.vertices + neutral.face_unit_deltas[jaw]
    drop = embedding.positions(opened)[CHIN, 2] - embedding.positions(neutral.vertices)[CHIN, 2]
    assert drop < -0.01
    as_tensor = embedding.positions(torch.from_numpy(neutral.vertices))
    assert torch.allclose(
        as_tensor.double(), torch.from_numpy(embedding.positions(neutral.vertices))
    )


def test_embedding_build_residual_is_recorded_and_small(embedding):
    front = embedding.residual["reprojection_nme_per_view"][0]
    assert front < 0.01
    assert embedding.residual["lift_spread_mm"]["median"] < 2.0


def test_glb_carries_the_landmarks(fisherman, fisherman_glb, embedding):
    head = read_head_glb(fisherman_glb)
    expected = embedding.positions(fisherman.mesh.vertices)
    assert head.landmarks is not None
    assert np.abs(head.landmarks - expected).max() < 1e-5


def test_stale_embedding_is_refused(tmp_path, embedding):
    import json

    from headsculpt.prior.landmarks import DATA_FILE

    data = json.loads(DATA_FILE.read_text())
    data["triangles"][0] = (data["triangles"][0] + 1) % 1000
    stale = tmp_path / "landmarks.json"
    stale.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="rebuild"):
        LandmarkEmbedding.load(load_head_model().topology, stale)


# --- Condition images ------------------------------------------------------------------


def _view(mesh, azimuth: float, elevation: float = 5.0):
    return CameraSampler.around(mesh.vertices).view(azimuth, elevation, 30.0, 1.0)


def _condition(mesh, embedding, view):
    vertices = torch.from_numpy(mesh.vertices).double()
    triangles = torch.from_numpy(mesh.triangles).long()
    points = embedding.positions(vertices)
    image = landmark_condition_image(
        view.camera, points, vertices, triangles, embedding.connections, SIZE, view.label == "back"
    )
    pixels, _ = to_pixels(view.camera, points, SIZE, SIZE)
    return image, np.floor(pixels.numpy()).astype(int)


def _only_in(embedding, group: str) -> int:
    """A landmark drawn by ``group`` and no other group."""
    others = {
        int(i) for g, pairs in embedding.connections.items() if g != group for i in pairs.ravel()
    }
    mine = [int(i) for i in np.unique(embedding.connections[group]) if int(i) not in others]
    return mine[len(mine) // 2]


def _colours(image: np.ndarray) -> set[tuple[int, int, int]]:
    return {tuple(int(c) for c in colour) for colour in np.unique(image.reshape(-1, 3), axis=0)}


def test_front_condition_follows_the_convention(fisherman, embedding):
    image, pixels = _condition(fisherman.mesh, embedding, _view(fisherman.mesh, 0.0))
    for index, colour in PUPILS.items():
        x, y = pixels[index]
        assert tuple(image[y, x]) == colour
        # A filled 4×4 square around the pupil.
        assert (image[y - 2 : y + 2, x - 2 : x + 2] == colour).all()
    for group, colour in GROUP_COLOURS.items():
        x, y = pixels[_only_in(embedding, group)]
        assert tuple(image[y, x]) == colour, group
    assert _colours(image) <= {(0, 0, 0), *GROUP_COLOURS.values(), *PUPILS.values()}
    # Black background, thin lines: a small share of the image is drawn.
    assert 0.005 < (image.sum(2) > 0).mean() < 0.1


def test_three_quarter_condition_lines_up_with_the_head(fisherman, embedding):
    from headsculpt.render.preview import render_view

    view = _view(fisherman.mesh, 35.0)
    image, pixels = _condition(fisherman.mesh, embedding, view)
    render = render_view(fisherman.mesh, view.camera, SIZE)
    background = render[2, 2]
    drawn = image.sum(2) > 0
    on_head = np.any(render != background, axis=2)
    assert on_head[drawn].mean() > 0.97  # the drawing lies on the rendered head
    assert set(PUPILS.values()) <= _colours(image)  # both eyes still seen at 35°


def test_profile_hides_the_far_side(fisherman, embedding):
    # Azimuth 90° looks at the head's left side: its right eye is behind the nose.
    image, _ = _condition(fisherman.mesh, embedding, _view(fisherman.mesh, 90.0))
    colours = _colours(image)
    assert PUPILS[LEFT_PUPIL] in colours and GROUP_COLOURS["left_eye"] in colours
    assert PUPILS[RIGHT_PUPIL] not in colours and GROUP_COLOURS["right_eye"] not in colours


def test_back_view_is_blank_and_the_head_hides_the_face_anyway(fisherman, embedding):
    view = _view(fisherman.mesh, 180.0)
    assert view.label == "back"
    image, _ = _condition(fisherman.mesh, embedding, view)
    assert image.shape == (SIZE, SIZE, 3) and not image.any()
    vertices = torch.from_numpy(fisherman.mesh.vertices).double()
    drawn = landmark_condition_image(
        view.camera,
        embedding.positions(vertices),
        vertices,
        torch.from_numpy(fisherman.mesh.triangles).long(),
        embedding.connections,
        SIZE,
        back_view=False,
    )
    assert (drawn.sum(2) > 0).mean() < 0.001


def test_drawing_needs_every_group():
    connections = {"face_oval": np.array([[0, 1]])}
    with pytest.raises(ValueError, match="lips"):
        draw_landmarks(
            np.zeros((LANDMARK_COUNT, 2)), np.ones(LANDMARK_COUNT, bool), connections, 64
        )
