"""The async HTTP client for the render API contract (`shared/API.md`). No Qt.

Retries: exponential backoff with jitter, honouring `Retry-After` (capped), inside a total
deadline. GETs are retried freely; a job POST only ever resends the same bytes with the same
`Idempotency-Key` (the caller mints the key and serializes the body once); 401 is never
retried. The API key lives only inside an `httpx.Auth` object that adds it to requests for
the API's own origin: it is in no message, repr or log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import hashlib
import json
import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx

from app.catalog.media import FORMAT_LABELS, MB, MediaRule, fmt_mb, fmt_num
from app.client.errors import (
    ApiError,
    AuthError,
    Conflict,
    DownloadError,
    LocalFileError,
    NetworkError,
    NotFound,
    OutOfCredits,
    RateLimited,
    ServerError,
    ValidationFailed,
    fields_text,
)
from app.client.secret import Secret  # re-exported: app.client.api.Secret

log = logging.getLogger(__name__)

RetryMode = Literal["always", "never"]
Sleep = Callable[[float], Awaitable[None]]

RETRY_STATUSES = {429, 500, 502, 503, 504}
CHUNK = 1 << 20
#: a download is written in blocks of this size (one thread hop per block, not per chunk)
WRITE_BLOCK = 1 << 20
#: the response header by which a server says it holds `GET /v1/jobs/<id>?wait=S` (docs/api.md)
WAIT_HEADER = "Job-Wait-Max"
#: a `Job-Wait-Max` above this is taken as this (a held request must end in a sane time)
WAIT_CAP_S = 60.0
#: held reads in flight at once at most (each holds a connection of the pool's 100: uploads,
#: POSTs and downloads must never wait behind them); more jobs than this are polled
MAX_HELD = 16

MIME = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
    "avif": "image/avif", "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
    "m4v": "video/x-m4v", "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `deadline_s` bounds the whole call, waits included."""

    max_retries: int = 5
    backoff: float = 0.5
    backoff_cap: float = 15.0
    retry_after_cap: float = 60.0
    deadline_s: float = 120.0

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        if retry_after is not None:
            # at least what the server asked (capped), plus a little jitter to spread clients
            wait = min(retry_after, self.retry_after_cap)
            return wait + random.uniform(0, min(0.25, wait * 0.1))
        exp = min(self.backoff_cap, self.backoff * 2 ** (retry - 1))
        return random.uniform(exp / 2, exp)  # "equal jitter"


@dataclass
class Attempt:
    """One request sent (for diagnostics and tests): never holds headers."""

    method: str
    path: str
    started: float
    status: int | None = None
    error: str | None = None
    #: for a bytes body: its SHA-256 (first 16 hex digits) and the idempotency key sent
    body_sha: str | None = None
    idempotency_key: str | None = None


class _Bearer(httpx.Auth):
    """Adds the key only to requests for the API's own origin (a result URL on another host
    never sees it)."""

    def __init__(self, key: str | Secret, origin: tuple[str, str, int | None]) -> None:
        self._key = key if isinstance(key, Secret) else Secret(key)
        self._origin = origin

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin(request.url) == self._origin and self._key:
            request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request

    def scrub(self, text: str) -> str:
        key = self._key.reveal()
        return text.replace(key, "***") if key else text

    def __repr__(self) -> str:
        return "<Bearer ***>"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def job_body(payload: Mapping[str, Any]) -> bytes:
    """The one serialization of a job body: computed once, resent byte for byte."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


#: bytes asked of the socket per read: httpcore asks 64 KiB, so a 200 MB download is 3,000+
#: trips through its async stack; at 1 MiB a read takes what the kernel has (up to 256 KiB
#: from asyncio's transport), a quarter of the trips or fewer
READ_BYTES = 1 << 20


def _larger_reads() -> None:
    """Raise httpcore's per-read size (`AsyncHTTP11Connection.READ_NUM_BYTES`, a class
    attribute it reads on every body read) to READ_BYTES for this process. It changes how
    much one read may return, never what is read; if a later httpcore drops the attribute
    this does nothing and downloads are only slower (bench/download.py shows it)."""
    try:
        from httpcore._async.http11 import AsyncHTTP11Connection
    except ImportError:  # pragma: no cover - another httpcore layout
        return
    if getattr(AsyncHTTP11Connection, "READ_NUM_BYTES", READ_BYTES) < READ_BYTES:
        AsyncHTTP11Connection.READ_NUM_BYTES = READ_BYTES


class ApiClient:
    """Async client for the render API. Use as `async with ApiClient(url, key) as api:`.

    The first implementation of `app.client.provider.Provider`."""

    #: job POSTs carry an `Idempotency-Key`: a resend makes one job at most (Provider)
    idempotent = True

    def __init__(self, base_url: str, api_key: str | Secret, *,
                 timeout: float | httpx.Timeout = 30.0, max_retries: int = 5,
                 backoff: float = 0.5, backoff_cap: float = 15.0,
                 retry_after_cap: float = 60.0, deadline_s: float = 120.0,
                 sleep: Sleep | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = RetryPolicy(max_retries, backoff, backoff_cap, retry_after_cap, deadline_s)
        self.trace: deque[Attempt] = deque(maxlen=2000)
        self._sleep: Sleep = sleep or asyncio.sleep
        t = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(
            timeout, connect=min(10.0, timeout))
        self._timeout = t
        _larger_reads()
        #: the longest `?wait=` the server holds a job read (its `Job-Wait-Max`), else None
        self.wait_max: float | None = None
        self.max_held = MAX_HELD
        self._held = 0
        base = httpx.URL(self.base_url + "/")
        self._auth = _Bearer(api_key, _origin(base))
        self._http = httpx.AsyncClient(base_url=self.base_url, auth=self._auth, timeout=t,
                                       headers={"User-Agent": "takes/0.1"})
        self.online = True
        self._online_listeners: list[Callable[[bool], None]] = []

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r})"

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    # ---- connectivity -------------------------------------------------------------------

    def subscribe_online(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Call `callback(online)` whenever the API stops or starts answering; returns the
        function that unsubscribes."""
        self._online_listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._online_listeners:
                self._online_listeners.remove(callback)

        return unsubscribe

    def _reached(self, online: bool) -> None:
        """Offline on a network error, online again on the next answer (any status)."""
        if online == self.online:
            return
        self.online = online
        log.info("the API at %s is %s", httpx.URL(self.base_url).netloc.decode(),
                 "reachable again" if online else "unreachable")
        for listener in list(self._online_listeners):
            try:
                listener(online)
            except Exception:
                log.exception("an online listener failed")

    # ---- calls of the contract ----------------------------------------------------------

    async def account(self) -> dict[str, Any]:
        return (await self._request("GET", "/v1/account")).json()

    async def models(self) -> Any:
        return (await self._request("GET", "/v1/models")).json()

    async def get_job(self, job_id: str) -> dict[str, Any]:
        return (await self.get_job_with_hint(job_id))[0]

    async def get_job_with_hint(self, job_id: str, wait: float | None = None
                                ) -> tuple[dict[str, Any], float | None]:
        """The job object and the server's polling hint (`Retry-After` on a 200), if any.

        With `wait` (seconds, for a server that advertised `Job-Wait-Max`), the server holds
        the answer until the job's status or progress changes or `wait` seconds pass; the read
        timeout grows by `wait` for that request."""
        params = timeout = None
        if wait is not None and not 0 < wait <= WAIT_CAP_S:
            raise ValueError(f"a job wait must be in (0, {WAIT_CAP_S:g}] seconds")
        if wait is not None and self.held_full():
            wait = None  # as many reads held as the pool spares: this one is a plain read
        if wait is not None:
            params = {"wait": f"{wait:g}"}
            read = self._timeout.read
            timeout = httpx.Timeout(self._timeout.connect, connect=self._timeout.connect,
                                    read=None if read is None else read + wait,
                                    write=self._timeout.write, pool=self._timeout.pool)
        self._held += wait is not None
        try:
            r = await self._request("GET", f"/v1/jobs/{quote(job_id, safe='')}",
                                    params=params, http_timeout=timeout)
        finally:
            self._held -= wait is not None
        return r.json(), parse_retry_after(r.headers.get("Retry-After"))

    def held_full(self) -> bool:
        """Whether `max_held` job reads are held by the server now (the next is not)."""
        return self._held >= self.max_held

    async def list_jobs(self, status: str | None = None, limit: int | None = None,
                        cursor: str | None = None) -> Any:
        params = {k: v for k, v in (("status", status), ("limit", limit), ("cursor", cursor))
                  if v is not None}
        return (await self._request("GET", "/v1/jobs", params=params)).json()

    async def create_job(self, model_id: str, payload: Mapping[str, Any] | bytes,
                         idempotency_key: str) -> dict[str, Any]:
        """POST a job. `payload` may be the exact bytes to send (see `job_body`); every retry
        sends those bytes again with the same key, so the server makes one job at most."""
        if not idempotency_key:
            raise ValueError("a job POST needs an idempotency key")
        body = payload if isinstance(payload, bytes) else job_body(payload)
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
        r = await self._request("POST", f"/v1/jobs/{quote(model_id, safe='')}",
                                body=lambda: body, headers=headers)
        return r.json()

    async def cancel_job(self, job_id: str) -> dict[str, Any]:
        r = await self._request("POST", f"/v1/jobs/{quote(job_id, safe='')}/cancel")
        return r.json()

    # ---- uploads ------------------------------------------------------------------------

    async def upload(self, path: str | os.PathLike[str], *, rule: MediaRule | None = None,
                     label: str = "The file") -> str:
        """Stream one local file to `/v1/uploads`; returns its URL.

        The file is checked first (size against `rule`, type from its bytes): a file over a
        limit raises `ValidationFailed` before any connection is opened.
        """
        p = Path(path)
        size, fmt = await asyncio.to_thread(check_local_file, p, rule, label)
        boundary = uuid.uuid4().hex
        name = p.name.replace('"', "%22").replace("\r", " ").replace("\n", " ")
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: {MIME.get(fmt, 'application/octet-stream')}"
                "\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
                   "Content-Length": str(len(head) + size + len(tail))}

        def body() -> AsyncIterator[bytes]:
            return _multipart(p, size, head, tail)

        r = await self._request("POST", "/v1/uploads", body=body, headers=headers)
        return str(r.json()["url"])

    # ---- downloads ----------------------------------------------------------------------

    async def download(self, url: str, dest: str | os.PathLike[str], *,
                       expected_size: int | None = None, overwrite: bool = False,
                       part_path: str | os.PathLike[str] | None = None,
                       progress: Callable[[int, int | None], None] | None = None) -> Path:
        """Stream `url` to a temporary file beside `dest`, resuming with `Range` after a
        dropped connection; only a complete file is moved into place. Returns the final path
        (`dest`, or `dest` with a -2, -3… suffix when `dest` exists and not `overwrite`)."""
        dest = Path(dest)
        part = Path(part_path) if part_path else dest.with_name(f".{dest.name}.part")
        try:
            await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
            total = await self._fetch_to(url, part, expected_size, progress)
            size = await asyncio.to_thread(_size, part)
            if total is not None and size != total:
                raise DownloadError(f"The download of {dest.name} is incomplete "
                                    f"({size:,} of {total:,} bytes)")
            return await asyncio.to_thread(place_file, part, dest, overwrite)
        except OSError as e:  # a full disk, a name too long, no permission: nothing partial
            await asyncio.to_thread(_remove_quietly, part)
            code = "disk_full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else "local_file"
            raise LocalFileError(f"The result could not be written to {dest.parent}: "
                                 f"{e.strerror or e}. Free some space or choose another work "
                                 "folder; the take stays downloadable.", code=code) from None

    def file_url(self, url: str) -> str:
        """A result URL rebuilt on the current base URL from its file name (`/v1/files/<name>`):
        for results whose server has moved since."""
        name = httpx.URL(url).path.rstrip("/").rpartition("/")[2]
        return f"{self.base_url}/v1/files/{quote(name, safe='')}"

    async def _fetch_to(self, url: str, part: Path, total: int | None,
                        progress: Callable[[int, int | None], None] | None) -> int | None:
        started = time.monotonic()
        failures = 0
        while True:
            have = await asyncio.to_thread(_size, part)
            if total is not None and 0 < total <= have:
                return total
            try:
                done, total = await self._fetch_once(url, part, have, total, progress)
            except (httpx.TransportError, _Retryable) as e:
                failures += 1
                retry_after = e.retry_after if isinstance(e, _Retryable) else None
                wait = self.policy.delay(failures, retry_after)
                if failures > self.policy.max_retries or \
                        time.monotonic() - started + wait > self.policy.deadline_s:
                    raise DownloadError(f"The download stopped and could not be resumed after "
                                        f"{failures} attempts ({_why(e)})",
                                        attempts=failures) from None
                log.info("download interrupted (%s); resuming in %.1f s", _why(e), wait)
                await self._sleep(wait)
                continue
            if done:
                return total

    async def _fetch_once(self, url: str, part: Path, have: int, total: int | None,
                          progress: Callable[[int, int | None], None] | None
                          ) -> tuple[bool, int | None]:
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        attempt = self._begin("GET", url)
        try:
            return await self._stream_into(url, headers, attempt, part, have, total, progress)
        except (httpx.TransportError, _Retryable) as e:
            attempt.error = type(e).__name__
            if isinstance(e, httpx.TransportError):
                self._reached(False)
            raise

    async def _stream_into(self, url: str, headers: dict[str, str], attempt: Attempt,
                           part: Path, have: int, total: int | None,
                           progress: Callable[[int, int | None], None] | None
                           ) -> tuple[bool, int | None]:
        async with self._http.stream("GET", url, headers=headers) as r:
            attempt.status = r.status_code
            self._reached(True)
            if r.status_code == 416 and have:
                await asyncio.to_thread(_truncate, part)  # our partial file is not theirs
                raise _Retryable("the partial file did not match; starting over", 0)
            if r.status_code not in (200, 206):
                await r.aread()
                err = self._error(r)
                if r.status_code in RETRY_STATUSES:
                    raise _Retryable(str(err), err.retry_after)
                raise err
            offset, total = _range_of(r, have, total)
            out = _BlockFile(await _opened(part, offset))
            block = bytearray()
            pending: asyncio.Future[None] | None = None
            try:
                written = offset
                # the transport's chunks (64 KiB) gathered into blocks of WRITE_BLOCK, each
                # written by a worker thread while the next block arrives (one in flight);
                # a cut writes what arrived before it (finally)
                async for chunk in r.aiter_raw():
                    block += chunk
                    written += len(chunk)
                    if len(block) >= WRITE_BLOCK:
                        if pending is not None:
                            await pending  # the block before: written, or its error raised
                        pending = out.write(bytes(block))
                        block.clear()
                    if progress:
                        progress(written, total)
                if pending is not None:
                    await pending
            finally:
                # waits (in its thread) for a write still in flight; the rest only follows
                # blocks that were all written
                try:
                    await asyncio.to_thread(out.close, bytes(block))
                except RuntimeError:  # the loop's pool is shut down: close it here
                    out.close(bytes(block))
        return True, total

    # ---- the retry loop -----------------------------------------------------------------

    def _begin(self, method: str, url: str) -> Attempt:
        path = url[len(self.base_url):] if url.startswith(self.base_url) else url
        a = Attempt(method, path.split("?")[0], time.monotonic())
        self.trace.append(a)
        return a

    async def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                       body: Callable[[], bytes | AsyncIterator[bytes]] | None = None,
                       headers: Mapping[str, str] | None = None,
                       retry: RetryMode = "always",
                       http_timeout: httpx.Timeout | None = None) -> httpx.Response:
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            attempt = self._begin(method, path)
            content = body() if body else None
            if isinstance(content, bytes):
                attempt.body_sha = hashlib.sha256(content).hexdigest()[:16]
                attempt.idempotency_key = (headers or {}).get("Idempotency-Key")
            try:
                r = await self._http.request(
                    method, path, params=params, content=content, headers=headers,
                    timeout=http_timeout if http_timeout is not None else httpx.USE_CLIENT_DEFAULT)
            except httpx.TransportError as e:
                attempt.error = type(e).__name__
                self._reached(False)
                err: ApiError = self._network_error(e, method, path)
                retry_after = None
            else:
                attempt.status = r.status_code
                self._reached(True)
                log.debug("%s %s -> %s (attempt %d)", method, path, r.status_code, attempts)
                if r.status_code < 400:
                    self.wait_max = _wait_max(r)
                    return r
                err = self._error(r)
                if r.status_code not in RETRY_STATUSES:
                    raise err
                retry_after = err.retry_after
            wait = self.policy.delay(attempts, retry_after)
            elapsed = time.monotonic() - started
            if retry == "never" or attempts > self.policy.max_retries or \
                    elapsed + wait > self.policy.deadline_s:
                err.attempts = attempts
                err.message = err.args[0] + _gave_up(attempts, elapsed)
                err.args = (err.message,)
                raise err
            log.info("%s %s failed (%s); retry %d in %.1f s", method, path, err.code,
                     attempts, wait)
            await self._sleep(wait)

    def _network_error(self, e: httpx.TransportError, method: str, path: str) -> NetworkError:
        where = httpx.URL(self.base_url).netloc.decode()
        if isinstance(e, httpx.ConnectError | httpx.ConnectTimeout):
            msg = f"Cannot reach the API at {where} ({_why(e)})"
        elif isinstance(e, httpx.TimeoutException):
            msg = f"The API at {where} did not answer in time ({method} {path}: {_why(e)})"
        else:
            msg = f"The connection to {where} broke ({method} {path}: {_why(e)})"
        return NetworkError(self._auth.scrub(msg))

    def _error(self, r: httpx.Response) -> ApiError:
        """A typed error from an error response (JSON `{"error": {...}}` or anything else)."""
        code, message, fields = _error_body(r)
        message = self._auth.scrub(message)
        retry_after = parse_retry_after(r.headers.get("Retry-After"))
        s = r.status_code
        kw: dict[str, Any] = {"status": s, "code": code, "retry_after": retry_after}
        if s in (401, 403):
            return AuthError(f"The API key was not accepted (HTTP {s}). Check the key in the "
                             "profile settings.", **kw)
        if s == 402:
            return OutOfCredits(f"Not enough credits: {message}", **kw)
        if s == 404:
            return NotFound(f"Not found: {message}", **kw)
        if s == 409:
            return Conflict(f"Conflict: {message}", **kw)
        if s in (400, 413, 415, 422):
            fields = [{"field": f.get("field", ""), "message": self._auth.scrub(
                str(f.get("message", "")))} for f in fields]
            text = fields_text(fields) if fields else message
            return ValidationFailed(f"The API rejected the input: {text}", fields, **kw)
        if s == 429:
            return RateLimited(f"Too many requests: the API asked to slow down ({message})",
                               **kw)
        if s >= 500:
            what = "unavailable" if s == 503 else "failing"
            return ServerError(f"The API is {what} (HTTP {s}: {message})", **kw)
        return ApiError(f"Unexpected answer from the API (HTTP {s}: {message})", **kw)


def _wait_max(r: httpx.Response) -> float | None:
    """The server's `Job-Wait-Max` (seconds it holds a `?wait=` job read), capped; None when
    it does not say or says nonsense."""
    try:
        value = float(r.headers.get(WAIT_HEADER, ""))
    except ValueError:
        return None
    if not value > 0 or value != value:  # NaN, 0, negative
        return None
    return min(value, WAIT_CAP_S)


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _gave_up(attempts: int, elapsed: float) -> str:
    if attempts <= 1:
        return ""
    return f" — gave up after {attempts} attempts in {elapsed:.1f} s"


def _why(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _error_body(r: httpx.Response) -> tuple[str | None, str, list[dict[str, Any]]]:
    try:
        data = r.json()
    except (ValueError, UnicodeDecodeError):
        data = None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        fields = [f for f in err.get("fields") or [] if isinstance(f, dict)]
        return err.get("code"), str(err.get("message") or r.reason_phrase), fields
    if isinstance(data, dict) and isinstance(data.get("detail"), list):  # FastAPI's default
        fields = [{"field": ".".join(str(x) for x in d.get("loc", [])[1:]),
                   "message": d.get("msg", "")} for d in data["detail"] if isinstance(d, dict)]
        return None, r.reason_phrase, fields
    return None, r.reason_phrase or f"HTTP {r.status_code}", []


def _range_of(r: httpx.Response, have: int, total: int | None) -> tuple[int, int | None]:
    """(offset to write at, total size) for a 200 or 206 answer."""
    if r.status_code == 206:
        cr = r.headers.get("Content-Range", "")
        try:
            span, _, size = cr.split(" ", 1)[1].partition("/")
            start = int(span.split("-")[0])
        except (IndexError, ValueError):
            raise _Retryable(f"bad Content-Range {cr!r}", None) from None
        if start != have:
            raise _Retryable(f"server resumed at {start}, expected {have}", None)
        return have, int(size) if size.isdigit() else total
    length = r.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() else total


# ---- blocking file helpers (run in a thread) --------------------------------------------


def check_local_file(path: Path, rule: MediaRule | None, label: str) -> tuple[int, str]:
    """(size, format) of a local file that may be uploaded; raises ValidationFailed."""
    from app.media.probe import sniff

    def fail(msg: str) -> ValidationFailed:
        return ValidationFailed(msg, [{"field": label, "message": msg}], code="local_check")

    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as e:
        raise fail(f"{label} cannot be read: {e.strerror or e}") from None
    found = sniff(head)
    if found is None:
        raise fail(f"{label} ({path.name}) is not an image, video or audio file")
    kind, fmt = found
    if rule is not None:
        if rule.kind != kind and not (rule.kind == "image" and fmt == "gif"):
            raise fail(f"{label} is a {kind} file; this field takes {rule.kind}s")
        if rule.formats and fmt not in rule.formats:
            raise fail(f"{label} is {FORMAT_LABELS.get(fmt, fmt)}; this model takes "
                       f"{rule.formats_text()}")
        if rule.max_mb is not None and size > rule.max_mb * MB:
            raise fail(f"{label} is {fmt_mb(size)}; this model takes at most "
                       f"{fmt_num(rule.max_mb)} MB per {rule.kind}")
    return size, fmt


async def _multipart(path: Path, size: int, head: bytes, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    fh = await asyncio.to_thread(open, path, "rb")
    try:
        left = size
        while left > 0:
            chunk = await asyncio.to_thread(fh.read, min(CHUNK, left))
            if not chunk:
                raise ApiError(f"{path.name} changed while it was being uploaded")
            left -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(fh.close)
    yield tail


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def _remove_quietly(p: Path) -> None:
    with contextlib.suppress(OSError):
        p.unlink()


def _truncate(p: Path) -> None:
    p.unlink(missing_ok=True)


async def _opened(p: Path, offset: int) -> Any:
    """`_open_at` on a worker thread; a file opened for a caller cancelled meanwhile is
    closed, not left to the collector."""
    task = asyncio.ensure_future(asyncio.to_thread(_open_at, p, offset))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_close_result)
        raise


def _close_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().close()


def _open_at(p: Path, offset: int) -> Any:
    fh = open(p, "r+b" if offset and p.exists() else "wb")  # noqa: SIM115
    fh.seek(offset)
    fh.truncate()
    return fh


class _BlockFile:
    """A partial download written by worker threads, block after block (the caller keeps one
    write in flight); `close` waits for it, then writes the rest, fsyncs and closes. After a
    failed write nothing more is written (the caller sees the error and drops the file)."""

    #: hint the kernel to start writing back every this many bytes (the final fsync is short)
    KICK = 16 << 20

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self._cv = threading.Condition()
        self._in_flight = 0
        self._failed = False
        self._unkicked = 0

    def write(self, data: bytes) -> asyncio.Future[None]:
        with self._cv:
            self._in_flight += 1
        fut = asyncio.ensure_future(asyncio.to_thread(self._write, data))
        fut.add_done_callback(_retrieved)  # an error nobody awaited (a cut came first)
        return fut

    def _write(self, data: bytes) -> None:
        try:
            if self._failed:
                raise OSError(errno.EIO, "an earlier block of this file was not written")
            self.fh.write(data)
            self._unkicked += len(data)
            if self._unkicked >= self.KICK:
                self._unkicked = 0
                _start_writeback(self.fh)
        except BaseException:
            self._failed = True
            raise
        finally:
            with self._cv:
                self._in_flight -= 1
                self._cv.notify_all()

    def close(self, rest: bytes) -> None:
        with self._cv:
            self._cv.wait_for(lambda: self._in_flight == 0)
        if self._failed:  # a block is missing or half written: nothing here can be resumed
            fd = os.dup(self.fh.fileno())
            try:
                with contextlib.suppress(OSError):
                    self.fh.close()  # may try to flush the failed bytes again
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)
            return
        _close_synced(self.fh, rest)


def _retrieved(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled():
        fut.exception()


def _start_writeback(fh: Any) -> None:
    """Ask the kernel to begin writing the file's dirty pages now, without waiting (Linux:
    `sync_file_range` is not in Python; `fdatasync` would block): the fsync at the end then
    has little left to do."""
    fh.flush()
    with contextlib.suppress(AttributeError, OSError):
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def _close_synced(fh: Any, rest: bytes = b"") -> None:
    """Write the last bytes received (`rest`), then flush, fsync and close."""
    try:
        if rest:
            fh.write(rest)
        fh.flush()
        os.fsync(fh.fileno())
    finally:
        fh.close()


#: bytes per file name on the usual file systems (ext4, APFS, NTFS: 255)
NAME_MAX = 255


def free_path(dest: Path) -> Path:
    """`dest`, or `name-2.ext`, `name-3.ext`… the first that does not exist (the name cut
    short where the suffix would make it longer than `NAME_MAX` bytes)."""
    if not dest.exists():
        return dest
    n = 2
    while True:
        candidate = dest.with_name(_numbered(dest.stem, n, dest.suffix))
        if not candidate.exists():
            return candidate
        n += 1


def _numbered(stem: str, n: int, suffix: str) -> str:
    tail = f"-{n}{suffix}"
    room = NAME_MAX - len(os.fsencode(tail))
    while len(os.fsencode(stem)) > room:  # whole characters off the end
        stem = stem[:-1]
    return stem + tail


def place_file(part: Path, dest: Path, overwrite: bool = False) -> Path:
    """Move a complete temporary file into place without ever overwriting (unless asked)."""
    if overwrite:
        os.replace(part, dest)
        return dest
    while True:
        final = free_path(dest)
        try:
            os.link(part, final)  # atomic and fails if `final` appeared meanwhile
        except FileExistsError:
            continue
        except OSError:
            if final.exists():
                continue
            os.replace(part, final)  # a filesystem without hard links
            return final
        part.unlink()
        return final
