"""Preferences: profiles (add, edit, test, remove, use), appearance (the theme) and results
(the work folder and the `out` naming pattern). GUI thread; files and keys on a worker.

    dialog = open_preferences(window)   # once per window: again shows the same dialog
    dialog.profile_chosen.connect(switch_to)     # "Use this profile": the window switches
    dialog.theme_chosen.connect(apply)           # "dark" | "light" | "system"

The dialog stores the theme (settings key "theme"), the work folder ("work_folder") and the
naming pattern ("out_pattern") in the window's `UiSettings` and writes the settings file on a
worker; it does not switch the window's profile itself (`profile_chosen` says which; the
window decides, and saves it as the active one when the switch worked).
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.catalog.wrapper import OUT_TOKENS, expand_out, out_pattern_problem, out_problem
from app.client.profiles import (
    SANDBOX_NAME,
    KeyStorage,
    Profile,
    ProfileError,
    Profiles,
    check_profile,
    get_key,
)
from app.client.settings import UiSettings
from app.ui import theme as themes
from app.ui.icons import icon, icon_size
from app.ui.profile_editor import (
    ProfileEditor,
    Tasks,
    connected_text,
    follow_theme,
    message_label,
    restyle,
    say,
)
from app.ui.workers import Workers

if TYPE_CHECKING:
    from app.ui.window import MainWindow

log = logging.getLogger(__name__)

OBJECT_NAME = "preferences"
THEME_KEY = "theme"
WORK_FOLDER_KEY = "work_folder"
OUT_PATTERN_KEY = "out_pattern"
DEFAULT_OUT_PATTERN = "takes/{model}-{date}-{time}.mp4"
TOKEN_WORDS = {"task": "the task (animate, restyle…)", "model": "the model's id",
               "date": "the day, 2026-12-03", "time": "the time, 14-05-09",
               "n": "1, 2, 3… the first number whose file does not exist yet"}
NameRole = Qt.ItemDataRole.UserRole
PAGES = (("profile", "Profiles"), ("takes", "Appearance"), ("reveal", "Results"))


def pattern_problem(pattern: str) -> str | None:
    """What the core says about a naming pattern (its tokens, then the `out` rules applied to
    an example expansion); None when it is fine."""
    problem = out_pattern_problem(pattern)
    if problem:
        return problem
    return out_problem(example_out(pattern))


def example_out(pattern: str) -> str:
    return expand_out(pattern, task="animate", model="kling_v3_pro_i2v",
                      when=datetime.now().replace(microsecond=0))


def check_folder(path: str) -> str:
    """A work folder the user chose (on a worker): an existing folder they can write in."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        raise ProfileError(f"Choose a whole folder path, not {path!r}")
    if not p.exists():
        raise ProfileError(f"The folder {p} does not exist")
    if not p.is_dir():
        raise ProfileError(f"{p} is a file, not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise ProfileError(f"You cannot write in {p}: choose a folder of yours")
    return str(p.resolve())


def default_folder() -> str:
    from app.client.workfolder import default_work_dir

    return str(default_work_dir())  # platformdirs reads user-dirs.dirs: a worker calls this


def _ignore(_result: Any) -> None:
    pass


def saved_key(profile: Profile) -> str | None:
    """The saved key of a profile (on a worker: the keyring)."""
    return get_key(profile)


class PreferencesDialog(QDialog):
    profile_chosen = Signal(str)  # "Use this profile": its name
    profile_removed = Signal(str)
    profiles_changed = Signal()  # added, edited or removed
    theme_chosen = Signal(str)  # a key of app.ui.theme.CHOICES

    def __init__(self, profiles: Profiles, settings: UiSettings,
                 parent: QWidget | None = None, active: str = SANDBOX_NAME, *,
                 workers: Workers | None = None, check_wait_s: float = 10.0) -> None:
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.setWindowTitle("Preferences")
        self.profiles = profiles
        self.settings = settings
        self.active = active
        self.check_wait_s = check_wait_s
        # one thread: settings and profiles.json are written in the order they were changed
        self.tasks = Tasks(workers or Workers(1, self), self)
        self.tasks.own_workers = workers is None
        self.known: list[Profile] = []
        self.editor: ProfileEditor | None = None
        self.confirm_box: QMessageBox | None = None
        self.folder_dialog: QFileDialog | None = None
        self.loaded: asyncio.Task[Any] | None = None
        self.resize(760, 480)

        self.pages_list = QListWidget(self)
        self.pages_list.setObjectName("preferencePages")
        self.pages_list.setIconSize(icon_size(24))
        self.pages_list.setFixedWidth(170)
        self.pages = QStackedWidget(self)
        for (name, title), page in zip(PAGES, (self._profiles_page(), self._appearance_page(),
                                               self._results_page()), strict=True):
            item = QListWidgetItem(icon(name), title, self.pages_list)
            item.setSizeHint(QSize(150, 34))
            self.pages.addWidget(page)
        self.pages_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.pages_list.setCurrentRow(0)
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        body = QHBoxLayout()
        body.addWidget(self.pages_list)
        body.addWidget(self.pages, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(body, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        self.reload()
        self.tasks.spawn(self._load_folder(), self._failed)
        follow_theme(self._theme_changed)

    def _theme_changed(self, _theme: str) -> None:
        restyle(self)
        self._show_profiles()  # icons drawn in the new colours
        for (name, _page), i in zip(PAGES, range(self.pages_list.count()), strict=True):
            self.pages_list.item(i).setIcon(icon(name))
        for button, name in ((self.add_btn, "profile"), (self.test_btn, "retry"),
                             (self.remove_btn, "delete"), (self.folder_btn, "reveal")):
            button.setIcon(icon(name))

    # ---- profiles ----------------------------------------------------------------------
    def _profiles_page(self) -> QWidget:
        page = QWidget(self)
        self.profile_list = QListWidget(page)
        self.profile_list.setObjectName("profileList")
        self.profile_list.setIconSize(icon_size(24))
        self.profile_list.currentItemChanged.connect(self._selection_changed)
        self.profile_list.itemDoubleClicked.connect(self.edit_selected)
        self.add_btn = QPushButton(icon("profile"), "Add…", page)
        self.add_btn.setToolTip("Add an API profile: a base URL and a key, tested first")
        self.edit_btn = QPushButton("Edit…", page)
        self.test_btn = QPushButton(icon("retry"), "Test", page)
        self.test_btn.setToolTip("Ask the API for the account's balance (GET /v1/account)")
        self.remove_btn = QPushButton(icon("delete"), "Remove", page)
        self.use_btn = QPushButton("Use this profile", page)
        self.use_btn.setToolTip("Switch the window to this profile (the others' renders "
                                "keep running)")
        self.profile_msg = message_label(page, "muted")
        self.profile_msg.setObjectName("profileMessage")
        self.add_btn.clicked.connect(self.add_profile)
        self.edit_btn.clicked.connect(self.edit_selected)
        self.test_btn.clicked.connect(self.test_selected)
        self.remove_btn.clicked.connect(self.remove_selected)
        self.use_btn.clicked.connect(self.use_selected)
        side = QVBoxLayout()
        for b in (self.add_btn, self.edit_btn, self.test_btn, self.remove_btn):
            side.addWidget(b)
        side.addStretch(1)
        side.addWidget(self.use_btn)
        top = QHBoxLayout()
        top.addWidget(self.profile_list, 1)
        top.addLayout(side)
        lay = QVBoxLayout(page)
        heading = QLabel("Where renders are sent. The built-in sandbox is free play; an API "
                         "profile spends real credits.", page)
        heading.setWordWrap(True)
        lay.addWidget(heading)
        lay.addLayout(top, 1)
        lay.addWidget(self.profile_msg)
        return page

    def reload(self, select: str | None = None) -> asyncio.Task[Any] | None:
        """Read the profiles again (profiles.json, on a worker) and list them, `select`
        chosen (else the one chosen now)."""
        self.loaded = self.tasks.spawn(self._reload(select), self._failed)
        return self.loaded

    async def _reload(self, select: str | None = None) -> None:
        self.known = await self.tasks.off(self.profiles.all)
        self._show_profiles(select)

    def _show_profiles(self, select: str | None = None) -> None:
        chosen = self.selected()
        keep = select or (chosen.name if chosen else self.active)
        self.profile_list.clear()
        for p in self.known:  # the built-in sandbox first (Profiles.all)
            active = p.name == self.active
            item = QListWidgetItem(icon("profile" if not p.is_sandbox else "takes"),
                                   p.label + ("  \u2014 in use" if active else ""))
            item.setData(NameRole, p.name)
            item.setToolTip(self._describe(p))
            if active:
                f = QFont(item.font())
                f.setBold(True)
                item.setFont(f)
            self.profile_list.addItem(item)
            if p.name == keep:
                self.profile_list.setCurrentItem(item)
        if self.profile_list.currentItem() is None and self.profile_list.count():
            self.profile_list.setCurrentRow(0)
        self._selection_changed()

    @staticmethod
    def _describe(p: Profile) -> str:
        def limit(v: int | None) -> str:
            return "off" if v is None else f"{v:,} credits"

        where = "Runs inside Takes, free play credits" if p.is_sandbox else \
            f"{p.base_url} \u2014 key kept " + {
                KeyStorage.KEYRING: "in the system keyring",
                KeyStorage.SESSION: "for this session only",
                KeyStorage.FILE: "in a plain-text file"}[p.key_storage]
        return (f"{where}\nAsk before spending more than: {limit(p.confirm_threshold)}\n"
                f"Daily cap: {limit(p.day_cap)}")

    def selected(self) -> Profile | None:
        item = self.profile_list.currentItem()
        name = item.data(NameRole) if item is not None else None
        return next((p for p in self.known if p.name == name), None)

    def select(self, name: str) -> None:
        for i in range(self.profile_list.count()):
            if self.profile_list.item(i).data(NameRole) == name:
                self.profile_list.setCurrentRow(i)
                return

    def _selection_changed(self, *_: Any) -> None:
        p = self.selected()
        for b in (self.edit_btn, self.test_btn, self.remove_btn, self.use_btn):
            b.setEnabled(p is not None)
        if p is None:
            return
        self.remove_btn.setEnabled(not p.is_sandbox)
        self.remove_btn.setToolTip("The built-in sandbox cannot be removed" if p.is_sandbox
                                   else "Remove this profile and its saved key (its takes "
                                   "stay in the history)")
        self.edit_btn.setToolTip("Change the sandbox's guard-rails" if p.is_sandbox else
                                 "Change the name, URL, key or guard-rails")
        self.use_btn.setEnabled(p.name != self.active)

    def _open_editor(self, profile: Profile | None) -> ProfileEditor:
        if self.editor is not None:
            self.editor.deleteLater()
        ed = ProfileEditor(self.profiles, self, profile=profile, workers=self.tasks.workers,
                           check_wait_s=self.check_wait_s)
        ed.saved.connect(self._edited)
        self.editor = ed
        ed.open()
        return ed

    def add_profile(self) -> ProfileEditor:
        return self._open_editor(None)

    def edit_selected(self, *_: Any) -> ProfileEditor | None:
        p = self.selected()
        return self._open_editor(p) if p is not None else None

    def _edited(self, profile: Profile) -> None:
        old = self.editor.original if self.editor is not None else None
        if old is not None and old.name == self.active and profile.name != old.name:
            self.active = profile.name  # renamed in use: the window's profile is this one
        say(self.profile_msg, f"Saved {profile.label}.", "success")
        self.profiles_changed.emit()
        self.reload(select=profile.name)  # listed and chosen in the same turn

    def test_selected(self) -> asyncio.Task[Any] | None:
        p = self.selected()
        if p is None:
            return None
        if p.is_sandbox:
            say(self.profile_msg, "The built-in sandbox runs inside Takes: there is nothing "
                "to test.", "muted")
            return None
        self.test_btn.setEnabled(False)
        return self.tasks.spawn(self._test(p), self._failed)

    async def _test(self, p: Profile) -> None:
        say(self.profile_msg, f"Testing {p.label}…", "muted")
        try:
            key = await self.tasks.off(saved_key, p)
        except ProfileError as e:
            key = None
            say(self.profile_msg, str(e), "error")
        else:
            if not key:
                say(self.profile_msg, f"No key is saved for {p.name!r}" + (
                    " (it was kept for the session only): Edit… and type it again"
                    if p.key_storage is KeyStorage.SESSION else ": Edit… and type it again"),
                    "error")
        if key:
            check = await check_profile(p.base_url or "", key, wait_s=self.check_wait_s)
            del key
            say(self.profile_msg, f"{p.label}: " + (
                connected_text(check) if check.ok else check.message),
                "success" if check.ok else "error")
        self._selection_changed()

    def remove_selected(self) -> QMessageBox | None:
        """Ask, then remove the selected profile (never the sandbox)."""
        p = self.selected()
        if p is None or p.is_sandbox:
            if p is not None:
                say(self.profile_msg, "The built-in sandbox cannot be removed.", "error")
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Remove profile",
                          f"Remove the profile {p.label!r} and its saved key?\n\nIts takes "
                          "stay in the history and the ledger.", parent=self)
        box.setObjectName("removeProfile")
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(_r: int) -> None:
            self.confirm_box = None
            if box.clickedButton() is remove:
                self.tasks.spawn(self._remove(p), self._failed)
            box.deleteLater()

        box.finished.connect(answered)
        self.confirm_box = box
        box.open()
        return box

    async def _remove(self, p: Profile) -> None:
        await self.tasks.off(self.profiles.remove, p.name)
        say(self.profile_msg, f"Removed {p.label} (its takes stay in the history).", "muted")
        if p.name == self.active:
            self.active = SANDBOX_NAME
        self.profile_removed.emit(p.name)
        self.profiles_changed.emit()
        await self._reload()

    def use_selected(self) -> None:
        p = self.selected()
        if p is None or p.name == self.active:
            return
        self.active = p.name
        self._show_profiles()
        say(self.profile_msg, f"Using {p.label}.", "muted")
        self.profile_chosen.emit(p.name)

    def set_active(self, name: str) -> None:
        """The window's profile changed (by this dialog or elsewhere): mark it."""
        self.active = name
        self._show_profiles()

    # ---- appearance --------------------------------------------------------------------
    def _appearance_page(self) -> QWidget:
        page = QWidget(self)
        lay = QVBoxLayout(page)
        lay.addWidget(QLabel("Theme", page))
        self.theme_group = QButtonGroup(page)
        self.theme_buttons: dict[str, QRadioButton] = {}
        current = self.settings.get(THEME_KEY, themes.DEFAULT)
        if current not in themes.CHOICES:
            current = themes.DEFAULT
        for key, words in themes.CHOICES.items():
            b = QRadioButton(words, page)
            b.setObjectName(f"theme-{key}")
            b.setChecked(key == current)
            b.toggled.connect(self._theme_toggled)
            self.theme_group.addButton(b)
            self.theme_buttons[key] = b
            lay.addWidget(b)
        note = QLabel("\u201cFollow the system\u201d switches with the desktop's light or dark "
                      "setting.", page)
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        lay.addWidget(note)
        lay.addStretch(1)
        return page

    def _theme_toggled(self, on: bool) -> None:
        chosen = next((k for k, b in self.theme_buttons.items() if b.isChecked()), None)
        if on and chosen is not None:
            self.choose_theme(chosen)

    def choose_theme(self, choice: str) -> None:
        if choice not in themes.CHOICES:
            raise ValueError(f"unknown theme {choice!r}")
        self.theme_buttons[choice].setChecked(True)
        if self.settings.get(THEME_KEY) != choice:
            self.settings.set(THEME_KEY, choice)
            self.save_settings()
        self.theme_chosen.emit(choice)

    # ---- results -----------------------------------------------------------------------
    def _results_page(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.folder_edit = QLineEdit(page)
        self.folder_edit.setObjectName("workFolder")
        self.folder_edit.setReadOnly(True)
        self.folder_btn = QPushButton(icon("reveal"), "Change…", page)
        self.folder_btn.clicked.connect(self.choose_work_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.folder_btn)
        form.addRow("Work folder", row)
        self.folder_msg = message_label(page)
        form.addRow("", self.folder_msg)
        self.out_edit = QLineEdit(self.settings.get(OUT_PATTERN_KEY) or DEFAULT_OUT_PATTERN,
                                  page)
        self.out_edit.setObjectName("outPattern")
        self.out_edit.textChanged.connect(self._pattern_edited)
        self.out_edit.editingFinished.connect(self.store_pattern)
        form.addRow("File names", self.out_edit)
        self.out_msg = message_label(page)
        self.out_example = message_label(page, "muted")
        form.addRow("", self.out_msg)
        form.addRow("", self.out_example)
        tokens = QLabel("\n".join(f"{{{t}}}  {TOKEN_WORDS.get(t, t)}" for t in OUT_TOKENS),
                        page)
        tokens.setTextFormat(Qt.TextFormat.PlainText)
        tokens.setStyleSheet("color: palette(mid);")
        form.addRow("Tokens", tokens)
        never = QLabel("An existing file is never overwritten: the new one is numbered.", page)
        never.setWordWrap(True)
        form.addRow("", never)
        self._pattern_edited(self.out_edit.text())
        return page

    async def _load_folder(self) -> None:
        chosen = self.settings.get(WORK_FOLDER_KEY)
        shown = chosen if isinstance(chosen, str) and chosen else \
            await self.tasks.off(default_folder)
        self.folder_edit.setText(shown)
        self.folder_edit.setToolTip(shown if chosen else f"{shown} (the default)")

    def choose_work_folder(self) -> QFileDialog:
        dlg = QFileDialog(self, "Choose the work folder", self.folder_edit.text())
        dlg.setObjectName("workFolderDialog")
        dlg.setFileMode(QFileDialog.FileMode.Directory)
        dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dlg.fileSelected.connect(self.set_work_folder)
        dlg.finished.connect(dlg.deleteLater)
        self.folder_dialog = dlg
        dlg.open()
        return dlg

    def set_work_folder(self, path: str) -> asyncio.Task[Any] | None:
        """Check a chosen folder (on a worker), then store it ("work_folder")."""
        return self.tasks.spawn(self._set_folder(path), self._failed)

    async def _set_folder(self, path: str) -> None:
        try:
            folder = await self.tasks.off(check_folder, path)
        except ProfileError as e:
            say(self.folder_msg, f"{e}: the work folder stays {self.folder_edit.text()}")
            return
        say(self.folder_msg, "")
        self.folder_edit.setText(folder)
        self.folder_edit.setToolTip(folder)
        self.settings.set(WORK_FOLDER_KEY, folder)
        self.save_settings()

    def _pattern_edited(self, text: str) -> None:
        try:
            problem = pattern_problem(text)
        except ValueError as e:
            problem = str(e)
        say(self.out_msg, problem or "")
        say(self.out_example, "" if problem else f"For example: {example_out(text)}")

    def store_pattern(self) -> bool:
        """Store the pattern when the core accepts it ("out_pattern"); else its message stays
        beside the field and nothing is stored."""
        text = self.out_edit.text()
        if pattern_problem(text):
            return False
        if self.settings.get(OUT_PATTERN_KEY) != text:
            self.settings.set(OUT_PATTERN_KEY, text)
            self.save_settings()
        return True

    # ---- writing -----------------------------------------------------------------------
    def save_settings(self) -> None:
        """The settings file written on the worker (a snapshot taken here)."""
        self.tasks.workers.submit(self.settings.write, self.settings.snapshot(),
                                  on_done=_ignore, on_error=self._write_failed)

    def _write_failed(self, exc: BaseException) -> None:
        log.warning("could not save the preferences: %s", exc)
        say(self.profile_msg if self.pages.currentIndex() == 0 else self.folder_msg,
            f"The preferences could not be saved ({exc})", "error")

    def _failed(self, exc: BaseException) -> None:
        say(self.profile_msg, str(exc) if isinstance(exc, ProfileError) else
            f"Something went wrong ({type(exc).__name__})", "error")
        self._selection_changed()

    def closeEvent(self, event: Any) -> None:
        self.store_pattern()
        super().closeEvent(event)

    def done(self, r: int) -> None:
        self.store_pattern()
        if self.editor is not None and self.editor.isVisible():
            self.editor.reject()
        super().done(r)

    def shutdown(self) -> None:
        """Stop its tasks and workers (the window calls this when it closes)."""
        self.tasks.close()


def open_preferences(window: MainWindow) -> PreferencesDialog:
    """The window's Preferences dialog, shown (made once; again returns the same one)."""
    dlg = window.findChild(PreferencesDialog, OBJECT_NAME)
    if dlg is None:
        studio = window.studio
        active = getattr(studio, "profile_name", None) or SANDBOX_NAME
        dlg = PreferencesDialog(Profiles(Path(studio.data_dir) / "profiles.json"),
                                window.settings, window, active)
    else:
        dlg.reload()
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg
