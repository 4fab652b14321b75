"""A mesh's edges as the regularisers and the antialiasing read them (headsculpt.mesh_edges)."""

from __future__ import annotations

import torch

from headsculpt.mesh_edges import MeshEdges


def test_two_triangles_share_their_diagonal_and_nothing_else():
    # 3 ─ 2      side k of a triangle runs from its corner k to corner k+1
    # │ ╱ │
    # 0 ─ 1
    edges = MeshEdges.of(torch.tensor([[0, 1, 2], [0, 2, 3]]))
    assert edges.ends.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [2, 3]]
    assert edges.uses.tolist() == [1, 2, 1, 1, 1]
    # Triangle 0: 0→1, 1→2, 2→0; triangle 1: 0→2, 2→3, 3→0 (as indices into ``ends``).
    assert edges.of_side.tolist() == [[0, 3, 1], [1, 4, 2]]
    first, second = edges.shared_sides()
    assert first.tolist() == [2] and second.tolist() == [3]  # 3·0 + 2 and 3·1 + 0


def test_large_vertex_ids_keep_their_edges_apart():
    """Each edge is one integer (low · n + high): the highest id must not wrap into the
    next row."""
    top = 10**6
    edges = MeshEdges.of(torch.tensor([[0, top, 1], [1, top, 2]]))
    assert edges.ends.tolist() == [[0, 1], [0, top], [1, 2], [1, top], [2, top]]
    assert edges.uses.tolist() == [1, 1, 1, 2, 1]


def test_an_edge_of_three_triangles_is_not_shared_by_a_pair():
    fin = torch.tensor([[0, 1, 2], [1, 0, 3], [0, 1, 4]])
    edges = MeshEdges.of(fin)
    assert edges.uses[edges.of_side[0, 0]] == 3
    first, second = edges.shared_sides()
    assert first.numel() == 0 and second.numel() == 0


def test_a_closed_tetrahedron_pairs_every_side():
    tetrahedron = torch.tensor([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])
    edges = MeshEdges.of(tetrahedron)
    assert len(edges.ends) == 6 and edges.uses.tolist() == [2] * 6
    first, second = edges.shared_sides()
    sides = torch.cat([first, second])
    assert sorted(sides.tolist()) == list(range(12))  # each side in exactly one pair
    # The two sides of a pair are the same edge, walked in opposite directions.
    flat = tetrahedron.reshape(-1)
    start = flat[sides]
    end = tetrahedron.roll(-1, dims=1).reshape(-1)[sides]
    half = len(first)
    assert torch.equal(start[:half], end[half:]) and torch.equal(end[:half], start[half:])


def test_no_triangles_no_edges():
    edges = MeshEdges.of(torch.zeros((0, 3), dtype=torch.int64))
    assert edges.ends.shape == (0, 2) and edges.of_side.shape == (0, 3)
    assert edges.shared_sides()[0].numel() == 0
