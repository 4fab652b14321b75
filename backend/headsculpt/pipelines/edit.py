"""The edit job: a finished head + an instruction → a new version that keeps who it is.

Reads top to bottom in :meth:`EditPipeline.run`:

1. **parent**: the parent's sidecar (``head.json`` beside its GLB) says how it was made;
2. **read**: the instruction becomes changes to the descriptive code (text/instruction.py);
3. **make**:
   - a *parametric* parent is made again from its own code with the changes applied, the
     same seed and the same drawn variation: what the instruction does not touch stays
     exactly as it was (the drawn skin tone, brow and iris colours are pinned, so a
     shape edit leaves the texture byte-identical);
   - a *sculpted* parent goes through IESD (pipelines/sculpt_edit.py) from its surface;
4. **save**: GLB, sidecar (parent, instruction, code before and after, what was not
   applied) and preview, written as made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headsculpt.descriptive_code import DescriptiveCode, Phrase
from headsculpt.files import png_bytes
from headsculpt.limits import EDIT_SCALE_DEFAULT, RequestError, iesd_weight
from headsculpt.pipelines.contract import OUTPUT_STEM, JobOutputs, ParentFiles, starting_file
from headsculpt.pipelines.parametric import (
    PREVIEW_SIZES,
    ParametricConfig,
    ParametricPipeline,
    ParametricResult,
)
from headsculpt.progress import ProgressCallback, no_progress, scaled_progress
from headsculpt.text.instruction import EditReading, InstructionReader, apply_changes
from headsculpt.texture.skin_parameters import GREYING_AGES

# What the sculpt edit's presets are (the registry lists the same names).
SCULPT_EDIT_PRESETS = ("test", "preview", "standard", "high")
# Drawn by the painter from the code; pinned in the child so a change elsewhere keeps
# them, unless the edit moves what they are (ancestry: the skin tone it implies).
_PINNED_APPEARANCE = {
    "skin.tone": ("skin.tone", "ancestry"),
    "eyebrows.color": ("eyebrows.color", "hair.color"),
    "eyes.color": ("eyes.color",),
    "hair.color": ("hair.color",),
    "facial_hair.color": ("facial_hair.color",),
    # Drawn for the person's gender and age: an age edit keeps the hairstyle.
    "hair.style": ("hair.style", "hair.length"),
    "facial_hair.style": ("facial_hair.style", "beard"),
}


@dataclass
class EditRequest:
    """What an edit job reads (the HTTP body or the CLI options)."""

    instruction: str
    edit_scale: float = EDIT_SCALE_DEFAULT
    quality: str = "standard"
    texture_size: int | None = None  # None: the parent's
    preview: bool = True
    # Sculpted parents (IESD):
    models: dict[str, str] = field(default_factory=dict)
    guidance: str = "sd"
    reference: str | None = None  # reference guidance: the edited target's GLB
    negative_prompt: str = ""
    device: str | None = None  # where IESD computes (devices.py); code edits need none


@dataclass
class ParentHead:
    """The head an edit starts from, as its sidecar describes it."""

    id: str
    sidecar: dict[str, Any]
    glb_name: str

    @property
    def mode(self) -> str:
        return str(self.sidecar.get("mode", ""))

    @classmethod
    def read(cls, parent: ParentFiles | None) -> ParentHead:
        """The parent's GLB name and sidecar; RequestError naming ``parent_id`` if unusable."""
        if parent is None:
            raise RequestError("parent_id", "an edit needs the head it starts from")
        names = parent.names()
        glb = starting_file(sorted(names))
        if glb is None:
            raise RequestError("parent_id", f"{parent.id} has no GLB to edit")
        sidecar_name = Path(glb).with_suffix(".json").name
        if sidecar_name not in names:
            raise RequestError(
                "parent_id",
                f"{parent.id} has no sidecar ({sidecar_name}): only heads made by HeadSculpt "
                "(generate, sculpt or an earlier edit) can be edited",
            )
        try:
            sidecar = json.loads(parent.read(sidecar_name))
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError("parent_id", f"{parent.id}: unreadable sidecar ({error})") from None
        if not isinstance(sidecar, dict) or "descriptive_code" not in sidecar:
            raise RequestError("parent_id", f"{parent.id}: its sidecar has no descriptive code")
        _check_sidecar(parent.id, sidecar)
        return cls(parent.id, sidecar, glb)


def _check_sidecar(parent_id: str, sidecar: dict[str, Any]) -> None:
    """The sidecar fields an edit reads, of the types HeadSculpt writes them (a sidecar edited
    by hand, or another tool's JSON, is refused naming the field rather than failing later)."""

    def refuse(field: str, wanted: str) -> RequestError:
        return RequestError(
            "parent_id",
            f"{parent_id}: its sidecar's {field} is not {wanted} (as HeadSculpt writes it); "
            "restore the sidecar headsculpt wrote beside the GLB, or make the head again",
        )

    code = sidecar.get("descriptive_code")
    if not isinstance(code, dict) or not isinstance(code.get("attributes", {}), dict):
        raise refuse("descriptive_code", "an object with an 'attributes' object")
    try:
        DescriptiveCode.from_json(code)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise refuse("descriptive_code", f"a descriptive code ({error})") from None
    if str(sidecar.get("mode", "")) == "parametric":
        for field in ("seed", "texture_size"):
            value = sidecar.get(field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise refuse(field, "a whole number")
    for field, kind in (("prompt", str), ("variation", (int, float))):
        value = sidecar.get(field)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise refuse(field, "text" if kind is str else "a number")


class EditPipeline:
    """Instruction edits: code edits on parametric heads, IESD on sculpted ones."""

    Request = EditRequest
    PRESETS: dict[str, Any] = PREVIEW_SIZES  # the preview's size

    def __init__(self, parametric: ParametricPipeline) -> None:
        self.parametric = parametric
        self.read_instruction = InstructionReader(parametric.parse)
        self._sculpt_editor = None  # built on the first sculpted parent (loads torch)

    @classmethod
    def from_defaults(cls) -> EditPipeline:
        return cls(ParametricPipeline.from_defaults())

    def run(self, request: EditRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        # 1. Parent: how it was made.
        progress("parent", 0.0)
        parent = ParentHead.read(outputs.parent)
        # 2. Read: the instruction as changes to the code.
        reading = self.read_instruction(request.instruction)
        # 3. Make, 4. save.
        if parent.mode == "parametric":
            self._edit_parametric(parent, reading, request, outputs, progress)
        elif parent.mode == "sculpt":
            self._edit_sculpted(parent, reading, request, outputs, progress)
        else:
            raise RequestError(
                "parent_id", f"{parent.id} is a {parent.mode or 'unknown'} head; edits take "
                "parametric and sculpted heads",
            )  # fmt: skip
        progress("done", 1.0)

    # --- parametric parents ---------------------------------------------------------
    def edit_code(
        self, parent: ParentHead, reading: EditReading, edit_scale: float = EDIT_SCALE_DEFAULT
    ) -> tuple[DescriptiveCode, list[str]]:
        """The child's code: the parent's, changed as the reading says from the values the
        parent head has (stated or drawn), with the drawn colours pinned."""
        before = DescriptiveCode.from_json(parent.sidecar["descriptive_code"])
        seed = int(parent.sidecar["seed"])
        config = _parametric_config(parent.sidecar)
        resolved = self.parametric.resolve(before, seed, config)
        attributes, notes = apply_changes(before.attributes, resolved, reading, edit_scale)
        changed = {c.attribute for c in reading.changes}
        moved = {n for n in attributes if attributes[n] != before.attributes.get(n)}
        for name, sources in _PINNED_APPEARANCE.items():
            if name in attributes or moved & set(sources):
                continue
            if "age" in changed and _greys(name, resolved, attributes):
                continue  # crossing the greying age re-derives the colour
            attributes[name] = resolved[name]
        was = before.scalar("gender")
        if "gender" in changed and was is not None and (attributes["gender"] > 0) == (was > 0):
            attributes["gender"] = was  # "make the woman older" names her, nothing more
        phrases = list(before.phrases) + [
            Phrase(c.phrase, 0, 0, {c.attribute: attributes.get(c.attribute)}, "edit")
            for c in reading.changes
            if c.attribute in attributes
        ]
        child = DescriptiveCode(
            attributes=attributes,
            # What the instruction asked for that no attribute holds, said with the rest.
            abstract=list(dict.fromkeys(before.abstract + reading.not_applied)),
            ignored=list(before.ignored),
            phrases=phrases,
            excluded={k: v for k, v in before.excluded.items() if k not in attributes},
        )
        return child, notes

    def edit_parametric(
        self,
        parent: ParentHead,
        reading: EditReading,
        edit_scale: float = EDIT_SCALE_DEFAULT,
        texture_size: int | None = None,
        progress: ProgressCallback = no_progress,
    ) -> tuple[ParametricResult, dict[str, Any]]:
        """The new version of a parametric head and its sidecar."""
        child, notes = self.edit_code(parent, reading, edit_scale)
        seed = int(parent.sidecar["seed"])
        config = _parametric_config(parent.sidecar, texture_size)
        prompt = str(parent.sidecar.get("prompt", ""))
        result = self.parametric.from_code(child, prompt, seed, config, progress)
        result.parent = parent.id
        sidecar = result.sidecar()
        sidecar["edit"] = {
            "instruction": reading.instruction,
            "edit_scale": edit_scale,
            "changes": [c.attribute for c in reading.changes],
            "code_before": parent.sidecar["descriptive_code"],
            "not_applied": reading.not_applied + notes,
        }
        return result, sidecar

    def _edit_parametric(self, parent, reading, request, outputs, progress) -> None:
        making = scaled_progress(progress, 0.05, 0.6)
        result, sidecar = self.edit_parametric(
            parent, reading, request.edit_scale, request.texture_size, making
        )
        outputs.set_code(result.code.to_json())
        files = {
            f"{OUTPUT_STEM}.glb": result.glb,
            f"{OUTPUT_STEM}.json": json.dumps(sidecar, indent=2).encode("utf-8"),
        }
        if request.preview:
            size = PREVIEW_SIZES.get(request.quality, PREVIEW_SIZES["standard"])
            image = result.preview(size, scaled_progress(progress, 0.6, 0.9))
            files[f"{OUTPUT_STEM}.png"] = png_bytes(image)
        for index, (name, data) in enumerate(files.items()):
            progress("save", 0.9 + 0.03 * index)
            outputs.write(name, data)

    # --- sculpted parents -------------------------------------------------------------
    def _edit_sculpted(self, parent, reading, request, outputs, progress) -> None:
        from headsculpt.pipelines.sculpt_edit import SculptEditor, SculptEditRequest

        if request.quality not in SCULPT_EDIT_PRESETS:
            raise RequestError("quality", f"sculpted heads take {', '.join(SCULPT_EDIT_PRESETS)}")
        if self._sculpt_editor is None:
            from headsculpt.pipelines.rig import RigPipeline
            from headsculpt.pipelines.sculpt import SculptPipeline

            rig = RigPipeline(self.parametric.head, self.parametric.landmarks)
            self._sculpt_editor = SculptEditor(SculptPipeline(self.parametric, rig))
        scratch = Path(outputs.scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        parent_glb = scratch / "parent.glb"
        parent_glb.write_bytes(outputs.parent.read(parent.glb_name))
        edit = SculptEditRequest(
            parent_glb=parent_glb,
            description=str(parent.sidecar.get("prompt", "")),
            instruction=request.instruction,
            edit_scale=iesd_weight(request.edit_scale),
            quality=request.quality,
            seed=int(parent.sidecar.get("seed", 0)),
            texture_size=request.texture_size or int(parent.sidecar.get("texture_size", 2048)),
            models=dict(request.models),
            guidance=request.guidance,
            reference=request.reference,
            negative_prompt=request.negative_prompt,
            device=request.device,
        )
        result = self._sculpt_editor(edit, scratch / "edit", scaled_progress(progress, 0.02, 0.9))
        sidecar = dict(result["sidecar"])
        # The parent's code and parent: an edit of this edit starts from the same identity.
        sidecar.update(parent=parent.id, instruction=request.instruction,
                       descriptive_code=parent.sidecar["descriptive_code"])  # fmt: skip
        sidecar["edit"] = {**sidecar.get("edit", {}), "not_applied": reading.not_applied}
        outputs.set_code(parent.sidecar["descriptive_code"])
        outputs.write(f"{OUTPUT_STEM}.glb", result["glb"])
        outputs.write(f"{OUTPUT_STEM}.json", json.dumps(sidecar, indent=2).encode("utf-8"))
        if request.preview:
            from headsculpt.render.preview import render_preview

            outputs.write(f"{OUTPUT_STEM}.png", png_bytes(render_preview(result["mesh"], 512)))


def _parametric_config(sidecar: dict[str, Any], texture_size: int | None = None):
    kwargs: dict[str, Any] = {"texture_size": texture_size or int(sidecar["texture_size"])}
    if "variation" in sidecar:
        kwargs["variation"] = float(sidecar["variation"])
    return ParametricConfig(**kwargs)


def _greys(name: str, resolved: dict[str, Any], child: dict[str, Any]) -> bool:
    """Whether the age edit crosses the age above which the painter greys colour ``name``."""
    age = GREYING_AGES.get(name)
    return age is not None and (float(resolved["age"]) > age) != (float(child["age"]) > age)


class SculptedEditPipeline(EditPipeline):
    """The same edits, as the job kind of sculpted heads (the GPU lane, sculpt presets)."""

    PRESETS: dict[str, Any] = dict.fromkeys(SCULPT_EDIT_PRESETS)
