"""A local fake of fal's queue API on loopback, for tests: real HTTP (uvicorn) in a thread.

Written from fal's documentation and the official client's source:

- docs: https://docs.fal.ai/model-apis/model-endpoints/queue (submit, status with
  `queue_position` and `?logs=`, response, cancel; 200 for the submit, 202 for a status that
  is not COMPLETED yet, 200 once it is), https://docs.fal.ai/model-apis/authentication
  (`Authorization: Key <key>`), https://fal.ai/docs/api-reference/platform-apis/for-accounts
  (`GET /v1/account/billing?expand=credits`), and the model-API envelopes of
  tests/catalog/schemas (SOURCE.md there);
- source: github.com/fal-ai/fal, `projects/fal_client/src/fal_client/client.py`
  (`AsyncClient.submit` reads `request_id`, `status_url`, `response_url`, `cancel_url`;
  `_BaseRequestHandle._parse_status` reads IN_QUEUE + `queue_position`, IN_PROGRESS + `logs`,
  COMPLETED + `logs`, `metrics`, `error`, `error_type`; `from_request_id` builds
  `<queue>/<owner>/<alias>/requests/<id>` without the endpoint's subpath; `cancel` is a PUT;
  `_upload_via_storage` POSTs `<rest>/storage/upload/initiate?storage_type=gcs` with
  `{"file_name", "content_type"}` and PUTs the bytes to the `upload_url` it answers;
  `_raise_for_status` reads `detail` and `error_type`).

One server plays every fal host (queue, storage, platform, the CDN of results under
`/files/`): point `FalClient(base_url=...)`, or fal_client's `QUEUE_URL_FORMAT` and
`REST_URL`, at `FalQueue.url`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi import Request as HttpRequest
from fastapi.responses import FileResponse, JSONResponse, Response

START_TIMEOUT_S = 15.0


@dataclass
class Request:
    id: str
    endpoint: str
    app: str
    body: dict[str, Any]
    created: float
    canceled: bool = False
    position_at_submit: int = 0


@dataclass
class Seen:
    """What the fake saw: for assertions."""

    posts: list[Request] = field(default_factory=list)
    status_logs: list[str | None] = field(default_factory=list)
    file_auth: list[str | None] = field(default_factory=list)
    put_auth: list[str | None] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    unauthorized: int = 0
    cancels: int = 0


class FalQueue:
    """`with FalQueue(key, result=path) as fq: ...` — requests queue for `queue_s`, run for
    `run_s`, then complete with `result` (served under `/files/`)."""

    def __init__(self, key: str, result: Path, *, queue_s: float = 0.3, run_s: float = 0.4,
                 balance: float = 12.34, required: dict[str, list[str]] | None = None,
                 ahead: int = 2) -> None:
        self.key = key
        self.result = Path(result)
        self.queue_s, self.run_s, self.balance = queue_s, run_s, balance
        #: per endpoint, the inputs it requires (a missing one: 422 like fal's validation)
        self.required = required or {}
        #: requests "ahead" of a new one in the queue (its queue_position counts down)
        self.ahead = ahead
        #: endpoint id → fal's model-API answer (`GET /v1/models?endpoint_id=…`); others 404
        self.schemas: dict[str, Any] = {}
        self.requests: dict[str, Request] = {}
        self.seen = Seen()
        #: set: the next POST is accepted (counted, stored) and then held until released
        self.hold_posts = threading.Event()
        self.post_arrived = threading.Event()
        self._release = threading.Event()
        self.url = self.cdn_url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # ---- the protocol --------------------------------------------------------------------

    def _state(self, req: Request) -> tuple[str, int]:
        age = time.monotonic() - req.created
        if req.canceled or age >= self.queue_s + self.run_s:
            return "COMPLETED", 0
        if age >= self.queue_s:
            return "IN_PROGRESS", 0
        left = req.position_at_submit * (1 - age / self.queue_s) if self.queue_s else 0
        return "IN_QUEUE", max(0, int(left))

    def _app(self) -> Any:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        fq = self

        def authorized(request: HttpRequest) -> bool:
            ok = request.headers.get("authorization") == f"Key {fq.key}"
            if not ok:
                fq.seen.unauthorized += 1
            return ok

        def unauthorized() -> JSONResponse:
            return JSONResponse({"detail": "Unauthorized: the key is not valid"},
                                status_code=401)

        def urls(req: Request, base: str) -> dict[str, str]:
            root = f"{base}/{req.app}/requests/{req.id}"
            return {"request_id": req.id, "response_url": root,
                    "status_url": f"{root}/status", "cancel_url": f"{root}/cancel"}

        @app.get("/v1/account/billing")
        async def billing(request: HttpRequest) -> Response:
            if not authorized(request):
                return unauthorized()
            if request.query_params.get("expand") != "credits":
                return JSONResponse({"username": "tester"})
            return JSONResponse({"username": "tester", "credits": {
                "current_balance": fq.balance, "currency": "USD"}})

        @app.get("/v1/models")
        async def models(request: HttpRequest) -> Response:
            endpoint = request.query_params.get("endpoint_id", "")
            envelope = fq.schemas.get(endpoint)
            if envelope is None or request.query_params.get("expand") != "openapi-3.0":
                return JSONResponse({"detail": f"Model {endpoint!r} not found"},
                                    status_code=404)
            return JSONResponse(envelope)

        @app.post("/storage/upload/initiate")
        async def initiate(request: HttpRequest) -> Response:
            if not authorized(request):
                return unauthorized()
            body = await request.json()
            token = uuid.uuid4().hex
            name = f"{token}-{Path(str(body.get('file_name') or 'upload.bin')).name}"
            cdn = fq.cdn_url
            return JSONResponse({"upload_url": f"{cdn}/storage/put/{name}",
                                 "file_url": f"{cdn}/files/{name}"})

        @app.put("/storage/put/{name}")
        async def put(name: str, request: HttpRequest) -> Response:
            fq.seen.put_auth.append(request.headers.get("authorization"))
            fq.seen.uploads[name] = await request.body()
            return Response(status_code=200)

        @app.get("/files/{name}")
        async def files(name: str, request: HttpRequest) -> Response:
            fq.seen.file_auth.append(request.headers.get("authorization"))
            if name == fq.result.name:
                return FileResponse(fq.result, media_type="video/mp4")
            if name in fq.seen.uploads:
                return Response(fq.seen.uploads[name], media_type="application/octet-stream")
            return JSONResponse({"detail": "Not found"}, status_code=404)

        @app.get("/{path:path}")
        async def read(path: str, request: HttpRequest) -> Response:
            if not authorized(request):
                return unauthorized()
            parts = path.strip("/").split("/")
            status = parts[-1] == "status"
            if status:
                parts = parts[:-1]
            if len(parts) < 3 or parts[-2] != "requests" or parts[-1] not in fq.requests:
                return JSONResponse({"detail": "Request not found"}, status_code=404)
            req = fq.requests[parts[-1]]
            if "/".join(parts[:-2]) != req.app:
                return JSONResponse({"detail": "Request not found"}, status_code=404)
            state, position = fq._state(req)
            if status:
                fq.seen.status_logs.append(request.query_params.get("logs"))
                data: dict[str, Any] = {"status": state, **urls(req, str(
                    request.base_url).rstrip("/"))}
                logs = [] if request.query_params.get("logs") in ("1", "true") else None
                if state == "IN_QUEUE":
                    data["queue_position"] = position
                else:
                    data["logs"] = logs
                if state == "COMPLETED":
                    data["metrics"] = {"inference_time": fq.run_s}
                    if req.canceled:
                        data["error"] = "Request was cancelled"
                        data["error_type"] = "request_cancelled"
                return JSONResponse(data, status_code=200 if state == "COMPLETED" else 202)
            if state != "COMPLETED":
                return JSONResponse({"detail": "Request is still in progress"},
                                    status_code=400)
            if req.canceled:
                return JSONResponse({"detail": "Request was cancelled"}, status_code=400)
            return JSONResponse({"video": {
                "url": f"{fq.cdn_url}/files/{fq.result.name}", "content_type": "video/mp4",
                "file_name": fq.result.name, "file_size": fq.result.stat().st_size}})

        @app.put("/{path:path}")
        async def cancel(path: str, request: HttpRequest) -> Response:
            if not authorized(request):
                return unauthorized()
            parts = path.strip("/").split("/")
            if len(parts) < 4 or parts[-1] != "cancel" or parts[-2] not in fq.requests:
                return JSONResponse({"detail": "Request not found"}, status_code=404)
            req = fq.requests[parts[-2]]
            fq.seen.cancels += 1
            if fq._state(req)[0] == "COMPLETED":
                return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)
            req.canceled = True
            return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)

        @app.post("/{endpoint:path}")
        async def submit(endpoint: str, request: HttpRequest) -> Response:
            if not authorized(request):
                return unauthorized()
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return JSONResponse({"detail": [{"loc": ["body"], "msg": "Input should be a "
                                                 "valid dictionary", "type": "dict_type"}]},
                                    status_code=422)
            missing = [f for f in fq.required.get(endpoint, []) if f not in body]
            if missing:
                return JSONResponse({"detail": [
                    {"loc": ["body", f], "msg": "Field required", "type": "missing"}
                    for f in missing]}, status_code=422)
            parts = endpoint.strip("/").split("/")
            app_path = "/".join(parts[:3] if parts[0] in ("workflows", "comfy")
                                else parts[:2])
            req = Request(str(uuid.uuid4()), endpoint, app_path, body, time.monotonic(),
                          position_at_submit=fq.ahead)
            fq.requests[req.id] = req
            fq.seen.posts.append(req)
            fq.post_arrived.set()
            if fq.hold_posts.is_set():  # accepted: the answer never comes back in time
                await asyncio.to_thread(fq._release.wait)
            return JSONResponse({**urls(req, str(request.base_url).rstrip("/")),
                                 "status": "IN_QUEUE", "queue_position": fq.ahead})

        return app

    # ---- serving -------------------------------------------------------------------------

    def start(self) -> str:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self._socket = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        #: where results and signed uploads live: the same server under another host name,
        #: so a client that sends its key to the CDN or the signed URL is seen doing it
        self.cdn_url = f"http://localhost:{sock.getsockname()[1]}"
        config = uvicorn.Config(self._app(), log_config=None, log_level="warning",
                                access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="falqueue", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake fal queue did not start")
            time.sleep(0.01)
        return self.url

    def release(self) -> None:
        """Answer the held POSTs (and hold no more)."""
        self.hold_posts.clear()
        self._release.set()

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> FalQueue:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
