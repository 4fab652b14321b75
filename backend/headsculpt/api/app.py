"""The /v1 HTTP API (FastAPI). Thin: checks input, then asks the store and the runner.

Errors are JSON ``{"error": ..., "field": ..., "detail": ...}``: 400 for a bad
file name or an undecodable body, 401 without the right token, 403 for a request
whose Host or Origin is not this server's (a web page trying to drive it: DNS
rebinding), 404 for an unknown job or file, 408 for a body that stalls, 409 for
an action the job's state forbids, 413 for a body over the limit, 422 for a
malformed body or parameter (``field`` names it), 429 (with Retry-After) when
``MAX_CONCURRENT_UPLOADS`` uploads are already arriving, 501 for a mode whose
pipeline does not exist yet, 507 (503 for a read-only disk) when the data disk
refuses writes. No answer echoes the request's values back.

Uploads are streamed: each chunk goes to a private file in the data folder as it
arrives (the size cap and the stall deadline enforced while it does), so the
server's memory does not grow with them; a file over a mesh budget is refused
(422 naming the budget) before it is kept.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import logging
import os
import secrets
from collections.abc import Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from headsculpt import __version__
from headsculpt.api.executors import pipeline_name
from headsculpt.api.job_store import JobStore, UnknownJobError, is_finished, is_safe_file_name
from headsculpt.api.runner import JobRunner
from headsculpt.api.schemas import (
    JOB_ID_PATTERN,
    ErrorBody,
    Health,
    JobList,
    JobRequest,
    JobStatus,
)
from headsculpt.export.mesh_budget import MeshFileError, check_mesh_file
from headsculpt.limits import (
    MAX_CONCURRENT_UPLOADS,
    MAX_UPLOAD_BYTES,
    MESH_SUFFIXES,
    UPLOAD_RETRY_AFTER_SECONDS,
)
from headsculpt.pipelines.registry import job_kinds

MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT_SECONDS = 10.0  # a body that stalls longer is answered 408
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

log = logging.getLogger("headsculpt.api")

_ERRORS = {code: {"model": ErrorBody} for code in (401, 413, 422)}
_JOB_ERRORS = {**_ERRORS, 404: {"model": ErrorBody}}


def create_app(
    store: JobStore,
    runner: JobRunner,
    token: str | None = None,
    device: str = "cpu",
    on_ready: Callable[[], None] | None = None,
    allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES,
) -> FastAPI:
    """The application; ``token`` set means every /v1 request needs it as a Bearer token.

    ``allowed_hosts``: the names a request's Host (and Origin) may carry; loopback IP
    addresses always pass. None: any Host (a wildcard bind, where the token guards).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if on_ready is not None:
            on_ready()
        yield
        runner.stop()

    app = FastAPI(
        title="HeadSculpt backend",
        version=__version__,
        openapi_url=None,  # served below, behind the token
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES, streamed={"/v1/uploads": MAX_UPLOAD_BYTES})
    app.add_middleware(_TrustedOrigin, allowed_hosts=allowed_hosts)  # outermost: first
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OSError, _disk_error)
    app.add_exception_handler(Exception, _unexpected_error)

    def require_token(authorization: str | None = Header(None, include_in_schema=False)):
        if token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        # As bytes: a header may carry any octet, and compare_digest takes str only in ASCII.
        given_bytes = given.strip().encode("latin-1", errors="replace")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given_bytes, token.encode()):
            raise _fail(
                401, "a valid 'Authorization: Bearer <token>' header is needed", "authorization"
            )

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_token)])
    job_id_path = Path(pattern=JOB_ID_PATTERN, description="a job id from POST /v1/jobs")

    @v1.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @v1.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_docs_page(app.openapi()))

    @v1.get("/health", response_model=Health, response_model_exclude_none=True,
            responses=_ERRORS)  # fmt: skip
    def health() -> Health:
        return Health(
            version=__version__,
            device=device,
            pipelines={name: ex.availability() for name, ex in runner.executors.items()},
            queued=runner.queued(),
        )

    submit_errors = {**_ERRORS, **{code: {"model": ErrorBody} for code in (400, 404, 409, 501)}}

    @v1.post("/jobs", status_code=202, response_model=JobStatus, responses=submit_errors)
    def submit(request: JobRequest, response: Response) -> JobStatus:
        name = pipeline_name(request)
        availability = runner.executors[name].availability()
        if not availability.available:
            raise _fail(501, f"{name} jobs cannot run here: {availability.reason}", "mode")
        if request.parent_id is not None:  # a child reads its parent's files: they must exist
            parent = _get(store, request.parent_id, field="parent_id")
            if parent.state != "succeeded":
                message = f"job {parent.id} is {parent.state}; only a finished head can be a parent"
                raise _fail(409, message, "parent_id")
            if request.kind == "edit":
                _check_edit_parent(parent, request)
        status = store.create(request)
        runner.submit(status.id)
        response.headers["Location"] = f"/v1/jobs/{status.id}"
        return _with_place(status)

    def _with_place(status: JobStatus) -> JobStatus:
        """A queued job's answer says where it waits and what its lane runs (``queue``)."""
        if status.state != "queued":
            return status
        return status.model_copy(update={"queue": runner.place(status.id)})

    arriving = _UploadSlots(MAX_CONCURRENT_UPLOADS)

    @v1.post("/uploads", status_code=201, response_model=JobStatus,
             responses={**_ERRORS, 429: {"model": ErrorBody},
                        507: {"model": ErrorBody}})  # fmt: skip
    async def upload(
        request: Request,
        name: str = Query(
            ..., max_length=128, description="the file name: " + ", ".join(MESH_SUFFIXES)
        ),  # fmt: skip
    ) -> JobStatus:
        """Send a file (the raw body): a head mesh to rig. It is kept as a finished job of
        kind "upload"; a job that uses it names it as its ``parent_id``. The body is streamed
        to disk; at most ``MAX_CONCURRENT_UPLOADS`` arrive at once (429 + Retry-After)."""
        if not is_safe_file_name(name) or not name.lower().endswith(MESH_SUFFIXES):
            raise _fail(422, f"name: a plain file name ending in {', '.join(MESH_SUFFIXES)}",
                        "name")  # fmt: skip
        if not arriving.take():
            raise _fail(
                429, f"body: {MAX_CONCURRENT_UPLOADS} uploads are arriving already; send it "
                f"again in {UPLOAD_RETRY_AFTER_SECONDS} s", "body",
                headers={"Retry-After": str(UPLOAD_RETRY_AFTER_SECONDS)},
            )  # fmt: skip
        path = None
        try:
            path, handle = await asyncio.to_thread(store.incoming_file, name)
            with handle:
                await _receive_to(request, handle, name)
            problem = await asyncio.to_thread(_budget_problem, path, name)
            if problem:
                raise _fail(422, f"body: {problem}", "body")
            runner.warm_up("rig")  # a rig is likely to follow: its worker gets ready
            return await asyncio.to_thread(store.create_upload, name, path)
        finally:
            arriving.give_back()
            if path is not None:
                await asyncio.to_thread(store.discard_incoming, path)

    @v1.get("/jobs", response_model=JobList, responses=_ERRORS)
    def history(
        offset: int = Query(0, ge=0, le=10**9), limit: int = Query(20, ge=1, le=200)
    ) -> JobList:
        jobs, total = store.list(offset, limit)
        following = offset + len(jobs)
        return JobList(jobs=jobs, total=total, next_offset=following if following < total else None)

    @v1.get("/jobs/{job_id}", response_model=JobStatus, responses=_JOB_ERRORS)
    def job(job_id: str = job_id_path) -> JobStatus:
        return _with_place(_get(store, job_id))

    @v1.post("/jobs/{job_id}/cancel", response_model=JobStatus,
             responses={**_JOB_ERRORS, 409: {"model": ErrorBody}})  # fmt: skip
    def cancel(job_id: str = job_id_path) -> JobStatus:
        status = _get(store, job_id)
        if is_finished(status.state):
            raise _fail(409, f"job {job_id} already ended ({status.state})", "job_id")
        return runner.cancel(job_id)

    @v1.get("/jobs/{job_id}/files/{name}", response_class=StreamingResponse,
            responses={**_JOB_ERRORS, 400: {"model": ErrorBody},
                       200: {"content": {"application/octet-stream": {}}}})  # fmt: skip
    def file(name: str, job_id: str = job_id_path) -> StreamingResponse:
        _get(store, job_id)
        if not is_safe_file_name(name):
            raise _fail(400, f"{name!r} is not a plain file name", "name")
        path = store.output_path(job_id, name)
        if path is None:
            raise _fail(404, f"job {job_id} has no file {name!r}", "name")
        media = next(o.media_type for o in store.get(job_id).outputs if o.name == name)
        try:  # opened now: a delete that follows cannot cut the answer short
            handle = open(path, "rb")  # noqa: SIM115 (closed by the stream)
        except FileNotFoundError:
            raise _fail(404, f"job {job_id} has no file {name!r}", "name") from None
        size = os.fstat(handle.fileno()).st_size
        headers = {"Content-Length": str(size),
                   "Content-Disposition": f'attachment; filename="{name}"'}  # fmt: skip
        return StreamingResponse(_chunks(handle), media_type=media, headers=headers)

    @v1.delete("/jobs/{job_id}", status_code=204,
               responses={**_JOB_ERRORS, 409: {"model": ErrorBody}})  # fmt: skip
    def delete(job_id: str = job_id_path) -> Response:
        status = _get(store, job_id)
        if status.state == "running":
            raise _fail(409, f"job {job_id} is running; cancel it first", "job_id")
        if status.state == "queued":
            runner.cancel(job_id)
        store.delete(job_id)
        return Response(status_code=204)

    app.include_router(v1)
    return app


def _get(store: JobStore, job_id: str, field: str = "job_id") -> JobStatus:
    try:
        return store.get(job_id)
    except UnknownJobError:
        raise _fail(404, f"no job {job_id}", field) from None


def _fail(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> HTTPException:
    """An error answer; ``field`` names the part of the request to blame."""
    return HTTPException(status, {"error": message, "field": field}, headers=headers)


def _check_edit_parent(parent: JobStatus, request: JobRequest) -> None:
    """An edit's parent must be a head HeadSculpt made, of the edit's own mode (409 naming
    the real modes otherwise)."""
    modes = [kind.mode for kind in job_kinds() if kind.kind == "edit" and kind.mode]
    choices = " or ".join(repr(mode) for mode in modes)
    if parent.kind == "upload":
        raise _fail(409, f"job {parent.id} is an uploaded file, not a head HeadSculpt made: "
                    "rig it (kind 'rig'), or sculpt from it (guidance 'reference'); edits "
                    f"take heads made with mode {choices}", "parent_id")  # fmt: skip
    if parent.kind not in ("generate", "edit") or parent.mode not in modes:
        raise _fail(409, f"job {parent.id} is a {parent.kind} job ({parent.mode}): edits take "
                    f"heads made with mode {choices}", "parent_id")  # fmt: skip
    if parent.mode != request.mode:
        raise _fail(409, f"job {parent.id} is a {parent.mode} head: edit it with mode "
                    f"{parent.mode!r}", "mode")  # fmt: skip


async def _receive_to(request: Request, handle, name: str) -> None:
    """Stream a request's body into ``handle``, chunk by chunk (never held whole): 413 past
    ``MAX_UPLOAD_BYTES``, 408 when it stalls, 422 as soon as its first bytes show it is
    not the file its name says."""
    size, head, checked = 0, bytearray(), False
    while True:
        try:
            message = await asyncio.wait_for(request.receive(), BODY_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:  # noqa: UP041 (Python 3.10 still has two)
            raise _fail(408, f"body: nothing arrived for {BODY_TIMEOUT_SECONDS:.0f} s",
                        "body") from None  # fmt: skip
        if message["type"] == "http.disconnect":
            raise _fail(400, "body: the connection closed before the file arrived", "body")
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise _fail(413, f"body: larger than {MAX_UPLOAD_BYTES} bytes", "body")
        if not checked:
            head += chunk[: 4096 - len(head)]
            if len(head) >= 4096 or not more:
                checked = True
                problem = _mesh_problem(name, bytes(head))
                if problem:
                    raise _fail(422, f"body: {problem}", "body")
        if chunk:
            await asyncio.to_thread(handle.write, chunk)
        if not more:
            break
    await asyncio.to_thread(_flush, handle)


def _flush(handle) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _budget_problem(path, name: str) -> str:
    """Why an uploaded file is over a mesh budget ("" when it is within them). A file that
    is merely damaged is kept: the job that reads it says what is wrong."""
    try:
        check_mesh_file(path, name)
    except MeshFileError as error:
        return str(error) if error.limit else ""
    return ""


class _UploadSlots:
    """How many uploads may arrive at once (the event loop's own counter: no lock needed)."""

    def __init__(self, count: int) -> None:
        self.free = count

    def take(self) -> bool:
        if self.free <= 0:
            return False
        self.free -= 1
        return True

    def give_back(self) -> None:
        self.free += 1


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    if isinstance(error.detail, dict):
        detail = error.detail
    elif error.status_code == 400:  # FastAPI could not decode the body (not UTF-8 JSON)
        detail = {"error": f"body: {error.detail}", "field": "body"}
    elif error.status_code == 404:  # no such route
        detail = {"error": f"path: nothing at {request.url.path[:200]}", "field": "path"}
    elif error.status_code == 405:
        detail = {"error": f"method: {request.method[:20]} is not allowed here", "field": "method"}
    else:
        detail = {"error": str(error.detail)}
    headers = dict(error.headers or {})
    if error.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = ErrorBody(error=_printable(detail["error"]), field=detail.get("field"))
    return JSONResponse(body.model_dump(), status_code=error.status_code, headers=headers)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = [_plain_problem(p) for p in error.errors()]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    message = first["msg"].removeprefix("Value error, ")
    if first.get("type") == "json_invalid":  # the body is not JSON at all
        position = first["loc"][-1] if first.get("loc") else "?"
        field, message = "body", f"body: malformed JSON near character {position}"
    else:
        skip = ("body", "query", "path", "header", "[key]")
        where = [str(p) for p in first.get("loc", []) if p not in skip]
        field = ".".join(where) or None
        if field is None and list(first.get("loc", [])) == ["body"] and ":" not in message:
            field = "body"  # the body as a whole (not an object, missing)
        if field is None and ":" in message:  # model-level checks name their field first
            field = message.split(":", 1)[0]
        if field and not message.startswith(f"{field}:"):
            message = f"{field}: {message}"
    body = ErrorBody(error=message, field=field, detail=problems)
    return JSONResponse(body.model_dump(), status_code=422)


def _mesh_problem(name: str, data: bytes) -> str:
    """Why ``data`` is not a file of the kind ``name`` says ("" when it looks right).

    A cheap look at the first bytes; the job that reads the mesh reports anything else.
    """
    suffix = name.lower().rsplit(".", 1)[-1]
    if not data:
        return "the file is empty"
    head = data[:4096]
    if suffix == "glb" and not head.startswith(b"glTF"):
        return "not a glTF binary (no 'glTF' magic)"
    if suffix == "ply" and not head.startswith(b"ply"):
        return "not a PLY file (no 'ply' header)"
    if suffix == "gltf" and not head.lstrip().startswith(b"{"):
        return "not a glTF JSON file"
    if suffix == "obj" and (b"\0" in head or not any(
        line.split()[:1] in ([b"v"], [b"f"], [b"o"], [b"g"]) for line in head.splitlines()
    )):  # fmt: skip
        return "not an OBJ file (no v/f lines)"
    return ""


def _plain_problem(problem: dict) -> dict:
    """One validation problem without the offending value (it may be NaN, a lone
    surrogate, or simply not the client's to see again): type, location, message."""
    return {
        "type": str(problem.get("type", "")),
        "loc": [p if isinstance(p, int) else _printable(str(p)) for p in problem.get("loc", ())],
        "msg": _printable(str(problem.get("msg", "invalid value"))),
    }


def _printable(text: str) -> str:
    """Text that encodes as UTF-8 (lone surrogates and control characters escaped)."""
    escaped = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in escaped)[:300]


async def _disk_error(request: Request, error: OSError) -> JSONResponse:
    """The data disk refused a write: 507 when it is full, 503 otherwise (read-only...)."""
    log.error("%s %s: the disk refused (%s)", request.method, request.url.path, error)
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    reason = error.strerror or type(error).__name__
    body = ErrorBody(error=f"the server cannot write its job folders right now ({reason}); "
                     "try again once its data disk has room")  # fmt: skip
    return JSONResponse(body.model_dump(), status_code=507 if full else 503)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    body = ErrorBody(error=f"internal error ({type(error).__name__}); the server log has it")
    return JSONResponse(body.model_dump(), status_code=500)


async def _chunks(handle, size: int = 1 << 20):
    """Stream an open file, then close it."""
    try:
        while chunk := await asyncio.to_thread(handle.read, size):
            yield chunk
    finally:
        handle.close()


def _docs_page(schema: dict) -> str:
    """The API as one self-contained HTML page (no scripts, nothing fetched elsewhere)."""
    from html import escape

    rows = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            codes = ", ".join(sorted(operation.get("responses", {})))
            rows.append(
                f"<tr><td><code>{escape(method.upper())}</code></td><td><code>{escape(path)}"
                f"</code></td><td>{escape(operation.get('summary', ''))}</td>"
                f"<td>{escape(codes)}</td></tr>"
            )
    models = json.dumps(schema.get("components", {}).get("schemas", {}), indent=2)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(schema['info']['title'])}</title></head><body>"
        f"<h1>{escape(schema['info']['title'])} {escape(schema['info']['version'])}</h1>"
        "<p>The machine-readable schema is at <code>/v1/openapi.json</code>.</p>"
        "<table border='1' cellpadding='4'><tr><th>method</th><th>path</th><th>what</th>"
        f"<th>answers</th></tr>{''.join(rows)}</table>"
        f"<h2>Bodies</h2><pre>{escape(models)}</pre></body></html>"
    )


class _TrustedOrigin:
    """Refuse requests whose Host or Origin is not this server's, before any route runs.

    A web page the user visits can reach a loopback server through DNS rebinding (its
    own name resolving to 127.0.0.1): its requests then carry that foreign name as
    Host, and its Origin. Loopback IP addresses and the configured names pass; so does
    an Origin equal to the request's own Host (a page this server served).
    """

    def __init__(self, app, allowed_hosts: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed_hosts

    def _trusted(self, host: str) -> bool:
        if self.allowed is None or host in self.allowed:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        host_header = headers.get(b"host", b"").decode("latin-1")
        host = _host_name(host_header)
        if not self._trusted(host):
            await _send_error(send, 403, f"host: {host_header[:100]!r} is not this server", "host")
            return
        origin = headers.get(b"origin")
        if origin is not None:
            origin_text = origin.decode("latin-1")
            netloc = urlsplit(origin_text).netloc
            if netloc.lower() != host_header.lower() and not self._trusted(_host_name(netloc)):
                message = f"origin: requests from {origin_text[:100]!r} are not accepted"
                await _send_error(send, 403, message, "origin")
                return
        await self.app(scope, receive, send)


def _host_name(netloc: str) -> str:
    """The host of "name:port", "[::1]:port" or "name", lower case, without the port."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0]
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


async def _send_error(send, status: int, message: str, field: str | None) -> None:
    data = ErrorBody(error=_printable(message), field=field).model_dump_json().encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": data})


class _BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before they are parsed.

    JSON bodies are read here whole (bounded by ``limit``). Paths in ``streamed`` (uploads)
    are not: a declared length over their own limit is refused at once, and the route reads
    the body chunk by chunk, enforcing the limit and the stall deadline as it goes.
    """

    def __init__(self, app, limit: int, streamed: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.streamed = streamed or {}  # per path: uploads may be larger than JSON bodies

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.streamed.get(path, self.limit)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        if path in self.streamed:
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:  # read it all (bounded) so a body without a length is limited too
            try:
                message = await asyncio.wait_for(receive(), BODY_TIMEOUT_SECONDS)
            except asyncio.TimeoutError:  # noqa: UP041 (Python 3.10 still has two)
                message = f"body: nothing arrived for {BODY_TIMEOUT_SECONDS:.0f} s"
                await _send_error(send, 408, message, "body")
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send, limit: int) -> None:
        await _send_error(send, 413, f"body: larger than {limit} bytes", "body")
