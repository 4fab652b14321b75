"""Rig any head: an artist's mesh in, the same mesh out with a jaw/eye rig and 52 ARKit keys.

Reads top to bottom:

1. **Align** (eval/face_finder.py): find the face in any orientation and unit, solve
   the similarity to the prior's frame (skipped when the mesh is already in it, as a
   sculpt is).
2. **Fit** (prior/head_fit.py): Anny's phenotypes, local changes and a similarity to
   the landmarks and the surface.
3. **Register** (export/registration.py): deform the fitted prior onto the surface.
4. **Transfer** (export/rig_transfer.py): skin weights and face units by closest
   point with robust inpainting; joints carried by the registration; separate eyeballs
   bound rigidly to their eye bone.
5. **Write** (export/glb.py): the input's own vertices, triangles, normals, UVs and
   materials, skinned, with the face units as morph targets in the input's own frame
   and scale.

Before any of it (``weld_input``, export/mesh_reader.py), the input is checked against
the mesh budgets (export/mesh_budget.py): indices in range, no pile of copies at one spot,
no scene of slivers, enough left once coincident vertices are welded (on a grid: linear
whatever the shape) and degenerate or repeated triangles dropped. The CLI runs the same
check before it loads the models, so a file that cannot be rigged is refused in a second.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from headsculpt import __version__
from headsculpt.eval.face_finder import (
    FaceAlignment,
    NoFaceFoundError,
    find_face,
    find_landmarks_in_frame,
)
from headsculpt.eval.mediapipe_runner import MediaPipeFaces, MediaPipeUnavailableError
from headsculpt.export.glb import PRIOR_TO_GLTF, HeadAsset, MeshPart, Skeleton, write_glb
from headsculpt.export.glb_reader import read_head_glb
from headsculpt.export.mesh_budget import MeshFileError
from headsculpt.export.mesh_reader import (
    InputMesh,
    WeldedInput,
    part_normals,
    read_mesh,
    weld_input,
)
from headsculpt.export.registration import Landmarks, RegistrationConfig, register
from headsculpt.export.rig_transfer import (
    RigSource,
    TransferConfig,
    dense_weights,
    move_joints,
    top_influences,
    transfer_rig,
)
from headsculpt.export.surface_query import TriangleSurface
from headsculpt.files import png_bytes, write_atomically
from headsculpt.limits import MESH_SUFFIXES
from headsculpt.pipelines.contract import OUTPUT_STEM, JobOutputs, starting_file
from headsculpt.prior.head_fit import FitConfig, fit_head, part_vertex_mask
from headsculpt.prior.head_model import HeadMesh, HeadModel, HeadParameters, load_head_model
from headsculpt.prior.landmarks import LandmarkEmbedding
from headsculpt.progress import ProgressCallback, no_progress, scaled_progress
from headsculpt.render.preview import render_preview

__all__ = [
    "NoFaceFoundError",
    "WeldedInput",
    "weld_input",
    "RigOptions",
    "RigPipeline",
    "RigRequest",
    "RigResult",
    "file_axis_to_prior",
]

# Quality presets: the preview image's height (the rig itself is the same in all).
PREVIEW_SIZES = {"draft": 256, "standard": 512, "high": 1024}


@dataclass
class RigRequest:
    """What a rig job reads from its request: the mesh is the parent's (an upload, a
    finished head, or a file on the command line)."""

    up: str | None = None
    front: str | None = None
    quality: str = "standard"
    preview: bool = True


_EYE_SHARE = 0.6  # a mesh piece this much bound to one eye bone is an eyeball


@dataclass(frozen=True)
class RigOptions:
    """How to read the input.

    ``up`` / ``front``: the input's axis that points up / toward the front of the face,
    in the file's own axes as the user sees them ("+y", "-z", …); None lets the face
    finder try all. ``already_in_prior_frame``: the mesh is in the head prior's frame
    (a sculpt of this project): no face search, no MediaPipe. ``inpainted``: vertices
    (over all parts, in order) whose rig comes from their neighbours rather than the
    closest point of the fitted head — a sculpt's opened mouth line and its inside.
    ``lip_sides``: +1 on the upper lip, −1 on the lower (0 elsewhere) of a mouth cut
    open along a line the head model's own may miss by millimetres: no vertex takes its
    rig from the other lip's side (the jaw's side is where the head's jawOpen moves).
    """

    up: str | None = None
    front: str | None = None
    already_in_prior_frame: bool = False
    landmarks: np.ndarray | None = None  # (478, 3) known on the mesh, prior axis convention
    find_landmarks: bool = True  # in the prior's frame: still look for them (MediaPipe)
    fit: FitConfig = field(default_factory=FitConfig)
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    inpainted: np.ndarray | None = None  # (V,) bool over all parts' vertices
    lip_sides: np.ndarray | None = None  # (V,) int over all parts' vertices


@dataclass
class RigResult:
    """The rigged head: GLB bytes and a report of how well the prior fitted."""

    glb: bytes
    report: dict[str, Any]
    skin_weights: np.ndarray  # (V, B) dense, over all input parts' vertices in order
    face_deltas: np.ndarray  # (52, V, 3) input frame and units (prior axis convention)
    bone_rest_matrices: np.ndarray  # (B, 4, 4) input frame (prior axis convention)
    bone_names: list[str]
    face_unit_names: list[str]
    alignment: FaceAlignment  # input → prior frame, and the landmarks found on the input


class RigPipeline:
    """Compose the face finder, the head fit, registration and the rig transfer.

    The job kind "rig" (pipelines/registry.py): ``run`` rigs the parent's mesh;
    ``__call__`` rigs an InputMesh, for scripts, tests and the sculpt pipeline.
    """

    Request = RigRequest
    PRESETS = PREVIEW_SIZES

    def __init__(
        self,
        head: HeadModel,
        landmarks: LandmarkEmbedding | None = None,
        faces: MediaPipeFaces | None = None,
    ) -> None:
        self.head = head
        self.landmarks = landmarks or LandmarkEmbedding.load(head.topology)
        self._faces = faces
        self._reference = head(HeadParameters())
        source = head.topology.source_vertex
        self._anny_count = int(source.max()) + 1
        self._first_split = np.zeros(self._anny_count, dtype=np.int64)
        self._first_split[source[::-1]] = np.arange(len(source))[::-1]
        self._followers = part_vertex_mask(head, "eyes") | part_vertex_mask(head, "tongue")

    @classmethod
    def from_defaults(cls) -> RigPipeline:
        """The pipeline on the process-wide head model; MediaPipe is found when needed."""
        return cls(load_head_model())

    @property
    def faces(self) -> MediaPipeFaces:
        if self._faces is None:
            self._faces = MediaPipeFaces()
        return self._faces

    def __call__(
        self,
        mesh: InputMesh,
        options: RigOptions | None = None,
        progress: ProgressCallback = no_progress,
    ) -> RigResult:
        options = options or RigOptions()
        started = time.perf_counter()
        timings: dict[str, float] = {}

        def lap(name: str) -> None:
            timings[name] = round(time.perf_counter() - started - sum(timings.values()), 3)

        progress("read", 0.0)
        prepared = weld_input(mesh)
        vertices, offsets = prepared.vertices, prepared.offsets
        welded, weld, welded_triangles = prepared.welded, prepared.weld, prepared.welded_triangles
        size = prepared.size
        for name in ("inpainted", "lip_sides"):
            marks = getattr(options, name)
            if marks is not None and len(marks) != len(vertices):
                raise ValueError(
                    f"{name} has {len(marks)} entries; the mesh has {len(vertices)} vertices"
                )
        progress("read", 0.01)
        lap("read")

        # 1. Align.
        alignment = self._align(
            welded, welded_triangles, options, scaled_progress(progress, 0.0, 0.3)
        )
        aligned = alignment.to_prior(welded)
        landmarks = (
            alignment.to_prior(alignment.landmarks)
            if not np.isnan(alignment.landmarks).all()
            else alignment.landmarks
        )
        lap("align")

        # 2. Fit.
        surface = TriangleSurface(aligned, welded_triangles)
        fit = fit_head(
            self.head, self.landmarks, landmarks, surface, options.fit,
            scaled_progress(progress, 0.3, 0.5),
        )  # fmt: skip
        fitted: HeadMesh = self.head(fit.parameters)
        prior = self._welded(fitted)
        placed = fit.to_target(prior["vertices"])
        lap("fit")

        # 3. Register.
        anchors = self._landmark_anchors(landmarks)
        deformed = register(
            placed, prior["triangles"], aligned, welded_triangles, anchors, self._followers,
            options.registration, scaled_progress(progress, 0.5, 0.75),
        )  # fmt: skip
        lap("register")

        # 4. Transfer (in the aligned frame), then back to the input frame.
        progress("transfer", 0.75)
        deltas_placed = fit.scale * prior["face_deltas"] @ fit.rotation.T
        source = RigSource(deformed, prior["triangles"], prior["weights"], deltas_placed)
        inpainted = None
        if options.inpainted is not None:  # a welded vertex is, if any of its copies is
            inpainted = np.zeros(len(welded), dtype=bool)
            np.logical_or.at(inpainted, weld, np.asarray(options.inpainted, dtype=bool))
        sides = None
        if options.lip_sides is not None:
            target_sides = np.zeros(len(welded))
            target_sides[weld] = options.lip_sides
            sides = (target_sides, self._jaw_sides(deltas_placed))
        rig = transfer_rig(source, aligned, welded_triangles, options.transfer, inpainted, sides)
        weights = rig.skin_weights.astype(np.float64)
        deltas = rig.face_deltas.astype(np.float64)
        eyes = self._bind_eyeballs(aligned, welded_triangles, weights, deltas)
        bones = _carry_bones(fitted.bone_rest_matrices, fit.scale, fit.rotation, fit.offset)
        bones = move_joints(bones, prior["weights"], placed, deformed)
        bones_input = _bones_to_input(bones, alignment)
        deltas_input = (deltas / alignment.scale) @ alignment.rotation  # R⁻¹ = Rᵀ, on rows
        lap("transfer")

        # 5. Write.
        progress("export", 0.9)
        per_vertex_weights = weights[weld]
        per_vertex_deltas = deltas_input[:, weld]
        report = self._report(mesh, alignment, fit, rig, eyes, aligned, deformed, prior,
                              size, options, timings)  # fmt: skip
        glb = self._write(mesh, offsets, per_vertex_weights, per_vertex_deltas, bones_input, report)
        lap("export")
        report["seconds"] = timings
        progress("done", 1.0)
        return RigResult(
            glb=glb,
            report=report,
            skin_weights=per_vertex_weights,
            face_deltas=per_vertex_deltas,
            bone_rest_matrices=bones_input,
            bone_names=list(self.head.bone_names),
            face_unit_names=list(self.head.face_unit_names),
            alignment=alignment,
        )

    def run(self, request: RigRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        """A job: the parent's mesh → head.glb (rigged), head.json (the fit report), head.png.

        The mesh is read where the parent keeps it (``local_path``) when it can be — an
        upload is not copied, a .gltf finds the files beside it — and named in messages as
        the user knows it (``describe``); a parent that already read it (the CLI, which
        checks a file before loading the models) hands it over as ``mesh``.
        """
        parent = outputs.parent
        if parent is None:
            raise ValueError("parent_id: a rig job needs the mesh to rig (an upload or a head)")
        name = starting_file(parent.names(), MESH_SUFFIXES)
        if name is None:
            raise ValueError(f"parent_id: the parent {parent.id} holds no mesh to rig")
        describe = getattr(parent, "describe", None)
        label = describe(name) if describe is not None else name
        mesh = getattr(parent, "mesh", None)
        after = 0.85 if request.preview else 0.95
        if mesh is None:
            local_path = getattr(parent, "local_path", None)
            local = local_path(name) if local_path is not None else None
            if local is None:  # readers want a file (and a suffix)
                local = outputs.scratch / name
                write_atomically(local, parent.read(name), 0o600)
            mesh = read_mesh(local, label, scaled_progress(progress, 0.0, 0.02))
        options = RigOptions(up=request.up, front=request.front)
        result = self(mesh, options, scaled_progress(progress, 0.02, after))
        sidecar = {
            "generator": f"headsculpt {__version__}",
            "mode": "rig",
            "parent": parent.id,
            "input": name,
            "up": request.up,
            "front": request.front,
            "report": result.report,
        }
        outputs.write(f"{OUTPUT_STEM}.glb", result.glb)
        outputs.write(f"{OUTPUT_STEM}.json", json.dumps(sidecar, indent=2).encode())
        if request.preview:
            rigged = outputs.scratch / "rigged.glb"
            write_atomically(rigged, result.glb, 0o600)
            try:
                mesh = read_head_glb(rigged, name=label).mesh  # what the artist gets
            except MeshFileError:  # the rigged file outgrew a budget: no preview, no failure
                progress("done", 1.0)
                return
            alignment = result.alignment  # … seen as the prior is, so the cameras find the face
            upright = dataclasses.replace(
                mesh,
                vertices=alignment.to_prior(mesh.vertices),
                normals=mesh.normals @ alignment.rotation.T,
            )
            size = PREVIEW_SIZES[request.quality]
            image = render_preview(upright, size, scaled_progress(progress, after, 0.99))
            outputs.write(f"{OUTPUT_STEM}.png", png_bytes(image))
        progress("done", 1.0)

    def find_landmarks(
        self,
        vertices: np.ndarray,
        triangles: np.ndarray,
        reference: np.ndarray | None = None,
        progress: ProgressCallback = no_progress,
        colours: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """(478, 3) landmarks on a mesh in the prior's frame, from MediaPipe's views of it
        (NaN where none was lifted); None when MediaPipe is not installed or sees no face.
        ``reference``: where the face is expected (the neutral head's landmarks if None);
        ``colours``: (V, 3) sRGB uint8 the views show the surface in (grey clay if None)."""
        if reference is None:
            reference = self.landmarks.positions(self._reference.vertices.astype(np.float64))
        oval = np.unique(self.landmarks.connections.get("face_oval", np.zeros((0, 2), int)))
        try:
            found = find_landmarks_in_frame(
                vertices, triangles, reference, self.faces, oval, progress=progress,
                colours=colours,
            )  # fmt: skip
        except MediaPipeUnavailableError:
            return None
        return None if np.isnan(found).all() else found

    # -- steps ----------------------------------------------------------------
    def _align(
        self,
        vertices: np.ndarray,
        triangles: np.ndarray,
        options: RigOptions,
        progress: ProgressCallback,
    ) -> FaceAlignment:
        count = len(self.landmarks.corners)
        reference = self.landmarks.positions(self._reference.vertices.astype(np.float64))
        oval = np.unique(self.landmarks.connections.get("face_oval", np.zeros((0, 2), int)))
        if options.already_in_prior_frame:
            found = None
            if options.landmarks is not None:
                found = np.asarray(options.landmarks, dtype=np.float64).reshape(count, 3)
            elif options.find_landmarks:
                found = self.find_landmarks(vertices, triangles, progress=progress)
            if found is None:
                found = np.full((count, 3), np.nan)  # the report says so
            return FaceAlignment(np.eye(3), 1.0, np.zeros(3), found, 0.0, "+z", "-y", 0.0)
        return find_face(
            vertices, triangles, reference, self.faces, excluded_landmarks=oval,
            up=file_axis_to_prior(options.up), front=file_axis_to_prior(options.front),
            progress=progress,
        )  # fmt: skip

    def _jaw_sides(self, face_deltas: np.ndarray) -> np.ndarray:
        """(S,) −1 where the head's jawOpen moves a vertex (the lower lip, the chin), +1
        where it barely does (the upper lip), fractions between."""
        motion = np.linalg.norm(face_deltas[self.head.face_unit_names.index("jawOpen")], axis=1)
        share = motion / max(float(np.percentile(motion, 99)), 1e-12)
        return np.clip((0.35 - share) / 0.15, -1.0, 1.0)  # +1 up to 0.2 of the most, −1 from 0.5

    def _welded(self, mesh: HeadMesh) -> dict[str, np.ndarray]:
        """The fitted prior on Anny's own vertices (no UV seams), dense skin weights."""
        split = self._first_split
        dense = dense_weights(mesh.joint_indices, mesh.joint_weights, len(self.head.bone_names))
        return {
            "vertices": mesh.vertices[split].astype(np.float64),
            "triangles": self.head.triangles.astype(np.int64),
            "weights": dense[split],
            "face_deltas": mesh.face_unit_deltas[:, split].astype(np.float64),
        }

    def _landmark_anchors(self, landmarks: np.ndarray) -> Landmarks | None:
        """Registration pins for found landmarks (not the oval: it follows the outline)."""
        found = ~np.isnan(landmarks).any(1)
        oval = np.unique(self.landmarks.connections.get("face_oval", np.zeros((0, 2), int)))
        found[oval] = False
        if not found.any():
            return None
        rows = np.nonzero(found)[0]
        anny = self.head.topology.source_vertex[self.landmarks.corners[rows]]
        matrix = scipy.sparse.csr_matrix(
            (self.landmarks.barycentric[rows].ravel(),
             (np.repeat(np.arange(len(rows)), 3), anny.ravel())),
            shape=(len(rows), self._anny_count),
        )  # fmt: skip
        return Landmarks(matrix, landmarks[rows])

    def _bind_eyeballs(
        self,
        vertices: np.ndarray,
        triangles: np.ndarray,
        weights: np.ndarray,
        deltas: np.ndarray,
    ) -> dict[str, int]:
        """Separate eyeball meshes move rigidly with their eye bone.

        A connected piece of the mesh mostly bound to one eye bone is an eyeball: all its
        vertices get that bone alone, and each face unit's offsets on it are replaced by
        the rigid motion that fits them best (an eyeball turns, it does not bend).
        """
        count = len(vertices)
        edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]]])
        graph = scipy.sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])),
                                        shape=(count, count))  # fmt: skip
        _, component = scipy.sparse.csgraph.connected_components(graph, directed=False)
        found = {}
        for bone_name in ("eye.L", "eye.R"):
            bone = self.head.bone_index(bone_name)
            share = np.bincount(component, weights=weights[:, bone]) / np.bincount(component)
            for piece in np.nonzero(share >= _EYE_SHARE)[0]:
                members = component == piece
                weights[members] = 0.0
                weights[members, bone] = 1.0
                for unit in range(len(deltas)):
                    deltas[unit, members] = _rigid_motion(vertices[members], deltas[unit, members])
                found[bone_name] = found.get(bone_name, 0) + int(members.sum())
        return found

    def _report(self, mesh, alignment, fit, rig, eyes, aligned, deformed, prior, size, options,
                timings) -> dict[str, Any]:  # fmt: skip
        gap = rig.distance  # aligned (prior) metres
        to_input = 1.0 / alignment.scale
        inpainted = 1.0 - rig.matched_fraction
        checks = []
        if inpainted > 0.2:
            checks.append(
                f"{100 * inpainted:.0f}% of the vertices lie away from the fitted head (hair, "
                "shoulders, accessories?) and got smoothly extended weights and keys: check "
                "them in Blender"
            )
        if fit.landmark_rms > 0.004:
            checks.append(
                f"the face's landmarks fit only to {1000 * fit.landmark_rms:.1f} mm: check "
                "the mouth and eyelid keys (jawOpen, eyeBlink*)"
            )
        if np.isnan(alignment.landmarks).all():
            checks.append(
                "no facial landmarks were available (MediaPipe missing or no face seen), so "
                "the fit used the surface alone: check the mouth, eyelid and smile keys"
            )
        if not eyes:
            checks.append("no separate eyeballs were found: eye bones move nothing")
        return {
            "generator": f"headsculpt {__version__}",
            "mode": "rig",
            "input": {
                "parts": [p.name for p in mesh.parts],
                "vertices": mesh.vertex_count,
                "triangles": mesh.triangle_count,
                "size": size,
            },
            "alignment": {
                "skipped": options.already_in_prior_frame,
                "up": _prior_axis_to_file(alignment.up),
                "front": _prior_axis_to_file(alignment.front),
                "scale_to_metres": alignment.scale,
                "face_score": alignment.face_score,
                "landmark_residual_mm": 1000 * alignment.residual,
            },
            "fit": {
                "landmark_rms_mm": 1000 * fit.landmark_rms,
                "surface_rms_mm": 1000 * fit.surface_rms,
                "phenotypes": fit.parameters.phenotypes,
            },
            "surface_distance": {  # input units: the prior's surface to each vertex
                "p50": float(np.percentile(gap, 50)) * to_input,
                "p95": float(np.percentile(gap, 95)) * to_input,
                "relative_p95": float(np.percentile(gap, 95)) * to_input / size,
            },
            "matched_fraction": rig.matched_fraction,
            "eyeball_vertices": eyes,
            "check": checks,
        }

    def _write(self, mesh: InputMesh, offsets, weights, deltas, bones, report) -> bytes:
        indices, influence = top_influences(weights)
        parts = []
        largest = int(np.argmax([len(p.vertices) for p in mesh.parts]))
        for index, part in enumerate(mesh.parts):
            rows = slice(offsets[index], offsets[index + 1])
            parts.append(
                MeshPart(
                    name=part.name,
                    vertices=part.vertices,
                    normals=part_normals(part),
                    uv=part.uv,
                    triangles=part.triangles,
                    joint_indices=indices[rows],
                    joint_weights=influence[rows],
                    morph_deltas=deltas[:, rows],
                    morph_names=list(self.head.face_unit_names),
                    keep_all_morphs=index == largest,
                    material=part.material,
                )
            )
        textured = any(p.material is not None for p in mesh.parts)
        asset = HeadAsset(
            parts=parts,
            skeleton=Skeleton(list(self.head.bone_names), list(self.head.bone_parents), bones),
            textures=None,
            extras={
                "headsculpt": {
                    "mode": "rig",
                    "textured_input": textured,
                    "alignment": report["alignment"],
                }
            },  # fmt: skip
        )
        return write_glb(asset)


def file_axis_to_prior(axis: str | None) -> str | None:
    """A file axis ("+y", "-z", "y") in the prior's convention, as the reader converts."""
    if axis is None:
        return None
    name = axis.strip().lower()
    name = name if name[:1] in "+-" else "+" + name
    if name not in ("+x", "-x", "+y", "-y", "+z", "-z"):
        raise ValueError(f"an axis must be one of x, y, z with an optional sign, got {axis!r}")
    vector = np.zeros(3)
    vector["xyz".index(name[1])] = 1.0 if name[0] == "+" else -1.0
    return _vector_name(vector @ PRIOR_TO_GLTF)


def _prior_axis_to_file(axis: str) -> str:
    vector = np.zeros(3)
    vector["xyz".index(axis[1])] = 1.0 if axis[0] == "+" else -1.0
    return _vector_name(vector @ PRIOR_TO_GLTF.T)


def _vector_name(vector: np.ndarray) -> str:
    index = int(np.argmax(np.abs(vector)))
    return ("+" if vector[index] > 0 else "-") + "xyz"[index]


def _carry_bones(matrices: np.ndarray, scale: float, rotation: np.ndarray, offset: np.ndarray):
    """Bone rest matrices under a similarity: rotated, translated; lengths scale with the
    positions, the frames stay rigid (glTF joints take no scale)."""
    carried = np.array(matrices, dtype=np.float64, copy=True)
    carried[:, :3, :3] = rotation @ carried[:, :3, :3]
    carried[:, :3, 3] = scale * carried[:, :3, 3] @ rotation.T + offset
    return carried


def _bones_to_input(matrices: np.ndarray, alignment: FaceAlignment) -> np.ndarray:
    inverse_rotation = alignment.rotation.T
    carried = np.array(matrices, dtype=np.float64, copy=True)
    carried[:, :3, :3] = inverse_rotation @ carried[:, :3, :3]
    carried[:, :3, 3] = alignment.to_input(carried[:, :3, 3])
    return carried


def _rigid_motion(points: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """The displacement of the rigid motion that best carries ``points`` to points + deltas."""
    if np.abs(deltas).max() <= 1e-12:
        return np.zeros_like(deltas)
    centre, moved_centre = points.mean(0), (points + deltas).mean(0)
    a, b = points - centre, points + deltas - moved_centre
    U, _, Vt = np.linalg.svd(b.T @ a)
    D = np.eye(3)
    if np.linalg.det(U @ Vt) < 0:
        D[2, 2] = -1.0
    R = U @ D @ Vt
    return a @ R.T + moved_centre - points
