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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from headsculpt.export.glb import PRIOR_TO_GLTF, PartMaterial
from headsculpt.prior.head_model import vertex_normals

FORMATS = (".glb", ".gltf", ".obj", ".ply")


class MeshReadError(ValueError):
    """The file cannot be read as a triangle mesh."""


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


def read_mesh(path: str | Path) -> InputMesh:
    """Read ``path``; raises MeshReadError saying why when it cannot be used."""
    import trimesh

    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise MeshReadError(f"{path}: unsupported format; use one of {', '.join(FORMATS)}")
    if not path.exists():
        raise MeshReadError(f"{path}: no such file")
    try:
        scene = trimesh.load(str(path), force="scene", process=False, maintain_order=True)
    except Exception as error:  # trimesh raises many kinds on bad bytes
        raise MeshReadError(f"{path}: cannot be read as a mesh ({error})") from None
    parts = []
    for node in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[node]
        geometry = scene.geometry[geometry_name]
        if not isinstance(geometry, trimesh.Trimesh) or len(geometry.faces) == 0:
            continue
        parts.append(_part(str(node), geometry, np.asarray(transform, dtype=np.float64)))
    if not parts:
        raise MeshReadError(f"{path}: no triangle mesh in the file")
    names = [p.name for p in parts]
    for index, part in enumerate(parts):  # glTF node names must be unique enough to select
        if names.count(part.name) > 1:
            part.name = f"{part.name}.{index:03d}"
    return InputMesh(parts)


def _part(name: str, geometry, transform: np.ndarray) -> InputPart:
    vertices = np.asarray(geometry.vertices, dtype=np.float64)
    vertices = vertices @ transform[:3, :3].T + transform[:3, 3]
    triangles = np.asarray(geometry.faces, dtype=np.int64)
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
    material = _material(getattr(visual, "material", None), name) if uv is not None else None
    # File axes (Y up, face +Z) → the prior's (Z up, face −Y); the writer undoes it exactly.
    vertices = vertices @ PRIOR_TO_GLTF
    if normals is not None:
        normals = normals @ PRIOR_TO_GLTF
    if np.linalg.det(transform[:3, :3]) < 0:  # a mirroring node flips the winding
        triangles = triangles[:, ::-1].copy()
    return InputPart(name, vertices, triangles, normals, uv, material)


def _material(material, part_name: str) -> PartMaterial | None:
    """The part's PBR material with its images (emission and occlusion are not kept)."""
    if material is None:
        return None
    if not hasattr(material, "baseColorTexture"):  # an OBJ's SimpleMaterial
        material = material.to_pbr()

    def image(value, mode: str) -> np.ndarray | None:
        if value is None:
            return None
        return np.asarray(value.convert(mode))

    factor = material.baseColorFactor
    factor = (1.0, 1.0, 1.0, 1.0) if factor is None else tuple(np.asarray(factor) / 255.0)
    base = image(material.baseColorTexture, "RGBA")
    if base is not None and (base[..., 3] == 255).all():
        base = base[..., :3]
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
    normals = (
        part.normals
        if part.normals is not None
        else (vertex_normals(part.vertices, part.triangles))
    )
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    # glTF wants unit normals; a vertex no triangle uses gets an arbitrary one.
    return np.where(length > 1e-12, normals / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])
