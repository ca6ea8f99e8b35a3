"""Presets and prompt history in the window.

The Presets menu saves the form on screen (its model, parameters and references) under a
name, applies any of the model's presets to its form, and manages them (apply, rename,
delete). Each prompt of a take that is sent joins its model's recent prompts, which the prompt
editor offers as it is typed (`app.forms.prompt`). Both are kept in the data folder
(`app.client.presets`); every read and write runs on a worker, and the window works from the
copy in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
)

from app.client.presets import Preset, PresetError, Presets, RecentPrompts
from app.forms.prompt import PromptEditor
from app.ui.feature import WindowFeature
from app.ui.workers import Workers

if TYPE_CHECKING:
    from app.client.store import JobRecord
    from app.ui.window import MainWindow


class PresetsFeature(WindowFeature):
    NAME = "presetsFeature"
    """The Presets menu, its manager dialog and the prompt history of one window."""

    changed = Signal()  # the presets in memory changed (saved, renamed, deleted, loaded)
    said = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        data = Path(window.studio.data_dir)
        self.store = Presets(data / "presets.json")
        self.prompts = RecentPrompts(data / "prompts.json")
        self.presets: list[Preset] = []
        #: the window's project (app.ui.projects sets it): its presets and the global ones are
        #: offered, and a preset saved belongs to it
        self.project = ""
        self.recent: dict[str, list[str]] = {}
        self.loaded = False
        self._workers = Workers(1, self)
        self.name_box: QInputDialog | None = None
        self.manager: PresetManager | None = None
        self.menu = QMenu("&Presets", window)
        self.menu.setObjectName("menu_presets")
        self.save_action = QAction("&Save form as preset…", window)
        self.save_action.setObjectName("act_save_preset")
        self.save_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.save_action.triggered.connect(lambda _=False: self.ask_save())
        self.manage_action = QAction("&Manage presets…", window)
        self.manage_action.setObjectName("act_manage_presets")
        self.manage_action.triggered.connect(lambda _=False: self.open_manager())
        window.addAction(self.save_action)
        self.menu.aboutToShow.connect(self._fill_menu)
        self._fill_menu()
        bar = window.menuBar()
        help_menu = getattr(getattr(window, "menus", None), "menus", {}).get("help")
        bar.insertMenu(help_menu.menuAction(), self.menu) if help_menu is not None else \
            bar.addMenu(self.menu)
        window.form_stack.currentChanged.connect(lambda *_: self._offer_recent())
        window.controller.sent.connect(self._sent)

    def start(self) -> None:
        """Read the presets and recent prompts (on a worker)."""
        def read() -> tuple[list[Preset], dict[str, list[str]]]:
            return self.store.all(), self.prompts._all()

        def done(result: Any) -> None:
            if isinstance(result, Exception):
                self._say(f"Presets could not be read: {result}")
                return
            self.presets, self.recent = result
            self.loaded = True
            self._offer_recent()
            self.changed.emit()

        self._workers.submit(read, on_done=done)

    # ---- the menu ----------------------------------------------------------------------------
    def _model(self) -> str | None:
        w = self.window
        form = w.form if w is not None else None
        return form.model_id if form is not None else None

    def set_project(self, project: str) -> None:
        self.project = project
        self.changed.emit()

    def offered(self) -> list[Preset]:
        """The presets of the window's project and the global ones."""
        return [p for p in self.presets if p.project in ("", self.project)]

    def _fill_menu(self) -> None:
        self.menu.clear()
        self.menu.addAction(self.save_action)
        self.menu.addAction(self.manage_action)
        model = self._model()
        mine = [p for p in self.offered() if p.model_id == model]
        self.save_action.setEnabled(model is not None)
        if mine:
            self.menu.addSeparator()
            for p in sorted(mine, key=lambda p: p.name.lower()):
                act = self.menu.addAction(p.name)
                act.setObjectName(f"act_preset:{p.name}")
                act.triggered.connect(lambda _=False, p=p: self.apply(p))

    # ---- save, apply, rename, delete ----------------------------------------------------------
    def ask_save(self) -> QInputDialog | None:
        w = self.window
        if w is None or w.form is None:
            self._say("Open a form to save it as a preset.")
            return None
        form = w.form
        box = QInputDialog(w)
        box.setWindowTitle("Save as preset")
        box.setLabelText(f"A name for this {form.model_id} preset:")
        box.textValueSelected.connect(lambda name: self.save(name, form.model_id,
                                                             form.payload()))
        box.finished.connect(lambda _r: setattr(self, "name_box", None))
        self.name_box = box
        box.open()
        return box

    def save(self, name: str, model_id: str, payload: dict[str, Any]) -> None:
        def done(result: Any) -> None:
            if isinstance(result, PresetError | OSError):
                self._say(f"The preset was not saved: {result}")
                return
            if isinstance(result, Exception):
                self._say(f"The preset was not saved ({type(result).__name__}).")
                return
            self.presets = [p for p in self.presets if p.key != result.key] + [result]
            self._say(f"Saved preset {result.name!r} for {result.model_id}.")
            self.changed.emit()

        self._workers.submit(self.store.save, name, model_id, payload, self.project,
                             on_done=done)

    def apply(self, preset: Preset) -> bool:
        w = self.window
        return w is not None and w.open_parameters(
            preset.model_id, preset.payload, f"The form holds preset {preset.name!r}.")

    def rename(self, preset: Preset, new: str) -> None:
        def done(result: Any) -> None:
            if isinstance(result, Exception):
                self._say(f"The preset was not renamed: {result}")
                return
            self.presets = [result if p == preset else p for p in self.presets]
            self._say(f"Renamed preset {preset.name!r} to {result.name!r}.")
            self.changed.emit()

        self._workers.submit(self.store.rename, preset.name, preset.model_id, new,
                             preset.project, on_done=done)

    def delete(self, preset: Preset) -> None:
        def done(result: Any) -> None:
            if isinstance(result, Exception):
                self._say(f"The preset was not deleted: {result}")
                return
            self.presets = [p for p in self.presets if p != preset]
            self._say(f"Deleted preset {preset.name!r}.")
            self.changed.emit()

        self._workers.submit(self.store.delete, preset.name, preset.model_id, preset.project,
                             on_done=done)

    def open_manager(self) -> PresetManager:
        if self.manager is None:
            self.manager = PresetManager(self)
        self.manager.refill()
        self.manager.show()
        self.manager.raise_()
        return self.manager

    # ---- prompt history ----------------------------------------------------------------------
    def _prompt_editors(self, form: Any) -> list[PromptEditor]:
        """The form's top-level prompt editors (a shot's prompt is the shot's)."""
        return [e for e in form.findChildren(PromptEditor) if "." not in str(e.path)]

    def _offer_recent(self) -> None:
        w = self.window
        form = w.form if w is not None else None
        if form is None:
            return
        for editor in self._prompt_editors(form):
            editor.set_recent(self.recent.get(form.model_id, []))

    def _sent(self, job: JobRecord) -> None:
        w = self.window
        form = w.forms.get(job.model_id) if w is not None else None
        if form is None:
            return
        texts = [job.payload.get(str(e.path)) for e in self._prompt_editors(form)]
        for text in [t for t in texts if isinstance(t, str) and t.strip()]:
            current = self.recent.get(job.model_id, [])
            self.recent[job.model_id] = [text.strip(), *[p for p in current
                                                        if p != text.strip()]][:20]

            def done(result: Any) -> None:
                if isinstance(result, Exception):
                    self._say(f"The prompt history could not be saved: {result}")

            self._workers.submit(self.prompts.add, job.model_id, text, on_done=done)
        self._offer_recent()


class PresetManager(QDialog):
    """Every preset: apply one to its form, rename it, delete it."""

    def __init__(self, feature: PresetsFeature) -> None:
        super().__init__(feature.window)
        self.setObjectName("presetManager")
        self.setWindowTitle("Presets")
        self.feature = feature
        layout = QVBoxLayout(self)
        self.empty = QLabel("No presets yet: Presets › Save form as preset… keeps the form "
                            "on screen under a name.", self)
        self.empty.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.itemDoubleClicked.connect(lambda _i: self.apply_selected())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.apply_btn = QPushButton("Apply to form", self)
        self.rename_btn = QPushButton("Rename…", self)
        self.delete_btn = QPushButton("Delete", self)
        for b in (self.apply_btn, self.rename_btn, self.delete_btn):
            buttons.addButton(b, QDialogButtonBox.ButtonRole.ActionRole)
        self.apply_btn.clicked.connect(self.apply_selected)
        self.rename_btn.clicked.connect(self.ask_rename)
        self.delete_btn.clicked.connect(self.delete_selected)
        buttons.rejected.connect(self.close)
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.rename_box: QInputDialog | None = None
        self.resize(460, 360)
        feature.changed.connect(self.refill)

    def refill(self) -> None:
        self.list.clear()
        for p in sorted(self.feature.offered(), key=lambda p: (p.model_id, p.name.lower())):
            item = QListWidgetItem(f"{p.name} — {p.model_id}")
            item.setData(256, p)
            self.list.addItem(item)
        self.empty.setVisible(self.list.count() == 0)
        if self.list.count():
            self.list.setCurrentRow(0)
        for b in (self.apply_btn, self.rename_btn, self.delete_btn):
            b.setEnabled(self.list.count() > 0)

    def selected(self) -> Preset | None:
        item = self.list.currentItem()
        return item.data(256) if item is not None else None

    def apply_selected(self) -> None:
        if (p := self.selected()) is not None:
            self.feature.apply(p)

    def delete_selected(self) -> None:
        if (p := self.selected()) is not None:
            self.feature.delete(p)

    def ask_rename(self) -> QInputDialog | None:
        p = self.selected()
        if p is None:
            return None
        box = QInputDialog(self)
        box.setWindowTitle("Rename preset")
        box.setLabelText("New name:")
        box.setTextValue(p.name)
        box.textValueSelected.connect(lambda new: self.feature.rename(p, new))
        self.rename_box = box
        box.open()
        return box


def install(window: MainWindow) -> PresetsFeature:
    return PresetsFeature.install_on(window)


def start(window: MainWindow) -> None:
    feature = window.findChild(PresetsFeature, "presetsFeature")
    if feature is not None:
        feature.start()
