"""The fine stage's colour: albedo at any point of the box, sampled on the mesh surface.

Once the surface is a DMTet mesh, colour no longer needs density; a field of its own
(hash grid + small MLP) is queried at the rasterised surface points and, at export,
at each texel's surface point (the UV bake). It starts as a copy of the coarse
field's colour branch, so the fine stage's first render already wears the coarse
stage's colours instead of grey.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from headsculpt.bounds import Box
from headsculpt.geometry.density_field import DensityField, small_mlp
from headsculpt.geometry.hash_grid import HashGridConfig, HashGridEncoding


@dataclass(frozen=True)
class TextureFieldConfig:
    box: Box = Box()
    encoding: HashGridConfig = field(default_factory=HashGridConfig)
    hidden_width: int = 64
    hidden_layers: int = 1  # 1 or 2


class TextureField(nn.Module):
    """(N, 3) world points → (N, 3) albedo in [0, 1]."""

    def __init__(
        self,
        config: TextureFieldConfig | None = None,
        encoding: HashGridEncoding | None = None,
        mlp: nn.Sequential | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        """Fresh parts from ``config`` on ``device``, or the given ``encoding`` and ``mlp``
        (see create_from: they stay on their own device)."""
        super().__init__()
        self.config = config or TextureFieldConfig()
        if encoding is None:
            encoding = HashGridEncoding(self.config.encoding, device)
        self.encoding = encoding
        if mlp is None:
            width, layers = self.config.hidden_width, self.config.hidden_layers
            mlp = small_mlp(self.encoding.output_dim, width, layers, outputs=3).to(device)
        self.mlp = mlp

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mlp(self.encoding(self.config.box.to_unit(points))))

    @classmethod
    def create_from(cls, source: DensityField) -> TextureField:
        """A copy of ``source``'s colour branch: equal to ``source.albedo_only`` everywhere.

        The encoding and hidden layers are deep copies (the two stages then train
        apart); the last layer keeps only the three albedo rows of the field's four.
        """
        config = TextureFieldConfig(
            box=source.config.box,
            encoding=source.config.encoding,
            hidden_width=source.config.hidden_width,
            hidden_layers=source.config.hidden_layers,
        )
        layers = copy.deepcopy(list(source.mlp))
        last = layers[-1]
        albedo = nn.Linear(last.in_features, 3, device=last.weight.device)
        with torch.no_grad():
            albedo.weight.copy_(last.weight[1:])
            albedo.bias.copy_(last.bias[1:])
        return cls(config, copy.deepcopy(source.encoding), nn.Sequential(*layers[:-1], albedo))
