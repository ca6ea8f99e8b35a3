"""The window's menu bar (File, Edit, View, Render, Help) and its keys (GUI thread only).

    menus = install_menus(window)        # once per window; again returns the same StudioMenus
    menus.preferences_requested.connect(open_preferences)
    menus.ledger_requested.connect(open_ledger)

Every key the window answers is a QAction (or a QShortcut) installed here or by the widgets,
so Help → Keyboard shortcuts lists what is really there (app/ui/about.py reads them back).

Keys that act "whenever focus is not in a text field" (`,` and `.` step a frame, Space plays
or pauses, Delete, Undo): Qt's text fields claim plain keys before any shortcut sees them
(they accept the ShortcutOverride event), and should a shortcut fire with one focused anyway,
the key is handed to the field instead (`_keyed`): typing a prompt never steps the preview.
A focused button keeps its Space the same way (pressing it from the keyboard).

Closing: Quit (Ctrl+Q) and the title bar go through the quit question (app/ui/quitting.py);
`window.close()` called by code closes at once.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QDesktopServices,
    QKeyEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.ui.icons import icon
from app.ui.workers import Workers

if TYPE_CHECKING:
    from app.ui.about import AboutDialog, ShortcutsDialog
    from app.ui.quitting import QuitGuard
    from app.ui.window import MainWindow

log = logging.getLogger(__name__)

SK = QKeySequence.StandardKey
THEME_KEY = "theme"


def is_text_field(widget: QWidget | None) -> bool:
    """A widget that takes typed text: plain keys belong to it, not to the window."""
    if widget is None:
        return False
    if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit | QAbstractSpinBox):
        return True
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    # a spin box's or an editable combo's own line edit is a QLineEdit already (above)
    return False


def keeps_key(widget: QWidget | None, seq: QKeySequence) -> bool:
    """The focused widget keeps this key: a text field keeps every plain key, a button its
    Space (the keyboard's way to press it)."""
    if is_text_field(widget):
        return True
    return isinstance(widget, QAbstractButton) and not seq.isEmpty() and \
        seq[0].key() == Qt.Key.Key_Space


def keys(standard: QKeySequence.StandardKey, *fallback: str) -> list[QKeySequence]:
    """The platform's keys for a standard action, or `fallback` where it has none (Linux has
    no Preferences key: Ctrl+, there)."""
    found = [k for k in QKeySequence.keyBindings(standard) if not k.isEmpty()]
    return found or [QKeySequence(f) for f in fallback]


def _send_key(widget: QWidget, seq: QKeySequence, action: QAction) -> None:
    """Hand the key of `seq` to `widget` as typed (press and release), `action` off meanwhile
    (a key event sent to a widget meets the shortcut map again)."""
    combo = seq[0]
    key, mods = combo.key(), combo.keyboardModifiers()
    text = QKeySequence(key).toString() if mods == Qt.KeyboardModifier.NoModifier else ""
    if key == Qt.Key.Key_Space:
        text = " "
    elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
        text = ""
    was = action.isEnabled()
    action.setEnabled(False)
    try:
        for kind in (QKeyEvent.Type.KeyPress, QKeyEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, key, mods, text))
    finally:
        action.setEnabled(was)


class _KeyWatch(QObject):
    """Notes which action its key (a QEvent.Shortcut) is triggering, as opposed to a click."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.pressed: tuple[QObject, QKeySequence] | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Shortcut:
            self.pressed = (watched, QKeySequence(event.key()))
        return False


class StudioMenus(QObject):
    """The menu bar of one window, its actions by name (`actions`), and the quit question."""

    preferences_requested = Signal()
    ledger_requested = Signal()
    message = Signal(str)  # said in the window's status line

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("studioMenus")
        # weakly: the window holds `window.menus`; a strong reference back would put the
        # window's wrapper in a cycle only the collector frees (on whichever thread runs it)
        self._window = weakref.ref(window)
        self.actions: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        self.about_box: AboutDialog | None = None
        self.shortcuts_box: ShortcutsDialog | None = None
        self._workers = Workers(1, self)
        self._key_watch = _KeyWatch(self)
        self._undo_watched: list[Any] = []
        self._themed: list[tuple[QAction, str]] = []
        self._theme_watched = False
        self.message.connect(window._say)
        bar = window.menuBar()
        bar.setObjectName("menuBar")
        self._file(bar.addMenu("&File"))
        self._edit(bar.addMenu("&Edit"))
        self._view(bar.addMenu("&View"))
        self._render(bar.addMenu("&Render"))
        self._help(bar.addMenu("&Help"))
        self._take_over_window_keys()
        self._wire_panels()
        from app.ui.quitting import QuitGuard

        self.quitting: QuitGuard = QuitGuard(window, self)
        self._watch_theme()

    @property
    def window(self) -> MainWindow:
        w = self._window()
        if w is None:
            raise RuntimeError("the window is gone")
        return w

    # ================================================================= building
    def _act(self, name: str, text: str, slot: Callable[[], Any] | None = None, *,
             shortcuts: list[QKeySequence] | None = None, icon_name: str | None = None,
             tip: str = "", typed: bool = False) -> QAction:
        """An action on the window (its keys work wherever focus is in the window)."""
        act = QAction(text, self.window)
        act.setObjectName(f"act_{name}")
        if icon_name:
            act.setIcon(icon(icon_name))
            self._themed.append((act, icon_name))
        if shortcuts:
            act.setShortcuts(shortcuts)
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.setAutoRepeat(name in ("step_back", "step_forward"))  # held: frame after frame
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        if slot is not None:
            act.triggered.connect(self._keyed(act, slot) if typed else (lambda _=False: slot()))
        self.window.addAction(act)
        self.actions[name] = act
        return act

    def _keyed(self, act: QAction, slot: Callable[[], Any]) -> Callable[..., None]:
        """`slot`, unless the focused widget keeps the key (`keeps_key`): then it gets it."""
        act.installEventFilter(self._key_watch)

        def run(_checked: bool = False) -> None:
            by_key, self._key_watch.pressed = self._key_watch.pressed, None
            focus = QApplication.focusWidget()
            if by_key is not None and by_key[0] is act and keeps_key(focus, by_key[1]):
                _send_key(focus, by_key[1], act)
                return
            slot()
        return run

    def _menu(self, bar_menu: QMenu, key: str) -> QMenu:
        bar_menu.setObjectName(f"menu_{key}")
        bar_menu.setToolTipsVisible(True)
        self.menus[key] = bar_menu
        return bar_menu

    def _file(self, m: QMenu) -> None:
        m = self._menu(m, "file")
        m.addAction(self._act("preferences", "&Preferences…", self.preferences_requested.emit,
                              shortcuts=keys(SK.Preferences, "Ctrl+,"),
                              tip="Profiles, guard-rails, the work folder"))
        m.addAction(self._act("ledger", "&Ledger…", self.ledger_requested.emit,
                              icon_name="credits", tip="Estimated and charged credits per take"))
        m.addSeparator()
        m.addAction(self._act("results_folder", "Open &results folder", self.open_results_folder,
                              icon_name="reveal", tip="Where finished takes are saved"))
        m.addSeparator()
        quit_ = self._act("quit", "&Quit", lambda: self.quitting.request_quit(),
                          shortcuts=keys(SK.Quit, "Ctrl+Q"))
        quit_.setMenuRole(QAction.MenuRole.QuitRole)
        m.addAction(quit_)

    def _edit(self, m: QMenu) -> None:
        m = self._menu(m, "edit")
        undo = self._act("undo_reference", "&Undo removal of a reference", self.undo_reference,
                         shortcuts=keys(SK.Undo, "Ctrl+Z"), typed=True,
                         tip="Put back the reference removed last from the form")
        m.addAction(undo)
        m.addSeparator()
        m.addAction(self._act("delete", "&Delete", self.delete_selected,
                              shortcuts=keys(SK.Delete, "Del"), icon_name="delete", typed=True,
                              tip="Delete the selected take (history) or remove it from the "
                                  "queue (an unfinished one is cancelled, after asking)"))
        m.addSeparator()
        m.addAction(self._act("find", "&Find in history", self.find_in_history,
                              shortcuts=keys(SK.Find, "Ctrl+F"), icon_name="history",
                              tip="Search every take's prompt"))
        m.aboutToShow.connect(self.update_undo)

    def _view(self, m: QMenu) -> None:
        from app.ui.theme import CHOICES, DEFAULT

        m = self._menu(m, "view")
        theme_menu = m.addMenu("&Theme")
        theme_menu.setObjectName("menu_theme")
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        chosen = self.window.settings.get(THEME_KEY, DEFAULT)
        for choice, label in CHOICES.items():
            act = self._act(f"theme_{choice}", label)
            act.setCheckable(True)
            act.setChecked(choice == chosen)
            act.setData(choice)
            act.triggered.connect(lambda _=False, c=choice: self.set_theme(c))
            self.theme_group.addAction(act)
            theme_menu.addAction(act)
        m.addSeparator()
        hide = self._act("hide_finished", "&Hide finished takes",
                         tip="Show only the queue's takes still rendering")
        hide.setCheckable(True)
        box = self.window.queue.hide_finished
        hide.setChecked(box.isChecked())
        hide.toggled.connect(box.setChecked)
        box.toggled.connect(hide.setChecked)
        m.addAction(hide)
        m.addAction(self.window.mock_action)
        m.addSeparator()
        m.addSection("Preview")
        p = self.window.preview
        m.addAction(self._act("play", "&Play / pause", p.toggle_play,
                              shortcuts=[QKeySequence(Qt.Key.Key_Space)], icon_name="play",
                              typed=True, tip="Play or pause the preview"))
        m.addAction(self._act("step_back", "Previous &frame", lambda: p.step(-1),
                              shortcuts=[QKeySequence(Qt.Key.Key_Comma)], typed=True,
                              tip="One frame back (the preview pauses)"))
        m.addAction(self._act("step_forward", "&Next frame", lambda: p.step(1),
                              shortcuts=[QKeySequence(Qt.Key.Key_Period)], typed=True,
                              tip="One frame forward (the preview pauses)"))

    def _render(self, m: QMenu) -> None:
        m = self._menu(m, "render")
        m.addAction(self._act("render", "&Render", self.window.render,
                              shortcuts=[QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")],
                              icon_name="render", tip="Send this take to the render queue"))
        self.actions["render"].setAutoRepeat(False)  # a held key is one press
        m.addAction(self.window.mock_action)
        m.addSeparator()
        q = self.window.queue
        for name, text, source in (("cancel", "&Cancel selected take", q.act_cancel),
                                   ("retry", "Re&try selected take", q.act_retry)):
            act = self._act(name, text, source.trigger, icon_name=name, tip=source.toolTip())
            act.setEnabled(source.isEnabled())
            source.changed.connect(lambda a=act, s=source: a.setEnabled(s.isEnabled()))
            m.addAction(act)

    def _help(self, m: QMenu) -> None:
        m = self._menu(m, "help")
        m.addAction(self._act("shortcuts", "&Keyboard shortcuts", self.show_shortcuts,
                              shortcuts=keys(SK.HelpContents, "F1")))
        m.addAction(self._act("log_folder", "Open &log folder", self.open_log_folder,
                              icon_name="reveal", tip="The folder of takes.log"))
        m.addSeparator()
        about = self._act("about", "&About Takes", self.show_about)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        m.addAction(about)

    def _take_over_window_keys(self) -> None:
        """The window's own Ctrl+Return shortcuts and the preview's Space are the Render and
        Play actions now: two shortcuts on one key would make Qt run neither."""
        taken = {QKeySequence(k).toString() for a in self.actions.values()
                 for k in a.shortcuts()}
        for sc in self.window.findChildren(QShortcut):
            if sc.key().toString() in taken and sc.isEnabled():
                sc.setEnabled(False)

    def _wire_panels(self) -> None:
        self.window.queue.message.connect(self.message)
        self.window.closed.connect(self.close)
        # the form on screen changes with the task and the page: Undo follows it
        self.window.form_stack.currentChanged.connect(self._form_shown)
        self.window.center.currentChanged.connect(self._form_shown)
        self._form_shown()

    def _form_shown(self, *_: Any) -> None:
        form = self._form()
        changed = getattr(form, "undo_changed", None)
        if changed is not None and form not in self._undo_watched:
            self._undo_watched.append(form)
            changed.connect(self.update_undo)
        self.update_undo()

    # ================================================================= File
    def open_results_folder(self) -> bool:
        folder = self.window.studio.download_dir
        return self.open_folder(folder, "the results folder", make=True)

    def open_log_folder(self) -> bool:
        from app.client.logs import log_dir

        return self.open_folder(log_dir(), "the log folder", make=True)

    def open_folder(self, folder: Any, what: str, make: bool = False) -> bool:
        """Show `folder` in the file manager; without one the status line says where it is.
        A folder that does not exist yet is made first, off the GUI thread."""
        from pathlib import Path

        path = Path(folder)

        def opened(result: Any) -> None:
            if isinstance(result, Exception):
                self.message.emit(f"Could not make {what} {path}: {result}")
                return
            self._launch(path, what)

        if make:
            self._workers.submit(lambda: path.mkdir(parents=True, exist_ok=True),
                                 on_done=opened)
            return True
        return self._launch(path, what)

    def _launch(self, path: Any, what: str) -> bool:
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            return True
        self.message.emit(f"No file manager could open {what}: it is {path}")
        return False

    # ================================================================= Edit
    def _form(self) -> Any:
        return self.window.form

    def update_undo(self, *_: Any) -> None:
        form = self._form()
        can = getattr(form, "can_undo_remove_reference", None)
        undo = getattr(form, "undo_remove_reference", None)
        act = self.actions["undo_reference"]
        act.setEnabled(undo is not None and (bool(can()) if can is not None else True))
        words = getattr(form, "undo_text", None)
        act.setText((words() if words is not None and act.isEnabled() else "")
                    or "&Undo removal of a reference")

    def undo_reference(self) -> bool:
        form = self._form()
        undo = getattr(form, "undo_remove_reference", None)
        if undo is None:
            self.message.emit("Nothing to undo here.")
            return False
        done = bool(undo())
        if not done:
            self.message.emit("No removed reference to put back.")
        self.update_undo()
        return done

    def delete_target(self) -> str:
        """Where Delete acts: the panel with focus, else the page on screen ("history" or
        "queue")."""
        focus = QApplication.focusWidget()
        w = self.window
        if focus is not None and (focus is w.queue or w.queue.isAncestorOf(focus)):
            return "queue"
        if focus is not None and (focus is w.history or w.history.isAncestorOf(focus)):
            return "history"
        return "history" if w.center.currentWidget() is w.history else "queue"

    def delete_selected(self) -> Any:
        if self.delete_target() == "history":
            box = self.window.history.ask_delete()
            if box is None:
                self.message.emit("Select a take in the history to delete it.")
            return box
        return self.window.queue.delete_current()

    def find_in_history(self) -> None:
        from app.ui.nav import HISTORY

        w = self.window
        w.nav.choose(HISTORY)
        w.history.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        w.history.search.selectAll()

    # ================================================================= View
    def set_theme(self, choice: str) -> None:
        from app.ui.theme import apply_theme

        apply_theme(QApplication.instance(), choice)
        self.window.settings.set(THEME_KEY, choice)  # written by the window's save path
        for act in self.theme_group.actions():
            act.setChecked(act.data() == choice)
        self._watch_theme()

    def _watch_theme(self) -> None:
        from app.ui.theme import current

        theme = current()
        if theme is not None and not self._theme_watched:
            theme.changed.connect(self._restyle)
            self._theme_watched = True

    def _restyle(self, _theme: str) -> None:
        for act, name in self._themed:
            act.setIcon(icon(name))

    # ================================================================= Help
    def show_shortcuts(self) -> ShortcutsDialog:
        from app.ui.about import ShortcutsDialog

        if self.shortcuts_box is not None:
            with contextlib.suppress(RuntimeError):
                self.shortcuts_box.close()
        self.shortcuts_box = ShortcutsDialog(self.window)
        self.shortcuts_box.open()
        return self.shortcuts_box

    def show_about(self) -> None:
        """The About box, once its facts are read (package metadata: off the GUI thread)."""
        from app.ui.about import AboutDialog, about_facts

        w = self.window
        data, results = w.studio.data_dir, w.studio.download_dir

        def show(facts: Any) -> None:
            if isinstance(facts, Exception):
                self.message.emit(f"About Takes: {facts}")
                return
            if self.about_box is not None:
                with contextlib.suppress(RuntimeError):
                    self.about_box.close()
            self.about_box = AboutDialog(facts, w)
            self.about_box.open()

        self._workers.submit(about_facts, data, results, on_done=show)

    def close(self) -> None:
        self._workers.close()


def install_menus(window: MainWindow) -> StudioMenus:
    """The window's menu bar and keys (made once: a second call returns the same)."""
    menus = getattr(window, "menus", None)
    if isinstance(menus, StudioMenus):
        return menus
    menus = StudioMenus(window)
    window.menus = menus  # type: ignore[attr-defined]
    return menus
