"""The coarse stage's radiance field: density and albedo at any point of the box.

Score distillation renders this field by volume rendering from random views. It
starts from the head the prompt shaped: a density *bias* read from the prior's
signed distance is added to the network's raw output, and the network's last
layer starts at zero, so at step 0 the field is exactly "dense inside the prior
mesh, empty outside" and the optimiser sculpts from there rather than from a blob.
Points outside the box have no density, so nothing grows where no camera frames it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from headsculpt.bounds import Box
from headsculpt.geometry.hash_grid import HashGridConfig, HashGridEncoding
from headsculpt.geometry.prior_sdf import GridSDF

_TRUNC_EXP_MAX = 15.0  # threestudio's trunc_exp: exp forward, gradient capped at exp(15)


@dataclass(frozen=True)
class DensityFieldConfig:
    """Box, encoding, MLP and the prior's density bias.

    The bias goes from ``prior_strength`` deep inside the prior to ``prior_floor`` far
    outside (default −strength: 0 on its surface), a sigmoid of ``sdf × prior_sharpness``.
    ``prior_sharpness`` is per world unit (metres for the head): 1 / sharpness is the
    width of the transition. A higher floor keeps the air transparent but lets density
    grow where the prior has none: the gradient that grows it scales with e^floor.
    """

    box: Box = Box()
    encoding: HashGridConfig = field(default_factory=HashGridConfig)
    hidden_width: int = 64
    hidden_layers: int = 1  # 1 or 2
    prior_strength: float = 5.0
    prior_sharpness: float = 20.0
    prior_floor: float | None = None  # the bias far outside; None: −prior_strength
    activation: str = "trunc_exp"  # or "softplus"

    def __post_init__(self) -> None:
        if self.hidden_layers not in (1, 2):
            raise ValueError(f"hidden_layers must be 1 or 2, got {self.hidden_layers}")
        if self.activation not in ("trunc_exp", "softplus"):
            raise ValueError(f"activation must be trunc_exp or softplus, got {self.activation}")


class DensityField(nn.Module):
    """World points → (density ≥ 0, albedo in [0, 1]) from one hash grid and one small MLP."""

    def __init__(
        self,
        config: DensityFieldConfig | None = None,
        prior: GridSDF | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        """``device``: where the whole field lives (its hash grid is built there, so
        tiny-cuda-nn stands behind it on CUDA when importable)."""
        super().__init__()
        self.config = config or DensityFieldConfig()
        self.encoding = HashGridEncoding(self.config.encoding, device)
        self.mlp = small_mlp(
            self.encoding.output_dim, self.config.hidden_width, self.config.hidden_layers, outputs=4
        ).to(device)
        self.prior = None if prior is None else prior.to(device)  # a submodule: moves with it

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3) world points → density (N,), albedo (N, 3)."""
        raw = self.mlp(self.encoding(self.config.box.to_unit(points)))
        density = self._activate(raw[:, 0] + self.density_bias(points))
        density = torch.where(self.config.box.contains(points), density, torch.zeros_like(density))
        return density, torch.sigmoid(raw[:, 1:])

    def albedo_only(self, points: torch.Tensor) -> torch.Tensor:
        """(N, 3) albedo without the density's bias and activation (texture baking)."""
        return torch.sigmoid(self.mlp(self.encoding(self.config.box.to_unit(points)))[:, 1:])

    def density_bias(self, points: torch.Tensor) -> torch.Tensor:
        """(N,) the prior's pre-activation bias; zero without a prior."""
        if self.prior is None:
            return torch.zeros(len(points), dtype=points.dtype, device=points.device)
        config = self.config
        inside = config.prior_strength
        outside = -inside if config.prior_floor is None else config.prior_floor
        outward = torch.sigmoid(self.prior(points) * config.prior_sharpness)
        return inside + (outside - inside) * outward

    def density_normals(self, points: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
        """(N, 3) unit −∇density: outward where density falls off.

        ``create_graph=True`` keeps the graph, so a loss on the normals (orientation)
        trains the field; pass False for shading only.
        """
        with torch.enable_grad():
            points = points.detach().requires_grad_(True)
            density, _ = self(points)
            (gradient,) = torch.autograd.grad(density.sum(), points, create_graph=create_graph)
        return -nn.functional.normalize(gradient, dim=-1, eps=1e-12)

    def _activate(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.activation == "softplus":
            return nn.functional.softplus(x)
        return trunc_exp(x)


def small_mlp(inputs: int, width: int, hidden_layers: int, outputs: int) -> nn.Sequential:
    """ReLU MLP whose last layer starts at zero: at step 0 only the bias speaks."""
    layers: list[nn.Module] = [nn.Linear(inputs, width), nn.ReLU()]
    for _ in range(hidden_layers - 1):
        layers += [nn.Linear(width, width), nn.ReLU()]
    last = nn.Linear(width, outputs)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class _TruncExp(torch.autograd.Function):
    """exp(x) whose gradient is exp(min(x, 15)): one huge density cannot blow up a step.

    The backward is ordinary torch ops, so it is itself differentiable (normals).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(max=_TRUNC_EXP_MAX))


def trunc_exp(x: torch.Tensor) -> torch.Tensor:
    return _TruncExp.apply(x)
