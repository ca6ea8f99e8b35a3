"""Window extras for a fal profile: a curated task shows its fal form.

On a fal profile each curated model whose fal schema is known has a form of its own,
`fal_<model>` (`app.client.fal`, listed under "More models"), made from fal's published input
schema: fal's inputs, not the built-in catalog's, and "price unknown" (fal charges in dollars
after the render). Choosing the curated task (Animate, pro…) on that profile shows the fal
form instead, so what is filled in is what fal takes. Installed through
`app/ui/extensions.py`; nothing here does I/O (the studio's model set is in memory).
"""

from __future__ import annotations

import contextlib
import weakref
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from app.catalog.models import MODELS
from app.client.fal import FAL_MODEL_PREFIX

if TYPE_CHECKING:
    from app.ui.window import MainWindow

OBJECT_NAME = "falExtras"


class FalExtras(QObject):
    """Follows the form on screen; on a fal profile, a curated one gives way to its fal form."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName(OBJECT_NAME)
        self._window = weakref.ref(window)  # weakly: no cycle window → this → window
        self._listening = False
        # after the window's own show_model has finished (it sets the current model last)
        window.form_stack.currentChanged.connect(self._follow_soon)

    def _profile_is_fal(self, window: MainWindow) -> bool:
        profile = getattr(window.studio, "profile", None)
        return bool(getattr(profile, "is_fal", False))

    def fal_form_of(self, model_id: str | None) -> str | None:
        """The fal form shown instead of `model_id` on this window's profile, if any."""
        window = self._window()
        if window is None or model_id not in MODELS or not self._profile_is_fal(window):
            return None
        alt = FAL_MODEL_PREFIX + str(model_id)
        return alt if window.studio.models.get_imported(alt) is not None else None

    def _follow_soon(self, *_: Any) -> None:
        QTimer.singleShot(0, self, self.follow)

    def follow(self, *_: Any) -> None:
        window = self._window()
        if window is None:
            return
        with contextlib.suppress(RuntimeError):  # the window is closing
            form = window.form_stack.currentWidget()
            alt = self.fal_form_of(getattr(form, "model_id", None))
            if alt is not None:
                window.show_model(alt)
                window.controller.message.emit(
                    f"On fal this task uses {window.studio.models.name(alt)}: fal's own "
                    "inputs; its price is set by fal after the render.")

    def listen_to_more_models(self) -> None:
        """Follow again once the fal forms are read (they arrive after the window starts)."""
        window = self._window()
        if window is None or self._listening:
            return
        from app.ui.more_models import OBJECT_NAME as MORE
        from app.ui.more_models import MoreModels

        more = window.findChild(MoreModels, MORE)
        if isinstance(more, MoreModels):
            more.changed.connect(self.follow)
            self._listening = True


def install(window: MainWindow) -> FalExtras:
    found: Any = window.findChild(FalExtras, OBJECT_NAME)
    if isinstance(found, FalExtras):
        return found
    extras = FalExtras(window)
    extras.listen_to_more_models()
    return extras


def start(window: MainWindow) -> None:
    extras = install(window)
    extras.listen_to_more_models()
    extras.follow()
