"""Rig transfer without MediaPipe: the geometry pieces, and a known-answer head that is
already in the prior's frame (a sculpt's path: no face search)."""

from __future__ import annotations

import numpy as np
import pytest

from headsculpt.export.mesh_laplacian import inpaint, weld_vertices
from headsculpt.export.mesh_reader import InputMesh, read_mesh
from headsculpt.export.rig_transfer import RigSource, transfer_rig
from headsculpt.export.surface_query import closest_on_triangles
from headsculpt.pipelines.rig import RigOptions, RigPipeline
from headsculpt.prior.head_model import load_head_model
from rig_cases import CHECKED_UNITS, Frame, foreign_head, project_head, unit_score


def _grid(
    n: int, z: float = 0.0, flip: bool = False, length: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """An n×n vertex sheet on [0, length] × [0, 1] at height z (normal +z; −z when flipped)."""
    u, v = np.meshgrid(np.linspace(0, length, n), np.linspace(0, 1, n), indexing="ij")
    vertices = np.stack([u.ravel(), v.ravel(), np.full(n * n, z)], axis=1)
    i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a = (i * n + j).ravel()
    triangles = np.concatenate(
        [np.stack([a, a + n, a + 1], 1), np.stack([a + 1, a + n, a + n + 1], 1)]
    )
    return vertices, (triangles[:, ::-1].copy() if flip else triangles)


def test_closest_point_on_triangles_matches_dense_sampling():
    rng = np.random.default_rng(1)
    a, b, c = (rng.normal(size=(200, 3)) for _ in range(3))
    p = rng.normal(size=(200, 3)) * 2.0
    point, bary = closest_on_triangles(p, a, b, c)
    # Reference: the nearest of many points sampled over each triangle.
    s = rng.dirichlet(np.ones(3), size=20000)
    samples = (
        s[None, :, :1] * a[:, None] + s[None, :, 1:2] * b[:, None] + s[None, :, 2:] * c[:, None]
    )
    reference = np.linalg.norm(samples - p[:, None], axis=2).min(1)
    got = np.linalg.norm(point - p, axis=1)
    assert np.all(got <= reference + 1e-9)  # never farther than any sampled point
    assert np.allclose(got, reference, atol=0.03)
    assert np.allclose(bary.sum(1), 1.0) and (bary >= 0).all()
    assert np.allclose(point, bary[:, :1] * a + bary[:, 1:2] * b + bary[:, 2:] * c)


def test_inpainting_reproduces_a_linear_field_from_its_border():
    # −L + L M⁻¹ L has linear functions in its null space: fixed on a border ring, the
    # inside must come back exactly (up to the mesh's discretisation).
    vertices, triangles = _grid(21)
    field = 2.0 * vertices[:, :1] - 0.5 * vertices[:, 1:2] + 0.3
    border = (np.minimum(vertices[:, :2], 1 - vertices[:, :2]) < 0.11).any(1)
    scrambled = np.where(border[:, None], field, 7.0)
    filled = inpaint(vertices, triangles, scrambled, border)
    assert np.abs(filled - field).max() < 1e-4  # the field spans 2.5


def test_a_split_seam_welds_back_into_one_vertex():
    vertices = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]])
    welded, mapping = weld_vertices(vertices, 1e-9)
    assert len(welded) == 4 and mapping[1] == mapping[3] and len(set(mapping.tolist())) == 4


def test_normals_keep_a_closed_mouth_from_trading_lips():
    # Two lips 1 mm apart facing each other: the upper one (facing down, the whole width)
    # opens upward, the lower one (facing up, the left half) downward. The target's upper
    # lip lies nearer the source's lower lip over the left half; only the normal test
    # keeps it from taking the lower lip's motion there.
    upper_v, upper_t = _grid(21, z=0.001, flip=True)
    lower_v, lower_t = _grid(11, z=0.0, length=0.5)
    source = RigSource(
        vertices=np.concatenate([upper_v, lower_v]),
        triangles=np.concatenate([upper_t, lower_t + len(upper_v)]),
        skin_weights=np.concatenate([np.tile([1.0, 0.0], (len(upper_v), 1)),
                                     np.tile([0.0, 1.0], (len(lower_v), 1))]),
        face_deltas=np.concatenate([np.tile([0, 0, 0.01], (len(upper_v), 1)),
                                    np.tile([0, 0, -0.01], (len(lower_v), 1))])[None],
    )  # fmt: skip
    top_v, top_t = _grid(16, z=0.0002, flip=True)
    bottom_v, bottom_t = _grid(8, z=-0.0004, length=0.5)
    rig = transfer_rig(
        source,
        np.concatenate([top_v, bottom_v]),
        np.concatenate([top_t, bottom_t + len(top_v)]),
    )
    top = np.arange(len(top_v))
    assert (rig.face_deltas[0, top, 2] > 0.009).all()  # opens upward, as an upper lip
    assert (rig.skin_weights[top, 0] > 0.99).all()
    assert (rig.face_deltas[0, len(top_v) :, 2] < -0.009).all()
    assert not rig.matched[top][top_v[:, 0] < 0.45].any()  # rejected there, inpainted


@pytest.fixture(scope="module")
def in_frame_case(fisherman):
    """The fisherman, re-meshed (10k vertices, shuffled) and warped, left in the prior's
    frame: what a sculpt hands to the rig."""
    head = project_head(load_head_model(), fisherman.parameters["head"])
    return foreign_head(head, 10000, Frame(), np.random.default_rng(3))


@pytest.fixture(scope="module")
def in_frame_rig(in_frame_case):
    pipeline = RigPipeline(load_head_model())
    mesh = InputMesh.single(in_frame_case.vertices, in_frame_case.triangles)
    return pipeline(mesh, RigOptions(already_in_prior_frame=True))


def test_in_frame_head_gets_the_known_face_units_and_jaw(in_frame_case, in_frame_rig):
    names = in_frame_rig.face_unit_names
    for unit in CHECKED_UNITS:
        k = names.index(unit)
        score = unit_score(in_frame_case.true_deltas[k], in_frame_rig.face_deltas[k])
        assert score.cosine >= 0.8, (unit, score)
        assert 0.6 <= score.length_ratio <= 1.6, (unit, score)
        assert score.still_motion <= 0.05, (unit, score)
    jaw = in_frame_rig.skin_weights[:, load_head_model().bone_index("jaw")]
    assert np.corrcoef(jaw, in_frame_case.true_jaw)[0, 1] >= 0.85
    assert in_frame_rig.report["alignment"]["skipped"]


def test_left_and_right_units_move_their_own_side(in_frame_case, in_frame_rig):
    names = in_frame_rig.face_unit_names
    x = in_frame_case.vertices[:, 0]  # the subject's left is +x in the prior's frame
    for unit, side in (("eyeBlinkLeft", 1), ("mouthSmileLeft", 1), ("mouthSmileRight", -1)):
        motion = np.linalg.norm(in_frame_rig.face_deltas[names.index(unit)], axis=1)
        assert motion[side * x > 0].sum() > 5 * motion[side * x < 0].sum(), unit


def test_obj_and_ply_files_read_back_as_the_same_mesh(in_frame_case, tmp_path):
    import trimesh

    mesh = trimesh.Trimesh(in_frame_case.vertices, in_frame_case.triangles, process=False)
    for suffix in (".obj", ".ply"):
        path = tmp_path / f"head{suffix}"
        mesh.export(path)
        read = read_mesh(path)
        assert len(read.parts) == 1
        part = read.parts[0]
        # The reader turns the file's axes (Y up) into the prior's: undo it to compare.
        from headsculpt.export.glb import PRIOR_TO_GLTF

        assert np.allclose(part.vertices @ PRIOR_TO_GLTF.T, in_frame_case.vertices, atol=1e-5)
        assert np.array_equal(part.triangles, in_frame_case.triangles)
