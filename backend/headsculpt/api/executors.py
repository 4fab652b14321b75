"""What running a job means to the server: the registered kind's pipeline, loaded once.

One executor per job kind (pipelines/registry.py). It loads its pipeline on its
lane's thread before the lane's first job (models stay warm between jobs), turns
a stored request into the pipeline's own request, and runs it. Kinds with memory or
time limits (the rig) run in a worker process instead (api/worker.py). ``availability()``
is what /health reports; a kind whose pipeline is not built, or failed to load,
says why (and its jobs are refused with 501).
"""

from __future__ import annotations

import threading
from typing import Protocol

from headsculpt.api.schemas import JobRequest, PipelineAvailability
from headsculpt.pipelines.contract import JobOutputs, make_request
from headsculpt.pipelines.registry import JobKind, find_kind, job_kinds
from headsculpt.progress import ProgressCallback


class Executor(Protocol):
    def availability(self) -> PipelineAvailability: ...

    def load(self) -> None:
        """Load models (on the lane's thread, before its first job)."""

    def run(self, request: JobRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        """Run one job; raise headsculpt.progress.Cancelled (from ``progress``) to stop."""


# One pipeline loads at a time, whichever lane asks: two lanes importing the same
# libraries at once (transformers' lazy modules) can fail with "cannot import name".
_LOADING = threading.Lock()


class PipelineExecutor:
    """A job kind's pipeline, loaded on first use and kept."""

    def __init__(self, kind: JobKind) -> None:
        self.kind = kind
        self._pipeline = None
        self._loaded = threading.Event()
        self._error = "" if kind.built else kind.not_built

    def availability(self) -> PipelineAvailability:
        if self._error:
            return PipelineAvailability(available=False, reason=self._error)
        needs = ""
        if self.kind.model_slots:  # weights come with each job (the add-on's preferences)
            slots = ", ".join(f"models.{slot}" for slot in self.kind.model_slots)
            needs = f"each job names its weights ({slots})"
        slots = list(self.kind.model_slots)
        if not self._loaded.is_set():
            loading = "loading its models" + (f"; {needs}" if needs else "")
            return PipelineAvailability(available=True, reason=loading, model_slots=slots)
        return PipelineAvailability(available=True, reason=needs, model_slots=slots)

    def load(self) -> None:
        if self._pipeline is not None or not self.kind.built:
            return
        try:
            with _LOADING:
                self._pipeline = self.kind.load_pipeline_class().from_defaults()
        except Exception as error:  # reported by /health; jobs fail with the reason
            self._error = f"the {self.kind.name} pipeline failed to load: {error}"
            raise
        finally:
            self._loaded.set()

    def run(self, request: JobRequest, outputs: JobOutputs, progress: ProgressCallback) -> None:
        self.load()
        values = self.kind.check(request.model_dump())
        self._pipeline.run(make_request(self._pipeline.Request, values), outputs, progress)


def default_executors() -> dict[str, Executor]:
    """An executor per registered job kind, by its name (as /health lists them): in the
    server's process, or in a worker process of its own for kinds with limits (rig)."""
    from headsculpt.api.worker import WorkerExecutor

    return {
        kind.name: WorkerExecutor(kind) if kind.isolated else PipelineExecutor(kind)
        for kind in job_kinds()
    }


def pipeline_name(request: JobRequest) -> str:
    """The name of the job kind that runs a request."""
    return find_kind(request.kind, request.mode).name
