"""A parametric head's hair as parts of its GLB and its preview.

The hair a code decides (``prior/hair_choices.py``: style, length, facial hair) is
built as geometry on the evaluated head (``prior/hair.py``, ``prior/facial_hair.py``),
given strand textures in the person's colours (``texture/strands.py``) and skinned the
way the head is: every hair vertex copies the joint weights and face-unit deltas of
the head vertex it follows, so scalp hair moves with the head bone, a beard with the
jaw and jawOpen, lashes with the lids. Each kind is a mesh of its own (``Hair``,
``FacialHair``, ``Brows``, ``Lashes``) with an alpha-tested (MASK), double-sided
material, so an artist can select, hide or restyle it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from headsculpt.export.glb import MeshPart, PartMaterial
from headsculpt.prior.facial_hair import build_brows, build_facial_hair, build_lashes
from headsculpt.prior.hair import HairGeometry, HairSpec, build_hair
from headsculpt.prior.head_model import HeadMesh, HeadModel
from headsculpt.render.preview import TexturedMesh
from headsculpt.texture.strands import StrandTextures, strand_textures

STRAND_TEXTURE_SIZE = 512  # scalp and beard strands; brows and lashes use half
# The parts, the strand look each is drawn with, and its texture size.
_PARTS = {"Hair": ("scalp", STRAND_TEXTURE_SIZE),
          "FacialHair": ("beard", STRAND_TEXTURE_SIZE),
          "Brows": ("brow", STRAND_TEXTURE_SIZE // 2),
          "Lashes": ("lash", STRAND_TEXTURE_SIZE // 2)}  # fmt: skip
_LASH_COLOUR = (0.05, 0.04, 0.035)  # sRGB: lashes are dark whatever the hair


@dataclass
class HairPart:
    """One hair mesh of a head and the strand textures it is drawn with."""

    name: str  # the GLB node: Hair, FacialHair, Brows or Lashes
    geometry: HairGeometry
    textures: StrandTextures

    def mesh_part(self, head_mesh: HeadMesh, morph_names: list[str]) -> MeshPart:
        """The part as the GLB writer takes it, skinned and morphed like the head."""
        bind = self.geometry.bind_vertex
        material = PartMaterial(
            name=self.name,
            base_color=self.textures.base_color,
            metallic_roughness=self.textures.roughness,
            normal=self.textures.normal,
            double_sided=True,  # cards are seen from both sides
            alpha_mode="MASK",
        )
        return MeshPart(
            name=self.name,
            vertices=self.geometry.vertices,
            normals=self.geometry.normals,
            uv=self.geometry.uv,
            triangles=self.geometry.triangles,
            joint_indices=head_mesh.joint_indices[bind],
            joint_weights=head_mesh.joint_weights[bind],
            morph_deltas=head_mesh.face_unit_deltas[:, bind],
            morph_names=morph_names,
            material=material,
        )

    def textured_mesh(self) -> TexturedMesh:
        """The part for the preview renderer (alpha-tested by its base colour's alpha)."""
        return TexturedMesh(
            self.geometry.vertices,
            self.geometry.normals,
            self.geometry.uv,
            self.geometry.triangles.astype(np.int64),
            self.textures.base_color,
            self.textures.roughness[..., 1],
        )


def build_hair_parts(
    head: HeadModel, mesh: HeadMesh, hair: dict[str, Any], colours: dict[str, Any], seed: int
) -> list[HairPart]:
    """The hair meshes of one head.

    ``hair``: ``hair.style``, ``hair.length`` (−1 … 1), ``facial_hair.style``, ``beard``
    (the amount, −1 … 1), ``eyebrows.thickness`` (−1 … 1), and optionally
    ``eyebrows.arch`` (0 … 1) and ``lashes.length`` (the upper lashes' scale, 1 an
    average adult's); ``colours``: sRGB triples
    under ``hair``, ``facial_hair`` and ``eyebrows``.
    """
    parts = []
    length = 0.5 * (float(hair.get("hair.length", 0.0)) + 1.0)
    scalp = build_hair(head, mesh, HairSpec(hair["hair.style"], length=length, seed=seed))
    parts.append(("Hair", scalp, colours["hair"]))
    beard = 0.5 * (float(hair.get("beard", 0.0)) + 1.0)
    facial = build_facial_hair(head, mesh, hair["facial_hair.style"], beard, seed)
    parts.append(("FacialHair", facial, colours["facial_hair"]))
    brows = 0.5 * (float(hair.get("eyebrows.thickness", 0.0)) + 1.0)
    arch = float(hair.get("eyebrows.arch", 0.0))
    parts.append(("Brows", build_brows(head, mesh, brows, seed, arch), colours["eyebrows"]))
    lashes = build_lashes(head, mesh, seed, float(hair.get("lashes.length", 1.0)))
    parts.append(("Lashes", lashes, _LASH_COLOUR))
    return [
        HairPart(name, geometry, _strands(tuple(colour), *_PARTS[name]))
        for name, geometry, colour in parts
        if geometry is not None and len(geometry.triangles)
    ]


@functools.lru_cache(maxsize=64)
def _strands(colour: tuple[float, float, float], kind: str, size: int) -> StrandTextures:
    """Strand textures by colour and kind: drawn once per process (a few hundred ms)."""
    return strand_textures(colour, kind, size, seed=0)
