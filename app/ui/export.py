"""Export a take with its parameters; drop an exported file on the window to get them back.

File › Export take… (Ctrl+E) writes the take the preview shows to a file the user names, its
parameters embedded as container metadata plus a `.takes.json` sidecar (`app.client.export`,
run on a worker: file work never happens on the GUI thread). A video or sidecar dropped on the
window, anywhere a drop zone does not take it, is read on a worker and its take's parameters
open in that model's form; a file without them says so in the status line and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog

from app.client.export import (
    SIDECAR_SUFFIX,
    ExportError,
    NoParameters,
    export_take,
    read_parameters,
)
from app.ui.feature import WindowFeature
from app.ui.workers import Workers

if TYPE_CHECKING:
    from app.client.store import JobRecord
    from app.ui.window import MainWindow

VIDEOS = (".mp4", ".mov", ".m4v")  # what the results are; a sidecar ends .takes.json


class TakeExport(WindowFeature):
    NAME = "takeExport"
    ECHO = "done"
    """The export action and the window's drop target for exported files."""

    done = Signal(str)  # what was said (exported, restored, or why not)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._workers = Workers(1, self)
        self.dialog: QFileDialog | None = None
        self.action = QAction("&Export take…", window)
        self.action.setObjectName("act_export_take")
        self.action.setShortcut(QKeySequence("Ctrl+E"))
        self.action.setStatusTip("The take shown, with its parameters kept in the file")
        self.action.triggered.connect(lambda _=False: self.ask_export())
        window.addAction(self.action)
        menus = getattr(window, "menus", None)
        file_menu = menus.menus.get("file") if menus is not None else None
        if file_menu is not None:
            before = menus.actions.get("results_folder")
            file_menu.insertAction(before, self.action) if before is not None else \
                file_menu.addAction(self.action)
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    # ---- export ------------------------------------------------------------------------------
    def ask_export(self) -> QFileDialog | None:
        """The save dialog for the take shown (opened, not run: the loop keeps turning)."""
        w = self.window
        job = w.shown_job if w is not None else None
        if w is None or job is None or not job.result_path:
            self._say("Select a finished take to export it.")
            return None
        start = Path(job.result_path)
        dlg = QFileDialog(w, "Export take", str(start.with_name(start.stem + "-export.mp4")),
                          "Video (*.mp4 *.mov *.m4v)")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setDefaultSuffix("mp4")
        dlg.fileSelected.connect(lambda path: self.export(job, path))
        dlg.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dlg
        dlg.open()
        return dlg

    def export(self, job: JobRecord, path: str) -> None:
        """Write `job` to `path` with its parameters, on a worker; said when done."""
        def finished(result: Any) -> None:
            if isinstance(result, ExportError):
                self._say(f"Export failed: {result}")
            elif isinstance(result, Exception):
                self._say(f"Export failed: {type(result).__name__}: {result}")
            else:
                video, side = result
                self._say(f"Exported {video.name} with its parameters (and {side.name}).")

        self._workers.submit(export_take, job, path, on_done=finished)

    # ---- drop to restore ---------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window:
            return False
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDropEvent)
            if _dropped_file(event) is not None:
                event.acceptProposedAction()
                return True
        elif event.type() == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            path = _dropped_file(event)
            if path is not None:
                event.acceptProposedAction()
                self.restore(path)
                return True
        return False

    def restore(self, path: str) -> None:
        """Read a dropped file's parameters on a worker, then open them in the form."""
        name = Path(path).name

        def finished(result: Any) -> None:
            w = self.window
            if w is None:
                return
            if isinstance(result, NoParameters):
                self._say(str(result))
            elif isinstance(result, Exception):
                self._say(f"{name}: could not be read ({type(result).__name__}).")
            elif w.open_parameters(result["model_id"], result["payload"],
                                   f"The form holds the parameters of {name}."):
                self.done.emit(f"restored {name}")
            else:
                self._say(f"{name} was made with {result['model_id']!r}, which this profile "
                          "does not render.")

        self._workers.submit(read_parameters, path, on_done=finished)


def _dropped_file(event: QDropEvent | QDragEnterEvent) -> str | None:
    """One local video or sidecar file (by name only: nothing is read on the GUI thread)."""
    mime = event.mimeData()
    if mime is None or not mime.hasUrls() or len(mime.urls()) != 1:
        return None
    url = mime.urls()[0]
    if not url.isLocalFile():
        return None
    path = url.toLocalFile()
    lower = path.lower()
    if lower.endswith(SIDECAR_SUFFIX) or lower.endswith(VIDEOS):
        return path
    return None


def install(window: MainWindow) -> TakeExport:
    return TakeExport.install_on(window)
