"""The sandbox's HTTP API (FastAPI): every call of `shared/API.md`, plus fault injection.

Wire details the contract leaves open, as this server implements them:

- Errors are ``{"error": {"code", "message", "fields": [{"field", "message"}]}}``; 429 and
  503 carry ``Retry-After``; 401 carries ``WWW-Authenticate: Bearer``.
- ``POST /v1/uploads`` → 201 ``{"url", "name", "size_bytes", "content_type", "kind",
  "format", "width", "height", "duration_s"}``; the URL is ``<base>/v1/files/<name>``.
- ``POST /v1/jobs/<model>`` → 202 with the job object; a replay of an idempotency key (same
  body) → 202 with the original job and ``Idempotent-Replayed: true``; another body → 409.
  ``webhook_url`` in the body is the sandbox's own field: stripped before validation,
  POSTed the job object when the job finishes. Media values must be URLs: this server's
  upload URLs are mapped back to the stored files and checked against the model's limits;
  other http(s) URLs are accepted unprobed. The body must be ``Content-Type:
  application/json`` (else 415), at most 1 MB (else 413) and pass the catalog's bounded
  loader (nesting, number sizes, NaN, duplicate keys, lone surrogates: else 422
  ``invalid_json``); the job is planned from the params as the catalog coerced them
  (`validated_params`: seedance ``duration: "5.0"`` renders 5 s).
- ``GET /v1/jobs/<id>?wait=S`` (0 < S ≤ 30, seconds): held until the job's status changes,
  its progress reaches the next multiple of 0.05 (after 1 s held at least), or S seconds
  pass; then the job object as
  without ``wait``. An invalid ``wait`` → 422. Every response of the API carries
  ``Job-Wait-Max: 30`` to say so (`app.sandbox.watch`; docs/api.md).
- ``GET /v1/jobs?status=&limit=&cursor=`` → ``{"jobs": [...], "next_cursor": str | null}``,
  newest first; pass ``next_cursor`` back as ``cursor`` for the next page.
- ``POST /v1/jobs/<id>/cancel`` → 200 with the job (credits refunded, ``credits_charged``
  0); 409 ``not_cancelable`` when it already finished. Failed and timed-out jobs are
  refunded too.
- ``GET /v1/models`` → ``{"models": [{id, name, task, ..., "price": rule, "schema": ...}]}``;
  models of schema files (``--models-dir``, `app.sandbox.extra`) follow the curated seven
  with ``"task": "imported"`` and ``"price": null``, and take ``POST /v1/jobs/<id>``.
- ``GET /v1/files/<name>``: ``Accept-Ranges: bytes``; one ``Range: bytes=a-b`` → 206 with
  ``Content-Range``; an unsatisfiable one → 416; several ranges or an invalid one
  (``bytes=5-1``) are ignored → 200 (RFC 9110 §14.2). Positions of any length are safe.
- ``GET /openapi.json``: each model's job body (``POST /v1/jobs/<model>``: its params plus
  ``out``, ``mock``, ``format`` where it maps, ``webhook_url``) and every error each route
  returns (`app.sandbox.openapi`); schemathesis checks the server against it.
- ``POST /v1/_test/faults`` / ``GET /v1/_test/faults``: see `app.sandbox.faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlparse

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from app.catalog import MODELS, InvalidPayload, UnknownModel, estimate, get_model, validated_params
from app.catalog.fields import set_path
from app.catalog.media import MediaInfo, ProbeError, is_remote, reference_problem
from app.catalog.models import ModelSpec
from app.catalog.status import TERMINAL
from app.catalog.validate import media_values
from app.catalog.wrapper import split
from app.sandbox import extra
from app.sandbox import openapi as doc
from app.sandbox.faults import FaultError
from app.sandbox.middleware import ASGIApp, AuthMiddleware, Drop, FaultMiddleware
from app.sandbox.plan import make_plan
from app.sandbox.store import IdempotencyConflict, InsufficientCredits
from app.sandbox.watch import PROGRESS_HOLD_S, WAIT_HEADER, WAIT_MAX_S, step_of
from app.sandbox.wire import BadRequest, json_object, parse_range, shown

if TYPE_CHECKING:
    from app.sandbox.server import SandboxServer

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
    "avif": "image/avif", "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
    "m4v": "video/x-m4v", "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4",
}
EXTENSIONS = {"jpeg": "jpg"}
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
STATUSES = doc.STATUSES
CHUNK = 256 * 1024
#: files are served in blocks of this size (one thread hop each)
FILE_CHUNK = 1 << 20

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255,
    description="Same key + same body → the original job, no second charge; another body → "
                "409")]
WaitQuery = Annotated[float | None, Query(
    gt=0, le=WAIT_MAX_S, allow_inf_nan=False,
    description="Hold the answer until the job's status changes, its progress reaches the "
                "next multiple of 0.05 (once held 1 s), or this many seconds pass "
                f"(0 < wait ≤ {WAIT_MAX_S:g})")]
RangeHeader = Annotated[str | None, Header(
    alias="Range", description="`bytes=<first>-[<last>]` or `bytes=-<suffix>`; several "
                               "ranges or an invalid one are ignored (200)")]


def error(status: int, code: str, message: str, fields: list[dict[str, str]] | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "fields": fields or []}},
                        status_code=status, headers=headers)


def build_app(server: SandboxServer) -> ASGIApp:
    app = FastAPI(title="Takes sandbox render API", version="1",
                  description="A local stand-in for the hosted render API (shared/API.md). "
                              "`POST /v1/_test/faults` makes any route answer 429, 5xx or "
                              "drop its connection on purpose.",
                  responses=doc.COMMON_ERRORS)
    _install_errors(app)
    api = _Api(server)
    route = app.add_api_route
    route("/v1/uploads", api.upload, methods=["POST"], status_code=201,
          response_model=doc.Upload, responses=doc.errors(400, 413, 415, 422),
          openapi_extra=doc.UPLOAD_BODY, summary="Upload a reference file")
    for spec in MODELS.values():
        route(f"/v1/jobs/{spec.id}", _job_route(api, spec), methods=["POST"],
              status_code=202, response_model=doc.Job, name=f"create_{spec.id}",
              responses=doc.errors(400, 402, 409, 413, 415, 422),
              openapi_extra=doc.job_body(spec), summary=f"Create a {spec.name} job")
    for model in server.extra.models.values():  # schema files (app.sandbox.extra)
        route(f"/v1/jobs/{model.id}", _extra_route(api, model.id), methods=["POST"],
              status_code=202, name=f"create_extra_{model.id}", include_in_schema=False)
    route("/v1/jobs/{model_id}", api.unknown_model, methods=["POST"], include_in_schema=False)
    route("/v1/jobs/{job_id}", api.get_job, methods=["GET"], response_model=doc.Job,
          responses=doc.errors(404, 422))
    route("/v1/jobs", api.list_jobs, methods=["GET"], response_model=doc.JobList,
          responses=doc.errors(422))
    route("/v1/jobs/{job_id}/cancel", api.cancel_job, methods=["POST"],
          response_model=doc.Job, responses=doc.errors(404, 409))
    route("/v1/account", api.account, methods=["GET"], response_model=doc.Account)
    route("/v1/models", api.models, methods=["GET"], response_model=doc.ModelList)
    route("/v1/files/{name}", api.file, methods=["GET"],
          responses={**doc.FILE_RESPONSES, **doc.errors(404, 416)})
    route("/v1/files/{name}", api.file, methods=["HEAD"], name="file_head",
          include_in_schema=False)
    route("/v1/_test/faults", api.set_faults, methods=["POST"], response_model=doc.FaultState,
          responses=doc.errors(400, 413, 415, 422), openapi_extra=doc.FAULTS_BODY)
    route("/v1/_test/faults", api.get_faults, methods=["GET"], response_model=doc.FaultState)
    doc.finish(app)
    return AuthMiddleware(FaultMiddleware(_advertise_wait(app), server), server)


def _advertise_wait(app: ASGIApp) -> ASGIApp:
    """Every answer of the API says how long `GET /v1/jobs/<id>?wait=` may hold it."""
    header = (WAIT_HEADER.lower().encode(), f"{WAIT_MAX_S:g}".encode())

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await app(scope, receive, send_with)

    return wrapped


def _job_route(api: _Api, spec: ModelSpec) -> Any:
    async def create_job(request: Request, key: IdempotencyKey = None) -> Response:
        return await api.create_job(spec.id, request, key)
    return create_job


def _extra_route(api: _Api, model_id: str) -> Any:
    async def create_job(request: Request, key: IdempotencyKey = None) -> Response:
        return await api.create_job(model_id, request, key)
    return create_job


def _install_errors(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        return error(exc.status_code, codes.get(exc.status_code, "http_error"),
                     str(exc.detail), headers=getattr(exc, "headers", None))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        fields = [{"field": ".".join(str(x) for x in e["loc"][1:]), "message": e["msg"]}
                  for e in exc.errors()]
        return error(422, "validation_failed", "The request is invalid", fields)

    async def bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return error(exc.status, exc.code, exc.message,
                     [{"field": exc.field, "message": exc.message}])

    async def crash(request: Request, exc: Exception) -> Response:
        if isinstance(exc, Drop):  # a fault on purpose: the response is abandoned
            return Response(status_code=500)
        log.error("sandbox error on %s %s: %s", request.method, request.url.path,
                  type(exc).__name__)
        return error(500, "internal_error", "The sandbox hit an internal error")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(BadRequest, bad_request)
    app.add_exception_handler(Exception, crash)


# ---- handlers -----------------------------------------------------------------------------


def fingerprint(model_id: str, body: Any) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{model_id}\n{canon}".encode()).hexdigest()


class _Api:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server

    @property
    def store(self) -> Any:
        return self.server.store

    @property
    def engine(self) -> Any:
        return self.server.engine

    # ---- uploads ------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        limit = self.server.max_upload_bytes
        ctype = request.headers.get("content-type", "")
        length = request.headers.get("content-length", "")
        if not ctype.lower().startswith("multipart/form-data"):
            refused = error(415, "unsupported_media_type", "Send the file as "
                            "multipart/form-data (field 'file')",
                            [{"field": "Content-Type", "message": "multipart/form-data"}])
        elif length.isdigit() and int(length) > limit + 64 * 1024:
            refused = _too_large(limit)
        else:
            return await self._upload_form(request, limit)
        async for _ in request.stream():  # read it all so the client sees the answer
            pass
        return refused

    async def _upload_form(self, request: Request, limit: int) -> Response:
        try:
            form = await request.form(max_files=1, max_fields=8)
        except MultiPartException as e:
            return error(400, "invalid_multipart", f"The multipart body is malformed: {e}",
                         [{"field": "file", "message": str(e)}])
        try:
            files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
            if len(files) != 1:
                return error(422, "validation_failed", "Send exactly one file "
                             "(multipart/form-data, field 'file')",
                             [{"field": "file", "message": "exactly one file is required"}])
            return await self._store_upload(files[0], limit)
        finally:
            await form.close()

    async def _store_upload(self, up: UploadFile, limit: int) -> Response:
        name = "up_" + secrets.token_hex(8)
        part = self.server.files_dir / f".{name}.part"
        try:
            size = await run_in_threadpool(_copy_out, up, part)
            if size > limit:
                return _too_large(limit)
            try:
                info = await run_in_threadpool(_probe, part)
            except ProbeError as e:
                return error(415, "unsupported_media", f"The file is not usable media: "
                             f"{e.reason}")
            accepted = self.server.accepted_formats.get(info.kind, set())
            if info.format not in accepted:
                return error(415, "unsupported_media", f"No model takes {info.format.upper()} "
                             f"{info.kind} files; accepted: {', '.join(sorted(accepted))}")
            name = f"{name}.{EXTENSIONS.get(info.format, info.format)}"
            final = self.server.files_dir / name
            os.replace(part, final)
            facts = {**info.to_dict(), "path": name, "original_name": up.filename}
            self.store.add_upload(name, up.filename, facts)
        finally:
            part.unlink(missing_ok=True)
        return JSONResponse({
            "url": f"{self.server.url}/v1/files/{name}", "name": name,
            "size_bytes": info.size_bytes, "content_type": CONTENT_TYPES.get(info.format),
            "kind": info.kind, "format": info.format, "width": info.width,
            "height": info.height, "duration_s": info.duration_s}, status_code=201)

    # ---- jobs ---------------------------------------------------------------------------

    async def unknown_model(self, model_id: str) -> Response:
        try:
            get_model(model_id)
        except UnknownModel as e:
            return error(404, "unknown_model", str(e)[:300])
        raise AssertionError("every known model has its own route")

    async def create_job(self, model_id: str, request: Request, key: str | None) -> Response:
        body = await json_object(request)
        fp = fingerprint(model_id, body)
        if key:
            replay = self._replay(key, fp)
            if replay is not None:
                return replay
        return await self._create(model_id, body, key, fp)

    def _replay(self, key: str, fp: str) -> Response | None:
        found = self.store.idempotent_job(key)
        if found is None:
            return None
        if found[0] != fp:
            return _conflict()
        row = self.store.get_job(found[1])
        return JSONResponse(self.engine.job_object(self.engine.refresh(row)), status_code=202,
                            headers={"Idempotent-Replayed": "true"})

    async def _create(self, model_id: str, body: dict[str, Any], key: str | None,
                      fp: str) -> Response:
        payload = dict(body)
        webhook = payload.pop("webhook_url", None)
        fields: list[dict[str, str]] = []
        if webhook is not None and not (isinstance(webhook, str) and is_remote(webhook)):
            fields.append({"field": "webhook_url", "message": "webhook_url must be an http(s) "
                                                              "URL"})
        local, infos, media_fields = await self._resolve_media(model_id, payload)
        fields += media_fields
        extra_model = self.server.extra.get(model_id)
        if extra_model is not None:  # a model of a schema file: the importer checks it
            params, problems = extra.validate(extra_model, local, infos)
            fields += problems
        else:
            try:
                params = validated_params(model_id, local, infos)
            except InvalidPayload as e:
                fields += [i.to_dict() for i in e.report.errors]
        if fields:
            return error(422, "validation_failed", f"{len(fields)} problem"
                         f"{'s' if len(fields) != 1 else ''} with the input", fields)
        if extra_model is not None:
            cost = extra.cost(extra_model, local, infos)
            plan = extra.make_plan(extra_model, params, split(local)[1], infos)
        else:
            cost = estimate(model_id, local, infos).max
            plan = make_plan(model_id, params, split(local)[1], infos)
        fate, code, message = self.server.faults.job_fate()
        if fate == "fail":
            plan["fail"] = [code, message]
        job = {"id": "job_" + secrets.token_hex(8), "model": model_id,
               "mock": local.get("mock") is True, "created_at": time.time(),
               "payload": payload, "plan": plan, "fate": fate, "webhook_url": webhook}
        try:
            row, created = self.store.create_job(job, cost, (key, fp) if key else None)
        except InsufficientCredits as e:
            return error(402, "insufficient_credits", f"This job costs {e.needed} credits; "
                         f"the balance is {e.balance}")
        except IdempotencyConflict:
            return _conflict()
        if created:
            self.server.faults.consume_fate(fate)
            self.engine.submit(row["id"])
        headers = {} if created else {"Idempotent-Replayed": "true"}
        return JSONResponse(self.engine.job_object(row), status_code=202, headers=headers)

    async def _resolve_media(self, model_id: str, payload: dict[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, MediaInfo], list[dict[str, str]]]:
        """The payload with this server's file URLs replaced by local paths, the probes of
        those files, and field errors for media values that are not usable URLs."""
        local = json.loads(json.dumps(payload))
        infos: dict[str, MediaInfo] = {}
        fields: list[dict[str, str]] = []
        for slot in self._media_values(model_id, payload):
            if reference_problem(slot.value) is not None:
                continue  # validate_payload says what is wrong with it, in the catalog's words
            name = self.server.own_file(slot.value)
            if name is None:
                if not is_remote(slot.value):
                    fields.append({"field": slot.path, "message": f"{slot.label} must be a URL "
                                   "(upload the file with POST /v1/uploads first)"})
                continue
            facts = self.store.upload(name) or await self._probe_result(name)
            if facts is None:
                fields.append({"field": slot.path, "message": f"{slot.label}: no uploaded file "
                               f"named {name} on this server (upload it again)"})
                continue
            path = str(self.server.files_dir / name)
            facts = {**facts, "path": path}
            facts.pop("original_name", None)
            infos[path] = MediaInfo(**facts)
            set_path(local, slot.path, path)
        return local, infos, fields

    def _media_values(self, model_id: str, payload: dict[str, Any]) -> list[Any]:
        found = self.server.extra.get(model_id)
        if found is None:
            return media_values(model_id, payload)
        from app.catalog.fields import MediaSlot

        return [MediaSlot(path, value, rule, found.label(path))
                for path, value, rule in found.media_values(payload)]

    async def _probe_result(self, name: str) -> dict[str, Any] | None:
        """Facts of a result file of this server used as an input (chaining takes)."""
        path = self.server.files_dir / name
        if not FILE_NAME.match(name) or not path.is_file():
            return None
        try:
            return (await run_in_threadpool(_probe, path)).to_dict()
        except ProbeError:
            return None

    async def get_job(self, job_id: str, wait: WaitQuery = None) -> Response:
        row = self.store.get_job(job_id)
        if row is None:
            return error(404, "not_found", f"No job {shown(job_id)}")
        if wait is None:
            return JSONResponse(self.engine.job_object(self.engine.refresh(row)))
        return JSONResponse(await self._held(job_id, float(wait)))

    async def _held(self, job_id: str, wait: float) -> dict[str, Any]:
        """The job object once its status or progress step changed, or `wait` s passed.
        Sleeps on the job's event (set by the engine) with a timeout: no polling."""
        loop = asyncio.get_running_loop()
        end = loop.time() + wait
        hold_until = loop.time() + min(wait, PROGRESS_HOLD_S)
        engine = self.engine
        with engine.signals.watch(job_id) as changed:
            row = engine.refresh(self.store.get_job(job_id))  # read after subscribing
            first = engine.job_object(row)
            seen = (first["status"], step_of(first["progress"]))
            job = first
            while job["status"] not in TERMINAL and not engine.signals.closed:
                now = loop.time()
                timeout = end - now
                step_at = engine.next_step_at(row)
                if step_at is not None:  # the next progress step, not before the hold
                    step_in = max(step_at - time.time(), hold_until - now)
                    timeout = min(timeout, max(0.0, step_in) + 0.001)
                if timeout <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout)
                changed.clear()  # cleared before the read: a change after it sets it again
                row = engine.refresh(self.store.get_job(job_id) or row)
                job = engine.job_object(row)
                if job["status"] != seen[0] or loop.time() >= end:
                    break
                if step_of(job["progress"]) != seen[1] and loop.time() >= hold_until:
                    break
            return job

    async def list_jobs(
            self, status: Annotated[doc.Status | None, Query()] = None,
            limit: Annotated[int, Query(ge=1, le=100)] = 20,
            cursor: Annotated[str | None, Query(
                pattern=r"^[0-9]{1,18}$", description="`next_cursor` of the page before"
            )] = None) -> Response:
        rows = self.store.list_jobs(status, limit + 1, int(cursor) if cursor else None)
        more = len(rows) > limit
        rows = rows[:limit]
        jobs = [self.engine.job_object(self.engine.refresh(r)) for r in rows]
        if status:
            jobs = [j for j in jobs if j["status"] == status]
        return JSONResponse({"jobs": jobs,
                             "next_cursor": str(rows[-1]["seq"]) if more and rows else None})

    async def cancel_job(self, job_id: str) -> Response:
        row = self.store.get_job(job_id)
        if row is None:
            return error(404, "not_found", f"No job {shown(job_id)}")
        row = self.engine.refresh(row)
        if row["status"] in TERMINAL or not self.engine.cancel(job_id):
            row = self.store.get_job(job_id)
            return error(409, "not_cancelable", f"Job {job_id} already finished "
                         f"({row['status'] if row else 'gone'})")
        return JSONResponse(self.engine.job_object(self.store.get_job(job_id)))

    async def account(self) -> Response:
        return JSONResponse({"credits": self.store.balance()})

    async def models(self) -> Response:
        return JSONResponse({"models": [*({**m.describe(), "schema": m.json_schema()}
                                          for m in MODELS.values()),
                                        *self.server.extra.listing()]})

    # ---- files --------------------------------------------------------------------------

    async def file(self, name: str, request: Request, rng: RangeHeader = None) -> Response:
        path = self.server.files_dir / name
        if not FILE_NAME.match(name) or name.endswith(".part") or not path.is_file():
            return error(404, "not_found", f"No file {shown(name)}")
        size = path.stat().st_size
        ctype = CONTENT_TYPES.get(path.suffix.lstrip(".").replace("jpg", "jpeg"),
                                  "application/octet-stream")
        headers = {"Accept-Ranges": "bytes", "Content-Type": ctype}
        start, end, status = 0, size - 1, 200
        wanted = parse_range(rng, size)
        if wanted is None:
            return error(416, "range_not_satisfiable", f"Range {shown(rng or '')} is outside "
                         f"the file ({size} bytes)", headers={"Content-Range": f"bytes */{size}"})
        if wanted:
            start, end = wanted
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        return StreamingResponse(_read_range(path, start, end), status_code=status,
                                 headers=headers, media_type=ctype)

    # ---- test-only ----------------------------------------------------------------------

    async def set_faults(self, request: Request) -> Response:
        spec = await json_object(request, empty={})
        try:
            state = self.server.faults.update(spec)
        except FaultError as e:
            return error(422, "invalid_faults", str(e), [{"field": e.field, "message": str(e)}])
        return JSONResponse({"faults": state})

    async def get_faults(self) -> Response:
        return JSONResponse({"faults": self.server.faults.snapshot()})


def _conflict() -> Response:
    return error(409, "idempotency_conflict", "This Idempotency-Key was already used with "
                 "another request body")


def _too_large(limit: int) -> Response:
    return error(413, "file_too_large", f"The file is larger than {limit / 1e6:g} MB, the "
                 "largest file any model takes")


def _copy_out(up: UploadFile, dest: Path) -> int:
    up.file.seek(0)
    with open(dest, "wb") as fh:
        shutil.copyfileobj(up.file, fh, CHUNK)
        return fh.tell()


def _probe(path: Path) -> MediaInfo:
    from app.media.probe import probe

    return probe(path)


def _read_range(path: Path, start: int, end: int) -> Iterator[bytes]:
    """Bytes `start`..`end` of the file in blocks of FILE_CHUNK. The file is open only while
    a block is read, never across a `yield`: a client that goes away mid-download leaves no
    open file behind in a generator nobody closes."""
    pos = start
    while pos <= end:
        chunk = _read_block(path, pos, min(FILE_CHUNK, end - pos + 1))
        if not chunk:
            return
        pos += len(chunk)
        yield chunk


def _read_block(path: Path, pos: int, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(pos)
        return fh.read(size)


def own_file_name(url: str) -> str | None:
    """The file name in a loopback ``…/v1/files/<name>`` URL (any port: it survives a
    restart on another port), else None."""
    if not is_remote(url):
        return None
    try:
        u = urlparse(url)
        host = u.hostname
    except ValueError:  # "http://[::1": the catalog refuses it on its field
        return None
    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    m = re.fullmatch(r"/v1/files/([^/]+)", u.path)
    return m.group(1) if m and FILE_NAME.match(m.group(1)) else None
