"""Read a head GLB back into what the renderer needs, in the prior's frame.

Any glTF binary works: every triangle primitive of the default scene is
gathered (node transforms applied to unskinned meshes; skinned meshes are taken
at their rest positions), and the primitives' base-colour textures are laid side
by side in one atlas so the whole head renders in one pass. HeadSculpt's own
GLBs also carry the 478 MediaPipe landmarks as surface anchors per mesh
(``asset.extras.headsculpt.landmarks``); they come back as positions.

The file is measured against the mesh budgets first (:mod:`headsculpt.export.mesh_budget`:
nodes, vertices and triangles as placed, accessors and buffer views in range, image sizes
from their headers), indices are checked before they index, an image shared by several
primitives is decoded once, and the atlas stays bounded however many pieces share it.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.spatial.transform import Rotation

from headsculpt.export.glb import PRIOR_TO_GLTF
from headsculpt.export.mesh_budget import (
    FILE_SIZE,
    MeshFileError,
    check_geometry,
    check_gltf,
    check_indices,
    check_overdraw,
    read_glb_container,
)
from headsculpt.limits import MAX_MESH_FILE_BYTES
from headsculpt.prior.head_model import vertex_normals
from headsculpt.prior.landmarks import LANDMARK_COUNT
from headsculpt.render.preview import TexturedMesh

_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
           5126: np.float32}  # fmt: skip
_ATLAS_HEIGHT = 1024
_ATLAS_WIDTH = 16384  # the atlas's tiles shrink (all alike) when side by side they are wider
_MAX_ASPECT = 8  # a tile at most this many times wider than high (a 8192×1 image is stretched)
_TRIANGLES = 4  # glTF primitive mode
_FLAT_GREY = np.full((1, 1, 3), 204, np.uint8)  # a primitive without a material
_FLAT_ROUGH = np.full((1, 1), 153, np.uint8)


class GlbReadError(MeshFileError):
    """The file is not a glTF binary this reader can render (``limit``: the budget it
    exceeds, when that is why)."""


@dataclass
class GlbHead:
    """A head as read from a GLB: one textured mesh, and its landmarks when it has them."""

    mesh: TexturedMesh
    landmarks: np.ndarray | None  # (478, 3) prior frame, or None
    extras: dict


def read_head_glb(
    path: str | Path, skip_meshes: Collection[str] = (), name: str | None = None
) -> GlbHead:
    """Read ``path`` (less the meshes named in ``skip_meshes``); raises GlbReadError with
    the reason when it cannot be used. ``name``: how messages call the file."""
    path = Path(path)
    name = name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_MESH_FILE_BYTES:
            raise GlbReadError(
                f"{name}: the file has {size:,} bytes — over the limit of "
                f"{MAX_MESH_FILE_BYTES:,} ({FILE_SIZE}); decimate it or shrink its textures",
                FILE_SIZE,
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise GlbReadError(f"{name}: no such file") from None
    try:
        document, blob = read_glb_container(data, name)
        check_gltf(document, blob, name)
    except GlbReadError:
        raise
    except MeshFileError as error:
        raise GlbReadError(str(error), error.limit) from None
    if blob is None:
        raise GlbReadError(f"{name}: the GLB has no binary chunk")
    gltf = _Json(document)  # the JSON the budgets checked: types and indices are sound
    reader = _Reader(gltf, blob, name)

    pieces, anchors_by_mesh = [], {}
    extras = (document.get("asset") or {}).get("extras") or {}
    extras = extras if isinstance(extras, dict) else {}
    anchors = (extras.get("headsculpt") or {}).get("landmarks") or {}
    anchors = anchors if isinstance(anchors, dict) else {}
    nodes, meshes = gltf.nodes or [], gltf.meshes or []
    for node_index, world in _mesh_nodes(gltf):
        node = nodes[node_index]
        mesh = meshes[node.mesh]
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
        raise GlbReadError(f"{name}: no triangle meshes in the default scene")

    textured = _merge(pieces)
    try:  # what its users do next (renders, nearest-point searches) stays bounded
        check_geometry(textured.vertices.astype(np.float64), textured.triangles, name)
        check_overdraw(textured.vertices.astype(np.float64), textured.triangles, name)
    except MeshFileError as error:
        raise GlbReadError(str(error), error.limit) from None
    landmarks = _landmarks(pieces, anchors_by_mesh) if anchors_by_mesh else None
    return GlbHead(textured, landmarks, extras)


@dataclass
class _Piece:
    vertices: np.ndarray  # prior frame
    normals: np.ndarray
    uv: np.ndarray
    triangles: np.ndarray
    texture: np.ndarray  # (H, W, 3|4) uint8 sRGB, shared by the pieces that use the image
    roughness: np.ndarray  # (h, w) uint8, likewise
    colour_factor: tuple[float, float, float] = (1.0, 1.0, 1.0)  # applied to the atlas tile
    roughness_factor: float = 1.0  # likewise


class _Json:
    """A glTF JSON object read as attributes (``node.mesh``: None when absent), as the
    checked document is (parsing it into pygltflib's dataclasses costs seconds for a file
    of a few hundred meshes)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict) -> None:
        self._data = data

    def __getattr__(self, key: str):
        return _wrapped(self._data.get(key))

    def __bool__(self) -> bool:
        return True


def _wrapped(value):
    if isinstance(value, dict):
        return _Json(value)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [_wrapped(item) for item in value]
    return value


class _Reader:
    def __init__(self, gltf: _Json, blob: bytes, name: str = "the GLB") -> None:
        self.gltf, self.blob, self.name = gltf, blob, name
        self.accessors, self.bufferViews = gltf.accessors or [], gltf.bufferViews or []
        self.materials, self.textures = gltf.materials or [], gltf.textures or []
        self.images = gltf.images or []
        self._images: dict[tuple[int, str], np.ndarray] = {}
        self._materials: dict[int | None, tuple] = {}

    def accessor(self, index: int) -> np.ndarray:
        accessor = self.accessors[index]
        width = _COMPONENTS[accessor.type]
        dtype = np.dtype(_DTYPES[accessor.componentType])
        if accessor.bufferView is None:
            return np.zeros((accessor.count, width), dtype)
        view = self.bufferViews[accessor.bufferView]
        start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
        stride = view.byteStride or dtype.itemsize * width
        end = start + stride * max(accessor.count - 1, 0) + dtype.itemsize * width
        view_end = (view.byteOffset or 0) + view.byteLength
        if accessor.count and (end > min(view_end, len(self.blob)) or start < 0):
            raise GlbReadError(
                f"{self.name}: accessor {index} reads bytes {start}–{end} but the binary "
                "chunk has "
                f"{len(self.blob)} (and its buffer view ends at {view_end}): the file is "
                "truncated or damaged"
            )
        rows = np.ndarray(
            (accessor.count, width), dtype, self.blob, start, (stride, dtype.itemsize)
        ).copy()
        if accessor.normalized and dtype.kind in "iu":
            rows = rows.astype(np.float32) / np.iinfo(dtype).max
        return rows

    def primitive(self, primitive: _Json, transform: np.ndarray) -> _Piece:
        attributes = primitive.attributes
        if attributes.POSITION is None:
            raise GlbReadError(f"{self.name}: a mesh primitive has no POSITION")
        positions = self.accessor(attributes.POSITION).astype(np.float64)
        count = len(positions)
        if primitive.indices is not None:
            indices = self.accessor(primitive.indices).ravel()
            triangles = indices[: len(indices) - len(indices) % 3].reshape(-1, 3).astype(np.int64)
            try:
                check_indices(triangles, count, self.name, "a mesh primitive")
            except MeshFileError as error:
                raise GlbReadError(str(error)) from None
        else:
            triangles = np.arange(count - count % 3).reshape(-1, 3)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite: refused after merging
            positions = positions @ transform[:3, :3].T + transform[:3, 3]
        vertices = positions @ PRIOR_TO_GLTF  # glTF → prior frame (the matrix is orthonormal)
        normals = None
        if attributes.NORMAL is not None:
            normals = self.accessor(attributes.NORMAL)
        if normals is not None and len(normals) == count:
            normals = (normals @ transform[:3, :3].T) @ PRIOR_TO_GLTF
        else:
            normals = vertex_normals(vertices, triangles)
        uv = None
        if attributes.TEXCOORD_0 is not None:
            uv = self.accessor(attributes.TEXCOORD_0).astype(np.float32)
        if uv is None or uv.shape != (count, 2):
            uv = np.zeros((count, 2), np.float32)
        texture, roughness, colour_factor, roughness_factor = self.material(primitive.material)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite: refused after merging
            vertices, normals = vertices.astype(np.float32), normals.astype(np.float32)
        return _Piece(
            vertices,
            normals,
            uv,
            triangles,
            texture,
            roughness,
            colour_factor,
            roughness_factor,
        )

    def material(self, index: int | None) -> tuple:
        """Base colour (sRGB) and roughness images (1×1 ones for flat factors) and the
        factors to apply to them. Made once per material; a decoded image is shared by every
        material that uses it (a factor is applied to the atlas's small tile, never to a copy
        of the image: 300 materials tinting one 4K map must not make 300 copies)."""
        if index not in self._materials:
            self._materials[index] = self._material(index)
        return self._materials[index]

    def _material(self, index: int | None) -> tuple:
        if index is None:
            return _FLAT_GREY, _FLAT_ROUGH, (1.0, 1.0, 1.0), 1.0
        material = self.materials[index]
        pbr = material.pbrMetallicRoughness or _Json({})
        alpha_tested = material.alphaMode in ("MASK", "BLEND")  # hair cards: keep the alpha
        factor = np.asarray(pbr.baseColorFactor or [1.0, 1.0, 1.0, 1.0], np.float64)[:3]
        colour_factor = (1.0, 1.0, 1.0)
        if pbr.baseColorTexture is None:
            srgb = np.clip(factor, 0, 1) ** (1 / 2.2)
            base = (srgb * 255 + 0.5).astype(np.uint8)[None, None]
        else:
            base = self.image(pbr.baseColorTexture.index, "RGBA" if alpha_tested else "RGB")
            colour_factor = tuple(float(f) for f in factor)
        rough_factor = 1.0 if pbr.roughnessFactor is None else float(pbr.roughnessFactor)
        if pbr.metallicRoughnessTexture is None:
            return base, np.full((1, 1), int(rough_factor * 255), np.uint8), colour_factor, 1.0
        # roughness is the texture's green channel
        green = self.image(pbr.metallicRoughnessTexture.index, "RGB")[..., 1]
        return base, green, colour_factor, rough_factor

    def image(self, texture_index: int, mode: str = "RGB") -> np.ndarray:
        """A texture's image decoded (once per mode; its size was checked against the
        budgets before, from its header). Read only: it is shared."""
        source = self.textures[texture_index].source
        if (source, mode) in self._images:
            return self._images[(source, mode)]
        image = self.images[source]
        if image.bufferView is None:
            raise GlbReadError(
                f"{self.name}: a texture refers to an external image; embed it in the GLB"
            )
        view = self.bufferViews[image.bufferView]
        start = view.byteOffset or 0
        data = self.blob[start : start + view.byteLength]
        try:
            decoded = np.array(Image.open(io.BytesIO(data)).convert(mode))
        except (OSError, ValueError, SyntaxError) as error:  # PIL: truncated or not an image
            raise GlbReadError(
                f"{self.name}: image {image.bufferView} cannot be decoded ({_reason(error)})"
            ) from None
        decoded.flags.writeable = False
        self._images[(source, mode)] = decoded
        return decoded


def _reason(error: BaseException) -> str:
    """An exception as a short reason; never empty."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text[:200] or type(error).__name__


def _mesh_nodes(gltf: _Json):
    """(node index, world matrix) of every node with a mesh in the default scene (the
    hierarchy was checked to be a forest: no loops, one parent each)."""
    nodes = gltf.nodes or []
    scene = gltf.scenes[gltf.scene or 0] if gltf.scenes else None
    if scene is not None:
        roots = scene.nodes or []
    else:  # no scene: every node no other node names as its child
        children = {c for node in nodes for c in (node.children or [])}
        roots = [index for index in range(len(nodes)) if index not in children]
    stack = [(index, np.eye(4)) for index in roots]
    while stack:
        index, parent = stack.pop()
        node = nodes[index]
        world = parent @ _local_matrix(node)
        if node.mesh is not None:
            yield index, world
        stack.extend((child, world) for child in node.children or [])


def _local_matrix(node: _Json) -> np.ndarray:
    if node.matrix:
        return np.asarray(node.matrix, dtype=np.float64).reshape(4, 4).T
    rotation = Rotation.from_quat(node.rotation or [0.0, 0.0, 0.0, 1.0]).as_matrix()
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * np.asarray(node.scale or [1.0, 1.0, 1.0])
    matrix[:3, 3] = node.translation or [0.0, 0.0, 0.0]
    return matrix


def _merge(pieces: list[_Piece]) -> TexturedMesh:
    """One mesh; textures side by side in one atlas, each resized to one height. Pieces
    sharing an image and its factors share its tile; tiles shrink (all alike) when together
    they would be wider than ``_ATLAS_WIDTH``, and no tile is wider than ``_MAX_ASPECT`` ×
    its height. Factors are applied to the tiles (small), never to the images."""
    tiles: dict[tuple, int] = {}
    shapes: list[_Piece] = []
    for piece in pieces:
        key = _tile_key(piece)
        if key not in tiles:
            tiles[key] = len(shapes)
            shapes.append(piece)
    aspects = [min(p.texture.shape[1] / p.texture.shape[0], _MAX_ASPECT) for p in shapes]
    height = max(1, min(_ATLAS_HEIGHT, int(_ATLAS_WIDTH / max(sum(aspects), 1e-9))))
    with_alpha = any(p.texture.shape[-1] == 4 for p in shapes)
    mode = "RGBA" if with_alpha else "RGB"
    bases, roughs, offsets, x = [], [], [], 0
    for piece, aspect in zip(shapes, aspects, strict=True):
        size = (max(1, round(aspect * height)), height)
        tile = Image.fromarray(piece.texture).convert(mode).resize(size, Image.BILINEAR)
        tile = np.array(tile)
        if not np.allclose(piece.colour_factor, 1.0):
            tile[..., :3] = (tile[..., :3] * np.asarray(piece.colour_factor)).astype(np.uint8)
        rough = np.array(Image.fromarray(piece.roughness).resize(size))
        if piece.roughness_factor != 1.0:
            rough = (rough * piece.roughness_factor).astype(np.uint8)
        bases.append(tile)
        roughs.append(rough)
        offsets.append((x, size[0]))
        x += size[0]
    vertices, normals, uvs, triangles, first = [], [], [], [], 0
    for piece in pieces:
        start, width = offsets[tiles[_tile_key(piece)]]
        uv = np.clip(piece.uv, 0.0, 1.0)  # the atlas has no room to repeat a texture
        uvs.append(np.stack([(start + uv[:, 0] * width) / x, uv[:, 1]], axis=1))
        vertices.append(piece.vertices)
        normals.append(piece.normals)
        triangles.append(piece.triangles + first)
        first += len(piece.vertices)
    return TexturedMesh(
        np.concatenate(vertices),
        np.concatenate(normals),
        np.concatenate(uvs).astype(np.float32),
        np.concatenate(triangles).astype(np.int64),
        np.concatenate(bases, axis=1),
        np.concatenate(roughs, axis=1),
    )


def _tile_key(piece: _Piece) -> tuple:
    return (id(piece.texture), piece.colour_factor, id(piece.roughness), piece.roughness_factor)


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
