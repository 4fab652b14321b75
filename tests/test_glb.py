"""The GLB: valid glTF, rigged, 52 ARKit shape keys, embedded PBR textures, reproducible."""

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from conftest import FISHERMAN, khronos_errors, load_gltf
from headsculpt.pipelines.parametric import ParametricConfig
from headsculpt.prior.head_model import load_head_model

ARKIT_52 = set(load_head_model().face_unit_names)
REQUIRED_BONES = {"neck01", "head", "jaw", "eye.L", "eye.R", "tongue00"}


@pytest.mark.validator
def test_khronos_validator_reports_no_errors(fisherman_glb):
    count, errors = khronos_errors(fisherman_glb)
    assert count == 0, errors


def test_head_has_the_52_arkit_morph_targets(fisherman):
    gltf = load_gltf(fisherman.glb)
    head = next(m for m in gltf.meshes if m.name == "Head")
    names = head.extras["targetNames"]
    assert len(ARKIT_52) == 52
    assert set(names) == ARKIT_52 and len(names) == 52
    assert len(head.primitives[0].targets) == 52
    # jawOpen really moves the head's vertices.
    jaw = head.primitives[0].targets[names.index("jawOpen")]["POSITION"]
    accessor = gltf.accessors[jaw]
    assert max(abs(v) for v in accessor.max + accessor.min) > 0.01


def test_eyes_and_mouth_are_separate_skinned_parts(fisherman):
    gltf = load_gltf(fisherman.glb)
    names = {n.name for n in gltf.nodes if n.mesh is not None}
    # Hair meshes too (his hair and facial hair are drawn: the text does not say).
    assert {"Head", "Eyes", "Mouth", "Brows", "Lashes"} <= names
    assert names <= {"Head", "Eyes", "Mouth", "Hair", "FacialHair", "Brows", "Lashes"}
    assert all(n.skin == 0 for n in gltf.nodes if n.mesh is not None)
    eyes = next(m for m in gltf.meshes if m.name == "Eyes")
    assert {"eyeLookUpLeft", "eyeLookInRight"} <= set(eyes.extras["targetNames"])


def test_skin_has_the_rig_bones(fisherman):
    gltf = load_gltf(fisherman.glb)
    joints = {gltf.nodes[j].name for j in gltf.skins[0].joints}
    assert joints >= REQUIRED_BONES
    # Every vertex is bound: weights sum to one.
    blob = gltf.binary_blob()
    for mesh in gltf.meshes:
        accessor = gltf.accessors[mesh.primitives[0].attributes.WEIGHTS_0]
        view = gltf.bufferViews[accessor.bufferView]
        weights = np.frombuffer(blob, np.float32, accessor.count * 4, view.byteOffset)
        assert np.allclose(weights.reshape(-1, 4).sum(1), 1.0, atol=1e-5)


def test_textures_are_embedded_pbr(fisherman):
    gltf = load_gltf(fisherman.glb)
    head_images = {"base_color", "metallic_roughness", "normal"}
    assert {image.name for image in gltf.images} >= head_images
    hair = [i.name for i in gltf.images if i.name not in head_images]
    assert hair and all(name.split("_")[0] in ("Hair", "FacialHair", "Brows", "Lashes")
                        for name in hair)  # fmt: skip
    assert all(image.bufferView is not None and image.uri is None for image in gltf.images)
    skin = next(m for m in gltf.materials if m.name == "Head")
    assert skin.pbrMetallicRoughness.baseColorTexture is not None
    assert skin.pbrMetallicRoughness.metallicRoughnessTexture is not None
    assert skin.normalTexture is not None


def test_same_seed_gives_identical_bytes(pipeline, fisherman):
    again = pipeline(FISHERMAN, seed=7)
    assert again.glb == fisherman.glb


def _head_positions(glb: bytes) -> np.ndarray:
    gltf = load_gltf(glb)
    head = next(m for m in gltf.meshes if m.name == "Head")
    accessor = gltf.accessors[head.primitives[0].attributes.POSITION]
    view = gltf.bufferViews[accessor.bufferView]
    return np.frombuffer(gltf.binary_blob(), np.float32, accessor.count * 3, view.byteOffset)


def test_different_text_gives_a_different_shape(pipeline, fisherman):
    other = pipeline("a young woman with a small nose and full lips", seed=7)
    difference = np.abs(_head_positions(other.glb) - _head_positions(fisherman.glb)).max()
    assert difference > 0.002  # metres


def test_texture_size_option(pipeline):
    result = pipeline("a man", seed=1, config=ParametricConfig(texture_size=2048))
    gltf = load_gltf(result.glb)
    view = gltf.bufferViews[gltf.images[0].bufferView]
    data = gltf.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]
    assert Image.open(BytesIO(data)).size == (2048, 2048)
