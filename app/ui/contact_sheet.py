"""The contact sheet of a sweep: its takes in a grid, labelled by the varied values, each
cell's thumbnail, and one Play/Pause that drives every cell's player in sync (all start from
the same position; Restart sends them all back to the start).

The players are bounded: at most `MAX_PLAYERS` cells get a `QMediaPlayer` (each draws into its
own `QVideoSink`, painted on the cell's label, so the sheet needs no native video surface); the
other cells show their thumbnail and say that they do not play here. The takes are read from the
job store on the core (`studio.read`), never on the GUI thread.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import Q_ARG, QSize, Qt, QUrl
from PySide6.QtGui import QPixmap
from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.client import present
from app.client.sweeps import SweepCell, SweepRecord
from app.ui import qtlog
from app.ui.compat import post
from app.ui.icons import icon
from app.ui.palette import styled

MAX_PLAYERS = 9
TILE = QSize(224, 126)


class SheetCell(QWidget):
    """One take of the sheet: its picture (a thumbnail, then the player's frames) and label."""

    def __init__(self, cell: SweepCell, takes: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell = cell
        self.setObjectName(f"sheetCell:{cell.index}")
        self.job: Any = None
        self.player: QMediaPlayer | None = None
        self.sink: QVideoSink | None = None
        self.frames = 0
        self.picture = QLabel(self)
        self.picture.setObjectName("sheetPicture")
        self.picture.setFixedSize(TILE)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setWordWrap(True)
        self.picture.setStyleSheet(styled("background: $stage; color: $stage_text;"))
        self.label = QLabel(cell.label(takes), self)
        self.label.setObjectName("sheetLabel")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.status = QLabel("", self)
        self.status.setObjectName("sheetStatus")
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status.setWordWrap(True)
        self.status.setStyleSheet(styled("color: $muted;"))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.picture)
        lay.addWidget(self.label)
        lay.addWidget(self.status)
        if not cell.valid:
            first = cell.errors[0].get("message") if cell.errors else "not valid"
            self._say(f"Invalid: {first}", "not sent")
        elif cell.held:
            self._say("Held, unsent", cell.held)
        elif not cell.job_id:
            self._say("Not sent", "")

    def _say(self, picture: str, status: str) -> None:
        self.picture.setText(picture)
        self.status.setText(status)
        self.status.setToolTip(status)

    @property
    def result(self) -> str | None:
        job = self.job
        if job is None or job.status != "succeeded" or not job.result_path:
            return None
        return str(job.result_path)

    def show_job(self, job: Any, thumb: QPixmap | None) -> None:
        self.job = job
        if job is None:
            if self.cell.job_id:
                self._say("Take not found", "deleted from history")
            return
        self.status.setText(f"{present.status_text(job)}")
        if self.result is None:
            self.picture.setText(present.status_text(job))
        elif thumb is not None and self.frames == 0:
            self.picture.setPixmap(thumb.scaled(TILE, Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.SmoothTransformation))

    def attach_player(self) -> QMediaPlayer | None:
        """A player for this cell's result (None without one)."""
        path = self.result
        if path is None or self.player is not None:
            return self.player
        qtlog.before_media()
        self.sink = QVideoSink(self)
        self.sink.videoFrameChanged.connect(self._frame)
        self.player = QMediaPlayer(self)
        self.player.setVideoOutput(self.sink)
        self.player.setLoops(QMediaPlayer.Loops.Infinite)
        self.player.setSource(QUrl.fromLocalFile(str(Path(path))))
        return self.player

    def _frame(self, frame: QVideoFrame) -> None:
        image = frame.toImage()
        if image.isNull():
            return
        self.frames += 1
        self.picture.setPixmap(QPixmap.fromImage(image).scaled(
            TILE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))

    def release(self) -> None:
        if self.player is not None:  # queued (app.ui.compat.post): a direct stop() or
            post(self.player, "stop")  # setVideoOutput(None) can wait on a render thread
            post(self.player, "setSource", Q_ARG(QUrl, QUrl()))  # that waits for the GIL


class ContactSheet(QDialog):
    """A sweep's takes in a grid; one Play/Pause for all."""

    def __init__(self, rec: SweepRecord, studio: Any, thumbs: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contactSheet")
        self.rec = rec
        self.studio = studio
        self.thumbs = thumbs
        varied = " × ".join(rec.fields) or "takes"
        self.setWindowTitle(f"Contact sheet · {present.task_title(rec.model_id)} · {varied}")
        self.cells: list[SheetCell] = []
        self.players: list[QMediaPlayer] = []
        self.playing = False
        grid_host = QWidget(self)
        grid = QGridLayout(grid_host)
        rows, cols = _axes(rec)
        for c, (text, _v) in enumerate(cols):
            head = QLabel(f"<b>{text}</b>", grid_host)
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(head, 0, c + 1)
        for r, (text, _v) in enumerate(rows):
            head = QLabel(f"<b>{text}</b>", grid_host)
            grid.addWidget(head, r + 1, 0)
        for cell in rec.cells:
            r, c = _place(rec, cell, rows, cols)
            w = SheetCell(cell, rec.takes, grid_host)
            grid.addWidget(w, r + 1, c + 1)
            self.cells.append(w)
        grid.setRowStretch(len(rows) + 1, 1)
        grid.setColumnStretch(len(cols) + 1, 1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)
        self.play_btn = QPushButton("Play all", self)
        self.play_btn.setObjectName("sheetPlay")
        self.play_btn.setIcon(icon("play"))
        self.play_btn.clicked.connect(self.toggle)
        self.restart_btn = QPushButton("Restart", self)
        self.restart_btn.setObjectName("sheetRestart")
        self.restart_btn.setIcon(icon("step-back"))
        self.restart_btn.clicked.connect(self.restart)
        self.note = QLabel("", self)
        self.note.setObjectName("sheetNote")
        self.note.setWordWrap(True)
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        bar = QHBoxLayout()
        bar.addWidget(self.play_btn)
        bar.addWidget(self.restart_btn)
        bar.addWidget(self.note, 1)
        bar.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addWidget(scroll, 1)
        lay.addLayout(bar)
        self.resize(min(1200, 260 * (len(cols) + 1)), min(900, 230 * len(rows) + 120))
        thumbs.thumbnail_ready.connect(self._thumb_ready)
        self.finished.connect(lambda _r: self.release())

    async def load(self) -> None:
        """The sweep's takes read on the core, then shown; players for the first cells."""
        ids = [c.job_id for c in self.rec.cells if c.job_id]
        store = self.studio.store
        jobs = await self.studio.read(lambda: {i: store.get(i) for i in ids})
        self.show_jobs(jobs)

    def show_jobs(self, jobs: dict[str, Any]) -> None:
        with contextlib.suppress(RuntimeError):
            for w in self.cells:
                if w.cell.job_id:
                    job = jobs.get(w.cell.job_id)
                    w.show_job(job, self.thumbs.get(w.result) if job is not None else None)
            playable = [w for w in self.cells if w.result is not None]
            for w in playable[:MAX_PLAYERS]:
                player = w.attach_player()
                if player is not None and player not in self.players:
                    self.players.append(player)
            extra = len(playable) - MAX_PLAYERS
            words = [f"{len(playable)} of {len(self.cells)} takes ready"]
            if extra > 0:
                words.append(f"the first {MAX_PLAYERS} play here, {extra} show a thumbnail")
            self.note.setText("; ".join(words) + ".")
            self.play_btn.setEnabled(bool(self.players))

    def update_job(self, job: Any) -> None:
        """A take of this sheet changed (finished, downloaded): shown, and playable."""
        if any(w.cell.job_id == job.id for w in self.cells):
            self.show_jobs({job.id: job, **{w.cell.job_id: w.job for w in self.cells
                                            if w.job is not None and w.cell.job_id != job.id}})

    def _thumb_ready(self, path: str) -> None:
        for w in self.cells:
            if w.result == path:
                w.show_job(w.job, self.thumbs.get(path))

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        """Every player from the same position (the first one's), together."""
        if not self.players:
            return
        at = self.players[0].position()
        for p in self.players:
            if abs(p.position() - at) > 40:
                p.setPosition(at)
        for p in self.players:
            p.play()
        self.playing = True
        self.play_btn.setText("Pause all")
        self.play_btn.setIcon(icon("pause"))

    def pause(self) -> None:
        for p in self.players:
            p.pause()
        self.playing = False
        self.play_btn.setText("Play all")
        self.play_btn.setIcon(icon("play"))

    def restart(self) -> None:
        for p in self.players:
            p.setPosition(0)
        if self.playing:
            for p in self.players:
                p.play()

    def release(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.thumbs.thumbnail_ready.disconnect(self._thumb_ready)
        for w in self.cells:
            w.release()
        self.players.clear()
        self.playing = False


def _axes(rec: SweepRecord) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    fields = rec.fields
    rows = [(f"{fields[0]} {_word(v)}", v) for v in rec.values(fields[0])] if fields \
        else [("", None)]
    takes = range(1, rec.takes + 1)
    if len(fields) > 1:
        cols = [(f"{fields[1]} {_word(v)}" + (f" · take {t}" if rec.takes > 1 else ""), (v, t))
                for v in rec.values(fields[1]) for t in takes]
    else:
        cols = [(f"take {t}", (None, t)) for t in takes]
    return rows, cols


def _place(rec: SweepRecord, cell: SweepCell, rows: list[tuple[str, Any]],
           cols: list[tuple[str, Any]]) -> tuple[int, int]:
    fields = rec.fields
    r = next((i for i, (_, v) in enumerate(rows) if fields and _same(v, cell.vary.get(
        fields[0]))), 0)
    second = cell.vary.get(fields[1]) if len(fields) > 1 else None
    c = next((i for i, (_, (v, t)) in enumerate(cols)
              if (len(fields) < 2 or _same(v, second)) and t == cell.take), 0)
    return r, c


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _word(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)
