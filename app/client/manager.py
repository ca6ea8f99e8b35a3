"""The job manager: submit, follow, download, cancel and retry takes. Plain asyncio, no Qt.

Every job moves through one path: validate → store the row (idempotency key minted) → upload
local media → store the exact body → POST (resent byte for byte with the same key) → poll
with backoff under one shared rate limit → download once into the work folder. After a crash
or a restart `start()` picks each unfinished row up at the step where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.catalog import MediaInfo, ProbeError, UnknownModel, estimate, get_model, validate_payload
from app.catalog.media import is_remote, local_path
from app.catalog.models import FORMAT_TO_ASPECT
from app.catalog.validate import media_values
from app.client.api import ApiClient, free_path, job_body
from app.client.errors import (
    ApiError,
    AuthError,
    Conflict,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationFailed,
)
from app.client.store import TERMINAL, DuplicateKey, JobRecord, JobStore

log = logging.getLogger(__name__)

Listener = Callable[[JobRecord], None]
TRANSIENT = (NetworkError, ServerError, RateLimited)


@dataclass(frozen=True)
class PollPolicy:
    """Polling intervals: `initial` growing by `factor` to `maximum` (or the server's hint),
    and `min_gap` between any two status requests of all jobs together."""

    initial: float = 2.0
    factor: float = 1.5
    maximum: float = 15.0
    min_gap: float = 0.25
    hint_cap: float = 60.0
    error_max: float = 60.0
    resubmit_every: float = 30.0

    def next(self, interval: float, hint: float | None = None) -> float:
        if hint is not None:
            return min(max(hint, self.min_gap), self.hint_cap)
        return min(self.maximum, interval * self.factor)

    def requests_for(self, seconds: float) -> int:
        """How many status requests following a job of that length costs (at most)."""
        t, n, interval = 0.0, 0, self.initial
        while t < seconds:
            t += interval
            n += 1
            interval = self.next(interval)
        return n


class RateLimiter:
    """At most one acquisition per `min_gap` seconds, shared by every caller."""

    def __init__(self, min_gap: float) -> None:
        self.min_gap = min_gap
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            wait = self._next - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = time.monotonic() + self.min_gap  # from when it really went


class JobManager:
    """Owns the background work of every take; the GUI subscribes to its updates."""

    def __init__(self, client: ApiClient, store: JobStore, download_dir: Path,
                 poll: PollPolicy | None = None,
                 probe: Callable[[str], MediaInfo] | None = None) -> None:
        self.client = client
        self.store = store
        self.download_dir = Path(download_dir)
        self.poll = poll or PollPolicy()
        self._probe = probe
        self._limiter = RateLimiter(self.poll.min_gap)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._listeners: list[Listener] = []
        self._queues: set[asyncio.Queue[JobRecord | None]] = set()
        self._waiters: dict[str, list[asyncio.Future[JobRecord]]] = {}
        self._cancel_wanted: set[str] = set()
        self._sending: set[str] = set()
        self._intents: dict[str, asyncio.Future[JobRecord]] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"JobManager({self.client!r}, {self.store!r})"

    # ---- public API ---------------------------------------------------------------------

    async def start(self) -> list[JobRecord]:
        """Resume every unfinished take (poll it, download it once). Returns them."""
        pending = self.store.unfinished()
        for rec in pending:
            self._spawn(rec.id, self._resume(rec))
        return pending

    @property
    def online(self) -> bool:
        """False since a request failed with a network error, True again on the next answer."""
        return self.client.online

    def subscribe_online(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Call `callback(online)` on every change; returns the function that unsubscribes."""
        return self.client.subscribe_online(callback)

    async def submit(self, model_id: str, payload: dict[str, Any], *,
                     parent_id: str | None = None,
                     idempotency_key: str | None = None) -> JobRecord:
        """Validate, store, upload and POST one take; returns it once the API confirmed it.

        One `idempotency_key` is one intent (it is the `Idempotency-Key` sent): when a take
        with that key is stored already, that take is returned (re-sent or followed as
        needed) and no second job is made; a concurrent call with the same key awaits the
        first. The same key with other parameters raises `Conflict`.

        Raises `ValidationFailed` (nothing stored) for an invalid payload; other `ApiError`s
        after the row is stored: definitive ones mark it failed, transient ones leave it
        'pending' to be re-sent (same key, same bytes) by `resume` or the next `start()`.
        """
        if idempotency_key is None:
            return await self._submit_intent(model_id, payload, parent_id, None)
        _check_key(idempotency_key)
        running = self._intents.get(idempotency_key)
        if running is None:
            running = asyncio.ensure_future(
                self._submit_intent(model_id, payload, parent_id, idempotency_key))
            self._intents[idempotency_key] = running
            running.add_done_callback(lambda f: self._intent_done(idempotency_key, f))
        return await asyncio.shield(running)

    async def retry(self, job_id: str, *, idempotency_key: str | None = None) -> JobRecord:
        """A new take with the same parameters (a new idempotency key unless one is given
        for this intent, `parent_id` set)."""
        old = self._get(job_id)
        return await self.submit(old.model_id, old.payload, parent_id=old.id,
                                 idempotency_key=idempotency_key)

    async def resume(self, job_id: str) -> None:
        """Follow one unfinished take again (e.g. after a transient failure)."""
        rec = self._get(job_id)
        self._spawn(rec.id, self._resume(rec))

    async def cancel(self, job_id: str) -> JobRecord:
        rec = self._get(job_id)
        if rec.finished:
            return rec
        if rec.remote_id is None:
            self._cancel_wanted.add(rec.id)
            if rec.id in self._tasks or rec.id in self._sending:
                # a POST may be in flight: it is canceled as soon as the API confirms it
                return rec
            return self._update(rec, status="canceled", finished_at=time.time())
        try:
            job = await self.client.cancel_job(rec.remote_id)
        except Conflict:
            job = await self.client.get_job(rec.remote_id)  # it finished meanwhile
        return self._apply(rec, job)

    async def wait(self, job_id: str) -> JobRecord:
        """The take once settled: finished and, when it succeeded, downloaded (or failed to)."""
        rec = self._get(job_id)
        if self._settled(rec) and job_id not in self._tasks:
            return rec
        fut: asyncio.Future[JobRecord] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(job_id, []).append(fut)
        if job_id not in self._tasks:
            self._resolve(job_id, rec)
        return await fut

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call `callback(record)` on every change; returns the function that unsubscribes."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return unsubscribe

    async def updates(self) -> AsyncIterator[JobRecord]:
        """Every change as an async stream (ends when the manager closes)."""
        q: asyncio.Queue[JobRecord | None] = asyncio.Queue()
        self._queues.add(q)
        try:
            while (rec := await q.get()) is not None:
                yield rec
        finally:
            self._queues.discard(q)

    async def close(self) -> None:
        """Stop following jobs (they stay resumable). Does not close the client or store."""
        self._closed = True
        tasks = [*self._tasks.values(), *self._intents.values()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for q in self._queues:
            q.put_nowait(None)
        for futs in self._waiters.values():
            for f in futs:
                if not f.done():
                    f.cancel()
        self._waiters.clear()

    # ---- one intent, one take ----------------------------------------------------------

    async def _submit_intent(self, model_id: str, payload: dict[str, Any],
                             parent_id: str | None, key: str | None) -> JobRecord:
        payload = copy.deepcopy(payload)
        if key is not None and (known := self.store.by_idempotency_key(key)) is not None:
            return await self._same_intent(known, model_id, payload)
        probes = await self._validate(model_id, payload)
        est = estimate(model_id, payload, probes)
        rec = JobRecord.new(model_id, payload, credits_estimated=est.max, parent_id=parent_id,
                            idempotency_key=key)
        try:
            self.store.add(rec)
        except DuplicateKey:  # another process stored this intent meanwhile
            return await self._same_intent(self._by_key(rec.idempotency_key), model_id,
                                           payload)
        self._emit(rec)
        rec = await self._send(rec)
        self._spawn(rec.id, self._follow(rec))
        return rec

    async def _same_intent(self, rec: JobRecord, model_id: str,
                           payload: dict[str, Any]) -> JobRecord:
        """The stored take of a repeated intent, sent and followed as it needs."""
        if rec.model_id != model_id or job_body(rec.payload) != job_body(payload):
            raise Conflict(f"The idempotency key {rec.idempotency_key!r} was already used for "
                           f"take {rec.id} with other parameters: use a new key for a new "
                           "take", code="idempotency_conflict")
        if rec.status == "pending" and rec.id not in self._tasks and not rec.deleted:
            rec = await self._send(rec)
        if not rec.deleted:
            self._spawn(rec.id, self._resume(rec))
        return rec

    def _intent_done(self, key: str, fut: asyncio.Future[JobRecord]) -> None:
        self._intents.pop(key, None)
        if not fut.cancelled():
            fut.exception()  # seen by every awaiter; retrieved here if they all went away

    def _by_key(self, key: str) -> JobRecord:
        rec = self.store.by_idempotency_key(key)
        if rec is None:
            raise KeyError(f"no take with idempotency key {key!r}")
        return rec

    # ---- validation and the wire payload ------------------------------------------------

    async def _validate(self, model_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            get_model(model_id)
        except UnknownModel as e:
            raise ValidationFailed(str(e), [{"field": "", "message": str(e)}],
                                   code="unknown_model") from None
        probes = await asyncio.to_thread(self._probe_all, model_id, payload)
        report = validate_payload(model_id, payload, probes)
        if not report.valid:
            fields = [i.to_dict() for i in report.errors]
            text = "; ".join(f"{f['field'] or 'payload'}: {f['message']}" for f in fields[:4])
            raise ValidationFailed(f"The payload is not valid: {text}", fields,
                                   code="invalid_payload")
        return probes

    def _probe_all(self, model_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        probe = self._probe
        if probe is None:
            from app.media.probe import probe as default_probe

            probe = default_probe
        out: dict[str, Any] = {}
        for slot in media_values(model_id, payload):
            if is_remote(slot.value) or slot.value in out:
                continue
            try:
                out[slot.value] = probe(local_path(slot.value))
            except ProbeError as e:
                out[slot.value] = e
        return out

    async def _wire_payload(self, rec: JobRecord) -> dict[str, Any]:
        """The body sent: local media uploaded and replaced by URLs; wrapper params settled."""
        spec = get_model(rec.model_id)
        wire = copy.deepcopy(rec.payload)
        if not spec.has_format:
            wire.pop("format", None)
        elif "aspect_ratio" in spec.input_model.model_fields and "aspect_ratio" not in wire:
            # the wrapper would silently apply 9:16 to an omitted aspect_ratio
            fmt = wire.get("format")
            wire["aspect_ratio"] = FORMAT_TO_ASPECT.get(fmt) if fmt else \
                spec.input_model.model_fields["aspect_ratio"].default
        uploaded: dict[str, str] = {}
        for slot in media_values(rec.model_id, wire):
            if is_remote(slot.value):
                continue
            if slot.value not in uploaded:
                uploaded[slot.value] = await self.client.upload(
                    local_path(slot.value), rule=slot.rule, label=slot.label)
            set_path(wire, slot.path, uploaded[slot.value])
        return wire

    # ---- the steps of a job -------------------------------------------------------------

    async def _send(self, rec: JobRecord) -> JobRecord:
        """Upload (once) and POST (same key, same bytes, as often as needed)."""
        body, _ = self.store.wire(rec.id)
        self._sending.add(rec.id)
        try:
            if body is None:
                body = job_body(await self._wire_payload(rec))
                self.store.set_wire(rec.id, body=body)  # committed before the POST is sent
            job = await self.client.create_job(rec.model_id, body, rec.idempotency_key)
        except TRANSIENT as e:
            self._update(rec, error_code=e.code,
                         error_message=f"Not confirmed by the API yet: {e}")
            raise
        except ApiError as e:
            self._update(rec, status="failed", error_code=e.code, error_message=str(e),
                         finished_at=time.time())
            raise
        finally:
            self._sending.discard(rec.id)
        rec = self._apply(rec, job, submitted_at=time.time(), error_code=None,
                          error_message=None)
        if rec.id in self._cancel_wanted and not rec.finished:
            rec = await self.cancel(rec.id)
        return rec

    async def _resume(self, rec: JobRecord) -> None:
        if rec.status == "pending":
            rec = await self._resend_until_confirmed(rec)
            if rec.status == "pending" or (rec.finished and rec.status != "succeeded"):
                return
        await self._follow(rec)

    async def _resend_until_confirmed(self, rec: JobRecord) -> JobRecord:
        while True:
            try:
                return await self._send(rec)
            except TRANSIENT as e:
                log.info("job %s not confirmed (%s); trying again later", rec.id, e.code)
                await asyncio.sleep(self.poll.resubmit_every)
                rec = self._get(rec.id)
            except ApiError:
                return self._get(rec.id)

    async def _follow(self, rec: JobRecord) -> None:
        interval = self.poll.initial
        while not rec.finished:
            await asyncio.sleep(interval)
            await self._limiter.acquire()
            try:
                job, hint = await self.client.get_job_with_hint(rec.remote_id or "")
            except NotFound:
                self._update(rec, status="failed", error_code="not_found",
                             error_message="The API no longer knows this job",
                             finished_at=time.time())
                return
            except AuthError as e:
                self._update(rec, error_code=e.code, error_message=str(e))
                return  # cannot poll without a key; resumes on the next start
            except ApiError as e:
                log.info("polling job %s failed (%s); backing off", rec.id, e.code)
                interval = min(self.poll.error_max, interval * 2)
                continue
            rec = self._apply(rec, job)
            interval = self.poll.next(interval, hint)
        if rec.status == "succeeded":
            await self._download(rec)

    async def _download(self, rec: JobRecord) -> JobRecord:
        """Fetch the result into the work folder once; `result_path` is recorded after."""
        url = (rec.result or {}).get("url")
        if not url or rec.result_path:
            return rec
        expected = (rec.result or {}).get("size_bytes")
        dest = self._dest(rec)
        part = dest.with_name(f".{dest.name}.{rec.id[:8]}.part")
        _, chosen = self.store.wire(rec.id)
        if chosen and _complete(Path(chosen), expected) and not part.exists():
            return self._update(rec, result_path=chosen, error_code=None, error_message=None)
        if not chosen:
            self.store.set_wire(rec.id, final_path=str(free_path(dest)))
        try:
            path = await self.client.download(url, dest, expected_size=expected, part_path=part)
        except ApiError as e:
            return self._update(rec, error_code="download_failed",
                                error_message=f"The result could not be downloaded: {e}")
        self.store.set_wire(rec.id, final_path=str(path))
        return self._update(rec, result_path=str(path), error_code=None, error_message=None)

    def _dest(self, rec: JobRecord) -> Path:
        out = str(rec.payload.get("out") or f"{rec.id}.mp4")
        root = self.download_dir.resolve()
        dest = (root / out).resolve()
        if root != dest and root not in dest.parents:  # validation forbids it; belt and braces
            dest = root / Path(out).name
        return dest

    # ---- records and notifications ------------------------------------------------------

    def _apply(self, rec: JobRecord, job: dict[str, Any], **extra: Any) -> JobRecord:
        """Copy what the API says about a job into its record (only what changed)."""
        changes: dict[str, Any] = dict(extra)
        status = job.get("status")
        if isinstance(status, str) and status != rec.status:
            changes["status"] = status
        if job.get("id") and job["id"] != rec.remote_id:
            changes["remote_id"] = str(job["id"])
        progress = job.get("progress")
        if isinstance(progress, int | float) and float(progress) != rec.progress:
            changes["progress"] = float(progress)
        if "credits_charged" in job and job["credits_charged"] != rec.credits_charged:
            changes["credits_charged"] = job["credits_charged"]
        for key in ("started_at", "finished_at"):
            ts = _timestamp(job.get(key))
            if ts is not None and getattr(rec, key) is None:
                changes[key] = ts
        if status in TERMINAL and rec.finished_at is None and "finished_at" not in changes:
            changes["finished_at"] = time.time()
        if job.get("result") and job["result"] != rec.result:
            changes["result"] = job["result"]
        err = job.get("error")
        if isinstance(err, dict) and err:  # the API's word beats a local note
            changes["error_code"] = err.get("code")
            changes["error_message"] = err.get("message")
        changes = {k: v for k, v in changes.items() if getattr(rec, k) != v}
        return self._update(rec, **changes) if changes else rec

    def _update(self, rec: JobRecord, **changes: Any) -> JobRecord:
        rec = self.store.update(rec.id, **changes)
        self._emit(rec)
        return rec

    def _emit(self, rec: JobRecord) -> None:
        for listener in list(self._listeners):
            try:
                listener(rec)
            except Exception:
                log.exception("a job listener failed")
        for q in self._queues:
            q.put_nowait(rec)
        if self._settled(rec):
            self._resolve(rec.id, rec)

    @staticmethod
    def _settled(rec: JobRecord) -> bool:
        if not rec.finished:
            return False
        return rec.status != "succeeded" or rec.result_path is not None or \
            rec.error_code == "download_failed" or not (rec.result or {}).get("url")

    def _resolve(self, job_id: str, rec: JobRecord) -> None:
        for f in self._waiters.pop(job_id, []):
            if not f.done():
                f.set_result(rec)

    def _get(self, job_id: str) -> JobRecord:
        rec = self.store.get(job_id)
        if rec is None:
            raise KeyError(f"no take {job_id!r}")
        return rec

    def _spawn(self, job_id: str, coro: Coroutine[Any, Any, None]) -> None:
        if self._closed:
            coro.close()
            return
        old = self._tasks.get(job_id)
        if old is not None and not old.done():
            coro.close()  # one task per take: a take is never followed or downloaded twice
            return
        task = asyncio.get_running_loop().create_task(coro, name=f"take-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda t: self._task_done(job_id, t))

    def _task_done(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("following take %s failed", job_id, exc_info=task.exception())
        rec = self.store.get(job_id) if not self._closed else None
        if rec is not None:
            self._resolve(job_id, rec)


def _check_key(key: str) -> None:
    """An idempotency key travels in an HTTP header: 1–255 visible ASCII characters."""
    if not isinstance(key, str) or not 1 <= len(key) <= 255 or \
            not all("!" <= c <= "~" for c in key):
        msg = "An idempotency key must be 1–255 visible ASCII characters (no spaces)"
        raise ValidationFailed(msg, [{"field": "idempotency_key", "message": msg}],
                               code="invalid_idempotency_key")


def set_path(data: Any, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        data = data[int(part)] if isinstance(data, list) else data[part]
    last = parts[-1]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


def _timestamp(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _complete(path: Path, expected: int | None) -> bool:
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return expected is None or size == expected
