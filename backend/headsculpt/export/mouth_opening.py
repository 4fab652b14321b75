"""Open a sculpted head's closed lips along the mouth line, with a pocket behind them.

A sculpted surface (marching tetrahedra) has no mouth: its lips are one closed sheet, so
the rig's jawOpen can only stretch the skin between them and drags the upper lip down
with the lower (docs/sculpt.md). Here the surface is cut along the mouth line — the
midline of MediaPipe's inner-lip contours, from the prior's landmarks moved onto the
surface — and the two sides of the cut are joined by a pocket behind the lips (the
mouth's inside). At rest the lips still meet (they part by ``gap``, a fraction of a
millimetre) and the mesh is still closed; rigged, the cut's lower side and the pocket's
lower half can follow the jaw while the upper lip stays.

Everything is in one frame built from the landmarks: across the mouth from corner to
corner, up from the lower lip to the upper, and out of the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
from scipy.spatial import cKDTree

from headsculpt.export.surface_query import TriangleSurface
from headsculpt.prior.head_model import vertex_normals

MOUTH_INSIDE_PART = "MouthInside"  # the pocket's part (and mesh) name in a GLB

# MediaPipe FaceMesh's inner-lip contours, corner (78) to corner (308).
UPPER_INNER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
_UPPER_LIP_TOP, _LOWER_LIP_BOTTOM = 0, 17


@dataclass(frozen=True)
class MouthOpeningConfig:
    """Sizes as fractions of the mouth's width (inner corner to inner corner)."""

    gap: float = 0.01  # the lips' parting at rest, at the middle (0 at the corners)
    depth: float = 0.5  # how far the pocket reaches behind the lips
    height: float = 0.2  # how far it bulges above and below the mouth line
    reach: float = 0.25  # surface this far above or below the line may be cut …
    thickness: float = 0.2  # … if it lies at most this far behind the line
    band: float = 0.08  # vertices this close to the cut take their rig from beyond it
    lips: float = 0.4  # surface this far above / below the cut is the upper / lower lip
    min_span: float = 0.5  # a cut spanning less of the mouth's width is not made
    rings: int = 8  # pocket rows from the upper lip round to the lower

    def __post_init__(self) -> None:
        for name in ("gap", "depth", "height", "reach", "thickness", "band", "lips", "min_span"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.rings < 2:
            raise ValueError(f"rings must be at least 2, got {self.rings}")


@dataclass
class OpenedMouth:
    """The surface cut open along the mouth line, and the pocket joining the two sides.

    ``vertices`` holds the surface's vertices (its own, then the points where the cut
    crosses its edges, then the cut's lower-side copies): the first ``surface_count``;
    then the pocket's own vertices. The pocket's rim is the cut's two sides, shared
    with the surface. With no cut made (``cut`` empty) the surface is returned
    unchanged and the pocket is empty.
    """

    vertices: np.ndarray  # (V, 3)
    triangles: np.ndarray  # (F, 3) the surface's, into the first surface_count vertices
    pocket: np.ndarray  # (P, 3) the pocket's, into all vertices
    surface_count: int
    free: np.ndarray  # (V,) bool: near the cut or in the pocket — rig these from beyond
    sides: np.ndarray  # (V,) int8: +1 the upper lip, −1 the lower (0 elsewhere)
    cut: np.ndarray  # (N, 2) the split vertices corner to corner: (upper side, lower side)

    @property
    def cut_nodes(self) -> int:
        """Vertices along the cut that were split in two (0: nothing was cut)."""
        return len(self.cut)


def mouth_line(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(11, 3) points along the mouth line, corner to corner — the inner lips' midline —
    and the direction from the lower lip to the upper, from (478, 3) landmarks."""
    line = 0.5 * (landmarks[list(UPPER_INNER_LIP)] + landmarks[list(LOWER_INNER_LIP)])
    up = landmarks[_UPPER_LIP_TOP] - landmarks[_LOWER_LIP_BOTTOM]
    return line, up / max(float(np.linalg.norm(up)), 1e-12)


def open_mouth(
    vertices: np.ndarray,
    triangles: np.ndarray,
    line: np.ndarray,
    up: np.ndarray,
    config: MouthOpeningConfig | None = None,
) -> OpenedMouth:
    """Cut the closed surface along ``line`` (points from one mouth corner to the other,
    near the surface) and add the pocket behind the cut."""
    config = config or MouthOpeningConfig()
    vertices = np.asarray(vertices, dtype=np.float64)
    triangles = np.asarray(triangles, dtype=np.int64)
    frame = _MouthFrame.build(vertices, triangles, line, up)
    width = frame.width

    # 1. Where the surface crosses the mouth line: edges whose ends lie on either side.
    across, height, behind = frame.coordinates(vertices)
    inside = (
        (across > frame.start)
        & (across < frame.end)
        & (np.abs(height) < config.reach * width)
        & (behind < config.thickness * width)
    )
    above = height >= 0.0
    edges, edge_of = _edges(triangles)
    crossing = (
        inside[edges[:, 0]] & inside[edges[:, 1]] & (above[edges[:, 0]] != above[edges[:, 1]])
    )
    crossing_id = np.full(len(edges), -1)
    crossing_id[crossing] = len(vertices) + np.arange(int(crossing.sum()))
    h0, h1 = height[edges[crossing, 0]], height[edges[crossing, 1]]
    t = (h0 / (h0 - h1))[:, None]
    points = vertices[edges[crossing, 0]] * (1 - t) + vertices[edges[crossing, 1]] * t
    all_vertices = np.concatenate([vertices, points])

    # 2. Split the triangles those edges cross (two pieces where the crossing ends, three
    # where it passes through), and link the crossing points into paths.
    pieces, piece_above, links = _split(triangles, edge_of, crossing_id, above)
    path = _longest_path(links, len(all_vertices), frame.coordinates(all_vertices)[0])
    if (
        path is None
        or len(path) < 3
        or np.ptp(frame.coordinates(all_vertices[path])[0]) < config.min_span * width
    ):
        return _unopened(all_vertices, pieces)

    # 3. The path's inner points are split in two: pieces below the line take the copy.
    nodes = path[1:-1]
    copies = len(all_vertices) + np.arange(len(nodes))
    copy_of = np.arange(len(all_vertices) + len(nodes))
    copy_of[nodes] = copies
    below = ~piece_above
    pieces[below] = copy_of[pieces[below]]
    arc = np.concatenate(
        [[0.0], np.cumsum(np.linalg.norm(np.diff(all_vertices[path], axis=0), axis=1))]
    )
    # 0 at the corners, 1 in the middle (clipped: the square root below warned of a
    # value under 0 in CI runs of tiny random models; not reproduced)
    taper = np.clip(np.sin(np.pi * arc / arc[-1]), 0.0, 1.0)
    parting = 0.5 * config.gap * width * taper[1:-1, None] * frame.up
    node_positions = all_vertices[nodes]
    all_vertices = np.concatenate([all_vertices, node_positions - parting])
    all_vertices[nodes] = node_positions + parting
    surface_count = len(all_vertices)

    # 4. The pocket: rows from the upper side round behind the lips to the lower side,
    # shrinking to nothing at the corners.
    pocket_vertices, pocket = _pocket(all_vertices, path, copies, np.sqrt(taper), frame, config)
    pocket_start = len(all_vertices)
    all_vertices = np.concatenate([all_vertices, pocket_vertices])
    pocket = _agree_in_winding(pocket, pieces, path[0], path[1])

    free = np.zeros(len(all_vertices), dtype=bool)
    near = cKDTree(all_vertices[path]).query(all_vertices[:surface_count])[0]
    free[:surface_count] = near < config.band * width
    free[pocket_start:] = True
    sides = np.zeros(len(all_vertices), dtype=np.int8)
    across, height, behind = frame.coordinates(all_vertices[:surface_count])
    lips = (
        (across > frame.start)
        & (across < frame.end)
        & (np.abs(height) < config.lips * width)
        & (behind < config.thickness * width)
    )
    sides[:surface_count][lips] = np.where(height[lips] >= 0.0, 1, -1)
    sides[nodes], sides[copies] = 1, -1
    cut = np.stack([nodes, copies], axis=1)
    return OpenedMouth(all_vertices, pieces, pocket, surface_count, free, sides, cut)


@dataclass(frozen=True)
class _MouthFrame:
    """Across the mouth (corner to corner), up (lower lip to upper) and out of the face,
    centred between the corners; the mouth line as height and depth over ``across``."""

    centre: np.ndarray
    across_axis: np.ndarray
    up: np.ndarray
    out: np.ndarray
    line_across: np.ndarray
    line_height: np.ndarray
    line_depth: np.ndarray

    @classmethod
    def build(cls, vertices, triangles, line, up) -> _MouthFrame:
        line = TriangleSurface(vertices, triangles).closest(np.asarray(line, np.float64)).points
        centre = 0.5 * (line[0] + line[-1])
        across = line[-1] - line[0]
        across /= max(float(np.linalg.norm(across)), 1e-12)
        up_axis = up - np.dot(up, across) * across  # the landmarks' up, square to across
        up_axis /= max(float(np.linalg.norm(up_axis)), 1e-12)
        out = np.cross(across, up_axis)
        near = cKDTree(vertices).query(line, k=min(8, len(vertices)))[1]
        if np.dot(out, vertex_normals(vertices, triangles)[near.ravel()].sum(0)) < 0:
            out = -out  # out of the face, as the surface around the line faces
        offsets = line - centre
        order = np.argsort(offsets @ across)
        return cls(centre, across, up_axis, out, (offsets @ across)[order],
                   (offsets @ up_axis)[order], (offsets @ out)[order])  # fmt: skip

    @property
    def start(self) -> float:
        return float(self.line_across[0])

    @property
    def end(self) -> float:
        return float(self.line_across[-1])

    @property
    def width(self) -> float:
        return self.end - self.start

    def coordinates(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(across, height above the line, depth behind the line) of each point."""
        offsets = points - self.centre
        across = offsets @ self.across_axis
        height = offsets @ self.up - np.interp(across, self.line_across, self.line_height)
        behind = np.interp(across, self.line_across, self.line_depth) - offsets @ self.out
        return across, height, behind


def _edges(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges, and each triangle's edge ids: edge k joins corner k, k+1."""
    directed = np.stack([triangles, np.roll(triangles, -1, axis=1)], axis=2).reshape(-1, 2)
    edges, edge_of = np.unique(np.sort(directed, axis=1), axis=0, return_inverse=True)
    return edges, edge_of.reshape(-1, 3)


def _split(triangles, edge_of, crossing_id, above):
    """Triangles cut where ``crossing_id`` marks their edges: (pieces, whether each piece
    lies above the line, pairs of crossing points joined inside one triangle)."""
    kept = crossing_id[edge_of] < 0
    counts = (~kept).sum(1)
    pieces = [triangles[counts == 0]]
    sides = [above[triangles[counts == 0]].any(1)]  # never touch the cut; side unused
    links = []
    for face in np.nonzero(counts > 0)[0]:
        corners, ids = triangles[face], crossing_id[edge_of[face]]
        if counts[face] == 1:  # the crossing ends here: fan from the crossed edge
            k = int(np.nonzero(ids >= 0)[0][0])
            a, b, c = corners[k], corners[(k + 1) % 3], corners[(k + 2) % 3]
            p = ids[k]
            pieces.append(np.array([[a, p, c], [p, b, c]]))
            sides.append(np.array([above[a], above[b]]))
            continue
        # Two crossed edges: the corner between them is alone on its side.
        k = int(np.nonzero(ids < 0)[0][0])  # the uncrossed edge: corners k and k+1
        a, b, c = corners[(k + 2) % 3], corners[k], corners[(k + 1) % 3]  # winding kept
        p_ab, p_ca = ids[(k + 2) % 3], ids[(k + 1) % 3]  # on edges k+2 (a, b), k+1 (c, a)
        pieces.append(np.array([[a, p_ab, p_ca], [p_ab, b, c], [p_ab, c, p_ca]]))
        sides.append(np.array([above[a], above[b], above[b]]))
        links.append((p_ab, p_ca))
    pieces = np.concatenate([p.reshape(-1, 3) for p in pieces]).astype(np.int64)
    sides = np.concatenate(sides)
    return pieces, sides, np.array(links, dtype=np.int64).reshape(-1, 2)


def _longest_path(links: np.ndarray, count: int, across: np.ndarray) -> np.ndarray | None:
    """The chain of crossing points that spans the mouth furthest, in order from the
    first corner to the second (None: no open chain)."""
    if len(links) == 0:
        return None
    graph = scipy.sparse.coo_matrix(
        (np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(count, count)
    ).tocsr()
    graph = graph + graph.T
    degree = np.asarray((graph > 0).sum(1)).ravel()
    _, label = scipy.sparse.csgraph.connected_components(graph, directed=False)
    best, best_span = None, -1.0
    for component in np.unique(label[links[:, 0]]):
        members = np.nonzero(label == component)[0]
        ends = members[degree[members] == 1]
        if len(ends) != 2:  # a loop (or a branch, which a manifold cannot make)
            continue
        span = float(np.ptp(across[members]))
        if span > best_span:
            best, best_span = (members, ends), span
    if best is None:
        return None
    members, ends = best
    neighbours = {
        int(m): list(graph.indices[graph.indptr[m] : graph.indptr[m + 1]]) for m in members
    }
    path, previous = [int(ends[0])], -1
    while len(path) < len(members):
        step = [n for n in neighbours[path[-1]] if n != previous]
        previous = path[-1]
        path.append(int(step[0]))
    path = np.array(path)
    return path if across[path[0]] < across[path[-1]] else path[::-1]


def _pocket(vertices, path, copies, width_taper, frame, config):
    """The pocket's new vertices and triangles: row k of ``rings`` runs from the upper
    side (k = 0) back behind the lips and round to the lower side (k = rings)."""
    rings = config.rings
    t = np.arange(1, rings) / rings
    upper, lower = vertices[path[1:-1]], vertices[copies]
    w = width_taper[1:-1, None, None] * frame.width
    bulge = (
        config.depth * np.sin(np.pi * t)[None, :, None] * -frame.out
        + config.height * np.sin(2 * np.pi * t)[None, :, None] * frame.up
    )
    rows = upper[:, None] * (1 - t)[None, :, None] + lower[:, None] * t[None, :, None] + w * bulge
    start = len(vertices)
    grid = np.empty((len(path), rings + 1), dtype=np.int64)
    grid[0, :], grid[-1, :] = path[0], path[-1]
    grid[1:-1, 0] = path[1:-1]
    grid[1:-1, -1] = copies
    grid[1:-1, 1:-1] = start + np.arange(rows.shape[0] * rows.shape[1]).reshape(rows.shape[:2])
    a, b = grid[:-1, :-1], grid[1:, :-1]
    c, d = grid[1:, 1:], grid[:-1, 1:]
    triangles = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                                np.stack([a, c, d], -1).reshape(-1, 3)])  # fmt: skip
    distinct = (
        (triangles[:, 0] != triangles[:, 1])
        & (triangles[:, 1] != triangles[:, 2])
        & (triangles[:, 2] != triangles[:, 0])
    )
    return rows.reshape(-1, 3), triangles[distinct]


def _agree_in_winding(pocket: np.ndarray, pieces: np.ndarray, first: int, second: int):
    """The pocket wound so that it and the surface form one consistently oriented sheet:
    the cut's first link (``first`` → ``second``) must run opposite ways in the two."""

    def runs(triangles: np.ndarray) -> bool:
        return any(
            ((triangles[:, k] == first) & (triangles[:, (k + 1) % 3] == second)).any()
            for k in range(3)
        )

    return pocket[:, ::-1].copy() if runs(pocket) == runs(pieces) else pocket


def _unopened(vertices: np.ndarray, pieces: np.ndarray) -> OpenedMouth:
    nothing = np.zeros(len(vertices), dtype=bool)  # no vertex is inpainted
    return OpenedMouth(vertices, pieces, np.zeros((0, 3), np.int64), len(vertices), nothing,
                       np.zeros(len(vertices), np.int8), np.zeros((0, 2), np.int64))  # fmt: skip
