"""What one Blender session holds while the add-on is enabled, in one place.

The local backend process, the job being followed, a bundled install in
progress, and the preview images. ``reset()`` (on disable) stops the backend and
forgets everything, so disabling and enabling again starts clean.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .client import BackendClient, BackendError
from .job_monitor import JobMonitor
from .local_backend import LocalBackend, venv_python


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

    def connect(self, settings: BackendSettings, start: bool = True) -> BackendClient:
        """A client for the configured backend; starts the local one when asked and needed.

        Blocks while a local backend starts: call it from a worker thread in the UI.
        """
        if settings.mode == "REMOTE":
            if not settings.remote_url:
                raise BackendError(
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
                    raise BackendError(
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


def run_in_background(
    work: Callable[[], Any], apply: Callable[[Any, Exception | None], None], blocking: bool
) -> None:
    """Run ``work`` off the main thread and ``apply(result, error)`` back on it.

    With ``blocking`` (Blender in background mode: no timers fire) both run now.
    """
    if blocking:
        try:
            result, error = work(), None
        except Exception as failure:  # handed to apply, which reports it
            result, error = None, failure
        apply(result, error)
        return
    import bpy

    outcome: dict[str, Any] = {}

    def thread() -> None:
        try:
            outcome["result"] = work()
        except Exception as failure:
            outcome["error"] = failure
        outcome["done"] = True

    def poll() -> float | None:
        if not outcome.get("done"):
            return 0.1
        apply(outcome.get("result"), outcome.get("error"))
        return None

    threading.Thread(target=thread, daemon=True).start()
    bpy.app.timers.register(poll, first_interval=0.1)
