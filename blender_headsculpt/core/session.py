"""What one Blender session holds while the add-on is enabled, in one place.

The local backend process, the job being followed, a bundled install in
progress, and the preview images. ``reset()`` (on disable) stops the backend and
forgets everything, so disabling and enabling again starts clean.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .client import BackendClient
from .errors import HeadSculptError
from .job_monitor import FINISHED, JobMonitor
from .local_backend import LocalBackend, venv_python
from .messages import recovered_notice


@dataclass
class BackendSettings:
    """The preferences that say how to reach the backend, copied on the main thread
    (bpy data must not be read from worker threads)."""

    mode: str  # LOCAL | BUNDLED | REMOTE
    python: str
    bundled_venv: str
    data_dir: str
    log_path: str
    remote_url: str
    remote_token: str

    def interpreter(self) -> str:
        return venv_python(self.bundled_venv) if self.mode == "BUNDLED" else self.python


@dataclass
class InstallState:
    running: bool = False
    progress: float = 0.0
    line: str = ""
    error: str = ""
    python: str = ""


@dataclass
class Session:
    local_backend: LocalBackend | None = None
    monitor: JobMonitor | None = None
    monitor_scene: str = ""
    install: InstallState = field(default_factory=InstallState)
    health: dict[str, Any] | None = None
    last_error: str = ""
    previews: Any = None  # bpy.utils.previews collection, created on register
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Jobs the panel reported as stopped by the backend dying (id → kind, last state seen):
    # they resume after a restart, and the panel must say how they end.
    stopped_jobs: dict[str, tuple[str, str]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # what the panel says about them
    follow_lock: threading.Lock = field(default_factory=threading.Lock)

    def job_lost(self, job_id: str, kind: str) -> None:
        """The backend died under ``job_id``: follow it until it ends after the restart."""
        with self.follow_lock:
            self.stopped_jobs[job_id] = (kind, "stopped")

    def follow_up(self, client: BackendClient) -> None:
        """Look at the jobs the backend stopped on (from any thread): one that has ended
        since becomes a notice in the panel; one the backend no longer has is forgotten."""
        with self.follow_lock:
            pending = dict(self.stopped_jobs)
        for job_id, (kind, _) in pending.items():
            try:
                status = client.job(job_id)
            except HeadSculptError as error:
                if error.status == 404:  # deleted: nothing more to say
                    with self.follow_lock:
                        self.stopped_jobs.pop(job_id, None)
                continue  # the backend is not back yet
            with self.follow_lock:
                if status["state"] in FINISHED:
                    if self.stopped_jobs.pop(job_id, None) is not None:
                        self.notices.append(recovered_notice(kind, job_id, status))
                elif job_id in self.stopped_jobs:
                    self.stopped_jobs[job_id] = (kind, status["state"])

    def connect(self, settings: BackendSettings, start: bool = True) -> BackendClient:
        """A client for the configured backend; starts the local one when asked and needed.

        Blocks while a local backend starts: call it from a worker thread in the UI.
        """
        if settings.mode == "REMOTE":
            if not settings.remote_url:
                raise HeadSculptError(
                    "No backend URL is set", "Set the remote URL in the HeadSculpt preferences"
                )
            return BackendClient(settings.remote_url, settings.remote_token)
        with self.lock:
            backend = self.local_backend
            wanted = settings.interpreter()
            if backend is not None and (backend.python != wanted or not backend.running):
                backend.stop()
                backend = None
            if backend is None:
                if not start:
                    raise HeadSculptError(
                        "The local backend is not running",
                        "Start the backend (HeadSculpt panel or preferences)",
                    )
                backend = LocalBackend(wanted, settings.data_dir, settings.log_path)
                backend.start()
                self.local_backend = backend
        # Without ``start`` the caller may be the main thread: never wait long there.
        return BackendClient(backend.wait_ready(timeout=300.0 if start else 2.0))

    def stop_backend(self) -> None:
        with self.lock:
            if self.local_backend is not None:
                self.local_backend.stop()
                self.local_backend = None


_session: Session | None = None


def get() -> Session:
    global _session
    if _session is None:
        _session = Session()
    return _session


def reset() -> None:
    """Stop the local backend and drop the session (the add-on is being disabled)."""
    global _session
    if _session is not None:
        if _session.monitor is not None:
            _session.monitor.cancel()
        _session.stop_backend()
        _session = None
