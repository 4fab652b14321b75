"""What the GLB's names promise, read back from the file: shape keys move what they name,
texture slots hold the right images, the rig has its 64 bones.

The file is decoded here with pygltflib and numpy alone (not the project's GLB reader),
in glTF's frame: Y up, the face toward +Z, so the subject's left is up × forward = +X.
Landmark positions come from the surface anchors the GLB carries (MediaPipe indices:
387 / 373 the left upper / lower lid, 159 / 145 the right ones, 291 / 61 the left /
right mouth corner, 152 the chin, 10 the top of the forehead).
"""

from __future__ import annotations

import io

import numpy as np
import pygltflib
import pytest
from PIL import Image

from conftest import load_gltf

UP, FORWARD = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
LEFT = np.cross(UP, FORWARD)  # the subject's left: +X
BONE_COUNT = 64  # README: "an armature of 64 bones"
DIRECTIONS = {"jawLeft", "mouthLeft"}  # a movement toward the left, not the left half


class GlbHead:
    """The Head mesh of a GLB: rest positions, morph targets by name, landmarks."""

    def __init__(self, glb: bytes) -> None:
        self.gltf = load_gltf(glb)
        self.blob = self.gltf.binary_blob()
        mesh = next(m for m in self.gltf.meshes if m.name == "Head")
        primitive = mesh.primitives[0]
        self.positions = self.accessor(primitive.attributes.POSITION)
        self.triangles = self.accessor(primitive.indices).reshape(-1, 3).astype(np.int64)
        self.targets = {
            name: self.accessor(target["POSITION"])
            for name, target in zip(mesh.extras["targetNames"], primitive.targets, strict=True)
        }
        anchors = self.gltf.asset.extras["headsculpt"]["landmarks"]["Head"]
        self._ids = {lm: k for k, lm in enumerate(anchors["landmarks"])}
        self._corners = self.triangles[np.asarray(anchors["triangles"])]
        self._weights = np.asarray(anchors["barycentric"]).reshape(-1, 3)

    def accessor(self, index: int) -> np.ndarray:
        accessor = self.gltf.accessors[index]
        view = self.gltf.bufferViews[accessor.bufferView]
        dtype = {pygltflib.FLOAT: np.float32, pygltflib.UNSIGNED_SHORT: np.uint16,
                 pygltflib.UNSIGNED_INT: np.uint32}[accessor.componentType]  # fmt: skip
        width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}[accessor.type]
        offset = view.byteOffset + (accessor.byteOffset or 0)
        data = np.frombuffer(self.blob, dtype, accessor.count * width, offset)
        return data.reshape(accessor.count, width).astype(np.float64)

    def landmark(self, index: int, unit: str | None = None, weight: float = 1.0) -> np.ndarray:
        """Landmark ``index`` with face unit ``unit`` applied at ``weight``."""
        positions = self.positions
        if unit is not None:
            positions = positions + weight * self.targets[unit]
        k = self._ids[index]
        return (positions[self._corners[k]] * self._weights[k][:, None]).sum(0)

    def image(self, texture_index: int) -> np.ndarray:
        image = self.gltf.images[self.gltf.textures[texture_index].source]
        view = self.gltf.bufferViews[image.bufferView]
        data = self.blob[view.byteOffset : view.byteOffset + view.byteLength]
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


@pytest.fixture(scope="module")
def glb_head(fisherman) -> GlbHead:
    return GlbHead(fisherman.glb)


def _lid_gap(head: GlbHead, upper: int, lower: int, unit: str | None) -> float:
    return float((head.landmark(upper, unit) - head.landmark(lower, unit)) @ UP)


def _joint_positions(head: GlbHead) -> dict[str, np.ndarray]:
    """World position of each joint at rest, from the inverse bind matrices."""
    (skin,) = head.gltf.skins
    inverse_bind = head.accessor(skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    return {
        head.gltf.nodes[j].name: np.linalg.inv(m)[:3, 3]
        for j, m in zip(skin.joints, inverse_bind, strict=True)
    }


def test_the_frame_the_names_assume(glb_head):
    """The subject's left is +X: the left eye bone, the left eye corner (263) sit there."""
    joints = _joint_positions(glb_head)
    assert LEFT @ np.array([1.0, 0.0, 0.0]) == 1.0
    assert joints["eye.L"] @ LEFT > 0.02 and joints["eye.R"] @ LEFT < -0.02
    assert glb_head.landmark(263) @ LEFT > 0.03 and glb_head.landmark(33) @ LEFT < -0.03
    assert glb_head.landmark(1) @ FORWARD > glb_head.landmark(10) @ FORWARD  # nose in front
    assert joints["jaw"] @ UP < joints["eye.L"] @ UP  # the jaw below the eyes: Y is up


@pytest.mark.parametrize(
    ("unit", "closing", "open_"),
    [("eyeBlinkLeft", (387, 373), (159, 145)), ("eyeBlinkRight", (159, 145), (387, 373))],
)
def test_blink_closes_the_eye_on_its_own_side(glb_head, unit, closing, open_):
    rest = _lid_gap(glb_head, *closing, None)
    assert rest > 0.005  # an open eye: the upper lid above the lower
    assert _lid_gap(glb_head, *closing, unit) < 0.3 * rest  # lids (nearly) meet
    other = _lid_gap(glb_head, *open_, None)
    assert _lid_gap(glb_head, *open_, unit) == pytest.approx(other, rel=0.1)


def test_jaw_open_lowers_the_chin(glb_head):
    chin = (glb_head.landmark(152, "jawOpen") - glb_head.landmark(152)) @ UP
    brow = (glb_head.landmark(10, "jawOpen") - glb_head.landmark(10)) @ UP
    assert chin < -0.01  # metres: the chin drops more than a centimetre
    assert abs(brow) < 0.001


@pytest.mark.parametrize(
    ("unit", "own", "other"), [("mouthSmileLeft", 291, 61), ("mouthSmileRight", 61, 291)]
)
def test_smile_raises_the_mouth_corner_on_its_side(glb_head, unit, own, other):
    raised = (glb_head.landmark(own, unit) - glb_head.landmark(own)) @ UP
    assert raised > 0.002
    assert (glb_head.landmark(other, unit) - glb_head.landmark(other)) @ UP < 0.3 * raised
    assert glb_head.landmark(own) @ LEFT * (1 if unit.endswith("Left") else -1) > 0.01


def test_every_left_unit_moves_the_left_side(glb_head):
    """Each ...Left / ...Right unit moves the subject's left / right half (a swap is caught);
    jawLeft and mouthLeft, which name a direction, move toward the subject's left."""
    lefts = [n for n in glb_head.targets if n.endswith("Left")]
    assert len(lefts) == 20  # 18 paired units and the two directions
    for left in lefts:
        for name, sign in ((left, 1.0), (left[: -len("Left")] + "Right", -1.0)):
            delta = glb_head.targets[name]
            amount = np.linalg.norm(delta, axis=1)
            if left in DIRECTIONS:
                shift = (delta @ LEFT * amount).sum() / amount.sum()
                assert sign * shift > 0.002, f"{name} moves the other way ({shift:.4f})"
            else:
                centre = (glb_head.positions @ LEFT * amount).sum() / amount.sum()
                assert sign * centre > 0.003, f"{name} moves the other side ({centre:.4f})"


def test_texture_slots_hold_the_right_images(glb_head):
    """Base colour is skin; metallic-roughness is roughness (G), no metal; normal is normals.
    (The head's shared textures; hair meshes have strand textures of their own.)"""
    gltf = glb_head.gltf
    for material in gltf.materials:
        if material.name not in ("Head", "Eyes", "Mouth"):
            continue
        pbr = material.pbrMetallicRoughness
        base = glb_head.image(pbr.baseColorTexture.index)
        rough = glb_head.image(pbr.metallicRoughnessTexture.index)
        normal = glb_head.image(material.normalTexture.index)

        r, g, b = base.reshape(-1, 3).mean(0)
        assert r > g > b and r > 90, f"{material.name}: base colour is not skin ({r, g, b})"
        assert np.abs(base - base.mean((0, 1))).mean() > 3  # painted, not one flat colour

        n = normal.reshape(-1, 3) / 255.0
        assert np.abs(n[:, :2].mean(0) - 0.5).max() < 0.02, f"{material.name}: normal map"
        assert n[:, 2].mean() > 0.95
        vectors = n * 2.0 - 1.0
        assert np.abs(np.linalg.norm(vectors, axis=1) - 1.0).mean() < 0.02  # unit vectors

        assert rough[..., 2].max() == 0, f"{material.name}: metallic (B) must be 0"
        assert 0.25 < rough[..., 1].mean() / 255.0 < 0.85  # skin roughness
        assert rough[..., 1].std() > 3  # varies over the face, unlike the other channels
        assert pbr.metallicFactor == 1.0 and pbr.roughnessFactor == 1.0


def test_the_rig_has_its_64_bones(glb_head, pipeline):
    gltf = glb_head.gltf
    (skin,) = gltf.skins
    names = [gltf.nodes[j].name for j in skin.joints]
    assert len(names) == BONE_COUNT and len(set(names)) == BONE_COUNT
    assert names == pipeline.head.bone_names
    assert gltf.accessors[skin.inverseBindMatrices].count == BONE_COUNT
    joints = np.concatenate(
        [glb_head.accessor(m.primitives[0].attributes.JOINTS_0) for m in gltf.meshes]
    )
    assert joints.max() < BONE_COUNT


def _check_scene_and_bounds(head: GlbHead) -> None:
    """The scene shows the rig, the three head meshes and the hair meshes (brows and
    lashes always; hair and facial hair as the text says); accessor bounds match."""
    gltf = head.gltf
    nodes = [gltf.nodes[n] for n in gltf.scenes[gltf.scene].nodes]
    names = [n.name for n in nodes]
    assert names[:4] == ["Armature", "Head", "Eyes", "Mouth"]
    hair = [n for n in ("Hair", "FacialHair", "Brows", "Lashes") if n in names]
    assert names[4:] == hair and {"Brows", "Lashes"} <= set(hair)
    for node in nodes[1:]:  # each mesh node shows its own mesh, skinned to the rig
        assert gltf.meshes[node.mesh].name == node.name and node.skin == 0
    for mesh in gltf.meshes:
        primitive = mesh.primitives[0]
        weights = head.accessor(primitive.attributes.WEIGHTS_0)
        joints = head.accessor(primitive.attributes.JOINTS_0)
        assert weights.shape[1] == joints.shape[1] == 4
        assert np.allclose(weights.sum(1), 1.0, atol=1e-5) and joints.max() < BONE_COUNT
        for index in [primitive.attributes.POSITION, *(t["POSITION"] for t in primitive.targets)]:
            accessor, data = gltf.accessors[index], head.accessor(index)
            assert accessor.min == pytest.approx(data.min(0).tolist())
            assert accessor.max == pytest.approx(data.max(0).tolist())


def test_scene_and_accessor_bounds(glb_head):
    _check_scene_and_bounds(glb_head)


def test_a_glb_written_now_keeps_every_promise(pipeline):
    """The same checks on a GLB written inside the test (not in a session fixture), so that
    mutation testing traces every function of the writer to a test that judges it."""
    head = GlbHead(pipeline("a young woman with green eyes", seed=3).glb)
    _check_scene_and_bounds(head)
    test_the_frame_the_names_assume(head)
    test_blink_closes_the_eye_on_its_own_side(head, "eyeBlinkLeft", (387, 373), (159, 145))
    test_jaw_open_lowers_the_chin(head)
    test_smile_raises_the_mouth_corner_on_its_side(head, "mouthSmileLeft", 291, 61)
    test_every_left_unit_moves_the_left_side(head)
    test_texture_slots_hold_the_right_images(head)
    test_the_rig_has_its_64_bones(head, pipeline)
