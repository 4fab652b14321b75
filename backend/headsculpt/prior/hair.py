"""Hair on the scalp as geometry: offset shells of the scalp and cards that hang from it.

Everything is derived from the head itself, so hair fits any head the model
makes: the eye bones give the face's scale (the inter-ocular distance, IOD) and
height, the ear local changes mark the ears, the landmarks the brows and mouth.
The scalp is the part of the head above a hairline that runs around the head
(high over the forehead, down in front of the ears as sideburns, over the ears,
down to the nape at the back); ``recession`` raises it at the front and temples
and finally clears the crown.

Styles mix two kinds of geometry, both alpha-tested against one strand texture
(``texture/strands.py`` draws it; the atlas layout below is the contract):

- *shells*: a few copies of the scalp surface pushed out along its normals, the
  inner one dense (it hides the skin), the outer ones sparse (they give depth);
- *cards*: strips that start at a root on the scalp, follow a flow direction
  away from a parting, bend under gravity and are pushed out of the head at
  every step, so they wrap the skull and hang down without entering it.

Every hair vertex names the head vertex it follows (``bind_vertex``): the
exporter copies that vertex's skin weights and face-unit deltas, so hair moves
with the head bone and never with the jaw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from headsculpt.descriptive_code import HAIR_STYLES
from headsculpt.prior.head_model import HeadMesh, HeadModel, HeadParameters
from headsculpt.prior.landmarks import LandmarkEmbedding

# The strand texture's atlas (glTF UVs, v = 0 at the top); texture/strands.py draws it.
# Cards: strands run down the v axis, root at v = 0, tip at v = 1.
CARD_REGION = (0.0, 0.0, 0.5, 1.0)  # u0, v0, u1, v1
# Shells: strands run down v; the dense tile hides the skin, the sparse one gives depth.
# Their last ~15 % in v thin out to nothing (the soft edge at the hairline).
SHELL_DENSE_REGION = (0.5, 0.0, 1.0, 0.5)
SHELL_SPARSE_REGION = (0.5, 0.5, 1.0, 1.0)
RECEDING_RECESSION = 0.75  # how far the "receding" style's hairline has gone back
_UV_INSET = 0.004  # keeps bilinear samples inside a region
_SKIN_GAP = 0.0004  # metres between the skin and the innermost shell at the hairline
ADULT_IOD = 0.06  # metres between the eyes of a grown head; a smaller one is a child's
_FACE_CROSSING = 0.35  # IODs: a strand moved aside further than this ends instead

# Length range per style (metres of a strand from root to tip), chosen with spec.length.
_LENGTH_RANGE: dict[str, tuple[float, float]] = {
    "buzz": (0.0, 0.0), "short": (0.04, 0.08), "side_part": (0.07, 0.12),
    "bob": (0.16, 0.22), "long_straight": (0.30, 0.48), "long_wavy": (0.28, 0.45),
    "curly": (0.10, 0.20), "ponytail": (0.18, 0.34), "bun": (0.0, 0.0), "afro": (0.0, 0.0),
    "receding": (0.03, 0.07), "slicked_back": (0.07, 0.13), "mohawk": (0.05, 0.11),
}  # fmt: skip
MOHAWK_HALF_WIDTH = 0.3  # IODs either side of the midline: a mohawk's strip (the sides shaved)
# A side parting: how far from the midline it runs (IODs, on the subject's left) and the
# half-width of the bare line along it, where neither shells nor roots are placed and the
# painted scalp is left skin.
SIDE_PART_OFFSET, PARTING_HALF_WIDTH = 0.55, 0.07


@dataclass(frozen=True)
class HairSpec:
    """One hairstyle: ``length``, ``curl`` and ``volume`` are fractions in [0, 1] of the
    style's own range (a long style's 0 is still long)."""

    style: str
    length: float = 0.5
    curl: float = 0.0
    volume: float = 0.5
    seed: int = 0


@dataclass
class HairGeometry:
    """Alpha-tested hair geometry in the head's frame, ready to become a skinned mesh."""

    vertices: np.ndarray  # (N, 3) float32 metres
    normals: np.ndarray  # (N, 3) float32
    uv: np.ndarray  # (N, 2) float32 into the strand texture (glTF, v = 0 at the top)
    triangles: np.ndarray  # (M, 3) int32
    bind_vertex: np.ndarray  # (N,) int64 head vertex each hair vertex follows
    kind: str  # "shells", "cards" or "shells+cards" (informational)

    @property
    def triangle_count(self) -> int:
        return len(self.triangles)


@dataclass(frozen=True)
class HeadFrame:
    """Anchors of one head that hair is placed by (metres, prior frame: +x is the
    subject's left, −y the front, z up)."""

    iod: float  # distance between the eye centres
    eye_z: float
    eye_y: float
    centre: np.ndarray  # (3,) middle of the cranium
    top_z: float
    front_y: float  # the forehead's front
    back_y: float  # the back of the skull
    ear: np.ndarray  # (2, 3) ear centres, subject's right then left
    ear_top_z: float
    mouth_z: float
    chin_z: float
    brow_z: float


def head_frame(head: HeadModel, mesh: HeadMesh) -> HeadFrame:
    """Anchors read off the rig, the landmarks and the ear vertices of ``mesh``."""
    eyes = np.stack(
        [mesh.bone_rest_matrices[head.bone_index(f"eye.{s}")][:3, 3] for s in ("R", "L")]
    )
    iod = float(np.linalg.norm(eyes[1] - eyes[0]))
    eye = eyes.mean(0)
    skin = _topology_cache(head).skin
    v = mesh.vertices
    ears = _topology_cache(head).ears
    ear_r = v[ears & (v[:, 0] < 0)].mean(0)
    ear_l = v[ears & (v[:, 0] > 0)].mean(0)
    landmarks = _landmarks(head).positions(v)
    upper = skin & (v[:, 2] > eye[2])
    front_y = float(landmarks[10, 1])
    back_y = float(v[upper, 1].max())
    top_z = float(v[skin, 2].max())
    centre = np.array([0.0, 0.5 * (front_y + back_y), eye[2] + 0.2 * iod])
    return HeadFrame(
        iod=iod,
        eye_z=float(eye[2]),
        eye_y=float(eye[1]),
        centre=centre,
        top_z=top_z,
        front_y=front_y,
        back_y=back_y,
        ear=np.stack([ear_r, ear_l]),
        ear_top_z=float(v[ears, 2].max()),
        mouth_z=float(0.5 * (landmarks[0, 2] + landmarks[17, 2])),
        chin_z=float(landmarks[152, 2]),
        brow_z=float(0.5 * (landmarks[105, 2] + landmarks[334, 2])),
    )


def scalp_weights(head: HeadModel, mesh: HeadMesh, recession: float = 0.0) -> np.ndarray:
    """(S,) how much each head vertex is scalp, in [0, 1], with a soft hairline.

    The hairline is a height per azimuth around the vertical axis through the
    cranium: high over the forehead, lower at the temples, down to the sideburns
    just before the ears, round the ears, and down to the nape at the back.
    ``recession`` in [0, 1] raises the front (more at the temples, the "M") and,
    past one half, clears the crown down to a horseshoe.
    """
    frame = head_frame(head, mesh)
    v = mesh.vertices.astype(np.float64)
    iod, r = frame.iod, float(np.clip(recession, 0.0, 1.0))
    azimuth = np.arctan2(np.abs(v[:, 0]), -(v[:, 1] - frame.centre[1]))  # 0 front, π back
    ear = frame.ear[1]
    ear_azimuth = float(np.arctan2(abs(ear[0]), -(ear[1] - frame.centre[1])))
    deg = np.pi / 180.0
    eye_z, ear_z = frame.eye_z, float(frame.ear[:, 2].mean())
    controls = [
        (0.0, eye_z + (1.15 + 1.9 * r) * iod),
        (22 * deg, eye_z + (1.1 + 2.3 * r) * iod),
        (ear_azimuth - 34 * deg, eye_z + (0.65 + 1.6 * r) * iod),
        (ear_azimuth - 20 * deg, ear_z + (0.05 + 0.5 * r) * iod),
        (ear_azimuth - 10 * deg, ear_z - (0.15 - 0.5 * r) * iod),
        (ear_azimuth + 20 * deg, ear_z - 0.55 * iod),
        (np.pi, frame.mouth_z - 0.1 * iod),
    ]
    angles, heights = (np.array(c) for c in zip(*controls, strict=True))
    hairline = np.interp(azimuth, angles, heights)
    weight = _smoothstep(-0.12 * iod, 0.12 * iod, v[:, 2] - hairline)

    # Balding past half recession: the crown clears down toward a horseshoe.
    crown = max(0.0, (r - 0.5) / 0.5)
    if crown > 0.0:
        crown_z = frame.top_z + 0.2 * iod - crown * (frame.top_z - eye_z - 1.15 * iod)
        weight *= 1.0 - _smoothstep(crown_z - 0.15 * iod, crown_z + 0.15 * iod, v[:, 2])

    cache = _topology_cache(head)
    ear_distance, _ = cKDTree(v[cache.ear_zone]).query(v)
    weight *= _smoothstep(0.1 * iod, 0.35 * iod, ear_distance)  # the concha too
    outer = np.zeros(len(v))
    outer[cache.outer_vertices] = 1.0  # not the mouth's or the sockets' insides
    return (weight * outer).astype(np.float64)


def parting_strip(points: np.ndarray, frame: HeadFrame) -> np.ndarray:
    """(N,) in [0, 1]: how much each point lies on a side parting's bare line — along
    x = SIDE_PART_OFFSET from the front hairline back to the crown, on top of the head
    (the line the side-part style's strands are combed away from). The points are placed
    on the neutral head, whose ``frame`` is given (:func:`neutral_frame`): points on
    another head are carried there by their triangle and barycentrics, as the painted
    maps' texels are, so the line left bare of strands and the line painted skin agree."""
    points = np.asarray(points, dtype=np.float64)
    iod, half = frame.iod, PARTING_HALF_WIDTH * frame.iod
    across = np.abs(points[:, 0] - SIDE_PART_OFFSET * iod)  # as _Builder._pole_point has it
    start, end = _parting_span(frame)
    y, z = points[:, 1], points[:, 2]
    along = _smoothstep(start - 0.3 * iod, start, y) * _smoothstep(end, end - 0.4 * iod, y)
    on_top = _smoothstep(frame.eye_z + 0.9 * iod, frame.eye_z + 1.2 * iod, z)
    return _smoothstep(half, 0.5 * half, across) * along * on_top


def neutral_frame(head: HeadModel) -> tuple[HeadMesh, HeadFrame]:
    """The neutral head and its frame (the layout the painted maps are drawn in)."""
    cache = _topology_cache(head)
    if cache.neutral_frame is None:
        cache.neutral_frame = head_frame(head, cache.neutral)
    return cache.neutral, cache.neutral_frame


def _parting_span(frame: HeadFrame) -> tuple[float, float]:
    """Where a side parting runs, front to back (y in the prior frame)."""
    return frame.front_y - 0.5 * frame.iod, frame.centre[1] + 0.2 * (frame.back_y - frame.centre[1])


def build_hair(head: HeadModel, mesh: HeadMesh, spec: HairSpec) -> HairGeometry | None:
    """Hair for ``spec`` on ``mesh`` (None when bald); deterministic for ``spec.seed``."""
    if spec.style not in HAIR_STYLES:
        raise ValueError(f"unknown hair style {spec.style!r}; one of {HAIR_STYLES}")
    if spec.style == "bald":
        return None
    builder = _Builder(head, mesh, spec)
    return builder.build()


# --- the builder -------------------------------------------------------------------


class _Builder:
    """Shells and cards of one style on one head."""

    def __init__(self, head: HeadModel, mesh: HeadMesh, spec: HairSpec) -> None:
        self.head, self.mesh, self.spec = head, mesh, spec
        self.frame = head_frame(head, mesh)
        self.rng = np.random.default_rng(spec.seed)
        recession = RECEDING_RECESSION if spec.style == "receding" else 0.0
        self.weights = scalp_weights(head, mesh, recession)
        if spec.style == "mohawk":  # a strip along the midline, front hairline to nape
            half = MOHAWK_HALF_WIDTH * self.frame.iod
            across = np.abs(mesh.vertices[:, 0] - self.frame.centre[0])
            self.weights = self.weights * _smoothstep(half, 0.7 * half, across)
        self.surface = HeadSurface.of(head, mesh)
        # Hair binds to scalp vertices only (head bone), never to the jaw or lips.
        self.bind_pool = np.nonzero(scalp_weights(head, mesh, 0.0) > 0.01)[0]
        self.bind_tree = cKDTree(mesh.vertices[self.bind_pool])
        # Lengths and volumes are an adult's; a child's smaller head gets them in proportion.
        self.size = min(1.0, self.frame.iod / ADULT_IOD)
        lo, hi = _LENGTH_RANGE.get(spec.style, (0.0, 0.0))
        self.length = (lo + (hi - lo) * float(np.clip(spec.length, 0.0, 1.0))) * self.size
        self.pieces: list[HairGeometry] = []
        self._ear_distance: np.ndarray | None = None  # per head triangle, for roots

    def build(self) -> HairGeometry:
        style, spec, iod = self.spec.style, self.spec, self.frame.iod
        volume = float(np.clip(spec.volume, 0.0, 1.0))
        if style == "buzz":
            self.shells((0.0008, 0.0018))
        elif style in ("short", "receding"):
            self.shells((0.001, 0.003, 0.005))
            self.flowing_cards(
                900, pole="crown", lift=0.1, gravity=0.02, offset=(0.003, 0.009), hug=1.0
            )
        elif style == "slicked_back":  # combed straight back, flat to the head, no fringe
            self.shells((0.001, 0.003), pole="back")
            self.flowing_cards(
                900, pole="back", lift=0.05, gravity=0.06, offset=(0.002, 0.006), hug=1.0
            )
        elif style == "mohawk":  # the strip's strands stand up off the scalp
            self.shells((0.001, 0.003))
            self.flowing_cards(
                700, pole="crown", lift=1.25, gravity=0.0, offset=(0.004, 0.012), hug=0.0
            )
        elif style == "side_part":
            self.shells((0.001, 0.003), pole="part")
            self.flowing_cards(
                1000, pole="part", lift=0.3, gravity=0.05, offset=(0.004, 0.014), hug=1.0
            )
        elif style == "bob":
            self.shells((0.001, 0.003), pole="middle")
            self.flowing_cards(
                1000, pole="middle", lift=0.25, gravity=0.22, offset=(0.005, 0.012 + 0.01 * volume)
            )
        elif style in ("long_straight", "long_wavy"):
            self.shells((0.001, 0.003), pole="front")
            cards = 1000 if style == "long_straight" else 700
            self.flowing_cards(
                cards, pole="front", lift=0.2, gravity=0.2, offset=(0.004, 0.010 + 0.012 * volume)
            )
        elif style == "curly":
            self.shells((0.002, 0.006, 0.010))
            self.flowing_cards(
                650, pole="crown", lift=0.5, gravity=0.12, offset=(0.006, 0.02 + 0.02 * volume)
            )
        elif style == "afro":
            depth = (0.055 + 0.04 * volume) * iod / 0.064
            self.shells((0.002, 0.3 * depth, 0.6 * depth), rounded=True)
            self.afro_cards(1500, depth)
        elif style in ("ponytail", "bun"):
            self.shells((0.001, 0.0025), pole="front")
            gather = self.gather_point(high=style == "bun")
            self.gathered_cards(700, gather)
            if style == "ponytail":
                self.tail(gather)
            else:
                self.bun(gather)
        return _merge(self.pieces)

    # -- shells ---------------------------------------------------------------------

    def shells(
        self,
        offsets: tuple[float, ...],
        pole: str = "crown",
        rounded: bool = False,
    ) -> None:
        """Offset copies of the scalp; the innermost dense, the rest sparse."""
        cache = _topology_cache(self.head)
        mesh, w = self.mesh, self.weights
        keep = (w[cache.head_triangles].max(1) > 0.05) & ~cache.ear_zone[cache.head_triangles].any(
            1
        )
        if pole == "part":  # the parting's line stays bare
            neutral, frame = neutral_frame(self.head)
            centroids = neutral.vertices[cache.head_triangles].astype(np.float64).mean(1)
            keep &= parting_strip(centroids, frame) < 0.2
        triangles = cache.head_triangles[keep]
        used, local = np.unique(triangles, return_inverse=True)
        local = local.reshape(-1, 3)
        p, n, wv = mesh.vertices[used].astype(np.float64), cache.smooth(mesh)[used], w[used]
        if rounded:  # puff out toward a rounded silhouette: radial from the cranium
            radial = _unit(p - self.frame.centre)
            n = _unit(0.45 * n + 0.55 * radial)
        along = self._flow_parameter(p, pole)
        reach = _smoothstep(0.0, 0.7, wv)  # shells meet the skin at the hairline
        if rounded:  # a deep volume needs a longer ramp, or its border stands as a wall
            reach = _smoothstep(0.3, 1.0, wv) ** 2
        v_local = (1.0 - wv) + wv * 0.85 * along
        u_local = self._azimuth_parameter(p)
        for k, offset in enumerate(offsets):
            region = SHELL_DENSE_REGION if k == 0 else SHELL_SPARSE_REGION
            layer_keep = w[used][local].max(1) > (0.05 + 0.25 * k / max(len(offsets), 1))
            if rounded:
                bulge = 1.0 + 0.35 * np.clip(
                    (p[:, 2] - self.frame.eye_z) / (4 * self.frame.iod), 0, 1
                )
                position = p + n * (_SKIN_GAP + offset * reach * bulge)[:, None]
            else:
                position = p + n * (_SKIN_GAP + offset * reach)[:, None]
            uv = _in_region(np.stack([u_local, v_local], 1), region)
            self.pieces.append(
                HairGeometry(
                    vertices=position.astype(np.float32),
                    normals=n.astype(np.float32),
                    uv=uv.astype(np.float32),
                    triangles=local[layer_keep].astype(np.int32),
                    bind_vertex=used.astype(np.int64),
                    kind="shells",
                )
            )

    def _azimuth_parameter(self, p: np.ndarray) -> np.ndarray:
        """0 at the front to 1 at the back, mirrored left/right (no seam)."""
        c = self.frame.centre
        return np.arctan2(np.abs(p[:, 0]), -(p[:, 1] - c[1])) / np.pi

    def _flow_parameter(self, p: np.ndarray, pole: str) -> np.ndarray:
        """0 at the parting/crown to 1 far from it: strands run along this."""
        distance = np.linalg.norm(p - self._pole_point(p, pole), axis=1)
        low, high = distance.min(), distance.max()
        return (distance - low) / max(high - low, 1e-9)

    def _pole_point(self, p: np.ndarray, pole: str) -> np.ndarray:
        """Where hair grows away from, per point: a crown whorl, the front of the top
        (combed back and down), far ahead at the brow (slicked straight back, up off the
        forehead) or the nearest point of a side parting."""
        f = self.frame
        if pole == "crown":
            point = np.array([0.0, f.centre[1] + 0.25 * (f.back_y - f.centre[1]), f.top_z])
            return np.broadcast_to(point, p.shape)
        if pole == "front":  # far ahead and above: everything is combed back
            point = np.array([0.0, f.front_y - 6.0 * f.iod, f.top_z + 1.5 * f.iod])
            return np.broadcast_to(point, p.shape)
        if pole == "back":  # far ahead at the hairline's height: up off the brow, then back
            point = np.array([0.0, f.front_y - 10.0 * f.iod, f.eye_z + 1.2 * f.iod])
            return np.broadcast_to(point, p.shape)
        side = SIDE_PART_OFFSET * f.iod if pole == "part" else 0.0  # on the subject's left
        start, end = _parting_span(f)
        y = np.clip(p[:, 1], start, end)
        return np.stack([np.full(len(p), side), y, np.full(len(p), f.top_z)], 1)

    # -- cards -----------------------------------------------------------------------

    def sample_roots(self, count: int, bias_front: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """``count`` random points on the scalp (area × weight), with their normals."""
        cache = _topology_cache(self.head)
        tri = cache.head_triangles
        corners = self.mesh.vertices[tri].astype(np.float64)
        area = 0.5 * np.linalg.norm(
            np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
        )
        density = area * self.weights[tri].mean(1) ** 2
        density[self.weights[tri].min(1) < 0.3] = 0.0
        # Not right at the ears: strands from there stand off the ear in clumps.
        if self._ear_distance is None:
            ear_zone = self.mesh.vertices[cache.ear_zone]
            self._ear_distance = cKDTree(ear_zone).query(corners.mean(1))[0]
        iod = self.frame.iod
        density *= _smoothstep(0.15 * iod, 0.5 * iod, self._ear_distance)
        chosen = self.rng.choice(len(tri), size=count, p=density / density.sum())
        bary = self.rng.dirichlet(np.ones(3), size=count)
        if self.spec.style == "side_part":  # none on the parting: moved just off it
            chosen, bary = self._off_the_parting(tri, chosen, bary)
        points = np.einsum("ij,ijk->ik", bary, corners[chosen])
        normals = cache.smooth(self.mesh)[tri[chosen]]
        normals = _unit(np.einsum("ij,ijk->ik", bary, normals))
        return points, normals

    def _off_the_parting(
        self, triangles: np.ndarray, chosen: np.ndarray, bary: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Roots that fall on the parting's line (read on the neutral head) are drawn
        again on the triangles of the roots that did not, keeping the count."""
        neutral, frame = neutral_frame(self.head)
        corners = neutral.vertices[triangles].astype(np.float64)
        for _ in range(8):
            on_line = parting_strip(np.einsum("ij,ijk->ik", bary, corners[chosen]), frame) > 0.1
            if not on_line.any():
                break
            chosen[on_line] = self.rng.choice(chosen[~on_line], size=int(on_line.sum()))
            bary[on_line] = self.rng.dirichlet(np.ones(3), size=int(on_line.sum()))
        return chosen, bary

    def flowing_cards(
        self,
        count: int,
        pole: str,
        lift: float,
        gravity: float,
        offset: tuple[float, float],
        hug: float = 0.8,
    ) -> None:
        """Strips from roots on the scalp, combed away from ``pole``, falling under gravity.

        ``hug``: how strongly hair lies on the head where the skin faces up (1: it lies
        on the head everywhere, as short styled hair does)."""
        f, spec = self.frame, self.spec
        length = max(self.length, 0.02)
        wavy = spec.style in ("long_wavy", "curly") or spec.curl > 0.2
        step_length = 0.007 if spec.style == "curly" else 0.012 if wavy else 0.022
        segments = int(np.clip(round(length / step_length), 5, 26 if wavy else 14))
        roots, normals = self.sample_roots(count)
        rng = self.rng
        flow = _tangent(roots - self._pole_point(roots, pole), normals)
        # Long hair in front of the ears is swept back so it never falls over the face.
        long_hair = length > 0.14
        if long_hair:
            frontal = _smoothstep(f.ear[1, 1] + 0.5 * f.iod, f.front_y, roots[:, 1])
            flow = _tangent(flow + frontal[:, None] * np.array([0.0, 0.8, -0.2]), normals)
            flow = _tangent(flow + np.array([0.0, 0.2, -0.5]), normals)
        lengths = length * rng.uniform(0.75, 1.05, count)
        if hug >= 1.0:  # styled short hair is cut shorter over the ears and at the nape
            lengths *= 0.3 + 0.7 * _smoothstep(
                f.ear_top_z - 0.6 * f.iod, f.ear_top_z + f.iod, roots[:, 2]
            )
        offsets = rng.uniform(*offset, count) * self.size
        direction = _unit(flow * np.cos(lift) + normals * np.sin(lift))
        points = np.empty((count, segments + 1, 3))
        kept = np.full(count, segments + 1)  # knots a card keeps: it ends before the face
        points[:, 0] = roots + normals * offsets[:, None] * 0.3
        step = (lengths / segments)[:, None]
        down = np.array([0.0, 0.0, -1.0])
        for s in range(1, segments + 1):
            direction = _unit(direction + gravity * down)
            if long_hair:
                direction = self._behind_shoulders(points[:, s - 1], direction)
            candidate = points[:, s - 1] + direction * step
            clearance = offsets * min(1.0, 0.3 + s / 3)
            _, normal, distance = self.surface.query(candidate)
            # Hair lies on the head where gravity presses it there (the skin faces up);
            # short hair is styled to lie on it everywhere. Below, it hangs free.
            lies = hug * _smoothstep(-0.25, 0.15, normal[:, 2]) if hug < 1.0 else np.ones(count)
            lies = lies * (distance < clearance + 0.03)
            move = np.maximum(clearance - distance, 0.0) + lies * np.minimum(
                clearance - distance, 0.0
            )
            candidate = candidate + normal * move[:, None]
            direction = _unit(candidate - points[:, s - 1])
            # Moved aside from the face without turning the strand outward; a strand that
            # would have to jump across the face to get there ends above it (a fringe).
            aside = self._beside_face(candidate)
            kept = np.where(self._across_face(candidate, aside) & (kept > s), s, kept)
            points[:, s] = self._within_reach(aside)
        points = self._curl(points, normals, lengths)
        points = self.surface.push_out(
            points.reshape(-1, 3), np.repeat(offsets * 0.6, segments + 1)
        )
        aside = self._beside_face(points)
        across = self._across_face(points, aside).reshape(count, segments + 1)
        kept = np.minimum(kept, np.where(across.any(1), across.argmax(1), segments + 1))
        points = _shortened(aside.reshape(count, segments + 1, 3), kept)
        width = rng.uniform(0.012, 0.022, count) * (f.iod / 0.064)
        keep = self._clear_of_ears(points) & (kept >= 3)
        self.pieces.append(self._strips(points[keep], normals[keep], width[keep], taper=0.55))

    def afro_cards(self, count: int, depth: float) -> None:
        """Coiled clumps floating through a rounded volume over the scalp.

        Each card lies across the volume (facing out, so the silhouette reads dense
        from every side) at a random depth in it: deepest on the crown and the back,
        shallow toward the hairline and over the ears.
        """
        f, rng = self.frame, self.rng
        roots, normals = self.sample_roots(count)
        radial = _unit(roots - (f.centre + np.array([0.0, 0.0, -0.5 * f.iod])))
        out_dir = _unit(0.45 * normals + 0.55 * radial)
        w = self.weights_at(roots)
        height = _smoothstep(f.ear_top_z - 0.5 * f.iod, f.top_z - 0.8 * f.iod, roots[:, 2])
        reach = depth * (0.25 + 0.75 * height) * _smoothstep(0.3, 0.9, w)
        lift = reach * rng.uniform(0.15, 1.0, count)
        start = roots + out_dir * lift[:, None]
        flow = _tangent(roots - self._pole_point(roots, "crown"), out_dir)
        lengths = rng.uniform(0.025, 0.045, count) * (f.iod / 0.064)
        knots = 10
        t = np.linspace(0.0, 1.0, knots)[None, :, None]
        points = start[:, None, :] + flow[:, None, :] * (lengths[:, None, None] * t)
        side = _unit(np.cross(flow, out_dir))
        phase = rng.uniform(0, 2 * np.pi, (count, 1))
        angle = 2 * np.pi * lengths[:, None] / 0.012 * t[..., 0] + phase  # a coil every 12 mm
        radius = 0.0045
        points = (
            points
            + (radius * np.cos(angle))[..., None] * side[:, None]
            + (radius * np.sin(angle))[..., None] * out_dir[:, None]
        )
        flat = self.surface.push_out(points.reshape(-1, 3), np.full(count * knots, 0.003))
        points = self._beside_face(flat).reshape(count, knots, 3)
        width = rng.uniform(0.014, 0.022, count) * (f.iod / 0.064)
        keep = self._clear_of_ears(points)
        self.pieces.append(self._strips(points[keep], out_dir[keep], width[keep], taper=0.3))

    def _clear_of_ears(self, points: np.ndarray) -> np.ndarray:
        """Cards (C, K, 3) that keep a centimetre off the ears: hair goes behind the
        ears or stops above them; cards through an ear read as clumps stuck to it."""
        ears = self.mesh.vertices[_topology_cache(self.head).ears]
        distance, _ = cKDTree(ears).query(points.reshape(-1, 3), distance_upper_bound=0.011)
        return (distance.reshape(points.shape[:2]) > 0.01).all(1)

    def weights_at(self, points: np.ndarray) -> np.ndarray:
        """The scalp weight of the head vertex nearest each point."""
        _, index = cKDTree(self.mesh.vertices).query(points)
        return self.weights[index]

    def _within_reach(self, points: np.ndarray) -> np.ndarray:
        """No strand strays further than a hand's width out from the head's sides."""
        f = self.frame
        offset = points[:, :2] - f.centre[:2]
        radius = np.linalg.norm(offset, axis=1, keepdims=True)
        limit = self.surface.radius + 0.05
        return np.concatenate(
            [f.centre[:2] + offset * np.minimum(1.0, limit / np.maximum(radius, 1e-9)),
             points[:, 2:]], axis=1
        )  # fmt: skip

    def _beside_face(self, points: np.ndarray) -> np.ndarray:
        """Hair that would hang in front of the face is moved aside, beside the cheeks:
        the eyes, nose and mouth stay clear in a front view."""
        f = self.frame
        half_width = 1.1 * f.iod
        in_front = points[:, 1] < f.ear[1, 1] - 0.2 * f.iod
        low = points[:, 2] < f.brow_z + 0.2 * f.iod
        high = points[:, 2] > f.chin_z - 0.6 * f.iod
        inside = in_front & low & high & (np.abs(points[:, 0]) < half_width)
        moved = points.copy()
        side = np.where(points[inside, 0] >= 0.0, 1.0, -1.0)
        moved[inside, 0] = side * half_width
        return moved

    def _across_face(self, points: np.ndarray, aside: np.ndarray) -> np.ndarray:
        """Which points :meth:`_beside_face` moved so far that the strand would cross the
        face (a band across the forehead) rather than slip past the cheek."""
        return np.abs(aside[:, 0] - points[:, 0]) > _FACE_CROSSING * self.frame.iod

    def _behind_shoulders(self, points: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Below the jaw, hair in front of the neck is steered back (over the shoulders,
        behind them) so long hair frames the face and never covers it."""
        f = self.frame
        below = _smoothstep(f.mouth_z, f.chin_z - 0.5 * f.iod, points[:, 2])
        ahead = _smoothstep(f.ear[1, 1] + 0.8 * f.iod, f.ear[1, 1] - 0.2 * f.iod, points[:, 1])
        push = (below * ahead)[:, None] * np.array([0.0, 0.9, 0.0])
        return _unit(direction + push)

    def _curl(self, points: np.ndarray, normals: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Waves (in the card's plane) and curls (a helix) that grow from root to tip."""
        spec = self.spec
        curl = float(np.clip(spec.curl, 0.0, 1.0))
        wavy = spec.style == "long_wavy"
        curly = spec.style == "curly"
        if curl <= 0.0 and not (wavy or curly):
            return points
        count, knots = points.shape[:2]
        tangent = _unit(np.gradient(points, axis=1))
        side = _unit(np.cross(tangent, normals[:, None, :]))
        out = _unit(np.cross(side, tangent))
        t = np.linspace(0.0, 1.0, knots)[None, :]
        phase = self.rng.uniform(0, 2 * np.pi, (count, 1))
        arc = t * lengths[:, None]
        if curly:
            wavelength, amplitude = 0.05 - 0.015 * curl, 0.007 + 0.006 * curl
        elif wavy:
            wavelength, amplitude = 0.09 - 0.03 * curl, 0.012 + 0.012 * curl
        else:
            wavelength, amplitude = 0.07, 0.012 * curl
        grow = _smoothstep(0.0, 0.35, t) * amplitude
        angle = 2 * np.pi * arc / wavelength + phase
        shift = (grow * np.sin(angle))[..., None] * side
        if curly:
            shift = shift + (grow * np.cos(angle))[..., None] * out
        return points + shift

    def _strips(
        self, points: np.ndarray, normals: np.ndarray, width: np.ndarray, taper: float
    ) -> HairGeometry:
        """Cards along centre lines (C, K, 3), kept off the skin, bound to the scalp."""

        def off_the_skin(vertices: np.ndarray, half: np.ndarray) -> np.ndarray:
            # A flat card's edges dip toward a curved skull: keep them off the skin too.
            # Only knots within reach of the skin need it (most long hair hangs free).
            _, _, clearance = self.surface.query(points.reshape(-1, 3))
            close = np.repeat(clearance < half.reshape(-1) + 0.003, 2)
            for _ in range(2):  # twice: one push along a nearby normal can fall short
                vertices[close] = self.surface.push_out(
                    vertices[close], np.full(close.sum(), 0.0012)
                )
            return vertices

        u_width = np.clip(width / (0.04 * self.frame.iod / 0.064), 0.08, 0.2)
        _, bind = self.bind_tree.query(points.reshape(-1, 3))  # one per knot, both edges
        return card_strips(points, normals, width, taper, self.rng.uniform(0.0, 0.8, len(width)),
                           u_width, self.bind_pool[np.repeat(bind, 2)], off_the_skin)  # fmt: skip

    # -- gathered styles ----------------------------------------------------------------

    def gather_point(self, high: bool) -> np.ndarray:
        """Where a ponytail or bun is tied: on the back of the head, just off the skin."""
        f = self.frame
        z = f.eye_z + (2.3 if high else 1.2) * f.iod
        target = np.array([0.0, f.back_y + 0.05, z])
        point = self.surface.closest(target[None])[0]
        return point + self.surface.normal_at(point[None])[0] * 0.008

    def gathered_cards(self, count: int, gather: np.ndarray) -> None:
        """Hair pulled tight from the scalp to the tie, lying on the skin."""
        roots, normals = self.sample_roots(count)
        knots = 9
        t = np.linspace(0.0, 1.0, knots)[None, :, None]
        offsets = self.rng.uniform(0.002, 0.006, count)
        # Round the skull, not through it: directions from the cranium's centre are
        # interpolated (slerp) and so is the distance from it.
        centre = self.frame.centre
        a, b = roots - centre, gather - centre
        ra, rb = np.linalg.norm(a, axis=1, keepdims=True), np.linalg.norm(b)
        ua, ub = a / ra, b / rb
        angle = np.arccos(np.clip(ua @ ub, -1.0, 1.0))[:, None, None]
        sin = np.maximum(np.sin(angle), 1e-6)
        direction = (
            np.sin((1 - t) * angle) * ua[:, None] + np.sin(t * angle) * ub[None, None]
        ) / sin
        points = centre + direction * (ra[:, None] * (1 - t) + rb * t)
        flat = points.reshape(-1, 3)
        per_knot = np.repeat(offsets, knots)
        for _ in range(3):
            flat = self.surface.push_out(flat, per_knot)
        points = flat.reshape(count, knots, 3)
        width = self.rng.uniform(0.012, 0.02, count) * (self.frame.iod / 0.064)
        self.pieces.append(self._strips(points, normals, width, taper=0.3))

    def tail(self, gather: np.ndarray) -> None:
        """A ponytail: cards round an axis from the tie, arcing out and falling."""
        count, knots = 150, 12
        length = max(self.length, 0.1)
        rng = self.rng
        angle = rng.uniform(0, 2 * np.pi, count)
        out = self.surface.normal_at(gather[None])[0]
        back = _unit(np.array([0.0, 0.5, -1.0]) + 0.6 * out)
        axis_points = [gather]
        direction = back
        step = length / (knots - 1)
        for _ in range(knots - 1):
            direction = _unit(direction + np.array([0.0, 0.0, -0.7]))
            candidate = axis_points[-1] + direction * step
            candidate = self.surface.push_out(candidate[None], np.array([0.022]))[0]
            direction = _unit(candidate - axis_points[-1])
            axis_points.append(candidate)
        axis = np.array(axis_points)
        tangent = _unit(np.gradient(axis, axis=0))
        a = _unit(np.cross(tangent, np.array([1.0, 0.0, 0.0])))
        b = _unit(np.cross(tangent, a))
        t = np.linspace(0.0, 1.0, knots)
        radius = np.interp(t, [0.0, 0.12, 0.35, 1.0], [0.008, 0.022, 0.028, 0.014])
        jitter = rng.uniform(0.6, 1.05, count)[:, None]
        ring = (np.cos(angle)[:, None, None] * a[None] + np.sin(angle)[:, None, None] * b[None]) * (
            radius[None, :, None] * jitter[..., None]
        )
        points = axis[None] + ring
        points = self._curl(points, _unit(ring[:, 1]), np.full(count, length))
        width = rng.uniform(0.014, 0.022, count)
        self.pieces.append(self._strips(points, _unit(ring[:, 1] + 1e-9), width, taper=0.6))

    def bun(self, gather: np.ndarray) -> None:
        """A bun: two nested rounded shells (a slightly squashed sphere) at the tie."""
        out = self.surface.normal_at(gather[None])[0]
        radius = (0.028 + 0.014 * float(np.clip(self.spec.volume, 0, 1))) * self.frame.iod / 0.064
        centre = gather + out * radius * 0.75
        rings, sectors = 12, 20
        theta = np.linspace(0.0, np.pi, rings + 1)
        phi = np.linspace(0.0, 2 * np.pi, sectors + 1)
        th, ph = np.meshgrid(theta, phi, indexing="ij")
        unit = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], -1)
        unit = unit.reshape(-1, 3)
        index = np.arange((rings + 1) * (sectors + 1)).reshape(rings + 1, sectors + 1)
        a, b = index[:-1, :-1].ravel(), index[:-1, 1:].ravel()
        c, d = index[1:, :-1].ravel(), index[1:, 1:].ravel()
        triangles = np.concatenate([np.stack([a, c, d], 1), np.stack([a, d, b], 1)])
        _, bind = self.bind_tree.query(gather)
        u = np.abs(1.0 - 2.0 * ph.ravel() / (2 * np.pi))  # mirrored: no seam
        v = th.ravel() / np.pi * 0.8
        for k, scale in enumerate((1.0, 1.12)):
            squash = np.array([1.0, 0.85, 0.9]) * radius * scale
            vertices = centre + unit * squash
            region = SHELL_DENSE_REGION if k == 0 else SHELL_SPARSE_REGION
            self.pieces.append(
                HairGeometry(
                    vertices=vertices.astype(np.float32),
                    normals=unit.astype(np.float32),
                    uv=_in_region(np.stack([u, v], 1), region).astype(np.float32),
                    triangles=triangles.astype(np.int32),
                    bind_vertex=np.full(len(vertices), self.bind_pool[bind], dtype=np.int64),
                    kind="shells",
                )
            )


# --- the head's surface as an obstacle ----------------------------------------------------


@dataclass
class HeadSurface:
    """The head's outer skin as a point cloud with normals: nearest points, signed
    distance (positive outside) and pushing points out to a clearance.

    The mesh stops at the neck; below that cut the neck is taken to go straight
    on down (a vertical cylinder through the lowest ring), so hair that falls past
    the cut still keeps out of where the neck would be.
    """

    points: np.ndarray  # (P, 3) samples on the skin triangles
    normals: np.ndarray  # (P, 3)
    tree: cKDTree
    cut_z: float  # the neck's lowest ring
    radius: float  # the head's largest horizontal radius

    @classmethod
    def of(cls, head: HeadModel, mesh: HeadMesh) -> HeadSurface:
        cache = _topology_cache(head)
        tri = cache.outer_triangles
        corners = mesh.vertices[tri].astype(np.float64)
        smooth = cache.smooth(mesh)
        # Vertices plus triangle centres: about 2 mm apart on this head.
        points = np.concatenate([corners.mean(1), mesh.vertices[cache.outer_vertices]])
        normals = _unit(np.concatenate([smooth[tri].mean(1), smooth[cache.outer_vertices]]))
        cut_z = float(mesh.vertices[cache.skin, 2].min()) + 0.012
        centre = 0.5 * (points[:, :2].min(0) + points[:, :2].max(0))
        radius = float(np.linalg.norm(points[:, :2] - centre, axis=1).max())
        return cls(points, normals, cKDTree(points), cut_z, radius)

    def query(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest skin point, its normal and the signed distance of each point."""
        below = points[:, 2] < self.cut_z
        probe = points.copy()
        probe[below, 2] = self.cut_z
        _, index = self.tree.query(probe)
        nearest, normal = self.points[index].copy(), self.normals[index].copy()
        if below.any():  # the neck as a cylinder: horizontal normals, same height
            normal[below, 2] = 0.0
            normal[below] = _unit(normal[below])
            nearest[below, 2] = points[below, 2]
        distance = np.einsum("ij,ij->i", points - nearest, normal)
        return nearest, normal, distance

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        return self.query(points)[2]

    def push_out(self, points: np.ndarray, clearance: np.ndarray) -> np.ndarray:
        """Points closer to the skin than ``clearance`` (or inside) moved out along the
        nearest skin normal."""
        _, normal, distance = self.query(points)
        lift = np.maximum(clearance - distance, 0.0)
        return points + normal * lift[:, None]

    def closest(self, points: np.ndarray) -> np.ndarray:
        return self.query(points)[0]

    def normal_at(self, points: np.ndarray) -> np.ndarray:
        return self.query(points)[1]


# --- what depends only on the topology -----------------------------------------------------


@dataclass
class _TopologyCache:
    head_triangles: np.ndarray  # (F, 3) the head part's triangles
    outer_triangles: np.ndarray  # head triangles outside the mouth and eye cavities
    outer_vertices: np.ndarray  # their vertices
    skin: np.ndarray  # (S,) bool: vertex of the head part
    ears: np.ndarray  # (S,) bool: the ears (what the ear local changes move most)
    ear_zone: np.ndarray  # (S,) bool: the ears with their base (no hair grows there)
    neighbours: object  # sparse (S, S) row-normalised adjacency for smoothing
    neutral: HeadMesh  # the neutral head: the layout painted maps are drawn in
    neutral_frame: HeadFrame | None = None  # its frame, read when first asked for

    def smooth(self, mesh: HeadMesh) -> np.ndarray:
        """Vertex normals smoothed over the neighbours (cards and shells lean on them)."""
        n = mesh.normals.astype(np.float64)
        for _ in range(2):
            n = self.neighbours @ n
        return _unit(n)


def _topology_cache(head: HeadModel) -> _TopologyCache:
    cached = getattr(head, "_hair_topology_cache", None)
    if cached is None:
        cached = _build_topology_cache(head)
        head._hair_topology_cache = cached  # per model instance: topology never changes
    return cached


def _build_topology_cache(head: HeadModel) -> _TopologyCache:
    import scipy.sparse
    import scipy.sparse.csgraph

    topology = head.topology
    head_triangles = topology.part_triangles("head").astype(np.int64)
    count = topology.vertex_count
    skin = np.zeros(count, dtype=bool)
    skin[head_triangles.ravel()] = True
    neutral = head(HeadParameters())
    moved = np.zeros(count)
    for change in ("l-ear-scale-incr", "r-ear-scale-incr"):
        shifted = head(HeadParameters(local_changes={change: 1.0}))
        moved += np.linalg.norm(shifted.vertices - neutral.vertices, axis=1)
    # The outer skin: MakeHuman's UV islands (the split mesh's connected pieces) whose
    # triangles mostly face away from the cranium. The mouth's and the eye sockets'
    # islands face inward and are left out; so are the tiny caruncle pieces.
    v = neutral.vertices.astype(np.float64)
    eye = np.stack([neutral.bone_rest_matrices[head.bone_index(f"eye.{s}")][:3, 3]
                    for s in ("R", "L")]).mean(0)  # fmt: skip
    centre = np.array([0.0, eye[1] + 0.07, eye[2]])
    corners = v[head_triangles]
    face_normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    outward = np.einsum("ij,ij->i", face_normal, corners.mean(1) - centre) > 0
    graph = scipy.sparse.coo_matrix(
        (
            np.ones(head_triangles.size),
            (np.repeat(head_triangles[:, 0], 3), head_triangles.ravel()),
        ),
        (count, count),
    )
    _, island = scipy.sparse.csgraph.connected_components(graph, directed=False)
    triangle_island = island[head_triangles[:, 0]]
    sizes = np.bincount(triangle_island, minlength=island.max() + 1)
    facing = np.bincount(triangle_island, weights=outward, minlength=island.max() + 1)
    outer_island = (sizes > 20) & (facing > 0.6 * np.maximum(sizes, 1))
    ears = moved > 0.6 * moved.max()
    on_ear = ears[head_triangles].all(1)  # both sides of the ear are obstacles
    outer_triangles = head_triangles[outer_island[triangle_island] | on_ear]
    edges = np.concatenate([head_triangles[:, [0, 1]], head_triangles[:, [1, 2]],
                            head_triangles[:, [2, 0]]])  # fmt: skip
    edges = np.concatenate([edges, edges[:, ::-1], np.stack([np.arange(count)] * 2, 1)])
    adjacency = scipy.sparse.coo_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), (count, count)
    ).tocsr()
    adjacency.data[:] = 1.0
    degree = np.asarray(adjacency.sum(1)).ravel()
    neighbours = scipy.sparse.diags(1.0 / degree) @ adjacency
    return _TopologyCache(
        head_triangles=head_triangles,
        outer_triangles=outer_triangles,
        outer_vertices=np.unique(outer_triangles),
        skin=skin,
        ears=ears,
        ear_zone=moved > 0.45 * moved.max(),
        neighbours=neighbours,
        neutral=neutral,
    )


def _landmarks(head: HeadModel) -> LandmarkEmbedding:
    cached = getattr(head, "_hair_landmarks", None)
    if cached is None:
        cached = LandmarkEmbedding.load(head.topology)
        head._hair_landmarks = cached
    return cached


# --- small helpers -------------------------------------------------------------------


def card_strips(
    points: np.ndarray,
    normals: np.ndarray,
    width: np.ndarray,
    taper: float,
    u0: np.ndarray,
    u_width: np.ndarray | float,
    bind_vertex: np.ndarray,
    adjust=None,
) -> HairGeometry:
    """Cards along centre lines ``points`` (C, K, 3): two vertices per knot, ``width`` wide
    at the root (C,) narrowing by ``taper`` toward the tip, facing away from ``normals``
    (C, 3); card c reads the card region's columns ``u0[c]`` … ``u0[c] + u_width``, root to
    tip down v. ``adjust(vertices, half_widths)`` may move the vertices (off the skin)."""
    count, knots = points.shape[:2]
    tangent = _unit(np.gradient(points, axis=1))
    side = _unit(np.cross(tangent, normals[:, None, :]))
    t = np.linspace(0.0, 1.0, knots)[None, :]
    half = (0.5 * width[:, None] * (1.0 - taper * t))[..., None]
    vertices = np.stack([points - side * half, points + side * half], axis=2).reshape(-1, 3)
    if adjust is not None:
        vertices = adjust(vertices, half)
    facing = np.repeat(_unit(np.cross(side, tangent)), 2, axis=1).reshape(-1, 3)
    u0 = np.asarray(u0)[:, None]
    u1 = u0 + np.broadcast_to(np.asarray(u_width, dtype=np.float64), (count,))[:, None]
    u = np.stack([np.broadcast_to(u0, (count, knots)), np.broadcast_to(u1, (count, knots))], 2)
    v = np.broadcast_to(t[..., None], (count, knots, 2))
    uv = _in_region(np.stack([u, v], -1).reshape(-1, 2), CARD_REGION)
    base = ((np.arange(count)[:, None] * knots + np.arange(knots - 1)[None, :]) * 2).reshape(-1)
    triangles = np.concatenate(
        [np.stack([base, base + 1, base + 3], 1), np.stack([base, base + 3, base + 2], 1)]
    )
    return HairGeometry(
        vertices=vertices.astype(np.float32),
        normals=facing.astype(np.float32),
        uv=uv.astype(np.float32),
        triangles=triangles.astype(np.int32),
        bind_vertex=np.asarray(bind_vertex, dtype=np.int64),
        kind="cards",
    )


def _shortened(points: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Cards (C, K, 3) each cut to its first ``kept[c]`` knots, resampled back to K knots
    (a shorter card with a proper tip, not a run of zero-length segments)."""
    count, knots = points.shape[:2]
    last = np.clip(kept, 1, knots)[:, None] - 1.0
    position = np.linspace(0.0, 1.0, knots)[None, :] * last  # (C, K) in old knot units
    below = np.minimum(np.floor(position).astype(int), knots - 1)
    above = np.minimum(below + 1, knots - 1)
    frac = (position - below)[..., None]
    rows = np.arange(count)[:, None]
    return points[rows, below] * (1.0 - frac) + points[rows, above] * frac


def _merge(pieces: list[HairGeometry]) -> HairGeometry:
    """One geometry from several (triangle indices shifted)."""
    offsets = np.cumsum([0] + [len(p.vertices) for p in pieces])
    kinds = sorted({p.kind for p in pieces})
    return HairGeometry(
        vertices=np.concatenate([p.vertices for p in pieces]),
        normals=np.concatenate([p.normals for p in pieces]),
        uv=np.concatenate([p.uv for p in pieces]),
        triangles=np.concatenate([p.triangles + o for p, o in zip(pieces, offsets, strict=False)]),
        bind_vertex=np.concatenate([p.bind_vertex for p in pieces]),
        kind="+".join(kinds),
    )


def _in_region(uv: np.ndarray, region: tuple[float, float, float, float]) -> np.ndarray:
    """Local [0, 1]² coordinates placed into an atlas region (inset from its border)."""
    u0, v0, u1, v1 = region
    local = np.clip(uv, 0.0, 1.0)
    return np.stack(
        [
            u0 + _UV_INSET + local[:, 0] * (u1 - u0 - 2 * _UV_INSET),
            v0 + _UV_INSET + local[:, 1] * (v1 - v0 - 2 * _UV_INSET),
        ],
        1,
    )


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _tangent(direction: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """``direction`` with its normal part removed, unit length.

    Where almost nothing is left (a direction into or out of the skin, as "down" is
    under the back of the skull) the direction itself is kept: normalising the
    remainder would blow its noise up into a sideways flight.
    """
    along = np.einsum("ij,ij->i", direction, normals)[:, None]
    tangent = direction - along * normals
    small = np.linalg.norm(tangent, axis=1) < 0.35 * np.linalg.norm(direction, axis=1)
    return _unit(np.where(small[:, None], direction, tangent))


def _smoothstep(edge0: float, edge1, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
