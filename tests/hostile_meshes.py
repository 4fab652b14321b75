"""A corpus of hostile mesh files, generated in code: small files that describe a lot of work
or lie about themselves, one per way in (GLB, glTF, OBJ, PLY).

Each :class:`HostileCase` writes its file into a folder and says what a reader must answer:
the budget it exceeds (``limit``, as :mod:`headsculpt.export.mesh_budget` names it) or the
damage it has (``says``: words the message must contain). Used by tests/test_hostile_meshes.py
(through the readers, ``headsculpt rig`` and the server) and benchmarks/hostile.py (time and
peak memory of each).
"""

from __future__ import annotations

import base64
import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from headsculpt.export import mesh_budget as budget

_FLOAT, _UINT32 = 5126, 5125


@dataclass(frozen=True)
class HostileCase:
    """One hostile file: ``make(folder) -> path``; a refusal naming ``limit`` (a budget) or
    containing ``says`` (damage), never a traceback."""

    name: str
    make: Callable[[Path], Path]
    limit: str | None = None
    says: str = ""
    what: str = ""

    @property
    def expected(self) -> str:
        """Words the refusal must contain."""
        return self.limit or self.says


def glb_bytes(document: dict, blob: bytes) -> bytes:
    """A GLB container around a glTF JSON document and its binary chunk."""
    if blob:
        document = {**document, "buffers": [{"byteLength": len(blob)}]}
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    blob = blob + b"\0" * (-len(blob) % 4)
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text
    if blob:
        chunks += struct.pack("<II", len(blob), 0x004E4942) + blob
    return b"glTF" + struct.pack("<II", 2, 12 + len(chunks)) + chunks


def triangle_document(
    vertices: np.ndarray,
    triangles: np.ndarray,
    nodes: list[dict] | None = None,
    extra_blob: bytes = b"",
) -> tuple[dict, bytes]:
    """A glTF document of one mesh (positions + indices in one buffer) and its blob; the
    blob continues with ``extra_blob`` (e.g. images) after them."""
    positions = np.asarray(vertices, np.float32).tobytes()
    indices = np.asarray(triangles, np.uint32).tobytes()
    blob = positions + indices + extra_blob
    low = np.asarray(vertices, np.float32).min(0).tolist()
    high = np.asarray(vertices, np.float32).max(0).tolist()
    document = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0] if nodes is None else list(range(len(nodes)))}],
        "nodes": [{"mesh": 0}] if nodes is None else nodes,
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(positions)},
            {"buffer": 0, "byteOffset": len(positions), "byteLength": len(indices)},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": _FLOAT,
                "count": len(vertices),
                "type": "VEC3",
                "min": low,
                "max": high,
            },
            {
                "bufferView": 1,
                "componentType": _UINT32,
                "count": int(np.size(triangles)),
                "type": "SCALAR",
            },
        ],
    }
    return document, blob


def _tetrahedron() -> tuple[np.ndarray, np.ndarray]:
    vertices = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], np.float64)
    return vertices, np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _png(width: int, height: int, shade: int = 90) -> bytes:
    """A valid PNG of one grey (written row by row: a huge image costs no huge buffer)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    packer = zlib.compressobj(1)
    row = b"\0" + bytes([shade]) * (3 * width)  # filter 0, then RGB
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def _textured_glb(images: list[bytes], mime: str = "image/png") -> bytes:
    """A textured tetrahedron whose material uses the first of ``images`` (all embedded)."""
    vertices, triangles = _tetrahedron()
    uv = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32).tobytes()
    document, blob = triangle_document(vertices, triangles, extra_blob=uv)
    uv_start = len(blob) - len(uv)
    document["bufferViews"].append({"buffer": 0, "byteOffset": uv_start, "byteLength": len(uv)})
    document["accessors"].append(
        {"bufferView": 2, "componentType": _FLOAT, "count": 4, "type": "VEC2"}
    )
    document["meshes"][0]["primitives"][0]["attributes"]["TEXCOORD_0"] = 2
    document["meshes"][0]["primitives"][0]["material"] = 0
    document["images"] = []
    for data in images:
        blob += b"\0" * (-len(blob) % 4)
        document["bufferViews"].append(
            {"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)}
        )
        document["images"].append(
            {"bufferView": len(document["bufferViews"]) - 1, "mimeType": mime}
        )
        blob += data
    document["textures"] = [{"source": i} for i in range(len(images))]
    document["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
    return glb_bytes(document, blob)


# --- the cases ---------------------------------------------------------------------------
def coincident_obj(folder: Path) -> Path:
    """A tetrahedron and 8,000 vertices at the origin knit into triangles (151 KB-like)."""
    lines = [
        "v 0 0 0",
        "v 0.1 0 0",
        "v 0 0.1 0",
        "v 0 0 0.1",
        "f 1 3 2",
        "f 1 2 4",
        "f 1 4 3",
        "f 2 3 4",
    ]
    lines += ["v 0 0 0"] * 8000
    lines += [f"f {5 + k} {6 + k} {7 + k}" for k in range(0, 7998, 3)]
    return _write(folder / "coincident.obj", "\n".join(lines) + "\n")


def instanced_nodes_glb(folder: Path) -> Path:
    """One triangle placed by 100,000 nodes (~2 MB)."""
    vertices = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]])
    nodes = [{"mesh": 0} for _ in range(100_000)]
    document, blob = triangle_document(vertices, [[0, 1, 2]], nodes)
    return _write(folder / "instanced.glb", glb_bytes(document, blob))


def instanced_vertices_glb(folder: Path) -> Path:
    """A 100-vertex mesh placed 4,000 times, each node moved: 400,000 vertices as placed."""
    rng = np.random.default_rng(0)
    vertices = rng.normal(size=(100, 3)) * 0.01
    triangles = np.arange(99).reshape(-1, 3)
    nodes = [{"mesh": 0, "translation": [float(k % 64), float(k // 64), 0.0]} for k in range(4000)]
    document, blob = triangle_document(vertices, triangles, nodes)
    return _write(folder / "instanced_vertices.glb", glb_bytes(document, blob))


def stacked_copies_glb(folder: Path) -> Path:
    """A tetrahedron placed 900 times at one spot: within every budget counted before the
    read, but once welded 3,596 of its 3,600 triangles repeat another."""
    vertices, triangles = _tetrahedron()
    nodes = [{"mesh": 0} for _ in range(900)]
    document, blob = triangle_document(vertices, triangles, nodes)
    return _write(folder / "stacked.glb", glb_bytes(document, blob))


def many_parts_glb(folder: Path) -> Path:
    """1,500 one-triangle meshes side by side: more parts than a result may have."""
    count = 1500
    vertices = np.array([[0, 0, 0], [0.01, 0, 0], [0, 0.01, 0]])
    nodes = [{"mesh": 0, "translation": [0.02 * k, 0.0, 0.0]} for k in range(count)]
    document, blob = triangle_document(vertices, [[0, 1, 2]], nodes)
    return _write(folder / "parts.glb", glb_bytes(document, blob))


def huge_png_glb(folder: Path) -> Path:
    """A 16000 × 5500 PNG (one colour) in a file of a few hundred KB."""
    return _write(folder / "huge_png.glb", _textured_glb([_png(16000, 5500)]))


def many_textures_glb(folder: Path) -> Path:
    """Five 4096² PNGs: each allowed, together over the decoded-pixel budget."""
    images = [_png(4096, 4096, 40 * k) for k in range(5)]
    return _write(folder / "many_textures.glb", _textured_glb(images))


def jpeg_header_glb(folder: Path) -> Path:
    """A JPEG whose frame header claims 60000 × 60000 pixels, in a tiny file."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 150, 120)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.find(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", 60000, 60000)
    return _write(folder / "jpeg_header.glb", _textured_glb([bytes(data)], "image/jpeg"))


def out_of_range_glb(folder: Path) -> Path:
    vertices, triangles = _tetrahedron()
    triangles = triangles.copy()
    triangles[2, 1] = 70_000
    document, blob = triangle_document(vertices, triangles)
    return _write(folder / "bad_index.glb", glb_bytes(document, blob))


def out_of_range_gltf(folder: Path) -> Path:
    vertices, triangles = _tetrahedron()
    triangles = triangles.copy()
    triangles[0, 0] = 4_000_000
    document, blob = triangle_document(vertices, triangles)
    uri = "data:application/octet-stream;base64," + base64.b64encode(blob).decode()
    document["buffers"] = [{"byteLength": len(blob), "uri": uri}]
    return _write(folder / "bad_index.gltf", json.dumps(document))


def out_of_range_obj(folder: Path) -> Path:
    text = "v 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0 0 0.1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 900000\n"
    return _write(folder / "bad_index.obj", text)


def out_of_range_ply(folder: Path) -> Path:
    header = (
        "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
        "property float z\nelement face 4\nproperty list uchar int vertex_indices\n"
        "end_header\n"
    )
    body = "0 0 0\n0.1 0 0\n0 0.1 0\n0 0 0.1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 99\n"
    return _write(folder / "bad_index.ply", header + body)


def out_of_range_binary_ply(folder: Path) -> Path:
    vertices, triangles = _tetrahedron()
    triangles = triangles.copy()
    triangles[3, 2] = -5
    header = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 4\n"
        b"property list uchar int vertex_indices\nend_header\n"
    )
    body = vertices.astype("<f4").tobytes()
    for triangle in triangles:
        body += struct.pack("<B3i", 3, *triangle)
    return _write(folder / "bad_index_binary.ply", header + body)


def view_past_buffer_glb(folder: Path) -> Path:
    """A bufferView that reads past the end of its buffer."""
    vertices, triangles = _tetrahedron()
    document, blob = triangle_document(vertices, triangles)
    document["bufferViews"][1]["byteLength"] += 4096
    return _write(folder / "view_past_buffer.glb", glb_bytes(document, blob))


def accessor_past_view_glb(folder: Path) -> Path:
    """An accessor that claims 50 million positions in a 48-byte buffer view."""
    vertices, triangles = _tetrahedron()
    document, blob = triangle_document(vertices, triangles)
    document["accessors"][0]["count"] = 50_000_000
    return _write(folder / "accessor_past_view.glb", glb_bytes(document, blob))


def accessor_without_data_glb(folder: Path) -> Path:
    """An accessor of a billion zero-filled elements (no buffer view behind it)."""
    vertices, triangles = _tetrahedron()
    document, blob = triangle_document(vertices, triangles)
    document["accessors"].append({"componentType": _FLOAT, "count": 1_000_000_000, "type": "VEC3"})
    return _write(folder / "accessor_without_data.glb", glb_bytes(document, blob))


def self_naming_gltf(folder: Path) -> Path:
    """A .gltf whose buffer is the .gltf file itself."""
    vertices, triangles = _tetrahedron()
    document, blob = triangle_document(vertices, triangles)
    document["buffers"] = [{"byteLength": len(blob), "uri": "self.gltf"}]
    return _write(folder / "self.gltf", json.dumps(document))


def outside_uri_gltf(folder: Path) -> Path:
    """A .gltf naming a file outside its folder."""
    vertices, triangles = _tetrahedron()
    document, blob = triangle_document(vertices, triangles)
    _write(folder / "outside.bin", blob)
    document["buffers"] = [{"byteLength": len(blob), "uri": "../outside.bin"}]
    return _write(folder / "inner" / "outside.gltf", json.dumps(document))


def looping_nodes_glb(folder: Path) -> Path:
    """Node 0's child is node 1, whose child is node 0."""
    vertices, triangles = _tetrahedron()
    nodes = [{"mesh": 0, "children": [1]}, {"mesh": 0, "children": [0]}]
    document, blob = triangle_document(vertices, triangles, nodes)
    document["scenes"] = [{"nodes": [0]}]
    return _write(folder / "loop.glb", glb_bytes(document, blob))


def shared_child_glb(folder: Path) -> Path:
    """A chain of 40 nodes each naming the next twice: 2⁴⁰ placements if walked as a tree."""
    vertices, triangles = _tetrahedron()
    nodes = [{"mesh": 0, "children": [k + 1, k + 1]} for k in range(40)] + [{"mesh": 0}]
    document, blob = triangle_document(vertices, triangles, nodes)
    document["scenes"] = [{"nodes": [0]}]
    return _write(folder / "shared_child.glb", glb_bytes(document, blob))


def draco_glb(folder: Path) -> Path:
    vertices, triangles = _tetrahedron()
    document, blob = triangle_document(vertices, triangles)
    document["extensionsRequired"] = ["KHR_draco_mesh_compression"]
    document["extensionsUsed"] = ["KHR_draco_mesh_compression"]
    return _write(folder / "draco.glb", glb_bytes(document, blob))


def truncated_glb(folder: Path) -> Path:
    vertices, triangles = _tetrahedron()
    data = glb_bytes(*triangle_document(vertices, triangles))
    return _write(folder / "truncated.glb", data[: len(data) - 40])


def json_values_gltf(folder: Path) -> Path:
    """A .gltf whose JSON holds two million numbers in its extras (~4 MB)."""
    vertices, triangles = _tetrahedron()
    document, blob = triangle_document(vertices, triangles)
    uri = "data:application/octet-stream;base64," + base64.b64encode(blob).decode()
    document["buffers"] = [{"byteLength": len(blob), "uri": uri}]
    text = json.dumps(document)[:-1] + ', "extras": [' + ",".join(["0"] * 2_000_000) + "]}"
    return _write(folder / "values.gltf", text)


def many_vertices_obj(folder: Path) -> Path:
    """300,000 vertex lines (~3 MB): over the vertex budget before any is parsed."""
    text = "".join(f"v {k % 997} {k % 991} {k}\n" for k in range(300_000)) + "f 1 2 3\n"
    return _write(folder / "many_vertices.obj", text)


def lying_ply(folder: Path) -> Path:
    """A binary PLY whose header announces 200,000 vertices; the file holds four."""
    vertices, triangles = _tetrahedron()
    header = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 200000\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 4\n"
        b"property list uchar int vertex_indices\nend_header\n"
    )
    body = vertices.astype("<f4").tobytes()
    for triangle in triangles:
        body += struct.pack("<B3i", 3, *triangle)
    return _write(folder / "lying.ply", header + body)


def huge_count_ply(folder: Path) -> Path:
    header = (
        "ply\nformat ascii 1.0\nelement vertex 4000000000\nproperty float x\n"
        "property float y\nproperty float z\nelement face 1\n"
        "property list uchar int vertex_indices\nend_header\n0 0 0\n"
    )
    return _write(folder / "huge_count.ply", header)


def centroid_pile_obj(folder: Path) -> Path:
    """2,000 distinct triangles whose centres all sit at the origin (p, Rp, R²p)."""
    rng = np.random.default_rng(2)
    turn = np.array([[-0.5, -np.sqrt(3) / 2, 0], [np.sqrt(3) / 2, -0.5, 0], [0, 0, 1]])
    points = rng.normal(size=(2000, 3)) * [0.1, 0.1, 0.0]
    corners = np.stack([points, points @ turn.T, points @ turn.T @ turn.T], axis=1)
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for c in corners for x, y, z in c]
    lines += [f"f {3 * k + 1} {3 * k + 2} {3 * k + 3}" for k in range(len(corners))]
    return _write(folder / "centroid_pile.obj", "\n".join(lines) + "\n")


def slivers_obj(folder: Path) -> Path:
    """2,000 long slivers crossing the whole box: a picture of it is covered ~thousands of
    times (every render of it would be slow), no surface."""
    rng = np.random.default_rng(3)
    start = rng.uniform(-1, 1, size=(2000, 3))
    end = -start
    side = start + rng.normal(size=(2000, 3)) * 1e-3
    lines = [
        f"v {x:.6f} {y:.6f} {z:.6f}"
        for trio in zip(start, end, side, strict=True)
        for x, y, z in trio
    ]
    lines += [f"f {3 * k + 1} {3 * k + 2} {3 * k + 3}" for k in range(2000)]
    return _write(folder / "slivers.obj", "\n".join(lines) + "\n")


def collapsing_ply(folder: Path) -> Path:
    """500 small triangles each with two corners a nanometre apart: nothing left once welded."""
    rng = np.random.default_rng(4)
    p = rng.uniform(-0.1, 0.1, size=(500, 3))
    corners = np.stack([p, p + 1e-9, p + rng.normal(size=(500, 3)) * 1e-3], axis=1)
    header = (
        "ply\nformat ascii 1.0\nelement vertex 1500\nproperty float x\nproperty float y\n"
        "property float z\nelement face 500\nproperty list uchar int vertex_indices\n"
        "end_header\n"
    )
    body = "".join(f"{x:.12f} {y:.12f} {z:.12f}\n" for x, y, z in corners.reshape(-1, 3))
    body += "".join(f"3 {3 * k} {3 * k + 1} {3 * k + 2}\n" for k in range(500))
    return _write(folder / "collapsing.ply", header + body)


def not_finite_obj(folder: Path) -> Path:
    text = "v 0 0 0\nv nan 0 0\nv 0 inf 0\nv 0 0 0.1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
    return _write(folder / "not_finite.obj", text)


def texture_beside_obj(folder: Path) -> Path:
    """An OBJ whose material library names a 9000 × 9000 PNG beside it (CLI input)."""
    _write(folder / "skin.png", _png(9000, 9000))
    _write(folder / "skin.mtl", "newmtl skin\nmap_Kd skin.png\n")
    text = (
        "mtllib skin.mtl\nv 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0 0 0.1\nvt 0 0\nvt 1 0\nvt 0 1\n"
        "vt 1 1\nusemtl skin\nf 1/1 3/3 2/2\nf 1/1 2/2 4/4\nf 1/1 4/4 3/3\nf 2/2 3/3 4/4\n"
    )
    return _write(folder / "textured.obj", text)


CASES: tuple[HostileCase, ...] = (
    HostileCase(
        "coincident-obj",
        coincident_obj,
        budget.POINTS_AT_ONE_SPOT,
        what="8,000 vertices at the origin",
    ),
    HostileCase(
        "instanced-nodes-glb", instanced_nodes_glb, budget.NODES, what="one triangle, 100,000 nodes"
    ),
    HostileCase(
        "instanced-vertices-glb",
        instanced_vertices_glb,
        budget.VERTICES,
        what="100 vertices placed 4,000 times",
    ),
    HostileCase(
        "stacked-copies-glb",
        stacked_copies_glb,
        budget.KEPT_TRIANGLES,
        what="a tetrahedron placed 900 times at one spot",
    ),
    HostileCase("many-parts-glb", many_parts_glb, budget.PARTS, what="1,500 one-triangle meshes"),
    HostileCase(
        "huge-png-glb", huge_png_glb, budget.TEXTURE_SIDE, what="a 16000×5500 PNG in a small file"
    ),
    HostileCase(
        "many-textures-glb", many_textures_glb, budget.TEXTURE_PIXELS, what="five 4096² PNGs"
    ),
    HostileCase(
        "jpeg-header-glb",
        jpeg_header_glb,
        budget.TEXTURE_SIDE,
        what="a JPEG header claiming 60000²",
    ),
    HostileCase(
        "bad-index-glb",
        out_of_range_glb,
        says="vertex 70,000",
        what="a triangle index past the vertices",
    ),
    HostileCase(
        "bad-index-gltf",
        out_of_range_gltf,
        says="vertex 4,000,000",
        what="likewise, in a .gltf with a data URI",
    ),
    HostileCase("bad-index-obj", out_of_range_obj, says="names a vertex", what="likewise, OBJ"),
    HostileCase("bad-index-ply", out_of_range_ply, says="vertex 99", what="likewise, ASCII PLY"),
    HostileCase(
        "bad-index-binary-ply",
        out_of_range_binary_ply,
        says="vertex -5",
        what="a negative index, binary PLY",
    ),
    HostileCase(
        "view-past-buffer-glb",
        view_past_buffer_glb,
        says="bufferView 1 reads bytes",
        what="a bufferView past its buffer's end",
    ),
    HostileCase(
        "accessor-past-view-glb",
        accessor_past_view_glb,
        says="accessor 0 reads",
        what="50 million positions in 48 bytes",
    ),
    HostileCase(
        "accessor-without-data-glb",
        accessor_without_data_glb,
        budget.ACCESSOR_DATA,
        what="a billion zero-filled elements",
    ),
    HostileCase(
        "self-naming-gltf",
        self_naming_gltf,
        says="names itself",
        what="a .gltf whose buffer is itself",
    ),
    HostileCase(
        "outside-uri-gltf",
        outside_uri_gltf,
        says="outside its own folder",
        what="a .gltf naming ../outside.bin",
    ),
    HostileCase(
        "looping-nodes-glb", looping_nodes_glb, says="loops", what="a node hierarchy with a loop"
    ),
    HostileCase(
        "shared-child-glb",
        shared_child_glb,
        says="more than one parent",
        what="a node chain naming each child twice (2⁴⁰ paths)",
    ),
    HostileCase("draco-glb", draco_glb, says="Draco", what="a compression it cannot decode"),
    HostileCase("truncated-glb", truncated_glb, says="truncated", what="40 bytes cut off"),
    HostileCase(
        "json-values-gltf",
        json_values_gltf,
        budget.JSON_VALUES,
        what="two million numbers in the JSON",
    ),
    HostileCase(
        "many-vertices-obj", many_vertices_obj, budget.VERTICES, what="300,000 vertex lines"
    ),
    HostileCase(
        "lying-ply",
        lying_ply,
        says="truncated",
        what="a header announcing 200,000 vertices, 4 in the file",
    ),
    HostileCase(
        "huge-count-ply",
        huge_count_ply,
        budget.VERTICES,
        what="a header announcing 4 billion vertices",
    ),
    HostileCase(
        "centroid-pile-obj",
        centroid_pile_obj,
        budget.POINTS_AT_ONE_SPOT,
        what="2,000 triangles centred on one point",
    ),
    HostileCase("slivers-obj", slivers_obj, budget.OVERDRAW, what="2,000 slivers crossing the box"),
    HostileCase(
        "collapsing-ply",
        collapsing_ply,
        budget.KEPT_TRIANGLES,
        what="500 triangles that weld to nothing",
    ),
    HostileCase(
        "not-finite-obj", not_finite_obj, says="not finite", what="NaN and infinite positions"
    ),
)

# Cases whose files name other files beside them: only a path on disk can carry them
# (an upload is one file), so the server sees them differently.
BESIDE_CASES: tuple[HostileCase, ...] = (
    HostileCase(
        "texture-beside-obj",
        texture_beside_obj,
        budget.TEXTURE_SIDE,
        what="an OBJ whose .mtl names a 9000² PNG",
    ),
)
