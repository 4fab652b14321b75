"""Follow one job from a worker thread: submit, poll, download; the UI only reads snapshots.

No bpy here. Blender's main thread never waits on the network: a timer reads
:meth:`JobMonitor.snapshot` (a copy taken under a lock), and background-mode
scripts call :meth:`JobMonitor.wait`.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .client import BackendClient
from .errors import HeadSculptError
from .messages import backend_stopped, job_failure, waiting

FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
UNREACHABLE_POLLS = 8  # ~2 s of silence: the backend is gone
FOLLOW_UP_SECONDS = 1.0  # how often, while polling, jobs an earlier crash stopped are checked


@dataclass
class JobSnapshot:
    """What the panel shows about the job, as of the last poll."""

    job_id: str = ""
    state: str = "starting"
    progress: float = 0.0
    stage: str = "connecting"
    message: str = ""
    code: dict[str, Any] | None = None
    preview_path: str = ""
    files: dict[str, str] = field(default_factory=dict)  # output name → local path
    error: HeadSculptError | None = None
    done: bool = False
    lost: bool = False  # the backend stopped (crashed, was killed) while the job ran


class JobMonitor:
    """Submit a request and follow it to the end, in a daemon thread."""

    def __init__(
        self,
        connect: Callable[[], BackendClient],
        request: dict[str, Any],
        download_dir: str,
        interval: float = 0.25,
        upload: str | None = None,
        on_lost: Callable[[str, str], None] | None = None,
        follow_up: Callable[[BackendClient], None] | None = None,
    ) -> None:
        self._connect = connect  # may start a local backend first: runs on the thread
        # on_lost(job id, kind): the backend died under the job (kept; it resumes after a
        # restart). follow_up(client): look at jobs an earlier crash stopped, while polling.
        self._on_lost = on_lost
        self._follow_up = follow_up
        self.request = request
        self._upload = upload  # a file sent first; the request then names it as parent_id
        self.placement: dict[str, Any] | None = None  # where the add-on puts the result
        self._download_dir = download_dir
        self._interval = interval
        self._lock = threading.Lock()
        self._snapshot = JobSnapshot()
        self._cancel = threading.Event()
        self.client: BackendClient | None = None
        self._thread = threading.Thread(target=self._follow, daemon=True, name="headsculpt-job")

    def start(self) -> JobMonitor:
        self._thread.start()
        return self

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return copy.deepcopy(self._snapshot)

    def cancel(self) -> None:
        """Ask the backend to stop the job (sent from the monitor's thread)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> JobSnapshot:
        self._thread.join(timeout)
        return self.snapshot()

    # --- the thread ---------------------------------------------------
    def _update(self, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self._snapshot, name, value)

    def _follow(self) -> None:
        try:
            self._update(stage="connecting")
            self.client = self._connect()
            if self._cancel.is_set():
                self._update(state="cancelled", stage="", done=True)
                return
            if self._upload is not None:
                self._update(stage="uploading")
                uploaded = self.client.upload(self._upload)
                self.request = {**self.request, "parent_id": uploaded["id"]}
            self._update(stage="submitting")
            status = self.client.submit(self.request)
            self._update(job_id=status["id"], state=status["state"],
                         stage=waiting(status.get("queue")))  # fmt: skip
            self._poll(status["id"])
        except _BackendGoneError as gone:
            # Not "failed": the job is kept on the backend's disk and resumes when it
            # starts again (after any job submitted then).
            error = backend_stopped(self.request.get("kind", ""))
            if self._on_lost is not None:  # before ``done``: a waiter sees it recorded
                self._on_lost(gone.job_id, self.request.get("kind", ""))
            self._update(error=error, state="interrupted", message=str(error), stage="",
                         lost=True, done=True)  # fmt: skip
        except HeadSculptError as error:
            self._update(error=error, state="failed", message=str(error), done=True)
        except Exception as error:  # never let the thread die silently
            failure = HeadSculptError(f"Something went wrong while following the job ({error})")
            self._update(error=failure, state="failed", message=str(failure), done=True)

    def _poll(self, job_id: str) -> None:
        failures = 0
        cancel_sent = False
        seen_preview: tuple[str, int] | str = ""
        refreshes = 0
        followed = 0.0
        while True:
            if self._cancel.is_set() and not cancel_sent:
                cancel_sent = True
                try:
                    self.client.cancel(job_id)
                except HeadSculptError as error:
                    if error.status != 409:  # 409: it ended meanwhile
                        raise
            try:
                status = self.client.job(job_id)
                failures = 0
            except HeadSculptError as error:
                failures += 1
                if error.status == 404:  # deleted
                    raise
                if failures >= UNREACHABLE_POLLS:
                    if error.status is None:  # no answer at all: the backend is gone
                        raise _BackendGoneError(job_id) from None
                    raise
                time.sleep(self._interval)
                continue
            if self._follow_up is not None and time.monotonic() - followed > FOLLOW_UP_SECONDS:
                followed = time.monotonic()
                self._follow_up(self.client)
            previews = [o for o in status["outputs"] if o["name"].endswith(".png")]
            # A long job rewrites one progress picture: a new size is a new picture.
            latest = (previews[-1]["name"], previews[-1]["size"]) if previews else ""
            if latest and latest != seen_preview:
                seen_preview = latest
                refreshes += 1
                path = self._fetch(job_id, latest[0], version=refreshes)
                self._update(preview_path=path)
            queued = status["state"] == "queued"
            self._update(
                state=status["state"],
                progress=status["progress"],
                stage=waiting(status.get("queue")) if queued else status["stage"],
                message=status["message"],
                code=status.get("descriptive_code"),
            )
            if status["state"] in FINISHED:
                files = {o["name"]: self._fetch(job_id, o["name"]) for o in status["outputs"]}
                error = None
                if status["state"] != "succeeded":  # said in the panel's words
                    error = job_failure(
                        self.request.get("kind", ""), status["state"], status["message"]
                    )
                if self._follow_up is not None:
                    self._follow_up(self.client)
                self._update(files=files, error=error, done=True)
                return
            time.sleep(self._interval)

    def _fetch(self, job_id: str, name: str, version: int = 0) -> str:
        """Download an output once; a ``version`` > 0 keeps each picture of a file that
        changes (Blender caches images by path)."""
        local = name if version == 0 else f"{os.path.splitext(name)[0]}-{version}.png"
        path = os.path.join(self._download_dir, job_id, local)
        if not os.path.exists(path):
            self.client.download(job_id, name, path)
        return path


class _BackendGoneError(Exception):
    """The backend stopped answering while ``job_id`` was followed."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id
