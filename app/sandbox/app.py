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
  other http(s) URLs are accepted unprobed.
- ``GET /v1/jobs?status=&limit=&cursor=`` → ``{"jobs": [...], "next_cursor": str | null}``,
  newest first; pass ``next_cursor`` back as ``cursor`` for the next page.
- ``POST /v1/jobs/<id>/cancel`` → 200 with the job (credits refunded, ``credits_charged``
  0); 409 ``not_cancelable`` when it already finished. Failed and timed-out jobs are
  refunded too.
- ``GET /v1/models`` → ``{"models": [{id, name, task, ..., "price": rule, "schema": ...}]}``.
- ``GET /v1/files/<name>``: ``Accept-Ranges: bytes``; ``Range: bytes=a-b`` → 206 with
  ``Content-Range``; an unsatisfiable range → 416.
- ``POST /v1/_test/faults`` / ``GET /v1/_test/faults``: see `app.sandbox.faults`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.catalog import MODELS, UnknownModel, estimate, get_model, validate_payload
from app.catalog.media import MediaInfo, ProbeError, is_remote
from app.catalog.validate import media_values, split_payload
from app.sandbox.faults import FaultError
from app.sandbox.plan import make_plan
from app.sandbox.store import TERMINAL, IdempotencyConflict, InsufficientCredits

if TYPE_CHECKING:
    from app.sandbox.server import SandboxServer

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
    "avif": "image/avif", "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
    "m4v": "video/x-m4v", "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4",
}
EXTENSIONS = {"jpeg": "jpg"}
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
STATUSES = ("queued", "running", "succeeded", "failed", "canceled", "timed_out")
CHUNK = 256 * 1024


def error(status: int, code: str, message: str, fields: list[dict[str, str]] | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "fields": fields or []}},
                        status_code=status, headers=headers)


def build_app(server: SandboxServer) -> ASGIApp:
    app = FastAPI(title="Takes sandbox render API", version="1",
                  description="A local stand-in for the hosted render API (shared/API.md).")
    _install_errors(app)
    api = _Api(server)
    app.add_api_route("/v1/uploads", api.upload, methods=["POST"], status_code=201)
    app.add_api_route("/v1/jobs/{model_id}", api.create_job, methods=["POST"],
                      status_code=202)
    app.add_api_route("/v1/jobs/{job_id}", api.get_job, methods=["GET"])
    app.add_api_route("/v1/jobs", api.list_jobs, methods=["GET"])
    app.add_api_route("/v1/jobs/{job_id}/cancel", api.cancel_job, methods=["POST"])
    app.add_api_route("/v1/account", api.account, methods=["GET"])
    app.add_api_route("/v1/models", api.models, methods=["GET"])
    app.add_api_route("/v1/files/{name}", api.file, methods=["GET"])
    app.add_api_route("/v1/files/{name}", api.file, methods=["HEAD"], name="file_head",
                      include_in_schema=False)
    app.add_api_route("/v1/_test/faults", api.set_faults, methods=["POST"])
    app.add_api_route("/v1/_test/faults", api.get_faults, methods=["GET"])
    _document_models(app)
    return AuthMiddleware(FaultMiddleware(app, server), server)


def _document_models(app: FastAPI) -> None:
    """Publish each model's input schema in the OpenAPI document (the job POST's body)."""
    from fastapi.openapi.utils import get_openapi
    from pydantic.json_schema import models_json_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        inputs = list(dict.fromkeys(m.input_model for m in MODELS.values()))
        refs, top = models_json_schema([(m, "validation") for m in inputs],
                                       ref_template="#/components/schemas/{model}")
        doc.setdefault("components", {}).setdefault("schemas", {}).update(top["$defs"])
        op = doc["paths"]["/v1/jobs/{model_id}"]["post"]
        op["description"] = ("The body is the model's parameters (the schema named for the "
                             "model) plus the wrapper's `out`, `mock`, `format` (seedance_r2v) "
                             "and the sandbox's `webhook_url`. Header `Idempotency-Key`.")
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "oneOf": [refs[(m, "validation")] for m in inputs]}}}}
        for param in op.get("parameters", []):
            if param["name"] == "model_id":
                param["schema"] = {"type": "string", "enum": list(MODELS)}
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _install_errors(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error(exc.status_code, codes.get(exc.status_code, "http_error"),
                     str(exc.detail))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        fields = [{"field": ".".join(str(x) for x in e["loc"][1:]), "message": e["msg"]}
                  for e in exc.errors()]
        return error(422, "validation_failed", "The request is invalid", fields)

    async def crash(request: Request, exc: Exception) -> Response:
        if isinstance(exc, _Drop):  # a fault on purpose: the response is abandoned
            return Response(status_code=500)
        log.error("sandbox error on %s %s: %s", request.method, request.url.path,
                  type(exc).__name__)
        return error(500, "internal_error", "The sandbox hit an internal error")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, crash)


# ---- middleware ---------------------------------------------------------------------------


async def _send_json(send: Send, status: int, body: dict[str, Any],
                     headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


class AuthMiddleware:
    """401 for any request without ``Authorization: Bearer <key>``. The key is compared in
    constant time and never echoed."""

    def __init__(self, app: ASGIApp, server: SandboxServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            await _send_json(send, 401, {"error": {
                "code": "unauthorized",
                "message": "Missing or invalid API key (send Authorization: Bearer <key>)",
                "fields": []}}, {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and secrets.compare_digest(
                    token.strip().encode(), self.server.key.encode())
        return False


class _Drop(Exception):
    """Raised to abandon a response half-sent (the connection is then closed)."""


class FaultMiddleware:
    """Applies `app.sandbox.faults` to API requests (after authentication)."""

    def __init__(self, app: ASGIApp, server: SandboxServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/v1/_test/"):
            await self.app(scope, receive, send)
            return
        faults = self.server.faults
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        rule = faults.take_response(scope["method"], path)
        if rule is None:
            await self.app(scope, receive, send)
        elif "status" in rule:
            await self._forced(rule, send)
        elif "delay_s" in rule:
            await self.app(scope, receive, _delayed(send, float(rule["delay_s"])))
        else:
            try:
                dropping = _dropping(send, float(rule["drop"]))
                if rule.get("run", True):
                    await self.app(scope, receive, dropping)
                else:  # the request is never handled: headers, then the connection closes
                    await _send_json(dropping, 502, {"error": {"code": "dropped"}})
            except BaseException as e:
                if not _is_drop(e):
                    raise
                log.info("fault: dropped the response to %s %s", scope["method"], path)

    async def _forced(self, rule: dict[str, Any], send: Send) -> None:
        status = int(rule["status"])
        headers = {}
        if rule.get("retry_after") is not None:
            headers["Retry-After"] = str(rule["retry_after"])
        default = {429: "rate_limited", 503: "unavailable"}.get(status, "server_error"
                                                                 if status >= 500 else "fault")
        await _send_json(send, status, {"error": {
            "code": rule.get("code") or default,
            "message": rule.get("message") or f"Injected fault: HTTP {status}",
            "fields": []}}, headers)


def _is_drop(e: BaseException) -> bool:
    if isinstance(e, BaseExceptionGroup):
        return all(_is_drop(x) for x in e.exceptions)
    return isinstance(e, _Drop)


def _delayed(send: Send, delay: float) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(delay)
        await send(message)
    return wrapped


def _dropping(send: Send, fraction: float) -> Send:
    """A `send` that lets `fraction` of the body through, then raises `_Drop`."""
    state: dict[str, Any] = {"start": None, "cut": None, "sent": 0, "buffer": bytearray()}

    async def cut_here(chunk: bytes) -> None:
        if chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        raise _Drop

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            length = next((int(v) for k, v in message.get("headers", [])
                           if k.lower() == b"content-length"), None)
            state["start"] = message
            if length is not None:
                state["cut"] = int(length * fraction)
                await send(message)
                if state["cut"] == 0:
                    raise _Drop
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        body = bytes(message.get("body", b""))
        if state["cut"] is None:  # no Content-Length: buffer, then send a part of it
            state["buffer"] += body
            if message.get("more_body"):
                return
            data = bytes(state["buffer"])
            start = dict(state["start"])
            start["headers"] = [*start.get("headers", []),
                                (b"content-length", str(len(data)).encode())]
            await send(start)
            await cut_here(data[: int(len(data) * fraction)])
        room = state["cut"] - state["sent"]
        if len(body) >= room:
            await cut_here(body[:room])
        state["sent"] += len(body)
        await send(message)

    return wrapped


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
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit + 64 * 1024:
            async for _ in request.stream():  # read it all so the client sees the answer
                pass
            return _too_large(limit)
        form = await request.form(max_files=1, max_fields=8)
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

    async def create_job(self, model_id: str, request: Request) -> Response:
        try:
            get_model(model_id)
        except UnknownModel as e:
            return error(404, "unknown_model", str(e))
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            return error(422, "invalid_json", f"The body is not valid JSON: {e}",
                         [{"field": "", "message": "not valid JSON"}])
        if not isinstance(body, dict):
            return error(422, "validation_failed", "The body must be a JSON object",
                         [{"field": "", "message": "must be a JSON object"}])
        key = request.headers.get("idempotency-key")
        if key is not None and not 1 <= len(key) <= 255:
            return error(422, "validation_failed", "Idempotency-Key must be 1–255 characters",
                         [{"field": "Idempotency-Key", "message": "1–255 characters"}])
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
        report = validate_payload(model_id, local, infos)
        fields += [i.to_dict() for i in report.errors]
        if fields:
            return error(422, "validation_failed", f"{len(fields)} problem"
                         f"{'s' if len(fields) != 1 else ''} with the input", fields)
        cost = estimate(model_id, local, infos).max
        params, wrapper = split_payload(local)
        plan = make_plan(model_id, params, wrapper, infos)
        fate, code, message = self.server.faults.job_fate()
        if fate == "fail":
            plan["fail"] = [code, message]
        job = {"id": "job_" + secrets.token_hex(8), "model": model_id,
               "mock": wrapper.get("mock") is True, "created_at": time.time(),
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
        for slot in media_values(model_id, payload):
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
            _set_path(local, slot.path, path)
        return local, infos, fields

    async def _probe_result(self, name: str) -> dict[str, Any] | None:
        """Facts of a result file of this server used as an input (chaining takes)."""
        path = self.server.files_dir / name
        if not FILE_NAME.match(name) or not path.is_file():
            return None
        try:
            return (await run_in_threadpool(_probe, path)).to_dict()
        except ProbeError:
            return None

    async def get_job(self, job_id: str) -> Response:
        row = self.store.get_job(job_id)
        if row is None:
            return error(404, "not_found", f"No job {job_id!r}")
        return JSONResponse(self.engine.job_object(self.engine.refresh(row)))

    async def list_jobs(self, request: Request) -> Response:
        q = request.query_params
        status = q.get("status") or None
        fields = []
        if status is not None and status not in STATUSES:
            fields.append({"field": "status", "message": f"status must be one of "
                                                         f"{', '.join(STATUSES)}"})
        limit = _int(q.get("limit"), 20)
        if limit is None or not 1 <= limit <= 100:
            fields.append({"field": "limit", "message": "limit must be 1–100"})
        cursor = _int(q.get("cursor"), None) if q.get("cursor") else None
        if q.get("cursor") and cursor is None:
            fields.append({"field": "cursor", "message": "not a cursor from this server"})
        if fields:
            return error(422, "validation_failed", "Invalid query", fields)
        assert limit is not None
        rows = self.store.list_jobs(status, limit + 1, cursor)
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
            return error(404, "not_found", f"No job {job_id!r}")
        row = self.engine.refresh(row)
        if row["status"] in TERMINAL or not self.engine.cancel(job_id):
            row = self.store.get_job(job_id)
            return error(409, "not_cancelable", f"Job {job_id} already finished "
                         f"({row['status'] if row else 'gone'})")
        return JSONResponse(self.engine.job_object(self.store.get_job(job_id)))

    async def account(self) -> Response:
        return JSONResponse({"credits": self.store.balance()})

    async def models(self) -> Response:
        return JSONResponse({"models": [{**m.describe(), "schema": m.json_schema()}
                                        for m in MODELS.values()]})

    # ---- files --------------------------------------------------------------------------

    async def file(self, name: str, request: Request) -> Response:
        path = self.server.files_dir / name
        if not FILE_NAME.match(name) or name.endswith(".part") or not path.is_file():
            return error(404, "not_found", f"No file {name!r}")
        size = path.stat().st_size
        ctype = CONTENT_TYPES.get(path.suffix.lstrip(".").replace("jpg", "jpeg"),
                                  "application/octet-stream")
        headers = {"Accept-Ranges": "bytes", "Content-Type": ctype}
        rng = request.headers.get("range")
        start, end, status = 0, size - 1, 200
        if rng and _RANGE.fullmatch(rng):  # other forms (several ranges) are ignored: 200
            parsed = _parse_range(rng, size)
            if parsed is None:
                return error(416, "range_not_satisfiable", f"Range {rng!r} is outside the "
                             f"file ({size} bytes)", headers={"Content-Range": f"bytes */{size}"})
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        return StreamingResponse(_read_range(path, start, end), status_code=status,
                                 headers=headers, media_type=ctype)

    # ---- test-only ----------------------------------------------------------------------

    async def set_faults(self, request: Request) -> Response:
        try:
            spec = json.loads(await request.body() or b"{}")
            state = self.server.faults.update(spec)
        except (json.JSONDecodeError, FaultError) as e:
            return error(422, "invalid_faults", str(e))
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


def _set_path(data: Any, dotted: str, value: str) -> None:
    parts = dotted.split(".")
    for p in parts[:-1]:
        data = data[int(p)] if isinstance(data, list) else data[p]
    last = parts[-1]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


def _int(text: str | None, default: int | None) -> int | None:
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        return None


_RANGE = re.compile(r"\s*bytes=(\d*)-(\d*)\s*")


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for one ``bytes=`` range, or None when unsatisfiable."""
    m = _RANGE.fullmatch(header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        n = int(m.group(2))
        if n == 0:
            return None
        return max(0, size - n), size - 1
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def _read_range(path: Path, start: int, end: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def own_file_name(url: str) -> str | None:
    """The file name in a loopback ``…/v1/files/<name>`` URL (any port: it survives a
    restart on another port), else None."""
    if not is_remote(url):
        return None
    u = urlparse(url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    m = re.fullmatch(r"/v1/files/([^/]+)", u.path)
    return m.group(1) if m and FILE_NAME.match(m.group(1)) else None
