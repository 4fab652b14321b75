"""A batch worker: one job kind's pipeline, loaded once, making items one after another.

Ray runs this class as an actor (batch/scheduler.py wraps it); nothing here imports
Ray, so a worker can also run in-process (the tests compare its files with
``headsculpt generate``'s). Each item goes through the same ``pipeline.run`` with the
same folder outputs as ``headsculpt generate``, so its files are byte for byte those
of the command with the same text and seed; they are written into the item's attempt
folder and published as a whole (batch/item_files.py).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headsculpt.batch.item_files import discard, publish
from headsculpt.pipelines.contract import OUTPUT_STEM, make_request
from headsculpt.pipelines.folder_outputs import FolderOutputs, InputFile
from headsculpt.pipelines.registry import job_kinds
from headsculpt.progress import no_progress


@dataclass(frozen=True)
class Task:
    """One attempt at one item, as the driver hands it to a worker."""

    item: str
    kind: str  # the job kind's name
    values: Mapping[str, Any]  # the checked request values
    mesh: str | None  # rig: the mesh to rig
    folder: str  # where the item's files end up (DIR/00007)
    staging: str  # this attempt's folder (DIR/.batch/work/00007/attempt-N)
    scratch: str  # the pipeline's checkpoints (kept between attempts)


@dataclass(frozen=True)
class TaskResult:
    """What a worker sends back: the files it published, or why it could not."""

    item: str
    outputs: tuple[str, ...]  # file names inside the item's folder
    seconds: float
    worker: str  # host:pid
    error: str | None = None


class PipelineWorker:
    """Loads ``kind``'s pipeline once (``from_defaults``), then runs tasks of that kind."""

    def __init__(self, kind: str) -> None:
        spec = next((k for k in job_kinds() if k.name == kind), None)
        if spec is None:
            raise ValueError(f"no job kind named {kind!r} is registered on this worker")
        self.kind = kind
        self.pipeline_class = spec.load_pipeline_class()
        self.pipeline = self.pipeline_class.from_defaults()
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def ready(self) -> str:
        """The worker's name, once its pipeline is loaded (the driver waits for this)."""
        return self.name

    def run(self, task: Task) -> TaskResult:
        """Make one item; a pipeline error is the item's failure, not the worker's."""
        started = time.perf_counter()
        try:
            names = self.make(task)
        except Exception as error:  # any error is this item's: reported back, not raised
            discard(Path(task.staging))
            message = str(error) if isinstance(error, ValueError) else repr(error)
            return TaskResult(task.item, (), time.perf_counter() - started, self.name, message)
        return TaskResult(task.item, names, time.perf_counter() - started, self.name)

    def make(self, task: Task) -> tuple[str, ...]:
        """Run the pipeline into the attempt folder, then publish the folder as the item's."""
        if task.kind != self.kind:
            raise ValueError(f"a {task.kind} item was sent to a {self.kind} worker")
        staging, scratch = Path(task.staging), Path(task.scratch)
        discard(staging)  # what an earlier attempt under this name left
        staging.mkdir(parents=True)
        scratch.mkdir(parents=True, exist_ok=True)
        parent = InputFile(Path(task.mesh)) if task.mesh else None
        outputs = FolderOutputs(staging / f"{OUTPUT_STEM}.glb", scratch, parent=parent)
        request = make_request(self.pipeline_class.Request, task.values)
        self.pipeline.run(request, outputs, no_progress)
        names = tuple(dict.fromkeys(path.name for path in outputs.written))
        if not names:
            raise RuntimeError(f"the {self.kind} pipeline wrote no files")
        publish(staging, Path(task.folder))
        return names
