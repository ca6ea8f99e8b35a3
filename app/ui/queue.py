"""The queue panel: one row per job, live status, and the actions a creator needs on a job.

Takes waiting in the app (the local queue, `app.client.localqueue`, attached by
`app.ui.local_queue`) are the rows above the others, in the order they will be sent, each
with its place and, when the guard-rails hold it, why. They are reordered by dragging them
(a `WAITING_MIME` drag inside the list), moved to the front, cancelled (nothing was sent or
charged) or, when held, checked again (Retry); the head holds the queue's pause/resume and its
cap (how many takes at once). The panel only says what is wanted, as signals.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QDesktopServices,
    QFont,
    QGuiApplication,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QSpinBox,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.catalog.media import is_remote, local_path
from app.catalog.status import ACTIVE, TERMINAL, timestamp
from app.client import present
from app.ui import coalesce
from app.ui.icons import icon
from app.ui.paint import draw_badge, draw_progress, draw_thumb, status_colour
from app.ui.palette import colour, qcolor
from app.ui.thumbs import ThumbnailCache
from app.ui.use_as import TAKE_MIME, take_mime

JobRole = Qt.ItemDataRole.UserRole + 1
StatusTextRole = Qt.ItemDataRole.UserRole + 2
TimeTextRole = Qt.ItemDataRole.UserRole + 3
CreditsTextRole = Qt.ItemDataRole.UserRole + 4
ErrorTextRole = Qt.ItemDataRole.UserRole + 5
OrderRole = Qt.ItemDataRole.UserRole + 6  # a waiting take's place (1 = next), else None
#: what a waiting row carries when dragged inside the queue: its idempotency key
WAITING_MIME = "application/x-takes-waiting-key"

_Index = QModelIndex | QPersistentModelIndex


def is_waiting(job: Any) -> bool:
    """A take waiting in the app (a `WaitingTake`), not yet a job."""
    return bool(getattr(job, "is_waiting", False))


def waiting_words(job: Any, order: int | None) -> str:
    """The status line of a waiting take: its place, or why it is held."""
    place = f"#{order} · " if order else ""
    if job.status == "held":
        return f"{place}Held: {job.message or 'refused by the guard-rails'}"
    if job.status == "sending":
        return f"{place}Sending…"
    return f"{place}Waiting in the queue: not sent yet"


def thumb_path(job: Any) -> str | None:
    """What a job's thumbnail shows: the result once there is one, else its main input."""
    if job.result_path:
        return str(job.result_path)
    src = present.source_media(job.model_id, job.payload)
    return local_path(src) if src and not is_remote(src) else None


class QueueModel(QAbstractListModel):
    """Waiting takes first (in their order), then jobs newest first; `upsert` takes every
    update from the job manager, `set_waiting` the local queue's order."""

    #: a waiting take dropped at a new place: (its key, its index in the waiting order)
    move_requested = Signal(str, int)
    take_dragged = Signal(object)  # finished takes whose files a drag carries (lineage)

    def __init__(self, thumbs: ThumbnailCache, typical: Any = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs
        self._typical = typical or (lambda model_id: None)
        self._all: dict[Any, Any] = {}
        self._rows: list[Any] = []
        self._waiting: list[Any] = []  # WaitingTakes, in the order they will be sent
        self.hide_finished = False
        thumbs.thumbnail_ready.connect(self._on_thumb)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_active)
        self._tick.start()

    # ---- content -------------------------------------------------------------------------
    def load(self, jobs: list[Any]) -> None:
        self.beginResetModel()
        self._all = {j.id: j for j in jobs if not is_waiting(j)}
        self._rows = self._visible()
        self.endResetModel()

    def _visible(self) -> list[Any]:
        jobs = sorted(self._all.values(), key=lambda j: timestamp(j.created_at) or 0,
                      reverse=True)
        if self.hide_finished:
            jobs = [j for j in jobs if j.status in ACTIVE]
        return [j.id for j in jobs]

    def set_hide_finished(self, hide: bool) -> None:
        if hide != self.hide_finished:
            self.hide_finished = hide
            self.load(list(self._all.values()))

    # ---- the waiting section ---------------------------------------------------------------
    @property
    def waiting_count(self) -> int:
        return len(self._waiting)

    def waiting(self) -> list[Any]:
        return list(self._waiting)

    def set_waiting(self, takes: list[Any]) -> None:
        """The local queue's takes, in order (replaces the waiting rows)."""
        takes = [t for t in takes if is_waiting(t)]
        old = [t.id for t in self._waiting]
        new = [t.id for t in takes]
        if old == new:
            self._waiting = takes
            if takes:
                self.dataChanged.emit(self.index(0), self.index(len(takes) - 1))
            return
        if self._waiting:
            self.beginRemoveRows(QModelIndex(), 0, len(self._waiting) - 1)
            self._waiting = []
            self.endRemoveRows()
        if takes:
            self.beginInsertRows(QModelIndex(), 0, len(takes) - 1)
            self._waiting = takes
            self.endInsertRows()

    def _upsert_waiting(self, take: Any) -> None:
        for i, t in enumerate(self._waiting):
            if t.id == take.id:
                self._waiting[i] = take
                self.dataChanged.emit(self.index(i), self.index(i))
                return
        at = len(self._waiting)
        self.beginInsertRows(QModelIndex(), at, at)
        self._waiting.append(take)
        self.endInsertRows()

    def _drop_waiting(self, key: Any) -> None:
        for i, t in enumerate(self._waiting):
            if t.key == key:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._waiting[i]
                self.endRemoveRows()
                return

    # ---- jobs ------------------------------------------------------------------------------
    def upsert(self, job: Any) -> None:
        if is_waiting(job):
            self._upsert_waiting(job)
            return
        self._drop_waiting(getattr(job, "idempotency_key", None))  # it was handed over
        known = self._all.get(job.id)
        if known is not None and _age(known) > _age(job):
            return  # an older copy of this take arriving late: the newer one stays
        self._all[job.id] = job
        shown = not self.hide_finished or job.status in ACTIVE
        row = self.row_of(job.id)
        if row is not None and shown:
            coalesce.row_changed(self, job.id)  # one repaint per batch of updates
        elif row is not None:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row - len(self._waiting)]
            self.endRemoveRows()
        elif shown:
            at = self._insert_position(job)
            w = len(self._waiting)
            self.beginInsertRows(QModelIndex(), w + at, w + at)
            self._rows.insert(at, job.id)
            self.endInsertRows()

    def _insert_position(self, job: Any) -> int:
        t = timestamp(job.created_at) or time.time()
        for i, jid in enumerate(self._rows):
            if (timestamp(self._all[jid].created_at) or 0) <= t:
                return i
        return len(self._rows)

    def remove(self, job_id: Any) -> None:
        for t in self._waiting:
            if t.id == job_id:
                self._drop_waiting(t.key)
                return
        self._all.pop(job_id, None)
        row = self.row_of(job_id)
        if row is not None:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row - len(self._waiting)]
            self.endRemoveRows()

    def row_of(self, job_id: Any) -> int | None:
        for i, t in enumerate(self._waiting):
            if t.id == job_id:
                return i
        try:
            return len(self._waiting) + self._rows.index(job_id)
        except ValueError:
            return None

    def job_at(self, row: int) -> Any | None:
        w = len(self._waiting)
        if 0 <= row < w:
            return self._waiting[row]
        row -= w
        return self._all.get(self._rows[row]) if 0 <= row < len(self._rows) else None

    def job(self, job_id: Any) -> Any | None:
        return self._all.get(job_id) or next((t for t in self._waiting if t.id == job_id),
                                             None)

    def unfinished(self) -> list[Any]:
        """Every take held (shown or hidden) that is still in flight, oldest first."""
        jobs = [j for j in self._all.values() if j.status in ACTIVE]
        return sorted(jobs, key=lambda j: timestamp(j.created_at) or 0)

    # ---- Qt model ------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._waiting) + len(self._rows)

    # ---- dragging waiting takes into a new order ----------------------------------------
    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base | Qt.ItemFlag.ItemIsDropEnabled
        job = self.job_at(index.row())
        if job is not None and is_waiting(job) and job.status != "sending":
            return base | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        if job is not None and getattr(job, "result_path", None):
            return base | Qt.ItemFlag.ItemIsDragEnabled  # its file, onto a drop zone
        return base

    def mimeTypes(self) -> list[str]:
        return [WAITING_MIME, "text/uri-list", TAKE_MIME]

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeData(self, indexes: Any) -> QMimeData:
        jobs = [self.job_at(i.row()) for i in indexes if i.isValid()]
        keys = [j.key for j in jobs if j is not None and is_waiting(j)]
        if keys:
            mime = QMimeData()
            mime.setData(WAITING_MIME, keys[0].encode("ascii", "replace"))
            return mime
        taken = take_mime(jobs)
        if taken is not None:
            self.take_dragged.emit([j for j in jobs if j is not None])
            return taken
        return QMimeData()

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: _Index) -> bool:
        return data.hasFormat(WAITING_MIME) and self._waiting_index(data) is not None

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: _Index) -> bool:
        """A waiting take dropped before `row` (on a row: before it; below the waiting rows:
        last): says where it goes (`move_requested`); the local queue moves it and the rows
        follow. Returns False so the view removes nothing itself."""
        if action == Qt.DropAction.IgnoreAction or not data.hasFormat(WAITING_MIME):
            return False
        src = self._waiting_index(data)
        if src is None:
            return False
        if row < 0:
            row = parent.row() if parent.isValid() else len(self._waiting)
        row = max(0, min(row, len(self._waiting)))
        dest = row - 1 if row > src else row
        if dest != src:
            self.move_requested.emit(self._waiting[src].key, dest)
        return False

    def _waiting_index(self, data: QMimeData) -> int | None:
        key = bytes(data.data(WAITING_MIME).data()).decode("ascii", "replace")
        return next((i for i, t in enumerate(self._waiting) if t.key == key), None)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        job = self.job_at(index.row()) if index.isValid() else None
        if job is None:
            return None
        now = time.time()
        if role == JobRole:
            return job
        if is_waiting(job):
            return self._waiting_data(job, index.row(), role)
        if role == OrderRole:
            return None
        if role == StatusTextRole:
            return present.status_text(job)
        if role == TimeTextRole:
            return present.time_text(job, self._typical(job.model_id), now)
        if role == CreditsTextRole:
            return present.credits_text(job)
        if role == ErrorTextRole:
            return present.error_words(job)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(thumb_path(job))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            parts = [present.task_title(job.model_id), job.model_id,
                     present.excerpt(present.take_words(job), 60),
                     present.status_text(job), present.credits_text(job)]
            if job.mock:
                parts.insert(0, "MOCK")
            return " · ".join(p for p in parts if p)
        return None

    def _waiting_data(self, job: Any, row: int, role: int) -> Any:
        order = row + 1
        if role == OrderRole:
            return order
        if role == StatusTextRole:
            return waiting_words(job, order)
        if role == TimeTextRole:
            return ""
        if role == CreditsTextRole:
            return present.credits_text(job)
        if role == ErrorTextRole:
            return job.message if job.status == "held" else ""
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(thumb_path(job))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            parts = [present.task_title(job.model_id), job.model_id,
                     present.excerpt(present.take_words(job), 60),
                     waiting_words(job, order), present.credits_text(job)]
            if role == Qt.ItemDataRole.ToolTipRole and job.status != "held":
                parts.append("drag to reorder; nothing is sent or charged until its turn")
            if job.mock:
                parts.insert(0, "MOCK")
            return " · ".join(p for p in parts if p)
        return None

    def _on_thumb(self, path: str) -> None:
        for row in range(self.rowCount()):
            job = self.job_at(row)
            if job is not None and thumb_path(job) == path:
                idx = self.index(row)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def _refresh_active(self) -> None:
        """The running takes' clocks, once a second: one range over their rows."""
        w = len(self._waiting)
        rows = [w + row for row, jid in enumerate(self._rows) if self._all[jid].status in ACTIVE]
        if rows:
            self.dataChanged.emit(self.index(rows[0]), self.index(rows[-1]), [TimeTextRole])


class QueueDelegate(QStyledItemDelegate):
    """Paints a job row: thumbnail, task and model, prompt, status, progress, time, credits."""

    ROW_H = 78
    THUMB = QSize(96, 54)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return QSize(300, self.ROW_H)

    #: rows drawn once and kept as pictures (all but the clock and credits line, drawn live)
    CACHE_ROWS = 48

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[tuple[Any, ...], QPixmap] = {}

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """A row from its kept picture when only its clock moved (the running takes' tick,
        once a second): one drawPixmap and the info line, not forty paint calls, so the GUI
        thread holds the GIL it shares with the core's transfers for less."""
        job = index.data(JobRole)
        if job is None:
            return
        fm = p.fontMetrics()
        info = " · ".join(x for x in (index.data(TimeTextRole), index.data(CreditsTextRole)) if x)
        iw = fm.horizontalAdvance(info)
        status = index.data(StatusTextRole)
        thumb = index.data(Qt.ItemDataRole.DecorationRole)
        rect = option.rect
        dpr = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        key = (job.id, job.model_id, bool(job.mock), job.status, float(job.progress or 0.0),
               status, iw, thumb.cacheKey() if hasattr(thumb, "cacheKey") else None,
               int(option.state.value), rect.width(), rect.height(), dpr,
               option.palette.cacheKey(), option.font.key(), p.font().key())
        pm = self._rows.pop(key, None)
        if pm is None:
            pm = self._picture(p, option, job, status, thumb, iw, dpr)
        self._rows[key] = pm  # the newest last; the oldest go first
        while len(self._rows) > self.CACHE_ROWS:
            del self._rows[next(iter(self._rows))]
        p.drawPixmap(rect.topLeft(), pm)
        self._paint_info(p, rect, option, job, info, iw)

    def _picture(self, p: QPainter, option: QStyleOptionViewItem, job: Any, status: str,
                 thumb: Any, iw: int, dpr: float) -> QPixmap:
        rect = option.rect
        pm = QPixmap(max(1, round(rect.width() * dpr)), max(1, round(rect.height() * dpr)))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        opt = QStyleOptionViewItem(option)
        opt.rect = QRect(0, 0, rect.width(), rect.height())
        q = QPainter(pm)
        q.setFont(p.font())
        q.setRenderHints(p.renderHints())
        try:
            self._paint_row(q, opt, job, status, thumb, iw)
        finally:
            q.end()
        return pm

    def _paint_row(self, p: QPainter, option: QStyleOptionViewItem, job: Any, status: str,
                   thumb: Any, iw: int) -> None:
        """Everything in a row but the info line (time · credits), at option.rect."""
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, p,
                                option.widget)
        r = option.rect.adjusted(8, 6, -8, -6)
        thumb_r = QRect(r.x(), r.y() + (r.height() - self.THUMB.height()) // 2,
                        self.THUMB.width(), self.THUMB.height())
        draw_thumb(p, thumb_r, thumb, present.task_of(job.model_id) or "?")
        text = r.adjusted(self.THUMB.width() + 10, 0, 0, 0)
        fg, dim, selected = _pens(option)
        fm = p.fontMetrics()
        lh = fm.height()
        right = text.right()
        if job.mock:
            right = draw_badge(p, right, text.y(), "MOCK").x() - 6
        bold = QFont(p.font())
        bold.setBold(True)
        p.setFont(bold)
        title = present.task_title(job.model_id)
        p.setPen(fg)
        p.drawText(QRect(text.x(), text.y(), right - text.x(), lh),
                   Qt.AlignmentFlag.AlignLeft, title)
        tw = p.fontMetrics().horizontalAdvance(title)
        p.setFont(option.font)
        p.setPen(dim)
        p.drawText(QRect(text.x() + tw + 8, text.y(), max(0, right - text.x() - tw - 8), lh),
                   Qt.AlignmentFlag.AlignLeft,
                   fm.elidedText(job.model_id, Qt.TextElideMode.ElideRight,
                                 max(0, right - text.x() - tw - 8)))
        prompt = present.excerpt(present.take_words(job), 200)
        p.setPen(fg)
        p.drawText(QRect(text.x(), text.y() + lh + 2, text.width(), lh),
                   Qt.AlignmentFlag.AlignLeft,
                   fm.elidedText(prompt, Qt.TextElideMode.ElideRight, text.width()))
        y3 = text.y() + 2 * lh + 4
        held = is_waiting(job) and job.status == "held"
        p.setPen(fg if selected else qcolor("warning") if held else status_colour(job.status))
        sw = max(0, text.width() - iw - 8)
        p.drawText(QRect(text.x(), y3, sw, lh), Qt.AlignmentFlag.AlignLeft,
                   fm.elidedText(status, Qt.TextElideMode.ElideRight, sw))
        if job.status in ACTIVE and not is_waiting(job):
            bar = QRect(text.x(), min(r.bottom() - 3, y3 + lh + 3), text.width(), 4)
            draw_progress(p, bar, float(job.progress or 0.0),
                          fg if selected else status_colour(job.status))

    def _paint_info(self, p: QPainter, rect: QRect, option: QStyleOptionViewItem, job: Any,
                    info: str, iw: int) -> None:
        """The row's clock and credits, right-aligned on its third line."""
        if not info:
            return
        text = rect.adjusted(8 + self.THUMB.width() + 10, 6, -8, -6)
        lh = p.fontMetrics().height()
        p.save()
        p.setFont(option.font)
        p.setPen(_pens(option)[1])
        p.drawText(QRect(text.right() - iw, text.y() + 2 * lh + 4, iw, lh),
                   Qt.AlignmentFlag.AlignRight, info)
        p.restore()


def _pens(option: QStyleOptionViewItem) -> tuple[QColor, QColor, bool]:
    """A row's text colour, its dimmed colour, and whether the row is selected."""
    selected = bool(option.state & QStyle.StateFlag.State_Selected)
    fg = option.palette.highlightedText().color() if selected else option.palette.text().color()
    dim = QColor(fg)
    dim.setAlpha(150)
    return fg, dim, selected


def reveal_in_file_manager(path: str) -> bool:
    """Open the folder holding `path` in the system file manager."""
    from pathlib import Path

    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))


class QueuePanel(QWidget):
    """The queue list with its actions. Cancel and retry are forwarded as signals."""

    cancel_requested = Signal(object)
    retry_requested = Signal(object)
    job_selected = Signal(object)  # the JobRecord, or None
    message = Signal(str)  # for the window's status line
    # the local queue (app.ui.local_queue connects these; keys are idempotency keys)
    waiting_cancel_requested = Signal(str)  # take a waiting take off: nothing sent
    waiting_front_requested = Signal(str)
    waiting_retry_requested = Signal(str)  # a held take checked again
    pause_requested = Signal(bool)  # True: pause the queue, False: resume it
    cap_requested = Signal(int)  # takes at once

    #: what cancelling a take that is already on the provider does to its charge (the API
    #: contract, docs/api.md: "credits of a canceled job are refunded"); a provider that
    #: says otherwise replaces it (app.ui.local_queue)
    REFUND_NOTE = "the provider refunds the credits of a render canceled before it finishes"

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.reveal = reveal_in_file_manager
        self.cancel_box: QMessageBox | None = None
        self.refund_note = self.REFUND_NOTE
        self.view = QListView(self)
        self.view.setObjectName("queueView")
        self.view.setModel(model)
        self.view.setItemDelegate(QueueDelegate(self.view))
        self.view.setUniformItemSizes(True)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        # waiting takes are dragged into a new order (the model says which rows may move)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setDragDropOverwriteMode(False)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        model.dataChanged.connect(self._data_changed)
        model.modelReset.connect(self._update_actions)
        model.rowsRemoved.connect(self._update_actions)

        title = QLabel("Queue", self)
        title.setObjectName("panelTitle")
        self.hide_finished = QCheckBox("Hide finished", self)
        self.hide_finished.toggled.connect(model.set_hide_finished)
        self.empty = QLabel("", self)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet(f"color: {colour('placeholder')}; padding: 16px;")

        self.act_cancel = self._action(
            "Cancel", f"Cancel this render ({self.REFUND_NOTE})", self._cancel, "cancel")
        self.act_front = self._action("Move to front",
                                      "Send this waiting take next (drag to reorder)",
                                      self._front)
        self.act_retry = self._action("Retry", "Render again with the same parameters (a new take)",
                                      self._retry, "retry")
        self.act_reveal = self._action("Reveal file", "Show the result in the file manager",
                                       self._reveal, "reveal")
        self.act_copy_id = self._action("Copy id", "Copy the job id", self._copy_id)
        self.act_copy_error = self._action("Copy error", "Copy the server's error message",
                                           self._copy_error)
        bar = QHBoxLayout()
        bar.setSpacing(2)
        for act in (self.act_cancel, self.act_retry, self.act_reveal):
            btn = QToolButton(self)
            btn.setDefaultAction(act)
            btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            bar.addWidget(btn)
        more = QToolButton(self)
        more.setText("Copy")
        more.setIcon(icon("copy"))
        more.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        more.setToolTip("Copy the job id or the error")
        more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        copy_menu = QMenu(more)
        copy_menu.addAction(self.act_copy_id)
        copy_menu.addAction(self.act_copy_error)
        more.setMenu(copy_menu)
        bar.addWidget(more)
        bar.addStretch(1)
        self.pause_btn = QToolButton(self)
        self.pause_btn.setObjectName("queuePause")
        self.pause_btn.setCheckable(True)
        self.pause_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.pause_btn.toggled.connect(self._pause_toggled)
        self.cap_label = QLabel("At once", self)
        self.cap_spin = QSpinBox(self)
        self.cap_spin.setObjectName("queueCap")
        self.cap_spin.setRange(1, 64)
        self.cap_spin.setToolTip("How many takes of this profile may be on the provider at "
                                 "once; the others wait here, in order, unsent and uncharged")
        self.cap_label.setBuddy(self.cap_spin)
        self.cap_spin.valueChanged.connect(self._cap_changed)
        self._showing = False  # set_local_state is updating the controls
        for w in (self.pause_btn, self.cap_label, self.cap_spin):
            w.setVisible(False)  # shown once a local queue is attached
        self._show_paused(False)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.hide_finished)
        controls = QHBoxLayout()  # the local queue's, on their own row (the panel stays narrow)
        controls.addWidget(self.pause_btn)
        controls.addStretch(1)
        controls.addWidget(self.cap_label)
        controls.addWidget(self.cap_spin)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(head)
        lay.addLayout(controls)
        self.body = QStackedWidget(self)
        self.body.addWidget(self.view)
        self.body.addWidget(self.empty)
        lay.addWidget(self.body, 1)
        lay.addLayout(bar)
        for sig in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            sig.connect(self._update_empty)
        self._update_empty()
        self._update_actions()

    def _action(self, text: str, tip: str, slot: Any, icon_name: str | None = None) -> QAction:
        act = QAction(icon(icon_name), text, self) if icon_name else QAction(text, self)
        act.setToolTip(tip)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    # ---- the local queue's controls ---------------------------------------------------------
    def set_local_state(self, paused: bool, cap: int) -> None:
        """Show the local queue's pause state and cap (without asking for them again)."""
        self._showing = True
        try:
            for w in (self.pause_btn, self.cap_label, self.cap_spin):
                w.setVisible(True)
            self.pause_btn.setChecked(paused)
            self._show_paused(paused)
            self.cap_spin.setValue(cap)
        finally:
            self._showing = False

    def _show_paused(self, paused: bool) -> None:
        self.pause_btn.setText("Resume queue" if paused else "Pause queue")
        self.pause_btn.setIcon(icon("play" if paused else "pause"))
        self.pause_btn.setToolTip(
            "The queue is paused: waiting takes are not sent. Resume to send them in order"
            if paused else "Pause the queue: takes already sent go on, waiting ones stay "
            "unsent until you resume")

    def _pause_toggled(self, on: bool) -> None:
        self._show_paused(on)
        if not self._showing:
            self.pause_requested.emit(on)

    def _cap_changed(self, value: int) -> None:
        if not self._showing:
            self.cap_requested.emit(value)

    def _update_empty(self, *_: Any) -> None:
        empty = self.model.rowCount() == 0
        self.body.setCurrentWidget(self.empty if empty else self.view)
        if empty and self.model.hide_finished and self.model._all:
            self.empty.setText("Every take here has finished: untick Hide finished to see them.")
        elif empty:
            self.empty.setText("No renders yet.\nFill a form and press Render (Ctrl+Enter).")

    # ---- selection -----------------------------------------------------------------------
    def current_job(self) -> Any | None:
        idx = self.view.currentIndex()
        return self.model.job_at(idx.row()) if idx.isValid() else None

    def select(self, job_id: Any) -> None:
        row = self.model.row_of(job_id)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_actions()
        self.job_selected.emit(self.model.job_at(current.row()) if current.isValid() else None)

    def _data_changed(self, top: QModelIndex, bottom: QModelIndex, roles: Any = None) -> None:
        cur = self.view.currentIndex()
        if cur.isValid() and top.row() <= cur.row() <= bottom.row() and not roles:
            self._update_actions()
            self.job_selected.emit(self.current_job())

    def _update_actions(self, *_: Any) -> None:
        job = self.current_job()
        waiting = job is not None and is_waiting(job)
        self.act_front.setVisible(not self.pause_btn.isHidden() or waiting)
        self.act_front.setEnabled(waiting and job.status != "sending"
                                  and self.model.row_of(job.id) != 0)
        if waiting:
            self.act_cancel.setEnabled(job.status != "sending")
            self.act_cancel.setToolTip("Take this waiting take off the queue: nothing has "
                                       "been sent or charged")
            self.act_retry.setEnabled(job.status == "held")
            self.act_retry.setToolTip("Check this held take against the balance and today's "
                                      "cap again")
        else:
            self.act_cancel.setEnabled(job is not None and job.status in ACTIVE)
            self.act_cancel.setToolTip(f"Cancel this render ({self.refund_note})")
            self.act_retry.setEnabled(job is not None and job.status in TERMINAL)
            self.act_retry.setToolTip("Render again with the same parameters (a new take)")
        self.act_reveal.setEnabled(job is not None and bool(job.result_path))
        self.act_copy_id.setEnabled(job is not None)
        self.act_copy_error.setEnabled(job is not None and bool(present.error_words(job)))

    # ---- actions -------------------------------------------------------------------------
    def _menu(self, pos: Any) -> None:
        if not self.view.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addActions(self.actions())
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _cancel(self) -> None:
        job = self.current_job()
        if job is not None and is_waiting(job):
            self.waiting_cancel_requested.emit(job.key)
        elif job is not None:
            self.cancel_requested.emit(job.id)

    def _retry(self) -> None:
        job = self.current_job()
        if job is not None and is_waiting(job):
            self.waiting_retry_requested.emit(job.key)
        elif job is not None:
            self.retry_requested.emit(job.id)

    def _front(self) -> None:
        job = self.current_job()
        if job is not None and is_waiting(job):
            self.waiting_front_requested.emit(job.key)

    def _reveal(self) -> None:
        job = self.current_job()
        if job is not None and job.result_path and not self.reveal(str(job.result_path)):
            self.message.emit(f"No file manager could be opened here: the file is "
                              f"{job.result_path}")

    def delete_current(self) -> QMessageBox | None:
        """Delete on the queue: a finished take leaves the queue (it stays in History); an
        unfinished one is cancelled once the user says so (the box is returned)."""
        job = self.current_job()
        if job is None:
            self.message.emit("Select a take in the queue first.")
            return None
        if is_waiting(job):
            self.waiting_cancel_requested.emit(job.key)
            return None
        if job.status not in ACTIVE:
            self.model.remove(job.id)
            self.message.emit("Removed from the queue: the take is still in History.")
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Cancel take",
                          f"Cancel “{present.excerpt(present.take_words(job), 60)}”? It is "
                          f"still rendering; {self.refund_note}.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText("Cancel the render")
        box.button(QMessageBox.StandardButton.No).setText("Keep it")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.finished.connect(lambda _r: self._cancel_answer(
            job.id, box.clickedButton() == box.button(QMessageBox.StandardButton.Yes)))
        self.cancel_box = box
        box.open()
        return box

    def _cancel_answer(self, job_id: Any, yes: bool) -> None:
        self.cancel_box = None
        if yes:
            self.cancel_requested.emit(job_id)

    def _copy_id(self) -> None:
        job = self.current_job()
        if job is not None:
            text = str(job.remote_id or job.id)
            QGuiApplication.clipboard().setText(text)

    def _copy_error(self) -> None:
        job = self.current_job()
        if job is not None:
            words = present.error_words(job)
            code = f"[{job.error_code}] " if job.error_code else ""
            QGuiApplication.clipboard().setText(f"{code}{words}")


def _age(job: Any) -> tuple[int, bool, float]:
    """How far a take's record has come: its status changes, then its file, then progress
    (each only grows), so a copy sent before a later update reads as older."""
    return (len(getattr(job, "history", ()) or ()), bool(getattr(job, "result_path", None)),
            float(getattr(job, "progress", 0.0) or 0.0))
