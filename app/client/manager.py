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
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.catalog import MediaInfo, ProbeError, UnknownModel, get_model
from app.catalog.fields import set_path
from app.catalog.media import fmt_mb, is_remote, local_path
from app.catalog.models import FORMAT_TO_ASPECT
from app.catalog.status import SENDING, TERMINAL, UNKNOWN
from app.catalog.status import timestamp as _timestamp
from app.client.api import free_path, job_body
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
)
from app.client.guard import Refused
from app.client.models import CURATED, ModelSet
from app.client.profiles import SANDBOX_NAME
from app.client.provider import Provider, idempotent
from app.client.store import DuplicateKey, JobRecord, JobStore

log = logging.getLogger(__name__)

Listener = Callable[[JobRecord], None]
TRANSIENT = (NetworkError, ServerError, RateLimited)
#: how long a claim on a take outlives its holder's last heartbeat (renewed every third)
LEASE_S = 30.0
#: a held read answered after this long is not spaced again by the shared rate limit
HELD_S = 1.0


@dataclass(frozen=True)
class PollPolicy:
    """Following a job: `initial` growing by `factor` to `maximum` (or the server's hint),
    and `min_gap` between any two status requests of all jobs together.

    A server that advertises `Job-Wait-Max` is asked to hold each read (`wait` seconds at
    most, capped by what it advertises): the end is seen as soon as the server knows it.
    Without it the poll is ETA-aware: once the job's progress gives an estimate of its end,
    the next poll lands on that estimate, and polls come every `near` seconds once it is
    that close or past. Either way each job spends at most `burst` requests plus one per
    `maximum / 2` seconds on average (`PollBudget`): 30 + 120 = 150 for a 15-minute job at
    the defaults, whatever the server does."""

    initial: float = 2.0
    factor: float = 1.5
    maximum: float = 15.0
    min_gap: float = 0.25
    hint_cap: float = 60.0
    error_max: float = 60.0
    resubmit_every: float = 30.0
    #: the longest held read asked (None: never ask, poll as for a server without waits)
    wait: float | None = 30.0
    #: the poll interval once the estimated end is this close (or has passed)
    near: float = 1.0
    #: requests a job may spend at once before the average rate (2 / `maximum`) applies
    burst: int = 30

    def next(self, interval: float, hint: float | None = None) -> float:
        if hint is not None:
            return min(max(hint, self.min_gap), self.hint_cap)
        return min(self.maximum, interval * self.factor)

    def toward(self, interval: float, remaining: float | None) -> float:
        """The delay before the next poll of a server without waits: `interval`, cut short to
        land on the estimated end (`remaining` seconds away, if known), never under `near`."""
        if remaining is None:
            return interval
        near = min(self.near, self.maximum)
        return max(near, min(interval, remaining))

    def wait_for(self, advertised: float | None) -> float | None:
        """The `?wait=` to ask of a server advertising `advertised` seconds (None: poll)."""
        if self.wait is None or advertised is None:
            return None
        return min(self.wait, advertised)

    def budget(self, clock: Callable[[], float] = time.monotonic) -> PollBudget:
        return PollBudget(self.burst, 2.0 / self.maximum if self.maximum > 0 else 1e9, clock)

    def requests_for(self, seconds: float) -> int:
        """How many status requests following a job of that length costs (at most)."""
        t, n, interval = 0.0, 0, self.initial
        while t < seconds:
            t += interval
            n += 1
            interval = self.next(interval)
        return n


class PollBudget:
    """A token bucket of one job's status requests: `burst` at once, then `rate` per second;
    so a job of T seconds costs at most burst + rate·T requests, whatever the server says."""

    def __init__(self, burst: int, rate: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = float(max(1, burst))
        self.rate = rate
        self._clock = clock
        self._tokens = self.burst
        self._at = clock()
        self.spent = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def delay(self) -> float:
        """Seconds until one request may be spent."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def spend(self) -> None:
        self._refill()
        self._tokens -= 1
        self.spent += 1


def eta_remaining(rec: JobRecord, now: float | None = None) -> float | None:
    """Seconds until a running job ends by its progress so far (started_at → now), or None
    when its progress says nothing yet."""
    p = rec.progress
    if rec.status != "running" or not rec.started_at or not 0.01 <= p < 1:
        return None
    elapsed = (time.time() if now is None else now) - rec.started_at
    if elapsed <= 0:
        return None
    return elapsed * (1 - p) / p


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

    def __init__(self, client: Provider, store: JobStore, download_dir: Path,
                 poll: PollPolicy | None = None,
                 probe: Callable[[str], MediaInfo] | None = None, *,
                 profile: str = SANDBOX_NAME, gate: Any = None) -> None:
        self.client = client
        #: the profile this manager's client talks to: its takes are labelled and resumed
        self.profile = profile
        #: the guard-rails (app.client.guard.Gate) every new take passes before it is stored
        self.gate = gate
        #: the models this profile renders: curated plus those its server lists (the studio
        #: sets it after reading GET /v1/models; app.client.models)
        self.models: ModelSet = CURATED
        self._gate_lock = asyncio.Lock()
        self.store = store
        self.download_dir = Path(download_dir)
        #: the project new takes belong to (app.client.projects: its id, "" for none): stored
        #: on the take with it, its result lands in that project's sub-folder of the work folder
        self.project = ""
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
        #: this manager in the store's cross-process claims: host, pid and a nonce
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_s = LEASE_S
        self._heartbeat: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"JobManager({self.client!r}, {self.store!r})"

    # ---- public API ---------------------------------------------------------------------

    async def start(self) -> list[JobRecord]:
        """Resume every unfinished take (poll it, download it once). Returns them."""
        pending = self.store.unfinished(profile=self.profile)
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
                     idempotency_key: str | None = None, confirmed: bool = False) -> JobRecord:
        """Validate, store, upload and POST one take; returns it once the API confirmed it.

        One `idempotency_key` is one intent (it is the `Idempotency-Key` sent): when a take
        with that key is stored already, that take is returned (re-sent or followed as
        needed) and no second job is made; a concurrent call with the same key awaits the
        first. The same key with other parameters raises `Conflict`.

        With a `gate`, a new take passes its guard-rails first (`confirmed`: the user confirmed
        this price): a refusal raises `guard.Refused` with nothing uploaded, sent or stored.

        Raises `ValidationFailed` (nothing stored) for an invalid payload; other `ApiError`s
        after the row is stored: definitive ones mark it failed, transient ones leave it
        'pending' to be re-sent (same key, same bytes) by `resume` or the next `start()`.
        """
        if idempotency_key is None:
            return await self._submit_intent(model_id, payload, parent_id, None, confirmed)
        _check_key(idempotency_key)
        running = self._intents.get(idempotency_key)
        if running is None:
            running = asyncio.ensure_future(
                self._submit_intent(model_id, payload, parent_id, idempotency_key, confirmed))
            self._intents[idempotency_key] = running
            running.add_done_callback(lambda f: self._intent_done(idempotency_key, f))
        return await asyncio.shield(running)

    async def retry(self, job_id: str, *, idempotency_key: str | None = None,
                    confirmed: bool = False) -> JobRecord:
        """A new take with the same parameters (a new idempotency key unless one is given
        for this intent, `parent_id` set), through the same guard-rails."""
        old = self._get(job_id)
        return await self.submit(old.model_id, old.payload, parent_id=old.id,
                                 idempotency_key=idempotency_key, confirmed=confirmed)

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
        if job_id not in self._tasks and job_id not in self._sending:  # being sent: its
            self._resolve(job_id, rec)  # follow (or the send's failure) resolves it
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
        if self._heartbeat is not None:
            tasks.append(self._heartbeat)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.store.release(self.owner)
        for q in self._queues:
            q.put_nowait(None)
        for futs in self._waiters.values():
            for f in futs:
                if not f.done():
                    f.cancel()
        self._waiters.clear()

    # ---- one intent, one take ----------------------------------------------------------

    async def _submit_intent(self, model_id: str, payload: dict[str, Any],
                             parent_id: str | None, key: str | None,
                             confirmed: bool = False) -> JobRecord:
        payload = copy.deepcopy(payload)
        if key is not None and (known := self.store.by_idempotency_key(key)) is not None:
            return await self._same_intent(known, model_id, payload)
        probes = await self._validate(model_id, payload)
        project = self.project
        await asyncio.to_thread(self._check_out, payload, project)
        est = self.models.estimate(model_id, payload, probes)
        rec = JobRecord.new(model_id, payload, credits_estimated=est.max, parent_id=parent_id,
                            idempotency_key=key, credits_estimated_min=est.min,
                            profile=self.profile, project=project)
        known: JobRecord | None = None
        checked = True
        async with self._gate_lock:  # one take at a time past the daily cap and the balance
            if self.gate is not None:  # a refusal: nothing uploaded, sent or stored
                try:
                    await self.gate.enforce(self.client, model_id, payload, est,
                                            confirmed=confirmed)
                except Refused as e:
                    if not e.verdict.offline:
                        raise
                    checked = False  # stored to wait; the balance is checked before sending
            try:
                self.store.add(rec, claim=(self.owner, self.lease_s))
            except DuplicateKey:  # another process stored this intent meanwhile
                known = self._by_key(rec.idempotency_key)
        if known is not None:
            return await self._same_intent(known, model_id, payload)
        self._start_heartbeat()
        self._emit(rec)
        try:
            rec = await self._send(rec, balance_checked=checked)
        except BaseException:
            self.store.release(self.owner, rec.id)  # resumable by anyone now
            with contextlib.suppress(Exception):  # a wait() that began while it was sent
                self._resolve(rec.id, self._get(rec.id))
            raise
        self._spawn(rec.id, self._follow(rec))
        return rec

    async def _same_intent(self, rec: JobRecord, model_id: str,
                           payload: dict[str, Any]) -> JobRecord:
        """The stored take of a repeated intent, sent and followed as it needs."""
        if rec.model_id != model_id or job_body(rec.payload) != job_body(payload):
            raise Conflict(f"The idempotency key {rec.idempotency_key!r} was already used for "
                           f"take {rec.id} with other parameters: use a new key for a new "
                           "take", code="idempotency_conflict")
        if rec.status == "pending" and rec.id not in self._tasks and not rec.deleted and \
                self._claim(rec.id):
            try:
                rec = await self._send(rec)
            finally:
                self.store.release(self.owner, rec.id)
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
        models = self.models
        try:
            models.check_known(model_id)
        except UnknownModel as e:
            raise ValidationFailed(str(e), [{"field": "", "message": str(e)}],
                                   code="unknown_model") from None
        probes = await asyncio.to_thread(self._probe_all, model_id, payload)
        report = models.validate(model_id, payload, probes)
        if not report.valid:
            fields = [i.to_dict() for i in report.errors]
            text = "; ".join(f"{f['field'] or 'payload'}: {f['message']}" for f in fields[:4])
            raise ValidationFailed(f"The payload is not valid: {text}", fields,
                                   code="invalid_payload")
        return probes

    def _check_out(self, payload: dict[str, Any], project: str = "") -> None:
        """A result that could never be written here (the work folder + `out` over the
        platform's path or name limits) is refused before anything is stored, sent or charged.
        Free space is checked before the download, once the result's size is known."""
        try:
            dest = self._dest_of(str(payload.get("out") or f"{uuid.uuid4()}.mp4"), project)
            check_room(dest, dest.with_name(f".takes-{uuid.uuid4()}.part"), None)
        except (ValueError, LocalFileError) as e:
            msg = str(e)
            raise ValidationFailed(f"The payload is not valid: out: {msg}",
                                   [{"field": "out", "message": msg}],
                                   code=getattr(e, "code", "invalid_payload")) from None

    def _probe_all(self, model_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        probe = self._probe
        if probe is None:
            from app.media.probe import probe as default_probe

            probe = default_probe
        out: dict[str, Any] = {}
        for slot in self.models.media_values(model_id, payload):
            if is_remote(slot.value) or slot.value in out:
                continue
            try:
                out[slot.value] = probe(local_path(slot.value))
            except ProbeError as e:
                out[slot.value] = e
        return out

    async def _wire_payload(self, rec: JobRecord) -> dict[str, Any]:
        """The body sent: local media uploaded and replaced by URLs; wrapper params settled."""
        wire = copy.deepcopy(rec.payload)
        imported = self.models.get_imported(rec.model_id)
        spec = get_model(rec.model_id) if imported is None else None
        if spec is None or not spec.has_format:  # an imported model takes no `format`
            wire.pop("format", None)
        elif "aspect_ratio" in spec.input_model.model_fields and "aspect_ratio" not in wire:
            # the wrapper would silently apply 9:16 to an omitted aspect_ratio
            fmt = wire.get("format")
            wire["aspect_ratio"] = FORMAT_TO_ASPECT.get(fmt) if fmt else \
                spec.input_model.model_fields["aspect_ratio"].default
        uploaded: dict[str, str] = {}
        for slot in self.models.media_values(rec.model_id, wire):
            if is_remote(slot.value):
                continue
            if slot.value not in uploaded:
                uploaded[slot.value] = await self.client.upload(
                    local_path(slot.value), rule=slot.rule, label=slot.label)
            set_path(wire, slot.path, uploaded[slot.value])
        return wire

    # ---- the steps of a job -------------------------------------------------------------

    async def _send(self, rec: JobRecord, balance_checked: bool = False) -> JobRecord:
        """Upload (once) and POST (same key, same bytes, as often as needed). Before the first
        upload of a take whose balance was not checked (stored while the API did not answer,
        or resumed after a restart), the gate checks that the balance covers it."""
        body, _ = self.store.wire(rec.id)
        self._sending.add(rec.id)
        try:
            if body is None:
                if not balance_checked and self.gate is not None \
                        and rec.payload.get("mock") is not True:
                    problem = await self.gate.covers(self.client, rec.credits_estimated or 0)
                    if problem is not None:
                        raise OutOfCredits(problem, code="insufficient_credits")
                body = job_body(await self._wire_payload(rec))
                self.store.set_wire(rec.id, body=body)  # committed before the POST is sent
            if rec.payload.get("mock") is not True and not idempotent(await self._provider()):
                # no idempotency key: the row says "sending" before the POST goes out, so a
                # kill before its id is stored leaves "unknown", never a second POST
                rec = self._update(rec, status=SENDING)
            job = await self.client.create_job(rec.model_id, body, rec.idempotency_key)
        except ApiError as e:
            if rec.status == SENDING and getattr(e, "maybe_sent", True):
                self._update(rec, **_unknown_changes(e))
                raise
            if rec.status == SENDING:  # fal never took it (no connection, 429): re-sendable
                rec = self._update(rec, status="pending")
            if isinstance(e, TRANSIENT):
                self._update(rec, error_code=e.code,
                             error_message=f"Not confirmed by the API yet: {e}")
                raise
            self._update(rec, status="failed", error_code=e.code, error_message=str(e),
                         finished_at=time.time())
            raise
        except BaseException:
            if rec.status == SENDING:  # cancelled mid-POST (the app quits): unknown
                self._update(rec, **_unknown_changes(None))
            raise
        finally:
            self._sending.discard(rec.id)
        rec = self._apply(rec, job, submitted_at=time.time(), error_code=None,
                          error_message=None)
        if rec.id in self._cancel_wanted and not rec.finished:
            rec = await self.cancel(rec.id)
        return rec

    async def _provider(self) -> Provider:
        """The real client (a studio's deferred client once its connection is made): whether
        it takes idempotency keys is known only then."""
        ready = getattr(self.client, "ready", None)
        return await ready() if callable(ready) else self.client

    async def _resume(self, rec: JobRecord) -> None:
        if rec.status == SENDING:
            if not idempotent(await self._provider()):
                # its POST went out and may have been accepted (and charged): never re-sent
                # by itself; the user checks the provider's dashboard (present.py says how)
                self._update(rec, **_unknown_changes(None))
                return
            rec = self._update(rec, status="pending")  # same key, same bytes: safe
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
        """Poll the job until it finished, then fetch its result. With a server that holds
        reads (`Job-Wait-Max`) each request waits there for the next change; else the delay
        aims at the job's estimated end. `PollBudget` bounds the requests either way."""
        interval = self.poll.initial
        budget = self.poll.budget()
        polled = False
        refused = False  # the server advertised waits but refused one: poll without
        delay = 0.0 if self.poll.wait_for(self.client.wait_max) is not None else interval
        held = 0.0  # how long the server held the last answer
        while not rec.finished:
            await asyncio.sleep(max(delay, budget.delay()))
            wait = None if refused or self.client.held_full() else \
                self.poll.wait_for(self.client.wait_max)
            if wait is None or held < HELD_S:
                # the shared gap between status requests; a read the server held for a
                # while has been spaced by the server already (and another job's queue
                # must not delay the end of this one)
                await self._limiter.acquire()
            budget.spend()
            sent = time.monotonic()
            held = 0.0
            try:
                job, hint = await self.client.get_job_with_hint(rec.remote_id or "", wait=wait)
                held = time.monotonic() - sent if wait is not None else 0.0
            except NotFound:
                self._update(rec, status="failed", error_code="not_found",
                             error_message="The API no longer knows this job",
                             finished_at=time.time())
                return
            except AuthError as e:
                self._update(rec, error_code=e.code, error_message=str(e))
                return  # cannot poll without a key; resumes on the next start
            except ApiError as e:
                if wait is not None and isinstance(e, ValidationFailed):
                    log.info("the API refused a held read (%s); polling instead", e.code)
                    refused, delay = True, interval
                    continue
                log.info("polling job %s failed (%s); backing off", rec.id, e.code)
                interval = min(self.poll.error_max, interval * 2)
                delay = interval
                continue
            rec, polled = self._apply(rec, job), True
            if hint is not None:
                interval = delay = self.poll.next(interval, hint)
            elif wait is not None:
                interval, delay = self.poll.initial, 0.0  # the next read is held there
            else:
                interval = self.poll.next(interval)
                delay = self.poll.toward(interval, eta_remaining(rec))
        if rec.status == "succeeded":
            await self._fetch_result(rec, fresh=polled)

    async def _fetch_result(self, rec: JobRecord, *, fresh: bool) -> None:
        """Download the result; a lost connection or a moved server backs off and tries
        again with a fresh result URL (nothing is marked failed for it)."""
        interval = self.poll.initial
        while True:
            try:
                await self._download(rec if fresh else await self._refresh(rec))
                return
            except (*TRANSIENT, DownloadError) as e:
                log.info("downloading take %s failed (%s); trying again", rec.id, e.code)
            except ApiError as e:  # e.g. the key was revoked: the next start tries again
                self._update(rec, error_code=e.code, error_message=str(e))
                return
            fresh = False
            await asyncio.sleep(interval)
            interval = min(self.poll.error_max, interval * 2)
            rec = self._get(rec.id)

    async def _refresh(self, rec: JobRecord) -> JobRecord:
        """The job as the API describes it now (its result URL from the current server); by
        the file name on the current base URL when the API no longer knows the job."""
        if rec.result_path or not rec.remote_id:
            return rec
        try:
            return self._apply(rec, await self.client.get_job(rec.remote_id))
        except NotFound:
            url = (rec.result or {}).get("url")
            if not url:
                raise
            result = {**(rec.result or {}), "url": self.client.file_url(url)}
            return self._update(rec, result=result)

    async def _download(self, rec: JobRecord) -> JobRecord:
        """Fetch the result into the work folder once; `result_path` is recorded after."""
        url = (rec.result or {}).get("url")
        if not url or rec.result_path:
            return rec
        expected = (rec.result or {}).get("size_bytes")
        try:
            dest = self._dest(rec)
        except ValueError as e:
            return self._local_failure(rec, LocalFileError(str(e)))
        part = dest.with_name(f".takes-{rec.id}.part")
        _, chosen = self.store.wire(rec.id)
        try:
            target, placed = await asyncio.to_thread(_target, dest, chosen, part, expected)
        except LocalFileError as e:
            return self._local_failure(rec, e)
        if placed:
            return self._update(rec, result_path=chosen, error_code=None, error_message=None)
        try:
            if not chosen:
                self.store.set_wire(rec.id, final_path=str(target))
            path = await self.client.download(url, target, expected_size=expected,
                                              part_path=part)
        except LocalFileError as e:
            return self._local_failure(rec, e)
        except (*TRANSIENT, DownloadError):
            raise
        except ApiError as e:
            return self._update(rec, error_code="download_failed",
                                error_message=f"The result could not be downloaded: {e}")
        self.store.set_wire(rec.id, final_path=str(path))
        return self._update(rec, result_path=str(path), error_code=None, error_message=None)

    def _local_failure(self, rec: JobRecord, e: LocalFileError) -> JobRecord:
        """The result cannot be written here now: the take stays downloadable (the next
        start, `takes resume` or `resume(id)` fetches it once the cause is fixed)."""
        return self._update(rec, error_code="download_failed", error_message=str(e))

    def _dest(self, rec: JobRecord) -> Path:
        return self._dest_of(str(rec.payload.get("out") or f"{rec.id}.mp4"), rec.project)

    def _dest_of(self, out: str, project: str = "") -> Path:
        from app.client.workfolder import project_dir

        root = project_dir(self.download_dir, project).resolve()
        dest = (root / out).resolve()
        if root != dest and root not in dest.parents:  # validation forbids it; belt and braces
            dest = root / Path(out).name
        if dest == root or not dest.name:
            raise ValueError(f"The output name {out!r} is not a file name in the work folder")
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
        if status in (None, "queued"):  # a provider that says where it waits (fal)
            position = job.get("queue_position")
            if isinstance(position, int) and not isinstance(position, bool):
                changes["queue_position"] = position
        elif rec.queue_position is not None:
            changes["queue_position"] = None  # out of the queue
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
        task = asyncio.get_running_loop().create_task(self._claimed(job_id, coro),
                                                      name=f"take-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda t: (coro.close(), self._task_done(job_id, t)))

    # ---- one process per take: claims in the store ------------------------------------

    async def _claimed(self, job_id: str, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` holding the take's claim. While another live process holds it, watch
        the store instead (its changes are emitted) and take over if that process dies."""
        try:
            if not self._claim(job_id):
                coro.close()
                rec = await self._watch(job_id)
                if rec is None:
                    return
                coro = self._resume(rec)
            try:
                await coro
            finally:
                self.store.release(self.owner, job_id)
        finally:
            coro.close()

    async def _watch(self, job_id: str) -> JobRecord | None:
        """Until this manager can claim the take (returns it) or its holder settled it."""
        last = self.store.get(job_id)
        while last is not None and not last.deleted:
            await asyncio.sleep(self.poll.maximum)
            if self._claim(job_id):
                return self._get(job_id)
            rec = await asyncio.to_thread(self.store.get, job_id)
            if rec is not None and rec != last:
                self._emit(rec)
            if rec is not None and rec.finished and \
                    (rec.status != "succeeded" or rec.result_path):
                return None
            last = rec
        return None

    def _claim(self, job_id: str) -> bool:
        holder = self.store.claimer(job_id)
        dead = holder if holder and holder != self.owner and not _alive(holder) else None
        if not self.store.claim(job_id, self.owner, self.lease_s, steal_from=dead):
            return False
        self._start_heartbeat()
        return True

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None and not self._closed:
            self._heartbeat = asyncio.get_running_loop().create_task(
                self._renew_claims(), name="take-claims")

    async def _renew_claims(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await asyncio.to_thread(self.store.renew_claims, self.owner, self.lease_s)

    def _task_done(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("following take %s failed", job_id, exc_info=task.exception())
        rec = self.store.get(job_id) if not self._closed else None
        if rec is not None:
            self._resolve(job_id, rec)


#: the error code of a take whose POST may have been accepted without its id being stored
MAYBE_CHARGED = "maybe_charged"


def _unknown_changes(e: BaseException | None) -> dict[str, Any]:
    """A take sent to a provider without idempotency keys whose answer never arrived."""
    why = f" ({e})" if e is not None else ""
    return {"status": UNKNOWN, "error_code": MAYBE_CHARGED, "finished_at": time.time(),
            "error_message": "Unknown — may have been charged: the request went out but its "
                             f"answer never arrived{why}. Takes will not send it again by "
                             "itself; check the provider's dashboard for the request before "
                             "rendering it again."}


def _check_key(key: str) -> None:
    """An idempotency key travels in an HTTP header: 1–255 visible ASCII characters."""
    if not isinstance(key, str) or not 1 <= len(key) <= 255 or \
            not all("!" <= c <= "~" for c in key):
        msg = "An idempotency key must be 1–255 visible ASCII characters (no spaces)"
        raise ValidationFailed(msg, [{"field": "idempotency_key", "message": msg}],
                               code="invalid_idempotency_key")


def _alive(owner: str) -> bool:
    """Whether the process of a claim (`host:pid:nonce`) still runs; True when it cannot be
    told (another host: its lease expires instead)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child its parent has not reaped yet is a zombie: dead all the same
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _target(dest: Path, chosen: str | None, part: Path, expected: int | None
            ) -> tuple[Path, bool]:
    """(where the result goes, whether an earlier run placed it there already); raises
    `LocalFileError` when it cannot be written there (limits, free space, the folder)."""
    check_room(dest, part, None)  # before touching paths that may be too long to stat
    try:
        if chosen and _already_placed(Path(chosen), part, expected):
            return Path(chosen), True
        target = Path(chosen) if chosen else free_path(dest)
    except OSError as e:
        raise LocalFileError(f"The result cannot be written to {dest.parent}: "
                             f"{e.strerror or e}. Choose another work folder; the take stays "
                             "downloadable.", code="local_file") from None
    check_room(target, part, expected)
    return target, False


def check_room(target: Path, part: Path, expected: int | None) -> None:
    """Refuse a download that cannot fit: a path or a name over the file system's limits,
    or less free space than the result's size. The message says what to change."""
    existing = _existing(target)
    for p in (target, part):
        path_max = _pathconf(existing, "PC_PATH_MAX")
        if path_max and len(os.fsencode(p)) >= path_max:
            raise LocalFileError(
                f"The result's path {p} is {len(os.fsencode(p)):,} bytes; this system allows "
                f"{path_max - 1:,}. Choose a shorter work folder or output name.",
                code="path_too_long")
        name_max = _pathconf(existing, "PC_NAME_MAX")
        long_part = next((n for n in p.parts if len(os.fsencode(n)) > (name_max or 255)), None)
        if long_part is not None:
            raise LocalFileError(
                f"The name {long_part[:40]}… is {len(os.fsencode(long_part)):,} bytes; this "
                f"file system allows {name_max or 255} per name. Choose a shorter output name.",
                code="path_too_long")
    if expected:
        free = shutil.disk_usage(existing).free
        if free < expected:
            raise LocalFileError(
                f"Not enough free space in {existing} for the result: it needs "
                f"{_amount(expected)}, {_amount(free)} is free. Free some space; the take stays "
                "downloadable (it is fetched at the next start or `takes resume`).",
                code="disk_full")


def _amount(size: int) -> str:
    """Bytes for a person: KB below a megabyte (where "0.0 MB" would say nothing)."""
    return fmt_mb(size) if size >= 1 << 20 else f"{max(1, round(size / 1024)):,} KB"


def _existing(path: Path) -> Path:
    """The nearest existing folder of `path` (a path too long to stat is not one)."""
    for p in (path, *path.parents):
        try:
            if p.exists():
                return p
        except OSError:
            continue
    return Path(path.anchor or ".")


def _pathconf(path: Path, name: str) -> int | None:
    try:
        value = os.pathconf(path, name)
    except (OSError, ValueError):
        return None
    return value if value > 0 else None


def _already_placed(chosen: Path, part: Path, expected: int | None) -> bool:
    """Whether an earlier run placed the result at `chosen` before it could record it (a
    crash between the rename and the row update); then its leftover `part` is removed."""
    if not _complete(chosen, expected):
        return False
    if part.exists():
        if expected is None and not os.path.samefile(part, chosen):
            return False
        part.unlink()
    return True


def _complete(path: Path, expected: int | None) -> bool:
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return expected is None or size == expected
