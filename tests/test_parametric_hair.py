"""The parametric head's hair as its GLB holds it (issue 17): which meshes a text gives,
where they sit, their colour, and how they move.

Read back with pygltflib and numpy in glTF's frame (Y up, the face toward +Z, the
subject's left +X); landmarks from the Head mesh's surface anchors (MediaPipe 17 the
lower lip, 152 the chin, 10 the top of the forehead, 1 the nose tip).
"""

from __future__ import annotations

import io

import numpy as np
import pygltflib
import pytest
from PIL import Image

from conftest import khronos_errors
from headsculpt.descriptive_code import HAIR_STYLES, DescriptiveCode
from test_meaning_glb import GlbHead

TEXTS = {
    "moustache": "a bald man with a thick moustache",
    "curly": "a woman with long curly red hair",
    "clean": "a clean-shaven bald man",
    "bearded": "an old man with a full white beard",
    "stubble": "a bald man with stubble",
}


class HairGlb(GlbHead):
    """A GLB's meshes by name (positions, targets, joints), and its Head's landmarks."""

    def __init__(self, glb: bytes) -> None:
        super().__init__(glb)
        self.raw = glb

    def mesh(self, name: str) -> dict:
        mesh = next(m for m in self.gltf.meshes if m.name == name)
        primitive = mesh.primitives[0]
        material = self.gltf.materials[primitive.material]
        texture = material.pbrMetallicRoughness.baseColorTexture.index
        return {
            "positions": self.accessor(primitive.attributes.POSITION),
            "targets": {
                n: self.accessor(t["POSITION"])
                for n, t in zip(
                    (mesh.extras or {}).get("targetNames", []), primitive.targets or [], strict=True
                )
            },  # fmt: skip
            "joints": self.accessor(primitive.attributes.JOINTS_0).astype(int),
            "weights": self.accessor(primitive.attributes.WEIGHTS_0),
            "material": material,
            "rgba": self.rgba(texture),
        }

    def names(self) -> set[str]:
        return {m.name for m in self.gltf.meshes}

    def rgba(self, texture_index: int) -> np.ndarray:
        image = self.gltf.images[self.gltf.textures[texture_index].source]
        view = self.gltf.bufferViews[image.bufferView]
        data = self.blob[view.byteOffset : view.byteOffset + view.byteLength]
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"), dtype=np.float64) / 255


@pytest.fixture(scope="module")
def heads(pipeline) -> dict[str, HairGlb]:
    return {key: HairGlb(pipeline(text, seed=5).glb) for key, text in TEXTS.items()}


def _strand_colour(mesh: dict) -> np.ndarray:
    """Mean sRGB colour of the opaque texels of a hair mesh's strand texture."""
    rgba = mesh["rgba"]
    return rgba[rgba[..., 3] > 0.5][:, :3].mean(0)


def test_a_text_gets_the_hair_meshes_it_says(heads):
    assert heads["moustache"].names() >= {"Head", "FacialHair", "Brows", "Lashes"}
    assert "Hair" not in heads["moustache"].names()  # bald: no hair mesh
    assert "Hair" not in heads["clean"].names() and "FacialHair" not in heads["clean"].names()
    assert "Hair" in heads["curly"].names() and "FacialHair" not in heads["curly"].names()
    assert {"Hair", "FacialHair"} <= heads["bearded"].names()


def test_hair_materials_are_alpha_tested_strands(heads):
    for name in ("Hair", "Brows", "Lashes"):
        mesh = heads["curly"].mesh(name)
        assert mesh["material"].alphaMode == pygltflib.MASK and mesh["material"].doubleSided
        alpha = mesh["rgba"][..., 3]
        assert (alpha > 0.9).mean() > 0.1 and (alpha < 0.1).mean() > 0.1, name  # strands, gaps


def test_hair_has_the_colour_the_text_gives(heads):
    red = _strand_colour(heads["curly"].mesh("Hair"))
    assert red[0] > 1.6 * red[1] and red[0] > 1.6 * red[2], red
    white = _strand_colour(heads["bearded"].mesh("FacialHair"))
    assert white.min() > 0.55 and white.max() - white.min() < 0.12, white


def test_a_moustache_grows_on_the_upper_lip_only(heads):
    head = heads["moustache"]
    moustache = head.mesh("FacialHair")["positions"]
    lower_lip, chin = head.landmark(17), head.landmark(152)
    assert moustache[:, 1].min() > lower_lip[1] - 0.006  # nothing on the chin
    assert moustache[:, 1].min() > chin[1] + 0.02
    assert np.abs(moustache[:, 0]).max() < 0.045  # between the cheeks
    beard = heads["bearded"].mesh("FacialHair")["positions"]
    assert beard[:, 1].min() < heads["bearded"].landmark(152)[1]  # a beard covers the chin


@pytest.mark.parametrize("style", [s for s in HAIR_STYLES if s != "bald"])
def test_every_style_leaves_the_face_free(pipeline, style):
    """No scalp hair in front of the face between the brows and the chin, and a hair mesh
    for every style but bald."""
    code = DescriptiveCode(attributes={"gender": -0.9, "age": 30.0, "hair.style": style,
                                       "hair.length": 1.0})  # fmt: skip
    head = HairGlb(pipeline.from_code(code, seed=5).glb)
    hair = head.mesh("Hair")["positions"]
    brows, chin, nose = head.landmark(9), head.landmark(152), head.landmark(1)
    face = (np.abs(hair[:, 0]) < 0.03) & (hair[:, 1] < brows[1]) & (hair[:, 1] > chin[1])
    assert (hair[face, 2] < nose[2] - 0.04).all()


def test_a_beard_moves_with_the_jaw_and_scalp_hair_does_not(heads):
    head = heads["bearded"]
    beard, hair = head.mesh("FacialHair"), head.mesh("Hair")
    low = beard["positions"][:, 1] < np.quantile(beard["positions"][:, 1], 0.2)
    drop = beard["targets"]["jawOpen"][low, 1].mean()
    assert drop < -0.005  # the chin's beard goes down with the jaw
    assert np.abs(hair["targets"].get("jawOpen", np.zeros(3))).max() < 0.001
    joint_names = [head.gltf.nodes[j].name for j in head.gltf.skins[0].joints]
    jaw = joint_names.index("jaw")
    jaw_weight = np.where(beard["joints"] == jaw, beard["weights"], 0.0).sum(1)
    assert jaw_weight[low].mean() > 0.5
    assert np.where(hair["joints"] == jaw, hair["weights"], 0.0).sum(1).max() < 0.05


def test_a_womans_unstated_brows_are_finer_than_a_mans(pipeline):
    """Bushy straight brows read male on a face without hair: unstated, a woman's are
    finer (fewer brow cards); stated, they are what the text says."""

    def brow_vertices(**attributes) -> int:
        code = DescriptiveCode(attributes={"age": 30.0, "hair.style": "bald",
                                           "facial_hair.style": "none", **attributes})  # fmt: skip
        return len(HairGlb(pipeline.from_code(code, seed=5).glb).mesh("Brows")["positions"])

    man, woman = brow_vertices(gender=1.0), brow_vertices(gender=-1.0)
    assert woman < 0.85 * man, (woman, man)
    assert brow_vertices(gender=-1.0, **{"eyebrows.thickness": 0.0}) == man


def test_a_womans_lashes_are_longer_and_her_brows_arched(pipeline, monkeypatch):
    """A face without hair reads female by its eyes and brows as much as its shape: a
    woman's upper lashes reach further above her eyes than a man's, and her brows rise
    to an arch over the outer eye (against the same woman with the arch off; both in
    inter-ocular distances, glTF Y up)."""
    from headsculpt.pipelines import parametric

    def eyes_and_brows(gender: float) -> tuple[float, float]:
        code = DescriptiveCode(attributes={"gender": gender, "age": 30.0, "hair.style": "bald",
                                           "facial_hair.style": "none"})  # fmt: skip
        glb = HairGlb(pipeline.from_code(code, seed=5).glb)
        right_eye = 0.5 * (glb.landmark(33) + glb.landmark(133))
        left_eye = 0.5 * (glb.landmark(263) + glb.landmark(362))
        eye_y, iod = 0.5 * (right_eye[1] + left_eye[1]), np.linalg.norm(left_eye - right_eye)
        lashes = (glb.mesh("Lashes")["positions"][:, 1].max() - eye_y) / iod
        brows = glb.mesh("Brows")["positions"]
        right = brows[brows[:, 0] < glb.landmark(168)[0]]  # the subject's right is -X
        x_outer, x_inner = glb.landmark(70)[0], glb.landmark(107)[0]
        t = (right[:, 0] - x_outer) / (x_inner - x_outer)  # 0 outer … 1 inner
        peak = np.mean(right[(t > 0.15) & (t < 0.45), 1])
        return float(lashes), float((peak - eye_y) / iod)

    (man_lashes, _), (woman_lashes, arched) = eyes_and_brows(1.0), eyes_and_brows(-1.0)
    assert woman_lashes > 1.15 * man_lashes, (woman_lashes, man_lashes)
    monkeypatch.setattr(parametric, "ARCHED_BROWS", 0.0)
    _, straight = eyes_and_brows(-1.0)
    assert arched > straight + 0.02, (arched, straight)


def test_longer_hair_reaches_lower(pipeline):
    """hair.length: the same style at −1 and +1 (the attribute's meaning test)."""
    lowest = {}
    for value in (-1.0, 1.0):
        code = DescriptiveCode(
            attributes={
                "gender": -0.9,
                "age": 30.0,
                "hair.style": "long_straight",
                "hair.length": value,
            }
        )
        glb = HairGlb(pipeline.from_code(code, seed=5).glb)  # fmt: skip
        lowest[value] = glb.mesh("Hair")["positions"][:, 1].min()
    assert lowest[1.0] < lowest[-1.0] - 0.05


@pytest.mark.validator
def test_hair_glbs_validate(heads, tmp_path):
    for key in ("curly", "bearded", "stubble"):
        path = tmp_path / f"{key}.glb"
        path.write_bytes(heads[key].raw)
        count, errors = khronos_errors(path)
        assert count == 0, errors


def test_progress_goes_forward_through_the_hair_stage(pipeline):
    seen = []
    code = pipeline.parse("a woman with a long ponytail")
    pipeline.from_code(code, seed=2, progress=lambda stage, fraction, *_: seen.append(
        (stage, fraction)))  # fmt: skip
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "hair" in [stage for stage, _ in seen]
