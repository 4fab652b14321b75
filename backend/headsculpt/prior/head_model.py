"""The Anny head as this project uses it: shape from parameters, rig, face units, parts.

Anny (pip ``anny``; Apache-2.0 code, CC0 MakeHuman assets) builds its model data
once per machine (~40–60 s, cached under ``~/.cache/anny``); loading it after
that takes about a second, and :func:`load_head_model` keeps one instance per
process. Everything here is in the prior's frame: metres, Z up, the face looking
toward −Y.

The mesh handed to the rest of the project is *split at UV seams* (one vertex
per distinct position/UV pair), the form that glTF and the rasterizer need; its
UVs are the MakeHuman ones repacked so that the head fills its own texture.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import torch

PART_NAMES: tuple[str, ...] = ("head", "eyes", "tongue")
INFLUENCES_PER_VERTEX = 4  # glTF JOINTS_0/WEIGHTS_0; what game engines expect
EYE_TEXEL_DENSITY = 3.0  # eyes get this many times the skin's texel density (irises are small)
_UV_PADDING_TEXELS = 4
_UV_PACK_RESOLUTION = 1024


@dataclass
class HeadParameters:
    """The prior's own inputs, in Anny's units.

    ``phenotypes``: Anny phenotype labels (gender 0 = male … 1 = female, age,
    muscle, weight, african/asian/caucasian …) in [0, 1]; ``local_changes``: Anny
    local change labels in [-1, 1]; ``expression``: facial action (ARKit) labels in
    [0, 1], baked into the rest shape.
    """

    phenotypes: dict[str, float] = field(default_factory=dict)
    local_changes: dict[str, float] = field(default_factory=dict)
    expression: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class HeadTopology:
    """Connectivity shared by every head: fixed once the model is loaded."""

    triangles: np.ndarray  # (F, 3) int32, into the split vertices
    source_vertex: np.ndarray  # (S,) int64: split vertex → Anny vertex
    uv: np.ndarray  # (S, 2) float32 repacked glTF UVs (v = 0 at the top)
    source_uv: np.ndarray  # (S, 2) float32 MakeHuman UVs (for assets painted in that layout)
    triangle_part: np.ndarray  # (F,) int8 index into PART_NAMES
    cap_vertices: np.ndarray  # (C,) split vertices of the cap closing the neck

    @property
    def vertex_count(self) -> int:
        return len(self.source_vertex)

    def part_triangles(self, part: str) -> np.ndarray:
        return self.triangles[self.triangle_part == PART_NAMES.index(part)]


@dataclass
class HeadMesh:
    """One evaluated head: geometry, rig and face units, on the split vertices."""

    vertices: np.ndarray  # (S, 3) float32, rest shape
    normals: np.ndarray  # (S, 3) float32, smooth across UV seams
    face_unit_deltas: np.ndarray  # (52, S, 3) float32 per-unit offsets (morph targets)
    bone_rest_matrices: np.ndarray  # (B, 4, 4) float64 bone → prior frame at rest
    joint_indices: np.ndarray  # (S, 4) uint16
    joint_weights: np.ndarray  # (S, 4) float32, rows sum to 1


class HeadModel:
    """Shape, rig and face units of the Anny head; evaluate with :meth:`__call__`."""

    def __init__(self, anny_model: torch.nn.Module) -> None:
        self._anny = anny_model.eval()
        self.bone_names: list[str] = list(anny_model.bone_labels)
        self.bone_parents: list[int] = [int(p) for p in anny_model.bone_parents]
        self.face_unit_names: list[str] = list(anny_model.facial_action_labels)
        self.phenotype_names: list[str] = list(anny_model.phenotype_labels)
        self.local_change_names: list[str] = _head_local_changes(anny_model)
        self.topology = _build_topology(anny_model, self.bone_names)
        self._joint_indices, self._joint_weights = _top_influences(anny_model, self.topology)

    @classmethod
    def from_anny(cls) -> HeadModel:
        """Build (first time on a machine: ~1 min) or load the cached Anny head."""
        _quiet_warp()
        import anny

        model = anny.Anny(
            rig="makehuman-head",
            topology="head",
            local_changes="all",
            facial_actions="all",
            phenotypes="all",
        )
        return cls(model)

    def __call__(self, parameters: HeadParameters) -> HeadMesh:
        """Evaluate the head for ``parameters`` (about 70 ms on 2 CPU cores)."""
        self._check_names(parameters)
        units = len(self.face_unit_names)
        # Row 0 is the head itself; row k+1 has face unit k added at full strength.
        actions = {
            name: torch.full((units + 1,), float(parameters.expression.get(name, 0.0)))
            for name in self.face_unit_names
        }
        for k, name in enumerate(self.face_unit_names):
            actions[name][k + 1] += 1.0
        with torch.no_grad():
            output = self._anny(
                phenotype_kwargs=dict(parameters.phenotypes),
                local_changes_kwargs=dict(parameters.local_changes),
                facial_actions=actions,
            )
        # Anny's rest frame is the full body's; move the neck's base to the origin.
        origin = output["rest_bone_heads"][0, 0].numpy()
        rest = output["rest_vertices"].numpy() - origin  # (units + 1, V, 3)
        bones = output["rest_bone_poses"][0].numpy().astype(np.float64)
        bones[:, :3, 3] -= origin
        source = self.topology.source_vertex
        vertices = rest[0]
        normals = vertex_normals(vertices, self._anny_triangles())[source]
        cap = self.topology.cap_vertices
        normals[cap] = vertex_normals(vertices[source], self.topology.triangles)[cap]  # down
        return HeadMesh(
            vertices=vertices[source].astype(np.float32),
            normals=normals.astype(np.float32),
            face_unit_deltas=(rest[1:, source] - vertices[source]).astype(np.float32),
            bone_rest_matrices=bones,
            joint_indices=self._joint_indices,
            joint_weights=self._joint_weights,
        )

    def rest_shape(self, phenotypes: torch.Tensor, local_changes: torch.Tensor) -> torch.Tensor:
        """Differentiable rest vertices (Anny's own, not split; V, 3) for fitting a head.

        ``phenotypes``: (len(phenotype_names),) in [0, 1]; ``local_changes``:
        (len(local_change_names),) in [-1, 1]. Same frame as :meth:`__call__` (the neck's
        base at the origin); gradients flow to both. Split vertices are
        ``shape[topology.source_vertex]``.
        """
        labels = list(self._anny.local_change_labels)
        if not hasattr(self, "_local_change_columns"):
            self._local_change_columns = torch.tensor(
                [labels.index(name) for name in self.local_change_names]
            )
        full = torch.zeros(len(labels), dtype=torch.float32)
        full = full.index_put((self._local_change_columns,), local_changes.float())
        output = self._anny(
            phenotype_kwargs=phenotypes.float()[None], local_changes_kwargs=full[None]
        )
        return output["rest_vertices"][0] - output["rest_bone_heads"][0, 0]

    @property
    def triangles(self) -> np.ndarray:
        """Anny's own triangles (one vertex per position, no UV seams)."""
        return self._anny_triangles()

    def bone_index(self, name: str) -> int:
        return self.bone_names.index(name)

    def _anny_triangles(self) -> np.ndarray:
        return self._anny.faces.numpy()

    def _check_names(self, parameters: HeadParameters) -> None:
        for kind, given, known in (
            ("phenotype", parameters.phenotypes, self.phenotype_names),
            ("local change", parameters.local_changes, self.local_change_names),
            ("face unit", parameters.expression, self.face_unit_names),
        ):
            unknown = sorted(set(given) - set(known))
            if unknown:
                raise ValueError(f"unknown {kind} name(s) {unknown}")


@functools.cache
def load_head_model() -> HeadModel:
    """The process-wide head model (the Anny build is slow; share it)."""
    return HeadModel.from_anny()


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals, unit length."""
    corners = vertices[triangles]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, 1e-12)


def _head_local_changes(anny_model: torch.nn.Module) -> list[str]:
    """Local changes that move the head mesh at all (Anny also lists arm, leg … changes)."""
    labels = list(anny_model.blendshape_labels)
    names = []
    for name in anny_model.local_change_labels:
        stem = f"local_change:{name.rsplit('-', 1)[0]}-"  # the label and its opposite
        rows = [i for i, label in enumerate(labels) if label.startswith(stem)]
        if rows and float(anny_model.blendshapes[rows].abs().max()) > 1e-6:
            names.append(name)
    return names


def _build_topology(anny_model: torch.nn.Module, bone_names: list[str]) -> HeadTopology:
    faces = anny_model.faces.numpy().astype(np.int64)
    face_uv = anny_model.face_texture_coordinate_indices.numpy().astype(np.int64)
    uv_table = anny_model.texture_coordinates.numpy()
    part_of_vertex = _vertex_parts(anny_model, faces, bone_names)
    triangle_part = part_of_vertex[faces[:, 0]].astype(np.int8)

    # One vertex per distinct (position, uv) pair, as glTF needs.
    pairs, inverse = np.unique(
        np.stack([faces.ravel(), face_uv.ravel()], axis=1), axis=0, return_inverse=True
    )
    triangles = inverse.reshape(-1, 3)
    source_vertex, source_uv = pairs[:, 0], uv_table[pairs[:, 1]].astype(np.float32)
    # MakeHuman stores OpenGL UVs (v = 0 at the bottom); glTF counts v from the top.
    gl_uv = source_uv.copy()
    gl_uv[:, 1] = 1.0 - gl_uv[:, 1]
    uv, vertex_map, packed_triangles = _repack_uvs(gl_uv, triangles, triangle_part)
    source_vertex, source_uv = source_vertex[vertex_map], gl_uv[vertex_map]

    # Close the neck: a cap of new split vertices on the opening's rim, all at one skin
    # texel (the cap is seen only from below), so the mouth cavity is not seen through it.
    head = PART_NAMES.index("head")
    rim = _neck_rim(anny_model.template_vertices.numpy(), faces[triangle_part == head])
    first = len(source_vertex)
    cap = _fan(rim, anny_model.template_vertices.numpy()) + first
    texel = np.flatnonzero(source_vertex == rim[0])[0]
    source_vertex = np.concatenate([source_vertex, rim])
    uv = np.concatenate([uv, np.repeat(uv[texel][None], len(rim), 0)])
    source_uv = np.concatenate([source_uv, np.repeat(source_uv[texel][None], len(rim), 0)])
    return HeadTopology(
        triangles=np.concatenate([packed_triangles, cap]).astype(np.int32),
        source_vertex=source_vertex,
        uv=uv.astype(np.float32),
        source_uv=source_uv.astype(np.float32),
        triangle_part=np.concatenate([triangle_part, np.full(len(cap), head, np.int8)]),
        cap_vertices=np.arange(first, len(source_vertex)),
    )


def _neck_rim(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The neck opening of the head's skin: the lowest of its boundary loops, in order."""
    edges = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]],
                                    triangles[:, [2, 0]]]), axis=1)  # fmt: skip
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    boundary = unique[counts == 1]
    neighbours: dict[int, list[int]] = {}
    for a, b in boundary:
        neighbours.setdefault(int(a), []).append(int(b))
        neighbours.setdefault(int(b), []).append(int(a))
    loops, seen = [], set()
    for start in neighbours:
        if start in seen:
            continue
        loop, previous, current = [start], None, start
        seen.add(start)
        while True:
            step = [n for n in neighbours[current] if n != previous and n not in seen]
            if not step:
                break
            previous, current = current, step[0]
            loop.append(current)
            seen.add(current)
        loops.append(np.array(loop))
    return min(loops, key=lambda loop: positions[loop, 2].mean())


def _fan(rim: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Triangles (indices into ``rim``) closing a roughly flat, convex loop, facing down."""
    count = len(rim)
    fan = np.stack([np.zeros(count - 2, np.int64), np.arange(1, count - 1),
                    np.arange(2, count)], axis=1)  # fmt: skip
    corners = positions[rim][fan]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]).sum(0)
    return fan if normal[2] < 0 else fan[:, ::-1]


def _vertex_parts(anny_model: torch.nn.Module, faces: np.ndarray, bone_names: list[str]):
    """Part index per Anny vertex: each connected piece goes to its dominant bone's part."""
    count = anny_model.template_vertices.shape[0]
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = scipy.sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), (count,) * 2)
    _, component = scipy.sparse.csgraph.connected_components(graph, directed=False)
    indices = anny_model.vertex_bone_indices.numpy()
    weights = anny_model.vertex_bone_weights.numpy()
    bone_part = np.array(
        [
            PART_NAMES.index("eyes")
            if name.startswith("eye.")
            else PART_NAMES.index("tongue")
            if name.startswith("tongue")
            else PART_NAMES.index("head")
            for name in bone_names
        ]
    )
    parts = np.zeros(count, dtype=np.int64)
    for c in np.unique(component):
        members = component == c
        votes = np.bincount(
            bone_part[indices[members]].ravel(),
            weights=weights[members].ravel(),
            minlength=len(PART_NAMES),
        )
        parts[members] = int(np.argmax(votes))
    return parts


def _repack_uvs(uv: np.ndarray, triangles: np.ndarray, triangle_part: np.ndarray):
    """Repack the head's UV islands (from the full-body atlas) to fill one square texture.

    Keeps the artist-made islands (xatlas packs the given charts, it does not
    re-unwrap); the eyes are scaled up first so irises get enough texels. The
    texel density grows until the charts no longer fit one atlas, and the last
    density that fitted is kept (about 70% of the square is used).
    Returns (uv, vertex map into the given vertices, triangles).
    """
    import xatlas

    scaled = uv.copy()
    eye_vertices = np.unique(triangles[triangle_part == PART_NAMES.index("eyes")])
    scaled[eye_vertices] *= EYE_TEXEL_DENSITY  # a uniform scale keeps the charts' shapes
    # xatlas needs some positions; the UVs define the charts, so flat ones suffice.
    positions = np.concatenate([scaled, np.zeros_like(scaled[:, :1])], axis=1).astype(np.float32)
    corners = scaled[triangles]
    edges = corners[:, 1:] - corners[:, :1]
    chart_area = (
        0.5 * np.abs(edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]).sum()
    )

    def pack(fill: float):
        atlas = xatlas.Atlas()
        atlas.add_mesh(positions, triangles.astype(np.uint32), None, scaled.astype(np.float32))
        chart_options = xatlas.ChartOptions()
        chart_options.use_input_mesh_uvs = True
        pack_options = xatlas.PackOptions()
        pack_options.resolution = _UV_PACK_RESOLUTION
        pack_options.padding = _UV_PADDING_TEXELS
        pack_options.texels_per_unit = float(np.sqrt(fill * _UV_PACK_RESOLUTION**2 / chart_area))
        atlas.generate(chart_options, pack_options)
        return atlas

    best, fill = pack(0.5), 0.5  # half the square always fits one atlas
    for _ in range(40):  # 1.08**40 ≈ 22: far past the point where charts overflow
        fill *= 1.08
        candidate = pack(fill)
        if candidate.atlas_count > 1:
            break
        best = candidate
    vertex_map, new_triangles, packed = best[0]
    return packed.astype(np.float32), vertex_map.astype(np.int64), new_triangles


def _top_influences(anny_model: torch.nn.Module, topology: HeadTopology):
    """The strongest four bone influences per split vertex, renormalised to sum to 1."""
    indices = anny_model.vertex_bone_indices.numpy()[topology.source_vertex]
    weights = anny_model.vertex_bone_weights.numpy()[topology.source_vertex]
    order = np.argsort(-weights, axis=1, kind="stable")[:, :INFLUENCES_PER_VERTEX]
    top_indices = np.take_along_axis(indices, order, axis=1)
    top_weights = np.take_along_axis(weights, order, axis=1)
    top_weights = top_weights / np.maximum(top_weights.sum(1, keepdims=True), 1e-12)
    top_indices = np.where(top_weights > 0, top_indices, 0)  # unused slots point at joint 0
    return top_indices.astype(np.uint16), top_weights.astype(np.float32)


def _quiet_warp() -> None:
    """Keep stdout the program's own: warp (anny's kernels) prints its banner and kernel
    builds there at INFO level (``headsculpt serve`` prints its address on stdout).

    Redirecting ``sys.stdout`` instead would be process-wide and race other threads.
    """
    import warp

    warp.config.log_level = max(warp.config.log_level, warp.LOG_WARNING)
