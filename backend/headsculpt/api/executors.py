"""What running a job of each mode means: call the pipeline, hand its files to the store.

An executor is loaded once per server (models stay warm between jobs) and runs
one job at a time on its lane's thread. ``availability()`` is what /health
reports; a mode whose pipeline does not exist yet says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from headsculpt.api.schemas import JobRequest, PipelineAvailability
from headsculpt.files import png_bytes
from headsculpt.progress import ProgressCallback, scaled_progress

# Preview image height per quality preset (the parametric mode has nothing else to tune).
PREVIEW_SIZES = {"draft": 256, "standard": 512, "high": 1024}


@dataclass
class JobOutputs:
    """Where an executor puts what it makes; the runner binds these to the job store."""

    add_file: Callable[[str, bytes], None]
    set_code: Callable[[dict[str, Any]], None]


class Executor(Protocol):
    def availability(self) -> PipelineAvailability: ...

    def load(self) -> None:
        """Load models (on the lane's thread, before its first job)."""

    def run(self, request: JobRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        """Run one job; raise headsculpt.progress.Cancelled (from ``progress``) to stop."""


class ParametricExecutor:
    """The embedded default: ParametricPipeline on the CPU, a few seconds per head."""

    def __init__(self, factory: Callable[[], Any] | None = None) -> None:
        self._factory = factory
        self._pipeline = None
        self._loaded = threading.Event()
        self._error = ""

    def availability(self) -> PipelineAvailability:
        if self._error:
            return PipelineAvailability(available=False, reason=self._error)
        if not self._loaded.is_set():
            return PipelineAvailability(available=True, reason="loading the head model")
        return PipelineAvailability(available=True)

    def load(self) -> None:
        if self._pipeline is not None:
            return
        try:
            if self._factory is None:
                from headsculpt.pipelines.parametric import ParametricPipeline

                self._factory = ParametricPipeline.from_defaults
            self._pipeline = self._factory()
        except Exception as error:  # reported by /health; jobs fail with the reason
            self._error = f"the parametric pipeline failed to load: {error}"
            raise
        finally:
            self._loaded.set()

    def run(self, request: JobRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        from headsculpt.pipelines.parametric import ParametricConfig, default_seed, variant_stem

        self.load()
        pipeline = self._pipeline
        config = ParametricConfig(texture_size=request.texture_size)
        seed = default_seed(request.prompt) if request.seed is None else request.seed
        progress("parse", 0.0)
        code = pipeline.parse(request.prompt)
        outputs.set_code(code.to_json())
        count = request.variants
        # Each head takes 60 % of its share; its preview and files the rest.
        heads = pipeline.each_variant(
            code, request.prompt, count, seed, config, progress, after=0.4
        )
        for k, (result, rest) in enumerate(heads):
            stem = variant_stem("head", k, count)
            size = PREVIEW_SIZES[request.quality]
            preview = png_bytes(result.preview(size, scaled_progress(rest, 0.0, 0.75)))
            files = {
                f"{stem}.glb": result.glb,
                f"{stem}.json": result.sidecar_json(),
                f"{stem}.png": preview,
            }
            for index, (name, data) in enumerate(files.items()):
                rest("save", 0.75 + 0.075 * index)  # each write is flushed to disk: a cancel point
                outputs.add_file(name, data)
        progress("done", 1.0)


class UnavailableExecutor:
    """A mode the schema accepts but this build cannot run yet (answered with 501)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def availability(self) -> PipelineAvailability:
        return PipelineAvailability(available=False, reason=self.reason)

    def load(self) -> None:
        pass

    def run(self, request: JobRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        raise NotImplementedError(self.reason)


def default_executors() -> dict[str, Executor]:
    """Executor per pipeline name, as /health lists them."""
    return {
        "parametric": ParametricExecutor(),
        "sculpt": UnavailableExecutor(
            "the sculpt pipeline (score distillation, NeRF, DMTet) is not built yet"
        ),
        "edit": UnavailableExecutor("the edit pipeline (IESD) is not built yet"),
    }


def pipeline_name(request: JobRequest) -> str:
    """Which executor runs a request: edit jobs → "edit", else their mode."""
    return "edit" if request.kind == "edit" else request.mode
