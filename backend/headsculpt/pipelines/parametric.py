"""The embedded default job: text → descriptive code → Anny head + procedural PBR → GLB.

Reads top to bottom: parse, resolve the identity, shape the head, paint it,
assemble the asset, write bytes. No GPU and no downloaded weights; about half a
second per head once the head model is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from headsculpt import __version__
from headsculpt.descriptive_code import ANCESTRIES, DescriptiveCode
from headsculpt.export.glb import (
    PART_NODE_NAMES,
    HeadAsset,
    MeshPart,
    Skeleton,
    Textures,
    write_glb,
)
from headsculpt.files import png_bytes
from headsculpt.limits import MAX_VARIANTS, SEED_RANGE, TEXTURE_SIZES
from headsculpt.pipelines.contract import (
    OUTPUT_STEM,
    JobOutputs,
    default_seed,
    variant_seed,
    variant_stem,
)
from headsculpt.pipelines.hair_parts import HairPart, build_hair_parts
from headsculpt.prior.code_mapping import (
    DEFAULT_VARIATION,
    PHENOTYPE_MAP,
    head_parameters,
    scalar_values,
)
from headsculpt.prior.hair_choices import HAIR_ATTRIBUTES, hair_choices
from headsculpt.prior.head_model import (
    PART_NAMES,
    HeadMesh,
    HeadModel,
    HeadParameters,
    load_head_model,
)
from headsculpt.prior.landmarks import LandmarkEmbedding
from headsculpt.progress import ProgressCallback, no_progress, scaled_progress
from headsculpt.render.preview import TexturedMesh, merge_meshes, render_preview
from headsculpt.text.parser import DescriptionParser
from headsculpt.texture.noise import NoiseBank
from headsculpt.texture.painter import PBRTextures, detail_noise, paint
from headsculpt.texture.skin_parameters import SkinParameters, appearance_choices
from headsculpt.texture.surface_maps import SurfaceMaps, build_surface_maps

# Quality presets: the preview image's height (the head itself is the same in all).
PREVIEW_SIZES = {"draft": 256, "standard": 512, "high": 1024}


@dataclass
class ParametricRequest:
    """What a parametric job reads from its request (the HTTP body or the CLI options)."""

    prompt: str
    seed: int | None = None  # None: derived from the text (default_seed)
    quality: str = "standard"
    variants: int = 1
    texture_size: int = 1024
    preview: bool = True  # also render a preview image per head


@dataclass
class ParametricConfig:
    """Settings of one parametric job."""

    texture_size: int = 1024
    variation: float = DEFAULT_VARIATION  # how far attributes the text leaves open may wander

    def __post_init__(self) -> None:
        if self.texture_size not in TEXTURE_SIZES:
            raise ValueError(
                f"texture_size must be one of {TEXTURE_SIZES}, got {self.texture_size}"
            )
        if not 0.0 <= self.variation <= 1.0:
            raise ValueError(f"variation must be in [0, 1], got {self.variation}")


@dataclass
class ParametricResult:
    """A finished head: the GLB bytes and everything needed to explain or redo it."""

    prompt: str
    seed: int
    config: ParametricConfig
    code: DescriptiveCode
    glb: bytes
    mesh: TexturedMesh  # the head (skin, eyes, mouth)
    parameters: dict[str, Any] = field(default_factory=dict)
    hair: list[TexturedMesh] = field(default_factory=list)  # hair, beard, brows, lashes
    parent: str | None = None  # the job id (or file) this head was made from

    def sidecar(self) -> dict[str, Any]:
        """The JSON written beside the GLB: enough to reproduce the file exactly."""
        return {
            "generator": f"headsculpt {__version__}",
            "mode": "parametric",
            "prompt": self.prompt,
            "parent": self.parent,
            "seed": self.seed,
            "texture_size": self.config.texture_size,
            "variation": self.config.variation,
            "descriptive_code": self.code.to_json(),
            "parameters": self.parameters,
        }

    def sidecar_json(self) -> bytes:
        """The sidecar as the file written beside the GLB."""
        return json.dumps(self.sidecar(), indent=2).encode("utf-8")

    def preview(self, size: int = 512, progress: ProgressCallback = no_progress):
        """Front and three-quarter render (PIL image, 2·size × size)."""
        whole = merge_meshes([self.mesh, *self.hair]) if self.hair else self.mesh
        return render_preview(whole, size, progress)


class ParametricPipeline:
    """Compose the description parser, the head model and the painter.

    The job kind "parametric" (pipelines/registry.py): ``run`` makes a job's heads
    and files; ``__call__``, ``each_variant`` and ``from_code`` are the steps, for
    scripts and tests.
    """

    Request = ParametricRequest
    PRESETS = PREVIEW_SIZES

    def __init__(
        self,
        head: HeadModel,
        parse: Callable[[str], DescriptiveCode],
        landmarks: LandmarkEmbedding | None = None,
    ) -> None:
        self.head = head
        self.parse = parse
        # Written into each GLB so the judge (and later stages) find the face on it.
        self.landmarks = landmarks or LandmarkEmbedding.load(head.topology)
        # Per texture size: what each texel is, and its detail noise (seconds to build).
        self._texture_spaces: dict[int, tuple[SurfaceMaps, NoiseBank]] = {}

    @classmethod
    def from_defaults(cls) -> ParametricPipeline:
        """The pipeline on the process-wide head model (built once per machine) and the
        description parser (sentence encoder from its installed wheel)."""
        return cls(load_head_model(), DescriptionParser.from_pretrained())

    def __call__(
        self,
        prompt: str,
        seed: int | None = None,
        config: ParametricConfig | None = None,
        progress: ProgressCallback = no_progress,
    ) -> ParametricResult:
        seed = default_seed(prompt) if seed is None else int(seed)
        progress("parse", 0.0)
        return self.from_code(self.parse(prompt), prompt, seed, config, progress)

    def each_variant(
        self,
        code: DescriptiveCode,
        prompt: str,
        count: int,
        seed: int,
        config: ParametricConfig | None = None,
        progress: ProgressCallback = no_progress,
        after: float = 0.0,
    ) -> Iterator[tuple[ParametricResult, ProgressCallback]]:
        """Variant k of ``code`` uses seed + k, so what the text left open (and age or
        ancestry when unstated) varies between them; yielded one at a time so a caller
        can save each as it is made.

        Each variant gets an equal share of ``progress``; ``after`` is the part of that
        share left to the caller for its work on the result (previews, files), and the
        callback for it comes with the result.
        """
        if not 1 <= count <= MAX_VARIANTS:
            raise ValueError(f"variants must be between 1 and {MAX_VARIANTS}, got {count}")
        _check_seed(seed)
        for k in range(count):
            share = scaled_progress(progress, k / count, (k + 1) / count)
            making = scaled_progress(share, 0.0, 1.0 - after)
            result = self.from_code(code, prompt, variant_seed(seed, k), config, making)
            yield result, scaled_progress(share, 1.0 - after, 1.0)

    def from_code(
        self,
        code: DescriptiveCode,
        prompt: str = "",
        seed: int = 0,
        config: ParametricConfig | None = None,
        progress: ProgressCallback = no_progress,
    ) -> ParametricResult:
        """A head from an already parsed (or hand-written) descriptive code."""
        config = config or ParametricConfig()
        _check_seed(seed)
        rng = np.random.default_rng(seed)
        identity = _with_sampled_identity(code, rng)

        progress("shape", 0.2)
        shape_parameters = head_parameters(identity, rng, config.variation)
        mesh = self.head(shape_parameters)
        gender = _code_gender(shape_parameters)
        identity = _with_hair(identity, gender, seed)

        # First use of a texture size prepares its texture space (reported as 0.2–0.4).
        maps, noise = self.texture_space(config.texture_size, scaled_progress(progress, 0.2, 0.4))
        progress("texture", 0.4)
        hair_values = _hair_values(identity, gender)
        skin = SkinParameters.from_code(identity, rng)
        skin = replace(skin, brow_arch=hair_values["eyebrows.arch"])  # painted as the cards
        textures = paint(skin, maps, noise, seed, scaled_progress(progress, 0.4, 0.7))

        progress("hair", 0.7)
        colours = {"hair": skin.hair_colour, "facial_hair": skin.beard_colour,
                   "eyebrows": skin.eyebrow_colour}  # fmt: skip
        hair = build_hair_parts(self.head, mesh, hair_values, colours, seed)

        progress("export", 0.8)
        glb = write_glb(self._asset(mesh, textures, prompt, seed, hair))
        topology = self.head.topology
        preview_mesh = TexturedMesh(
            mesh.vertices,
            mesh.normals,
            topology.uv,
            topology.triangles,
            textures.base_color,
            textures.metallic_roughness[..., 1],
        )
        progress("done", 1.0)
        return ParametricResult(
            prompt=prompt,
            seed=seed,
            config=config,
            code=code,
            glb=glb,
            mesh=preview_mesh,
            parameters={
                "head": asdict(shape_parameters),
                "skin": asdict(skin),
                "hair": {n: identity.attributes[n] for n in HAIR_ATTRIBUTES},
            },  # fmt: skip
            hair=[part.textured_mesh() for part in hair],
        )

    def run(
        self, request: ParametricRequest, outputs: JobOutputs, progress: ProgressCallback
    ) -> None:
        """A job: parse once, then each variant's GLB, sidecar and preview, saved as made."""
        seed = default_seed(request.prompt) if request.seed is None else request.seed
        config = ParametricConfig(texture_size=request.texture_size)
        preview_size = PREVIEW_SIZES[request.quality]
        parent = outputs.parent.id if outputs.parent is not None else None
        progress("parse", 0.0)
        code = self.parse(request.prompt)
        outputs.set_code(code.to_json())
        count = request.variants
        # Each head takes 60 % of its share, its preview and files the rest.
        heads = self.each_variant(code, request.prompt, count, seed, config, progress, after=0.4)
        for k, (result, rest) in enumerate(heads):
            result.parent = parent
            stem = variant_stem(OUTPUT_STEM, k, count)
            files = {f"{stem}.glb": result.glb, f"{stem}.json": result.sidecar_json()}
            if request.preview:
                image = result.preview(preview_size, scaled_progress(rest, 0.0, 0.75))
                files[f"{stem}.png"] = png_bytes(image)
            for index, (name, data) in enumerate(files.items()):
                rest("save", 0.75 + 0.075 * index)  # each write is flushed to disk: a cancel point
                outputs.write(name, data)
        progress("done", 1.0)

    def resolve(
        self, code: DescriptiveCode, seed: int, config: ParametricConfig | None = None
    ) -> dict[str, Any]:
        """What the head made from ``code`` and ``seed`` has for every attribute, stated or
        drawn: the values an edit starts from ("older" than the age it was given)."""
        config = config or ParametricConfig()
        rng = np.random.default_rng(seed)  # the same draws, in the same order, as from_code
        identity = _with_sampled_identity(code, rng)
        values: dict[str, Any] = dict(scalar_values(identity, rng, config.variation))
        values.update(age=identity.attributes["age"], ancestry=identity.attributes["ancestry"])
        hair = _with_hair(identity, values["gender"], seed)
        values.update(appearance_choices(hair, rng))
        values.update({name: hair.attributes[name] for name in HAIR_ATTRIBUTES})
        # Read only by the painter, which takes "unstated" as none (a man: a little shadow).
        masculine = max(code.scalar("gender") or 0.0, 0.0)
        unstated_paint = {"beard": 0.5 * masculine - 1.0, "skin.freckles": 0.0,
                          "eyebrows.thickness": 0.0}  # fmt: skip
        for name, value in unstated_paint.items():
            if code.scalar(name) is None:
                values[name] = value
        for name in ("face.shape", "expression"):
            values[name] = code.attributes.get(name, "neutral" if name == "expression" else None)
        return values

    def texture_space(
        self, size: int, progress: ProgressCallback = no_progress
    ) -> tuple[SurfaceMaps, NoiseBank]:
        """What each texel of a ``size``² texture is, and its detail noise.

        Built on first use per size (seconds, reported to ``progress``), then kept.
        """
        if size not in self._texture_spaces:
            maps = build_surface_maps(self.head, size, scaled_progress(progress, 0.0, 0.6))
            noise = detail_noise(maps, scaled_progress(progress, 0.6, 1.0))
            self._texture_spaces[size] = (maps, noise)
        return self._texture_spaces[size]

    def _asset(
        self, mesh: HeadMesh, textures: PBRTextures, prompt: str, seed: int,
        hair: Sequence[HairPart] = (),
    ) -> HeadAsset:  # fmt: skip
        topology = self.head.topology
        parts = []
        for part in PART_NAMES:
            triangles = topology.part_triangles(part)
            used, local = np.unique(triangles, return_inverse=True)
            parts.append(
                MeshPart(
                    name=part,
                    vertices=mesh.vertices[used],
                    normals=mesh.normals[used],
                    uv=topology.uv[used],
                    triangles=local.reshape(-1, 3),
                    joint_indices=mesh.joint_indices[used],
                    joint_weights=mesh.joint_weights[used],
                    morph_deltas=mesh.face_unit_deltas[:, used],
                    morph_names=self.head.face_unit_names,
                    keep_all_morphs=part == "head",
                )
            )
        parts += [part.mesh_part(mesh, self.head.face_unit_names) for part in hair]
        return HeadAsset(
            parts=parts,
            skeleton=Skeleton(
                self.head.bone_names, self.head.bone_parents, mesh.bone_rest_matrices
            ),
            textures=Textures(textures.base_color, textures.metallic_roughness, textures.normal),
            extras={
                "headsculpt": {
                    "prompt": prompt,
                    "seed": seed,
                    "mode": "parametric",
                    "landmarks": {
                        PART_NODE_NAMES[part]: anchors
                        for part, anchors in self.landmarks.part_anchors(topology).items()
                    },
                }
            },
        )


def _check_seed(seed: int) -> None:
    low, high = SEED_RANGE
    if not low <= seed < high:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")


# What a feminine head's brows and lashes get (the face alone read androgynous without
# hair, docs/parametric.md): unstated brows finer (eyebrows.thickness), groomed into an
# arch (build_brows' ``arch``), and longer upper lashes (a share more than a man's).
FINE_BROWS = -0.6
ARCHED_BROWS = 1.0
LONGER_LASHES = 0.35
# The hair draws use a stream of their own, so adding them moved no other draw.
_HAIR_STREAM = 0x4A12


def _hair_values(identity: DescriptiveCode, gender: float) -> dict[str, Any]:
    """What the hair geometry reads of a code whose hair is decided (``_with_hair``);
    ``gender`` the head's (+1 masculine), drawn or not: a woman's unstated brows are
    finer, and her brows arched and lashes longer (bushy straight brows read male on a
    face without hair)."""
    values: dict[str, Any] = {name: identity.attributes[name] for name in HAIR_ATTRIBUTES}
    for name in ("beard", "eyebrows.thickness"):
        values[name] = identity.scalar(name) or 0.0
    feminine = max(-gender, 0.0)
    if identity.scalar("eyebrows.thickness") is None:
        values["eyebrows.thickness"] = FINE_BROWS * feminine
    values["eyebrows.arch"] = ARCHED_BROWS * feminine
    values["lashes.length"] = 1.0 + LONGER_LASHES * feminine
    return values


def _code_gender(parameters: HeadParameters) -> float:
    """The code's gender (+1 masculine) of the head ``parameters`` describe, drawn or not."""
    _, centre, half = PHENOTYPE_MAP["gender"]
    return float(np.clip((parameters.phenotypes["gender"] - centre) / half, -1.0, 1.0))


def _with_hair(identity: DescriptiveCode, gender: float, seed: int) -> DescriptiveCode:
    """The identity with its hair decided (stated or drawn for who the head is), so the
    painter and the hair geometry agree on it."""
    who = replace(identity, attributes={**identity.attributes, "gender": gender})
    hair = hair_choices(who, np.random.default_rng([seed, _HAIR_STREAM]))
    return replace(identity, attributes={**identity.attributes, **hair})


def _with_sampled_identity(code: DescriptiveCode, rng: np.random.Generator) -> DescriptiveCode:
    """The code with age and ancestry drawn when the text left them open.

    Shape and skin must agree on who this is, so both are drawn once, here.
    """
    attributes = dict(code.attributes)
    age = float(rng.uniform(22.0, 50.0))
    ancestry = dict(zip(ANCESTRIES, (float(w) for w in rng.dirichlet(np.ones(3))), strict=True))
    attributes.setdefault("age", age)
    attributes.setdefault("ancestry", ancestry)
    return replace(code, attributes=attributes)
