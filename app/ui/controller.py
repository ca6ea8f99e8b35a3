"""Between the window and the studio: every press that could spend, and every update back.

The window wires its widgets to a `StudioController` and shows what it says; the controller
decides. It owns

- the one bridge to the core loop (`app.client.core`): intents become coroutines run there
  (`studio.run`), awaited on the window's loop with `asyncio.wrap_future`; job-manager updates,
  emitted on the core thread, cross back as plain data (`JobRecord`): the latest record of
  each take is kept and the window gets them a frame's worth at a time (`job_changed` for
  each, inside one `coalesce.batch()`, at most once per 16 ms), so 20 takes polled at once
  cost one repaint, not twenty;
- the intent gate (`app.ui.intent`): one press, one idempotency key, one submission;
- `refusal(request)`: the one place that decides whether a request may be sent, asked both for
  the Render button's state and right before every submit and retry: the form's problems, and
  the profile's guard-rails (app/client/guard.py) against the last balance and today's spend;
- the confirm step: right before a paid take is sent, the gate's `Verdict` is asked on the core
  (a fresh balance); above the profile's threshold the window's `ask_confirm` shows the price
  and its breakdown, and only a yes sends it (`confirmed=True`, the same idempotency key). The
  job manager enforces the same gate again, so nothing the user did not see is ever sent;
- the Render button's state (enabled, text, the note under the form), the "send later" path
  for a take stored while the API does not answer, and the balance.

Why the window awaits futures rather than taking callbacks: a press's whole story (gate, send,
refusal or a stored take that waits, the button back) stays one coroutine on the GUI loop, so
the gate is released in one `finally` and tests can `await window.render()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.client import present
from app.client.guard import Refused, price_unknown, promoted
from app.client.manager import TRANSIENT
from app.client.typical import TypicalTimes, read_run_times
from app.ui import coalesce
from app.ui.intent import RENDER, RETRY, IntentGate

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from app.catalog.pricing import Estimate
    from app.client.guard import Verdict
    from app.client.store import JobRecord, JobStore
    from app.client.studio import Studio
    from app.forms.form import ModelForm

log = logging.getLogger(__name__)
QUEUE_RECENT = 50  # takes the queue shows at start
PROMOTE = "Promote to paid"
FRAME_MS = 16  # job updates reach the window at most once per frame


@dataclass(frozen=True)
class SendRequest:
    """Something a press would send: the form's take, or a take rendered again."""

    what: str  # "Render", "Retry", "Re-run": said in messages
    model_id: str
    mock: bool
    estimate: Estimate | None = None
    job_id: str | None = None  # the take a Retry/Re-run renders again


@dataclass(frozen=True)
class RenderState:
    """What the Render button and the note beside it show."""

    enabled: bool
    text: str
    note: str
    reason: str = ""  # why the button is off (its tooltip), empty when it is on


@dataclass(frozen=True)
class StartInfo:
    """What the window shows once the studio started: the queue's takes, how many resumed."""

    queue: list[JobRecord]
    resumed: int


class StudioController(QObject):
    """Intents from the window → the core loop; updates from the core → Qt signals."""

    job_changed = Signal(object)  # a JobRecord the manager changed (on the GUI thread)
    online_changed = Signal(bool)
    balance_changed = Signal(object)  # int credits, or None when the API cannot say
    spent_changed = Signal(object)  # int credits spent or reserved today (None: no daily cap)
    state_changed = Signal(object)  # RenderState
    message = Signal(str)  # one line for the status bar
    sent = Signal(object)  # a take confirmed (or stored to be sent later): show and select it
    out_used = Signal(str)  # the model id whose form should get a fresh output name
    submitted = Signal(object)  # the JobRecord the API confirmed
    submit_failed = Signal(str)
    updates_delivered = Signal(int)  # a batch of job updates went out: how many takes
    # from the core thread; queued onto the GUI thread
    _job_in = Signal()  # updates are pending (posted when the first one arrives)
    _online_in = Signal(bool)

    def __init__(self, studio: Studio, interval_s: Callable[[], float],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.intents = IntentGate(interval_s)
        self.typical = TypicalTimes()
        self.form: ModelForm | None = None
        self.mock = False
        self.balance: int | None = None  # the last balance the API said
        self.spent_today: int | None = None  # today's spend under the daily cap (None: no cap)
        #: asks the user to confirm a price (the window's dialog, held weakly: no cycle
        #: window → controller → window); None: a price above the threshold is refused
        self._ask_confirm: weakref.WeakMethod[Any] | None = None
        self._confirming = False
        self._note = ""
        self._sticky = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._open = threading.Event()
        self._unsubscribe: list[Callable[[], None]] = []
        self._started = False
        #: result files put into forms, by path → the take they came from (lineage)
        self.sources: dict[str, str] = {}
        #: features that take over Render (e.g. "× N takes"): each is called with the form and
        #: returns its task (or None: nothing sent) — or NotImplemented to let the next one, and
        #: finally the plain single take, run. Held weakly by the feature's own choice.
        self.render_hooks: list[Callable[[ModelForm], Any]] = []
        #: features that adjust what the Render button says: (state, request) → state
        self.state_hooks: list[Callable[[RenderState, SendRequest | None], RenderState]] = []
        #: the latest record of each take not yet delivered, in the order they last changed;
        #: filled on the core thread, taken whole by the GUI thread once per frame
        self._pending: dict[str, JobRecord] = {}
        self._pending_lock = threading.Lock()
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self.flush_updates)
        self._job_in.connect(self._wake, Qt.ConnectionType.QueuedConnection)
        self._online_in.connect(self._deliver_online, Qt.ConnectionType.QueuedConnection)

    # ---- start and close ---------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._started

    async def start(self) -> StartInfo:
        """Follow the manager's updates, resume unfinished takes, read the queue and the
        typical run times: all on the core loop."""
        self._started = True
        self._open.set()
        if not self.studio.connected:
            self.spawn(self._connection_made(), "Connecting")
        manager = self.studio.manager
        self._unsubscribe = await self.studio.read(
            lambda: [manager.subscribe(self._from_core), manager.subscribe_online(
                self._online_from_core)])
        if not self.is_open:  # the window closed meanwhile: nothing left to follow
            self.close()
            raise asyncio.CancelledError
        self.online_changed.emit(manager.online)
        resumed = await self.studio.run(manager.start())
        jobs, times = await self.studio.read(_start_reads, self.studio.store,
                                             [j.id for j in resumed], self.studio.profile_name)
        self.typical.load(times)
        return StartInfo(jobs, len(resumed))

    async def recent(self) -> list[JobRecord]:
        """The queue's takes, read again (after changes made elsewhere)."""
        return await self.studio.read(self.studio.store.query, limit=QUEUE_RECENT,
                                      profile=self.studio.profile_name)

    @property
    def is_open(self) -> bool:
        """False once the window closed (`close`): nothing is shown any more."""
        return self._open.is_set()

    def close(self) -> None:
        """Stop taking updates and cancel what is in flight (the takes stay resumable)."""
        self._open.clear()
        for unsubscribe in self._unsubscribe:
            self.studio.core.call_soon(unsubscribe)
        self._unsubscribe = []
        self._frame.stop()
        with self._pending_lock:
            self._pending.clear()
        for task in list(self._tasks):
            task.cancel()

    def _from_core(self, job: JobRecord) -> None:  # on the core thread
        if not self._open.is_set():
            return
        with self._pending_lock:
            first = not self._pending
            self._pending.pop(job.id, None)  # only its latest record is kept, moved last
            self._pending[job.id] = job
        if first:  # the GUI thread is told once per batch, not once per update
            with contextlib.suppress(RuntimeError):  # the window is being torn down
                self._job_in.emit()

    def _online_from_core(self, online: bool) -> None:  # on the core thread
        if self._open.is_set():
            with contextlib.suppress(RuntimeError):
                self._online_in.emit(online)

    def _wake(self) -> None:
        if self._open.is_set() and not self._frame.isActive():
            self._frame.start()  # the batch goes out at the end of this frame

    def flush_updates(self) -> None:
        """Deliver the pending updates now: each take's latest record, in the order they
        last changed, the models' row repaints gathered into one per model."""
        self._frame.stop()
        with self._pending_lock:
            jobs, self._pending = list(self._pending.values()), {}
        if not jobs or not self._open.is_set():
            return  # posted before the window closed: nothing to show it in
        charged = False
        with coalesce.batch():
            for job in jobs:
                charged = self._deliver(job) or charged
        self.updates_delivered.emit(len(jobs))
        if charged:
            self.spawn(self.refresh_balance(), "Balance")

    def _deliver(self, job: JobRecord) -> bool:
        """One take's update to the window; True when it may have moved the balance."""
        if job.result_path:
            self.typical.learn(job)
        self.job_changed.emit(job)
        return job.finished and (job.status != "succeeded" or bool(job.result_path))

    def _deliver_online(self, online: bool) -> None:
        if not self._open.is_set():
            return
        self.online_changed.emit(online)
        if online and self._started:
            self.spawn(self.refresh_balance(), "Balance")

    def set_confirmer(self, ask: Callable[[Verdict, SendRequest], Awaitable[bool]]) -> None:
        """The window's confirm step (a bound method, held weakly)."""
        self._ask_confirm = weakref.WeakMethod(ask)  # type: ignore[arg-type]

    # ---- may this be sent? -------------------------------------------------------------------
    def request(self, form: ModelForm | None = None) -> SendRequest | None:
        """What Render would send from `form` (the current form by default)."""
        form = form if form is not None else self.form
        if form is None:
            return None
        return SendRequest("Render", form.model_id, self.mock, form.estimate())

    def refusal(self, request: SendRequest | None, form: ModelForm | None = None) -> str | None:
        """Why `request` may not be sent now, or None: the one decision before every submit
        and retry (and the Render button's state). Guard-rails on spending belong here."""
        if request is None:
            return "Nothing to render here."
        if not self.studio.connected:
            return self.connecting_text()
        if not self.studio.models.knows(request.model_id):  # curated, or listed by the server
            return f"Unknown model {request.model_id!r}."
        if request.job_id is None:
            form = form if form is not None else self.form
            if form is None or form.model_id != request.model_id:
                return "The form for this take is not open."
            if not form.is_submittable():
                return "The form has problems to fix first."
        if request.mock or request.estimate is None or request.estimate.mock:
            return None  # a mock render is free: no cap, no balance
        return self.money_refusal(request.estimate)

    def note_source(self, path: str, job_id: str) -> None:
        """`path` is the result of take `job_id`, put into a form ("Use as…", "Extend"): a
        take sent with it is recorded as made from that take (its lineage)."""
        self.sources[str(path)] = job_id

    def made_from(self, payload: dict[str, Any]) -> str | None:
        """The take whose result this payload uses as an input (the first found), or None."""
        def values(v: Any) -> Any:
            if isinstance(v, dict):
                for x in v.values():
                    yield from values(x)
            elif isinstance(v, list):
                for x in v:
                    yield from values(x)
            elif isinstance(v, str):
                yield v

        return next((self.sources[v] for v in values(payload) if v in self.sources), None)

    def connecting_text(self) -> str:
        """What Render says while the profile's connection is being made, or why it failed."""
        failure = self.studio.connection_failure
        profile = self.studio.profile
        if failure is not None:
            return f"Could not connect: {failure}"
        if profile is None or profile.is_sandbox:
            return "Starting the sandbox…"
        return f"Connecting to {profile.label}…"

    async def _connection_made(self) -> None:
        """Render on once the connection is made; if it cannot be, say why."""
        ok = await self.studio.wait_connected()
        self.update_state()
        if not ok:
            with contextlib.suppress(RuntimeError):
                self.message.emit(self.connecting_text())

    def money_refusal(self, est: Estimate) -> str | None:
        """Why the guard-rails refuse this price now, from the last balance and today's spend
        (the gate checks again, with a fresh balance, right before sending)."""
        gate = self.studio.gate
        if gate is not None and (cap := gate.profile.day_cap) is not None \
                and self.spent_today is not None and price_unknown(est) \
                and self.spent_today >= cap:  # "+ unknown" fits only while some is left
            return (f"Over today's cap: {gate.profile.label} may spend {cap:,} credits a day, "
                    "none are left and this render's price is unknown until the provider "
                    "charges.")
        if gate is not None and (cap := gate.profile.day_cap) is not None \
                and self.spent_today is not None and self.spent_today + est.max > cap:
            left = max(0, cap - self.spent_today)
            return (f"Over today's cap: {gate.profile.label} may spend {cap:,} credits a day, "
                    f"{left:,} are left and this render may cost up to {est.max:,}.")
        if self.balance is not None and est.max > self.balance:
            return (f"Not enough credits: this render may cost up to {est.max:,} and the "
                    f"balance is {self.balance:,} ({est.max - self.balance:,} short).")
        return None

    # ---- the Render button -------------------------------------------------------------------
    def set_form(self, form: ModelForm | None) -> None:
        self.form = form
        self.update_state()

    def set_mock(self, on: bool) -> None:
        self.mock = on
        self.update_state()

    def state(self) -> RenderState:
        st = self._state()
        for hook in self.state_hooks:
            st = hook(st, self.request())
        return st

    def _state(self) -> RenderState:
        form = self.form
        submitting = self.intents.busy(RENDER)
        if not submitting and not self._sticky:
            self._note = ""  # the form lists its own problems
        request = self.request()
        reason = self.refusal(request)
        ok = not submitting and reason is None
        why = "" if ok or submitting else (reason or "")
        note = self._note
        if not note and request is not None and reason and not request.mock \
                and request.estimate is not None and reason == self.money_refusal(
                    request.estimate):
            note = reason  # the form does not say this one: the note does
        if form is None or request is None:
            return RenderState(ok, "Render", note, why)
        if not self.studio.connected:
            text = self.connecting_text()
        elif self._confirming:
            text = "Waiting for your confirmation…"
        elif submitting:
            text = "Sending…"
        elif self.mock:
            text = "Render mock (free)"
        else:
            est = request.estimate
            text = f"Render · {est.text()}" if est is not None else "Render"
        return RenderState(ok, text, note, why)

    def update_state(self) -> None:
        with contextlib.suppress(RuntimeError):  # the window may be gone already
            self.state_changed.emit(self.state())

    def _say_note(self, text: str) -> None:
        self._note, self._sticky = text, True
        self.update_state()

    def say_note(self, text: str) -> None:
        """The note under the form, kept until the next send: a render hook's refusal."""
        self._say_note(text)

    def clear_note(self) -> None:
        """A render hook is sending: the last refusal's note goes (as for a plain take)."""
        self._sticky = False
        self.update_state()

    # ---- render / retry / cancel -------------------------------------------------------------
    def render(self, form: ModelForm | None = None) -> asyncio.Task[None] | None:
        """Submit the form once per intent; the button stays off until the API answered.
        None when the press was a repeat or nothing can be sent."""
        form = form if form is not None else self.form
        if form is not None:
            for hook in self.render_hooks:
                taken = hook(form)
                if taken is not NotImplemented:
                    return taken  # type: ignore[no-any-return]
        request = self.request(form)
        if form is None or self.refusal(request, form) is not None or request is None:
            return None
        key = self.intents.begin(RENDER)
        if key is None:
            return None
        self._sticky = False
        self.update_state()
        payload = form.payload()
        if self.mock:
            payload["mock"] = True
        return self.spawn(self._submit(request, payload, key), "Render")

    async def _submit(self, request: SendRequest, payload: dict[str, Any], key: str) -> None:
        model_id = request.model_id
        manager = self.studio.manager
        try:
            confirmed = await self._confirm(request, payload)
            if confirmed is None:
                return  # refused or declined: said, nothing sent
            job = await self.studio.run(manager.submit(
                model_id, payload, idempotency_key=key, confirmed=confirmed,
                parent_id=self.made_from(payload)))
        except Refused as e:  # the gate, asked again by the manager, refused: nothing sent
            self._say_note(str(e))
            self.submit_failed.emit(str(e))
            self.spawn(self.refresh_balance(), "Balance")
            return
        except TRANSIENT as e:  # stored: it waits in the queue, not failed, not lost
            await self._send_later(key)
            self._say_note(f"Not confirmed yet ({e}). The take waits in the queue and is sent "
                           "by itself, once, when the API answers: no need to press Render "
                           "again.")
            self.out_used.emit(model_id)
            return
        except Exception as e:
            self._say_note(f"Not sent: {e}")
            self.submit_failed.emit(str(e))
            return
        finally:
            self.intents.end(RENDER)
            self.update_state()
        self.sent.emit(job)
        self.out_used.emit(model_id)
        if getattr(job, "is_waiting", False):  # the local queue keeps it until its turn
            self.message.emit(f"Waiting in the queue: {present.task_title(model_id)}; "
                              "nothing is sent or charged until its turn.")
        else:
            self.message.emit(f"Sent: {present.task_title(model_id)} "
                              f"({present.credits_text(job)}).")
        self.submitted.emit(job)
        await self.refresh_balance()

    async def _confirm(self, request: SendRequest, payload: dict[str, Any]) -> bool | None:
        """Ask the gate about this take with a fresh balance: False when it may go as it is,
        True when the user confirmed its price, None when it is refused or declined (said)."""
        if request.mock or payload.get("mock") is True:
            return False
        verdict = await self.studio.check(request.model_id, payload, request.estimate)
        if verdict is None or verdict.allowed or verdict.offline:
            return False  # offline: stored to wait, the balance checked before it is sent
        if verdict.balance is not None:
            self._set_balance(verdict.balance)
        ask = self._ask_confirm() if self._ask_confirm is not None else None
        if not verdict.needs_confirm or ask is None:
            if request.job_id is None:
                self._say_note(verdict.message)
                self.submit_failed.emit(verdict.message)
            else:
                self.message.emit(f"{request.what}: {verdict.message}")
            return None
        self._confirming = True
        self.update_state()
        try:
            yes = await ask(verdict, request)
        finally:
            self._confirming = False
            self.update_state()
        if not yes:
            self.message.emit(f"{request.what}: not sent (not confirmed). Nothing was "
                              "charged.")
            return None
        return True

    async def _send_later(self, key: str) -> None:
        """A take stored but not confirmed: the manager re-sends it, same key and bytes."""
        rec = await self.studio.read(self.studio.store.by_idempotency_key, key)
        if rec is not None:
            await self.studio.run(self.studio.manager.resume(rec.id))

    def retry(self, job: JobRecord, what: str = "Retry") -> asyncio.Task[None] | None:
        """Render a take again once per intent (Retry in the queue, Re-run in history),
        through the same guard-rails and confirm step as Render."""
        mock = job.payload.get("mock") is True
        request = SendRequest(what, job.model_id, mock,
                              _price(job.model_id, job.payload, self.studio.models),
                              job_id=job.id)
        return self._begin_again(request, lambda key: self._retry(job, request, key))

    async def _retry(self, job: JobRecord, request: SendRequest, key: str) -> None:
        manager = self.studio.manager
        new = await self._again(request, job.payload, key, lambda confirmed: manager.retry(
            job.id, idempotency_key=key, confirmed=confirmed))
        if new is not None:
            self.sent.emit(new)
            await self.refresh_balance()

    def promote(self, job: JobRecord) -> asyncio.Task[None] | None:
        """"Promote to paid": a mock take rendered for real, after its price is shown (always,
        whatever the threshold), through the same guard-rails; once per intent."""
        what = PROMOTE
        if job.payload.get("mock") is not True:
            self.message.emit(f"{what}: this take is already a paid render.")
            return None
        payload = promoted(job.payload)
        est = _price(job.model_id, payload, self.studio.models)
        request = SendRequest(what, job.model_id, False, est, job_id=job.id)
        return self._begin_again(request,
                                 lambda key: self._promote(job, payload, request, key))

    def _begin_again(self, request: SendRequest,
                     run: Callable[[str], Coroutine[Any, Any, None]]
                     ) -> asyncio.Task[None] | None:
        """Retry, Re-run, Promote: refused (said), a repeat press (None), or `run(key)`
        spawned under one new intent."""
        reason = self.refusal(request)
        if reason is not None:
            self.message.emit(f"{request.what}: {reason}")
            return None
        key = self.intents.begin(RETRY)
        if key is None:
            return None
        return self.spawn(run(key), request.what)

    async def _promote(self, job: JobRecord, payload: dict[str, Any], request: SendRequest,
                       key: str) -> None:
        manager = self.studio.manager
        new = await self._again(request, payload, key, lambda _confirmed: manager.submit(
            job.model_id, payload, parent_id=job.id, idempotency_key=key, confirmed=True),
            always_ask=True)
        if new is not None:
            self.sent.emit(new)
            self.message.emit(f"Sent for real: {present.task_title(job.model_id)} "
                              f"({present.credits_text(new)}).")
            await self.refresh_balance()

    async def _again(self, request: SendRequest, payload: dict[str, Any], key: str,
                     send: Callable[[bool], Coroutine[Any, Any, JobRecord]], *,
                     always_ask: bool = False) -> JobRecord | None:
        """A take rendered again (Retry, Re-run, Promote): the gate and the confirm step, then
        `send(confirmed)` on the core; None when refused, declined or left to wait (said)."""
        what = request.what
        try:
            confirmed = await (self._show_price(request, payload) if always_ask
                               else self._confirm(request, payload))
            if confirmed is None:
                return None
            return await self.studio.run(send(confirmed))
        except Refused as e:
            self.message.emit(f"{what}: {e}")
            return None
        except TRANSIENT as e:
            await self._send_later(key)
            self.message.emit(f"Not confirmed yet ({e}): the new take waits in the queue and "
                              "is sent by itself, once, when the API answers.")
            return None
        finally:
            self.intents.end(RETRY)

    async def _show_price(self, request: SendRequest, payload: dict[str, Any]) -> bool | None:
        """The price shown whatever the threshold (Promote to paid): True once confirmed."""
        what = request.what
        verdict = await self.studio.check(request.model_id, payload, request.estimate)
        if verdict is not None and not (verdict.allowed or verdict.needs_confirm
                                        or verdict.offline):
            self.message.emit(f"{what}: {verdict.message}")
            return None
        ask = self._ask_confirm() if self._ask_confirm is not None else None
        if ask is None or verdict is None:
            self.message.emit(f"{what}: the price cannot be shown here; not sent.")
            return None
        if not await ask(verdict, request):
            self.message.emit(f"{what}: not sent (not confirmed). Nothing was charged.")
            return None
        return True

    def cancel(self, job_id: str) -> asyncio.Task[None]:
        return self.spawn(self._cancel(job_id), "Cancel")

    async def _cancel(self, job_id: str) -> None:
        job = await self.studio.run(self.studio.manager.cancel(job_id))
        self.flush_updates()  # what came before the cancel's answer is shown before it
        self.job_changed.emit(job)
        await self.refresh_balance()

    async def refresh_balance(self) -> None:
        """The balance and today's spend read again (after each charge and refund)."""
        credits = await self.studio.balance()
        spent = await self.studio.spent_today()
        self.spent_today = spent
        self._set_balance(credits)
        with contextlib.suppress(RuntimeError):
            self.spent_changed.emit(spent)

    def _set_balance(self, credits: int | None) -> None:
        self.balance = credits
        with contextlib.suppress(RuntimeError):  # the window may be gone already
            self.balance_changed.emit(credits)
            self.update_state()

    # ---- tasks on the window's loop ----------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        """Run a coroutine on the window's loop; failures are said, not raised."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                log.info("%s failed: %s", what, exc)
                with contextlib.suppress(RuntimeError):
                    self.message.emit(f"{what} failed: {exc}")

        task.add_done_callback(done)
        return task


def _price(model_id: str, payload: dict[str, Any], models: Any = None) -> Estimate | None:
    """What a take rendered again may cost (None when its parameters no longer price);
    `models`: the profile's `ModelSet` (imported models price through it)."""
    from app.catalog import estimate

    try:
        return models.estimate(model_id, payload) if models is not None else \
            estimate(model_id, payload)
    except Exception:
        return None


def _start_reads(store: JobStore, resumed: list[str], profile: str | None = None
                 ) -> tuple[list[JobRecord], dict[str, list[float]]]:
    """On the core thread: the queue's recent takes of the profile plus those resumed, and
    the run times."""
    recent = store.query(limit=QUEUE_RECENT, profile=profile)
    jobs = {j.id: j for j in recent}
    for job_id in resumed:
        if job_id not in jobs and (rec := store.get(job_id)) is not None:
            jobs[job_id] = rec
    return list(jobs.values()), read_run_times(store)
