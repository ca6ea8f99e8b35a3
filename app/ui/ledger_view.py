"""The ledger window: per take, what was estimated and what was charged or refunded, mock or
paid, totals per day and per profile, exported as CSV (GUI thread; the store is read on the
core thread, the CSV written on a worker).

    view = open_ledger(window)      # once per window: again shows the same one, refreshed
    await view.refresh()            # after a charge or a refund

A take whose charge falls outside its estimate (or a mock take that was charged) is
highlighted in the palette's error colours, with a tooltip saying what differs. The CSV file is
written next to its target and moved into place: a FIFO, a device or a folder is refused
before anything is opened, a full disk or an unwritable folder is said and leaves any earlier
file as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.client import ledger, present
from app.client.ledger import LedgerRow
from app.client.profiles import SANDBOX_LABEL, SANDBOX_NAME
from app.ui.icons import icon
from app.ui.palette import qcolor
from app.ui.profile_editor import Tasks, follow_theme, message_label, restyle, say
from app.ui.workers import Workers

if TYPE_CHECKING:
    from app.ui.window import MainWindow

log = logging.getLogger(__name__)

OBJECT_NAME = "ledger"
ALL = "All profiles"
COLUMNS = ("When", "Take", "Profile", "Estimate", "Charged", "Refunded", "Mock/Paid", "Note")
TOTAL_COLUMNS = ("Takes", "Paid", "Mock", "Estimated", "Charged", "Refunded", "Net")
TakeRole = Qt.ItemDataRole.UserRole


class ExportError(Exception):
    """The CSV could not be written; the message says why and what to do."""


def read_ledger(store: Any, profile: str | None) -> tuple[list[LedgerRow], dict[str, str],
                                                          list[str]]:
    """On the core thread: the ledger's lines (`ledger.rows`), each take's words, and every
    profile that has takes."""
    lines = ledger.rows(store, profile)
    everything = store.all_takes()
    words = {r.id: present.take_words(r) for r in everything}
    names = sorted({r.profile or "" for r in everything} - {""})
    return lines, words, names


def write_csv_file(path: str, lines: list[LedgerRow]) -> int:
    """The ledger written to `path` (on a worker): a regular file or a new one only, written
    in full to a temporary file beside it, then moved into place."""
    target = Path(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise ExportError(f"Cannot write {target}: {e.strerror or e}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else \
            "a pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        raise ExportError(f"{target} is {kind}: choose a file name for the CSV")
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise ExportError(_why(e, folder)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            n = ledger.write_csv(lines, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            with contextlib.suppress(OSError):
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
        else:
            with contextlib.suppress(OSError):
                os.chmod(tmp, 0o644)  # as a new file would be (mkstemp makes it 0600)
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(_why(e, folder)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def _why(e: OSError, folder: Path) -> str:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"The disk holding {folder} is full: the CSV was not written (nothing changed)"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"You cannot write in {folder}: choose another folder"
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"The folder {folder} does not exist: choose another"
    return f"Cannot write the CSV in {folder}: {e.strerror or e}"


def _cr(n: int | None) -> str:
    return "\u2014" if n is None else f"{n:,}"


def estimate_text(row: LedgerRow) -> str:
    if row.mock:
        return "free"
    lo, hi = row.estimated_min, row.estimated_max
    return f"{lo:,}\u2013{hi:,}" if lo != hi else f"{hi:,}"


def profile_words(name: str) -> str:
    return SANDBOX_LABEL if name == SANDBOX_NAME else (name or "\u2014")


class LedgerView(QDialog):
    """The ledger of a studio's store, filtered by profile."""

    def __init__(self, studio: Any, parent: QWidget | None = None, *,
                 workers: Workers | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.setWindowTitle("Ledger")
        self.studio = studio
        self.tasks = Tasks(workers, self)
        self.lines: list[LedgerRow] = []
        self.words: dict[str, str] = {}
        self.totals: dict[str, Any] = ledger.totals([])
        self.save_dialog: QFileDialog | None = None
        self.loading: asyncio.Task[Any] | None = None
        self._generation = 0
        self.resize(980, 620)

        self.profile_combo = QComboBox(self)
        self.profile_combo.setObjectName("ledgerProfile")
        self.profile_combo.addItem(ALL, None)
        self.profile_combo.setToolTip("Show one profile's takes, or all")
        self.profile_combo.currentIndexChanged.connect(self.refresh_soon)
        self.refresh_btn = QPushButton(icon("retry"), "Refresh", self)
        self.refresh_btn.clicked.connect(self.refresh_soon)
        self.export_btn = QPushButton(icon("copy"), "Export CSV\u2026", self)
        self.export_btn.setToolTip("Save these rows as a CSV file (for a spreadsheet)")
        self.export_btn.clicked.connect(self.choose_export)
        top = QHBoxLayout()
        top.addWidget(QLabel("Profile", self))
        top.addWidget(self.profile_combo)
        top.addStretch(1)
        top.addWidget(self.refresh_btn)
        top.addWidget(self.export_btn)

        self.table = self._table(COLUMNS, "ledgerRows")
        self.day_table = self._table(("Day", *TOTAL_COLUMNS), "ledgerByDay")
        self.profile_table = self._table(("Profile", *TOTAL_COLUMNS), "ledgerByProfile")
        self.overall = QLabel("", self)
        self.overall.setObjectName("ledgerOverall")
        self.overall.setWordWrap(True)
        self.message = message_label(self)

        totals = QWidget(self)
        tl = QHBoxLayout(totals)
        tl.setContentsMargins(0, 0, 0, 0)
        for title, table in (("Per day", self.day_table), ("Per profile", self.profile_table)):
            box = QVBoxLayout()
            box.addWidget(QLabel(title, totals))
            box.addWidget(table)
            tl.addLayout(box)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(totals)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addStretch(1)  # Close keeps its size while no message is shown
        bottom.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.overall)
        lay.addLayout(bottom)

        follow_theme(self._theme_changed)

    def _theme_changed(self, _theme: str) -> None:
        restyle(self)
        self.refresh_btn.setIcon(icon("retry"))
        self.export_btn.setIcon(icon("copy"))
        self.show_lines(self.lines, self.words)  # the highlight in the new colours

    def _table(self, headers: tuple[str, ...], name: str) -> QTableWidget:
        t = QTableWidget(0, len(headers), self)
        t.setObjectName(name)
        t.setHorizontalHeaderLabels(list(headers))
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.verticalHeader().setVisible(False)
        t.setAlternatingRowColors(True)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.horizontalHeader().setStretchLastSection(True)
        return t

    # ---- reading -----------------------------------------------------------------------
    @property
    def profile(self) -> str | None:
        """The profile shown (None: all)."""
        return self.profile_combo.currentData()

    def refresh_soon(self, *_: Any) -> asyncio.Task[Any] | None:
        self.loading = self.tasks.spawn(self.refresh(), self._failed)
        return self.loading

    async def refresh(self) -> None:
        """Read the ledger again (on the core thread) and show it."""
        self._generation += 1
        mine, profile = self._generation, self.profile
        self.refresh_btn.setEnabled(False)
        try:
            lines, words, names = await self.studio.read(read_ledger, self.studio.store,
                                                         profile)
        finally:
            if mine == self._generation:
                self.refresh_btn.setEnabled(True)
        if mine != self._generation or self.tasks.closed:
            return  # a newer read is on its way
        self._set_profiles(names)
        self.show_lines(lines, words)

    def _set_profiles(self, names: list[str]) -> None:
        have = [self.profile_combo.itemData(i) for i in range(1, self.profile_combo.count())]
        if have == names:
            return
        keep = self.profile
        self.profile_combo.blockSignals(True)
        try:
            while self.profile_combo.count() > 1:
                self.profile_combo.removeItem(1)
            for n in names:
                self.profile_combo.addItem(profile_words(n), n)
            at = self.profile_combo.findData(keep) if keep is not None else 0
            self.profile_combo.setCurrentIndex(max(0, at))
        finally:
            self.profile_combo.blockSignals(False)

    def show_lines(self, lines: list[LedgerRow], words: dict[str, str]) -> None:
        self.lines, self.words = list(lines), dict(words)
        self.totals = ledger.totals(self.lines)
        t = self.table
        t.setSortingEnabled(False)
        t.setRowCount(len(self.lines))
        for r, line in enumerate(reversed(self.lines)):  # the newest first
            when = datetime.fromisoformat(line.created).strftime("%Y-%m-%d %H:%M")
            take = present.excerpt(words.get(line.take, line.model), 60)
            cells = (when, take, profile_words(line.profile), estimate_text(line),
                     _cr(line.charged), f"{line.refunded:,}" if line.refunded else "",
                     "Mock" if line.mock else "Paid", line.note)
            tip = f"{words.get(line.take, '')}\n{line.model} \u00b7 {line.status}".strip()
            if line.mismatch:
                tip = f"The charge differs from the estimate: {line.note}\n{tip}"
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(TakeRole, line.take)
                item.setToolTip(tip)
                if c >= 3 and c != 7:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                if line.mismatch:
                    item.setBackground(QBrush(qcolor("error_soft")))
                    if c in (3, 4, 7):
                        item.setForeground(QBrush(qcolor("error")))
                elif line.mock and c == 6:
                    item.setForeground(QBrush(qcolor("mock")))
                t.setItem(r, c, item)
        self._fill_totals(self.day_table, self.totals["by_day"], str)
        self._fill_totals(self.profile_table, self.totals["by_profile"], profile_words)
        o = self.totals["overall"]
        text = (f"{o['takes']:,} takes ({o['paid']:,} paid, {o['mock']:,} mock): charged "
                f"{o['charged']:,}, refunded {o['refunded']:,}, net {o['net']:,} credits")
        if o["unknown"]:
            text += f"; {o['unknown']:,} not known yet"
        if o["mismatches"]:
            text += f"; {o['mismatches']:,} charged differently from the estimate " \
                    "(highlighted)"
        self.overall.setText(text + ".")

    def _fill_totals(self, table: QTableWidget, groups: dict[str, dict[str, int]],
                     label: Any) -> None:
        table.setRowCount(len(groups))
        for r, (key, tot) in enumerate(groups.items()):
            values = (label(key), f"{tot['takes']:,}", f"{tot['paid']:,}", f"{tot['mock']:,}",
                      f"{tot['estimated_max']:,}", f"{tot['charged']:,}",
                      f"{tot['refunded']:,}", f"{tot['net']:,}")
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)

    # ---- export ------------------------------------------------------------------------
    def choose_export(self) -> QFileDialog:
        dlg = QFileDialog(self, "Export the ledger as CSV")
        dlg.setObjectName("ledgerExport")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setNameFilter("CSV files (*.csv)")
        dlg.setDefaultSuffix("csv")
        dlg.selectFile(f"takes-ledger-{datetime.now():%Y-%m-%d}.csv")
        dlg.fileSelected.connect(self.export_to)
        dlg.finished.connect(dlg.deleteLater)
        self.save_dialog = dlg
        dlg.open()
        return dlg

    def export_to(self, path: str) -> asyncio.Task[Any] | None:
        """Write the rows shown to `path` on a worker; the result said under the table."""
        return self.tasks.spawn(self._export(path, list(self.lines)), self._failed)

    async def _export(self, path: str, lines: list[LedgerRow]) -> None:
        self.export_btn.setEnabled(False)
        say(self.message, "Writing the CSV\u2026", "muted")
        try:
            n = await self.tasks.off(write_csv_file, path, lines)
        except ExportError as e:
            say(self.message, str(e), "error")
            return
        finally:
            self.export_btn.setEnabled(True)
        say(self.message, f"{n:,} rows written to {path}", "success")

    def _failed(self, exc: BaseException) -> None:
        self.refresh_btn.setEnabled(True)
        self.export_btn.setEnabled(True)
        log.info("ledger: %s", exc)
        say(self.message, f"The ledger could not be read ({type(exc).__name__}: {exc})",
            "error")

    def shutdown(self) -> None:
        """Stop its tasks and worker (the window calls this when it closes)."""
        self.tasks.close()


def open_ledger(window: MainWindow) -> LedgerView:
    """The window's ledger, shown and refreshed (made once; again returns the same one)."""
    view = window.findChild(LedgerView, OBJECT_NAME)
    if view is None:
        view = LedgerView(window.studio, window)
    view.refresh_soon()
    view.show()
    view.raise_()
    view.activateWindow()
    return view
