"""The /v1 HTTP API (FastAPI). Thin: checks input, then asks the store and the runner.

Errors are JSON ``{"error": ..., "field": ..., "detail": ...}``: 400 for a bad
file name or an undecodable body, 401 without the right token, 404 for an unknown
job or file, 409 for an action the job's state forbids, 413 for a body over the
limit, 422 for a malformed body or parameter (``field`` names it), 501 for a mode
whose pipeline does not exist yet.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
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

MAX_BODY_BYTES = 64 * 1024

_ERRORS = {code: {"model": ErrorBody} for code in (401, 413, 422)}
_JOB_ERRORS = {**_ERRORS, 404: {"model": ErrorBody}}


def create_app(
    store: JobStore,
    runner: JobRunner,
    token: str | None = None,
    device: str = "cpu",
    on_ready: Callable[[], None] | None = None,
) -> FastAPI:
    """The application; ``token`` set means every /v1 request needs it as a Bearer token."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if on_ready is not None:
            on_ready()
        yield
        runner.stop()

    app = FastAPI(
        title="HeadSculpt backend",
        version=__version__,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

    def require_token(authorization: str | None = Header(None, include_in_schema=False)):
        if token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), token):
            raise _fail(
                401, "a valid 'Authorization: Bearer <token>' header is needed", "authorization"
            )

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_token)])
    job_id_path = Path(pattern=JOB_ID_PATTERN, description="a job id from POST /v1/jobs")

    @v1.get("/health", response_model=Health, responses=_ERRORS)
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
        status = store.create(request)
        runner.submit(status.id)
        response.headers["Location"] = f"/v1/jobs/{status.id}"
        return status

    @v1.get("/jobs", response_model=JobList, responses=_ERRORS)
    def history(
        offset: int = Query(0, ge=0, le=10**9), limit: int = Query(20, ge=1, le=200)
    ) -> JobList:
        jobs, total = store.list(offset, limit)
        following = offset + len(jobs)
        return JobList(jobs=jobs, total=total, next_offset=following if following < total else None)

    @v1.get("/jobs/{job_id}", response_model=JobStatus, responses=_JOB_ERRORS)
    def job(job_id: str = job_id_path) -> JobStatus:
        return _get(store, job_id)

    @v1.post("/jobs/{job_id}/cancel", response_model=JobStatus,
             responses={**_JOB_ERRORS, 409: {"model": ErrorBody}})  # fmt: skip
    def cancel(job_id: str = job_id_path) -> JobStatus:
        status = _get(store, job_id)
        if is_finished(status.state):
            raise _fail(409, f"job {job_id} already ended ({status.state})", "job_id")
        return runner.cancel(job_id)

    @v1.get("/jobs/{job_id}/files/{name}",
            responses={**_JOB_ERRORS, 400: {"model": ErrorBody},
                       200: {"content": {"application/octet-stream": {}}}})  # fmt: skip
    def file(name: str, job_id: str = job_id_path) -> FileResponse:
        _get(store, job_id)
        if not is_safe_file_name(name):
            raise _fail(400, f"{name!r} is not a plain file name", "name")
        path = store.output_path(job_id, name)
        if path is None:
            raise _fail(404, f"job {job_id} has no file {name!r}", "name")
        media = next(o.media_type for o in store.get(job_id).outputs if o.name == name)
        return FileResponse(path, media_type=media, filename=name)

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


def _fail(status: int, message: str, field: str | None = None) -> HTTPException:
    """An error answer; ``field`` names the part of the request to blame."""
    return HTTPException(status, {"error": message, "field": field})


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    if isinstance(error.detail, dict):
        detail = error.detail
    elif error.status_code == 400:  # FastAPI could not decode the body (not UTF-8 JSON)
        detail = {"error": f"body: {error.detail}", "field": "body"}
    else:
        detail = {"error": str(error.detail)}
    headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
    body = ErrorBody(error=detail["error"], field=detail.get("field"))
    return JSONResponse(body.model_dump(), status_code=error.status_code, headers=headers)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = json.loads(json.dumps(error.errors(), default=str))  # plain JSON values
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":  # the body is not JSON at all
        position = first["loc"][-1] if first.get("loc") else "?"
        field, message = "body", f"body: malformed JSON near character {position}"
    else:
        where = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path")]
        field = ".".join(where) or None
        if field is None and ":" in message:  # model-level checks name their field first
            field = message.split(":", 1)[0]
        if field and not message.startswith(f"{field}:"):
            message = f"{field}: {message}"
    body = ErrorBody(error=message, field=field, detail=problems)
    return JSONResponse(body.model_dump(), status_code=422)


class _BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before they are parsed."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        chunks, size = [], 0
        while True:  # read it all (bounded) so a body without a length is limited too
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
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

    async def _refuse(self, send) -> None:
        body = ErrorBody(error=f"body: larger than {self.limit} bytes", field="body")
        data = body.model_dump_json().encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(data)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": data})
