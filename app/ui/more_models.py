"""The window's "More models": the models the profile's server lists beyond the curated seven.

`install(window)` (idempotent: a second call returns the same object) reads the profile's
model list on the studio's core (`Studio.load_models`: the cached listing, then
``GET /v1/models``; never on the GUI thread) and fills the navigation's "More models" section.
Choosing a row shows the model's form, generated from its schema (`ModelForm` on an
`ImportedModel`); Render sends it through the same gate, confirm step and job manager as the
curated models. A price the server does not publish is "price unknown" in the form and on the
button, and every paid render of such a model asks for confirmation first.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from app.client.models import ModelSet
    from app.ui.window import MainWindow

OBJECT_NAME = "moreModels"


class MoreModels(QObject):
    """Keeps the window's "More models" section in step with the studio's `ModelSet`."""

    #: the ids listed, after each read of the server's list
    changed = Signal(list)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName(OBJECT_NAME)
        self._window = weakref.ref(window)  # weakly: no cycle window → this → window
        self._task: asyncio.Task[None] | None = None
        self.problems: list[str] = []

    @property
    def window(self) -> MainWindow:
        window = self._window()
        if window is None:
            raise RuntimeError("the window is gone")
        return window

    @property
    def models(self) -> ModelSet:
        return self.window.studio.models

    def listed(self) -> list[str]:
        return self.window.nav.more_models()

    def start(self) -> None:
        """The first read of the list (nothing when one was started already)."""
        if self._task is None:
            self._read()

    def _read(self) -> None:
        self._task = self.window.controller.spawn(self._load(), "More models")

    async def refresh(self) -> list[str]:
        """Read the profile's model list again (or await the read under way); the ids
        listed under "More models" after it."""
        if self._task is None or self._task.done():
            self._read()
        task = self._task
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        return self.listed()

    async def _load(self) -> None:
        studio = self.window.studio
        models = await studio.load_models()  # on the core: cache, GET /v1/models, cache
        self.show(models, studio.models_error)

    def show(self, models: ModelSet, error: str | None = None) -> None:
        """Fill the section from `models`; say what was left out or could not be read."""
        from app.forms.imported import ImportedSpec

        rows = [(m.id, m.name, f"{m.name}: {ImportedSpec(m).task_label}") for m in models.extra]
        with contextlib.suppress(RuntimeError):  # the window may be gone already
            self.window.nav.set_more_models(rows)
            self.problems = [*models.problems, *([error] if error else [])]
            if self.problems:
                n = len(models.problems)
                said = f"{n} listed model{'s' if n != 1 else ''} left out ({models.problems[0]})" \
                    if n else ""
                self.window.controller.message.emit(
                    "More models: " + "; ".join(x for x in (said, error or "") if x) + ".")
            self.changed.emit([r[0] for r in rows])


def install(window: MainWindow, *, load: bool = True) -> MoreModels:
    """The window's `MoreModels` (made once); with `load`, its first read is started as soon
    as the window's loop runs."""
    found: Any = window.findChild(MoreModels, OBJECT_NAME)
    if isinstance(found, MoreModels):
        return found
    more = MoreModels(window)
    if window.studio.models.extra:  # already read (another window of this studio)
        more.show(window.studio.models)
    if load:
        QTimer.singleShot(0, more, more.start)
    return more
