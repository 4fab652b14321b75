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
from headsculpt.render.camera import FACE_FORWARD, Camera, to_pixels
from headsculpt.render.camera_sampler import CameraSampler
from headsculpt.render.landmark_condition import (
    GROUP_COLOURS,
    PUPILS,
    LandmarkPainter,
    drawing_scope,
    off_front,
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
    """The drawing the sculpt shows the ControlNet for ``view`` of ``mesh`` (uint8 HWC), and
    the landmarks' pixels."""
    vertices = torch.from_numpy(mesh.vertices).float()
    points = embedding.positions(vertices).float()
    facing = off_front(view.camera, points.mean(0).tolist(), FACE_FORWARD)
    scope = drawing_scope(facing, view.label == "back")
    drawing = LandmarkPainter(embedding.connections, SIZE)([view.camera], points, [scope])[0]
    image = (drawing.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
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


def test_three_quarter_condition_carries_both_eyes_and_the_whole_oval(fisherman, embedding):
    """MediaPipe drew every in-frame connection of the photos the ControlNet learnt from,
    hidden or not: at 60° the far eye (behind the nose) and the far half of the oval too."""
    view = _view(fisherman.mesh, 60.0)
    image, pixels = _condition(fisherman.mesh, embedding, view)
    assert set(PUPILS.values()) | set(GROUP_COLOURS.values()) <= _colours(image)
    for index, colour in PUPILS.items():  # the far pupil too, where it projects
        x, y = pixels[index]
        assert tuple(image[y, x]) == colour
    oval = np.unique(embedding.connections["face_oval"])
    x, y = pixels[oval].T
    assert (image[y, x].sum(1) > 0).all()  # every oval landmark lies on a drawn line


def test_beyond_ninety_degrees_only_the_oval_and_behind_nothing(fisherman, embedding):
    side_back = _view(fisherman.mesh, 125.0)
    assert side_back.label == "side"
    image, _ = _condition(fisherman.mesh, embedding, side_back)
    assert _colours(image) == {(0, 0, 0), GROUP_COLOURS["face_oval"]}
    back = _view(fisherman.mesh, 180.0)
    assert back.label == "back"
    image, _ = _condition(fisherman.mesh, embedding, back)
    assert image.shape == (SIZE, SIZE, 3) and not image.any()


def _hand_built(size: int = 64):
    """478 landmarks at the origin but for a face of hand-placed ones in the plane y = 0
    (facing −Y), seen by a camera 2 units in front with a 90° field of view: a point (x, 0,
    z) lands on pixel ((x / 2 + 1) / 2 · size, (1 − z / 2) / 2 · size)."""
    points = torch.zeros(LANDMARK_COUNT, 3)
    placed = {
        10: (-0.5, 0.0), 11: (0.5, 0.0),  # the oval's one line: row 32, columns 24 … 40
        20: (-0.5, 0.5), 21: (-0.1, 0.5),  # the right eye: row 24, columns 24 … 30.4
        30: (0.1, 0.5), 31: (0.5, 0.5),  # the left eye: row 24, columns 33.6 … 40
        RIGHT_PUPIL: (-0.3, 0.5), LEFT_PUPIL: (0.3, 0.5),  # row 24, columns 27.2 and 36.8
    }  # fmt: skip
    for index, (x, z) in placed.items():
        points[index] = torch.tensor([x, 0.0, z])
    nothing = np.zeros((0, 2), np.int64)
    connections = {group: nothing for group in GROUP_COLOURS}
    connections.update(face_oval=np.array([[10, 11]]), right_eye=np.array([[20, 21]]),
                       left_eye=np.array([[30, 31]]))  # fmt: skip
    camera = Camera(eye=(0.0, -2.0, 0.0), target=(0.0, 0.0, 0.0), fov_y_degrees=90.0)
    return LandmarkPainter(connections, size), camera, points


def test_lines_and_pupils_land_where_worked_out_by_hand():
    painter, camera, points = _hand_built()
    image = (painter([camera], points, ["face"])[0].permute(1, 2, 0) * 255 + 0.5).byte().numpy()
    oval, right_eye, left_eye = (GROUP_COLOURS[g] for g in ("face_oval", "right_eye", "left_eye"))
    # A line two pixels thick: each sample paints the 2 × 2 pixels around it, so the line
    # from (24, 32) to (40, 32) covers rows 31 and 32, columns 23 to 40.
    for column in range(23, 41):
        assert tuple(image[32, column]) == oval and tuple(image[31, column]) == oval, column
    assert not image[33:].any() and not image[:22].any() and not image[26:31].any()
    assert not image[:, :23].any() and not image[:, 41:].any()
    assert tuple(image[24, 23]) == right_eye and tuple(image[24, 40]) == left_eye
    assert not image[23:25, 31:33].any()  # between the eyes: nothing
    # Pupils: filled 4 × 4 squares from (column − 2, row − 2), on top of the eyes' lines.
    assert (image[22:26, 25:29] == PUPILS[RIGHT_PUPIL]).all()
    assert (image[22:26, 34:38] == PUPILS[LEFT_PUPIL]).all()
    # The oval alone beyond 90°, nothing for a back view.
    only_oval = painter([camera, camera], points, ["oval", "blank"])
    drawn = (only_oval.sum(1) > 0).numpy()
    assert drawn[0].sum() == 2 * 18 and drawn[0][31:33, 23:41].all() and not drawn[1].any()


def test_drawing_needs_every_group():
    with pytest.raises(ValueError, match="lips"):
        LandmarkPainter({"face_oval": np.array([[0, 1]])}, 64)
