"""The studio window: tasks on the left, the form in the middle, queue and preview on the right.

The window only composes: it builds the widgets and wires them to a `StudioController`
(app/ui/controller.py), which sends every intent to the studio's core loop (the client, the
job manager and the store run on their own thread, app/client/core.py) and brings updates
back as queued Qt signals. What the window remembers is `WindowState` (app/ui/window_state.py),
typical run times are `TypicalTimes` (app/client/typical.py), the screenshot is app/ui/shot.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication
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
from app.client.settings import UiSettings
from app.client.studio import Studio
from app.ui import confirm
from app.ui.controller import RenderState, StudioController
from app.ui.history import HistoryModel
from app.ui.history_panel import HistoryPanel
from app.ui.icons import icon
from app.ui.intent import IntentGate
from app.ui.nav import HISTORY, TaskNav, TierSwitch, model_of_key, more_key
from app.ui.paint import forget_scaled
from app.ui.palette import styled
from app.ui.preview import PreviewWidget
from app.ui.queue import QueueModel, QueuePanel
from app.ui.thumbs import ThumbnailCache
from app.ui.toolbar import StudioToolbar
from app.ui.window_state import WindowState

if TYPE_CHECKING:
    from app.client.guard import Verdict
    from app.client.store import JobRecord
    from app.forms.form import ModelForm
    from app.ui.controller import SendRequest

log = logging.getLogger(__name__)


def build_form(model_id: str, parent: QWidget | None = None) -> ModelForm:
    """The generated form for a model (from app.forms)."""
    from app.forms import build_form as build

    return build(model_id, parent)


RENDER_TIP = "Send this take to the render queue (Ctrl+Enter)"


def double_click_interval_s() -> float:
    """The platform's double-click interval: presses closer than this are one intent."""
    return QGuiApplication.styleHints().mouseDoubleClickInterval() / 1000


class MainWindow(QMainWindow):
    """The studio. Call `await start()` once shown; `await studio.close()` after closing."""

    closed = Signal()
    #: the user chose another profile (Preferences → Use this profile): the app opens it,
    #: keeps this profile's studio running (its renders go on downloading) and shows its window
    switch_requested = Signal(str)
    submitted = Signal(object)  # the JobRecord the API confirmed
    submit_failed = Signal(str)

    def __init__(self, studio: Studio, settings: UiSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.state = WindowState(settings)
        self.settings = self.state.settings
        self.setWindowTitle("Takes")
        self.setObjectName("mainWindow")
        # Deleted by Qt on the GUI thread once closed: left to Python's cycle collector, the
        # window (with its timers and players) could be destroyed on a worker thread.
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.thumbs = ThumbnailCache(studio.thumbs_dir, parent=self)
        self.controller = StudioController(studio, double_click_interval_s, self)
        self.forms: dict[str, ModelForm] = {}
        self._current_model: str | None = None
        self._preview_job: JobRecord | None = None
        self.confirm_box: QMessageBox | None = None
        self.confirm_dialog: confirm.ConfirmSpend | None = None  # the price asked, while open
        self.switch_to: str | None = None  # set when this window closes for another profile
        self.controller.set_confirmer(self._ask_confirm)
        self._build()
        self._wire()
        self.state.restore(self)
        from app.forms import folders
        from app.ui.menus import install_menus

        folders.attach(self)  # Browse… opens in the last folder used, per kind of file
        self.menus = install_menus(self)  # the menu bar, its shortcuts, the quit question
        from app.ui import more_models

        self.more_models = more_models.install(self, load=False)  # read once started
        self.menus.preferences_requested.connect(self.open_preferences)
        self.menus.ledger_requested.connect(self.open_ledger)
        from app.ui import extensions

        extensions.install(self)  # sweeps, the local queue, review, providers' extras

    @property
    def intents(self) -> IntentGate:
        return self.controller.intents

    # ================================================================= construction
    def _build(self) -> None:
        profile = self.studio.profile
        self.toolbar = StudioToolbar(profile.name if profile else None, self)
        self.addToolBar(self.toolbar)
        self.mock_action = self.toolbar.mock_action
        self.offline_label = self.toolbar.offline_label
        self.profile_label = self.toolbar.profile_label
        self.balance_label = self.toolbar.balance_label
        self.nav = TaskNav(self)
        self.create_page = QWidget(self)
        layout = QVBoxLayout(self.create_page)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(self._build_head())
        self.form_stack = QStackedWidget(self)
        self.form_stack.setObjectName("formStack")
        self.no_form = QLabel("", self)
        self.no_form.setWordWrap(True)
        self.no_form.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.form_stack.addWidget(self.no_form)
        layout.addWidget(self.form_stack, 1)
        layout.addLayout(self._build_foot())

        self.history_model = HistoryModel(self.studio.store, self.thumbs, self,
                                          run=self.studio.core.call,
                                          profile=self.studio.profile_name)
        self.history = HistoryPanel(self.history_model, self)
        self.center = QStackedWidget(self)
        self.center.addWidget(self.create_page)
        self.center.addWidget(self.history)
        self.queue_model = QueueModel(self.thumbs, self.controller.typical.get, self)
        self.queue = QueuePanel(self.queue_model, self)
        self.preview = PreviewWidget(self)
        self._build_splitters()
        self.status = QLabel("", self)
        self.statusBar().addWidget(self.status, 1)

    def _build_head(self) -> QHBoxLayout:
        self.tier = TierSwitch(self)
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
        return head

    def _build_foot(self) -> QHBoxLayout:
        self.render_btn = QPushButton("Render", self)
        self.render_btn.setObjectName("renderButton")
        self.render_btn.setIcon(icon("render"))
        self.render_btn.setDefault(True)
        self.render_btn.setMinimumHeight(34)
        self.render_btn.setToolTip(RENDER_TIP)
        self.mock_badge = QLabel("MOCK", self)
        self.mock_badge.setObjectName("mockBadge")
        self.mock_badge.setStyleSheet(styled(
            "background:$mock;color:$on_accent;font-weight:bold;border-radius:4px;"
            "padding:2px 8px;"))
        self.mock_badge.setToolTip("Mock renders are free placeholders, not real generations")
        self.render_note = QLabel("", self)
        self.render_note.setObjectName("renderNote")
        self.render_note.setWordWrap(True)
        foot = QHBoxLayout()
        foot.addWidget(self.render_note, 1)
        foot.addWidget(self.mock_badge)
        foot.addWidget(self.render_btn)
        return foot  # Ctrl+Enter is the Render menu's action (app/ui/menus.py)

    def _build_splitters(self) -> None:
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

    def _wire(self) -> None:
        c = self.controller
        self.mock_action.toggled.connect(self.set_mock)
        self.nav.task_chosen.connect(self._on_task)
        self.tier.tier_changed.connect(self._on_tier)
        self.render_btn.clicked.connect(self.render)
        self.history.take_selected.connect(self._show_job)
        self.history.play_requested.connect(self._play_job)
        self.history.rerun_requested.connect(lambda job: c.retry(job, "Re-run"))
        self.history.promote_requested.connect(c.promote)
        self.history.open_requested.connect(self.ask_open_in_form)
        self.history.message.connect(self._say)
        self.history.take_deleted.connect(self._on_deleted, Qt.ConnectionType.QueuedConnection)
        self.queue.cancel_requested.connect(self.cancel)
        self.queue.retry_requested.connect(self.retry)
        self.queue.job_selected.connect(self._show_job)
        c.state_changed.connect(self._show_render_state)
        c.job_changed.connect(self._on_job)
        c.online_changed.connect(self.toolbar.set_online)
        c.balance_changed.connect(self._show_balance)
        c.spent_changed.connect(self._show_spent)
        c.message.connect(self._say)
        c.sent.connect(self._on_sent)
        c.out_used.connect(self._next_out)
        c.submitted.connect(self.submitted)
        c.submit_failed.connect(self.submit_failed)

    # ================================================================= lifecycle
    async def start(self) -> None:
        """Resume unfinished jobs, fill the queue and history, show the balance. The window
        closed meanwhile (the user quit at once) ends it quietly: what is in flight is
        cancelled and nothing is filled into a window that is gone."""
        if self.controller.started:
            return
        try:
            await self._start()
        except (asyncio.CancelledError, RuntimeError):
            if self.controller.is_open:
                raise

    async def _start(self) -> None:
        info = await self.controller.start()
        if not self.controller.is_open:
            return
        self.more_models.start()  # the server's other models, read on the core meanwhile
        from app.ui import extensions

        extensions.start(self)
        self.queue_model.load(info.queue)
        self.history_model.reload()
        if info.resumed:
            n = info.resumed
            self._say(f"Resumed {n} unfinished take{'s' if n != 1 else ''}.")
        await self.controller.refresh_balance()

    async def reload_views(self) -> None:
        """Read the queue and history again from the store (after changes made elsewhere)."""
        self.queue_model.load(await self.controller.recent())
        self.history_model.reload()

    def save_settings(self) -> None:
        """What the window remembers, written off the GUI thread (on the studio's core)."""
        self.state.save(self, self.studio.core.call_soon)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._shut_dialogs()
        self.save_settings()
        self.controller.close()
        self.preview.unload()
        self.history_model.close()
        self.thumbs.close()  # its pixmaps (and the scaled copies) freed here, on the GUI thread
        forget_scaled()
        super().closeEvent(event)
        self.closed.emit()

    # ================================================================= preferences, ledger
    def open_preferences(self) -> QWidget:
        """Preferences: profiles (add, edit, test, use), the theme, where results land."""
        from app.ui.preferences import open_preferences

        dlg = open_preferences(self)
        if not dlg.property("takesWired"):
            dlg.setProperty("takesWired", True)
            dlg.profile_chosen.connect(self.switch_profile)
            dlg.theme_chosen.connect(self.set_theme)
            dlg.profiles_changed.connect(self._profiles_changed)
        return dlg

    def open_ledger(self) -> QWidget:
        """The ledger: estimate vs charge per take, totals per day and profile, CSV."""
        from app.ui.ledger_view import open_ledger

        view = open_ledger(self)
        if not view.property("takesWired"):
            view.setProperty("takesWired", True)
            self.controller.balance_changed.connect(view.refresh_soon)  # after each charge
        return view

    def _shut_dialogs(self) -> None:
        """Preferences and the ledger stop their workers (only if they were ever opened)."""
        import sys

        if "app.ui.preferences" in sys.modules:
            from app.ui.preferences import PreferencesDialog

            for dlg in self.findChildren(PreferencesDialog):
                dlg.shutdown()
        if "app.ui.ledger_view" in sys.modules:
            from app.ui.ledger_view import LedgerView

            for view in self.findChildren(LedgerView):
                view.shutdown()

    def set_theme(self, choice: str) -> None:
        from PySide6.QtWidgets import QApplication

        from app.ui.theme import apply_theme

        try:
            apply_theme(QApplication.instance(), choice)
        except ValueError:
            return
        self.settings.set("theme", choice)

    def switch_profile(self, name: str) -> None:
        """Show another profile's queue and history (the app makes the switch, see
        app/ui/main.py); this profile's renders keep running."""
        if name == self.studio.profile_name:
            self._say(f"Already on {name}.")
            return
        self._say(f"Opening profile {name}…")
        self.switch_requested.emit(name)

    def _profiles_changed(self) -> None:
        self.controller.spawn(self._reread_profile(), "Profile")

    async def _reread_profile(self) -> None:
        """The active profile edited: new limits apply at once (the gate on the core), a new
        URL or key opens the profile again."""
        from pathlib import Path

        from app.client.profiles import Profiles

        current, gate = self.studio.profile, self.studio.gate
        if current is None or gate is None:
            return
        path = Path(self.studio.data_dir) / "profiles.json"
        fresh = await asyncio.to_thread(lambda: Profiles(path).find(current.name))
        if fresh is None:
            return
        if (fresh.base_url, fresh.key_storage) != (current.base_url, current.key_storage):
            self.switch_requested.emit(fresh.name)
            return
        if fresh != gate.profile:
            await self.studio.read(setattr, gate, "profile", fresh)
            self.studio.profile = fresh
            if (conn := self.studio.connection) is not None:
                conn.profile = fresh
            await self.controller.refresh_balance()
            self._say(f"{fresh.label}: confirm above "
                      f"{fresh.confirm_threshold or 'off'}, daily cap {fresh.day_cap or 'off'}.")

    def bring_to_front(self) -> None:
        """Show, raise and activate the window (a second start asked for it)."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def _say(self, text: str) -> None:
        with contextlib.suppress(RuntimeError):  # the window may be gone already
            self.status.setText(text)

    # ================================================================= tasks and forms
    def _on_task(self, key: str) -> None:
        if key == HISTORY:
            self.center.setCurrentWidget(self.history)
            return
        self.center.setCurrentWidget(self.create_page)
        if (model_id := model_of_key(key)) is not None:  # a row under "More models"
            self.tier.setVisible(False)
            self.show_model(model_id)
            return
        task = self.nav.tasks[key]
        self.tier.setVisible(len(task.models) > 1)
        self.show_model(task.model_for(self.tier.tier() if len(task.models) > 1 else None))

    def _on_tier(self, tier: str) -> None:
        key = self.nav.current_key()
        if key in self.nav.tasks and len(self.nav.tasks[key].models) > 1:
            self.show_model(self.nav.tasks[key].model_for(tier))

    def choose_task(self, key: str, tier: str | None = None) -> None:
        if tier:
            self.tier.set_tier(tier)
        self.nav.choose(key)

    def show_model(self, model_id: str) -> None:
        spec = MODELS.get(model_id)
        if spec is not None:
            self.task_title.setText(present.TASK_NAMES.get(spec.task, spec.task_label))
            self.model_label.setToolTip(f"{spec.name}: {spec.task_label}")
            self.nav.set_model_shown(spec.task, model_id)
        else:  # a model the profile's server lists beyond the curated seven
            self.task_title.setText(self.studio.models.name(model_id))
            self.model_label.setToolTip(f"{model_id}: from the server's model list")
        self.model_label.setText(model_id)
        form = self.form_for(model_id)
        # `form` names the new model before the stack says it switched: its listeners (the
        # recent prompts, the Edit menu's undo) ask the window which form is shown
        self._current_model = model_id
        self.form_stack.setCurrentWidget(form if form is not None else self.no_form)
        self.controller.set_form(form)

    def form_for(self, model_id: str) -> ModelForm | None:
        """The (cached) form of a model, with its last-used values restored."""
        if model_id in self.forms:
            return self.forms[model_id]
        imported = self.studio.models.get_imported(model_id)
        if imported is None and model_id not in MODELS:
            return None  # not served by this profile (any more)
        form = build_form(imported or model_id, self)  # type: ignore[arg-type]
        if self.out_pattern():
            form.refresh_out(self.out_pattern())
        self.state.restore_form(form)
        form.set_mock(self.mock_action.isChecked())
        form.validation_changed.connect(lambda *_: self._form_changed(form))
        form.estimate_changed.connect(lambda *_: self._form_changed(form))
        self.forms[model_id] = form
        self.form_stack.addWidget(form)  # the form scrolls itself, its footer stays put
        return form

    @property
    def form(self) -> ModelForm | None:
        """The form on screen (None on the history page or without forms)."""
        if self.center.currentWidget() is not self.create_page or self._current_model is None:
            return None
        return self.forms.get(self._current_model)

    def _form_changed(self, form: ModelForm) -> None:
        if form is self.controller.form:
            self.controller.update_state()

    def _show_render_state(self, state: RenderState) -> None:
        self.render_btn.setEnabled(state.enabled)
        self.render_btn.setText(state.text)
        self.render_note.setText(state.note)
        # a disabled button says why (its tooltip still shows while it is off)
        self.render_btn.setToolTip(state.reason or RENDER_TIP)

    async def _ask_confirm(self, verdict: Verdict, request: SendRequest) -> bool:
        """The confirm step above the profile's threshold: True only for "Render for …"."""
        self.confirm_dialog, answer = confirm.ask(self, verdict, request)
        try:
            return await answer
        finally:
            self.confirm_dialog = None

    def _next_out(self, model_id: str) -> None:
        form = self.forms.get(model_id)
        if form is not None:
            form.refresh_out(self.out_pattern())  # the next take gets its own file

    def out_pattern(self) -> str | None:
        """The naming pattern chosen under Preferences → Results (None: the default)."""
        pattern = self.settings.get("out_pattern")
        return pattern if isinstance(pattern, str) and pattern.strip() else None

    # ================================================================= mock
    def set_mock(self, on: bool) -> None:
        if self.mock_action.isChecked() != on:
            self.mock_action.setChecked(on)
            return
        for form in self.forms.values():
            form.set_mock(on)
        self.mock_badge.setVisible(on)
        self.setWindowTitle("Takes — MOCK renders (free)" if on else "Takes")
        self.controller.set_mock(on)

    # ================================================================= intents
    def render(self) -> asyncio.Task[None] | None:
        """Submit the form on screen once per intent (see StudioController.render)."""
        form = self.form
        if form is None:
            return None
        task = self.controller.render(form)
        if task is not None:
            self.state.remember_form(form)
        return task

    def cancel(self, job_id: str) -> asyncio.Task[None]:
        return self.controller.cancel(job_id)

    def retry(self, job_id: str, what: str = "Retry") -> asyncio.Task[None] | None:
        """Render a take of the queue again once per intent."""
        job = self.queue_model.job(job_id)
        if job is None:
            self._say(f"{what}: the take is not in the queue.")
            return None
        return self.controller.retry(job, what)

    # ================================================================= updates
    def _on_sent(self, job: JobRecord) -> None:
        self.queue_model.upsert(job)
        self.queue.select(job.id)

    def _show_balance(self, credits: int | None) -> None:
        with contextlib.suppress(RuntimeError):
            self.balance_label.setText(f"Credits: {credits:,}" if credits is not None
                                       else "Credits: —")

    def _show_spent(self, spent: int | None) -> None:
        gate = self.studio.gate
        cap = gate.profile.day_cap if gate is not None else None
        with contextlib.suppress(RuntimeError):
            self.balance_label.setToolTip(
                f"Today: {spent:,} of the {cap:,} credits a day this profile may spend"
                if spent is not None and cap is not None else
                "The account's credits, read again after each charge and refund")

    def _on_job(self, job: JobRecord) -> None:
        self.queue_model.upsert(job)
        self.history_model.upsert(job)
        if self._preview_job is not None and self._preview_job.id == job.id:
            self._show_job(job)

    def _on_deleted(self, job_id: str) -> None:
        self.queue_model.remove(job_id)
        if self._preview_job is not None and self._preview_job.id == job_id:
            self._show_job(None)

    def _show_job(self, job: JobRecord | None) -> None:
        self._preview_job = job
        if job is None:
            self.preview.show_message("Select a take to preview it.")
            return
        title = f"{present.task_title(job.model_id)} · " \
                f"{present.excerpt(present.take_words(job), 50)}"
        if job.status == "succeeded" and job.result_path:
            src = present.source_media(job.model_id, job.payload)
            compare = src if present.task_of(job.model_id) in present.COMPARE_TASKS else None
            self.preview.load(str(job.result_path), compare, title=title, mock=bool(job.mock))
        elif job.status == "succeeded":
            self.preview.show_message("Downloading the result…", title, bool(job.mock))
        else:
            self.preview.show_message(present.status_text(job), title, bool(job.mock))

    def _play_job(self, job: JobRecord | None) -> None:
        self._show_job(job)
        if job is not None and job.result_path:
            self.preview.play()

    # ================================================================= open in form
    def ask_open_in_form(self, job: JobRecord) -> QMessageBox:
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

    def _open_answer(self, job: JobRecord, yes: bool) -> None:
        self.confirm_box = None
        if yes:
            self.open_in_form(job)

    @property
    def shown_job(self) -> JobRecord | None:
        """The take the preview shows (None: none)."""
        return self._preview_job

    def open_in_form(self, job: JobRecord) -> None:
        self.open_parameters(job.model_id, job.payload)

    def open_parameters(self, model_id: str, payload: dict[str, Any],
                        said: str = "The form holds the take's parameters: change them and "
                                    "render again.") -> bool:
        """Show `model_id`'s form holding `payload` (a take's, or an exported file's); False
        for a model this profile does not render."""
        spec = MODELS.get(model_id)
        if spec is not None:
            self.choose_task(spec.task, spec.tier)
        elif self.studio.models.get_imported(model_id) is not None:
            self.nav.choose(more_key(model_id))  # under "More models"
        else:
            return False
        self.show_model(model_id)
        form = self.forms.get(model_id)
        if form is None:
            return False
        form.set_payload({**form.payload(), **{k: v for k, v in payload.items() if k != "mock"}})
        self._say(said)
        return True
