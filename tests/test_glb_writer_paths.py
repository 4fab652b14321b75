"""The GLB writer's other paths, on a hand-made one-triangle asset: an untextured mesh,
an artist's own materials (slots bound to their own images, shared once), and parts
named by the artist. (The parametric path is in test_glb.py and test_meaning_glb.py.)"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from conftest import load_gltf
from headsculpt.export.glb import HeadAsset, MeshPart, PartMaterial, Skeleton, write_glb


def _part(name: str, material: PartMaterial | None = None) -> MeshPart:
    return MeshPart(
        name=name,
        vertices=np.array([[0, 0, 0], [0.1, 0, 0], [0, 0, 0.1]], dtype=np.float32),
        normals=np.tile(np.array([[0, -1, 0]], dtype=np.float32), (3, 1)),
        uv=np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32),
        triangles=np.array([[0, 1, 2]]),
        joint_indices=np.zeros((3, 4), dtype=np.uint16),
        joint_weights=np.tile(np.array([[1, 0, 0, 0]], dtype=np.float32), (3, 1)),
        morph_deltas=np.zeros((0, 3, 3), dtype=np.float32),
        morph_names=[],
        material=material,
    )


SKELETON = Skeleton(["root"], [-1], np.eye(4)[None])


def _image(gltf, blob: bytes, texture: int) -> np.ndarray:
    view = gltf.bufferViews[gltf.images[gltf.textures[texture].source].bufferView]
    data = blob[view.byteOffset : view.byteOffset + view.byteLength]
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_an_untextured_mesh_gets_a_plain_light_grey():
    gltf = load_gltf(write_glb(HeadAsset([_part("head")], SKELETON, None)))
    (material,) = gltf.materials
    pbr = material.pbrMetallicRoughness
    assert material.name == "Head"
    assert pbr.baseColorFactor == [0.8, 0.8, 0.8, 1.0]
    assert pbr.metallicFactor == 0.0 and pbr.roughnessFactor == 0.6
    assert pbr.baseColorTexture is None and not gltf.images


def test_an_artists_materials_keep_their_own_images_and_are_shared():
    red = np.full((4, 4, 3), (200, 30, 30), dtype=np.uint8)
    rough = np.full((4, 4, 3), (255, 120, 0), dtype=np.uint8)
    normal = np.full((4, 4, 3), (128, 128, 255), dtype=np.uint8)
    skin = PartMaterial("Skin", base_color=red, metallic_roughness=rough, normal=normal,
                        roughness_factor=0.7, double_sided=True)  # fmt: skip
    cloth = PartMaterial("Cloth", base_color_factor=(0.1, 0.2, 0.3, 1.0))
    parts = [_part("Face", skin), _part("Ears", skin), _part("Hat", cloth)]
    glb = write_glb(HeadAsset(parts, SKELETON, None))
    gltf, blob = load_gltf(glb), load_gltf(glb).binary_blob()

    assert [m.name for m in gltf.materials] == ["Skin", "Cloth"]  # Skin once, for two parts
    by_mesh = {m.name: m.primitives[0].material for m in gltf.meshes}
    assert by_mesh == {"Face": 0, "Ears": 0, "Hat": 1}
    assert [gltf.nodes[n].name for n in gltf.scenes[0].nodes] == ["Armature", "Face", "Ears",
                                                                  "Hat"]  # fmt: skip
    material = gltf.materials[0]
    pbr = material.pbrMetallicRoughness
    assert (_image(gltf, blob, pbr.baseColorTexture.index) == red).all()
    assert (_image(gltf, blob, pbr.metallicRoughnessTexture.index) == rough).all()
    assert (_image(gltf, blob, material.normalTexture.index) == normal).all()
    assert pbr.roughnessFactor == 0.7 and material.doubleSided
    plain = gltf.materials[1].pbrMetallicRoughness
    assert plain.baseColorFactor == [0.1, 0.2, 0.3, 1.0] and plain.baseColorTexture is None
    assert gltf.materials[1].normalTexture is None
    assert [i.name for i in gltf.images] == ["Skin_base_color", "Skin_metallic_roughness",
                                             "Skin_normal"]  # fmt: skip


def test_own_textures_are_stored_exactly_and_encoded_once_per_process():
    """Strand textures repeat from head to head, so their PNGs are kept per process: the
    image in the file is the texture, texel for texel, and the same texture gives the
    same bytes again. (Fresh random texels: never in the cache when the test starts.)"""
    from headsculpt.export import glb as glb_module

    pixels = np.random.default_rng().integers(0, 256, (8, 8, 4), dtype=np.uint8)
    material = PartMaterial("Hair", base_color=pixels, alpha_mode="MASK", double_sided=True)
    first = write_glb(HeadAsset([_part("Hair", material)], SKELETON, None))
    gltf, blob = load_gltf(first), load_gltf(first).binary_blob()
    (image,) = gltf.images
    view = gltf.bufferViews[image.bufferView]
    stored = Image.open(io.BytesIO(blob[view.byteOffset : view.byteOffset + view.byteLength]))
    assert image.mimeType == "image/png" and stored.format == "PNG"
    assert (np.asarray(stored.convert("RGBA")) == pixels).all()
    assert gltf.materials[0].alphaMode == "MASK"
    again = PartMaterial("Hair", base_color=pixels.copy(), alpha_mode="MASK", double_sided=True)
    assert write_glb(HeadAsset([_part("Hair", again)], SKELETON, None)) == first
    for k in range(glb_module._OWN_PNGS_KEPT + 4):  # the cache keeps its bound
        other = np.full((2, 2, 3), k, dtype=np.uint8)
        write_glb(HeadAsset([_part("Cap", PartMaterial("Cap", base_color=other))], SKELETON, None))
    assert len(glb_module._OWN_PNGS) <= glb_module._OWN_PNGS_KEPT
