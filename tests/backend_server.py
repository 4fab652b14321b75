"""A real `headsculpt serve` process on loopback, for tests that talk HTTP to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

FINISHED = {"succeeded", "failed", "cancelled", "interrupted"}


class BackendServer:
    """Start with ``start()``; ``url`` and ``client`` once it prints its ready line."""

    def __init__(self, data: Path, *args: str, token: str | None = None) -> None:
        self.data = Path(data)
        self.args = args
        self.token = token
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.stderr: list[str] = []

    def start(self, timeout: float = 300.0) -> BackendServer:
        command = [sys.executable, "-m", "headsculpt", "serve", "--port", "0",
                   "--data", str(self.data), *self.args]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if "serving on" in line:
                self.url = line.split("serving on ", 1)[1].split()[0]
                return self
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the server did not start:\n" + "".join(self.stderr[-40:]))

    def client(self, token: str | None = None) -> httpx.Client:
        token = token or self.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)

    def __enter__(self) -> BackendServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_for_job(client: httpx.Client, job_id: str, until=FINISHED, timeout: float = 300.0):
    """Poll a job until its state is in ``until`` (or a predicate on the status holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = client.get(f"/v1/jobs/{job_id}").json()
        except httpx.TransportError:  # a keep-alive connection closed as we reused it:
            time.sleep(0.5)  # ask again on a new one, as the add-on's monitor does
            continue
        if (status["state"] in until) if not callable(until) else until(status):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {status['state']} after {timeout} s")
