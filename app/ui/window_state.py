"""What the window remembers between starts, restored and saved in one place: geometry, the
splitters, the tier, "hide finished", mock, the task on screen and each form's last values.

The values live in `UiSettings` (`app.client.settings`, a Qt-free JSON file); this module
reads them into the window's widgets and back. Saving takes a snapshot on the GUI thread and
hands the file write to a `write` callable (the window passes the core loop's, so the GUI
thread does no file work).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.client.settings import UiSettings

if TYPE_CHECKING:
    from PySide6.QtWidgets import QSplitter

    from app.forms.form import ModelForm
    from app.ui.window import MainWindow

log = logging.getLogger(__name__)
SAVED_WITHOUT = ("out", "mock")  # a fresh output name each start; mock is the window's toggle
DEFAULT_SIZE = (1360, 820)

Writer = Callable[[Callable[[], None]], bool]  # run a file write elsewhere; False: could not


def saved_values(form: ModelForm) -> dict[str, Any]:
    """The form's values worth restoring next time."""
    return {k: v for k, v in form.payload().items() if k not in SAVED_WITHOUT}


class WindowState:
    """Reads `UiSettings` into a `MainWindow` and back."""

    def __init__(self, settings: UiSettings | None = None) -> None:
        self.settings = settings if settings is not None else UiSettings()

    @staticmethod
    def splitters(w: MainWindow) -> dict[str, QSplitter]:
        return {"main_splitter": w.main_split, "right_splitter": w.right,
                "history_splitter": w.history.splitter}

    def restore(self, w: MainWindow) -> None:
        """Layout and toggles, then the task last on screen (which builds its form)."""
        s = self.settings
        geometry = s.get_bytes("geometry")
        if geometry:
            w.restoreGeometry(geometry)
        else:
            w.resize(*DEFAULT_SIZE)
        for key, splitter in self.splitters(w).items():
            state = s.get_bytes(key)
            if state:
                splitter.restoreState(state)
        w.tier.set_tier(s.get("animate_tier", "standard"))
        w.queue.hide_finished.setChecked(bool(s.get("hide_finished", False)))
        w.mock_action.setChecked(bool(s.get("mock", False)))
        w.set_mock(w.mock_action.isChecked())
        w.nav.choose(s.get("task", "create"))
        if w.nav.current_key() is None:
            w.nav.choose("create")

    def restore_form(self, form: ModelForm) -> None:
        """A new form gets its last-used values (an old or foreign value: the defaults)."""
        saved = self.settings.form_values(form.model_id)
        if not saved:
            return
        try:
            form.set_payload({**form.payload(), **saved})
        except Exception as e:
            log.info("could not restore the %s form: %s", form.model_id, e)

    def remember_form(self, form: ModelForm) -> None:
        """Keep the form's values (in memory: written with the rest on `save`)."""
        self.settings.set_form_values(form.model_id, saved_values(form))

    def save(self, w: MainWindow, write: Writer | None = None) -> None:
        """Collect the window's state now; write the file through `write` (or here)."""
        s = self.settings
        s.set_bytes("geometry", w.saveGeometry().data())
        for key, splitter in self.splitters(w).items():
            s.set_bytes(key, splitter.saveState().data())
        s.set("animate_tier", w.tier.tier())
        s.set("hide_finished", w.queue.hide_finished.isChecked())
        s.set("mock", w.mock_action.isChecked())
        s.set("task", w.nav.current_key() or "create")
        for form in w.forms.values():
            self.remember_form(form)
        snapshot = s.snapshot()

        def write_file() -> None:
            try:
                s.write(snapshot)
            except OSError as e:
                log.warning("could not save the window settings: %s", e)

        if write is None or not write(write_file):
            write_file()
