"""fal's queue API as a Takes provider (`app.client.provider.Provider`). No Qt.

The wire (https://docs.fal.ai/model-apis/model-endpoints/queue, and the official client,
github.com/fal-ai/fal `projects/fal_client/src/fal_client/client.py`):

- `POST https://queue.fal.run/<endpoint id>` with the model's input as JSON and
  `Authorization: Key <key>` → `{"request_id", "status_url", "response_url", "cancel_url",
  "queue_position"}`; 422 `{"detail": [{"loc", "msg", "type"}]}` for invalid input, 401/403
  for a key that is not accepted.
- `GET …/<owner>/<alias>/requests/<id>/status?logs=0` → `{"status": "IN_QUEUE",
  "queue_position": n}` | `{"status": "IN_PROGRESS"}` | `{"status": "COMPLETED", "error"?,
  "error_type"?}` (the status URL names the app, `owner/alias`, not the endpoint's subpath).
- `GET …/requests/<id>` → the output (`{"video": {"url", "content_type", "file_size"}}`);
  `PUT …/requests/<id>/cancel` → 202 `CANCELLATION_REQUESTED`, 400 `ALREADY_COMPLETED`.
- uploads: `POST https://rest.alpha.fal.ai/storage/upload/initiate?storage_type=gcs` with
  `{"file_name", "content_type"}` → `{"upload_url", "file_url"}`, then `PUT upload_url`.
- the balance: `GET https://api.fal.ai/v1/account/billing?expand=credits` →
  `{"credits": {"current_balance", "currency"}}` (a key with billing read access).

Why httpx, not `fal-client`: the official client builds `https://queue.<FAL_RUN_HOST>` from
the environment at import (a loopback test would need TLS and host tricks), and it retries a
submit POST on timeouts and dropped connections — with no idempotency key that can queue (and
charge) a render twice. This client never resends a POST that may have reached fal: only a
connection that was never made, or a 429 (fal did not take it), is tried again. The tests
drive the same fake server with `fal-client` too (tests/falqueue.py).

Results are downloaded at once (fal's URLs expire); the key goes only to fal's own API hosts,
never to a result's host. A mock render makes a local placeholder: no fal call, free.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from app.catalog.media import MediaRule
from app.client.api import MIME, ApiClient, Secret, check_local_file, place_file
from app.client.errors import (
    ApiError,
    AuthError,
    Conflict,
    NetworkError,
    RateLimited,
    ValidationFailed,
)

log = logging.getLogger(__name__)

QUEUE_URL = "https://queue.fal.run"
REST_URL = "https://rest.alpha.fal.ai"
PLATFORM_URL = "https://api.fal.ai"
#: the app namespaces whose endpoint ids have three parts before the subpath (fal_client)
APP_NAMESPACES = ("workflows", "comfy")
#: wrapper parameters of Takes that are not fal inputs
WRAPPER = ("out", "mock", "format")
#: the prefix of a mock take's id (made here, never sent)
MOCK_PREFIX = "mock:"
#: the prefix of the model ids made from fal's schemas ("fal_kling_v3_pro_i2v")
FAL_MODEL_PREFIX = "fal_"


def load_endpoints() -> dict[str, dict[str, Any]]:
    """The shipped mapping: curated model id → {"endpoint", "source", "schema"?, "checked"}."""
    from app.resources import read_bytes

    data = json.loads(read_bytes("providers", "fal", "endpoints.json"))
    return {k: dict(v) for k, v in data["models"].items()}


def load_schema(name: str) -> Any:
    from app.resources import read_bytes

    return json.loads(read_bytes("providers", "fal", "schemas", name))


def app_path(endpoint: str) -> str:
    """The `owner/alias` (or `namespace/owner/alias`) part of an endpoint id: fal's request
    URLs name the app, not the endpoint's subpath."""
    parts = [p for p in endpoint.strip("/").split("/") if p]
    prefix = []
    if parts and parts[0] in APP_NAMESPACES:
        prefix, parts = parts[:1], parts[1:]
    if len(parts) < 2:
        raise ValueError(f"{endpoint!r} is not a fal endpoint id (owner/alias[/path])")
    return "/".join([*prefix, *parts[:2]])


class _FalKey(httpx.Auth):
    """`Authorization: Key <key>` on requests to fal's own API hosts only (a result URL on a
    CDN, or a signed storage URL, never sees it)."""

    def __init__(self, key: str | Secret, origins: set[tuple[str, str, int | None]]) -> None:
        self._key = key if isinstance(key, Secret) else Secret(key)
        self._origins = origins

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        u = request.url
        if (u.scheme, u.host, u.port) in self._origins and self._key:
            request.headers["Authorization"] = f"Key {self._key.reveal()}"
        yield request

    def scrub(self, text: str) -> str:
        key = self._key.reveal()
        return text.replace(key, "***") if key else text

    def __repr__(self) -> str:
        return "<Key ***>"


def _origin_of(url: str) -> tuple[str, str, int | None]:
    u = httpx.URL(url)
    return (u.scheme, u.host, u.port)


class FalClient(ApiClient):
    """fal's queue API behind the Provider seam. `base_url`: one server for the queue, the
    storage and the platform API (a proxy, or the tests' fake); default fal's own hosts."""

    idempotent = False

    def __init__(self, api_key: str | Secret, base_url: str | None = None, *,
                 endpoints: Mapping[str, str] | None = None,
                 placeholder_dir: Path | None = None, **kw: Any) -> None:
        base = base_url.rstrip("/") if base_url else None
        self.queue_url = base or QUEUE_URL
        self.rest_url = base or REST_URL
        self.platform_url = base or PLATFORM_URL
        super().__init__(self.queue_url, api_key, **kw)
        self._auth = _FalKey(api_key, {_origin_of(u) for u in
                                       (self.queue_url, self.rest_url, self.platform_url)})
        self._http.auth = self._auth
        shipped = load_endpoints()
        self.sources = {k: v.get("source", "") for k, v in shipped.items()}
        self.endpoints: dict[str, str] = {k: v["endpoint"] for k, v in shipped.items()}
        self._schemas = {k: v["schema"] for k, v in shipped.items() if v.get("schema")}
        self._shipped_endpoints = {k: v["endpoint"] for k, v in shipped.items()}
        self.endpoints.update({FAL_MODEL_PREFIX + k: self.endpoints[k] for k in self._schemas})
        for k, v in (endpoints or {}).items():  # the profile's own choices win
            self.endpoints[k] = v
            if k in self._schemas:
                self.endpoints[FAL_MODEL_PREFIX + k] = v
        self._placeholders = placeholder_dir
        self._mocks: dict[str, dict[str, Any]] = {}
        #: the fal forms read by `models()`: id → its name
        self._forms: dict[str, str] = {}
        #: the POSTs sent (never resent once they may have arrived): for tests and the log
        self.posts = 0

    def __repr__(self) -> str:
        return f"FalClient({self.queue_url!r})"

    # ---- the catalog ---------------------------------------------------------------------

    def endpoint_for(self, model_id: str) -> str:
        endpoint = self.endpoints.get(model_id)
        if endpoint is None:
            if "/" in model_id:  # an endpoint id itself
                return model_id
            raise ValidationFailed(
                f"No fal endpoint is known for {model_id}: add one to the profile's endpoints",
                [{"field": "", "message": f"no fal endpoint for {model_id}"}],
                code="unknown_model")
        return endpoint

    async def models(self) -> Any:
        """The fal forms, as a listing the studio reads like a server's `GET /v1/models`:
        for each curated model, its endpoint's input schema from fal's model API
        (`GET /v1/models?endpoint_id=…&expand=openapi-3.0`, read now), else the shipped copy
        (resources/providers/fal/schemas), imported through `app.catalog.importer` (fal's
        own fields and order; "price set by the provider"). Ids are `fal_<model>`."""
        curated = list(self.endpoints_of_curated())
        live = await asyncio.gather(*(self._live_schema(self.endpoints[c]) for c in curated))
        return await asyncio.to_thread(self._listing, dict(zip(curated, live, strict=True)))

    def endpoints_of_curated(self) -> list[str]:
        return [k for k in self.sources if k in self.endpoints]

    async def _live_schema(self, endpoint: str) -> Any:
        """fal's model-API answer for one endpoint, or None when it cannot be read now."""
        try:
            r = await self._request("GET", f"{self.platform_url}/v1/models",
                                    params={"endpoint_id": endpoint, "expand": "openapi-3.0"},
                                    retry="never",
                                    http_timeout=httpx.Timeout(5.0, connect=3.0))
            return r.json()
        except (ApiError, ValueError) as e:
            log.info("fal's schema of %s was not read (%s); the shipped copy is used",
                     endpoint, getattr(e, "code", type(e).__name__))
            return None

    def _listing(self, live: Mapping[str, Any]) -> dict[str, Any]:
        from app.catalog.importer import SchemaError, import_schema

        models: list[dict[str, Any]] = []
        for curated in self.endpoints_of_curated():
            mid = FAL_MODEL_PREFIX + curated
            m = None
            for doc, where in ((live.get(curated), "live"),
                               (self._shipped(curated), "shipped")):
                if doc is None:
                    continue
                try:
                    m = import_schema(doc)
                except SchemaError as e:
                    log.warning("the %s fal schema of %s cannot be used: %s", where, curated, e)
                    continue
                break
            if m is None:
                continue
            self.endpoints[mid] = self.endpoints[curated]
            self._forms[mid] = f"{m.name} (fal)"
            models.append({"id": mid, "name": f"{m.name} (fal)", "schema": m.schema,
                           "source": self.sources.get(curated, ""),
                           "endpoint": self.endpoints[mid]})
        return {"models": models}

    def _shipped(self, curated: str) -> Any:
        file = self._schemas.get(curated)
        if file is None or self.endpoints[curated] != self._shipped_endpoints.get(curated):
            return None  # none shipped, or the profile chose another endpoint
        try:
            return load_schema(file)
        except (OSError, ValueError, LookupError) as e:
            log.warning("the shipped fal schema %s cannot be read: %s", file, e)
            return None

    # ---- the account ---------------------------------------------------------------------

    async def account(self) -> dict[str, Any]:
        """fal's balance (USD) as credits of one US cent each, for the guard-rails."""
        try:
            r = await self._request("GET", f"{self.platform_url}/v1/account/billing",
                                    params={"expand": "credits"})
        except AuthError as e:
            if e.status == 403:
                raise ApiError("This fal key cannot read the balance (it needs billing read "
                               "access: a key with the BILLING, READONLY or FULL scope on "
                               "fal.ai/dashboard/keys)", status=403,
                               code="balance_unknown") from None
            raise
        body = _json(r)
        credits = body.get("credits") if isinstance(body, dict) else None
        balance = credits.get("current_balance") if isinstance(credits, dict) else None
        try:
            usd = float(balance)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ApiError("fal did not say the balance (GET /v1/account/billing has no "
                           "credits.current_balance)", code="balance_unknown") from None
        return {"credits": round(usd * 100), "balance": usd,
                "currency": str(credits.get("currency") or "USD"), "unit": "US cent"}

    # ---- jobs ----------------------------------------------------------------------------

    async def create_job(self, model_id: str, payload: Mapping[str, Any] | bytes,
                         idempotency_key: str = "") -> dict[str, Any]:
        """Queue one request. fal takes no idempotency key: the POST goes out once. A
        connection never made, or a 429, is tried again (fal did not take it); any other
        failure raises with `maybe_sent` True: the caller must not send it again."""
        body = json.loads(payload) if isinstance(payload, bytes) else dict(payload)
        if body.get("mock") is True:
            return await self._mock_job(model_id, body)
        try:  # refused here: nothing went out
            endpoint = self.endpoint_for(model_id)
            self._check_form(model_id)
        except ApiError as e:
            e.maybe_sent = False  # type: ignore[attr-defined]
            raise
        arguments = {k: v for k, v in body.items() if k not in WRAPPER}
        data = json.dumps(arguments, ensure_ascii=False, separators=(",", ":")).encode()
        started = time.monotonic()
        tries = 0
        while True:
            tries += 1
            self.posts += 1
            try:
                r = await self._request("POST", f"{self.queue_url}/{endpoint}",
                                        body=lambda: data, retry="never",
                                        headers={"Content-Type": "application/json"})
            except (NetworkError, RateLimited) as e:
                last = self.trace[-1] if self.trace else None
                never_made = isinstance(e, NetworkError) and last is not None and \
                    last.error in ("ConnectError", "ConnectTimeout")
                e.maybe_sent = not (never_made or isinstance(e, RateLimited))  # type: ignore[attr-defined]
                wait = self.policy.delay(tries, getattr(e, "retry_after", None))
                if e.maybe_sent or tries > self.policy.max_retries or \
                        time.monotonic() - started + wait > self.policy.deadline_s:
                    raise
                await self._sleep(wait)
                continue
            except ApiError as e:
                e.maybe_sent = e.status is None or e.status >= 500  # type: ignore[attr-defined]
                raise
            break
        answer = _json(r)
        rid = answer.get("request_id") if isinstance(answer, dict) else None
        if not isinstance(rid, str) or not rid:
            err = ApiError("fal accepted the request without a request id", code="bad_answer")
            err.maybe_sent = True  # type: ignore[attr-defined]
            raise err
        job: dict[str, Any] = {"id": f"{app_path(endpoint)}:{rid}", "status": "queued",
                               "progress": 0.0}
        if isinstance(answer.get("queue_position"), int):
            job["queue_position"] = answer["queue_position"]
        return job

    def _check_form(self, model_id: str) -> None:
        """A curated model whose fal form is known is rendered with that form: fal's inputs
        differ from the reference's (Kling v3: an aspect_ratio enum, top-level voice_ids,
        shot_type only "customize", shots of 3–15 s), so the reference's payload is not sent."""
        from app.catalog.models import MODELS

        if model_id not in MODELS:
            return
        form = FAL_MODEL_PREFIX + model_id
        if form in self._forms:
            msg = (f"On fal, {model_id} is rendered with its fal form ({self._forms[form]}, "
                   "under More models): fal's inputs differ from the built-in catalog's. "
                   "Nothing was sent or charged.")
        else:
            msg = (f"On fal, {model_id} is rendered with a form made from fal's schema of "
                   f"{self.endpoints[model_id]}, which could not be read: check the endpoint "
                   "id in the profile, or the network, and open the profile again. Nothing "
                   "was sent or charged.")
        raise ValidationFailed(msg, [{"field": "", "message": msg}], code="use_fal_form")

    def _urls(self, job_id: str) -> tuple[str, str]:
        """(the request's base URL, its request id) from a stored job id `app:request_id`."""
        app, sep, rid = job_id.rpartition(":")
        if not sep or not app or not rid:
            raise ValueError(f"{job_id!r} is not a fal job id")
        return f"{self.queue_url}/{app}/requests/{quote(rid, safe='')}", rid

    async def get_job_with_hint(self, job_id: str, wait: float | None = None
                                ) -> tuple[dict[str, Any], float | None]:
        if job_id.startswith(MOCK_PREFIX):
            return self._mock_state(job_id), None
        base, _ = self._urls(job_id)
        r = await self._request("GET", f"{base}/status", params={"logs": "0"})
        status = _json(r)
        state = status.get("status") if isinstance(status, dict) else None
        job: dict[str, Any] = {"id": job_id}
        if state == "IN_QUEUE":
            job.update(status="queued", queue_position=status.get("queue_position"))
        elif state == "IN_PROGRESS":
            job.update(status="running", started_at=time.time())
        elif state == "COMPLETED":
            job.update(await self._completed(base, status))
        else:
            raise ApiError(f"fal answered an unknown status {state!r}", code="bad_answer")
        return job, None

    async def _completed(self, base: str, status: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        if status.get("error"):
            return {"status": "failed", "finished_at": now, "error": {
                "code": str(status.get("error_type") or "provider_error"),
                "message": self._auth.scrub(str(status["error"]))}}
        try:
            r = await self._request("GET", base)
        except ValidationFailed as e:  # the model refused the input once it ran
            return {"status": "failed", "finished_at": now,
                    "error": {"code": e.code or "invalid_input", "message": str(e)}}
        result = _media_of(_json(r))
        if result is None:
            return {"status": "failed", "finished_at": now, "error": {
                "code": "no_output", "message": "fal finished the request without a file"}}
        return {"status": "succeeded", "finished_at": now, "progress": 1.0, "result": result}

    async def cancel_job(self, job_id: str) -> dict[str, Any]:
        if job_id.startswith(MOCK_PREFIX):
            raise Conflict("A mock take is already finished", status=409)
        base, _ = self._urls(job_id)
        try:
            await self._request("PUT", f"{base}/cancel")
        except ValidationFailed as e:  # 400 ALREADY_COMPLETED: it finished meanwhile
            raise Conflict(f"fal could not cancel it: {e}", status=400) from None
        return {"id": job_id, "status": "canceled", "finished_at": time.time()}

    # ---- files ---------------------------------------------------------------------------

    async def upload(self, path: str | os.PathLike[str], *, rule: MediaRule | None = None,
                     label: str = "The file") -> str:
        """fal storage: initiate (authenticated), then PUT the bytes to the signed URL."""
        p = Path(path)
        size, fmt = await asyncio.to_thread(check_local_file, p, rule, label)
        content_type = MIME.get(fmt, "application/octet-stream")
        r = await self._request(
            "POST", f"{self.rest_url}/storage/upload/initiate",
            params={"storage_type": "gcs"}, headers={"Content-Type": "application/json"},
            body=lambda: json.dumps({"file_name": p.name, "content_type": content_type}).encode())
        answer = _json(r)
        if not isinstance(answer, dict) or not answer.get("upload_url") or \
                not answer.get("file_url"):
            raise ApiError("fal's storage did not give an upload URL", code="bad_answer")

        from app.client.api import _multipart

        def body() -> Any:
            return _multipart(p, size, b"", b"")

        await self._request("PUT", str(answer["upload_url"]), body=body,
                            headers={"Content-Type": content_type,
                                     "Content-Length": str(size)})
        return str(answer["file_url"])

    async def download(self, url: str, dest: str | os.PathLike[str], **kw: Any) -> Path:
        if url.startswith("file://"):  # a mock placeholder made here: moved into place
            src = Path(unquote(urlsplit(url).path))
            try:
                return await asyncio.to_thread(_copy_into, src, Path(dest),
                                               bool(kw.get("overwrite")))
            except FileNotFoundError:
                raise ApiError("The placeholder of this mock take is gone (Takes was "
                               "restarted before it was saved): render the mock again",
                               code="placeholder_gone") from None
        return await super().download(url, dest, **kw)

    def file_url(self, url: str) -> str:
        return url  # fal's result URLs name their own host

    # ---- mock: a local placeholder, no fal call -------------------------------------------

    async def _mock_job(self, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        job_id = f"{MOCK_PREFIX}{uuid.uuid4().hex}"
        folder = self._placeholders or Path(tempfile.gettempdir()) / "takes-fal-mock"
        dest = folder / f"{job_id[len(MOCK_PREFIX):]}.mp4"
        plan = _mock_plan(model_id, body)
        await asyncio.to_thread(_render_placeholder, plan, job_id, dest)
        now = time.time()
        job = {"id": job_id, "status": "succeeded", "progress": 1.0, "mock": True,
               "credits_charged": 0, "started_at": now, "finished_at": now,
               "result": {"url": dest.as_uri(), "content_type": "video/mp4",
                          "width": plan["width"], "height": plan["height"],
                          "duration_s": plan["duration_s"], "fps": plan["fps"],
                          "size_bytes": dest.stat().st_size,
                          "note": "a local placeholder: fal was not called, nothing charged"}}
        self._mocks[job_id] = job
        # answered as fal answers a submit (queued); the first status read says it finished
        return {"id": job_id, "status": "queued", "progress": 0.0, "mock": True,
                "credits_charged": 0}

    def _mock_state(self, job_id: str) -> dict[str, Any]:
        job = self._mocks.get(job_id)
        if job is None:
            from app.client.errors import NotFound

            raise NotFound("Not found: the placeholder of this mock take is gone", status=404)
        return dict(job)


def _mock_plan(model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    from app.sandbox.plan import parse_ratio, seconds, size_for_aspect

    w, h = size_for_aspect(*parse_ratio(body.get("aspect_ratio") or "16:9"), short=180)
    duration = min(15.0, max(1.0, seconds(body.get("duration"), 3.0)))
    return {"model": f"{model_id} · fal mock", "width": w, "height": h,
            "duration_s": duration, "fps": 12, "mock": True, "audio": False}


def _render_placeholder(plan: dict[str, Any], job_id: str, dest: Path) -> None:
    from app.sandbox.render import render

    dest.parent.mkdir(parents=True, exist_ok=True)
    render(plan, job_id, dest)


def _copy_into(src: Path, dest: Path, overwrite: bool) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part")
    shutil.copyfile(src, part)
    placed = place_file(part, dest, overwrite)
    src.unlink(missing_ok=True)  # the temporary placeholder is not kept twice
    return placed


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        raise ApiError(f"fal answered something that is not JSON (HTTP {r.status_code})",
                       code="bad_answer") from None


def _media_of(output: Any) -> dict[str, Any] | None:
    """The file of a fal output: `video` first, else the first value with a `url`."""
    if not isinstance(output, dict):
        return None
    candidates = [output.get("video"), *output.values()]
    for c in candidates:
        if isinstance(c, list) and c:
            c = c[0]
        if isinstance(c, dict) and isinstance(c.get("url"), str):
            result: dict[str, Any] = {"url": c["url"],
                                      "content_type": c.get("content_type") or "video/mp4"}
            if isinstance(c.get("file_size"), int):
                result["size_bytes"] = c["file_size"]
            for k in ("width", "height", "fps"):
                if isinstance(c.get(k), int | float):
                    result[k] = c[k]
            if isinstance(c.get("duration"), int | float):
                result["duration_s"] = c["duration"]
            return result
    return None
