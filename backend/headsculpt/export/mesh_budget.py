"""What reading a mesh will cost, measured before the work that grows with it.

Every mesh or glTF file the project reads — ``headsculpt rig`` and ``evaluate``, uploads,
rig, sculpt and edit jobs — goes through here first. A small file can describe a lot of
work: one triangle placed by 100,000 nodes, a 16000×5500 image compressed to 274 KB, an
accessor of a billion elements with no data behind it, a PLY header announcing more
vertices than its file holds, a node tree that loops. So before a reader (trimesh,
pygltflib, PIL) builds anything, the file's own bookkeeping is read — the glTF JSON, the
PLY header, the OBJ's record counts, each image's header — and compared with the budgets
of :mod:`headsculpt.limits` (docs/rig.md, "Budgets"). After the read, the geometry itself
is checked: indices in range, how many points pile up at one spot, how much of it is
degenerate. Every refusal is a :class:`MeshFileError` whose message names the file as
the user knows it, the budget (``limit``) and what to do.

The checks are linear in the file (a hash of grid cells, never a list of pairs), and none
imports torch: the server checks an upload with them before it keeps it.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import struct
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from headsculpt.limits import (
    MAX_ACCESSOR_BYTES,
    MAX_GLTF_JSON_BYTES,
    MAX_GLTF_JSON_VALUES,
    MAX_GLTF_NODES,
    MAX_MESH_FILE_BYTES,
    MAX_MESH_PARTS,
    MAX_MESH_TRIANGLES,
    MAX_MESH_VERTICES,
    MAX_OVERDRAW,
    MAX_POINTS_AT_ONE_SPOT,
    MAX_TEXTURE_PIXELS,
    MAX_TEXTURE_SIDE,
    MIN_KEPT_TRIANGLE_SHARE,
)

# Budget names, as messages and docs spell them (the `limit` of a refusal).
FILE_SIZE = "file size"
VERTICES = "vertices after instancing"
TRIANGLES = "triangles after instancing"
PARTS = "mesh parts"
NODES = "nodes"
JSON_VALUES = "glTF JSON values"
JSON_SIZE = "glTF JSON size"
ACCESSOR_DATA = "accessor data"
TEXTURE_SIDE = "texture side"
TEXTURE_PIXELS = "texture pixels"
POINTS_AT_ONE_SPOT = "points at one spot"
OVERDRAW = "overdraw"
KEPT_TRIANGLES = "kept triangles"

WELD_RATIO = 1e-6  # × bounding-box diagonal: positions closer than this are one point

_GLB_MAGIC = b"glTF"
_JSON_CHUNK = 0x4E4F534A
_BIN_CHUNK = 0x004E4942
_COMPONENT_BYTES = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
_TYPE_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
# Extensions whose geometry or images need a decoder this project does not have.
_UNREADABLE_EXTENSIONS = {
    "KHR_draco_mesh_compression": "Draco mesh compression",
    "EXT_meshopt_compression": "meshopt compression",
    "KHR_mesh_quantization": "quantized positions",
    "KHR_texture_basisu": "Basis Universal (KTX2) textures",
    "EXT_texture_webp": "WebP textures",
}
_TRIANGLE_MODES = (4, 5, 6)  # triangles, strip, fan
# What glTF 2.0 allows for the attributes the readers use (KHR_mesh_quantization is refused).
_ATTRIBUTE_TYPES = (
    ("POSITION", ("VEC3",), (5126,)),
    ("NORMAL", ("VEC3",), (5126,)),
    ("TEXCOORD_0", ("VEC2",), (5126, 5121, 5123)),
    ("indices", ("SCALAR",), (5121, 5123, 5125)),
)
_TRANSFORM_SIZES = {"matrix": 16, "translation": 3, "rotation": 4, "scale": 3}
_EXPORT_ALONE = "export the head alone (no scene around it)"
_DECIMATE = "decimate it (Blender: Decimate modifier) or export the head alone"


class MeshFileError(ValueError):
    """A mesh file that cannot (or must not) be read; ``limit`` names the budget it
    exceeds, None for a file that is damaged rather than too large."""

    def __init__(self, message: str, limit: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass
class MeshCost:
    """What a file will cost to read, as its own bookkeeping says (before reading it)."""

    vertices: int = 0  # after instancing
    triangles: int = 0  # after instancing and triangulation
    parts: int = 0
    nodes: int = 0
    texture_pixels: int = 0
    images: list[tuple[int, int]] = field(default_factory=list)  # (width, height) each


def _count(value: int) -> str:
    return f"{value:,}"


def _over(
    name: str, what: str, value: int, limit: int, budget: str, advice: str, unit: str = ""
) -> MeshFileError:
    """ "NAME: it has 100,000 nodes — over the limit of 5,000 (nodes); what to do"."""
    unit = unit or budget
    return MeshFileError(
        f"{name}: {what} {_count(value)} {unit} — over the limit of {_count(limit)} "
        f"({budget}); {advice}",
        budget,
    )


# --- images -------------------------------------------------------------------------------
class ImageBudget:
    """Decoded pixels of a file's images, counted from their headers before decoding."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pixels = 0
        self.sizes: list[tuple[int, int]] = []

    def measure(self, data: bytes | io.IOBase, label: str) -> tuple[int, int]:
        """The (width, height) of an encoded image, read from its header alone; refused
        when it, or all images so far, exceed the texture budgets."""
        from PIL import Image

        stream = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(stream) as image:
                    width, height = image.size
        except Image.DecompressionBombError:
            raise MeshFileError(
                f"{self.name}: {label} is larger than {_count(MAX_TEXTURE_PIXELS)} pixels; "
                f"the limit is {MAX_TEXTURE_SIDE} pixels a side ({TEXTURE_SIDE}): "
                "scale the texture down",
                TEXTURE_SIDE,
            ) from None
        except (OSError, ValueError, SyntaxError) as error:  # PIL: not an image it knows
            raise MeshFileError(
                f"{self.name}: {label} is not a readable image ({_reason(error)})"
            ) from None
        self.add(width, height, label)
        return width, height

    def add(self, width: int, height: int, label: str) -> None:
        if max(width, height) > MAX_TEXTURE_SIDE:
            raise MeshFileError(
                f"{self.name}: {label} is {_count(width)} × {_count(height)} pixels — over the "
                f"limit of {MAX_TEXTURE_SIDE} pixels a side ({TEXTURE_SIDE}); scale it down "
                f"to {MAX_TEXTURE_SIDE} or less",
                TEXTURE_SIDE,
            )
        self.pixels += width * height
        self.sizes.append((width, height))
        if self.pixels > MAX_TEXTURE_PIXELS:
            raise _over(
                self.name,
                "its images hold",
                self.pixels,
                MAX_TEXTURE_PIXELS,
                TEXTURE_PIXELS,
                "use fewer or smaller textures (four 4096² maps fit)",
                "decoded pixels",
            )


# --- files --------------------------------------------------------------------------------
def check_mesh_file(path: str | Path, name: str | None = None) -> MeshCost:
    """Measure a .glb/.gltf/.obj/.ply file against the budgets before reading it.

    ``name`` is how messages call the file (the user's name for it; default: the path).
    Raises :class:`MeshFileError` naming the budget a file exceeds or what is damaged.
    """
    path = Path(path)
    name = name or str(path)
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except OSError:
        raise MeshFileError(f"{name}: no such file") from None
    if not path.is_file():
        raise MeshFileError(f"{name}: not a file")
    if size > MAX_MESH_FILE_BYTES:
        raise _over(name, "the file has", size, MAX_MESH_FILE_BYTES, FILE_SIZE, _DECIMATE, "bytes")
    if size == 0:
        raise MeshFileError(f"{name}: the file is empty")
    if suffix == ".glb":  # the JSON is read; the binary chunk only where images start
        document, blob = _read_glb_file(path, size, name)
        return check_gltf(document, blob, name, _folder_resolver(path, name))
    if suffix == ".gltf":
        _check_json_size(size, name)
        return check_gltf(
            _load_json(path.read_bytes(), name), None, name, _folder_resolver(path, name)
        )
    if suffix == ".obj":
        return _check_obj(path, name)
    if suffix == ".ply":
        return _check_ply(path, size, name)
    raise MeshFileError(f"{name}: unsupported format; use .glb, .gltf, .obj or .ply")


def read_glb_container(data: bytes, name: str) -> tuple[dict[str, Any], bytes | None]:
    """The JSON document and binary chunk of a GLB, with its lengths checked."""
    if len(data) < 20 or data[:4] != _GLB_MAGIC:
        raise MeshFileError(f"{name}: not a glTF binary (no 'glTF' magic)")
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2:
        raise MeshFileError(f"{name}: glTF version {version}; only glTF 2.0 is read")
    if length > len(data):
        raise MeshFileError(
            f"{name}: the GLB says it has {_count(length)} bytes but the file "
            f"has {_count(len(data))}: it is truncated"
        )
    offset, document, blob = 12, None, None
    while offset + 8 <= length:
        chunk_length, chunk_type = struct.unpack_from("<II", data, offset)
        start, end = offset + 8, offset + 8 + chunk_length
        if end > length:
            raise MeshFileError(
                f"{name}: a GLB chunk runs past the end of the file (truncated or damaged)"
            )
        if chunk_type == _JSON_CHUNK and document is None:
            _check_json_size(chunk_length, name)
            document = _load_json(data[start:end], name)
        elif chunk_type == _BIN_CHUNK and blob is None:
            blob = data[start:end]
        offset = end + (-chunk_length % 4)
    if document is None:
        raise MeshFileError(f"{name}: the GLB has no JSON chunk")
    return document, blob


class FileBytes:
    """Bytes of a file read only where asked: a GLB's binary chunk, a .bin beside a .gltf
    (an image's header is a few bytes of a buffer that may be hundreds of MB)."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self.path, self.offset, self.length = path, offset, length

    def __len__(self) -> int:
        return self.length

    def window(self, start: int, length: int) -> io.BufferedReader:
        """A read-only file of ``length`` bytes from ``start`` (PIL reads what it needs)."""
        return io.BufferedReader(_Window(self.path, self.offset + start, length))


class _Window(io.RawIOBase):
    """A slice of a file as a file of its own (seekable, read-only)."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        super().__init__()
        self._handle = open(path, "rb")  # noqa: SIM115 (closed with the window)
        self._start, self._length, self._position = start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._length}[whence]
        self._position = max(0, min(self._length, base + offset))
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self._length - self._position)
        if want <= 0:
            return 0
        self._handle.seek(self._start + self._position)
        data = self._handle.read(want)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._handle.close()
        super().close()


def _read_glb_file(path: Path, size: int, name: str) -> tuple[dict[str, Any], FileBytes | None]:
    """A GLB's JSON document, and its binary chunk as a FileBytes (not read)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != _GLB_MAGIC:
            raise MeshFileError(f"{name}: not a glTF binary (no 'glTF' magic)")
        version, length = struct.unpack_from("<II", head, 4)
        if version != 2:
            raise MeshFileError(f"{name}: glTF version {version}; only glTF 2.0 is read")
        if length > size:
            raise MeshFileError(
                f"{name}: the GLB says it has {_count(length)} bytes but the file has "
                f"{_count(size)}: it is truncated"
            )
        offset, document, blob = 12, None, None
        while offset + 8 <= length:
            handle.seek(offset)
            chunk_length, chunk_type = struct.unpack("<II", handle.read(8))
            start, end = offset + 8, offset + 8 + chunk_length
            if end > length:
                raise MeshFileError(
                    f"{name}: a GLB chunk runs past the end of the file (truncated or damaged)"
                )
            if chunk_type == _JSON_CHUNK and document is None:
                _check_json_size(chunk_length, name)
                document = _load_json(handle.read(chunk_length), name)
            elif chunk_type == _BIN_CHUNK and blob is None:
                blob = FileBytes(path, start, chunk_length)
            offset = end + (-chunk_length % 4)
    if document is None:
        raise MeshFileError(f"{name}: the GLB has no JSON chunk")
    return document, blob


def _check_json_size(size: int, name: str) -> None:
    if size > MAX_GLTF_JSON_BYTES:
        raise _over(name, "its glTF JSON has", size, MAX_GLTF_JSON_BYTES, JSON_SIZE,
                    "export a .glb, which keeps its data out of the JSON", "bytes")  # fmt: skip


def _load_json(data: bytes, name: str) -> dict[str, Any]:
    values = data.count(b",")
    if values > MAX_GLTF_JSON_VALUES:
        raise _over(
            name,
            "its glTF JSON holds about",
            values,
            MAX_GLTF_JSON_VALUES,
            JSON_VALUES,
            _EXPORT_ALONE,
            "values",
        )
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise MeshFileError(f"{name}: its glTF JSON cannot be read ({_reason(error)})") from None
    if not isinstance(document, dict):
        raise MeshFileError(f"{name}: its glTF JSON is not an object")
    return document


Resolver = Callable[[str], "Path"]


def _folder_resolver(path: Path, name: str) -> Resolver:
    """Files a glTF names by URI: plain relative names inside its own folder, not itself."""
    folder = path.resolve().parent
    itself = path.resolve()

    def resolve(uri: str) -> Path:
        from urllib.parse import unquote

        relative = unquote(uri)
        target = (folder / relative).resolve()
        if Path(relative).is_absolute() or not target.is_relative_to(folder):
            raise MeshFileError(
                f"{name}: names the file {uri[:80]!r} outside its own folder; "
                "keep its files beside it (or export a .glb)"
            )
        if target == itself:
            raise MeshFileError(
                f"{name}: names itself ({uri[:80]!r}) as its binary data; the "
                "file is damaged: export it again (a .glb holds everything)"
            )
        if not target.is_file():
            raise MeshFileError(
                f"{name}: names {uri[:80]!r}, which is not beside it; copy it "
                "there or export a .glb (which holds everything)"
            )
        size = target.stat().st_size
        if size > MAX_MESH_FILE_BYTES:
            raise _over(
                name,
                f"{uri[:80]!r} has",
                size,
                MAX_MESH_FILE_BYTES,
                FILE_SIZE,
                _DECIMATE,
                "bytes",
            )
        return target

    return resolve


# --- glTF ---------------------------------------------------------------------------------
def check_gltf(
    document: dict[str, Any],
    blob: bytes | None,
    name: str,
    resolve: Resolver | None = None,
) -> MeshCost:
    """Measure a glTF document (and a GLB's binary chunk) against the budgets.

    Every index is checked to point at something that exists, every buffer view and
    accessor to lie inside the bytes it names, the node hierarchy to be a forest (no
    loops, one parent each), the images' sizes from their headers; then vertices,
    triangles and parts are counted as placed by the default scene's nodes.
    ``resolve`` turns a URI into a file beside the document (None: URIs are refused).
    """
    doc = _Document(document, name)
    for key in ("asset", "extras"):
        if key in document and not isinstance(document[key], dict):
            raise MeshFileError(f"{name}: its {key} is not an object: the file is damaged")
    extras = (document.get("asset") or {}).get("extras")
    if extras is not None and not isinstance(extras, dict):
        raise MeshFileError(f"{name}: its asset's extras are not an object")
    for extension in doc.list("extensionsRequired"):
        if extension in _UNREADABLE_EXTENSIONS:
            raise MeshFileError(
                f"{name}: uses {_UNREADABLE_EXTENSIONS[extension]} ({extension}), which this "
                "reader does not decode; export it again without compression"
            )
    buffer_sizes = _buffer_sizes(doc, blob, resolve)
    views = doc.list("bufferViews")
    for index, view in enumerate(views):
        where = f"bufferView {index}"
        buffer = doc.index(view, "buffer", len(buffer_sizes), where, required=True)
        offset = doc.natural(view, "byteOffset", where)
        length = doc.natural(view, "byteLength", where, required=True)
        if offset + length > buffer_sizes[buffer]:
            raise MeshFileError(
                f"{name}: {where} reads bytes {_count(offset)}–{_count(offset + length)} of "
                f"buffer {buffer}, which holds {_count(buffer_sizes[buffer])}: the file is "
                "truncated or damaged; export it again"
            )
        stride = view.get("byteStride")
        if stride is not None and (not _is_int(stride) or not 4 <= stride <= 252):
            raise MeshFileError(f"{name}: {where} has a byteStride of {stride!r} (4–252)")
    accessors = doc.list("accessors")
    accessor_bytes = 0
    for index, accessor in enumerate(accessors):
        accessor_bytes += _check_accessor(doc, index, accessor, views)
        if accessor_bytes > MAX_ACCESSOR_BYTES:
            raise _over(
                name,
                "its accessors hold",
                accessor_bytes,
                MAX_ACCESSOR_BYTES,
                ACCESSOR_DATA,
                _EXPORT_ALONE,
                "bytes of arrays",
            )
    images = ImageBudget(name)
    _check_images(doc, images, views, buffer_sizes, blob, resolve)
    textures = doc.list("textures")
    for index, texture in enumerate(textures):  # a source only an extension names is refused
        doc.index(texture, "source", len(doc.list("images")), f"texture {index}", required=True)
    for index, material in enumerate(doc.list("materials")):
        for slot in _texture_slots(doc, material, f"material {index}"):
            doc.index(slot, "index", len(textures), f"material {index}", required=True)
    mesh_costs = [
        _mesh_cost(doc, index, mesh, accessors) for index, mesh in enumerate(doc.list("meshes"))
    ]
    for index, skin in enumerate(doc.list("skins")):
        doc.index(skin, "inverseBindMatrices", len(accessors), f"skin {index}")
    cost = _placed(doc, mesh_costs)
    cost.texture_pixels, cost.images = images.pixels, images.sizes
    return cost


class _Document:
    """Typed access to a glTF JSON document: wrong types and dangling indices are refused."""

    def __init__(self, document: dict[str, Any], name: str) -> None:
        self.document, self.name = document, name

    def list(self, key: str, owner: dict | None = None, where: str = "the file") -> list:
        holder = self.document if owner is None else owner
        if not isinstance(holder, dict):
            raise MeshFileError(f"{self.name}: {where} is not an object")
        value = holder.get(key, [])
        if not isinstance(value, list):
            raise MeshFileError(f"{self.name}: {where}'s {key} is not a list")
        return value

    def index(self, owner: Any, key: str, count: int, where: str, required: bool = False):
        if not isinstance(owner, dict):
            raise MeshFileError(f"{self.name}: {where} is not an object")
        value = owner.get(key)
        if value is None and not required:
            return None
        if not _is_int(value) or not 0 <= value < count:
            raise MeshFileError(
                f"{self.name}: {where} names {key} {value!r}, but the file has {count} "
                f"of them: it is damaged; export it again"
            )
        return value

    def natural(self, owner: dict, key: str, where: str, required: bool = False) -> int:
        value = owner.get(key, None if required else 0)
        if not _is_int(value) or value < 0:
            raise MeshFileError(f"{self.name}: {where} has {key} {value!r} (a count is needed)")
        return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numbers(value: Any, size: int) -> bool:
    """A list of ``size`` finite numbers."""
    return (
        isinstance(value, list)
        and len(value) == size
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )


def _buffer_sizes(doc: _Document, blob: bytes | None, resolve: Resolver | None) -> list[int]:
    """The bytes each buffer really holds (its declared length, checked)."""
    sizes = []
    for index, buffer in enumerate(doc.list("buffers")):
        where = f"buffer {index}"
        if not isinstance(buffer, dict):
            raise MeshFileError(f"{doc.name}: {where} is not an object")
        declared = doc.natural(buffer, "byteLength", where, required=True)
        uri = buffer.get("uri")
        if uri is None:
            held = len(blob) if (blob is not None and index == 0) else 0
        elif not isinstance(uri, str):
            raise MeshFileError(f"{doc.name}: {where}'s uri is not text")
        elif uri.startswith("data:"):
            held = _data_uri_length(uri)
        elif resolve is None:
            raise MeshFileError(
                f"{doc.name}: {where} names a file ({uri[:80]!r}); only "
                "self-contained files are read here (export a .glb)"
            )
        else:
            held = resolve(uri).stat().st_size
        if declared > held:
            raise MeshFileError(
                f"{doc.name}: {where} declares {_count(declared)} bytes but holds "
                f"{_count(held)}: the file is truncated or damaged; export it again"
            )
        sizes.append(declared)
    return sizes


def _data_uri_length(uri: str) -> int:
    """Bytes a base64 data URI decodes to (without decoding it)."""
    comma = uri.find(",")
    if comma < 0 or ";base64" not in uri[:comma]:
        return len(uri) - comma - 1  # percent-encoded data: at most its length
    payload = len(uri) - comma - 1
    padding = uri.endswith("==") + uri.endswith("=")
    return max(payload * 3 // 4 - padding, 0)


def _check_accessor(doc: _Document, index: int, accessor: Any, views: list) -> int:
    """The accessor's array size in bytes; refused when it reads outside its buffer view."""
    where = f"accessor {index}"
    if not isinstance(accessor, dict):
        raise MeshFileError(f"{doc.name}: {where} is not an object")
    component = accessor.get("componentType")
    kind = accessor.get("type")
    if not (_is_int(component) and component in _COMPONENT_BYTES) or not (
        isinstance(kind, str) and kind in _TYPE_WIDTH
    ):
        raise MeshFileError(
            f"{doc.name}: {where} has an unknown type ({str(kind)[:20]}, {str(component)[:20]})"
        )
    count = doc.natural(accessor, "count", where, required=True)
    element = _COMPONENT_BYTES[component] * _TYPE_WIDTH[kind]
    if "sparse" in accessor:
        raise MeshFileError(
            f"{doc.name}: {where} is sparse, which this reader does not "
            "read; export it again without sparse accessors"
        )
    view_index = doc.index(accessor, "bufferView", len(views), where)
    if view_index is not None and count:
        view = views[view_index]
        offset = doc.natural(accessor, "byteOffset", where)
        stride = view.get("byteStride") or element
        if stride < element:
            raise MeshFileError(
                f"{doc.name}: bufferView {view_index}'s stride {stride} is "
                f"shorter than {where}'s elements ({element} bytes)"
            )
        end = offset + stride * (count - 1) + element
        if end > view["byteLength"]:
            raise MeshFileError(
                f"{doc.name}: {where} reads {_count(count)} elements, bytes {_count(offset)}–"
                f"{_count(end)} of bufferView {view_index}, which has {_count(view['byteLength'])}"
                ": the file is damaged; export it again"
            )
    return count * element


def _texture_slots(doc: _Document, material: Any, where: str) -> Iterable[dict]:
    """A material's texture references, its fields checked to be of glTF's types."""
    if not isinstance(material, dict):
        raise MeshFileError(f"{doc.name}: {where} is not an object")
    pbr = material.get("pbrMetallicRoughness", {})
    if not isinstance(pbr, dict):
        raise MeshFileError(f"{doc.name}: {where}'s pbrMetallicRoughness is not an object")
    for owner, key, size in ((pbr, "baseColorFactor", 4), (material, "emissiveFactor", 3)):
        if key in owner and not _numbers(owner[key], size):
            raise MeshFileError(f"{doc.name}: {where}'s {key} is not {size} finite numbers")
    for key in ("metallicFactor", "roughnessFactor"):
        if key in pbr and not _numbers([pbr[key]], 1):
            raise MeshFileError(f"{doc.name}: {where}'s {key} is not a finite number")
    if "alphaMode" in material and material["alphaMode"] not in ("OPAQUE", "MASK", "BLEND"):
        raise MeshFileError(f"{doc.name}: {where}'s alphaMode is not OPAQUE, MASK or BLEND")
    slots = [pbr.get("baseColorTexture"), pbr.get("metallicRoughnessTexture")]
    slots += [material.get(k) for k in ("normalTexture", "occlusionTexture", "emissiveTexture")]
    return [slot for slot in slots if slot is not None]


def _check_images(doc, images: ImageBudget, views, buffer_sizes, blob, resolve) -> None:
    """Each image's size from its header (only those bytes are read); the texture budgets."""
    sources: dict[int, bytes | FileBytes] = {}
    for index, image in enumerate(doc.list("images")):
        where = f"image {index}"
        view_index = doc.index(image, "bufferView", len(views), where)
        uri = image.get("uri")
        if view_index is not None:
            view = views[view_index]
            number = view["buffer"]
            if number not in sources:
                sources[number] = _buffer_source(doc.document["buffers"][number], number, blob,
                                                  resolve, doc.name)  # fmt: skip
            source, start = sources[number], view.get("byteOffset", 0)
            if isinstance(source, FileBytes):
                with source.window(start, view["byteLength"]) as stream:
                    images.measure(stream, where)
            else:
                images.measure(bytes(source[start : start + view["byteLength"]]), where)
        elif isinstance(uri, str) and uri.startswith("data:"):
            images.measure(_data_uri_bytes(uri, doc.name, where), where)
        elif isinstance(uri, str) and resolve is not None:
            with open(resolve(uri), "rb") as handle:
                images.measure(handle, f"{where} ({uri[:80]})")
        elif isinstance(uri, str):
            raise MeshFileError(
                f"{doc.name}: {where} names a file ({uri[:80]!r}); only "
                "self-contained files are read here (export a .glb)"
            )


def _buffer_source(buffer: dict, index: int, blob, resolve, name: str) -> bytes | FileBytes:
    """A buffer's bytes: the GLB's binary chunk, a decoded data URI, or a file beside."""
    uri = buffer.get("uri")
    if uri is None:
        return blob if blob is not None else b""
    if uri.startswith("data:"):
        return _data_uri_bytes(uri, name, f"buffer {index}")
    if resolve is None:
        raise MeshFileError(f"{name}: buffer {index} names a file; export a .glb")
    path = resolve(uri)
    return FileBytes(path, 0, path.stat().st_size)


def _data_uri_bytes(uri: str, name: str, where: str) -> bytes:
    comma = uri.find(",")
    if comma < 0 or ";base64" not in uri[:comma]:
        raise MeshFileError(f"{name}: {where}'s data URI is not base64")
    try:
        return base64.b64decode(uri[comma + 1 :], validate=False)
    except (binascii.Error, ValueError):
        raise MeshFileError(f"{name}: {where}'s data URI is not valid base64") from None


@dataclass
class _MeshCount:
    vertices: int
    triangles: int
    primitives: int


def _mesh_cost(doc: _Document, index: int, mesh: Any, accessors: list) -> _MeshCount:
    where = f"mesh {index}"
    if not isinstance(mesh, dict):
        raise MeshFileError(f"{doc.name}: {where} is not an object")
    vertices = triangles = 0
    primitives = doc.list("primitives", mesh, where)
    if not primitives:
        raise MeshFileError(f"{doc.name}: {where} has no primitives: the file is damaged")
    for number, primitive in enumerate(primitives):
        place = f"{where} primitive {number}"
        if not isinstance(primitive, dict):
            raise MeshFileError(f"{doc.name}: {place} is not an object")
        for extension in primitive.get("extensions") or {}:
            if extension in _UNREADABLE_EXTENSIONS:
                raise MeshFileError(
                    f"{doc.name}: uses {_UNREADABLE_EXTENSIONS[extension]} ({extension}), "
                    "which this reader does not decode; export it again without compression"
                )
        attributes = primitive.get("attributes")
        if not isinstance(attributes, dict) or "POSITION" not in attributes:
            raise MeshFileError(f"{doc.name}: {place} has no POSITION attribute")
        for semantic in attributes:
            doc.index(attributes, semantic, len(accessors), place, required=True)
        for target in doc.list("targets", primitive, place):
            for semantic in target if isinstance(target, dict) else ():
                doc.index(target, semantic, len(accessors), f"{place}'s morph target")
        indices = doc.index(primitive, "indices", len(accessors), place)
        for semantic, types, components in _ATTRIBUTE_TYPES:
            chosen = indices if semantic == "indices" else attributes.get(semantic)
            if chosen is not None and (
                accessors[chosen]["type"] not in types
                or accessors[chosen]["componentType"] not in components
            ):
                raise MeshFileError(
                    f"{doc.name}: {place}'s {semantic} is {accessors[chosen]['type']} of "
                    f"component type {accessors[chosen]['componentType']}, which glTF does not "
                    "allow there: the file is damaged; export it again"
                )
        doc.index(primitive, "material", len(doc.list("materials")), place)
        mode = primitive.get("mode", 4)
        if mode not in range(7):
            raise MeshFileError(f"{doc.name}: {place} has an unknown mode {mode!r}")
        count = accessors[attributes["POSITION"]]["count"]
        vertices += count
        corners = accessors[indices]["count"] if indices is not None else count
        if mode == 4:
            triangles += corners // 3
        elif mode in _TRIANGLE_MODES:
            triangles += max(corners - 2, 0)
    return _MeshCount(vertices, triangles, len(primitives))


def _placed(doc: _Document, meshes: list[_MeshCount]) -> MeshCost:
    """Vertices, triangles and parts as the default scene's nodes place the meshes."""
    nodes = doc.list("nodes")
    name = doc.name
    if len(nodes) > MAX_GLTF_NODES:
        raise _over(
            name,
            "it has",
            len(nodes),
            MAX_GLTF_NODES,
            NODES,
            "merge the copies of its meshes, or " + _EXPORT_ALONE,
            "nodes",
        )
    parent = [-1] * len(nodes)
    for index, node in enumerate(nodes):
        where = f"node {index}"
        doc.index(node, "mesh", len(meshes), where)
        doc.index(node, "skin", len(doc.list("skins")), where)
        for key, size in _TRANSFORM_SIZES.items():
            value = node.get(key)
            if value is not None and not _numbers(value, size):
                raise MeshFileError(f"{name}: {where}'s {key} is not {size} finite numbers: "
                                    "the file is damaged; export it again")  # fmt: skip
        if _numbers(node.get("rotation"), 4) and not any(node["rotation"]):
            raise MeshFileError(f"{name}: {where}'s rotation is all zeros (not a rotation): "
                                "the file is damaged; export it again")  # fmt: skip
        for child in doc.list("children", node, where):
            if not _is_int(child) or not 0 <= child < len(nodes):
                raise MeshFileError(
                    f"{name}: {where} names child {child!r}, but the file has "
                    f"{len(nodes)} nodes: it is damaged"
                )
            if parent[child] != -1 or child == index:
                raise MeshFileError(
                    f"{name}: node {child} has more than one parent (or is its own): glTF "
                    "nodes form trees; the file is damaged, export it again"
                )
            parent[child] = index
    scenes = doc.list("scenes")
    if scenes:
        scene_index = doc.index(doc.document, "scene", len(scenes), "the file") or 0
        roots = doc.list("nodes", scenes[scene_index], f"scene {scene_index}")
        for root in roots:
            if not _is_int(root) or not 0 <= root < len(nodes):
                raise MeshFileError(
                    f"{name}: scene {scene_index} names node {root!r}, but the "
                    f"file has {len(nodes)}"
                )
    else:
        roots = [index for index, above in enumerate(parent) if above == -1]
    cost = MeshCost(nodes=len(nodes))
    seen = [False] * len(nodes)
    stack = list(roots)
    while stack:  # one parent each: every node is reached once, or a loop is found
        index = stack.pop()
        if seen[index]:
            raise MeshFileError(
                f"{name}: its node hierarchy loops (node {index} is its own "
                "ancestor); the file is damaged, export it again"
            )
        seen[index] = True
        mesh = nodes[index].get("mesh")
        if mesh is not None:
            cost.vertices += meshes[mesh].vertices
            cost.triangles += meshes[mesh].triangles
            cost.parts += meshes[mesh].primitives
        stack.extend(nodes[index].get("children", []))
    if not nodes and not scenes:  # meshes without nodes: readers take each once
        for mesh in meshes:
            cost.vertices += mesh.vertices
            cost.triangles += mesh.triangles
            cost.parts += mesh.primitives
    check_counts(cost.vertices, cost.triangles, cost.parts, name)
    return cost


def check_counts(vertices: int, triangles: int, parts: int, name: str) -> None:
    """The vertex, triangle and part budgets (counted after instancing)."""
    if vertices > MAX_MESH_VERTICES:
        raise _over(
            name,
            "its meshes, as placed, have",
            vertices,
            MAX_MESH_VERTICES,
            VERTICES,
            _DECIMATE,
            "vertices",
        )
    if triangles > MAX_MESH_TRIANGLES:
        raise _over(
            name,
            "its meshes, as placed, have",
            triangles,
            MAX_MESH_TRIANGLES,
            TRIANGLES,
            _DECIMATE,
            "triangles",
        )
    if parts > MAX_MESH_PARTS:
        raise _over(
            name,
            "it places",
            parts,
            MAX_MESH_PARTS,
            PARTS,
            "join its pieces into fewer meshes, or " + _EXPORT_ALONE,
            "mesh parts",
        )


# --- OBJ ----------------------------------------------------------------------------------
_OBJ_BLOCK = 8 * 2**20


def _check_obj(path: Path, name: str) -> MeshCost:
    """Count an OBJ's records by streaming it (stopping at the first budget it exceeds),
    and measure the images its material libraries name."""
    vertices = coordinates = normals = triangles = groups = 0
    libraries: list[str] = []
    rest = b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_OBJ_BLOCK)
            if not block and not rest:
                break
            data = rest + block
            if block:
                cut = data.rfind(b"\n") + 1
                data, rest = data[:cut], data[cut:]
                if not data:
                    if len(rest) > _OBJ_BLOCK:
                        raise MeshFileError(
                            f"{name}: a line of over {_OBJ_BLOCK:,} bytes: not an OBJ file"
                        )
                    continue
            else:
                rest = b""
            vertices += data.count(b"\nv ") + data.count(b"\nv\t") + data.startswith(b"v ")
            coordinates += data.count(b"\nvt ") + data.startswith(b"vt ")
            normals += data.count(b"\nvn ") + data.startswith(b"vn ")
            if b"\nf" in data or data.startswith(b"f"):
                for line in data.split(b"\n"):
                    if line[:2] in (b"f ", b"f\t"):
                        triangles += max(len(line.split()) - 3, 0)
                    elif line[:2] in (b"g ", b"o ") or line.startswith(b"usemtl"):
                        groups += 1
                    elif line.startswith(b"mtllib"):
                        libraries.append(line[6:].strip().decode("utf-8", "replace"))
            elif b"mtllib" in data:
                libraries += [
                    line[6:].strip().decode("utf-8", "replace")
                    for line in data.split(b"\n")
                    if line.startswith(b"mtllib")
                ]
            if vertices > MAX_MESH_VERTICES or triangles > MAX_MESH_TRIANGLES:
                break
            if max(coordinates, normals) > 2 * MAX_MESH_VERTICES:
                raise _over(
                    name,
                    "it has",
                    max(coordinates, normals),
                    2 * MAX_MESH_VERTICES,
                    VERTICES,
                    _DECIMATE,
                    "texture coordinates or normals",
                )
    check_counts(vertices, triangles, min(groups, MAX_MESH_PARTS), name)
    images = ImageBudget(name)
    folder = path.resolve().parent
    for library in libraries[:16]:
        _measure_mtl_images(folder, library, images, name)
    return MeshCost(
        vertices=vertices,
        triangles=triangles,
        parts=groups,
        texture_pixels=images.pixels,
        images=images.sizes,
    )


def _measure_mtl_images(folder: Path, library: str, images: ImageBudget, name: str) -> None:
    """The images a material library beside the OBJ names (as trimesh would load them)."""
    mtl = (folder / library).resolve()
    if not mtl.is_relative_to(folder) or not mtl.is_file():
        return  # trimesh does not read it either
    if mtl.stat().st_size > MAX_MESH_FILE_BYTES:
        raise _over(
            name,
            f"{library} has",
            mtl.stat().st_size,
            MAX_MESH_FILE_BYTES,
            FILE_SIZE,
            "trim the material library",
            "bytes",
        )
    seen = set()
    for raw in mtl.read_bytes().splitlines():
        words = raw.strip().split()
        if not words or not words[0].lower().startswith((b"map_", b"bump", b"norm", b"disp")):
            continue
        image_name = words[-1].decode("utf-8", "replace")
        image = (folder / image_name).resolve()
        if image in seen or not image.is_relative_to(folder) or not image.is_file():
            continue
        seen.add(image)
        with open(image, "rb") as handle:
            images.measure(handle, f"the texture {image_name}")


# --- PLY ----------------------------------------------------------------------------------
_PLY_TYPES = {
    "char": 1,
    "uchar": 1,
    "int8": 1,
    "uint8": 1,
    "short": 2,
    "ushort": 2,
    "int16": 2,
    "uint16": 2,
    "int": 4,
    "uint": 4,
    "int32": 4,
    "uint32": 4,
    "float": 4,
    "float32": 4,
    "double": 8,
    "float64": 8,
}


def _check_ply(path: Path, size: int, name: str) -> MeshCost:
    """A PLY's header: element counts within the budgets and within what the file holds."""
    with open(path, "rb") as handle:
        head = handle.read(65536)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        raise MeshFileError(f"{name}: not a PLY file (no 'ply' header ending in end_header)")
    body = size - (head.find(b"\n", end) + 1)
    binary = False
    elements: list[list] = []  # [name, count, min bytes per element]
    for raw in head[:end].decode("ascii", "replace").splitlines():
        words = raw.split()
        if not words:
            continue
        if words[0] == "format":
            binary = len(words) > 1 and words[1].startswith("binary")
        elif words[0] == "element" and len(words) == 3:
            if not words[2].isdigit():
                raise MeshFileError(f"{name}: element {words[1]!r} has count {words[2]!r}")
            elements.append([words[1], int(words[2]), 0])
        elif words[0] == "property" and elements:
            if words[1] == "list" and len(words) == 5:
                count_bytes = _PLY_TYPES.get(words[2], 1)
                elements[-1][2] += count_bytes if binary else 2
            else:
                elements[-1][2] += _PLY_TYPES.get(words[1], 1) if binary else 2
    counts = {element: count for element, count, _ in elements}
    vertices, faces = counts.get("vertex", 0), counts.get("face", 0)
    for element, count, _ in elements:
        if element not in ("vertex", "face") and count > MAX_MESH_VERTICES:
            raise _over(
                name,
                f"its element {element!r} has",
                count,
                MAX_MESH_VERTICES,
                VERTICES,
                "export the mesh with vertices and faces only",
                "records",
            )
    check_counts(vertices, faces, 1, name)
    needed = sum(count * max(per, 1) for _, count, per in elements)
    if needed > body:
        raise MeshFileError(
            f"{name}: its header announces {_count(vertices)} vertices and {_count(faces)} faces, "
            f"which need at least {_count(needed)} bytes, but the file holds {_count(body)} "
            "after its header: it is truncated or damaged; export it again"
        )
    return MeshCost(vertices=vertices, triangles=faces, parts=1)


# --- geometry, after the read --------------------------------------------------------------
def check_indices(triangles: np.ndarray, vertex_count: int, name: str, where: str) -> None:
    """Refuse triangles that name vertices the part does not have (before any indexing)."""
    if triangles.size == 0:
        return
    low, high = int(triangles.min()), int(triangles.max())
    if low < 0 or high >= vertex_count:
        bad = high if high >= vertex_count else low
        raise MeshFileError(
            f"{name}: {where} has a triangle naming vertex {bad:,}, but it has "
            f"{vertex_count:,} vertices (numbered from 0): the file is damaged; export it again"
        )


def grid_keys(points: np.ndarray, cell: float, origin: np.ndarray | None = None) -> np.ndarray:
    """(N,) int64 keys of the grid cells ``points`` fall in, equal exactly when the cells
    are (cells of ``cell`` metres from ``origin``); (N, 3) int64 cells when they do not fit
    one integer."""
    origin = points.min(0) if origin is None else origin
    cells = np.floor((points - origin) / cell).astype(np.int64)
    span = cells.max(0) + 1 if len(cells) else np.ones(3, np.int64)
    if float(np.prod(span.astype(np.float64))) < 2.0**62:
        return (cells[:, 0] * span[1] + cells[:, 1]) * span[2] + cells[:, 2]
    return cells


def largest_pile(points: np.ndarray, cell: float) -> tuple[int, np.ndarray]:
    """How many of ``points`` share one grid cell at most, and where (n log n)."""
    if len(points) == 0:
        return 0, np.zeros(3)
    keys = grid_keys(points, cell)
    _, first, counts = np.unique(
        keys, axis=0 if keys.ndim == 2 else None, return_index=True, return_counts=True
    )
    biggest = int(np.argmax(counts))
    return int(counts[biggest]), points[first[biggest]]


def check_geometry(vertices: np.ndarray, triangles: np.ndarray, name: str) -> None:
    """Refuse non-finite positions, a mesh with no extent and piles of points at one spot,
    before any neighbour search sees them.

    Many vertices (or triangle centres) at one spot make every spatial index degenerate
    (all of them in one leaf: each query visits them all). Counted on a grid of
    ``WELD_RATIO`` × the bounding-box diagonal, in n log n.
    """
    if len(vertices) == 0 or len(triangles) == 0:
        raise MeshFileError(f"{name}: no triangles in the file")
    with np.errstate(invalid="ignore", over="ignore"):
        diagonal = float(np.linalg.norm(vertices.max(0) - vertices.min(0)))
    if not math.isfinite(diagonal):
        raise MeshFileError(
            f"{name}: some vertex positions are not finite numbers (NaN or "
            "infinity): the file is damaged; export it again"
        )
    if diagonal <= 0.0:
        raise MeshFileError(f"{name}: all its vertices sit at one point: there is no surface")
    cell = WELD_RATIO * diagonal
    for what, points in (("vertices", vertices), ("triangle centres", vertices[triangles].mean(1))):
        count, where = largest_pile(points, cell)
        if count > MAX_POINTS_AT_ONE_SPOT:
            spot = ", ".join(f"{v:.4g}" for v in where)
            raise MeshFileError(
                f"{name}: {count:,} {what} sit at one spot ({spot}) — over the limit of "
                f"{MAX_POINTS_AT_ONE_SPOT:,} ({POINTS_AT_ONE_SPOT}); the file stacks copies "
                "of one piece: merge by distance (Blender: Mesh › Clean Up) or delete them",
                POINTS_AT_ONE_SPOT,
            )


def overdraw(vertices: np.ndarray, triangles: np.ndarray) -> float:
    """Σ (longest edge / bounding-box diagonal)² over the triangles: about how many times
    their screen extents cover a picture of the whole mesh — what a rasterizer that tests
    each triangle's bounding box pays per pixel (a head ~5-10, with hair cards ~30-35)."""
    if len(triangles) == 0:
        return 0.0
    diagonal = float(np.linalg.norm(vertices.max(0) - vertices.min(0)))
    corners = vertices[triangles]
    edges = corners - np.roll(corners, 1, axis=1)
    longest = np.sqrt((edges**2).sum(-1).max(1))
    return float(((longest / max(diagonal, 1e-300)) ** 2).sum())


def check_overdraw(vertices: np.ndarray, triangles: np.ndarray, name: str) -> None:
    """Refuse a scene of slivers: triangles whose extents cover every picture of the mesh
    hundreds of times (each render of the face search would take minutes)."""
    value = overdraw(vertices, triangles)
    if value > MAX_OVERDRAW:
        raise MeshFileError(
            f"{name}: its triangles' extents cover a picture of the mesh {value:,.0f} times "
            f"— over the limit of {MAX_OVERDRAW:,} ({OVERDRAW}); it is made of long slivers "
            "crossing each other, not a surface: remesh it",
            OVERDRAW,
        )


def check_kept(kept: int, total: int, name: str) -> None:
    """Refuse a mesh most of whose triangles vanish when welded (degenerate or repeated)."""
    if total and kept < MIN_KEPT_TRIANGLE_SHARE * total:
        raise MeshFileError(
            f"{name}: {total - kept:,} of its {total:,} triangles are degenerate or repeat "
            f"another once coincident vertices are merged — only {kept:,} are left, under the "
            f"{MIN_KEPT_TRIANGLE_SHARE:.0%} limit ({KEPT_TRIANGLES}); clean the mesh up "
            "(Blender: Mesh › Clean Up › Delete Loose, Degenerate Dissolve)",
            KEPT_TRIANGLES,
        )


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text[:200] or type(error).__name__
