"""HTTP client for the HeadSculpt backend (stdlib only: Blender ships no requests).

Every failure becomes a :class:`HeadSculptError` with a message for the artist and,
when the fix is known, a hint ("Start the backend", "Check the token"). A hint that
reads an HTTP status ("the job no longer exists") is only given once the server has
said, on ``/v1/health``, that it is a HeadSculpt backend: another web server on the
port answers 404 and 501 too, and those hints would send the artist the wrong way.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from .errors import HeadSculptError

SERVICE = "headsculpt"  # what /v1/health's "service" says on a HeadSculpt backend


def with_scheme(url: str) -> str:
    """``127.0.0.1:8000`` → ``http://127.0.0.1:8000``: urllib refuses a URL without one."""
    url = url.strip()
    return url if "://" in url else f"http://{url}"


@dataclass
class BackendClient:
    """The /v1 API of one backend."""

    url: str
    token: str = ""
    timeout: float = 10.0
    _identified: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.url = with_scheme(self.url)

    def health(self) -> dict[str, Any]:
        """The backend's version, device and pipelines; refuses a server that is not one."""
        health = self._json("GET", "/v1/health")
        if not isinstance(health, dict) or health.get("service") != SERVICE:
            raise self._not_headsculpt()
        self._identified = True
        return health

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
            raise self._not_headsculpt() from None

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
            raise self._http_error(error, path) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise HeadSculptError(
                f"The backend at {self.url} is not reachable ({reason})",
                "Start the backend (HeadSculpt preferences) or check its URL",
            ) from None

    def _http_error(self, error: urllib.error.HTTPError, path: str) -> HeadSculptError:
        """The backend's own message with the fix for its status — once the server is
        known to be a HeadSculpt backend; otherwise say what answered instead."""
        try:
            body = json.loads(error.read().decode("utf-8"))
        except (ValueError, OSError):
            body = None
        ours = isinstance(body, dict) and isinstance(body.get("error"), str)
        if error.code in (401, 403) and ours:  # /v1/health itself needs the token, the host
            return HeadSculptError(
                f"The backend at {self.url} refused the request: {body['error']}",
                HINTS[error.code],
                status=error.code,
            )
        if not ours or not (self._identified or self._is_headsculpt(path)):
            return self._not_headsculpt()
        return HeadSculptError(
            f"The backend said: {body['error']}", HINTS.get(error.code, ""), status=error.code
        )

    def _is_headsculpt(self, failed_path: str) -> bool:
        """Ask /v1/health whether this is a HeadSculpt backend (once per client)."""
        if failed_path == "/v1/health":
            return False
        try:
            self.health()
        except HeadSculptError:
            return False
        return True

    def _not_headsculpt(self) -> HeadSculptError:
        return HeadSculptError(
            f"Something answered at {self.url}, but it is not a HeadSculpt backend",
            "Check the backend URL and port in the HeadSculpt preferences",
        )


# The fix for each status a HeadSculpt backend answers with.
HINTS = {
    401: "Check the token in the HeadSculpt preferences",
    403: "The backend does not accept this host name; use its IP address, or ask whoever "
    "runs it to allow this name",
    404: "The job no longer exists on this backend; refresh the history",
    413: "The mesh is larger than the backend accepts; decimate it first",
    501: "Use the Parametric mode, or a backend that has this pipeline",
    507: "Free space on the backend's data disk, then try again",
}


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")
