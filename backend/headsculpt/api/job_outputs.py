"""The pipeline contract's ``outputs`` for a stored job: files, parent and scratch via the store.

A pipeline never joins paths into the job folders: it writes by plain name
(listed on the job at once), reads its parent's outputs by name, and keeps
checkpoints in the job's scratch folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headsculpt.api.job_store import JobStore, UnknownJobError


class StoredParent:
    """A finished job's outputs, read through the store (names are checked there)."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store = store
        self.id = job_id

    def names(self) -> list[str]:
        try:
            return [output.name for output in self.store.get(self.id).outputs]
        except UnknownJobError:
            return []

    def read(self, name: str) -> bytes:
        try:
            path = self.store.output_path(self.id, name)
        except UnknownJobError:
            raise FileNotFoundError(f"the parent job {self.id} was deleted") from None
        if path is None:
            raise FileNotFoundError(f"the parent job {self.id} has no file {name!r}")
        return path.read_bytes()

    def describe(self, name: str) -> str:
        """How messages name the file: an upload by the name it was sent with, another
        job's output with the job (never the data folder's path)."""
        try:
            kind = self.store.get(self.id).kind
        except UnknownJobError:
            kind = ""
        return name if kind == "upload" else f"{name} of job {self.id}"

    def local_path(self, name: str) -> Path | None:
        """The output's file in the job folder, read in place (never copied whole)."""
        try:
            return self.store.output_path(self.id, name)
        except UnknownJobError:
            return None


class StoredOutputs:
    """JobOutputs of one stored job."""

    def __init__(self, store: JobStore, job_id: str, parent_id: str | None) -> None:
        self.store = store
        self.job_id = job_id
        self.scratch = store.scratch_dir(job_id)
        self.parent = StoredParent(store, parent_id) if parent_id else None

    def write(self, name: str, data: bytes) -> None:
        self.store.add_output(self.job_id, name, data)

    def set_code(self, code: dict[str, Any]) -> None:
        self.store.update(self.job_id, descriptive_code=code)
