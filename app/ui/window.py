"""The studio window: tasks on the left, the form in the middle, queue and preview on the right.

The job manager runs on the Qt event loop through qasync; the window subscribes to it and only
renders state. Store reads, thumbnails and media decoding happen on worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QShortcut,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.catalog import MODELS
from app.client import present
from app.client.manager import TRANSIENT
from app.client.settings import UiSettings
from app.client.studio import Studio
from app.ui.history import HistoryModel
from app.ui.history_panel import HistoryPanel
from app.ui.icons import icon
from app.ui.intent import RENDER, RETRY, IntentGate
from app.ui.nav import HISTORY, TaskNav, TierSwitch
from app.ui.paint import forget_scaled
from app.ui.preview import PreviewWidget
from app.ui.queue import QueueModel, QueuePanel
from app.ui.thumbs import ThumbnailCache
from app.ui.toolbar import StudioToolbar

log = logging.getLogger(__name__)
QUEUE_RECENT = 50
TYPICAL_SAMPLE = 20
SAVED_WITHOUT = ("out", "mock")  # a fresh output name each start; mock is the window's toggle


def build_form(model_id: str, parent: QWidget | None = None) -> Any:
    """The generated form for a model (from app.forms)."""
    from app.forms import build_form as build

    return build(model_id, parent)


def double_click_interval_s() -> float:
    """The platform's double-click interval: presses closer than this are one intent."""
    return QGuiApplication.styleHints().mouseDoubleClickInterval() / 1000


def _each(*calls: Callable[[], Any]) -> Callable[[], None]:
    """One function that calls each of `calls` (several unsubscribes as one)."""
    def call_each() -> None:
        for call in calls:
            call()

    return call_each


class _Bridge(QObject):
    """Carries job-manager callbacks into the Qt event queue (never re-entering a slot)."""

    job = Signal(object)
    online = Signal(bool)


class MainWindow(QMainWindow):
    """The studio. Call `await start()` once shown; `await studio.close()` after closing."""

    closed = Signal()
    submitted = Signal(object)  # the JobRecord the API confirmed
    submit_failed = Signal(str)

    def __init__(self, studio: Studio, settings: UiSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.settings = settings or UiSettings()
        self.setWindowTitle("Takes")
        self.setObjectName("mainWindow")
        # Deleted by Qt on the GUI thread once closed: left to Python's cycle collector, the
        # window (with its timers and players) could be destroyed on a worker thread.
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.thumbs = ThumbnailCache(studio.thumbs_dir, parent=self)
        self.forms: dict[str, Any] = {}
        self._form_pages: dict[str, QWidget] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.intents = IntentGate(double_click_interval_s)
        self._durations: dict[str, list[float]] = {}
        self._typical: dict[str, float | None] = {}
        self._preview_job: Any = None
        self._unsubscribe: Any = None
        self._started = False
        self.confirm_box: QMessageBox | None = None
        self._bridge = _Bridge(self)
        self._bridge.job.connect(self._on_job, Qt.ConnectionType.QueuedConnection)
        self._bridge.online.connect(self._show_online, Qt.ConnectionType.QueuedConnection)
        self._build()
        self._restore()

    # ================================================================= construction
    def _build(self) -> None:
        self._build_toolbar()
        self.nav = TaskNav(self)
        self.nav.task_chosen.connect(self._on_task)

        self.tier = TierSwitch(self)
        self.tier.tier_changed.connect(self._on_tier)
        self.task_title = QLabel("", self)
        self.task_title.setObjectName("taskTitle")
        f = self.task_title.font()
        f.setPointSizeF(f.pointSizeF() * 1.5)
        f.setBold(True)
        self.task_title.setFont(f)
        self.model_label = QLabel("", self)
        self.model_label.setObjectName("modelLabel")
        self.model_label.setStyleSheet("color: palette(mid);")
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.task_title)
        titles.addWidget(self.model_label)
        head.addLayout(titles, 1)
        head.addWidget(self.tier, 0, Qt.AlignmentFlag.AlignTop)

        self.form_stack = QStackedWidget(self)
        self.form_stack.setObjectName("formStack")
        self.no_form = QLabel("", self)
        self.no_form.setWordWrap(True)
        self.no_form.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.form_stack.addWidget(self.no_form)

        self.render_btn = QPushButton("Render", self)
        self.render_btn.setObjectName("renderButton")
        self.render_btn.setIcon(icon("render"))
        self.render_btn.setDefault(True)
        self.render_btn.setMinimumHeight(34)
        self.render_btn.setToolTip("Send this take to the render queue (Ctrl+Enter)")
        self.render_btn.clicked.connect(self.render)
        self.mock_badge = QLabel("MOCK", self)
        self.mock_badge.setStyleSheet(
            "background:#e08a1e;color:white;font-weight:bold;border-radius:4px;padding:2px 8px;")
        self.mock_badge.setToolTip("Mock renders are free placeholders, not real generations")
        self.render_note = QLabel("", self)
        self.render_note.setObjectName("renderNote")
        self.render_note.setWordWrap(True)
        foot = QHBoxLayout()
        foot.addWidget(self.render_note, 1)
        foot.addWidget(self.mock_badge)
        foot.addWidget(self.render_btn)
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.setAutoRepeat(False)  # a held key is one press
            sc.activated.connect(self.render)

        self.create_page = QWidget(self)
        cl = QVBoxLayout(self.create_page)
        cl.setContentsMargins(8, 8, 8, 8)
        cl.addLayout(head)
        cl.addWidget(self.form_stack, 1)
        cl.addLayout(foot)

        self.history_model = HistoryModel(self.studio.store, self.thumbs, self)
        self.history = HistoryPanel(self.history_model, self)
        self.history.take_selected.connect(self._show_job)
        self.history.play_requested.connect(self._play_job)
        self.history.rerun_requested.connect(self._rerun)
        self.history.open_requested.connect(self.ask_open_in_form)
        self.history.message.connect(self._say)
        self.history.take_deleted.connect(self._on_deleted, Qt.ConnectionType.QueuedConnection)

        self.center = QStackedWidget(self)
        self.center.addWidget(self.create_page)
        self.center.addWidget(self.history)

        self.queue_model = QueueModel(self.thumbs, self._typical.get, self)
        self.queue = QueuePanel(self.queue_model, self)
        self.queue.cancel_requested.connect(self.cancel)
        self.queue.retry_requested.connect(self.retry)
        self.queue.job_selected.connect(self._show_job)
        self.preview = PreviewWidget(self)

        self.right = QSplitter(Qt.Orientation.Vertical, self)
        self.right.setObjectName("rightSplitter")
        self.right.addWidget(self.queue)
        self.right.addWidget(self.preview)
        self.right.setSizes([380, 320])
        self.main_split = QSplitter(Qt.Orientation.Horizontal, self)
        self.main_split.setObjectName("mainSplitter")
        self.main_split.addWidget(self.nav)
        self.main_split.addWidget(self.center)
        self.main_split.addWidget(self.right)
        self.main_split.setStretchFactor(1, 3)
        self.main_split.setStretchFactor(2, 2)
        self.main_split.setSizes([180, 780, 460])
        self.setCentralWidget(self.main_split)
        self.status = QLabel("", self)
        self.statusBar().addWidget(self.status, 1)

    def _build_toolbar(self) -> None:
        profile = getattr(self.studio.connection, "profile", None)
        self.toolbar = StudioToolbar(getattr(profile, "name", None), self)
        self.addToolBar(self.toolbar)
        self.mock_action = self.toolbar.mock_action
        self.mock_action.toggled.connect(self.set_mock)
        self.offline_label = self.toolbar.offline_label
        self.profile_label = self.toolbar.profile_label
        self.balance_label = self.toolbar.balance_label

    # ================================================================= settings
    def _restore(self) -> None:
        s = self.settings
        geometry = s.get_bytes("geometry")
        if geometry:
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 820)
        for key, splitter in self._splitters().items():
            state = s.get_bytes(key)
            if state:
                splitter.restoreState(state)
        self.tier.set_tier(s.get("animate_tier", "standard"))
        self.queue.hide_finished.setChecked(bool(s.get("hide_finished", False)))
        self.mock_action.setChecked(bool(s.get("mock", False)))
        self.set_mock(self.mock_action.isChecked())
        self.nav.choose(s.get("task", "create"))
        if self.nav.current_key() is None:
            self.nav.choose("create")

    def _splitters(self) -> dict[str, QSplitter]:
        return {"main_splitter": self.main_split, "right_splitter": self.right,
                "history_splitter": self.history.splitter}

    def save_settings(self) -> None:
        s = self.settings
        s.set_bytes("geometry", self.saveGeometry().data())
        for key, splitter in self._splitters().items():
            s.set_bytes(key, splitter.saveState().data())
        s.set("animate_tier", self.tier.tier())
        s.set("hide_finished", self.queue.hide_finished.isChecked())
        s.set("mock", self.mock_action.isChecked())
        s.set("task", self.nav.current_key() or "create")
        for model_id, form in self.forms.items():
            s.set_form_values(model_id, self._saved_values(form))
        try:
            s.save()
        except OSError as e:
            log.warning("could not save the window settings: %s", e)

    @staticmethod
    def _saved_values(form: Any) -> dict[str, Any]:
        return {k: v for k, v in form.payload().items() if k not in SAVED_WITHOUT}

    # ================================================================= lifecycle
    async def start(self) -> None:
        """Resume unfinished jobs, fill the queue and history, show the balance."""
        if self._started:
            return
        self._started = True
        manager = self.studio.manager
        self._unsubscribe = _each(manager.subscribe(self._bridge.job.emit),
                                  manager.subscribe_online(self._bridge.online.emit))
        self.toolbar.set_online(manager.online)
        resumed = await self.studio.manager.start()
        store = self.studio.store
        recent = await asyncio.to_thread(store.query, limit=QUEUE_RECENT)
        jobs = {j.id: j for j in recent}
        for j in resumed:
            jobs.setdefault(j.id, store.get(j.id) or j)
        self.queue_model.load(list(jobs.values()))
        await self._load_typical()
        self.history_model.reload()
        if resumed:
            n = len(resumed)
            self._say(f"Resumed {n} unfinished take{'s' if n != 1 else ''}.")
        await self.refresh_balance()

    async def reload_views(self) -> None:
        """Read the queue and history again from the store (after changes made elsewhere)."""
        recent = await asyncio.to_thread(self.studio.store.query, limit=QUEUE_RECENT)
        self.queue_model.load(recent)
        self.history_model.reload()

    async def _load_typical(self) -> None:
        store = self.studio.store

        def read() -> dict[str, list[float]]:
            out: dict[str, list[float]] = {}
            for mid in MODELS:
                jobs = store.query(model_id=mid, status="succeeded", limit=TYPICAL_SAMPLE)
                out[mid] = [t for j in jobs if (t := present.run_seconds(j)) is not None]
            return out

        self._durations = await asyncio.to_thread(read)
        for mid, times in self._durations.items():
            self._typical[mid] = present.typical_duration_of(times)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()
        self.preview.unload()
        self.history_model.close()
        self.thumbs.close()  # its pixmaps (and the scaled copies) freed here, on the GUI thread
        forget_scaled()
        super().closeEvent(event)
        self.closed.emit()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        """Run a coroutine on the loop; failures are said in the status bar, not raised."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                log.info("%s failed: %s", what, exc)
                self._say(f"{what} failed: {exc}")

        task.add_done_callback(done)
        return task

    def bring_to_front(self) -> None:
        """Show, raise and activate the window (a second start asked for it)."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def _show_online(self, online: bool) -> None:
        """Offline is said plainly, and only that: no take is failed for it."""
        self.toolbar.set_online(online)
        if online and self._started:
            self.spawn(self.refresh_balance(), "Balance")

    def _say(self, text: str) -> None:
        with contextlib.suppress(RuntimeError):  # the window may be gone already
            self.status.setText(text)

    # ================================================================= tasks and forms
    def _on_task(self, key: str) -> None:
        if key == HISTORY:
            self.center.setCurrentWidget(self.history)
            return
        self.center.setCurrentWidget(self.create_page)
        task = self.nav.tasks[key]
        self.tier.setVisible(len(task.models) > 1)
        self.show_model(task.model_for(self.tier.tier() if len(task.models) > 1 else None))

    def _on_tier(self, tier: str) -> None:
        key = self.nav.current_key()
        if key and key != HISTORY and len(self.nav.tasks[key].models) > 1:
            self.show_model(self.nav.tasks[key].model_for(tier))

    def choose_task(self, key: str, tier: str | None = None) -> None:
        if tier:
            self.tier.set_tier(tier)
        self.nav.choose(key)

    def show_model(self, model_id: str) -> None:
        spec = MODELS[model_id]
        self.task_title.setText(present.TASK_NAMES.get(spec.task, spec.task_label))
        self.model_label.setText(model_id)
        self.model_label.setToolTip(f"{spec.name}: {spec.task_label}")
        self.nav.set_model_shown(spec.task, model_id)
        form = self.form_for(model_id)
        page = self._form_pages.get(model_id)
        self.form_stack.setCurrentWidget(page if page is not None else self.no_form)
        self._current_model = model_id
        self._update_render(form)

    def form_for(self, model_id: str) -> Any:
        """The (cached) form of a model, with its last-used values restored."""
        if model_id in self.forms:
            return self.forms[model_id]
        try:
            form = build_form(model_id, self)
        except ImportError as e:
            self.no_form.setText(f"Forms are not available in this build ({e}).")
            return None
        saved = self.settings.form_values(model_id)
        if saved:
            try:
                form.set_payload({**form.payload(), **saved})
            except Exception as e:  # an old or foreign value: start from the defaults
                log.info("could not restore the %s form: %s", model_id, e)
        form.set_mock(self.mock_action.isChecked())
        form.validation_changed.connect(lambda *_: self._update_render(form))
        form.estimate_changed.connect(lambda *_: self._update_render(form))
        self.forms[model_id] = form
        self._form_pages[model_id] = form  # the form scrolls itself, its footer stays put
        self.form_stack.addWidget(form)
        return form

    @property
    def form(self) -> Any:
        """The form on screen (None on the history page or without forms)."""
        if self.center.currentWidget() is not self.create_page:
            return None
        return self.forms.get(getattr(self, "_current_model", ""))

    def _update_render(self, form: Any = None) -> None:
        if form is not None and form is not self.forms.get(getattr(self, "_current_model", "")):
            return
        form = self.forms.get(getattr(self, "_current_model", ""))
        submitting = self.intents.busy(RENDER)
        ok = form is not None and bool(form.is_submittable()) and not submitting
        self.render_btn.setEnabled(ok)
        if form is None:
            self.render_btn.setText("Render")
            return
        est = form.estimate()
        if self.mock_action.isChecked():
            self.render_btn.setText("Render mock (free)")
        else:
            self.render_btn.setText(f"Render · {est.text()}" if est is not None else "Render")
        if submitting:
            self.render_btn.setText("Sending…")
        if not submitting and self.render_note.property("sticky") is not True:
            self.render_note.setText("")  # the form lists its own problems

    # ================================================================= mock
    def set_mock(self, on: bool) -> None:
        if self.mock_action.isChecked() != on:
            self.mock_action.setChecked(on)
            return
        for form in self.forms.values():
            form.set_mock(on)
        self.mock_badge.setVisible(on)
        self.setWindowTitle("Takes — MOCK renders (free)" if on else "Takes")
        self._update_render()

    # ================================================================= render / cancel / retry
    def render(self) -> asyncio.Task[Any] | None:
        """Submit the current form once per intent (see app.ui.intent); the button stays off
        until the API answered. None when the press was a repeat or nothing can be sent."""
        form = self.form
        if form is None or not form.is_submittable():
            return None
        key = self.intents.begin(RENDER)
        if key is None:
            return None
        self.render_note.setProperty("sticky", False)
        self._update_render()
        payload = form.payload()
        if self.mock_action.isChecked():
            payload["mock"] = True
        self.settings.set_form_values(form.model_id, self._saved_values(form))
        return self.spawn(self._submit(form.model_id, payload, key), "Render")

    async def _submit(self, model_id: str, payload: dict[str, Any], key: str) -> None:
        try:
            job = await self.studio.manager.submit(model_id, payload, idempotency_key=key)
        except TRANSIENT as e:  # stored: it waits in the queue, not failed, not lost
            await self._send_later(key)
            self._note(f"Not confirmed yet ({e}). The take waits in the queue and is sent by "
                       "itself, once, when the API answers: no need to press Render again.")
            self._next_out(model_id)
            return
        except Exception as e:
            self._note(f"Not sent: {e}")
            self.submit_failed.emit(str(e))
            return
        finally:
            self.intents.end(RENDER)
            with contextlib.suppress(RuntimeError):
                self._update_render()
        self.queue_model.upsert(job)
        self.queue.select(job.id)
        self._next_out(model_id)
        self._say(f"Sent: {present.task_title(model_id)} ({present.credits_text(job)}).")
        self.submitted.emit(job)
        await self.refresh_balance()

    async def _send_later(self, key: str) -> None:
        rec = await asyncio.to_thread(self.studio.store.by_idempotency_key, key)
        if rec is not None:
            await self.studio.manager.resume(rec.id)  # re-sent with the same key and bytes

    def _note(self, text: str) -> None:
        self.render_note.setText(text)
        self.render_note.setProperty("sticky", True)

    def _next_out(self, model_id: str) -> None:
        form = self.forms.get(model_id)
        if form is not None and hasattr(form, "refresh_out"):
            form.refresh_out()  # the next take gets its own file

    def cancel(self, job_id: str) -> asyncio.Task[Any]:
        return self.spawn(self._cancel(job_id), "Cancel")

    async def _cancel(self, job_id: str) -> None:
        job = await self.studio.manager.cancel(job_id)
        self.queue_model.upsert(job)
        await self.refresh_balance()

    def retry(self, job_id: str, what: str = "Retry") -> asyncio.Task[Any] | None:
        """Render a take again once per intent (Retry in the queue, Re-run in history)."""
        key = self.intents.begin(RETRY)
        if key is None:
            return None
        return self.spawn(self._retry(job_id, key), what)

    def _rerun(self, job: Any) -> None:
        self.retry(job.id, "Re-run")

    async def _retry(self, job_id: str, key: str) -> None:
        try:
            job = await self.studio.manager.retry(job_id, idempotency_key=key)
        except TRANSIENT as e:
            await self._send_later(key)
            self._say(f"Not confirmed yet ({e}): the new take waits in the queue and is sent "
                      "by itself, once, when the API answers.")
            return
        finally:
            self.intents.end(RETRY)
        self.queue_model.upsert(job)
        self.queue.select(job.id)
        await self.refresh_balance()

    async def refresh_balance(self) -> None:
        credits = await self.studio.balance()
        with contextlib.suppress(RuntimeError):
            self.balance_label.setText(f"Credits: {credits:,}" if credits is not None
                                       else "Credits: —")

    # ================================================================= job updates
    def _on_job(self, job: Any) -> None:
        self.queue_model.upsert(job)
        self.history_model.upsert(job)
        if job.status == "succeeded" and job.result_path:
            self._learn_duration(job)
        if self._preview_job is not None and self._preview_job.id == job.id:
            self._show_job(job)
        if (job.finished and job.status != "succeeded") or (job.finished and job.result_path):
            self.spawn(self.refresh_balance(), "Balance")

    def _on_deleted(self, job_id: str) -> None:
        self.queue_model.remove(job_id)
        if self._preview_job is not None and self._preview_job.id == job_id:
            self._show_job(None)

    def _learn_duration(self, job: Any) -> None:
        t = present.run_seconds(job)
        if t is None:
            return
        times = self._durations.setdefault(job.model_id, [])
        times.insert(0, t)
        del times[TYPICAL_SAMPLE:]
        self._typical[job.model_id] = present.typical_duration_of(times)

    def _show_job(self, job: Any) -> None:
        self._preview_job = job
        if job is None:
            self.preview.show_message("Select a take to preview it.")
            return
        title = f"{present.task_title(job.model_id)} · " \
                f"{present.excerpt(present.prompt_of(job.payload), 50)}"
        if job.status == "succeeded" and job.result_path:
            src = present.source_media(job.model_id, job.payload)
            compare = src if present.task_of(job.model_id) in present.COMPARE_TASKS else None
            self.preview.load(str(job.result_path), compare, title=title, mock=bool(job.mock))
        elif job.status == "succeeded":
            self.preview.show_message("Downloading the result…", title, bool(job.mock))
        else:
            self.preview.show_message(present.status_text(job), title, bool(job.mock))

    def _play_job(self, job: Any) -> None:
        self._show_job(job)
        if job is not None and job.result_path:
            self.preview.play()

    # ================================================================= open in form
    def ask_open_in_form(self, job: Any) -> QMessageBox:
        """Ask before a take's parameters replace what the form holds now."""
        box = QMessageBox(QMessageBox.Icon.Question, "Open in form",
                          f"Replace the {present.task_title(job.model_id)} form's current "
                          "values with this take's parameters?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.finished.connect(lambda _r: self._open_answer(
            job, box.clickedButton() == box.button(QMessageBox.StandardButton.Yes)))
        self.confirm_box = box
        box.open()
        return box

    def _open_answer(self, job: Any, yes: bool) -> None:
        self.confirm_box = None
        if yes:
            self.open_in_form(job)

    def open_in_form(self, job: Any) -> None:
        spec = MODELS.get(job.model_id)
        if spec is None:
            return
        self.choose_task(spec.task, spec.tier)
        self.show_model(job.model_id)
        form = self.forms.get(job.model_id)
        if form is not None:
            payload = {k: v for k, v in job.payload.items() if k != "mock"}
            form.set_payload({**form.payload(), **payload})
            self._say("The form holds the take's parameters: change them and render again.")

    # ================================================================= misc
    def screenshot(self, path: str) -> bool:
        """The window as a PNG, with the video frame the native video surface shows."""
        pixmap = self.grab()
        video = self.preview.video
        if self.preview.stack.currentWidget() is video and video.isVisible():
            image = self.preview.current_image()
            box = QRect(video.mapTo(self, QPoint(0, 0)), video.size())
            painter = QPainter(pixmap)
            painter.fillRect(box, QColor("black"))
            if not image.isNull():
                size = image.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
                x = box.x() + (box.width() - size.width()) // 2
                y = box.y() + (box.height() - size.height()) // 2
                painter.drawImage(QRect(x, y, size.width(), size.height()), image)
            painter.end()
        return pixmap.save(path)
