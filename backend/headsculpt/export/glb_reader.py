"""Read a head GLB back into what the renderer needs, in the prior's frame.

Any glTF binary works: every triangle primitive of the default scene is
gathered (node transforms applied to unskinned meshes; skinned meshes are taken
at their rest positions), and the primitives' base-colour textures are laid side
by side in one atlas so the whole head renders in one pass. HeadSculpt's own
GLBs also carry the 478 MediaPipe landmarks as surface anchors per mesh
(``asset.extras.headsculpt.landmarks``); they come back as positions.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib as gl
from PIL import Image
from scipy.spatial.transform import Rotation

from headsculpt.export.glb import PRIOR_TO_GLTF
from headsculpt.prior.head_model import vertex_normals
from headsculpt.prior.landmarks import LANDMARK_COUNT
from headsculpt.render.preview import TexturedMesh, merge_meshes

_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
           5126: np.float32}  # fmt: skip
_ATLAS_HEIGHT = 1024
_TRIANGLES = 4  # glTF primitive mode


class GlbReadError(ValueError):
    """The file is not a glTF binary this reader can render."""


@dataclass
class GlbHead:
    """A head as read from a GLB: one textured mesh, and its landmarks when it has them."""

    mesh: TexturedMesh
    landmarks: np.ndarray | None  # (478, 3) prior frame, or None
    extras: dict


def read_head_glb(path: str | Path, skip_meshes: Collection[str] = ()) -> GlbHead:
    """Read ``path`` (less the meshes named in ``skip_meshes``); raises GlbReadError with
    the reason when it cannot be used."""
    path = Path(path)
    try:
        gltf = gl.GLTF2.load_binary(str(path))
    except FileNotFoundError:
        raise GlbReadError(f"{path}: no such file") from None
    except Exception as error:  # pygltflib raises several kinds on bad bytes
        raise GlbReadError(f"{path}: not a glTF binary ({error})") from None
    blob = gltf.binary_blob()
    if blob is None:
        raise GlbReadError(f"{path}: the GLB has no binary chunk")
    reader = _Reader(gltf, blob)

    pieces, anchors_by_mesh = [], {}
    extras = (gltf.asset.extras or {}) if gltf.asset else {}
    anchors = (extras.get("headsculpt") or {}).get("landmarks") or {}
    for node_index, world in _mesh_nodes(gltf):
        node = gltf.nodes[node_index]
        mesh = gltf.meshes[node.mesh]
        if mesh.name in skip_meshes:
            continue
        transform = np.eye(4) if node.skin is not None else world
        for primitive in mesh.primitives:
            if (primitive.mode if primitive.mode is not None else _TRIANGLES) != _TRIANGLES:
                continue
            piece = reader.primitive(primitive, transform)
            if mesh.name in anchors and mesh.name not in anchors_by_mesh:
                anchors_by_mesh[mesh.name] = (len(pieces), anchors[mesh.name])
            pieces.append(piece)
    if not pieces:
        raise GlbReadError(f"{path}: no triangle meshes in the default scene")

    textured = _merge(pieces)
    landmarks = _landmarks(pieces, anchors_by_mesh) if anchors_by_mesh else None
    return GlbHead(textured, landmarks, extras)


@dataclass
class _Piece:
    vertices: np.ndarray  # prior frame
    normals: np.ndarray
    uv: np.ndarray
    triangles: np.ndarray
    texture: np.ndarray  # (H, W, 3) uint8 sRGB
    roughness: np.ndarray  # (h, w) uint8


class _Reader:
    def __init__(self, gltf: gl.GLTF2, blob: bytes) -> None:
        self.gltf, self.blob = gltf, blob

    def accessor(self, index: int) -> np.ndarray:
        accessor = self.gltf.accessors[index]
        width = _COMPONENTS[accessor.type]
        dtype = np.dtype(_DTYPES[accessor.componentType])
        if accessor.bufferView is None:
            return np.zeros((accessor.count, width), dtype)
        view = self.gltf.bufferViews[accessor.bufferView]
        start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
        stride = view.byteStride or dtype.itemsize * width
        end = start + stride * max(accessor.count - 1, 0) + dtype.itemsize * width
        view_end = (view.byteOffset or 0) + view.byteLength
        if accessor.count and (end > min(view_end, len(self.blob)) or start < 0):
            raise GlbReadError(
                f"accessor {index} reads bytes {start}–{end} but the binary chunk has "
                f"{len(self.blob)} (and its buffer view ends at {view_end}): the file is "
                "truncated or damaged"
            )
        rows = np.ndarray(
            (accessor.count, width), dtype, self.blob, start, (stride, dtype.itemsize)
        ).copy()
        if accessor.normalized and dtype.kind in "iu":
            rows = rows.astype(np.float32) / np.iinfo(dtype).max
        return rows

    def primitive(self, primitive: gl.Primitive, transform: np.ndarray) -> _Piece:
        attributes = primitive.attributes
        if attributes.POSITION is None:
            raise GlbReadError("a mesh primitive has no POSITION")
        positions = self.accessor(attributes.POSITION).astype(np.float64)
        count = len(positions)
        if primitive.indices is not None:
            triangles = self.accessor(primitive.indices).reshape(-1, 3).astype(np.int64)
        else:
            triangles = np.arange(count - count % 3).reshape(-1, 3)
        positions = positions @ transform[:3, :3].T + transform[:3, 3]
        vertices = positions @ PRIOR_TO_GLTF  # glTF → prior frame (the matrix is orthonormal)
        if attributes.NORMAL is not None:
            normals = (self.accessor(attributes.NORMAL) @ transform[:3, :3].T) @ PRIOR_TO_GLTF
        else:
            normals = vertex_normals(vertices, triangles)
        uv = (
            self.accessor(attributes.TEXCOORD_0).astype(np.float32)
            if attributes.TEXCOORD_0 is not None
            else np.zeros((count, 2), np.float32)
        )
        texture, roughness = self.material(primitive.material)
        return _Piece(
            vertices.astype(np.float32),
            normals.astype(np.float32),
            uv,
            triangles,
            texture,
            roughness,
        )

    def material(self, index: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Base colour (sRGB) and roughness images; 1×1 ones for flat factors."""
        if index is None:
            return np.full((1, 1, 3), 204, np.uint8), np.full((1, 1), 153, np.uint8)
        material = self.gltf.materials[index]
        pbr = material.pbrMetallicRoughness or gl.PbrMetallicRoughness()
        alpha_tested = material.alphaMode in ("MASK", "BLEND")  # hair cards: keep the alpha
        factor = np.asarray(pbr.baseColorFactor or [1.0, 1.0, 1.0, 1.0])[:3]
        if pbr.baseColorTexture is None:
            srgb = np.clip(factor, 0, 1) ** (1 / 2.2)
            base = (srgb * 255 + 0.5).astype(np.uint8)[None, None]
        else:
            base = self.image(pbr.baseColorTexture.index, "RGBA" if alpha_tested else "RGB")
            if not np.allclose(factor, 1.0):
                base[..., :3] = (base[..., :3] * factor).astype(np.uint8)
        rough_factor = 1.0 if pbr.roughnessFactor is None else float(pbr.roughnessFactor)
        if pbr.metallicRoughnessTexture is None:
            roughness = np.full((1, 1), int(rough_factor * 255), np.uint8)
        else:  # roughness is the texture's green channel
            green = self.image(pbr.metallicRoughnessTexture.index)[..., 1]
            roughness = (green * rough_factor).astype(np.uint8)
        return base, roughness

    def image(self, texture_index: int, mode: str = "RGB") -> np.ndarray:
        image = self.gltf.images[self.gltf.textures[texture_index].source]
        if image.bufferView is None:
            raise GlbReadError("a texture refers to an external image; embed it in the GLB")
        view = self.gltf.bufferViews[image.bufferView]
        start = view.byteOffset or 0
        data = self.blob[start : start + view.byteLength]
        try:
            return np.array(Image.open(io.BytesIO(data)).convert(mode))
        except (OSError, ValueError) as error:  # PIL: truncated or not an image
            raise GlbReadError(f"image {image.bufferView} cannot be decoded ({error})") from None


def _mesh_nodes(gltf: gl.GLTF2):
    """(node index, world matrix) of every node with a mesh in the default scene."""
    scene = gltf.scenes[gltf.scene or 0] if gltf.scenes else None
    roots = scene.nodes if scene else range(len(gltf.nodes))
    stack = [(index, np.eye(4)) for index in roots]
    while stack:
        index, parent = stack.pop()
        node = gltf.nodes[index]
        world = parent @ _local_matrix(node)
        if node.mesh is not None:
            yield index, world
        stack.extend((child, world) for child in node.children or [])


def _local_matrix(node: gl.Node) -> np.ndarray:
    if node.matrix:
        return np.asarray(node.matrix, dtype=np.float64).reshape(4, 4).T
    rotation = Rotation.from_quat(node.rotation or [0.0, 0.0, 0.0, 1.0]).as_matrix()
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * np.asarray(node.scale or [1.0, 1.0, 1.0])
    matrix[:3, 3] = node.translation or [0.0, 0.0, 0.0]
    return matrix


def _merge(pieces: list[_Piece]) -> TexturedMesh:
    """One mesh; textures side by side in one atlas (each resized to one height)."""
    return merge_meshes(
        [
            TexturedMesh(p.vertices, p.normals, p.uv, p.triangles, p.texture, p.roughness)
            for p in pieces
        ],  # fmt: skip
        atlas_height=_ATLAS_HEIGHT,
    )


def _landmarks(pieces: list[_Piece], anchors_by_mesh: dict) -> np.ndarray | None:
    """(478, 3) positions from per-mesh anchors; None if the anchors do not fit the mesh."""
    positions = np.full((LANDMARK_COUNT, 3), np.nan)
    for piece_index, anchors in anchors_by_mesh.values():
        piece = pieces[piece_index]
        ids = np.asarray(anchors["landmarks"], dtype=np.int64)
        triangles = np.asarray(anchors["triangles"], dtype=np.int64)
        weights = np.asarray(anchors["barycentric"], dtype=np.float64).reshape(-1, 3)
        if (
            len(ids) != len(triangles)
            or len(weights) != len(ids)
            or ids.min(initial=0) < 0
            or ids.max(initial=0) >= LANDMARK_COUNT
            or triangles.max(initial=0) >= len(piece.triangles)
        ):
            return None
        corners = piece.vertices[piece.triangles[triangles]]
        positions[ids] = (corners * weights[..., None]).sum(1)
    return None if np.isnan(positions).any() else positions
