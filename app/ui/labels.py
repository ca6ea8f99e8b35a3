"""Rename and tag a take from History's details (the name and tags are searchable).

The name replaces the prompt where the take is listed (`present.take_words`); tags show in
its details. Both are written on the core thread (`JobStore.label`), and what cannot be kept
(control characters, too long, a comma in a tag) is said, with nothing changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QInputDialog, QPushButton

from app.ui.feature import WindowFeature

if TYPE_CHECKING:
    from app.ui.window import MainWindow


class TakeLabels(WindowFeature):
    NAME = "takeLabels"
    said = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        details = window.history.details
        self.rename_btn = QPushButton("Rename…", details)
        self.rename_btn.setObjectName("renameTake")
        self.rename_btn.setToolTip("Give this take a name of its own (searchable)")
        self.tags_btn = QPushButton("Tags…", details)
        self.tags_btn.setObjectName("tagTake")
        self.tags_btn.setToolTip("Tags for this take, separated by commas (searchable)")
        self.rename_btn.clicked.connect(lambda: self.ask("name"))
        self.tags_btn.clicked.connect(lambda: self.ask("tags"))
        row = details.layout()
        row.addWidget(self.rename_btn)
        row.addWidget(self.tags_btn)
        self.box: QInputDialog | None = None
        window.history.take_selected.connect(self._selected)
        details.cleared.connect(lambda: self._selected(None))
        self._selected(details.job)

    def _selected(self, job: Any) -> None:
        for b in (self.rename_btn, self.tags_btn):
            b.setEnabled(job is not None)

    def ask(self, what: str) -> QInputDialog | None:
        w = self.window
        job = w.history.details.job if w is not None else None
        if w is None or job is None:
            return None
        box = QInputDialog(w)
        box.setWindowTitle("Rename take" if what == "name" else "Tag take")
        box.setLabelText("Name (empty: named by its prompt):" if what == "name" else
                         "Tags, separated by commas:")
        box.setTextValue(job.name if what == "name" else ", ".join(job.tags))
        box.textValueSelected.connect(lambda text: self.apply(job.id, what, text))
        box.finished.connect(lambda _r: setattr(self, "box", None))
        self.box = box
        box.open()
        return box

    def apply(self, job_id: str, what: str, text: str) -> None:
        w = self.window
        if w is None:
            return
        store = w.studio.store
        change = {"name": text} if what == "name" else {"tags": text.split(",")}

        async def write() -> None:
            try:
                rec = await w.studio.read(lambda: store.label(job_id, **change))
            except ValueError as e:
                self._say(f"Not changed: {e}")
                return
            for model in (w.queue_model, w.history_model):
                model.upsert(rec)
            details = w.history.details
            if details.job is not None and details.job.id == job_id:
                details.show_job(rec)
            self._say(f"Renamed: {rec.name}" if what == "name" and rec.name else
                      "Named by its prompt again." if what == "name" else
                      f"Tags: {', '.join(rec.tags) or 'none'}")

        w.controller.spawn(write(), "Label")


def install(window: MainWindow) -> TakeLabels:
    return TakeLabels.install_on(window)
