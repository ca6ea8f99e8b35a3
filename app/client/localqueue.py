"""The local queue: takes that wait in the app before they are handed to the job manager. No Qt.

A take enqueued here is not sent, not uploaded, not stored in the job store and not charged: it
waits in order, in this profile's queue file, until

- the queue is not paused, and
- fewer takes of this profile are in flight on the provider (stored and not finished: pending,
  queued, running; sent from anywhere, the CLI too) than the profile's concurrency cap.

Then it is handed to `JobManager.submit` with its own idempotency key (the one it was enqueued
with: one intent, one take, one charge), its model, payload, parent and the user's
confirmation. A take the guard-rails refuse (the balance, today's cap, a confirmation not
given) is HELD: it stays here unsent, marked why, and is checked again when a take of this
profile finishes (a charge or a refund changes the balance and today's spend), when the day
changes, when the API answers again, or when the user retries it. Held takes do not block the
takes behind them.

The cap: 2 takes at once on an API profile (a provider's account usually runs a couple of jobs
at a time and queues the rest on its side, where they can no longer be reordered, paused or
cancelled for free); 4 on the built-in sandbox, which renders on this computer's own cores,
where more at once only share them. The user sets it per profile (`set_cap`), kept in the file.

Persistence: one JSON file per profile (`path_for`), written atomically (a temp file, fsync,
rename, fsync of the folder) before the take is handed over. A take is marked "sending" in the
file before `submit` is called; when the queue is opened again (a restart, a kill) a "sending"
take whose key is in the job store was handed over (the manager resumes it, same key and
bytes: never a second job), and one whose key is not there was never stored, so never sent,
and waits again. A file that cannot be read is set aside as `<name>.bad-<time>` (nothing lost)
and the queue starts empty.

Threads: a `LocalQueue` lives on the studio's core loop, like the manager it feeds: every
method is called there (`studio.read(queue.enqueue, ...)`, `studio.run(queue.start())`), its
file is read and written there, and its listeners are called there with snapshots (copies),
never with the live objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from app.catalog.status import ACTIVE, SUCCEEDED
from app.client.errors import ApiError, Conflict, ValidationFailed
from app.client.guard import Refused, day_bounds

log = logging.getLogger(__name__)

WAITING = "waiting"  # in order, to be handed over when a slot is free
HELD = "held"  # refused by the guard-rails: unsent until checked again
SENDING = "sending"  # being handed to the manager now
SENT = "sent"  # handed over (only ever in what `enqueue` returns for a known key)
STATES = (WAITING, HELD, SENDING, SENT)

#: the default concurrency cap (takes in flight on the provider at once)
API_CAP = 2
SANDBOX_CAP = 4
MAX_CAP = 64
#: a queue file larger than this is not read (set aside instead)
MAX_FILE_BYTES = 32 << 20
FILE_VERSION = 1


@dataclass
class WaitingTake:
    """One take waiting in the app. Carries the attributes of a `JobRecord` that the queue
    view and `app.client.present` read, so it shows like any take (status "waiting"/"held")."""

    key: str
    model_id: str
    payload: dict[str, Any]
    parent_id: str | None = None
    group: str | None = None
    label: str | None = None
    confirmed: bool = False
    state: str = WAITING
    #: why it is held: the refusal's code (`daily_cap_reached`, `insufficient_credits`, …)
    reason: str | None = None
    #: why it is held, in words (the gate's message)
    message: str | None = None
    created_at: float = field(default_factory=time.time)
    credits_estimated: int = 0
    credits_estimated_min: int | None = None
    #: the job's id once handed over (SENT only)
    job_id: str | None = None

    # ---- what a JobRecord has (the view and `present` read these) ----------------------
    is_waiting = True

    @property
    def id(self) -> str:
        return f"wait:{self.key}"

    @property
    def idempotency_key(self) -> str:
        return self.key

    @property
    def status(self) -> str:
        return self.state

    @property
    def mock(self) -> bool:
        return self.payload.get("mock") is True

    @property
    def held(self) -> bool:
        return self.state == HELD

    progress = 0.0
    remote_id = None
    credits_charged = None
    credits_refunded = 0
    submitted_at = None
    started_at = None
    finished_at = None
    result_path = None
    result = None
    deleted = False
    favourite = False
    profile = ""
    history = ()

    @property
    def error_code(self) -> str | None:
        return self.reason if self.state == HELD else None

    @property
    def error_message(self) -> str | None:
        return self.message if self.state == HELD else None

    @property
    def finished(self) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Any) -> WaitingTake:
        """A take read from the queue file; `ValueError` for an entry that is not one."""
        if not isinstance(d, dict):
            raise ValueError("an entry is not an object")
        key, model_id, payload = d.get("key"), d.get("model_id"), d.get("payload")
        check_key(key)
        if not isinstance(model_id, str) or not model_id or not isinstance(payload, dict):
            raise ValueError(f"take {key!r} has no model or no payload")
        state = d.get("state", WAITING)
        if state not in (WAITING, HELD, SENDING):
            raise ValueError(f"take {key!r} has an unknown state {state!r}")
        kw: dict[str, Any] = {}
        for name, kind in (("parent_id", str), ("group", str), ("label", str),
                           ("reason", str), ("message", str)):
            v = d.get(name)
            kw[name] = v if isinstance(v, kind) else None
        created = d.get("created_at")
        est = d.get("credits_estimated")
        est_min = d.get("credits_estimated_min")
        return cls(key, model_id, payload, confirmed=d.get("confirmed") is True, state=state,
                   created_at=float(created) if _number(created) else time.time(),
                   credits_estimated=int(est) if _number(est) else 0,
                   credits_estimated_min=int(est_min) if _number(est_min) else None, **kw)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v \
        and abs(v) < 1e15


@dataclass(frozen=True)
class QueueEvent:
    """What a listener hears: `kind` ("changed", "queued", "held", "sent", "canceled",
    "failed", "finished", "error"), the take concerned (a copy), a sentence for the user, and
    the whole queue after it (`waiting`: copies in order)."""

    kind: str
    take: WaitingTake | None
    message: str
    waiting: tuple[WaitingTake, ...]
    paused: bool
    cap: int
    in_flight: int
    job_id: str | None = None


Listener = Callable[[QueueEvent], None]


def check_key(key: Any) -> None:
    """An idempotency key travels in an HTTP header: 1–255 visible ASCII characters."""
    if not isinstance(key, str) or not 1 <= len(key) <= 255 or \
            not all("!" <= c <= "~" for c in key):
        msg = "An idempotency key must be 1–255 visible ASCII characters (no spaces)"
        raise ValidationFailed(msg, [{"field": "idempotency_key", "message": msg}],
                               code="invalid_idempotency_key")


def path_for(data_dir: Path | str, profile: str) -> Path:
    """The queue file of a profile under the data folder (a name safe on any file system)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", profile)[:60] or "profile"
    digest = hashlib.sha256(profile.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return Path(data_dir) / "queue" / f"{safe}-{digest}.json"


def default_cap(sandbox: bool) -> int:
    return SANDBOX_CAP if sandbox else API_CAP


def settled(rec: Any) -> bool:
    """A take that will change no more: finished and, if it succeeded, downloaded (or its
    download failed and waits for the user)."""
    if rec is None or getattr(rec, "deleted", False):
        return True
    if rec.status not in ("succeeded", "failed", "canceled", "timed_out"):
        return False
    return rec.status != SUCCEEDED or bool(rec.result_path) or \
        rec.error_code == "download_failed" or not (rec.result or {}).get("url")


class LocalQueue:
    """The takes of one profile waiting in the app, in order, handed to `manager` under the
    cap. Used on the manager's loop only (see the module's docstring)."""

    def __init__(self, manager: Any, path: Path | str, *, sandbox: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.manager = manager
        self.store = manager.store
        self.path = Path(path)
        self.sandbox = sandbox
        self.clock = clock
        self.paused = False
        self._cap: int | None = None  # None: the default for this kind of profile
        self._takes: list[WaitingTake] = []
        self._listeners: list[Listener] = []
        self._sending: dict[str, asyncio.Task[None]] = {}
        self._direct: set[str] = set()  # sent at once by `submit`, not yet stored
        #: keys handed over since the queue last finished (for "the whole queue finished")
        self._batch: set[str] = set()
        # the manager's own submit, whatever `submit` is routed through (app/ui/local_queue)
        self._send = type(manager).submit.__get__(manager, type(manager))
        self._pump_task: asyncio.Task[None] | None = None
        self._again = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._day: asyncio.TimerHandle | None = None
        self._started = False
        self._closed = False
        self.write_error: str | None = None

    def __repr__(self) -> str:
        return f"LocalQueue({self.path.name}, {len(self._takes)} waiting, cap {self.cap}, " \
               f"{'paused' if self.paused else 'running'})"

    # ---- opening and closing ------------------------------------------------------------
    async def start(self) -> LocalQueue:
        """Read the file, follow the manager's takes and the day, and send what may go.
        Idempotent."""
        if self._started or self._closed:
            return self
        self._started = True
        self._load()
        m = self.manager
        self._unsubscribe.append(m.subscribe(self._on_job))
        with contextlib.suppress(AttributeError):
            self._unsubscribe.append(m.subscribe_online(self._on_online))
        self._schedule_day()
        self._emit("changed")
        self._kick()
        return self

    async def close(self) -> None:
        """Stop handing takes over (those waiting stay in the file; one being handed over is
        finished by the manager or resumed by the next start: same key)."""
        self._closed = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._day is not None:
            self._day.cancel()
            self._day = None
        tasks = [t for t in (self._pump_task, *self._sending.values()) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._listeners.clear()

    # ---- what others call ---------------------------------------------------------------
    @property
    def cap(self) -> int:
        return self._cap if self._cap is not None else default_cap(self.sandbox)

    def set_cap(self, cap: int) -> int:
        """How many takes of this profile may be in flight on the provider at once (1–64)."""
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CAP:
            raise ValueError(f"The cap must be a whole number from 1 to {MAX_CAP}")
        self._cap = cap
        self._save()
        self._emit("changed", message=f"Up to {cap} take{'s' if cap != 1 else ''} at once.")
        self._kick()
        return cap

    def waiting(self) -> list[WaitingTake]:
        """The takes waiting or held, in order (copies)."""
        return [replace(t, payload=copy.deepcopy(t.payload)) for t in self._takes]

    def get(self, key: str) -> WaitingTake | None:
        t = self._find(key)
        return replace(t, payload=copy.deepcopy(t.payload)) if t is not None else None

    def enqueue(self, model_id: str, payload: dict[str, Any], *, key: str,
                parent_id: str | None = None, group: str | None = None,
                label: str | None = None, confirmed: bool = False) -> WaitingTake:
        """Put a take at the end of the queue (nothing sent, stored or charged yet); returns
        it (a copy). The same key again is the same intent: the take already waiting (or,
        once handed over, a copy in state SENT with its `job_id`). The same key with another
        model or payload raises `Conflict`."""
        check_key(key)
        if not isinstance(model_id, str) or not model_id:
            raise ValidationFailed("A take needs a model id",
                                   [{"field": "", "message": "no model id"}],
                                   code="unknown_model")
        if not isinstance(payload, dict):
            raise ValidationFailed("A take's payload must be a JSON object",
                                   [{"field": "", "message": "not an object"}],
                                   code="invalid_payload")
        try:
            payload = json.loads(json.dumps(payload, allow_nan=False))
        except (TypeError, ValueError) as e:
            raise ValidationFailed(f"A take's payload must be plain JSON: {e}",
                                   [{"field": "", "message": str(e)}],
                                   code="invalid_payload") from None
        known = self._find(key)
        if known is not None:
            self._same(known.model_id, known.payload, model_id, payload, key)
            return self.get(key)  # type: ignore[return-value]
        rec = self.store.by_idempotency_key(key)
        if rec is not None:
            self._same(rec.model_id, rec.payload, model_id, payload, key)
            return WaitingTake(key, rec.model_id, copy.deepcopy(rec.payload),
                               parent_id=rec.parent_id, state=SENT, job_id=rec.id,
                               credits_estimated=rec.credits_estimated)
        take = WaitingTake(key, model_id, payload, parent_id=parent_id, group=group,
                           label=label, confirmed=bool(confirmed), created_at=self.clock())
        take.credits_estimated, take.credits_estimated_min = self._estimate(model_id, payload)
        self._takes.append(take)
        self._save()
        self._emit("queued", take, self._position_words(take))
        self._kick()
        return self.get(key)  # type: ignore[return-value]

    async def submit(self, model_id: str, payload: dict[str, Any], *,
                     parent_id: str | None = None, idempotency_key: str | None = None,
                     confirmed: bool = False) -> Any:
        """`JobManager.submit` through the queue (what the window's Render calls): sent at
        once, and the manager's `JobRecord` returned, when the queue is running, nothing waits
        ahead and a slot is free (a refusal is raised as the manager raises it); else the
        take waits here and its `WaitingTake` is returned. A key the store knows is the same
        intent: given to the manager as it is."""
        await self.start()
        key = idempotency_key or str(uuid.uuid4())
        check_key(key)
        if self.store.by_idempotency_key(key) is not None or key in self._direct:
            return await self._send(model_id, payload, parent_id=parent_id,
                                    idempotency_key=key, confirmed=confirmed)
        if self._find(key) is not None:
            return self.get(key)
        if not self.paused and not any(t.state == WAITING for t in self._takes) \
                and self.in_flight() < self.cap:
            self._direct.add(key)
            self._batch.add(key)
            try:
                return await self._send(model_id, payload, parent_id=parent_id,
                                        idempotency_key=key, confirmed=confirmed)
            except BaseException:
                if self.store.by_idempotency_key(key) is None:
                    self._batch.discard(key)
                raise
            finally:
                self._direct.discard(key)
                self._kick()
        return self.enqueue(model_id, payload, key=key, parent_id=parent_id,
                            confirmed=confirmed)

    def move(self, key: str, index: int) -> int:
        """Put a waiting take at `index` of the queue (clamped); returns where it went."""
        take = self._need(key)
        self._takes.remove(take)
        index = max(0, min(int(index), len(self._takes)))
        self._takes.insert(index, take)
        self._save()
        self._emit("changed", take, f"Moved to #{index + 1} of {len(self._takes)}.")
        self._kick()
        return index

    def to_front(self, key: str) -> int:
        return self.move(key, 0)

    def pause(self) -> None:
        """Hand nothing more over (what is in flight goes on)."""
        if not self.paused:
            self.paused = True
            self._save()
            self._emit("changed", message="Queue paused: nothing more is sent until you "
                       "resume it; takes already sent go on.")

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._save()
            self._emit("changed", message="Queue resumed.")
            self._kick()

    def cancel(self, key: str) -> bool:
        """Take a waiting or held take off the queue: nothing was sent or charged. False when
        it is no longer waiting (being handed over now, or sent: cancel the take itself)."""
        take = self._find(key)
        if take is None or take.state == SENDING:
            return False
        self._takes.remove(take)
        self._save()
        self._emit("canceled", take, "Canceled before it was sent: nothing was sent or "
                   "charged.")
        self._finish_check()
        return True

    def recheck(self, key: str | None = None) -> int:
        """Held takes (one, or all) checked again by the guard-rails when their turn comes;
        returns how many."""
        n = 0
        for take in self._takes:
            if take.state == HELD and (key is None or take.key == key):
                take.state, take.reason, take.message = WAITING, None, None
                n += 1
        if n:
            self._save()
            self._emit("changed", message=f"{n} held take{'s' if n != 1 else ''} checked "
                       "again.")
            self._kick()
        return n

    def retry(self, key: str) -> bool:
        """The user's Retry on a held take: checked again now."""
        return self.recheck(key) > 0

    def in_flight(self) -> int:
        """Takes of this profile on the provider now (stored and not finished), and those
        being handed over that the store does not hold yet."""
        unfinished = [r for r in self.store.unfinished(profile=self.manager.profile)
                      if r.status in ACTIVE]
        keys = {r.idempotency_key for r in unfinished}
        handing = {*self._sending, *self._direct} - keys
        return len(unfinished) + len(handing)

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """`callback(QueueEvent)` after every change (on the core loop); returns the function
        that unsubscribes."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return unsubscribe

    @property
    def finished(self) -> bool:
        """Nothing waits to be sent (held takes aside) and nothing sent is still on its way."""
        return not any(t.state in (WAITING, SENDING) for t in self._takes) \
            and not self._sending and not self._direct and all(
                settled(self.store.by_idempotency_key(k)) for k in self._batch)

    # ---- handing takes over -------------------------------------------------------------
    def _stopping(self) -> bool:
        """Closed, or its manager is (the studio is shutting down: nothing more is sent)."""
        return self._closed or bool(getattr(self.manager, "_closed", False))

    def _kick(self) -> None:
        if self._stopping() or not self._started:
            return
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = asyncio.get_running_loop().create_task(
                self._pump(), name="local-queue")
        else:
            self._again = True

    async def _pump(self) -> None:
        while True:
            self._again = False
            if not self.paused and not self._stopping():
                try:
                    for take in list(self._takes):
                        if take.state != WAITING:
                            continue
                        if self.in_flight() >= self.cap:
                            break
                        self._hand_over(take)
                except Exception:  # the store is closing under us: the next start resumes
                    log.exception("the local queue could not hand a take over")
                    return
            if not self._again:
                return
            await asyncio.sleep(0)

    def _hand_over(self, take: WaitingTake) -> None:
        take.state = SENDING
        self._save()  # marked before the manager is called: a kill now is resolved on open
        self._batch.add(take.key)
        self._sending[take.key] = asyncio.get_running_loop().create_task(
            self._send_one(take), name=f"local-queue-{take.key[:8]}")

    async def _send_one(self, take: WaitingTake) -> None:
        from app.client.manager import TRANSIENT

        key = take.key
        try:
            rec = await self._send(take.model_id, take.payload, parent_id=take.parent_id,
                                   idempotency_key=key, confirmed=take.confirmed)
        except Refused as e:
            self._hold(take, e.code, str(e))
            return
        except TRANSIENT as e:
            stored = self.store.by_idempotency_key(key)
            if stored is None:  # nothing stored, nothing sent: it waits for the API
                self._hold(take, e.code or "offline", f"Not sent yet: the API does not "
                           f"answer ({e}). It is sent when the API answers again.")
                return
            self._gone(take)  # stored: the manager re-sends it, same key and bytes
            await self.manager.resume(stored.id)
            self._emit("sent", take, f"Not confirmed yet ({e}): the manager sends it once "
                       "the API answers.", job_id=stored.id)
            return
        except ApiError as e:
            self._gone(take)
            self._batch.discard(key)
            self._emit("failed", take, f"Not sent: {e}")
            return
        except asyncio.CancelledError:
            raise
        except Exception as e:  # deliberate: one bad take must not stop the queue
            log.exception("handing take %s over failed", key)
            self._gone(take)
            self._batch.discard(key)
            self._emit("failed", take, f"Not sent: {e}")
            return
        finally:
            self._sending.pop(key, None)
            if not self._stopping():
                self._kick()
        self._gone(take)
        self._emit("sent", take, "Sent from the queue.", job_id=rec.id)

    def _hold(self, take: WaitingTake, reason: str, message: str) -> None:
        self._batch.discard(take.key)
        if take in self._takes:
            take.state, take.reason, take.message = HELD, reason, message
            self._save()
            self._emit("held", take, message)
        self._finish_check()

    def _gone(self, take: WaitingTake) -> None:
        if take in self._takes:
            self._takes.remove(take)
            self._save()

    # ---- the manager, the API, the day ----------------------------------------------------
    def _on_job(self, rec: Any) -> None:  # a manager update, on the core loop
        if self._closed or rec.status in ACTIVE:
            return
        self._kick()  # a slot may be free
        if any(t.state == HELD for t in self._takes) and rec.profile == self.manager.profile:
            self.recheck()  # a charge or a refund: the balance and today's spend moved
        if rec.idempotency_key in self._batch:
            self._finish_check()

    def _on_online(self, online: bool) -> None:
        if online and not self._closed:
            self.recheck()

    def _schedule_day(self) -> None:
        loop = asyncio.get_running_loop()
        _, end = day_bounds(self.clock())
        delay = max(1.0, end - self.clock() + 1.0)
        self._day = loop.call_later(delay, self._new_day)

    def _new_day(self) -> None:
        if self._closed:
            return
        self.recheck()
        self._schedule_day()

    def _finish_check(self) -> None:
        if self._batch and self.finished:
            recs = [self.store.by_idempotency_key(k) for k in self._batch]
            self._batch.clear()
            self._emit("finished", None, finished_words(recs, self._takes))

    # ---- file ---------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        except OSError as e:
            self.write_error = f"The queue file {self.path} cannot be read: {e.strerror or e}"
            log.warning("%s", self.write_error)
            return
        try:
            if size > MAX_FILE_BYTES:
                raise ValueError(f"{size:,} bytes is larger than a queue file can be")
            data = json.loads(self.path.read_bytes().decode("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("takes"), list):
                raise ValueError("not a queue file")
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as e:
            self._set_aside(f"it cannot be read ({e})")
            return
        takes, bad = [], 0
        for entry in data["takes"]:
            try:
                take = WaitingTake.from_dict(entry)
            except (ValueError, ValidationFailed) as e:
                log.warning("a take in %s is skipped: %s", self.path, e)
                bad += 1
                continue
            if any(t.key == take.key for t in takes):
                continue
            takes.append(take)
        if bad:
            self._set_aside(f"{bad} entr{'ies' if bad != 1 else 'y'} could not be read",
                            keep=True)
        cap = data.get("cap")
        self._cap = cap if isinstance(cap, int) and not isinstance(cap, bool) \
            and 1 <= cap <= MAX_CAP else None
        self.paused = data.get("paused") is True
        for take in takes:
            if take.state != SENDING:
                continue
            if self.store.by_idempotency_key(take.key) is not None:
                take.state = SENT  # handed over before the end: the manager resumes it
                self._batch.add(take.key)
            else:
                take.state = WAITING  # never stored, so never sent
        self._takes = [t for t in takes if t.state != SENT]
        if len(self._takes) != len(takes):
            self._save()

    def _set_aside(self, why: str, keep: bool = False) -> None:
        aside = self.path.with_name(f"{self.path.name}.bad-{int(time.time())}")
        try:
            if keep:
                aside.write_bytes(self.path.read_bytes())
            else:
                os.replace(self.path, aside)
        except OSError as e:
            log.warning("the queue file %s could not be set aside: %s", self.path, e)
            return
        self.write_error = f"The queue file {self.path.name} was set aside as {aside.name}: " \
                           f"{why}."
        log.warning("%s", self.write_error)

    def _save(self) -> None:
        data = {"version": FILE_VERSION, "paused": self.paused, "cap": self._cap,
                "takes": [t.to_dict() for t in self._takes]}
        try:
            write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1)
                         .encode("utf-8"))
        except OSError as e:  # kept in memory; said, and written again at the next change
            self.write_error = f"The queue could not be saved to {self.path}: " \
                               f"{e.strerror or e}. Waiting takes are kept until the app " \
                               "closes."
            log.warning("%s", self.write_error)
            self._emit("error", message=self.write_error)
        else:
            self.write_error = None

    # ---- helpers ------------------------------------------------------------------------
    def _find(self, key: str) -> WaitingTake | None:
        return next((t for t in self._takes if t.key == key), None)

    def _need(self, key: str) -> WaitingTake:
        take = self._find(key)
        if take is None:
            raise KeyError(f"no take {key!r} waits in the queue")
        return take

    @staticmethod
    def _same(old_model: str, old: dict[str, Any], model_id: str, payload: dict[str, Any],
              key: str) -> None:
        from app.client.api import job_body

        if old_model != model_id or job_body(old) != job_body(payload):
            raise Conflict(f"The idempotency key {key!r} was already used for another take: "
                           "use a new key for a new take", code="idempotency_conflict")

    def _estimate(self, model_id: str, payload: dict[str, Any]) -> tuple[int, int | None]:
        try:
            est = self.manager.models.estimate(model_id, payload)
        except Exception:  # priced again by the manager when it is sent
            return 0, None
        return int(est.max), int(est.min)

    def _position_words(self, take: WaitingTake) -> str:
        n = self._takes.index(take) + 1 if take in self._takes else 0
        why = "the queue is paused" if self.paused else \
            f"{self.in_flight()} of {self.cap} at once are in flight"
        return f"Waiting in the queue, #{n} of {len(self._takes)} ({why}): nothing is sent " \
               "or charged until its turn."

    def _emit(self, kind: str, take: WaitingTake | None = None, message: str = "",
              job_id: str | None = None) -> None:
        if not self._listeners:
            return
        try:
            in_flight = self.in_flight()
        except Exception:  # the store closed under us (shutting down)
            in_flight = 0
        event = QueueEvent(kind, replace(take, payload=copy.deepcopy(take.payload))
                           if take is not None else None, message,
                           tuple(self.waiting()), self.paused, self.cap, in_flight, job_id)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a local queue listener failed")


def finished_words(recs: list[Any], held: list[WaitingTake]) -> str:
    """"The queue has finished: 3 takes ready, 1 failed." (+ what is still held)."""
    words = {"succeeded": "ready", "failed": "failed", "canceled": "canceled",
             "timed_out": "timed out"}
    counts: dict[str, int] = {}
    for rec in recs:
        if rec is None or rec.deleted:
            continue
        w = words.get(rec.status, rec.status)
        if rec.status == SUCCEEDED and not rec.result_path:
            w = "not downloaded"
        counts[w] = counts.get(w, 0) + 1
    n = sum(counts.values())
    parts = ", ".join(f"{v} {k}" for k, v in counts.items())
    text = f"The queue has finished: {n} take{'s' if n != 1 else ''}" + \
        (f" ({parts})." if parts else ".")
    h = sum(1 for t in held if t.state == HELD)
    if h:
        text += f" {h} held take{'s wait' if h != 1 else ' waits'} (see why in the queue)."
    return text


def write_atomic(path: Path, data: bytes) -> None:
    """`data` at `path` whole or not at all: a temp file beside it, fsync, rename, fsync of
    the folder (a kill or a power cut leaves the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
