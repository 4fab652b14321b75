"""Read an artist's head mesh (.glb, .gltf, .obj, .ply) into parts to rig, as they are.

Rigging must keep the artist's geometry, UVs and materials; so each triangle mesh
of the file (each glTF primitive, each OBJ material group) becomes one
:class:`InputPart` with its own vertices, triangles, normals, UVs and material,
vertices in the file's order (a format that stores a UV per corner, OBJ, is split at
UV seams on reading — the only change allowed). Node transforms are applied.

Coordinates: glTF is Y-up with the face toward +Z by specification, and Blender's
OBJ/PLY export writes the same by default; parts come out in the prior's convention
(Z up, face toward −Y) through the same fixed axis change the GLB writer undoes, so
the written file has the input's coordinates exactly. A file in another convention
is fine: the face finder finds its orientation. trimesh (a dependency of anny) reads
the formats.

Budgets: the file is measured first (:mod:`headsculpt.export.mesh_budget`: vertices and
triangles after instancing, nodes, image sizes from their headers, buffers and accessors
in range), and every triangle's indices are checked before they index anything; what a
file would cost beyond the budgets of :mod:`headsculpt.limits` is refused with a
:class:`MeshReadError` naming the budget. Messages name the file as the user knows it
(``name``), never a temporary copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from headsculpt.export.glb import PRIOR_TO_GLTF, PartMaterial
from headsculpt.export.mesh_budget import (
    WELD_RATIO,
    ImageBudget,
    MeshFileError,
    check_counts,
    check_geometry,
    check_indices,
    check_kept,
    check_mesh_file,
    check_overdraw,
)
from headsculpt.export.mesh_laplacian import weld_vertices
from headsculpt.progress import ProgressCallback, no_progress

FORMATS = (".glb", ".gltf", ".obj", ".ply")


class MeshReadError(MeshFileError):
    """The file cannot be read as a triangle mesh (``limit``: the budget it exceeds)."""


@dataclass
class InputPart:
    """One triangle mesh of the input, in the prior's axis convention (file units)."""

    name: str
    vertices: np.ndarray  # (V, 3) float64
    triangles: np.ndarray  # (F, 3) int64
    normals: np.ndarray | None = None  # (V, 3); None: computed when written
    uv: np.ndarray | None = None  # (V, 2) glTF UVs (v = 0 at the top)
    material: PartMaterial | None = None


@dataclass
class InputMesh:
    """What a rig job starts from: one or more parts."""

    parts: list[InputPart]
    source: str = "the mesh"  # how messages name it: the user's file name

    @property
    def vertex_count(self) -> int:
        return sum(len(p.vertices) for p in self.parts)

    @property
    def triangle_count(self) -> int:
        return sum(len(p.triangles) for p in self.parts)

    @classmethod
    def single(cls, vertices: np.ndarray, triangles: np.ndarray, name: str = "Head") -> InputMesh:
        """A bare mesh (no UVs, no material), e.g. built in code."""
        return cls([InputPart(name, np.asarray(vertices, np.float64),
                              np.asarray(triangles, np.int64))])  # fmt: skip


def read_mesh(
    path: str | Path, name: str | None = None, progress: ProgressCallback = no_progress
) -> InputMesh:
    """Read ``path``; raises MeshReadError saying why when it cannot be used.

    ``name`` is what messages call the file (the user's own name for it: the path given
    on the command line, an upload's file name); default: ``path``.
    """
    import trimesh

    path = Path(path)
    name = name or str(path)
    if path.suffix.lower() not in FORMATS:
        raise MeshReadError(f"{name}: unsupported format; use one of {', '.join(FORMATS)}")
    try:
        check_mesh_file(path, name)
    except MeshFileError as error:
        raise MeshReadError(str(error), error.limit) from None
    progress("read", 0.1)
    try:
        scene = trimesh.load(str(path), force="scene", process=False, maintain_order=True)
    except MemoryError:
        raise MeshReadError(
            f"{name}: reading it needs more memory than this machine has; "
            "decimate the mesh or shrink its textures"
        ) from None
    except IndexError as error:  # an OBJ face naming a vertex the file does not have
        raise MeshReadError(
            f"{name}: a face names a vertex the file does not have ({_reason(error)}): the "
            "file is damaged; export it again"
        ) from None
    except Exception as error:  # trimesh raises many kinds on bad bytes
        raise MeshReadError(f"{name}: cannot be read as a mesh ({_reason(error)})") from None
    progress("read", 0.6)
    parts = []
    images = _Images(name)
    nodes = scene.graph.nodes_geometry
    for number, node in enumerate(nodes):
        transform, geometry_name = scene.graph[node]
        geometry = scene.geometry[geometry_name]
        if not isinstance(geometry, trimesh.Trimesh) or len(geometry.faces) == 0:
            continue
        try:
            parts.append(
                _part(str(node), geometry, np.asarray(transform, dtype=np.float64), images, name)
            )
        except MeshFileError as error:
            raise MeshReadError(str(error), error.limit) from None
        if number % 64 == 0:
            progress("read", 0.6 + 0.4 * number / max(len(nodes), 1))
    if not parts:
        raise MeshReadError(f"{name}: no triangle mesh in the file")
    try:
        check_counts(
            sum(len(p.vertices) for p in parts),
            sum(len(p.triangles) for p in parts),
            len(parts),
            name,
        )
    except MeshFileError as error:
        raise MeshReadError(str(error), error.limit) from None
    names = [p.name for p in parts]
    for index, part in enumerate(parts):  # glTF node names must be unique enough to select
        if names.count(part.name) > 1:
            part.name = f"{part.name}.{index:03d}"
    progress("read", 1.0)
    return InputMesh(parts, source=name)


def _reason(error: BaseException) -> str:
    """An exception as a short reason; never empty."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text[:200] or type(error).__name__


class _Images:
    """Each of a file's images decoded once per mode, their pixels counted before."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.budget = ImageBudget(name)
        self.measured: set[int] = set()
        self.decoded: dict[tuple[int, str], np.ndarray] = {}

    def decode(self, image, mode: str) -> np.ndarray:
        key = (id(image), mode)
        if key not in self.decoded:
            if id(image) not in self.measured:
                self.measured.add(id(image))
                self.budget.add(*image.size, f"a {image.size[0]} × {image.size[1]} texture")
            try:
                self.decoded[key] = np.asarray(image.convert(mode))
            except (OSError, ValueError, SyntaxError) as error:  # truncated or broken data
                raise MeshFileError(
                    f"{self.name}: a texture cannot be decoded ({_reason(error)})"
                ) from None
        return self.decoded[key]


def _part(name: str, geometry, transform: np.ndarray, images: _Images, file: str) -> InputPart:
    vertices = np.asarray(geometry.vertices, dtype=np.float64)
    triangles = np.asarray(geometry.faces, dtype=np.int64)
    check_indices(triangles, len(vertices), file, f"its mesh {name!r}")
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf positions: refused later
        vertices = vertices @ transform[:3, :3].T + transform[:3, 3]
    normals = None
    if "vertex_normals" in geometry._cache.cache:  # the file's own normals, not computed
        normals = np.asarray(geometry.vertex_normals, dtype=np.float64)
    if normals is not None:
        normals = normals @ np.linalg.inv(transform[:3, :3])  # normals take the inverse transpose
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    visual = getattr(geometry, "visual", None)
    uv = getattr(visual, "uv", None)
    if uv is not None and len(uv) == len(vertices):
        uv = np.asarray(uv, dtype=np.float32).copy()
        uv[:, 1] = 1.0 - uv[:, 1]  # trimesh holds OpenGL UVs (v up); glTF counts v down
    else:
        uv = None
    material = (
        _material(getattr(visual, "material", None), name, images) if uv is not None else None
    )
    # File axes (Y up, face +Z) → the prior's (Z up, face −Y); the writer undoes it exactly.
    vertices = vertices @ PRIOR_TO_GLTF
    if normals is not None:
        normals = normals @ PRIOR_TO_GLTF
    if np.linalg.det(transform[:3, :3]) < 0:  # a mirroring node flips the winding
        triangles = triangles[:, ::-1].copy()
    return InputPart(name, vertices, triangles, normals, uv, material)


def _material(material, part_name: str, images: _Images) -> PartMaterial | None:
    """The part's PBR material with its images (emission and occlusion are not kept); an
    image several parts share is decoded once."""
    if material is None:
        return None
    if not hasattr(material, "baseColorTexture"):  # an OBJ's SimpleMaterial
        material = material.to_pbr()

    def image(value, mode: str) -> np.ndarray | None:
        if value is None:
            return None
        return images.decode(value, mode)

    factor = material.baseColorFactor
    factor = (1.0, 1.0, 1.0, 1.0) if factor is None else tuple(np.asarray(factor) / 255.0)
    base = image(material.baseColorTexture, "RGBA")
    if base is not None and (base[..., 3] == 255).all():
        base = images.decode(material.baseColorTexture, "RGB")
    return PartMaterial(
        name=material.name or part_name,
        base_color_factor=tuple(float(v) for v in factor),
        metallic_factor=1.0 if material.metallicFactor is None else float(material.metallicFactor),
        roughness_factor=1.0
        if material.roughnessFactor is None
        else float(material.roughnessFactor),
        base_color=base,
        metallic_roughness=image(material.metallicRoughnessTexture, "RGB"),
        normal=image(material.normalTexture, "RGB"),
        double_sided=bool(getattr(material, "doubleSided", False)),
        alpha_mode=getattr(material, "alphaMode", None),
    )


def part_normals(part: InputPart) -> np.ndarray:
    """The part's own normals, or area-weighted ones from its triangles."""
    from headsculpt.prior.head_model import vertex_normals  # torch: not for reading alone

    normals = (
        part.normals
        if part.normals is not None
        else (vertex_normals(part.vertices, part.triangles))
    )
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    # glTF wants unit normals; a vertex no triangle uses gets an arbitrary one.
    return np.where(length > 1e-12, normals / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])


@dataclass
class WeldedInput:
    """The input's parts as one mesh, and as the rig works on it: coincident vertices
    welded, degenerate and repeated triangles dropped."""

    vertices: np.ndarray  # (V, 3) every part's vertices, in order
    triangles: np.ndarray  # (F, 3) into ``vertices``
    offsets: np.ndarray  # (parts + 1,) where each part's vertices start
    welded: np.ndarray  # (W, 3)
    weld: np.ndarray  # (V,) vertex → welded vertex
    welded_triangles: np.ndarray  # (K, 3) into ``welded``, none degenerate or repeated
    size: float  # bounding-box diagonal (file units)


def weld_input(mesh: InputMesh) -> WeldedInput:
    """Check ``mesh`` against the mesh budgets and weld it (n log n whatever its shape).

    Raises :class:`~headsculpt.export.mesh_budget.MeshFileError` (a ValueError) naming the
    file (``mesh.source``) and the budget: triangles naming missing vertices, piles of
    points at one spot, slivers covering every picture of it, non-finite positions, or
    fewer than ``MIN_KEPT_TRIANGLE_SHARE`` of its triangles left once welded, and what is
    left covering every picture of it more than ``MAX_OVERDRAW`` times.
    """
    source = mesh.source
    if not mesh.parts or mesh.triangle_count == 0:
        raise MeshFileError(f"{source}: the mesh has no triangles")
    for part in mesh.parts:
        check_indices(np.asarray(part.triangles), len(part.vertices), source, f"part {part.name!r}")
    vertices = np.concatenate([np.asarray(p.vertices, np.float64) for p in mesh.parts])
    offsets = np.cumsum([0] + [len(p.vertices) for p in mesh.parts])
    triangles = np.concatenate(
        [np.asarray(p.triangles, np.int64) + o for p, o in zip(mesh.parts, offsets, strict=False)]
    )
    check_geometry(vertices, triangles, source)
    size = float(np.linalg.norm(vertices.max(0) - vertices.min(0)))
    welded, weld = weld_vertices(vertices, WELD_RATIO * size)
    kept = weld[triangles]
    kept = kept[
        (kept[:, 0] != kept[:, 1]) & (kept[:, 1] != kept[:, 2]) & (kept[:, 2] != kept[:, 0])
    ]
    if len(kept):  # a triangle over the same three vertices as an earlier one repeats it
        _, first = np.unique(np.sort(kept, axis=1), axis=0, return_index=True)
        kept = kept[np.sort(first)]
    check_kept(len(kept), len(triangles), source)
    check_overdraw(welded, kept, source)
    return WeldedInput(vertices, triangles, offsets, welded, weld, kept, size)
