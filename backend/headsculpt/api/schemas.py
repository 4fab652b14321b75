"""The /v1 API's request and response bodies (pydantic; FastAPI serves them as OpenAPI).

Every field is bounded, so a malformed or oversized value is refused with a 422
that names it (``loc``) before any work is queued.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from headsculpt.text.parser import MAX_DESCRIPTION_CHARS

JobKind = Literal["generate", "edit"]
JobMode = Literal["parametric", "sculpt"]
JobState = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
FINISHED_STATES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
QualityPreset = Literal["draft", "standard", "high"]
ModelSlot = Literal["base_model", "landmark_controlnet", "edit_controlnet", "back_view_embedding"]

JOB_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"


class JobRequest(BaseModel):
    """What to make. ``edit`` jobs name the finished job they start from."""

    model_config = ConfigDict(extra="forbid")

    kind: JobKind = "generate"
    mode: JobMode = "parametric"
    prompt: str = Field("", max_length=MAX_DESCRIPTION_CHARS, description="the description")
    negative_prompt: str = Field(
        "", max_length=MAX_DESCRIPTION_CHARS, description="what to avoid (sculpt and edit)"
    )
    seed: int | None = Field(None, ge=0, lt=2**32, description="default: derived from the text")
    quality: QualityPreset = Field("standard", description="preset: draft, standard or high")
    variants: int = Field(1, ge=1, le=16, description="how many different heads to make")
    texture_size: Literal[1024, 2048] = 1024
    parent_id: str | None = Field(None, pattern=JOB_ID_PATTERN, description="edit: the job edited")
    instruction: str = Field(
        "", max_length=MAX_DESCRIPTION_CHARS, description="edit: what to change"
    )
    edit_scale: float = Field(1.0, ge=0.0, le=10.0, description="edit: how strongly to apply it")
    models: dict[ModelSlot, Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=dict,
        description="sculpt/edit: local folders, .safetensors files or hub ids of the models",
    )

    @model_validator(mode="after")
    def _edit_needs_parent_and_instruction(self) -> JobRequest:
        if self.kind == "edit":
            if self.parent_id is None:
                raise ValueError("parent_id: an edit job needs the id of the job it edits")
            if not self.instruction.strip():
                raise ValueError("instruction: an edit job needs an instruction")
        elif not self.prompt.strip():
            raise ValueError("prompt: a generate job needs a description")
        return self


class OutputFile(BaseModel):
    name: str
    size: int
    media_type: str


class JobStatus(BaseModel):
    """Where a job stands; also what ``status.json`` in its folder holds."""

    id: str
    kind: JobKind
    mode: JobMode
    state: JobState
    progress: float = Field(ge=0.0, le=1.0)
    stage: str = ""
    message: str = ""
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    prompt: str = ""
    descriptive_code: dict[str, Any] | None = None
    outputs: list[OutputFile] = Field(default_factory=list)


class JobList(BaseModel):
    jobs: list[JobStatus]
    total: int
    next_offset: int | None


class PipelineAvailability(BaseModel):
    available: bool
    reason: str = ""


class Health(BaseModel):
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
