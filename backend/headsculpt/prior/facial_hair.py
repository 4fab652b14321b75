"""Facial hair, eyebrows and eyelashes as geometry placed from the head's own landmarks.

The regions come from the MediaPipe landmarks fixed to the head's surface
(``prior/landmarks.py``) and the hair module's head frame: the lip contour (a
moustache sits between it and the nose; nothing grows on the lips or inside
the mouth), the chin, the mouth corners, the nose base and the ears (a beard
stops before them, rising from the mouth to the sideburns below the
cheekbones). Geometry is the same as for scalp hair: shells of the region and
cards, each vertex bound to a head vertex of its region, so a beard follows the
jaw bone and jawOpen and the lashes close with the lids.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from headsculpt.descriptive_code import FACIAL_HAIR_STYLES
from headsculpt.prior.hair import (
    _SKIN_GAP,
    SHELL_DENSE_REGION,
    SHELL_SPARSE_REGION,
    HairGeometry,
    HeadSurface,
    _in_region,
    _landmarks,
    _merge,
    _smoothstep,
    _topology_cache,
    _unit,
    card_strips,
    head_frame,
)
from headsculpt.prior.head_model import HeadMesh, HeadModel

# MediaPipe FaceMesh indices (the subject's right first where there are two).
_LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291,
               375, 321, 405, 314, 17, 84, 181, 91, 146)  # fmt: skip
_UPPER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
_LOWER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
_NOSE_BASE, _CHIN, _UPPER_LIP_TOP = 2, 152, 0
_BROWS = {  # (upper edge, lower edge), outer to inner
    "R": ((70, 63, 105, 66, 107), (46, 53, 52, 65, 55)),
    "L": ((300, 293, 334, 296, 336), (276, 283, 282, 295, 285)),
}
_LIDS = {  # upper and lower lid edges, outer corner to inner corner
    "R": ((33, 246, 161, 160, 159, 158, 157, 173, 133), (33, 7, 163, 144, 145, 153, 154, 155, 133)),
    "L": (
        (263, 466, 388, 387, 386, 385, 384, 398, 362),
        (263, 249, 390, 373, 374, 380, 381, 382, 362),
    ),
}
_MOUSTACHE_CARD = 0.009  # metres: a moustache's cards (before the length scale)
# How far a moustache's top edge rises toward its ends, in IOD: alone (or a goatee's) and
# within a beard.
MOUSTACHE_RISE, BEARD_MOUSTACHE_RISE = 0.05, 0.3
# A groomed (arched) brow: its peak, as a share of the way from the outer end (0) to the
# inner (1), and how far the peak is raised, in brow heights (the painted brow under the
# cards tapers, texture/surface_maps.py's "brows_arched").
BROW_PEAK, BROW_ARCH = 0.35, 1.0
# Lash lengths in metres (an adult's: scaled with the eye spacing): the lower lid's are a
# fine fringe (at 4 mm they hung under the eye as dark spikes).
UPPER_LASH, LOWER_LASH = 0.0085, 0.003
BRISTLE_TILE = 0.012  # metres of skin one sparse tile spans on stubble (dashes ~1 mm)
# Shell offsets (metres, before the length scale) and card settings per style.
_SHELLS = {
    "stubble": (0.0004,),
    "moustache": (0.001, 0.0025, 0.004),
    "goatee": (0.0012, 0.003, 0.006),
    "short_beard": (0.0012, 0.003, 0.006),
    "full_beard": (0.0015, 0.005, 0.010, 0.015),
}


def beard_weights(
    head: HeadModel, mesh: HeadMesh, style: str, moustache_rise: float | None = None
) -> np.ndarray:
    """(S,) in [0, 1]: where ``style`` grows on this head.

    A moustache lies between the upper lip and the nose (drooping a little past
    the mouth corners); a goatee adds the chin below the lower lip and the sides
    of the mouth; beards cover the jaw and cheeks below a line rising from the
    mouth to the sideburns, in front of the ears, down under the jaw (a full
    beard further down the throat). Never the lips, never inside the mouth.
    ``moustache_rise``: how far the moustache's top rises toward its ends (IOD); None:
    the style's own (:data:`MOUSTACHE_RISE`, or :data:`BEARD_MOUSTACHE_RISE` in a beard).
    """
    if style not in FACIAL_HAIR_STYLES:
        raise ValueError(f"unknown facial hair style {style!r}; one of {FACIAL_HAIR_STYLES}")
    v = mesh.vertices.astype(np.float64)
    if style == "none":
        return np.zeros(len(v))
    frame = head_frame(head, mesh)
    iod = frame.iod
    marks = _landmarks(head).positions(v)
    cache = _topology_cache(head)
    skin = np.zeros(len(v))
    skin[cache.outer_vertices] = 1.0
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    ax = np.abs(x)
    corner_x = float(np.abs(marks[[61, 291], 0]).mean())
    nose_z = float(marks[_NOSE_BASE, 2])
    chin_z = float(marks[_CHIN, 2])
    upper = _contour_height(marks, _UPPER_LIP, x)
    lower = _contour_height(marks, _LOWER_LIP, x)
    front = _smoothstep(0.1, -0.35, mesh.normals[:, 1].astype(np.float64))
    not_lips = 1.0 - _inside_lips(marks, v, margin=0.05 * iod)

    # Moustache: above the upper lip's contour, below the nose, a little past the corners.
    half = corner_x + 0.1 * iod
    across = 1.0 - _smoothstep(half - 0.12 * iod, half, ax)
    droop = 0.06 * iod * _smoothstep(corner_x - 0.2 * iod, half, ax)  # the ends come down
    # Its top follows the nose's base out to the nostril wings' (rising 0.3 IOD toward
    # the corners, a thick moustache's sides climbed 12–19 mm past the wings: a box). In
    # a beard it joins the cheeks, rising toward them.
    rise = moustache_rise
    if rise is None:
        rise = MOUSTACHE_RISE if style in ("moustache", "goatee") else BEARD_MOUSTACHE_RISE
    top = nose_z - 0.04 * iod + rise * iod * _smoothstep(0.2 * iod, half, ax)
    above_lip = _smoothstep(upper - droop - 0.01 * iod, upper - droop + 0.05 * iod, z)
    below_nose = 1.0 - _smoothstep(top - 0.08 * iod, top, z)
    ahead = _smoothstep(
        marks[_UPPER_LIP_TOP, 1] + 0.6 * iod, marks[_UPPER_LIP_TOP, 1] + 0.3 * iod, y
    )
    moustache = across * above_lip * below_nose * ahead * front
    moustache *= (ax > corner_x - 0.1 * iod) | (z > upper + 0.0)  # not below the lip in the middle
    if style == "moustache":
        return np.clip(moustache * not_lips * skin, 0.0, 1.0)

    # Goatee: the moustache, the chin below the lower lip and the sides of the mouth.
    chin_half = corner_x + 0.05 * iod
    chin_across = 1.0 - _smoothstep(chin_half - 0.12 * iod, chin_half, ax)
    below_lip = 1.0 - _smoothstep(lower - 0.05 * iod, lower + 0.02 * iod, z)
    chin_bottom = _smoothstep(chin_z - 0.35 * iod, chin_z - 0.15 * iod, z)
    sides = (1.0 - _smoothstep(half - 0.1 * iod, half + 0.05 * iod, ax)) * _smoothstep(
        corner_x - 0.15 * iod, corner_x, ax
    )
    between = _smoothstep(chin_z, chin_z + 0.1 * iod, z) * (
        1.0 - _smoothstep(upper, upper + 0.1 * iod, z)
    )
    goatee = np.maximum(
        moustache, np.maximum(chin_across * below_lip * chin_bottom, sides * between)
    )
    goatee *= front * ahead
    if style == "goatee":
        return np.clip(goatee * not_lips * skin, 0.0, 1.0)

    # Beards: below a line from the nose base rising to the sideburns, before the ears.
    ear = frame.ear[1]
    side = np.clip(ax / (abs(ear[0]) * 0.95), 0.0, 1.0) ** 2
    cheek_line = nose_z + side * (frame.eye_z - 0.45 * iod - nose_z)
    below_line = 1.0 - _smoothstep(cheek_line - 0.12 * iod, cheek_line, z)
    before_ears = 1.0 - _smoothstep(ear[1] - 0.55 * iod, ear[1] - 0.3 * iod, y)
    depth = 0.95 if style == "full_beard" else 0.45
    neck = _smoothstep(chin_z - (depth + 0.15) * iod, chin_z - depth * iod, z)
    beard = np.maximum(below_line * before_ears * neck, goatee)
    weight = beard * not_lips * skin
    return np.clip(weight, 0.0, 1.0)


def build_facial_hair(
    head: HeadModel, mesh: HeadMesh, style: str, length: float = 0.5, seed: int = 0
) -> HairGeometry | None:
    """Facial hair of ``style`` (None for "none"): shells over the region, and for a
    moustache and beards cards that hang from it. ``length`` in [0, 1]."""
    if style not in FACIAL_HAIR_STYLES:
        raise ValueError(f"unknown facial hair style {style!r}; one of {FACIAL_HAIR_STYLES}")
    if style == "none":
        return None
    rng = np.random.default_rng(seed)
    frame = head_frame(head, mesh)
    weights = beard_weights(head, mesh, style)
    scale = 0.6 + 0.8 * float(np.clip(length, 0.0, 1.0))
    region = np.nonzero(weights > 0.02)[0]
    bind_tree = cKDTree(mesh.vertices[region])
    if style == "stubble":
        pieces = [_bristle_shell(head, mesh, weights, _SHELLS[style][0] * scale, rng)]
    else:
        pieces = [_region_shells(head, mesh, weights, _SHELLS[style], scale)]
    surface = HeadSurface.of(head, mesh)
    if style in ("moustache", "goatee", "short_beard", "full_beard"):
        card_length = {"moustache": _MOUSTACHE_CARD, "goatee": 0.02, "short_beard": 0.012,
                       "full_beard": 0.045}[style] * scale  # fmt: skip
        count = {"moustache": 70, "goatee": 160, "short_beard": 260, "full_beard": 420}[style]
        roots, normals = _sample_region(mesh, head, weights, count, rng)
        down = np.array([0.0, 0.0, -1.0])
        direction = _unit(0.55 * normals + down)
        if style == "moustache":  # fan out and down from the philtrum
            direction = _unit(direction + np.c_[np.sign(roots[:, 0]) * 0.2, np.zeros((count, 2))])
        knots = 5
        lengths = card_length * rng.uniform(0.6, 1.1, count)
        if style != "moustache":  # over the upper lip a beard is a moustache: longer
            # cards there would hang over the mouth and hide it
            lip = beard_weights(head, mesh, "moustache", BEARD_MOUSTACHE_RISE)  # the beard's
            lip = lip[cKDTree(mesh.vertices).query(roots)[1]]
            lengths = np.where(lip > 0.3, np.minimum(lengths, _MOUSTACHE_CARD * scale), lengths)
        offsets = rng.uniform(0.001, 0.004, count) * scale
        points = np.empty((count, knots, 3))
        points[:, 0] = roots + normals * 0.0005
        step = (lengths / (knots - 1))[:, None]
        for s in range(1, knots):
            direction = _unit(direction + 0.35 * down)
            candidate = surface.push_out(points[:, s - 1] + direction * step, offsets)
            direction = _unit(candidate - points[:, s - 1])
            points[:, s] = candidate
        width = rng.uniform(0.006, 0.012, count) * frame.iod / 0.064
        _, bind = bind_tree.query(points[:, :1].repeat(knots, 1).reshape(-1, 3))
        pieces.append(_cards(points, normals, width, 0.5, rng, region[bind].repeat(2)))
    return _merge(pieces)


def build_brows(
    head: HeadModel, mesh: HeadMesh, thickness: float = 0.5, seed: int = 0, arch: float = 0.0
) -> HairGeometry:
    """Eyebrows: short cards lying on the brow ridge, combed up at the inner end and
    out toward the temple along the rest. ``thickness`` in [0, 1]; ``arch`` in [0, 1]
    shapes a groomed brow: raised to a peak two-thirds of the way out, its inner hairs
    lying flatter (0: the brow ridge's own line)."""
    rng = np.random.default_rng(seed + 101)
    arch = float(np.clip(arch, 0.0, 1.0))
    v = mesh.vertices.astype(np.float64)
    marks = _landmarks(head).positions(v)
    surface = HeadSurface.of(head, mesh)
    thickness = float(np.clip(thickness, 0.0, 1.0))
    count = int(26 + 30 * thickness)
    pieces = []
    skin_tree_index = _topology_cache(head).outer_vertices
    tree = cKDTree(v[skin_tree_index])
    for upper, lower in _BROWS.values():
        up, lo = marks[list(upper)], marks[list(lower)]
        t = rng.uniform(0.0, 1.0, count)  # 0 outer … 1 inner
        across = rng.uniform(-0.5, 0.5, count) * (0.7 + 0.5 * thickness)
        centre = _along(0.5 * (up + lo), t)
        height = _along(up - lo, t)
        peak = np.exp(-(((t - BROW_PEAK) / 0.3) ** 2)) - np.exp(-((BROW_PEAK / 0.3) ** 2))
        raised = arch * BROW_ARCH * np.clip(peak, 0.0, None)  # in brow heights
        roots = centre + height * (across + raised)[:, None]
        normals = surface.normal_at(roots)
        roots = surface.push_out(roots, np.full(count, 0.0008))
        outward = _along(np.gradient(up, axis=0), t)  # toward the inner end as t grows
        lateral = _unit(-outward)  # toward the temple
        lift = np.array([0.0, 0.0, 1.0])
        inner = _smoothstep(0.65, 0.95, t)[:, None]
        rise = 1.0 - 0.6 * arch  # a groomed brow's inner hairs lie flatter
        direction = _unit(
            (1 - inner) * (lateral + 0.35 * rise * lift) + inner * (rise * lift + 0.2 * lateral)
        )
        direction = _unit(direction - np.einsum("ij,ij->i", direction, normals)[:, None] * normals)
        length = rng.uniform(0.007, 0.011, count) * (0.9 + 0.3 * thickness)
        knots = 3
        points = np.empty((count, knots, 3))
        points[:, 0] = roots
        for s in range(1, knots):
            candidate = points[:, s - 1] + direction * (length / (knots - 1))[:, None]
            points[:, s] = surface.push_out(candidate, np.full(count, 0.0008 + 0.0005 * s))
        width = rng.uniform(0.0025, 0.004, count) * (0.8 + 0.5 * thickness)
        _, bind = tree.query(roots)
        pieces.append(
            _cards(points, normals, width, 0.6, rng, skin_tree_index[bind].repeat(knots * 2))
        )
    return _merge(pieces)


def build_lashes(
    head: HeadModel, mesh: HeadMesh, seed: int = 0, upper_length: float = 1.0
) -> HairGeometry:
    """Eyelashes: one card per lid segment, rooted on the lid edge and curling up and
    out (the lower lid's shorter, curling down); bound to the lid's own vertices so
    they follow eyeBlink."""
    rng = np.random.default_rng(seed + 202)
    embedding = _landmarks(head)
    v = mesh.vertices.astype(np.float64)
    marks = embedding.positions(v)
    # The lid vertex each landmark follows: of its triangle's corners, the one that moves
    # most when the eye blinks (the lid's margin), so the lashes close with the lid.
    names = head.face_unit_names
    blink = sum(
        np.linalg.norm(mesh.face_unit_deltas[names.index(unit)], axis=1)
        for unit in ("eyeBlinkLeft", "eyeBlinkRight")
        if unit in names
    )
    blink = np.asarray(blink, dtype=np.float64)
    skin = np.zeros(len(v), dtype=bool)
    skin[_topology_cache(head).head_triangles.ravel()] = True
    candidates = np.nonzero(skin)[0]
    tree = cKDTree(v[candidates])

    def lid_vertex(landmark: int) -> int:
        """Of the skin vertices within 4 mm of the landmark, the one the blink moves most."""
        near = candidates[tree.query_ball_point(marks[landmark], 0.004)]
        if len(near) == 0:
            return int(candidates[tree.query(marks[landmark])[1]])
        return int(
            near[np.argmax(blink[near] - 0.01 * np.linalg.norm(v[near] - marks[landmark], axis=1))]
        )

    dominant = {i: lid_vertex(i) for lid in _LIDS.values() for edge in lid for i in edge}
    frame = head_frame(head, mesh)
    pieces = []
    for side, lids in _LIDS.items():
        eye_centre = mesh.bone_rest_matrices[head.bone_index(f"eye.{side}")][:3, 3]
        for which, lid in zip(("upper", "lower"), lids, strict=True):
            ids = list(lid[1:-1])  # leave the corners bare
            edge = marks[ids]
            knots_per_root = 4
            sign = 1.0 if which == "upper" else -1.0
            span = np.linspace(-1.0, 1.0, len(ids))
            length = UPPER_LASH * upper_length if which == "upper" else LOWER_LASH
            length = length * (1.0 - 0.35 * span**2)
            length *= frame.iod / 0.064
            out = _unit(edge - eye_centre)  # off the eyeball
            forward = _unit(out + np.array([0.0, -0.6, 0.0]))
            lift = np.array([0.0, 0.0, sign])
            points = np.empty((len(ids), knots_per_root, 3))
            for k in range(knots_per_root):
                t = k / (knots_per_root - 1)
                bend = _unit(forward * (1 - t) + lift * (0.2 + 1.1 * t))
                points[:, k] = edge + out * 0.0004 + bend * (length * t)[:, None] * 0.9
            # Strips between neighbouring roots: each card spans a lid segment.
            starts = points[:-1]
            ends = points[1:]
            centre = 0.5 * (starts + ends)
            width = np.linalg.norm(ends[:, 0] - starts[:, 0], axis=1) * 1.25
            normals = _unit(np.repeat(forward[:-1, None], 1, axis=1)[:, 0])
            lid_vertices = np.array([dominant[i] for i in ids])
            binds = np.stack([lid_vertices[:-1], lid_vertices[1:]], 1)
            geometry = _cards(centre, normals, width, 0.0, rng, None)
            # Left vertex of each pair follows its segment's first lid vertex, right the second.
            order = np.stack([binds[:, 0], binds[:, 1]], 1)
            geometry.bind_vertex = np.repeat(order[:, None, :], knots_per_root, axis=1).reshape(-1)
            pieces.append(geometry)
    return _merge(pieces)


# --- helpers --------------------------------------------------------------------------------


def _region_shells(
    head: HeadModel,
    mesh: HeadMesh,
    weights: np.ndarray,
    offsets: tuple[float, ...],
    scale: float,
) -> HairGeometry:
    """Offset copies of the region; strands run down (v from the region's top)."""
    cache = _topology_cache(head)
    triangles = cache.outer_triangles
    keep = weights[triangles].max(1) > 0.05
    used, local = np.unique(triangles[keep], return_inverse=True)
    local = local.reshape(-1, 3)
    p = mesh.vertices[used].astype(np.float64)
    n = cache.smooth(mesh)[used]
    w = weights[used]
    top, bottom = p[:, 2].max(), p[:, 2].min()
    u_local = np.clip(0.5 + p[:, 0] / max(np.ptp(p[:, 0]), 1e-6), 0.0, 1.0)
    v_local = (1.0 - w) + w * 0.85 * (top - p[:, 2]) / max(top - bottom, 1e-6)
    reach = _smoothstep(0.0, 0.6, w)
    pieces = []
    for k, offset in enumerate(offsets):
        region = SHELL_SPARSE_REGION if k > 0 else SHELL_DENSE_REGION
        layer_keep = w[local].max(1) > 0.05 + 0.3 * k / len(offsets)
        pieces.append(
            HairGeometry(
                vertices=(p + n * (_SKIN_GAP + offset * scale * reach)[:, None]).astype(np.float32),
                normals=n.astype(np.float32),
                uv=_in_region(np.stack([u_local, v_local], 1), region).astype(np.float32),
                triangles=local[layer_keep].astype(np.int32),
                bind_vertex=used.astype(np.int64),
                kind="shells",
            )
        )
    return _merge(pieces)


def _bristle_shell(
    head: HeadModel,
    mesh: HeadMesh,
    weights: np.ndarray,
    offset: float,
    rng: np.random.Generator,
) -> HairGeometry:
    """Stubble: one shell just off the skin whose sparse-tile dashes are bristles a
    millimetre or two long.

    Mapped across the whole region like a beard's shell, the tile's dashes (3–16 % of
    its height) would be centimetres long: streaks, not stubble. Here every triangle
    gets its own patch of the tile, :data:`BRISTLE_TILE` metres of skin to one tile,
    at a random place in it; the seams between patches do not show in a field of
    random bristles. Vertices are not shared between triangles (each has its own UVs).
    """
    cache = _topology_cache(head)
    triangles = cache.outer_triangles[weights[cache.outer_triangles].max(1) > 0.05]
    p = mesh.vertices.astype(np.float64)
    n = cache.smooth(mesh)
    reach = _smoothstep(0.0, 0.6, weights)
    corners = p[triangles]  # (T, 3, 3)
    facing = _unit(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]))
    # Bristles point down the skin (where it faces up or down, under the chin: forward);
    # v runs that way. Each is the direction's part along the skin: d − (d·n) n.
    down = np.array([0.0, 0.0, -1.0]) + facing * facing[:, 2:3]
    level = np.linalg.norm(down, axis=1) < 0.2
    down[level] = np.array([0.0, -1.0, 0.0]) + facing[level] * facing[level, 1:2]
    down = _unit(down)
    across = np.cross(facing, down)
    local = np.stack([np.einsum("tkj,tj->tk", corners, across),
                      np.einsum("tkj,tj->tk", corners, down)], -1) / BRISTLE_TILE  # fmt: skip
    local -= local.mean(1, keepdims=True)
    extent = np.abs(local).max(1)  # (T, 2): half-size of each patch in tile units
    place = rng.uniform(extent, np.maximum(1.0 - extent, extent))
    uv = np.clip(local + place[:, None, :], 0.0, 1.0).reshape(-1, 2)
    flat = triangles.reshape(-1)
    vertices = p[flat] + n[flat] * (_SKIN_GAP + offset * reach[flat])[:, None]
    return HairGeometry(
        vertices=vertices.astype(np.float32),
        normals=n[flat].astype(np.float32),
        uv=_in_region(uv, SHELL_SPARSE_REGION).astype(np.float32),
        triangles=np.arange(len(flat), dtype=np.int32).reshape(-1, 3),
        bind_vertex=flat.astype(np.int64),
        kind="shells",
    )


def _sample_region(
    mesh: HeadMesh, head: HeadModel, weights: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random points (area × weight) on the region's triangles, with normals."""
    cache = _topology_cache(head)
    tri = cache.outer_triangles
    corners = mesh.vertices[tri].astype(np.float64)
    area = 0.5 * np.linalg.norm(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
    )
    density = area * weights[tri].min(1) ** 2
    chosen = rng.choice(len(tri), size=count, p=density / density.sum())
    bary = rng.dirichlet(np.ones(3), size=count)
    points = np.einsum("ij,ijk->ik", bary, corners[chosen])
    normals = _unit(np.einsum("ij,ijk->ik", bary, cache.smooth(mesh)[tri[chosen]]))
    return points, normals


def _cards(
    points: np.ndarray,
    normals: np.ndarray,
    width: np.ndarray,
    taper: float,
    rng: np.random.Generator,
    bind_vertex: np.ndarray | None,
) -> HairGeometry:
    """Strips along (C, K, 3) centre lines, each reading a random window of the card region."""
    count, knots = points.shape[:2]
    if bind_vertex is None:
        bind_vertex = np.zeros(count * knots * 2, dtype=np.int64)
    return card_strips(points, normals, width, taper, rng.uniform(0.0, 0.8, count), 0.18,
                       bind_vertex)  # fmt: skip


def _contour_height(marks: np.ndarray, ids: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """Height of a lip contour (landmarks ``ids``, side to side) above each x."""
    points = marks[list(ids)]
    order = np.argsort(points[:, 0])
    return np.interp(x, points[order, 0], points[order, 2])


def _inside_lips(marks: np.ndarray, v: np.ndarray, margin: float) -> np.ndarray:
    """1 where a vertex lies within the lips' outline seen from the front (any depth in
    front of the ears: the lips and the mouth behind them), grown by ``margin``."""
    outline = marks[list(_LIPS_OUTER)][:, [0, 2]]
    centre = outline.mean(0)
    grown = centre + (outline - centre) * (1.0 + margin / np.abs(outline - centre).max(0))
    px, pz = v[:, 0], v[:, 2]
    inside = np.zeros(len(v), dtype=bool)
    for (ax, az), (bx, bz) in zip(grown, np.roll(grown, -1, axis=0), strict=True):
        crosses = (az > pz) != (bz > pz)
        at = ax + (pz - az) * (bx - ax) / np.where(bz == az, 1e-12, bz - az)
        inside ^= crosses & (px < at)
    in_front = v[:, 1] < marks[_UPPER_LIP_TOP, 1] + 0.06
    return (inside & in_front).astype(np.float64)


def _along(points: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points interpolated along a polyline (K, 3) at fractions ``t`` (0 first, 1 last)."""
    position = np.clip(t, 0.0, 1.0) * (len(points) - 1)
    low = np.minimum(position.astype(np.int64), len(points) - 2)
    f = (position - low)[:, None]
    return points[low] * (1 - f) + points[low + 1] * f
