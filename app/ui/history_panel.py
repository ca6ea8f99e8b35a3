"""The history page: filters, the take grid, and a details panel with the take's actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.catalog import MODELS
from app.catalog.status import ACTIVE, CANCELED, FAILURES, SUCCEEDED, timestamp
from app.client import present
from app.ui.history import HistoryDelegate, HistoryFilter, HistoryModel, since_for
from app.ui.icons import icon
from app.ui.palette import colour, qcolor
from app.ui.workers import Debounce

STATUS_FILTERS: dict[str, tuple[str, ...] | None] = {
    "Any status": None,
    "Done": (SUCCEEDED,),
    "Failed": FAILURES,
    "Canceled": (CANCELED,),
    "In progress": ACTIVE,
}
DATE_FILTERS = ("Any time", "Today", "Last 7 days", "Last 30 days")
SEARCH_DEBOUNCE_MS = 250  # the search runs once typing pauses
DIFF_ALPHA = 70  # a changed parameter is tinted in the mock colour, lightly


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _ro(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    item.setToolTip(text)
    return item


class CompareDialog(QDialog):
    """Two takes' parameters side by side; the rows that differ are highlighted."""

    def __init__(self, a: Any, b: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare takes")
        self.resize(720, 480)
        self.rows = present.diff_params(self._flat(a), self._flat(b))
        self.table = QTableWidget(len(self.rows), 3, self)
        self.table.setHorizontalHeaderLabels(
            ["Parameter", self._head(a), self._head(b)])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        bold = QFont(self.font())
        bold.setBold(True)
        for i, (key, va, vb, differs) in enumerate(self.rows):
            for col, text in enumerate((key, va, vb)):
                item = _ro(text)
                if differs:
                    item.setBackground(QBrush(qcolor("mock", DIFF_ALPHA)))
                    item.setFont(bold)
                self.table.setItem(i, col, item)
        n = sum(1 for r in self.rows if r[3])
        summary = QLabel(f"{n} parameter{'s' if n != 1 else ''} differ (highlighted).", self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        # Play the two takes against each other (app.ui.review), when both have a file
        self.ab_btn = buttons.addButton("Compare A/B…", QDialogButtonBox.ButtonRole.ActionRole)
        self.ab_btn.setIcon(icon("compare"))
        self.ab_btn.setToolTip("Play both takes in step: side by side, wipe or flicker"
                               if a.result_path and b.result_path
                               else "Both takes need a file to play them A/B")
        self.ab_btn.setEnabled(bool(a.result_path and b.result_path))
        self.jobs = (a, b)
        lay = QVBoxLayout(self)
        lay.addWidget(summary)
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)

    @staticmethod
    def _head(job: Any) -> str:
        return f"{present.task_title(job.model_id)} · {_when(timestamp(job.created_at))}"

    @staticmethod
    def _flat(job: Any) -> dict[str, Any]:
        return {"model": job.model_id, **job.payload}

    def differing(self) -> list[str]:
        return [k for k, _, _, d in self.rows if d]



def narrow_combo(combo: QComboBox, chars: int = 5) -> None:
    """A filter's drop-down as wide as `chars` characters, not as its longest choice (its list
    still shows every choice in full): the filters' row, and so the window, stay narrow
    enough for a 1280-pixel screen."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    view = combo.view()

    def fit(*_: Any) -> None:  # the open list as wide as its longest choice
        view.setMinimumWidth(view.sizeHintForColumn(0) + 24)

    combo.model().rowsInserted.connect(fit)
    combo.model().modelReset.connect(fit)
    fit()

class DetailsPanel(QWidget):
    """Everything about one take, and what can be done with it."""

    cleared = Signal()  # no take shown any more (the list reloaded, the take went)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job: Any = None
        self.title = QLabel("Select a take", self)
        self.title.setObjectName("detailsTitle")
        self.title.setWordWrap(True)
        f = QFont(self.title.font())
        f.setPointSizeF(f.pointSizeF() * 1.2)
        f.setBold(True)
        self.title.setFont(f)
        self.meta = QLabel("", self)
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.title, self.meta):  # long paths must not widen the window
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.params = QTableWidget(0, 2, self)
        self.params.setHorizontalHeaderLabels(["Setting", "Value"])
        self.params.verticalHeader().hide()
        header = self.params.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(0, 120)
        self.params.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.params.setWordWrap(True)
        self.params.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.params.verticalHeader().setDefaultSectionSize(
            self.params.fontMetrics().height() + 6)
        self.play_btn = QPushButton("Play", self)
        self.rerun_btn = QPushButton("Re-run", self)
        self.rerun_btn.setToolTip("Render again with the same parameters (a new take)")
        self.open_btn = QPushButton("Open in form", self)
        self.open_btn.setToolTip("Fill the form with this take's parameters")
        self.compare_btn = QPushButton("Compare…", self)
        self.compare_btn.setToolTip("Pick another take to compare parameters "
                                    "(Esc: stop picking)")
        self.compare_btn.setCheckable(True)
        self.fav_btn = QPushButton("Favourite", self)
        self.fav_btn.setCheckable(True)
        self.delete_btn = QPushButton("Delete…", self)
        self.promote_btn = QPushButton("Render for real…", self)
        self.promote_btn.setObjectName("promoteButton")
        self.promote_btn.setToolTip("Promote to paid: render this mock take for real, after "
                                    "its price is shown")
        self.promote_btn.setIcon(icon("render"))
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        for b, name in ((self.play_btn, "play"), (self.rerun_btn, "rerun"),
                        (self.compare_btn, "compare"), (self.fav_btn, "favourite"),
                        (self.delete_btn, "delete")):
            b.setIcon(icon(name))
        for b in (self.play_btn, self.rerun_btn, self.open_btn):
            row1.addWidget(b)
        for b in (self.compare_btn, self.fav_btn, self.delete_btn):
            row2.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.meta)
        lay.addWidget(self.params, 1)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.promote_btn)
        self.show_job(None)

    def show_job(self, job: Any) -> None:
        self.job = job
        for b in (self.play_btn, self.rerun_btn, self.open_btn, self.compare_btn, self.fav_btn,
                  self.delete_btn):
            b.setEnabled(job is not None)
        self.promote_btn.setVisible(bool(job is not None and job.mock))
        if job is None:
            self.title.setText("Select a take")
            self.meta.setText("")
            self.params.setRowCount(0)
            self.cleared.emit()  # features' lines and buttons about the take go too
            return
        self.play_btn.setEnabled(bool(job.result_path))
        mock = "  [MOCK]" if job.mock else ""
        named = f"{job.name} · " if getattr(job, "name", "") else ""
        self.title.setText(f"{named}{present.task_title(job.model_id)}{mock}")
        run = present.run_seconds(job)
        lines = [
            f"Model: {present.model_name(job.model_id)}",
            f"Status: {present.status_text(job)}",
            f"Credits: {present.credits_text(job) or '—'}",
            f"Created: {_when(timestamp(job.created_at))}"
            + (f" · rendered in {present.duration_text(run)}" if run is not None else ""),
            f"File: {job.result_path or '—'}",
            f"Job id: {job.remote_id or job.id}",
        ]
        if getattr(job, "tags", None):
            lines.insert(0, "Tags: " + ", ".join(job.tags))
        self.meta.setText("\n".join(lines))
        rows = present.param_rows(job.payload)
        self.params.setRowCount(len(rows))
        for i, (k, v) in enumerate(rows):
            name = _ro(present.param_title(job.model_id, k))  # the form's words first
            name.setToolTip(f"{name.text()} — API name: {k}")  # the API's name secondary
            name.setData(Qt.ItemDataRole.UserRole, k)
            self.params.setItem(i, 0, name)
            self.params.setItem(i, 1, _ro(v))
        self.params.resizeRowsToContents()
        with QSignalBlocker(self.fav_btn):
            self.fav_btn.setChecked(bool(job.favourite))
            self.fav_btn.setIcon(icon("favourite-on" if job.favourite else "favourite"))

    def param_dict(self) -> dict[str, str]:
        """The rows by API name (`elements.1.frontal_image_url`)."""
        return {self.params.item(i, 0).data(Qt.ItemDataRole.UserRole):
                self.params.item(i, 1).text() for i in range(self.params.rowCount())}

    def title_dict(self) -> dict[str, str]:
        """The rows as shown, by the form's field titles."""
        return {self.params.item(i, 0).text(): self.params.item(i, 1).text()
                for i in range(self.params.rowCount())}


class HistoryPanel(QWidget):
    """Search and filters above a lazily loaded grid of takes, details on the right."""

    take_selected = Signal(object)
    message = Signal(str)
    _delete_failed = Signal(str)
    take_deleted = Signal(str)  # a job id, once its file is in the trash and its row gone
    play_requested = Signal(object)
    rerun_requested = Signal(object)
    promote_requested = Signal(object)  # a mock take to render for real
    open_requested = Signal(object)
    compare_ab_requested = Signal(object, object)  # two takes to play A/B (app.ui.review)
    full_width_toggled = Signal(bool)  # the queue and the preview to step aside, or come back

    def __init__(self, model: HistoryModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search prompts…")
        self.search.setClearButtonEnabled(True)
        self.task = QComboBox(self)
        self.task.addItem("All tasks", (None, None))
        for task, name in present.TASK_NAMES.items():
            models = [m for m in MODELS.values() if m.task == task]
            self.task.addItem(name, (task, None))
            if len(models) > 1:
                for m in models:
                    self.task.addItem(f"   {name} · {m.tier or m.id}", (None, m.id))
        self.status = QComboBox(self)
        self.status.addItems(list(STATUS_FILTERS))
        self.date = QComboBox(self)
        self.date.addItems(list(DATE_FILTERS))
        self.fav_only = QCheckBox("★ only", self)
        self.count = QLabel("", self)
        #: features narrow the filter the controls make (app.ui.projects: project, lineage)
        self.filter_hooks: list[Callable[[HistoryFilter], HistoryFilter]] = []
        self._debounce = Debounce(SEARCH_DEBOUNCE_MS, self.apply_filter, self)
        self.search.textChanged.connect(self._debounce.trigger)
        for combo in (self.task, self.status, self.date):
            combo.currentIndexChanged.connect(self.apply_filter)
            narrow_combo(combo)
        self.fav_only.toggled.connect(self.apply_filter)
        model.count_changed.connect(self._on_count)

        self.view = QListView(self)
        self.view.setObjectName("historyView")
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setSpacing(4)
        self.view.setWrapping(True)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        # Ctrl/Shift+click adds takes: two selected enable Compare A/B
        self.view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.view.setDragEnabled(True)  # a tile's file onto any drop zone (Use as, by drag)
        self.view.setDragDropMode(QListView.DragDropMode.DragOnly)
        self.view.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.view.setModel(model)
        self.delegate = HistoryDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.ab_btn = QPushButton("Compare A/B", self)
        self.ab_btn.setObjectName("compareAB")
        self.ab_btn.setIcon(icon("compare"))
        self.ab_btn.clicked.connect(self._ask_ab)
        self.tile_size = QSlider(Qt.Orientation.Horizontal, self)
        self.tile_size.setObjectName("tileSize")
        self.tile_size.setRange(0, len(HistoryDelegate.SCALES) - 1)
        self.tile_size.setPageStep(1)
        self.tile_size.setFixedWidth(60)
        self.tile_size.setToolTip("Tile size")
        self.tile_size.setAccessibleName("Tile size")
        self.tile_size.valueChanged.connect(
            lambda i: self.set_tile_scale(HistoryDelegate.SCALES[i]))
        self.full_btn = QPushButton("Full width", self)
        self.full_btn.setObjectName("historyFullWidth")
        self.full_btn.setCheckable(True)
        self.full_btn.setToolTip("Give the history the whole window (the queue and the "
                                 "preview come back when a take is played)")
        self.full_btn.toggled.connect(self._on_full_width)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.doubleClicked.connect(lambda idx: self.play_requested.emit(self._job(idx)))
        model.dataChanged.connect(self._on_data)
        model.modelReset.connect(lambda: self.details.show_job(None))

        self.details = DetailsPanel(self)
        d = self.details
        d.play_btn.clicked.connect(lambda: self._emit(self.play_requested))
        d.rerun_btn.clicked.connect(lambda: self._emit(self.rerun_requested))
        d.promote_btn.clicked.connect(lambda: self._emit(self.promote_requested))
        d.open_btn.clicked.connect(lambda: self._emit(self.open_requested))
        d.fav_btn.toggled.connect(self.set_favourite)
        d.delete_btn.clicked.connect(self.ask_delete)
        d.compare_btn.toggled.connect(self._compare_mode)
        self._compare_base: Any = None
        self.compare_dialog: CompareDialog | None = None
        self.delete_box: QMessageBox | None = None
        # Escape leaves compare-pick mode (the key is live only while it is on)
        self.leave_compare = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.leave_compare.setContext(Qt.ShortcutContext.WindowShortcut)
        self.leave_compare.setWhatsThis("Leave compare-pick mode (History)")
        self.leave_compare.setEnabled(False)
        self.leave_compare.activated.connect(lambda: d.compare_btn.setChecked(False))
        self._delete_failed.connect(self._on_delete_failed, Qt.ConnectionType.QueuedConnection)

        search_row = QHBoxLayout()
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.count)
        search_row.addWidget(self.ab_btn)
        # in this row (the search box gives way), not the filters' (the window's minimum width)
        search_row.addWidget(self.tile_size)
        search_row.addWidget(self.full_btn)
        self.search_row = search_row  # the search box gives way (a feature's filter)
        filters = QHBoxLayout()
        for w in (self.task, self.status, self.date, self.fav_only):
            filters.addWidget(w)
        filters.addStretch(1)
        self.filters_row = filters  # where features add their filters' controls
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(search_row)
        ll.addLayout(filters)
        #: a row of its own for a feature's chips (app.ui.projects: the lineage filter), shown
        #: only while they are: they never widen the filters' row (the window's minimum width)
        self.chips_row = QHBoxLayout()
        self.chips_row.addStretch(1)
        ll.addLayout(self.chips_row)
        self.hint = QLabel("", self)
        self.hint.setStyleSheet(f"color: {colour('mock')};")
        self.hint.hide()
        ll.addWidget(self.hint)
        ll.addWidget(self.view, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("historySplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([540, 320])
        self.details.setMinimumWidth(290)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.splitter)
        self._on_selection()

    # ---- filters ---------------------------------------------------------------------------
    def current_filter(self) -> HistoryFilter:
        task, model_id = self.task.currentData() or (None, None)
        flt = HistoryFilter(
            search=self.search.text().strip(), task=task, model_id=model_id,
            status=STATUS_FILTERS[self.status.currentText()],
            favourite=True if self.fav_only.isChecked() else None,
            since=since_for(self.date.currentText()))
        for hook in self.filter_hooks:
            flt = hook(flt)
        return flt

    def apply_filter(self, *_: Any) -> None:
        self._debounce.stop()
        flt = self.current_filter()
        if flt != self.model.filter:
            self.model.set_filter(flt)

    def _on_count(self, n: int) -> None:
        self.count.setText(f"{n:,} take{'s' if n != 1 else ''}")

    # ---- selection ---------------------------------------------------------------------------
    def _job(self, idx: QModelIndex) -> Any:
        return self.model.job_at(idx.row()) if idx.isValid() else None

    def current_job(self) -> Any:
        return self._job(self.view.currentIndex())

    def select(self, job_id: str) -> bool:
        row = self.model.row_of(job_id)
        if row is None:
            return False
        self.view.setCurrentIndex(self.model.index(row))
        return True

    def _on_current(self, current: QModelIndex, _prev: QModelIndex) -> None:
        job = self._job(current)
        if self._compare_base is not None and job is not None and job.id != self._compare_base.id:
            self.compare(self._compare_base, job)
            self.details.compare_btn.setChecked(False)
        self.details.show_job(job)
        self.take_selected.emit(job)

    def selected_jobs(self) -> list[Any]:
        """The selected takes, in the grid's order."""
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [j for j in (self.model.job_at(r) for r in rows) if j is not None]

    def ab_pair(self) -> tuple[Any, Any] | None:
        """The two selected takes when there are exactly two, both with a file."""
        jobs = self.selected_jobs()
        if len(jobs) == 2 and all(j.result_path for j in jobs):
            return jobs[0], jobs[1]
        return None

    def _on_selection(self, *_: Any) -> None:
        jobs = self.selected_jobs()
        pair = self.ab_pair()
        self.ab_btn.setEnabled(pair is not None)
        if pair is not None:
            tip = "Play the two selected takes in step: side by side, wipe or flicker"
        elif len(jobs) == 2:
            tip = "Both selected takes need a file to play them A/B"
        else:
            tip = "Select two takes (Ctrl+click) to play them A/B"
        self.ab_btn.setToolTip(tip)

    def _ask_ab(self) -> None:
        pair = self.ab_pair()
        if pair is not None:
            self.compare_ab_requested.emit(*pair)

    # ---- layout ------------------------------------------------------------------------------
    def set_tile_scale(self, scale: float) -> None:
        if self.delegate.set_scale(scale):
            self.view.scheduleDelayedItemsLayout()
            self.view.viewport().update()
        index = min(range(len(HistoryDelegate.SCALES)),
                    key=lambda i: abs(HistoryDelegate.SCALES[i] - self.delegate.scale))
        if self.tile_size.value() != index:
            with QSignalBlocker(self.tile_size):
                self.tile_size.setValue(index)

    def _on_full_width(self, on: bool) -> None:
        self.full_width_toggled.emit(on)

    def set_full_width_checked(self, on: bool) -> None:
        """Said by whoever laid the window out (the button follows, no signal)."""
        with QSignalBlocker(self.full_btn):
            self.full_btn.setChecked(on)

    def _on_data(self, top: QModelIndex, bottom: QModelIndex, roles: Any = None) -> None:
        cur = self.view.currentIndex()
        if cur.isValid() and top.row() <= cur.row() <= bottom.row() and not roles:
            self.details.show_job(self.current_job())

    def _emit(self, signal: Any) -> None:
        if self.details.job is not None:
            signal.emit(self.details.job)

    # ---- actions -----------------------------------------------------------------------------
    def set_favourite(self, on: bool) -> None:
        job = self.details.job
        if job is None or bool(job.favourite) == on:
            return
        from dataclasses import replace

        updated = replace(job, favourite=on)
        self.model.run_io(self.model.store.update, job.id, favourite=on)
        if self.model.filter.matches(updated):
            self.model.replace_job(updated)
        else:
            self.model.remove(job.id)
        self.details.show_job(updated if self.model.row_of(job.id) is not None else None)

    def _compare_mode(self, on: bool) -> None:
        self._compare_base = self.details.job if on else None
        self.leave_compare.setEnabled(on)
        self.hint.setText("Pick another take to compare its parameters with this one.")
        self.hint.setVisible(on)

    def compare(self, a: Any, b: Any) -> CompareDialog:
        self.compare_dialog = CompareDialog(a, b, self)
        dialog = self.compare_dialog
        dialog.ab_btn.clicked.connect(dialog.accept)  # the table gives way to the players
        dialog.ab_btn.clicked.connect(lambda: self.compare_ab_requested.emit(a, b))
        self.compare_dialog.open()
        return self.compare_dialog

    def ask_delete(self) -> QMessageBox | None:
        """Confirm, then move the file to the trash and drop the take (row kept if asked)."""
        job = self.details.job
        if job is None:
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Delete take",
                          "Move this take's file to the trash and remove it from history?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        keep = QCheckBox("Keep the take's record in the job store (hidden from history)", box)
        box.setCheckBox(keep)
        box.finished.connect(
            lambda _r: self._delete_answer(job, box.clickedButton() == box.button(
                QMessageBox.StandardButton.Yes), keep.isChecked()))
        self.delete_box = box
        box.open()
        return box

    def _delete_answer(self, job: Any, yes: bool, keep_row: bool) -> None:
        self.delete_box = None
        if yes:
            self.delete(job, keep_row)

    def delete(self, job: Any, keep_row: bool = False) -> None:
        from app.ui.files import move_to_trash

        path = job.result_path
        store = self.model.store

        def work() -> None:
            if path and not move_to_trash(str(path)):
                self._delete_failed.emit(str(path))
                return
            store.delete(job.id, keep_row=keep_row)
            self.take_deleted.emit(job.id)

        self.model.run_io(work)
        self.model.remove(job.id)
        self.model.thumbs.forget(str(path or ""))

    def _on_delete_failed(self, path: str) -> None:
        self.message.emit(f"Could not move {path} to the trash: the take was kept.")
        self.model.reload()
