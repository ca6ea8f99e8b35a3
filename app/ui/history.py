"""The history gallery: every take as a poster-frame grid, filtered, lazily loaded off-thread.

`HistoryModel` pages through `JobStore.query` (newest first) with `canFetchMore`/`fetchMore`;
each page is read where the store lives (the window passes the core loop's `call`, see
app.client.core; alone, the model reads on a worker thread of its own) and inserted when it
arrives, so the GUI thread never waits on the database, and 10,000 takes cost only the pages
scrolled into view.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
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
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from app.catalog import MODELS
from app.catalog.status import timestamp
from app.client import present
from app.ui import coalesce
from app.ui.paint import draw_badge, status_colour
from app.ui.palette import qcolor
from app.ui.queue import JobRole, thumb_path
from app.ui.thumbs import ThumbnailCache, device_size, draw_poster
from app.ui.use_as import TAKE_MIME, take_mime

_Index = QModelIndex | QPersistentModelIndex
PAGE = 120
Runner = Callable[..., object]  # run(fn, *args, **kw): call fn on the store's thread, in order


@dataclass(frozen=True)
class HistoryFilter:
    search: str = ""
    task: str | None = None
    model_id: str | None = None
    status: tuple[str, ...] | None = None
    favourite: bool | None = None
    since: float | None = None
    profile: str | None = None  # the window's profile: its takes only (None: every profile)

    def sources(self) -> list[str | None]:
        """The model ids to page through (None = all models in one query)."""
        if self.model_id:
            return [self.model_id]
        if self.task:
            return [m.id for m in MODELS.values() if m.task == self.task]
        return [None]

    def query_args(self, model_id: str | None) -> dict[str, Any]:
        return {"search": self.search or None, "model_id": model_id,
                "status": list(self.status) if self.status else None,
                "favourite": self.favourite, "since": self.since, "profile": self.profile}

    def matches(self, job: Any) -> bool:
        """The same test as the store's query, for takes that arrive while the view is open."""
        if job.deleted:
            return False
        if self.search:
            needle = self.search.lower()
            hay = f"{present.prompt_of(job.payload)}\n{job.payload.get('out', '')}\n{job.model_id}"
            if needle not in hay.lower():
                return False
        if self.model_id and job.model_id != self.model_id:
            return False
        if self.profile is not None and getattr(job, "profile", self.profile) != self.profile:
            return False
        if self.task and present.task_of(job.model_id) != self.task:
            return False
        if self.status and job.status not in self.status:
            return False
        if self.favourite is not None and bool(job.favourite) != self.favourite:
            return False
        return not (self.since is not None and (timestamp(job.created_at) or 0) < self.since)


def fetch_page(store: Any, flt: HistoryFilter, offsets: dict[str | None, int],
               limit: int = PAGE) -> tuple[list[Any], dict[str | None, int], bool]:
    """The next `limit` takes across the filter's sources, merged newest first.

    Returns (records, new offsets, exhausted). Runs on a worker thread.
    """
    rows: list[tuple[float, int, str | None, Any]] = []
    done = True
    for i, src in enumerate(flt.sources()):
        got = store.query(**flt.query_args(src), limit=limit, offset=offsets.get(src, 0))
        if len(got) >= limit:
            done = False
        rows += [(timestamp(r.created_at) or 0.0, i, src, r) for r in got]
    rows.sort(key=lambda t: (-t[0], t[1]))
    taken = rows[:limit]
    new = dict(offsets)
    for _, _, src, _ in taken:
        new[src] = new.get(src, 0) + 1
    exhausted = done and len(rows) <= limit
    return [r for *_, r in taken], new, exhausted


def count_takes(store: Any, flt: HistoryFilter) -> int:
    return sum(store.count(**flt.query_args(src)) for src in flt.sources())


class HistoryModel(QAbstractListModel):
    """Takes matching a `HistoryFilter`, fetched a page at a time on a worker thread."""

    count_changed = Signal(int)
    page_loaded = Signal(int)  # rows now loaded
    take_dragged = Signal(object)  # finished takes whose files a drag carries (lineage)
    _page = Signal(int, object, object, bool)
    _count = Signal(int, int)

    def __init__(self, store: Any, thumbs: ThumbnailCache, parent: QObject | None = None,
                 page_size: int = PAGE, run: Runner | None = None,
                 profile: str | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.thumbs = thumbs
        self.page_size = page_size
        self.profile = profile  # every filter is kept to this profile's takes
        self.filter = HistoryFilter(profile=profile)
        self._rows: list[Any] = []
        self._ids: dict[str, int] = {}
        self._offsets: dict[str | None, int] = {}
        self._exhausted = False
        self._fetching = False
        self._gen = 0
        self.total = 0
        # store calls run in order off the GUI thread: on the caller's thread (`run`) or ours
        self._io = None if run is not None else ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="history")
        self._run: Runner = run if run is not None else self._io.submit  # type: ignore[union-attr]
        self._closed = False
        self._page.connect(self._on_page, Qt.ConnectionType.QueuedConnection)
        self._count.connect(self._on_count, Qt.ConnectionType.QueuedConnection)
        thumbs.thumbnail_ready.connect(self._on_thumb)

    # ---- the store, off the GUI thread -----------------------------------------------------
    def run_io(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Run a store or file operation off the GUI thread, in order."""
        if not self._closed:
            with contextlib.suppress(RuntimeError):  # the store's thread has stopped
                self._run(fn, *args, **kw)

    def set_filter(self, flt: HistoryFilter) -> None:
        if self.profile is not None:
            flt = replace(flt, profile=self.profile)
        self.filter = flt
        self.reload()

    def reload(self) -> None:
        self._gen += 1
        self.beginResetModel()
        self._rows, self._ids, self._offsets = [], {}, {}
        self._exhausted = False
        self._fetching = False
        self.endResetModel()
        self._request_count()
        self.fetchMore(QModelIndex())

    def _request_count(self) -> None:
        gen, flt = self._gen, self.filter
        def work() -> None:
            n = count_takes(self.store, flt)
            if not self._closed:
                with contextlib.suppress(RuntimeError):
                    self._count.emit(gen, n)

        self.run_io(work)

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted or self._fetching or self._closed:
            return
        self._fetching = True
        gen, flt, offsets, size = self._gen, self.filter, dict(self._offsets), self.page_size

        def work() -> None:
            try:
                rows, new, done = fetch_page(self.store, flt, offsets, size)
            except Exception:
                rows, new, done = [], offsets, True
            if not self._closed:
                with contextlib.suppress(RuntimeError):  # the model is being torn down
                    self._page.emit(gen, rows, new, done)

        self.run_io(work)

    @property
    def loading(self) -> bool:
        return self._fetching

    def _on_page(self, gen: int, rows: list[Any], offsets: dict[Any, int], done: bool) -> None:
        if gen != self._gen:
            return
        self._fetching = False
        self._offsets = offsets
        self._exhausted = done
        fresh = [r for r in rows if r.id not in self._ids]
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for r in fresh:
                self._ids[r.id] = len(self._rows)
                self._rows.append(r)
            self.endInsertRows()
        self.page_loaded.emit(len(self._rows))

    def _on_count(self, gen: int, n: int) -> None:
        if gen == self._gen:
            self.total = n
            self.count_changed.emit(n)

    # ---- live updates ----------------------------------------------------------------------
    def upsert(self, job: Any) -> None:
        """A take changed or appeared (from the job manager)."""
        row = self._ids.get(job.id)
        if row is not None:
            if self.filter.matches(job):
                self._rows[row] = job
                coalesce.row_changed(self, job.id)  # one repaint per batch of updates
            else:
                self._drop(row, job)
            return
        if not self.filter.matches(job):
            return
        newest = timestamp(self._rows[0].created_at) if self._rows else None
        if newest is None and not self._exhausted:
            return  # the first page is on its way and will include it
        if newest is not None and (timestamp(job.created_at) or 0) < newest:
            return  # older than what is shown: paging will reach it
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, job)
        self._reindex()
        self.endInsertRows()
        self._bump(job, +1)
        self.total += 1
        self.count_changed.emit(self.total)

    def remove(self, job_id: str) -> None:
        row = self._ids.get(job_id)
        if row is not None:
            self._drop(row, self._rows[row])

    def _drop(self, row: int, job: Any) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self._reindex()
        self.endRemoveRows()
        self._bump(job, -1)
        self.total = max(0, self.total - 1)
        self.count_changed.emit(self.total)

    def _bump(self, job: Any, delta: int) -> None:
        src: str | None = job.model_id if self.filter.sources() != [None] else None
        self._offsets[src] = max(0, self._offsets.get(src, 0) + delta)

    def _reindex(self) -> None:
        self._ids = {r.id: i for i, r in enumerate(self._rows)}

    def replace_job(self, job: Any) -> None:
        row = self._ids.get(job.id)
        if row is not None:
            self._rows[row] = job
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)

    # ---- Qt model ----------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def job_at(self, row: int) -> Any | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, job_id: str) -> int | None:
        return self._ids.get(job_id)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        job = self.job_at(index.row()) if index.isValid() else None
        if job is not None and getattr(job, "result_path", None):
            return base | Qt.ItemFlag.ItemIsDragEnabled  # its file, onto a drop zone
        return base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", TAKE_MIME]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def mimeData(self, indexes: Any) -> QMimeData:
        jobs = [self.job_at(i.row()) for i in indexes if i.isValid()]
        mime = take_mime(jobs)
        if mime is None:
            return QMimeData()
        self.take_dragged.emit([j for j in jobs if j is not None])
        return mime

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        job = self.job_at(index.row()) if index.isValid() else None
        if job is None:
            return None
        if role == JobRole:
            return job
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(thumb_path(job))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            bits = ["★" if job.favourite else "", "MOCK" if job.mock else "",
                    present.task_title(job.model_id),
                    present.excerpt(present.take_words(job), 60),
                    present.STATUS_WORDS.get(job.status, job.status)]
            return " · ".join(b for b in bits if b)
        return None

    def _on_thumb(self, path: str) -> None:
        for row, job in enumerate(self._rows):
            if thumb_path(job) == path:
                idx = self.index(row)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def close(self) -> None:
        self._closed = True
        if self._io is not None:
            self._io.shutdown(wait=True, cancel_futures=True)


def with_favourite(job: Any, on: bool) -> Any:
    return replace(job, favourite=on)


class HistoryDelegate(QStyledItemDelegate):
    """A gallery tile: poster frame, task, status, favourite star, MOCK badge, prompt."""

    TILE = QSize(188, 150)
    THUMB = QSize(172, 97)
    SCALES = (1.0, 1.5, 2.0, 2.75)  # the tile-size control's steps (the full-width view's)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return self.tile

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._texts: dict[tuple[Any, ...], tuple[str, str]] = {}
        self.scale = 1.0
        self.tile, self.thumb = QSize(self.TILE), QSize(self.THUMB)

    def set_scale(self, scale: float) -> bool:
        """Tiles `scale` times the small size (the poster frame grows; the two text lines
        stay one line each). True if it changed (the view must lay its items out again)."""
        scale = max(self.SCALES[0], min(self.SCALES[-1], float(scale)))
        if scale == self.scale:
            return False
        self.scale = scale
        t = self.THUMB
        self.thumb = QSize(round(t.width() * scale), round(t.height() * scale))
        self.tile = QSize(self.thumb.width() + self.TILE.width() - t.width(),
                          self.thumb.height() + self.TILE.height() - t.height())
        self.sizeHintChanged.emit(QModelIndex())
        return True

    @staticmethod
    def _poster(p: QPainter, index: _Index, job: Any, size: QSize) -> Any:
        """The poster frame made at the tile's device pixels (a big tile asks for a big one:
        sharp, not the small one enlarged)."""
        thumbs = getattr(index.model(), "thumbs", None)
        if not isinstance(thumbs, ThumbnailCache):
            return index.data(Qt.ItemDataRole.DecorationRole)
        dev = p.device()
        dpr = dev.devicePixelRatioF() if dev is not None else 1.0
        return thumbs.get(thumb_path(job), device_size(size, dpr))

    def _lines(self, job: Any, option: QStyleOptionViewItem, width: int,
               title_width: int) -> tuple[str, str]:
        """The tile's two text lines, elided once per take and width (painting is hot)."""
        key = (job.id, job.payload.get("prompt"), width, title_width, option.font.key())
        hit = self._texts.get(key)
        if hit is None:
            bold = QFont(option.font)
            bold.setBold(True)
            title = QFontMetrics(bold).elidedText(present.task_title(job.model_id),
                                                  Qt.TextElideMode.ElideRight, title_width)
            text = " ".join((present.prompt_of(job.payload) or job.model_id).split())
            prompt = option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, width)
            if len(self._texts) > 5000:
                self._texts.clear()
            hit = self._texts[key] = (title, prompt)
        return hit

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        job = index.data(JobRole)
        if job is None:
            return
        p.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            p.fillRect(option.rect.adjusted(2, 2, -2, -2), option.palette.highlight())
        r = option.rect.adjusted(8, 8, -8, -6)
        thumb = QRect(r.x(), r.y(), self.thumb.width(), self.thumb.height())
        draw_poster(p, thumb, self._poster(p, index, job, thumb.size()),
                    present.task_of(job.model_id) or "?")
        if job.mock:
            draw_badge(p, thumb.right() - 4, thumb.y() + 4, "MOCK")
        if job.status != "succeeded":
            draw_badge(p, thumb.right() - 4, thumb.bottom() - 20,
                       present.STATUS_WORDS.get(job.status, job.status).upper(),
                       status_colour(job.status))
        fg = option.palette.highlightedText().color() if selected else option.palette.text().color()
        lh = option.fontMetrics.height()
        y = thumb.bottom() + 5
        x0 = r.x() + (16 if job.favourite else 0)
        title, prompt = self._lines(job, option, r.width(), r.right() - x0)
        bold = QFont(option.font)
        bold.setBold(True)
        p.setFont(bold)
        if job.favourite:
            p.setPen(qcolor("favourite"))
            p.drawText(QRect(r.x(), y, 16, lh), Qt.AlignmentFlag.AlignLeft, "★")
        p.setPen(fg)
        p.drawText(QRect(x0, y, r.right() - x0, lh), Qt.AlignmentFlag.AlignLeft, title)
        p.setFont(option.font)
        dim = QColor(fg)
        dim.setAlpha(160)
        p.setPen(dim)
        p.drawText(QRect(r.x(), y + lh + 1, r.width(), lh), Qt.AlignmentFlag.AlignLeft, prompt)
        p.restore()


def since_for(choice: str, now: float | None = None) -> float | None:
    """'Today', 'Last 7 days', 'Last 30 days' → an epoch lower bound."""
    now = time.time() if now is None else now
    if choice == "Today":
        lt = time.localtime(now)
        return time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
    days = {"Last 7 days": 7, "Last 30 days": 30}.get(choice)
    return now - days * 86400 if days else None
