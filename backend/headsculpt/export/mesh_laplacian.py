"""Cotangent Laplacian, lumped mass, welding, and Laplacian inpainting on triangle meshes.

Rig transfer fills the values of vertices it could not match (skin weights, face-unit
offsets) by the smoothest extension of the matched ones: minimise ``xᵀ Q x`` with
``Q = −L + L M⁻¹ L`` (Abdrashitov et al. 2023, Robust Skin Weights Transfer) and the
matched rows fixed. Registration regularises a displacement field with the same L.

Meshes read from files are split at UV seams; a Laplacian on the split mesh would see
every seam as a boundary, so the operators are built on *welded* vertices (one per
position) and values are mapped back through the weld.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg
from scipy.spatial import cKDTree

from headsculpt.export.mesh_budget import grid_keys

_COT_LIMIT = 1e4  # near-degenerate triangles: cotangents are clamped, not infinite


def weld_vertices(vertices: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices closer than ``tolerance`` become one: (welded positions, split → welded map).

    Linear in the vertices whatever their shape (n log n for the sorts): each vertex is
    joined to the first vertex of its cell in eight grids of cells ``2 × tolerance`` wide,
    offset from each other by half a cell along each axis, and the joined groups are the
    connected components. Two vertices closer than ``tolerance`` along every axis share a
    cell in at least one of the grids, so they are always one; vertices up to
    ``2√3 × tolerance`` apart may be. (Listing every pair within the tolerance, as a k-d
    tree's ``query_pairs`` does, costs k²/2 for k copies of one point.)
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    count = len(vertices)
    if tolerance <= 0.0 or count == 0:
        return vertices.copy(), np.arange(count)
    cell = 2.0 * tolerance
    low = vertices.min(0)
    rows, columns = [], []
    for shift in itertools.product((0.0, 0.5), repeat=3):
        keys = grid_keys(vertices, cell, low - np.asarray(shift) * cell)
        _, first, inverse = np.unique(keys, axis=0 if keys.ndim == 2 else None,
                                      return_index=True, return_inverse=True)  # fmt: skip
        inverse = inverse.ravel()
        joined = first[inverse] != np.arange(count)
        rows.append(np.nonzero(joined)[0])
        columns.append(first[inverse][joined])
    rows, columns = np.concatenate(rows), np.concatenate(columns)
    graph = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, columns)), shape=(count, count))
    _, label = scipy.sparse.csgraph.connected_components(graph, directed=False)
    # Number groups by their first vertex so the weld is deterministic and order-stable.
    first = np.full(label.max() + 1, count)
    np.minimum.at(first, label, np.arange(count))
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    mapping = rank[label]
    welded = np.zeros((len(order), 3))
    np.add.at(welded, mapping, vertices)
    welded /= np.bincount(mapping, minlength=len(order))[:, None]
    return welded, mapping


def cotangent_laplacian(vertices: np.ndarray, triangles: np.ndarray) -> scipy.sparse.csr_matrix:
    """L with L_ij = ½(cot α_ij + cot β_ij) and rows summing to 0 (negative semi-definite)."""
    vertices = np.asarray(vertices, dtype=np.float64)
    triangles = np.asarray(triangles, dtype=np.int64)
    count = len(vertices)
    rows, cols, values = [], [], []
    for k in range(3):
        i, j, o = triangles[:, (k + 1) % 3], triangles[:, (k + 2) % 3], triangles[:, k]
        u, v = vertices[i] - vertices[o], vertices[j] - vertices[o]
        cross = np.linalg.norm(np.cross(u, v), axis=1)
        cot = (u * v).sum(1) / np.maximum(cross, 1e-30)
        cot = np.clip(cot, -_COT_LIMIT, _COT_LIMIT) * 0.5
        rows += [i, j]
        cols += [j, i]
        values += [cot, cot]
    off = scipy.sparse.coo_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(count, count),
    ).tocsr()
    diagonal = np.asarray(off.sum(1)).ravel()
    return (off - scipy.sparse.diags(diagonal)).tocsr()


def mass_matrix(vertices: np.ndarray, triangles: np.ndarray) -> scipy.sparse.dia_matrix:
    """Lumped (barycentric) mass: a third of each incident triangle's area per vertex."""
    corners = np.asarray(vertices, dtype=np.float64)[triangles]
    area = 0.5 * np.linalg.norm(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
    )
    mass = np.zeros(len(vertices))
    for k in range(3):
        np.add.at(mass, triangles[:, k], area / 3.0)
    floor = max(float(np.median(mass[mass > 0])) * 1e-3, 1e-30) if (mass > 0).any() else 1.0
    return scipy.sparse.diags(np.maximum(mass, floor))  # isolated vertices get a small mass


def inpaint(
    vertices: np.ndarray,
    triangles: np.ndarray,
    values: np.ndarray,
    known: np.ndarray,
) -> np.ndarray:
    """Fill the rows of ``values`` (V, C) where ``known`` is False by the smoothest extension.

    Solves ``Q_uu x_u = −Q_uk x_k`` with ``Q = −L + L M⁻¹ L``. A piece of the mesh with no
    known vertex at all has no boundary condition; its vertices take the values of the
    nearest known vertex in space instead.
    """
    values = np.array(values, dtype=np.float64, copy=True)
    known = np.asarray(known, dtype=bool)
    unknown = np.nonzero(~known)[0]
    if len(unknown) == 0:
        return values
    if not known.any():
        raise ValueError("nothing to inpaint from: no vertex was matched")
    count = len(vertices)
    graph = _adjacency(triangles, count)
    _, component = scipy.sparse.csgraph.connected_components(graph, directed=False)
    anchored = np.zeros(component.max() + 1, dtype=bool)
    anchored[component[known]] = True
    solvable = unknown[anchored[component[unknown]]]
    orphans = unknown[~anchored[component[unknown]]]

    if len(solvable):
        L = cotangent_laplacian(vertices, triangles)
        M = mass_matrix(vertices, triangles)
        Q = (-L + L @ scipy.sparse.diags(1.0 / M.diagonal()) @ L).tocsr()
        fixed = np.nonzero(known)[0]
        Q_uu = Q[solvable][:, solvable].tocsc()
        # A whisker of the mass keeps the system definite where the mesh is degenerate.
        Q_uu = Q_uu + scipy.sparse.diags(np.full(len(solvable), 1e-9 * abs(Q_uu.diagonal()).max()))
        rhs = -(Q[solvable][:, fixed] @ values[fixed])
        solver = scipy.sparse.linalg.splu(Q_uu.tocsc())
        values[solvable] = solver.solve(np.asarray(rhs).reshape(len(solvable), -1)).reshape(
            (len(solvable),) + values.shape[1:]
        )
    if len(orphans):
        _, nearest = cKDTree(np.asarray(vertices)[known]).query(np.asarray(vertices)[orphans])
        values[orphans] = values[np.nonzero(known)[0][nearest]]
    return values


def _adjacency(triangles: np.ndarray, count: int) -> scipy.sparse.coo_matrix:
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    return scipy.sparse.coo_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(count, count)
    )
