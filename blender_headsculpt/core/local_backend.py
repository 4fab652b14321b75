"""Run the backend on this machine: start `headsculpt serve`, or install it into a venv.

No bpy here: the operators call these from Blender, tests call them directly.
Starting returns at once; a thread waits for the server's ready line, so the UI
never waits on a process that is still importing torch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .errors import HeadSculptError

READY_MARK = "serving on "


class LocalBackend:
    """A `headsculpt serve` process on a free loopback port, owned by this Blender session."""

    def __init__(self, python: str, data_dir: str, log_path: str) -> None:
        self.python = python
        self.data_dir = data_dir
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.error: HeadSculptError | None = None
        self.ready = threading.Event()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Launch the server; ``ready`` is set once it listens (or ``error`` says why not)."""
        if self.running:
            return
        if not self.python or not Path(self.python).exists():
            raise HeadSculptError(
                f"No Python interpreter at '{self.python}'",
                "Set the backend's Python in the HeadSculpt preferences, "
                "or install the bundled backend",
            )
        Path(self.data_dir).mkdir(parents=True, exist_ok=True)
        rotate_log(Path(self.log_path))
        self.ready.clear()
        self.error, self.url = None, ""
        log = open(self.log_path, "wb")  # noqa: SIM115 (the child keeps writing to it)
        command = [
            self.python,
            "-m",
            "headsculpt",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data",
            self.data_dir,
        ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            text=True,
        )
        log.close()
        threading.Thread(target=self._wait_for_ready, daemon=True).start()

    def wait_ready(self, timeout: float = 300.0) -> str:
        """Block until the server listens; its URL. Raises HeadSculptError when it does not."""
        if not self.ready.wait(timeout):
            raise HeadSculptError("The backend did not start in time", self._log_hint())
        if self.error is not None:
            raise self.error
        return self.url

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None
        self.url = ""
        self.ready.clear()

    def _wait_for_ready(self) -> None:
        process = self.process
        for line in process.stdout:
            if READY_MARK in line:
                self.url = line.split(READY_MARK, 1)[1].split()[0]
                self.ready.set()
                break
        else:
            process.wait()
            self.error = HeadSculptError(
                f"The backend stopped while starting (exit code {process.returncode})",
                self._log_hint(),
            )
            self.ready.set()
            return
        for _ in process.stdout:  # keep the pipe drained
            pass

    def _log_hint(self) -> str:
        """The last lines of this start's log (a fresh file per start: no older run's)."""
        try:
            tail = Path(self.log_path).read_text(errors="replace").strip().splitlines()[-3:]
        except OSError:
            tail = []
        last = f" Last log lines: {' | '.join(tail)}" if tail else ""
        return (
            f"Check that '{self.python}' has the headsculpt backend installed "
            f"(log: {self.log_path}).{last}"
        )


def rotate_log(path: Path, keep: int = 3) -> None:
    """Move ``backend.log`` to ``backend.log.1`` (``.1`` to ``.2`` …, ``keep`` of them), so
    each start writes a fresh log and a failed start quotes only its own lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for index in range(keep, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        newer = path if index == 1 else path.with_name(f"{path.name}.{index - 1}")
        if newer.exists():
            newer.replace(older)


def venv_python(venv_dir: str) -> str:
    folder = "Scripts" if sys.platform == "win32" else "bin"
    name = "python.exe" if sys.platform == "win32" else "python"
    return str(Path(venv_dir) / folder / name)


def install_bundled_backend(
    base_python: str,
    venv_dir: str,
    backend_source: str,
    report: Callable[[float, str], None],
    torch_index_url: str = "",
) -> str:
    """Create ``venv_dir`` with ``base_python`` and pip-install the bundled backend into it.

    ``report(fraction, line)`` receives progress and pip's output lines. Returns the
    venv's interpreter. Raises HeadSculptError with pip's last lines when a step fails.
    """
    if not (Path(backend_source) / "pyproject.toml").is_file():
        raise HeadSculptError(
            f"No bundled backend at {backend_source}", "Reinstall the HeadSculpt extension"
        )
    report(0.02, f"creating {venv_dir}")
    _run([base_python, "-m", "venv", venv_dir], report, 0.02, 0.1)
    python = venv_python(venv_dir)
    if torch_index_url:
        report(0.1, f"installing torch from {torch_index_url}")
        _run(
            [python, "-m", "pip", "install", "torch", "--index-url", torch_index_url],
            report,
            0.1,
            0.5,
        )
    report(0.5, "installing the HeadSculpt backend")
    _run([python, "-m", "pip", "install", backend_source], report, 0.5, 0.99)
    report(1.0, "done")
    return python


def _run(command: list[str], report, start: float, end: float) -> None:
    """Run a step, passing its output lines on; progress creeps from start toward end."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    started = time.monotonic()
    for line in process.stdout:
        lines.append(line.rstrip())
        elapsed = time.monotonic() - started
        report(start + (end - start) * (1.0 - 1.0 / (1.0 + elapsed / 30.0)), lines[-1])
    if process.wait() != 0:
        tail = " | ".join(lines[-3:])
        raise HeadSculptError(
            f"'{' '.join(command[:4])} …' failed: {tail}",
            "Check the network or the Python interpreter in the preferences",
        )
