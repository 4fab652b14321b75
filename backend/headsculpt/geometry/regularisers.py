"""Losses that keep the sculpted shape plausible where score distillation says nothing.

Score distillation only judges renders, so on its own it happily grows fog (the
coarse field) and crumpled, spiky surfaces (the mesh). These terms, weighted into
the stage losses, push back: normals that face away from the camera while visible
(DreamFusion's orientation loss), semi-transparent fog (sparsity), and rough
meshes (Laplacian smoothness, normal consistency). Plain torch, differentiable.
"""

from __future__ import annotations

import torch

from headsculpt.mesh_edges import MeshEdges


def orientation_loss(
    normals: torch.Tensor, view_dirs: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """DreamFusion: Σ weight · max(0, n · d)² / N over ray samples.

    ``view_dirs`` (N, 3) are ray directions, camera → point; a visible surface should
    face back along them (n · d < 0). ``weights`` (N,) are the samples' rendering
    weights, so only what the image shows is penalised.
    """
    facing_away = (normals * view_dirs).sum(-1).clamp_min(0.0)
    return (weights.reshape(-1) * facing_away.square()).sum() / max(len(normals), 1)


def sparsity_loss(opacity: torch.Tensor, kind: str = "mean") -> torch.Tensor:
    """Discourage fog: mean opacity, or (``kind="entropy"``) the binary entropy of each
    pixel's opacity, which pushes it toward fully empty or fully opaque."""
    if kind == "mean":
        return opacity.mean()
    if kind == "entropy":
        o = opacity.clamp(1e-5, 1.0 - 1e-5)
        return -(o * torch.log(o) + (1.0 - o) * torch.log(1.0 - o)).mean()
    raise ValueError(f"kind must be mean or entropy, got {kind!r}")


def mesh_edges(faces: torch.Tensor) -> torch.Tensor:
    """(E, 2) unique undirected edges of (F, 3) faces, low id first."""
    return MeshEdges.of(faces).ends


def uniform_laplacian(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(V, 3): the mean of each vertex's neighbours minus the vertex (0 for isolated ones).

    Zero wherever a vertex sits at its neighbours' centroid, as inside a flat regular grid.
    """
    edges = mesh_edges(faces)
    total = torch.zeros_like(vertices)
    total = total.index_add(0, edges[:, 0], vertices[edges[:, 1]])
    total = total.index_add(0, edges[:, 1], vertices[edges[:, 0]])
    degree = torch.zeros(len(vertices), dtype=vertices.dtype, device=vertices.device)
    ones = torch.ones(len(edges), dtype=vertices.dtype, device=vertices.device)
    degree = degree.index_add(0, edges[:, 0], ones).index_add(0, edges[:, 1], ones)
    used = degree > 0
    mean = total / degree.clamp_min(1.0)[:, None]
    return torch.where(used[:, None], mean - vertices, torch.zeros_like(vertices))


def laplacian_smoothness(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean squared length of the uniform Laplacian: small on smooth, even meshes."""
    return uniform_laplacian(vertices, faces).square().sum(-1).mean()


def normal_consistency(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean of 1 − cos(angle between the normals of the two faces on each shared edge).

    0 on a plane; grows with creases. Edges with one face (borders) or more than two
    (non-manifold) are skipped. Faces must be consistently wound.
    """
    corners = vertices[faces]
    normals = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = torch.nn.functional.normalize(normals, dim=-1, eps=1e-12)
    first, second = MeshEdges.of(faces).shared_sides()
    pairs = torch.stack([first, second], dim=1) // 3  # the two faces on each shared edge
    if len(pairs) == 0:
        return vertices.new_zeros(())
    cosine = (normals[pairs[:, 0]] * normals[pairs[:, 1]]).sum(-1)
    return (1.0 - cosine).mean()
