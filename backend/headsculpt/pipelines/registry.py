"""Every job kind, in one list: the HTTP schema, the runner, the CLI and the add-on derive
their choices from it (tests/test_job_kinds.py fails when a copy drifts).

A job kind pairs a request (``kind`` + ``mode``, as the API and the CLI spell it)
with the pipeline that runs it, the lane it runs on, its quality presets and its
limits. Pipelines are named by import path and imported only when a job needs
them, so reading the registry never imports torch (the HTTP schema reads it).

Adding a kind: write its pipeline (pipelines/contract.py says what it implements),
then add a :class:`JobKind` to ``BUILTIN_KINDS`` — or, from outside this package,
call :func:`register` in a module named by ``HEADSCULPT_PLUGINS`` (comma-separated
module names, imported on first use of the registry).
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headsculpt.limits import (
    EDIT_SCALE_DEFAULT,
    EDIT_SCALE_RANGE,
    MAX_VARIANTS,
    MODEL_SLOTS,
    RIG_MEMORY_BYTES,
    RIG_SECONDS,
    SEED_RANGE,
    TEXTURE_SIZES,
    RequestError,
    clean_prompt,
)

PLUGINS_VARIABLE = "HEADSCULPT_PLUGINS"
# A lane runs one job at a time, oldest first; lanes run side by side. "cpu": jobs of
# seconds (parametric heads and their edits); "cpu-long": CPU jobs of tens of seconds to
# minutes on a user's file (rig), so they never hold up a draft head; "gpu": the GPU's.
LANES = ("cpu", "cpu-long", "gpu")


@dataclass(frozen=True)
class JobKind:
    """One kind of job: which requests it answers, what runs them, and their limits."""

    name: str  # the pipeline's name: /health lists it, the runner keys on it
    kind: str  # the request's "kind": "generate", "edit", ...
    mode: str | None  # the request's "mode" it answers; None: any mode of that kind
    lane: str  # one of LANES: a lane runs one job at a time, oldest first
    pipeline: str  # "module:Class" implementing pipelines.contract.Pipeline; "" = not built
    presets: tuple[str, ...]  # quality presets, in order of cost
    default_preset: str
    summary: str  # one line for /health, --help and the add-on
    max_variants: int = MAX_VARIANTS
    texture_sizes: tuple[int, ...] = TEXTURE_SIZES
    model_slots: tuple[str, ...] = ()  # weights it loads (see guidance/models.py)
    needs_parent: bool = False  # works on a finished job (edit, rig)
    text_field: str | None = "prompt"  # the request's text it needs (edit: "instruction")
    not_built: str = ""  # why it cannot run yet, when ``pipeline`` is empty
    # Set: the server runs the kind in a worker process of its own, stopped (the job failed,
    # the server untouched) when its resident memory passes ``memory_limit`` bytes or a job
    # runs ``time_limit`` seconds; a cancel stops it at once (api/worker.py).
    memory_limit: int | None = None
    time_limit: float | None = None

    @property
    def isolated(self) -> bool:
        """Whether the server runs it in a worker process (with its limits)."""
        return self.memory_limit is not None or self.time_limit is not None

    def __post_init__(self) -> None:
        if self.lane not in LANES:
            raise ValueError(f"job kind {self.name!r}: lane must be one of {LANES}")
        if self.default_preset not in self.presets:
            raise ValueError(f"job kind {self.name!r}: default preset not among its presets")
        if not 1 <= self.max_variants <= MAX_VARIANTS:
            raise ValueError(f"job kind {self.name!r}: max_variants must be 1..{MAX_VARIANTS}")
        if set(self.model_slots) - set(MODEL_SLOTS):
            raise ValueError(f"job kind {self.name!r}: unknown model slots")
        if bool(self.pipeline) == bool(self.not_built):
            raise ValueError(f"job kind {self.name!r}: give a pipeline or a not_built reason")

    @property
    def built(self) -> bool:
        return bool(self.pipeline)

    def load_pipeline_class(self) -> type:
        """Import the pipeline class (this is where torch and the models come in)."""
        if not self.built:
            raise RuntimeError(f"{self.name} jobs cannot run here: {self.not_built}")
        module_name, _, attribute = self.pipeline.partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    def check(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The request's values checked against this kind's limits, prompts cleaned.

        Raises :class:`RequestError` naming the first field that is out of bounds.
        """
        checked = dict(values)
        if checked.get("quality") is None:
            checked["quality"] = self.default_preset
        if checked["quality"] not in self.presets:
            raise RequestError(
                "quality",
                f"{self.name} jobs take one of {', '.join(self.presets)}; "
                f"got {checked['quality']!r}",
            )
        variants = checked.get("variants", 1)
        if not 1 <= variants <= self.max_variants:
            raise RequestError(
                "variants", f"must be between 1 and {self.max_variants}, got {variants}"
            )
        texture_size = checked.get("texture_size", self.texture_sizes[0])
        if texture_size not in self.texture_sizes:
            sizes = ", ".join(str(s) for s in self.texture_sizes)
            raise RequestError("texture_size", f"must be one of {sizes}, got {texture_size}")
        seed = checked.get("seed")
        if seed is not None and not SEED_RANGE[0] <= seed < SEED_RANGE[1]:
            raise RequestError("seed", f"must be in [0, 2**32), got {seed}")
        low, high = EDIT_SCALE_RANGE
        if not low <= checked.get("edit_scale", EDIT_SCALE_DEFAULT) <= high:
            raise RequestError("edit_scale", f"must be in [{low}, {high}]")
        up, front = checked.get("up"), checked.get("front")
        if up and front and up.strip().lstrip("+-").lower() == front.strip().lstrip("+-").lower():
            raise RequestError(
                "front", f"{front} lies along the same axis as up ({up}); the face looks along "
                "an axis perpendicular to up (e.g. up +y, front +z)",
            )  # fmt: skip
        if self.needs_parent and not checked.get("parent_id"):
            raise RequestError("parent_id", f"{self.name} jobs need the job they start from")
        required = self.text_field  # a generate job needs its prompt, an edit its instruction
        for field in ("prompt", "negative_prompt", "instruction"):
            if field in checked or field == required:
                text = checked.get(field, "")
                checked[field] = clean_prompt(text, field, required=field == required)
        return checked


BUILTIN_KINDS: tuple[JobKind, ...] = (
    JobKind(
        name="parametric",
        kind="generate",
        mode="parametric",
        lane="cpu",
        pipeline="headsculpt.pipelines.parametric:ParametricPipeline",
        presets=("draft", "standard", "high"),
        default_preset="standard",
        summary="Seconds, on the CPU: the head model shaped by the text",
    ),
    JobKind(
        name="rig",
        kind="rig",
        mode=None,
        lane="cpu-long",
        pipeline="headsculpt.pipelines.rig:RigPipeline",
        presets=("draft", "standard", "high"),
        default_preset="standard",
        summary="Rig any head mesh: the prior's armature and 52 ARKit shape keys",
        max_variants=1,
        needs_parent=True,
        text_field=None,
        memory_limit=RIG_MEMORY_BYTES,
        time_limit=RIG_SECONDS,
    ),
    JobKind(
        name="sculpt",
        kind="generate",
        mode="sculpt",
        lane="gpu",
        pipeline="headsculpt.pipelines.sculpt:SculptPipeline",
        presets=("test", "preview", "standard", "high"),
        default_preset="standard",
        summary="Minutes: score distillation from Stable Diffusion on a GPU, or to a reference "
        "target on the CPU",
        max_variants=4,
        model_slots=("base_model", "landmark_controlnet", "back_view_embedding"),
    ),
    JobKind(
        name="edit",
        kind="edit",
        mode="parametric",
        lane="cpu",
        pipeline="headsculpt.pipelines.edit:EditPipeline",
        presets=("draft", "standard", "high"),
        default_preset="standard",
        summary="A new version of a parametric head, changed by an instruction (seconds)",
        max_variants=1,
        needs_parent=True,
        text_field="instruction",
    ),
    JobKind(
        name="iesd",
        kind="edit",
        mode="sculpt",
        lane="gpu",
        pipeline="headsculpt.pipelines.edit:SculptedEditPipeline",
        presets=("test", "preview", "standard", "high"),
        default_preset="standard",
        summary="A new version of a sculpted head: identity-aware editing score distillation",
        max_variants=1,
        model_slots=MODEL_SLOTS,
        needs_parent=True,
        text_field="instruction",
    ),
)

_kinds: list[JobKind] = list(BUILTIN_KINDS)
_plugins_loaded = False
_lock = threading.RLock()


def register(kind: JobKind) -> None:
    """Add a job kind (from a plugin module); its name and its request must be new."""
    with _lock:
        for known in _kinds:
            if known.name == kind.name:
                raise ValueError(f"a job kind named {kind.name!r} is already registered")
            if known.kind == kind.kind and known.mode in (None, kind.mode):
                raise ValueError(f"{kind.kind}/{kind.mode} requests already go to {known.name!r}")
        _kinds.append(kind)


def job_kinds() -> tuple[JobKind, ...]:
    """Every registered kind, built-in ones first (plugins are imported on first call)."""
    global _plugins_loaded
    with _lock:
        if not _plugins_loaded:
            _plugins_loaded = True
            for module in filter(None, os.environ.get(PLUGINS_VARIABLE, "").split(",")):
                importlib.import_module(module.strip())
        return tuple(_kinds)


def find_kind(kind: str, mode: str | None) -> JobKind:
    """The job kind that answers a request's ``kind`` and ``mode``."""
    for spec in job_kinds():
        if spec.kind == kind and spec.mode in (None, mode):
            return spec
    modes = ", ".join(s.mode for s in job_kinds() if s.kind == kind and s.mode)
    if any(s.kind == kind for s in job_kinds()):
        raise RequestError("mode", f"{kind} jobs take mode {modes}; got {mode!r}")
    kinds = ", ".join(sorted({s.kind for s in job_kinds()}))
    raise RequestError("kind", f"must be one of {kinds}; got {kind!r}")


def request_kinds() -> tuple[str, ...]:
    """The request ``kind`` values, in registry order."""
    return tuple(dict.fromkeys(s.kind for s in job_kinds()))


def request_modes() -> tuple[str, ...]:
    """The request ``mode`` values, in registry order."""
    return tuple(dict.fromkeys(s.mode for s in job_kinds() if s.mode))


def all_presets() -> tuple[str, ...]:
    """Every preset name of any kind (the schema's enum; each kind checks its own)."""
    return tuple(dict.fromkeys(p for s in job_kinds() for p in s.presets))
