"""Help's two dialogs: About Takes (versions and folders, copyable) and the keyboard
shortcuts, read back from the actions and QShortcuts the window really has (GUI thread, except
`about_facts`, which reads package metadata and runs on a worker).
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFontMetrics, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.icons import app_icon

# the libraries a bug report needs, by distribution name (PySide6 says its own version)
LIBRARIES = ("httpx", "pydantic", "qasync")


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_facts(data_dir: Path | str, results_dir: Path | str) -> list[tuple[str, str]]:
    """What About says, as (label, value) rows. Reads package metadata: call it off the GUI
    thread."""
    import PySide6
    from PySide6.QtCore import qVersion

    from app.client.logs import log_path

    rows = [("Takes", _version("takes")),
            ("Python", f"{platform.python_version()} ({sys.implementation.name})"),
            ("Qt", qVersion()), ("PySide6", PySide6.__version__)]
    rows += [(name, _version(name)) for name in LIBRARIES]
    rows += [("System", platform.platform()),
             ("Data folder", str(data_dir)),
             ("Results folder", str(results_dir)),
             ("Log file", str(log_path()))]
    return rows


def facts_text(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in rows)


class AboutDialog(QDialog):
    """Takes, its versions and folders; the text can be selected and copied whole."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Takes")
        self.rows = rows
        logo = QLabel(self)
        logo.setPixmap(app_icon().pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel("<b>Takes</b><br>A desktop studio for AI video renders.", self)
        title.setTextFormat(Qt.TextFormat.RichText)
        head = QHBoxLayout()
        head.addWidget(logo)
        head.addWidget(title, 1)
        self.text = QPlainTextEdit(facts_text(rows), self)
        self.text.setObjectName("aboutText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QGuiApplication.font()
        mono.setFamily("monospace")
        mono.setStyleHint(mono.StyleHint.Monospace)
        self.text.setFont(mono)
        fm = QFontMetrics(mono)
        wide = max(fm.horizontalAdvance(line) for line in self.text.toPlainText().splitlines())
        self.text.setMinimumSize(min(1000, wide + 4 * fm.averageCharWidth()),
                                 fm.lineSpacing() * (len(rows) + 2))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_btn = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_btn.setToolTip("Copy these lines (for a bug report)")
        self.copy_btn.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(self.text, 1)
        lay.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())


@dataclass(frozen=True)
class Shortcut:
    where: str  # the menu path ("Edit"), or the widget a QShortcut belongs to
    what: str
    keys: str


def _menu_path(action: QAction) -> str:
    """"View ▸ Theme" for an action in a submenu of the menu bar ("" outside menus). Untitled
    menus (the menu bar's overflow popup) are not places."""
    def titled(a: QAction) -> QMenu | None:
        return next((o for o in a.associatedObjects()
                     if isinstance(o, QMenu) and o.title()), None)

    names: list[str] = []
    menu = titled(action)
    while menu is not None and len(names) < 8:
        names.append(menu.title().replace("&", ""))
        menu = titled(menu.menuAction())
    return " ▸ ".join(reversed(names))


def _keys_text(seqs: list[QKeySequence]) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in seqs)


def _menu_actions(menu: QMenu) -> list[QAction]:
    """A menu's actions in the order shown, submenus' in place."""
    out: list[QAction] = []
    for act in menu.actions():
        sub = act.menu()
        if isinstance(sub, QMenu):
            out += _menu_actions(sub)
        else:
            out.append(act)
    return out


def collect_shortcuts(window: QWidget) -> list[Shortcut]:
    """Every key `window` answers, in the menu bar's order: the actions with a shortcut
    (where they are in the menus; a disabled one too: its key waits for something to act
    on), then the window's other actions, then its QShortcuts that say what they do
    (whatsThis) and are not taken over by an action."""
    bar = window.menuBar() if isinstance(window, QMainWindow) else None
    ordered: list[QAction] = []
    for top in bar.actions() if bar is not None else []:
        if isinstance(top.menu(), QMenu):
            ordered += _menu_actions(top.menu())
    ordered += window.findChildren(QAction)
    out: list[Shortcut] = []
    seen: set[int] = set()
    for act in ordered:
        if id(act) in seen or not act.shortcuts() or not act.isVisible():
            continue
        seen.add(id(act))
        out.append(Shortcut(_menu_path(act) or "Window", act.text().replace("&", ""),
                            _keys_text(act.shortcuts())))
    taken = {s.toString() for a in ordered for s in a.shortcuts()}
    for sc in window.findChildren(QShortcut):
        what = sc.whatsThis()
        if not what or sc.key().isEmpty() or sc.key().toString() in taken:
            continue
        parent = sc.parent()
        where = parent.objectName() if isinstance(parent, QWidget) else ""
        out.append(Shortcut(where or "Window", what, _keys_text(sc.keys())))
    return out


class ShortcutsDialog(QDialog):
    """A table of every shortcut the window has (`collect_shortcuts`)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.shortcuts = collect_shortcuts(window)
        self.table = QTableWidget(len(self.shortcuts), 3, self)
        self.table.setObjectName("shortcutTable")
        self.table.setHorizontalHeaderLabels(["Keys", "Does", "Where"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        bold = self.table.font()
        bold.setBold(True)
        for row, s in enumerate(self.shortcuts):
            for col, text in enumerate((s.keys, s.what, s.where)):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setFont(bold)
                self.table.setItem(row, col, item)
        note = QLabel("Space, “,” and “.” act on the preview unless you are typing in a text "
                      "field; Delete and Undo work on text there too.", self)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addWidget(note)
        lay.addWidget(buttons)
        self.resize(620, min(720, 120 + self.table.verticalHeader().length()))

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3))  # type: ignore[misc]
                for r in range(self.table.rowCount())]
