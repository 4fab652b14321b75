"""HTTP client for the HeadSculpt backend (stdlib only: Blender ships no requests).

Every failure becomes a :class:`BackendError` with a message for the artist and,
when the fix is known, a hint ("Start the backend", "Check the token").
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class BackendError(Exception):
    """Something the artist should read: what went wrong and how to fix it."""

    def __init__(self, message: str, hint: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status

    def __str__(self) -> str:
        return f"{self.message}. {self.hint}" if self.hint else self.message


@dataclass
class BackendClient:
    """The /v1 API of one backend."""

    url: str
    token: str = ""
    timeout: float = 10.0

    def health(self) -> dict[str, Any]:
        return self._json("GET", "/v1/health")

    def submit(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/v1/jobs", request)

    def upload(self, path: str, timeout: float = 300.0) -> dict[str, Any]:
        """Send a file (a mesh to rig); the backend keeps it as a finished "upload" job
        whose id a rig request names as its ``parent_id``."""
        with open(path, "rb") as handle:
            data = handle.read()
        name = urllib.parse.quote(os.path.basename(path), safe="")
        body = self._request("POST", f"/v1/uploads?name={name}", data, timeout=timeout)
        return json.loads(body.decode("utf-8"))

    def job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/jobs/{_quote(job_id)}")

    def jobs(self, offset: int = 0, limit: int = 20) -> dict[str, Any]:
        return self._json("GET", f"/v1/jobs?offset={int(offset)}&limit={int(limit)}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/v1/jobs/{_quote(job_id)}/cancel")

    def delete(self, job_id: str) -> None:
        self._request("DELETE", f"/v1/jobs/{_quote(job_id)}")

    def download(self, job_id: str, name: str, destination: str) -> str:
        """Save an output file; written beside the target and renamed (never half a file)."""
        data = self._request("GET", f"/v1/jobs/{_quote(job_id)}/files/{_quote(name)}")
        os.makedirs(os.path.dirname(destination) or ".", exist_ok=True)
        partial = destination + ".partial"
        with open(partial, "wb") as handle:
            handle.write(data)
        os.replace(partial, destination)
        return destination

    # --- plumbing -------------------------------------------------------
    def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = self._request(method, path, body)
        try:
            return json.loads(data.decode("utf-8")) if data else {}
        except ValueError:
            raise BackendError(
                f"The backend at {self.url} sent something that is not JSON",
                "Check the backend URL",
            ) from None

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes | None = None,
        timeout: float | None = None,
    ) -> bytes:
        headers = {"Accept": "application/json"}
        payload = None
        if isinstance(body, bytes):
            payload = body
            headers["Content-Type"] = "application/octet-stream"
        elif body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.url.rstrip("/") + path, data=payload, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise _http_error(error) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise BackendError(
                f"The backend at {self.url} is not reachable ({reason})",
                "Start the backend (HeadSculpt preferences) or check its URL",
            ) from None


def _http_error(error: urllib.error.HTTPError) -> BackendError:
    try:
        body = json.loads(error.read().decode("utf-8"))
        message = body.get("error") or str(body)
    except (ValueError, OSError):
        message = error.reason or "error"
    hints = {
        401: "Check the token in the HeadSculpt preferences",
        413: "The mesh is larger than the backend accepts; decimate it first",
        403: "Start the backend with --allow-host and the name in this URL",
        404: "The job no longer exists on this backend; refresh the history",
        507: "Free space on the backend's data disk, then try again",
        501: "Use the Parametric mode, or a backend that has this pipeline",
    }
    return BackendError(
        f"Backend error {error.code}: {message}", hints.get(error.code, ""), status=error.code
    )


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")
