"""Jobs on disk: one folder per job with its request, its status and its outputs.

``<data>/jobs/<id>/request.json`` is written once, ``status.json`` on every
change, outputs as the pipeline produces them (``outputs/``), checkpoints in
``scratch/`` (never listed, kept across restarts so a job can resume). Every
write goes to a temporary file in the same folder and is renamed over the
target, so a crash (or kill -9) leaves either the old or the new file, never
half of one. Nothing in the store is deleted except by an explicit DELETE (and
the leftovers of a crash: temporary files, a submit that never finished, a
delete that never finished). Folders are private to the server's user (0700).

Memory and disk never disagree for long. ``update`` writes first and changes
the job only when the disk took it (an OSError otherwise: a full or read-only
disk). ``settle`` is for the states a job ends in: it changes the job at once
and writes it when the disk allows (``flush_unsaved`` retries), so a job whose
writes fail still ends, with its reason, instead of staying ``running``.

Opening the store never fails because of one job: a folder whose status or
queued request cannot be read is listed as ``damaged`` with the reason.

Uploads arrive in ``<data>/incoming/<random>/<name>`` (streamed there chunk by chunk,
0600, never held whole in memory) and are moved into their job folder in one rename;
whatever a crash leaves in ``incoming/`` is removed when the store opens.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from headsculpt.api.schemas import (
    FINISHED_STATES,
    JOB_ID_PATTERN,
    JobRequest,
    JobStatus,
    OutputFile,
    job_mode,
)
from headsculpt.files import PARTIAL_SUFFIX, write_atomically
from headsculpt.limits import MAX_JOB_ATTEMPTS

log = logging.getLogger("headsculpt.api")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_JOB_ID = re.compile(JOB_ID_PATTERN)
_MEDIA_TYPES = {".glb": "model/gltf-binary", ".json": "application/json", ".png": "image/png"}
_PRIVATE_FOLDER = 0o700
_PRIVATE_FILE = 0o600
_TRASH_PREFIX = ".deleted-"
_INCOMING = "incoming"  # uploads being received


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
        self.jobs_dir.mkdir(parents=True, exist_ok=True, mode=_PRIVATE_FOLDER)
        for folder in (self.root, self.jobs_dir):
            os.chmod(folder, _PRIVATE_FOLDER)  # job prompts and heads are the user's own
        self.incoming_dir = self.root / _INCOMING
        shutil.rmtree(self.incoming_dir, ignore_errors=True)  # uploads a crash cut short
        self._lock = threading.RLock()
        self._statuses: dict[str, JobStatus] = {}
        self._unsaved: set[str] = set()  # settled in memory, not yet on disk
        for folder in sorted(self.jobs_dir.iterdir()):
            status = self._open_folder(folder)
            if status is not None:
                self._statuses[status.id] = status
        self.flush_unsaved()  # damaged jobs' statuses replace the unreadable ones

    # --- recovery -------------------------------------------------------
    def recover(self) -> RecoveredJobs:
        """After a restart: queued jobs go back in line (``recovered``: behind any job
        submitted from now on; api/runner.py), and so do jobs a shutdown
        interrupted (``rerun_on_start``) and jobs a crash left running — those resume from
        their checkpoints in the scratch folder — unless they already started
        ``MAX_JOB_ATTEMPTS`` times (a job that takes the server down each time): those
        become ``interrupted``."""
        requeue, interrupted = [], []
        with self._lock:
            for status in self._sorted(oldest_first=True):
                if status.state == "running" and status.attempts < MAX_JOB_ATTEMPTS:
                    message = (
                        f"the server stopped while this job ran; queued again "
                        f"(attempt {status.attempts + 1} of {MAX_JOB_ATTEMPTS}), after any "
                        f"job submitted since"
                    )
                    self.settle(status.id, state="queued", progress=0.0, stage="",
                                started_at=None, message=message,
                                recovered=True)  # fmt: skip
                    requeue.append(status.id)
                elif status.state == "running":
                    self.settle(status.id, state="interrupted", finished_at=now(),
                                message=f"the server stopped while this job ran, "
                                f"{status.attempts} times; not started again")  # fmt: skip
                    interrupted.append(status.id)
                elif status.state == "interrupted" and status.rerun_on_start:
                    message = ("interrupted when the server stopped; queued again, after "
                               "any job submitted since")  # fmt: skip
                    self.settle(status.id, state="queued", rerun_on_start=False, progress=0.0,
                                stage="", started_at=None, finished_at=None,
                                message=message, recovered=True)  # fmt: skip
                    requeue.append(status.id)
                elif status.state == "queued":
                    if not status.recovered:
                        self.settle(status.id, recovered=True)
                    requeue.append(status.id)
        return RecoveredJobs(requeue, interrupted)

    # --- jobs -----------------------------------------------------------
    def create(self, request: JobRequest) -> JobStatus:
        """A new queued job. OSError (nothing left behind) when the disk refuses. Its status
        carries the mode of the kind that runs it (a rig job's is "rig")."""
        data = request.model_dump_json(indent=2).encode()
        return self._new_job(
            lambda job_id, created: JobStatus(
                id=job_id, kind=request.kind, mode=job_mode(request), state="queued",
                progress=0.0, created_at=created, prompt=request.prompt,
                parent_id=request.parent_id,
            ),
            {"request.json": data},
        )  # fmt: skip

    def create_upload(self, name: str, data: bytes | Path) -> JobStatus:
        """A file a client sent (a mesh to rig), kept as a finished job of kind "upload"
        whose one output is the file: jobs that use it name it as their parent. ``data``:
        the bytes, or a file received in ``incoming_file()`` (moved, not copied)."""
        if not is_safe_file_name(name):
            raise ValueError(f"upload name {name!r} is not a plain file name")
        size = data.stat().st_size if isinstance(data, Path) else len(data)
        entry = OutputFile(name=name, size=size, media_type=media_type(name))
        record = json.dumps({"kind": "upload", "name": name, "size": size}).encode()
        return self._new_job(
            lambda job_id, created: JobStatus(
                id=job_id, kind="upload", mode="file", state="succeeded", progress=1.0,
                stage="done", created_at=created, finished_at=now(), prompt=name,
                outputs=[entry],
            ),
            {f"outputs/{name}": data, "request.json": record},
        )  # fmt: skip

    def incoming_file(self, name: str) -> tuple[Path, BinaryIO]:
        """A new private file (0600) to receive an upload into, in a folder of its own under
        ``incoming/``: (its path, an open binary handle). ``discard_incoming`` removes it."""
        if not is_safe_file_name(name):
            raise ValueError(f"upload name {name!r} is not a plain file name")
        self.incoming_dir.mkdir(mode=_PRIVATE_FOLDER, exist_ok=True)
        folder = self.incoming_dir / secrets.token_hex(8)
        folder.mkdir(mode=_PRIVATE_FOLDER)
        path = folder / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE)
        return path, os.fdopen(descriptor, "wb")

    def discard_incoming(self, path: Path) -> None:
        """Remove what ``incoming_file`` made (after the upload was kept, or refused)."""
        if path.parent.parent == self.incoming_dir:
            shutil.rmtree(path.parent, ignore_errors=True)

    def _new_job(
        self, make_status: Callable[[str, str], JobStatus], files: dict[str, bytes | Path]
    ) -> JobStatus:
        """A job folder with ``files`` (paths inside it: bytes, or a received file to move
        in) and its status: all or nothing."""
        with self._lock:
            created = datetime.now(UTC)
            job_id = f"{created:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
            folder = self.jobs_dir / job_id
            folder.mkdir(mode=_PRIVATE_FOLDER)  # a clash raises instead of mixing two jobs
            status = make_status(job_id, _timestamp(created))
            try:
                (folder / "outputs").mkdir(mode=_PRIVATE_FOLDER)
                for name, data in files.items():
                    if isinstance(data, Path):
                        os.chmod(data, _PRIVATE_FILE)
                        os.replace(data, folder / name)  # same disk: one rename
                    else:
                        write_atomically(folder / name, data, _PRIVATE_FILE)
                self._write_status(status)
            except OSError:
                shutil.rmtree(folder, ignore_errors=True)  # half a job is no job
                raise
            self._statuses[job_id] = status
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
        """Change a job: on disk first, then visible. OSError (job unchanged) if the disk
        refuses."""
        with self._lock:
            status = self._changed(job_id, changes)
            self._write_status(status)
            self._statuses[job_id] = status
            self.flush_unsaved()  # the disk takes writes again: catch up
            return status

    def settle(self, job_id: str, **changes: Any) -> JobStatus:
        """Change a job whatever the disk says (how a job ends): visible at once, on disk
        now if the disk allows, else as soon as it does."""
        with self._lock:
            status = self._changed(job_id, changes)
            self._statuses[job_id] = status
            self._unsaved.add(job_id)
            self.flush_unsaved()
            return status

    def flush_unsaved(self) -> bool:
        """Write statuses the disk refused before; True when none is left behind."""
        with self._lock:
            for job_id in sorted(self._unsaved):
                status = self._statuses.get(job_id)
                try:
                    if status is not None:
                        self._write_status(status)
                except OSError as error:
                    log.warning("job %s: status not written yet (%s)", job_id, error.strerror)
                    return False
                self._unsaved.discard(job_id)
            return True

    def delete(self, job_id: str) -> None:
        with self._lock:
            folder = self._folder(job_id)
            trash = folder.with_name(f"{_TRASH_PREFIX}{job_id}")
            os.replace(folder, trash)  # one rename: the job is gone or intact, never half
            self._statuses.pop(job_id)
            self._unsaved.discard(job_id)
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
        folder.mkdir(exist_ok=True, mode=_PRIVATE_FOLDER)
        return folder

    def add_output(self, job_id: str, name: str, data: bytes) -> JobStatus:
        """Store an output file and list it on the job (replacing one of the same name)."""
        if not is_safe_file_name(name):
            raise ValueError(f"output name {name!r} is not a plain file name")
        with self._lock:
            write_atomically(self._folder(job_id) / "outputs" / name, data, _PRIVATE_FILE)
            status = self.get(job_id)
            entry = OutputFile(name=name, size=len(data), media_type=media_type(name))
            outputs = [o for o in status.outputs if o.name != name] + [entry]
            return self.update(job_id, outputs=outputs)

    def write_log(self, job_id: str, name: str, text: str) -> None:
        """A diagnostic file in the job's folder (error.log); skipped when the disk refuses."""
        try:
            write_atomically(self._folder(job_id) / name, text.encode("utf-8"), _PRIVATE_FILE)
        except (OSError, UnknownJobError) as error:
            log.warning("job %s: %s not written (%s)", job_id, name, error)

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

    def _changed(self, job_id: str, changes: dict[str, Any]) -> JobStatus:
        status = self.get(job_id).model_copy(update=changes)
        return JobStatus.model_validate(status.model_dump())  # re-check the values

    def _sorted(self, oldest_first: bool) -> list[JobStatus]:
        return sorted(self._statuses.values(), key=lambda s: (s.created_at, s.id),
                      reverse=not oldest_first)  # fmt: skip

    def _write_status(self, status: JobStatus) -> None:
        folder = self.jobs_dir / status.id
        data = status.model_dump_json(indent=2).encode()
        write_atomically(folder / "status.json", data, _PRIVATE_FILE)

    def _open_folder(self, folder: Path) -> JobStatus | None:
        """The job in ``folder`` as found after a restart; None for what is not a job."""
        if folder.name.startswith(_TRASH_PREFIX):  # a delete that a crash cut short
            shutil.rmtree(folder, ignore_errors=True)
            return None
        if not _JOB_ID.match(folder.name) or not folder.is_dir():
            return None  # not ours: left alone
        _remove_partial_files(folder)
        has_outputs = any((folder / "outputs").glob("*"))
        if not (folder / "status.json").exists() and not has_outputs:
            log.warning("removing %s: a submit that never finished (no status)", folder.name)
            shutil.rmtree(folder, ignore_errors=True)
            return None
        try:
            status = JobStatus.model_validate_json((folder / "status.json").read_bytes())
            if status.id != folder.name:
                raise ValueError(f"status.json names job {status.id}")
        except (OSError, ValueError) as error:
            return self._damaged(folder, f"its status.json is unreadable ({_reason(error)})")
        if status.state == "queued":  # it will run: its request must be readable now
            try:
                JobRequest.model_validate_json((folder / "request.json").read_bytes())
            except (OSError, ValueError) as error:
                return self._damaged(folder, f"its request.json is unusable ({_reason(error)})")
        return status

    def _damaged(self, folder: Path, reason: str) -> JobStatus:
        """A job that cannot be read: listed (not deleted) with the reason; its files kept."""
        log.warning("job %s set aside: %s", folder.name, reason)
        created = datetime.strptime(folder.name[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        outputs = [
            OutputFile(name=p.name, size=p.stat().st_size, media_type=media_type(p.name))
            for p in sorted((folder / "outputs").glob("*"))
            if p.is_file() and is_safe_file_name(p.name)
        ]
        request = _loose_request(folder / "request.json")
        status = JobStatus(
            id=folder.name, kind=str(request.get("kind", "generate")),
            mode=str(request.get("mode", "parametric")), state="damaged", progress=0.0,
            created_at=_timestamp(created), finished_at=now(), outputs=outputs,
            prompt=str(request.get("prompt", ""))[:2000],
            message=f"set aside when the server started: {reason}; its files are kept",
        )  # fmt: skip
        self._unsaved.add(status.id)  # written (replacing the damaged file) when possible
        return status


def _loose_request(path: Path) -> dict[str, Any]:
    """What a damaged job's request.json still says (kind, mode, prompt), if anything."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remove_partial_files(folder: Path) -> None:
    """Temporary files of writes a crash cut short."""
    for partial in [*folder.glob(f".*{PARTIAL_SUFFIX}"), *folder.glob(f"*/.*{PARTIAL_SUFFIX}")]:
        partial.unlink(missing_ok=True)


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def media_type(name: str) -> str:
    return _MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def is_finished(state: str) -> bool:
    return state in FINISHED_STATES
