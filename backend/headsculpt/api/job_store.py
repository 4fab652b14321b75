"""Jobs on disk: one folder per job with its request, its status and its outputs.

``<data>/jobs/<id>/request.json`` is written once, ``status.json`` on every
change, outputs as the pipeline produces them (``outputs/``), checkpoints in
``scratch/`` (never listed, kept across restarts so a job can resume). Every
write goes to a temporary file in the same folder and is renamed over the
target, so a crash (or kill -9) leaves either the old or the new file, never
half of one. Nothing in the store
is deleted except by an explicit DELETE.

On open, jobs that were running when the process died are marked
``interrupted``; jobs still queued are handed back to be queued again.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headsculpt.api.schemas import FINISHED_STATES, JobRequest, JobStatus, OutputFile
from headsculpt.files import write_atomically

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MEDIA_TYPES = {".glb": "model/gltf-binary", ".json": "application/json", ".png": "image/png"}


class UnknownJobError(KeyError):
    """No job with this id."""


def now() -> str:
    return _timestamp(datetime.now(UTC))


def _timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds: sorts as text in time order."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_safe_file_name(name: str) -> bool:
    """A plain file name: no separators, no "..", no leading dot."""
    return bool(_SAFE_NAME.match(name)) and ".." not in name


@dataclass
class RecoveredJobs:
    """What opening the store found: jobs to queue again, jobs now marked interrupted."""

    requeue: list[str]
    interrupted: list[str]


class JobStore:
    """The job folders under ``root``; safe to use from several threads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.jobs_dir = self.root / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._statuses: dict[str, JobStatus] = {}
        for folder in self.jobs_dir.iterdir():
            status = self._read_status(folder)
            if status is not None:
                self._statuses[status.id] = status

    # --- recovery -------------------------------------------------------
    def recover(self) -> RecoveredJobs:
        """After a restart: running jobs become ``interrupted``; queued ones go back."""
        requeue, interrupted = [], []
        with self._lock:
            for status in self._sorted(oldest_first=True):
                if status.state == "running":
                    self.update(status.id, state="interrupted", finished_at=now(),
                                message="the server stopped while this job ran")  # fmt: skip
                    interrupted.append(status.id)
                elif status.state == "queued":
                    requeue.append(status.id)
        return RecoveredJobs(requeue, interrupted)

    # --- jobs -----------------------------------------------------------
    def create(self, request: JobRequest) -> JobStatus:
        with self._lock:
            created = datetime.now(UTC)
            job_id = f"{created:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
            folder = self.jobs_dir / job_id
            folder.mkdir()  # a clash raises instead of mixing two jobs
            (folder / "outputs").mkdir()
            write_atomically(folder / "request.json", request.model_dump_json(indent=2).encode())
            status = JobStatus(
                id=job_id, kind=request.kind, mode=request.mode, state="queued", progress=0.0,
                created_at=_timestamp(created), prompt=request.prompt,
                parent_id=request.parent_id,
            )  # fmt: skip
            self._write_status(status)
            return status

    def request(self, job_id: str) -> JobRequest:
        path = self._folder(job_id) / "request.json"
        return JobRequest.model_validate_json(path.read_bytes())

    def get(self, job_id: str) -> JobStatus:
        with self._lock:
            status = self._statuses.get(job_id)
            if status is None:
                raise UnknownJobError(job_id)
            return status.model_copy(deep=True)

    def list(self, offset: int = 0, limit: int = 20) -> tuple[list[JobStatus], int]:
        """History, newest first: (one page, total)."""
        with self._lock:
            ordered = self._sorted(oldest_first=False)
            page = [s.model_copy(deep=True) for s in ordered[offset : offset + limit]]
            return page, len(ordered)

    def update(self, job_id: str, **changes: Any) -> JobStatus:
        with self._lock:
            status = self.get(job_id).model_copy(update=changes)
            status = JobStatus.model_validate(status.model_dump())  # re-check the values
            self._write_status(status)
            return status

    def delete(self, job_id: str) -> None:
        with self._lock:
            folder = self._folder(job_id)
            self._statuses.pop(job_id)
            trash = folder.with_name(f".deleted-{job_id}")
            os.replace(folder, trash)  # one rename: the job is gone or intact, never half
        shutil.rmtree(trash, ignore_errors=True)

    def counts(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for status in self._statuses.values():
                counts[status.state] = counts.get(status.state, 0) + 1
            return counts

    # --- files ----------------------------------------------------------
    def scratch_dir(self, job_id: str) -> Path:
        """The job's own folder for checkpoints (created on first use)."""
        folder = self._folder(job_id) / "scratch"
        folder.mkdir(exist_ok=True)
        return folder

    def add_output(self, job_id: str, name: str, data: bytes) -> JobStatus:
        """Store an output file and list it on the job (replacing one of the same name)."""
        if not is_safe_file_name(name):
            raise ValueError(f"output name {name!r} is not a plain file name")
        with self._lock:
            write_atomically(self._folder(job_id) / "outputs" / name, data)
            status = self.get(job_id)
            entry = OutputFile(name=name, size=len(data), media_type=media_type(name))
            outputs = [o for o in status.outputs if o.name != name] + [entry]
            return self.update(job_id, outputs=outputs)

    def output_path(self, job_id: str, name: str) -> Path | None:
        """The file of a listed output, or None. Names are checked, never joined blindly."""
        if not is_safe_file_name(name):
            return None
        status = self.get(job_id)
        if name not in {o.name for o in status.outputs}:
            return None
        path = (self._folder(job_id) / "outputs" / name).resolve()
        if path.parent != (self._folder(job_id) / "outputs").resolve() or not path.is_file():
            return None
        return path

    # --- internals ------------------------------------------------------
    def _folder(self, job_id: str) -> Path:
        if job_id not in self._statuses:
            raise UnknownJobError(job_id)
        return self.jobs_dir / job_id

    def _sorted(self, oldest_first: bool) -> list[JobStatus]:
        return sorted(self._statuses.values(), key=lambda s: (s.created_at, s.id),
                      reverse=not oldest_first)  # fmt: skip

    def _write_status(self, status: JobStatus) -> None:
        folder = self.jobs_dir / status.id
        write_atomically(folder / "status.json", status.model_dump_json(indent=2).encode())
        self._statuses[status.id] = status

    @staticmethod
    def _read_status(folder: Path) -> JobStatus | None:
        if folder.name.startswith(".") or not (folder / "status.json").is_file():
            return None
        try:
            return JobStatus.model_validate(json.loads((folder / "status.json").read_bytes()))
        except (OSError, ValueError):
            return None  # an unreadable folder is left alone, not deleted


def media_type(name: str) -> str:
    return _MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def is_finished(state: str) -> bool:
    return state in FINISHED_STATES
