"""What every feature attached to the window (app/ui/extensions.py) shares: one object per
window (found again by its object name), a weak reference back to the window (the window
holds the feature; a strong one back would make a cycle only the collector frees, on
whichever thread runs it), and one way to say something in the status line and to tests."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from app.ui.window import MainWindow

F = TypeVar("F", bound="WindowFeature")


class WindowFeature(QObject):
    NAME = ""  # the object name the window's one instance is found by
    ECHO = "said"  # the signal that repeats what `_say` says

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName(self.NAME)
        self._window = weakref.ref(window)

    @classmethod
    def install_on(cls: type[F], window: Any) -> F:
        """The window's instance, made the first time (idempotent)."""
        existing = window.findChild(cls, cls.NAME)
        return existing if existing is not None else cls(window)

    @property
    def window(self) -> MainWindow | None:
        return self._window()

    def _say(self, text: str) -> None:
        w = self.window
        if w is not None:
            w._say(text)
        getattr(self, self.ECHO).emit(text)
