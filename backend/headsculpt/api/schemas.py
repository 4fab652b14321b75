"""The /v1 API's request and response bodies (pydantic; FastAPI serves them as OpenAPI).

Every field is bounded, so a malformed or oversized value is refused with a 422
that names it (``loc``) before any work is queued. Choices and bounds come from
the registry of job kinds and headsculpt.limits; each kind then checks its own
(presets, variants, parent) with the same code the CLI uses.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from headsculpt.limits import (
    AXIS_PATTERN,
    EDIT_SCALE_DEFAULT,
    EDIT_SCALE_RANGE,
    MAX_MODEL_SOURCE_CHARS,
    MAX_PROMPT_CHARS,
    MAX_VARIANTS,
    MODEL_SLOTS,
    SEED_RANGE,
    TEXTURE_SIZES,
    RequestError,
)
from headsculpt.pipelines.registry import all_presets, find_kind, request_kinds, request_modes

JobKind = Literal[request_kinds()]
JobMode = Literal[request_modes()]
# "damaged": a job folder the server could not read when it started (the reason is in
# its message); listed so nothing vanishes, and deletable like any finished job.
FINISHED_STATES: tuple[str, ...] = ("succeeded", "failed", "cancelled", "interrupted", "damaged")
JobState = Literal[("queued", "running", *FINISHED_STATES)]
QualityPreset = Literal[all_presets()]
ModelSlot = Literal[MODEL_SLOTS]
TextureSize = Literal[TEXTURE_SIZES]
ModelSource = Annotated[str, StringConstraints(max_length=MAX_MODEL_SOURCE_CHARS)]

JOB_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"


class JobRequest(BaseModel):
    """What to make. ``edit`` jobs name the finished job they start from."""

    # Strict: "5" or true is not a seed; a client that sends them has a bug to hear about.
    model_config = ConfigDict(extra="forbid", strict=True)

    kind: JobKind = "generate"
    mode: JobMode = "parametric"
    prompt: str = Field("", max_length=MAX_PROMPT_CHARS, description="the description")
    negative_prompt: str = Field(
        "", max_length=MAX_PROMPT_CHARS, description="what to avoid (sculpt and edit)"
    )
    seed: int | None = Field(
        None, ge=SEED_RANGE[0], lt=SEED_RANGE[1], description="default: derived from the text"
    )
    quality: QualityPreset | None = Field(
        None, description="the job kind's preset (default: its standard one)"
    )
    variants: int = Field(1, ge=1, le=MAX_VARIANTS, description="how many different heads")
    texture_size: TextureSize = TEXTURE_SIZES[0]
    parent_id: str | None = Field(
        None, pattern=JOB_ID_PATTERN, description="the finished job this one starts from"
    )
    instruction: str = Field("", max_length=MAX_PROMPT_CHARS, description="edit: what to change")
    edit_scale: float = Field(
        EDIT_SCALE_DEFAULT,
        ge=EDIT_SCALE_RANGE[0],
        le=EDIT_SCALE_RANGE[1],
        description="edit: how strongly to apply it",
    )
    up: str | None = Field(
        None, pattern=AXIS_PATTERN, description="rig: the mesh's up axis (+y, -z, ...)"
    )
    front: str | None = Field(
        None, pattern=AXIS_PATTERN, description="rig: the axis the face looks along"
    )
    guidance: Literal["sd", "reference"] = Field(
        "sd",
        description="sculpt: sd (Stable Diffusion, the models below), or reference: rebuild "
        "the parent's GLB (e.g. an upload) by score distillation, with no weights",
    )
    models: dict[
        ModelSlot, Annotated[str, StringConstraints(max_length=MAX_MODEL_SOURCE_CHARS)]
    ] = Field(
        default_factory=dict,
        description="sculpt/edit: local folders, .safetensors files or hub ids of the models",
    )

    @model_validator(mode="after")
    def _within_its_kinds_limits(self) -> JobRequest:
        """The job kind's own checks (as the CLI makes them); prompts come back trimmed."""
        try:
            checked = find_kind(self.kind, self.mode).check(self.model_dump())
        except RequestError as error:
            raise ValueError(str(error)) from None
        for name in ("quality", "prompt", "negative_prompt", "instruction"):
            setattr(self, name, checked[name])
        return self


def job_mode(request: JobRequest) -> str:
    """The mode a job is stored and shown with: its request's, or — for a kind that answers
    any mode (rig) — the kind's own name, so a rig job never looks like a parametric head."""
    kind = find_kind(request.kind, request.mode)
    return request.mode if kind.mode is not None else kind.name


class OutputFile(BaseModel):
    name: str
    size: int
    media_type: str


class QueuePlace(BaseModel):
    """Where a queued job waits: its place in its lane and what that lane runs now."""

    lane: str
    position: int = Field(ge=1, description="1: it runs next")
    running: str | None = Field(None, description="the job its lane runs now")
    running_recovered: bool = Field(
        False, description="that job was recovered after a restart: it is giving way"
    )
    lane_ready: bool = Field(True, description="false while the lane loads its models")


class JobStatus(BaseModel):
    """Where a job stands; also what ``status.json`` in its folder holds."""

    id: str
    kind: str  # as JobRequest (plain text: history may hold kinds no longer registered)
    mode: str
    state: JobState
    progress: float = Field(ge=0.0, le=1.0)
    stage: str = ""
    message: str = ""
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    prompt: str = ""
    parent_id: str | None = None  # the job this one was made from (edit)
    rerun_on_start: bool = False  # interrupted by a shutdown: queued again at the next start
    attempts: int = 0  # times it started running (a crash mid-job queues it again, limited)
    # Queued again when the server started (a crash or a shutdown left it unfinished): it
    # runs after every job submitted since, and gives way to one while it runs.
    recovered: bool = False
    queue: QueuePlace | None = None  # answers only, for a queued job: why it waits
    descriptive_code: dict[str, Any] | None = None
    outputs: list[OutputFile] = Field(default_factory=list)


class JobList(BaseModel):
    jobs: list[JobStatus]
    total: int
    next_offset: int | None


class PipelineAvailability(BaseModel):
    """Whether a mode can run here. ``model_slots``: the weights each of its jobs must name
    in ``models`` (the server holds none), so a client can say which of its own are unset
    instead of listing the mode as ready."""

    available: bool
    reason: str = ""
    model_slots: list[ModelSlot] | None = None  # None (left out): the executor did not say


class Health(BaseModel):
    """What the server is and can do. ``service`` names it, so a client that reached some
    other web server on the port can say so instead of reading its 404s as ours."""

    service: Literal["headsculpt"] = "headsculpt"
    status: Literal["ok"] = "ok"
    version: str
    device: str
    pipelines: dict[str, PipelineAvailability]
    queued: dict[str, int]


class ErrorBody(BaseModel):
    """Every 4xx/5xx: what went wrong, and the request field when one is to blame."""

    error: str
    field: str | None = None
    detail: list[dict[str, Any]] | None = None
