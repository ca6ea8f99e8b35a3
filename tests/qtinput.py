"""Real drag-and-drop events for tests, built the way every PySide6 release in our range takes.

`QDragEnterEvent`/`QDragMoveEvent` want a `QPoint` on 6.8–6.11 (6.12 wants a `QPointF` and
deprecates `QPoint`); `QDropEvent` takes a `QPointF` on all of them. One place decides.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

_ACTION = Qt.DropAction.CopyAction
_BUTTON = Qt.MouseButton.LeftButton
_MODS = Qt.KeyboardModifier.NoModifier


def file_mime(*paths: Path | str) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _drag_event(cls: type, pos: QPoint, mime: QMimeData):
    try:
        return cls(pos, _ACTION, mime, _BUTTON, _MODS)
    except TypeError:  # a release that only takes QPointF
        return cls(QPointF(pos), _ACTION, mime, _BUTTON, _MODS)


def drag_and_drop(target: QWidget, mime: QMimeData) -> tuple[bool, bool]:
    """Enter, move and drop on `target` through the event system; (enter accepted, dropped)."""
    pos = target.rect().center()
    enter = _drag_event(QDragEnterEvent, pos, mime)
    QApplication.sendEvent(target, enter)
    QApplication.sendEvent(target, _drag_event(QDragMoveEvent, pos, mime))
    drop = QDropEvent(QPointF(pos), _ACTION, mime, _BUTTON, _MODS)
    QApplication.sendEvent(target, drop)
    return enter.isAccepted(), drop.isAccepted()
