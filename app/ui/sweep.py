"""Variations and sweeps in the window: "× N takes" beside Render, "Sweep…" in the toolbar: a
dialog that picks one or two fields and their values from each field's own kind (an enum's
values as check boxes, a number range with a step, a list of seeds, lines of text), a grid of
the cells with each one's estimate (an invalid one marked with the reason), and the total.

"Render N takes for X credits" is one intent (a double-click or a second press sends nothing
more) and one decision: the total goes through the profile's guard-rails on the core
(`Gate.check_batch`, a fresh balance; above the threshold the window's confirm dialog asks
once), then each valid cell is sent `confirmed` with its own idempotency key derived from the
intent's key. The cap and the balance are checked again as each cell goes: a cell they refuse
waits unsent in the local queue (app/client/localqueue.py), held with the reason, and the sweep
record says so. Each sweep is recorded in the data folder (app/client/sweeps.py, written on the
core) and its takes reach a contact sheet from history (app/ui/contact_sheet.py).

With × N above 1, Render itself (its button, Ctrl+Enter) sends N takes of the form through the
controller's render hook, the same way: one intent (RENDER, so the button says "Sending…" and a
double-click is still one), the total as one decision, each take its own key and a new take
(distinct seeds where the model has a seed; said plainly where it has none). The button and
the note beside it say the total (a state hook), and the total is held against today's cap and
the balance before it is offered. Each form keeps its own N (a form not yet set is × 1).

`install(window)` adds the controls and hooks the history's details (no I/O: cheap, and
idempotent); `start(window)` reads the sweeps recorded so far, on the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import weakref
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.client import present
from app.client.sweep import (
    MAX_CELLS,
    MAX_TAKES,
    MAX_VALUES,
    Cell,
    FieldKind,
    Priced,
    Sweep,
    SweepError,
    Vary,
    cell_estimate,
    cell_key,
    expand,
    field_kinds,
    parse_value,
    priced,
    seed_field,
)
from app.client.sweeps import SweepBook, SweepCell, SweepRecord
from app.ui.controller import RenderState, SendRequest
from app.ui.icons import icon
from app.ui.intent import RENDER
from app.ui.palette import qcolor

if TYPE_CHECKING:
    from app.catalog.pricing import Estimate
    from app.forms.form import ModelForm

log = logging.getLogger(__name__)
SWEEP = "sweep"  # the intent target of a sweep's send
NONE = "—"



def _count_suffix(spin: QSpinBox) -> None:
    """"× 1 take", "× 3 takes": the suffix follows the count."""
    def follow(n: int) -> None:
        spin.setSuffix(" take" if n == 1 else " takes")

    follow(spin.value())
    spin.valueChanged.connect(follow)

class ValuesEditor(QWidget):
    """The values of one field, picked from the field's own kind."""

    changed = Signal()

    def __init__(self, kind: FieldKind, current: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setObjectName(f"sweepValues:{kind.name}")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.boxes: list[tuple[QCheckBox, Any]] = []
        self.range: tuple[QDoubleSpinBox, QDoubleSpinBox, QDoubleSpinBox] | None = None
        self.text: QLineEdit | QPlainTextEdit | None = None
        if kind.kind in ("enum", "bool"):
            for value in kind.choices:
                box = QCheckBox(str(value).lower() if isinstance(value, bool) else str(value),
                                self)
                box.setObjectName(f"sweepValue:{kind.name}:{value}")
                box.setChecked(value == current)
                box.toggled.connect(self.changed)
                lay.addWidget(box)
                self.boxes.append((box, value))
        elif kind.kind in ("integer", "number"):
            for value in kind.choices:  # 'auto' beside a number
                box = QCheckBox(str(value), self)
                box.setObjectName(f"sweepValue:{kind.name}:{value}")
                box.toggled.connect(self.changed)
                lay.addWidget(box)
                self.boxes.append((box, value))
            spins = []
            whole = kind.kind == "integer"
            lo = kind.minimum if kind.minimum is not None else -1e6
            hi = kind.maximum if kind.maximum is not None else 1e6
            start = current if isinstance(current, int | float) and \
                not isinstance(current, bool) else lo
            for name, value in (("from", start), ("to", start), ("step", kind.step or 1)):
                spin = QDoubleSpinBox(self)
                spin.setObjectName(f"sweepRange:{kind.name}:{name}")
                spin.setDecimals(0 if whole else 2)
                spin.setRange(0.01 if name == "step" else lo, max(hi - lo, 1) if name == "step"
                              else hi)
                spin.setValue(float(value))
                spin.setSingleStep(kind.step or (1 if whole else 0.05))
                spin.valueChanged.connect(self.changed)
                lay.addWidget(QLabel(name, self))
                lay.addWidget(spin)
                spins.append(spin)
            self.range = (spins[0], spins[1], spins[2])
        elif kind.kind == "seed":
            self.text = QLineEdit(self)
            self.text.setObjectName(f"sweepSeeds:{kind.name}")
            self.text.setPlaceholderText("seeds, e.g. 1, 2, 3")
            self.text.textChanged.connect(self.changed)
            lay.addWidget(self.text, 1)
        else:
            self.text = QPlainTextEdit(self)
            self.text.setObjectName(f"sweepText:{kind.name}")
            self.text.setPlaceholderText("one value a line")
            self.text.setFixedHeight(64)
            self.text.textChanged.connect(self.changed)
            lay.addWidget(self.text, 1)
        lay.addStretch(0)

    def set_range(self, lo: float, hi: float, step: float) -> None:
        assert self.range is not None
        for spin, v in zip(self.range, (lo, hi, step), strict=True):
            spin.setValue(v)

    def values(self) -> list[Any]:
        """The values picked, in order (SweepError for one that is not of the field's kind)."""
        out = [v for box, v in self.boxes if box.isChecked()]
        if self.range is not None:
            lo, hi, step = (s.value() for s in self.range)
            n = int((hi - lo) / step + 1e-9) + 1 if hi >= lo and step > 0 else 0
            if n > MAX_VALUES:
                raise SweepError(f"{self.kind.title}: at most {MAX_VALUES} values")
            for i in range(n):
                x = round(lo + i * step, 6)
                out.append(round(x) if self.kind.kind == "integer" else x)
        if isinstance(self.text, QLineEdit):
            parts = [p for p in self.text.text().replace(";", ",").split(",") if p.strip()]
            out += [parse_value(self.kind, p) for p in parts[:MAX_VALUES + 1]]
        elif isinstance(self.text, QPlainTextEdit):
            lines = [p for p in self.text.toPlainText().splitlines() if p.strip()]
            out += [parse_value(self.kind, p) for p in lines[:MAX_VALUES + 1]]
        if len(out) > MAX_VALUES:
            raise SweepError(f"{self.kind.title}: at most {MAX_VALUES} values")
        seen: list[Any] = []
        for v in out:
            if not any(v == s and type(v) is type(s) for s in seen):
                seen.append(v)
        return seen


class SweepDialog(QDialog):
    """Pick the fields and values; see every cell's estimate and the total; send once."""

    send_requested = Signal()

    def __init__(self, form: ModelForm, check: Any, takes: int, mock: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sweepDialog")
        self.setWindowTitle("Sweep")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.form = form
        self.model_id = form.model_id
        self.check = check
        self.mock = mock
        self.kinds = field_kinds(form.spec.json_schema())
        self.sweep: Sweep | None = None
        self.problem = ""
        self.sending = False
        self.sent = False  # this sweep was sent: a further press sends nothing until changed
        self.pickers: list[QComboBox] = []
        self.editors: list[ValuesEditor | None] = [None, None]
        self._rows: list[QHBoxLayout] = []
        head = QLabel(f"<b>{present.task_title(self.model_id)}</b> · {self.model_id}", self)
        head.setTextFormat(Qt.TextFormat.RichText)
        form_lay = QFormLayout()
        for i in range(2):
            combo = QComboBox(self)
            combo.setObjectName(f"sweepField{i + 1}")
            combo.addItem(NONE, None)
            for name, kind in self.kinds.items():
                combo.addItem(kind.title, name)
            combo.currentIndexChanged.connect(lambda _i, n=i: self._field_changed(n))
            row = QHBoxLayout()
            row.addWidget(combo)
            self.pickers.append(combo)
            self._rows.append(row)
            form_lay.addRow(f"Vary {'one' if i == 0 else 'another'}", row)
        self.takes = QSpinBox(self)
        self.takes.setObjectName("sweepTakes")
        self.takes.setRange(1, MAX_TAKES)
        self.takes.setValue(max(1, min(MAX_TAKES, takes)))
        self.takes.setPrefix("× ")
        _count_suffix(self.takes)
        self.takes.valueChanged.connect(self.recompute)
        form_lay.addRow("Takes of each", self.takes)
        self.seeds = QLabel("", self)
        self.seeds.setObjectName("sweepSeedNote")
        self.seeds.setWordWrap(True)
        self.grid = QTableWidget(self)
        self.grid.setObjectName("sweepGrid")
        self.grid.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.grid.setMinimumSize(420, 160)
        self.grid.setWordWrap(True)
        self.total = QLabel("", self)
        self.total.setObjectName("sweepTotal")
        self.total.setWordWrap(True)
        self.note = QLabel("", self)
        self.note.setObjectName("sweepNote")
        self.note.setWordWrap(True)
        self.send_button = QPushButton("Render", self)
        self.send_button.setObjectName("sweepSend")
        self.send_button.setIcon(icon("render"))
        self.send_button.setAutoDefault(False)
        self.send_button.clicked.connect(self.send_requested)
        self.cancel_button = QPushButton("Close", self)
        self.cancel_button.setObjectName("sweepClose")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.send_button)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addLayout(form_lay)
        lay.addWidget(self.seeds)
        lay.addWidget(self.grid, 1)
        lay.addWidget(self.total)
        lay.addWidget(self.note)
        lay.addLayout(buttons)
        self.resize(820, 620)
        self.recompute()

    # ---- picking ---------------------------------------------------------------------------
    def pick(self, i: int, name: str | None) -> ValuesEditor | None:
        """Choose the i-th varied field (None: none); returns its values editor."""
        combo = self.pickers[i]
        combo.setCurrentIndex(max(0, combo.findData(name)))
        return self.editors[i]

    def _field_changed(self, i: int) -> None:
        old = self.editors[i]
        if old is not None:
            self._rows[i].removeWidget(old)
            old.deleteLater()
            self.editors[i] = None
        name = self.pickers[i].currentData()
        if name is not None:
            current = self.form.payload().get(name, self.kinds[name].default)
            editor = ValuesEditor(self.kinds[name], current, self)
            editor.changed.connect(self.recompute)
            self._rows[i].addWidget(editor, 1)
            editor.show()
            self.editors[i] = editor
        self.recompute()

    def varies(self) -> list[Vary]:
        out = []
        for combo, editor in zip(self.pickers, self.editors, strict=True):
            name = combo.currentData()
            if name is None or editor is None:
                continue
            values = editor.values()
            if not values:
                raise SweepError(f"{self.kinds[name].title}: pick at least one value")
            out.append(Vary(name, tuple(values)))
        return out

    # ---- the grid --------------------------------------------------------------------------
    def base(self) -> dict[str, Any]:
        payload = self.form.payload()
        if self.mock:
            payload["mock"] = True
        return payload

    def recompute(self) -> None:
        self.sent = False
        try:
            varies = self.varies()
            if not varies and self.takes.value() == 1:
                raise SweepError("Pick a field to vary, or more than one take.")
            self.sweep = expand(self.model_id, self.base(), varies, self.takes.value(),
                                self.kinds, self.check)
            self.problem = ""
        except SweepError as e:
            self.sweep, self.problem = None, str(e)
        self._show()

    def _show(self) -> None:
        sweep = self.sweep
        self.grid.clear()
        if sweep is None:
            self.grid.setRowCount(0)
            self.grid.setColumnCount(0)
            self.seeds.setText("")
            self.total.setText(self.problem)
            self._button()
            return
        rows, cols = layout_of(sweep)
        self.grid.setRowCount(len(rows))
        self.grid.setColumnCount(len(cols))
        self.grid.setVerticalHeaderLabels([r for r, _ in rows])
        self.grid.setHorizontalHeaderLabels([c for c, _ in cols])
        for cell in sweep.cells:
            r, c = position(sweep, cell, rows, cols)
            item = QTableWidgetItem(cell_text(cell))
            item.setData(Qt.ItemDataRole.UserRole, cell.index)
            if not cell.valid:
                item.setForeground(qcolor("error"))
                item.setToolTip("\n".join(f"{e.get('field') or 'payload'}: {e.get('message')}"
                                          for e in cell.errors))
            else:
                item.setToolTip(f"{cell.label(sweep.takes)}: {cell_text(cell)}")
            self.grid.setItem(r, c, item)
        self.grid.resizeColumnsToContents()
        for c in range(self.grid.columnCount()):  # a long reason wraps in its cell
            self.grid.setColumnWidth(c, max(110, min(220, self.grid.columnWidth(c))))
        self.grid.resizeRowsToContents()
        self.seeds.setText(sweep.seeds[0].upper() + sweep.seeds[1:] + ".")
        words = [f"Total of {len(sweep.valid_cells)} valid take"
                 f"{'s' if len(sweep.valid_cells) != 1 else ''}: {sweep.total_text()}."]
        if sweep.invalid:
            words.append(f"{sweep.invalid} invalid (marked, not sent).")
        self.total.setText(" ".join(words))
        self._button()

    def _button(self) -> None:
        sweep = self.sweep
        n = len(sweep.valid_cells) if sweep is not None else 0
        if self.sending:
            self.send_button.setText("Sending…")
        elif self.sent:
            self.send_button.setText("Sent: change a field or value to render again")
        elif sweep is None or n == 0:
            self.send_button.setText("Render")
        elif self.mock or all(c.payload.get("mock") is True for c in sweep.valid_cells):
            self.send_button.setText(f"Render {n} mock take{'s' if n != 1 else ''} (free)")
        else:
            self.send_button.setText(f"Render {n} take{'s' if n != 1 else ''} for "
                                     f"{sweep.total_text()}")
        self.send_button.setEnabled(not self.sending and not self.sent and n > 0)

    def set_sending(self, on: bool) -> None:
        self.sending = on
        for w in (*self.pickers, self.takes, *(e for e in self.editors if e is not None)):
            w.setEnabled(not on)
        self._button()

    def say(self, text: str) -> None:
        self.note.setText(text)


def layout_of(sweep: Sweep) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The grid's rows and columns: the first field's values down, the second's (or the takes)
    across."""
    varies = list(sweep.varies)
    rows = [(_word(v), v) for v in varies[0].values] if varies else [("", None)]
    if len(varies) > 1:
        cols = [(f"{_word(v)}" + (f" · {t}" if sweep.takes > 1 else ""), (v, t))
                for v in varies[1].values for t in range(1, sweep.takes + 1)]
    else:
        cols = [(f"take {t}", (None, t)) for t in range(1, sweep.takes + 1)]
    if varies:
        rows = [(f"{varies[0].field} {r}", v) for r, v in rows]
    if len(varies) > 1:
        cols = [(f"{varies[1].field} {c}", v) for c, v in cols]
    return rows, cols


def position(sweep: Sweep, cell: Cell, rows: list[tuple[str, Any]],
             cols: list[tuple[str, Any]]) -> tuple[int, int]:
    varies = list(sweep.varies)
    r = 0
    if varies:
        r = next(i for i, (_, v) in enumerate(rows)
                 if _same(v, cell.vary[varies[0].field]))
    second = cell.vary[varies[1].field] if len(varies) > 1 else None
    c = next(i for i, (_, (v, t)) in enumerate(cols)
             if (len(varies) < 2 or _same(v, second)) and t == cell.take)
    return r, c


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _word(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def cell_text(cell: Cell) -> str:
    if not cell.valid:
        first = cell.errors[0] if cell.errors else {}
        return f"invalid: {first.get('message', 'not valid')}"
    if cell.credits is None:
        return "price unknown"
    lo, hi = cell.credits
    if cell.payload.get("mock") is True:
        return "mock (free)"
    return f"{lo:,} cr" if lo == hi else f"{lo:,}–{hi:,} cr"


class Sweeps(QObject):
    """The sweep feature of one window (held by the window as `window.sweeps`)."""

    finished = Signal(object)  # the SweepRecord once every valid cell was handed over
    records_changed = Signal()

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = weakref.ref(window)
        self.studio = window.studio
        self.book = SweepBook(window.studio.data_dir)
        self.by_job: dict[str, SweepRecord] = {}
        self.dialog: SweepDialog | None = None
        self.sheet: Any = None
        self.last: SweepRecord | None = None
        self.task: asyncio.Task[None] | None = None
        self.confirm_dialog: Any = None
        #: cells waiting in the local queue (their key → their sweep): the job id once sent
        self._awaiting: dict[str, SweepRecord] = {}
        #: × N per form (model id → N), the form it shows now, each model's seed field
        self._counts: dict[str, int] = {}
        self._form_model: str | None = None
        self._seed_names: dict[str, str | None] = {}
        self._rendering = False  # N takes of Render are being decided or sent
        self._confirming = False  # ... and their total's confirmation is open
        self.render_task: asyncio.Task[None] | None = None
        self._add_controls(window)
        self._hook_history(window)
        self._hook_render(window)
        window.controller.job_changed.connect(self._on_job)

    @property
    def window(self) -> Any:
        return self._window()

    # ---- controls -----------------------------------------------------------------------------
    def _add_controls(self, window: Any) -> None:
        self.takes_spin = QSpinBox(window)
        self.takes_spin.setObjectName("takesCount")
        self.takes_spin.setRange(1, MAX_TAKES)
        self.takes_spin.setPrefix("× ")
        _count_suffix(self.takes_spin)
        self.takes_spin.setAccessibleName("Takes to render")
        self.takes_spin.setToolTip("Render sends this many takes of the form, each one new "
                                   "(its own seed where the model has one); the price and "
                                   "the confirmation are for all of them")
        self.takes_spin.valueChanged.connect(self._count_changed)
        foot = _layout_holding(window, getattr(window, "render_btn", None))
        if foot is not None:  # beside Render, where its price is
            foot.insertWidget(foot.indexOf(window.render_btn), self.takes_spin)
        else:
            window.toolbar.addWidget(self.takes_spin)
        bar = window.toolbar
        self.sweep_btn = QToolButton(bar)
        self.sweep_btn.setObjectName("sweepButton")
        self.sweep_btn.setText("Sweep…")
        self.sweep_btn.setIcon(icon("compare"))
        self.sweep_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.sweep_btn.setToolTip("Vary one or two fields (or take N) and see every cell's "
                                  "price before anything is sent")
        self.sweep_btn.clicked.connect(lambda: self.open())
        actions = bar.actions()
        before = actions[1] if len(actions) > 1 else None
        if before is not None:
            bar.insertWidget(before, self.sweep_btn)
        else:
            bar.addWidget(self.sweep_btn)

    # ---- × N takes on Render --------------------------------------------------------------------
    def _hook_render(self, window: Any) -> None:
        """Render (its button, Ctrl+Enter) sends N takes when × N is above 1; the button
        says so with the total. The controller holds the hooks weakly through `me`."""
        me = weakref.ref(self)

        def render(form: ModelForm) -> Any:
            feature = me()
            return feature.render_takes(form) if feature is not None else NotImplemented

        def state(st: RenderState, request: SendRequest | None) -> RenderState:
            feature = me()
            return feature.takes_state(st, request) if feature is not None else st

        c = window.controller
        c.render_hooks.append(render)
        c.state_hooks.append(state)

    @property
    def takes(self) -> int:
        """How many takes Render sends from the form on screen."""
        return self.takes_spin.value()

    def _count_changed(self, n: int) -> None:
        if self._form_model is not None:
            self._counts[self._form_model] = n
        w = self.window
        if w is not None:
            w.controller.update_state()

    def _follow_form(self, form: ModelForm | None) -> None:
        """The × N of the form now on screen: each form keeps its own (a form not yet set
        is × 1), so coming back to a form finds its count, and another task's form never
        sends the last form's N by surprise."""
        model = form.model_id if form is not None else None
        self.takes_spin.setEnabled(form is not None and not self._rendering)
        if model == self._form_model:
            return
        self._form_model = model
        with QSignalBlocker(self.takes_spin):
            self.takes_spin.setValue(self._counts.get(model, 1) if model is not None else 1)

    def _seed_note(self, form: ModelForm) -> str:
        """What × N does about seeds on this form, said plainly."""
        model = form.model_id
        if model not in self._seed_names:  # read from the schema once per model
            seed = seed_field(field_kinds(form.spec.json_schema()))
            self._seed_names[model] = seed.name if seed is not None else None
        name = self._seed_names[model]
        if name is None:
            return "This model has no seed: every take is new, none can be repeated exactly."
        return f"Each take gets its own {name}, so every take is new."

    def takes_state(self, st: RenderState, request: SendRequest | None) -> RenderState:
        """The Render button for N takes ("Render × 3 · 324 cr") and the note beside it
        (the total's sum, what happens to seeds); off, with why, when the total would break
        today's cap or the balance."""
        w = self.window
        form = w.controller.form if w is not None else None
        self._follow_form(form)
        n = self.takes
        if w is None or form is None or request is None or n <= 1:
            return st
        c = w.controller
        if self._confirming:
            return RenderState(False, "Waiting for your confirmation…", st.note, st.reason)
        if c.intents.busy(RENDER) or not self.studio.connected:
            return st  # "Sending…", "Connecting…": said as for one take
        est = request.estimate
        if c.mock or est is None or est.mock:
            note = st.note or f"{n} mock takes, free. {self._seed_note(form)}"
            return RenderState(st.enabled, f"Render × {n} mock (free)", note, st.reason)
        total = times(est, n)
        text = f"Render × {n} · {total.text()}"
        note = st.note or f"{n} takes × {est.text()} = {total.text()} in all. " \
                          f"{self._seed_note(form)}"
        if not st.enabled:
            return RenderState(False, text, note, st.reason)
        money = c.money_refusal(total)
        if money is not None:
            return RenderState(False, text, st.note or money, money)
        return RenderState(True, text, note, st.reason)

    def render_takes(self, form: ModelForm) -> Any:
        """Render with × N above 1: N takes of the form as one intent (a double-click or a
        second press sends nothing more) and one decision on their total; NotImplemented
        for × 1 (the plain take)."""
        n = self.takes
        w = self.window
        if n <= 1 or w is None:
            return NotImplemented
        c = w.controller
        request = c.request(form)
        reason = c.refusal(request, form)
        if reason is None and request is not None and request.estimate is not None \
                and not (c.mock or request.estimate.mock):
            reason = c.money_refusal(times(request.estimate, n))
        if reason is not None or request is None:
            return None  # the button is off and says why
        base = form.payload()
        if c.mock:
            base["mock"] = True
        try:
            sweep = expand(form.model_id, base, [], n, field_kinds(form.spec.json_schema()),
                           self._checker(form))
        except SweepError as e:
            c.say_note(f"Render × {n}: {e}")
            return None
        if not sweep.valid_cells:
            first = sweep.cells[0].errors[0] if sweep.cells and sweep.cells[0].errors else {}
            c.say_note(f"Render × {n}: {first.get('message', 'the takes are not valid')}")
            return None
        key = c.intents.begin(RENDER)
        if key is None:
            return None
        c.clear_note()
        sink = _RenderSink(self, n)
        sink.set_sending(True)
        self.render_task = c.spawn(self._send(sink, sweep, key), f"Render × {n}")
        return self.render_task

    def _hook_history(self, window: Any) -> None:
        history = window.history
        self.sheet_btn = QPushButton("Contact sheet", history.details)
        self.sheet_btn.setObjectName("contactSheetButton")
        self.sheet_btn.setIcon(icon("compare"))
        self.sheet_btn.setToolTip("The grid of this take's sweep, labelled by the varied "
                                  "values, played in sync")
        self.sheet_btn.hide()
        lay = history.details.layout()
        if lay is not None:
            lay.addWidget(self.sheet_btn)
        self._selected: Any = None
        history.take_selected.connect(self._on_take)
        self.sheet_btn.clicked.connect(lambda: self.open_sheet_for(self._selected))

    def _on_job(self, job: Any) -> None:
        rec = self._awaiting.pop(getattr(job, "idempotency_key", None) or "", None)
        if rec is not None:  # a cell the local queue has now sent
            cell = next((c for c in rec.cells if c.key == job.idempotency_key), None)
            if cell is not None:
                cell.job_id, cell.held = job.id, None
                self._index(rec)
                w = self.window
                if w is not None:
                    w.controller.spawn(self.studio.read(self.book.save, rec), "Sweep record")
        sheet = self.sheet
        if sheet is not None and job.id in self.by_job:
            with contextlib.suppress(RuntimeError):
                sheet.update_job(job)

    def _on_take(self, job: Any) -> None:
        self._selected = job
        self.sheet_btn.setVisible(job is not None and job.id in self.by_job)

    # ---- the dialog ---------------------------------------------------------------------------
    def open(self) -> SweepDialog | None:
        w = self.window
        form = w.form if w is not None else None
        if w is None or form is None:
            if w is not None:
                w.status.setText("Sweep: open a task's form first.")
            return None
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        dialog = SweepDialog(form, self._checker(form), self.takes_spin.value(),
                             bool(w.controller.mock), w)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.send_requested.connect(lambda: self.send())
        dialog.finished.connect(lambda _r: self._dialog_closed(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: SweepDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _checker(self, form: ModelForm) -> Any:
        """A cell's check from what the form knows (its probes: no file read here)."""
        models = self.studio.models
        model_id = form.model_id

        def check(payload: dict[str, Any]) -> Priced:
            probes = {}
            imported = models.get_imported(model_id)
            from app.catalog.validate import local_media

            values = imported.local_media(payload) if imported is not None else \
                local_media(model_id, payload)
            for v in values:
                found = form.probe_facts(v)
                if found is not None:
                    probes[v] = found
            return priced(models.validate(model_id, payload, probes),
                          models.estimate(model_id, payload, probes))

        return check

    # ---- sending ------------------------------------------------------------------------------
    def send(self) -> asyncio.Task[None] | None:
        """One intent: the total as one decision, then each valid cell once. None for a
        repeat press or nothing to send."""
        w, dialog = self.window, self.dialog
        if w is None or dialog is None or dialog.sweep is None or not dialog.sweep.valid_cells \
                or dialog.sent or dialog.sending:
            return None
        if not self.studio.connected:
            dialog.say(w.controller.connecting_text())
            return None
        key = w.controller.intents.begin(SWEEP)
        if key is None:
            return None
        sweep = dialog.sweep
        dialog.set_sending(True)
        self.task = w.controller.spawn(self._send(_DialogSink(dialog), sweep, key), "Sweep")
        return self.task

    async def _send(self, sink: _Sink, sweep: Sweep, key: str) -> None:
        w = self.window
        studio = self.studio
        try:
            if not await self._decided(sink, sweep):
                return
            rec = SweepRecord.new(sweep.model_id, [v.field for v in sweep.varies],
                                  sweep.takes, [_record_cell(c) for c in sweep.cells],
                                  intent=key, profile=studio.profile_name)
            for cell, rc in zip(sweep.cells, rec.cells, strict=True):
                if cell.valid:
                    rc.key = cell_key(key, cell.index)
            await studio.read(self.book.save, rec)
            for cell, rc in zip(sweep.cells, rec.cells, strict=True):
                if cell.valid:
                    await self._send_cell(sweep, cell, rc, rec, sink)
                    self._index(rec)
            await studio.read(_complete, rec, studio.store)
            await studio.read(self.book.save, rec)
            self.last = rec
            self._index(rec)
            sent = len(rec.job_ids)
            held = [c for c in rec.cells if c.held]
            waiting = sum(1 for c in rec.cells if c.key and not c.job_id and not c.held)
            words = f"{sink.what} sent: {sent} take{'s' if sent != 1 else ''}"
            if sweep.takes > 1 and not sweep.varies:
                words += f" of {present.task_title(sweep.model_id)}; {sweep.seeds}"
            if waiting:
                words += f"; {waiting} waiting in the queue (sent when a slot is free)"
            if held:
                words += (f"; {len(held)} held unsent ({held[0].held})")
            with contextlib.suppress(RuntimeError):
                sink.say(words + ".")
                if w is not None:
                    w.status.setText(words + ".")
                    w.controller.out_used.emit(sweep.model_id)  # the next take gets its own
            sink.done()  # the same sweep again would be a second intent: not offered
            self.finished.emit(rec)
            await w.controller.refresh_balance() if w is not None else None
        finally:
            if w is not None:
                w.controller.intents.end(sink.intent)
            with contextlib.suppress(RuntimeError):
                sink.set_sending(False)

    async def _decided(self, sink: _Sink, sweep: Sweep) -> bool:
        """The total through the guard-rails as one decision (asked on the core with a fresh
        balance; one confirmation above the threshold)."""
        from app.ui import confirm
        from app.ui.controller import SendRequest

        studio, w = self.studio, self.window
        gate = studio.gate
        if gate is None:
            return True
        ests = [cell_estimate(c) for c in sweep.valid_cells]
        verdict = await studio.run(gate.check_batch(studio.client, ests))
        if verdict.allowed or verdict.offline:
            return True  # offline: each cell is stored to wait, its balance checked first
        if not verdict.needs_confirm or w is None:
            sink.refused(verdict.message)
            return False
        request = SendRequest(sink.what, sweep.model_id, False, verdict.estimate)
        box, answer = confirm.ask(sink.parent() or w, verdict, request)
        head = box.findChild(QLabel, "confirmPrice")
        if head is not None:
            head.setText(f"<b>{verdict.takes} takes of {present.task_title(sweep.model_id)} "
                         f"will cost {sweep.total_text()} in all</b>")
        box.render_button.setText(f"Render {verdict.takes} takes for {sweep.total_text()}")
        self.confirm_dialog = box
        sink.confirming(True)
        try:
            yes = await answer
        finally:
            self.confirm_dialog = None
            with contextlib.suppress(RuntimeError):
                sink.confirming(False)
        if not yes:
            sink.say("Not sent (not confirmed). Nothing was charged.")
        return yes

    async def _send_cell(self, sweep: Sweep, cell: Cell, rc: SweepCell, rec: SweepRecord,
                         sink: _Sink) -> None:
        from app.client.errors import ApiError
        from app.client.guard import Refused
        from app.client.manager import TRANSIENT

        studio = self.studio
        key = rc.key or ""
        w = self.window
        parent = w.controller.made_from(cell.payload) if w is not None else None
        try:
            got = await studio.run(studio.manager.submit(sweep.model_id, cell.payload,
                                                         idempotency_key=key, confirmed=True,
                                                         parent_id=parent))
        except Refused as e:  # the cap or the balance, checked again as this cell goes
            rc.held = str(e)
            if await self._enqueue_held(sweep, cell, key):
                self._awaiting[key] = rec  # sent by the queue once the gate lets it
            return
        except TRANSIENT:  # stored: sent by itself once the API answers (same key)
            found = await studio.read(studio.store.by_idempotency_key, key)
            rc.job_id = found.id if found is not None else None
            return
        except (ApiError, ValueError) as e:
            rc.held = f"Not sent: {e}"
            return
        if getattr(got, "is_waiting", False):  # in the local queue (a slot, or held)
            rc.job_id = got.job_id
            rc.held = (got.error_message or "held in the queue") if got.held else None
            if rc.job_id is None:
                self._awaiting[key] = rec
            return
        rc.job_id = got.id
        with contextlib.suppress(RuntimeError):
            sink.sent(got)

    async def _enqueue_held(self, sweep: Sweep, cell: Cell, key: str) -> bool:
        """A cell the guard-rails refused waits unsent in the local queue, held with why
        (False without a local queue: the sweep record alone says it is held)."""
        w = self.window
        feature = getattr(w, "local_queue", None) if w is not None else None
        queue = getattr(feature, "queue", None)
        if queue is None:
            return False
        try:
            await self.studio.read(queue.enqueue, sweep.model_id, cell.payload, key=key,
                                   group=None, label=cell.label(sweep.takes), confirmed=True)
        except Exception as e:  # the record still says it is held and why
            log.info("a held sweep cell could not wait in the queue: %s", e)
            return False
        return True

    # ---- records and the contact sheet --------------------------------------------------------
    def _index(self, rec: SweepRecord) -> None:
        for job_id in rec.job_ids:
            self.by_job[job_id] = rec
        self.records_changed.emit()
        w = self.window
        if w is not None and self._selected is not None:
            self._on_take(self._selected)

    async def load(self) -> None:
        """The sweeps recorded so far (read on the core); a cell sent by the local queue
        after its window closed gets its job id from the store."""
        found = await self.studio.read(_load_records, self.book, self.studio.store,
                                       self.studio.profile_name)
        self.by_job.update(found)
        self.records_changed.emit()

    def open_sheet_for(self, job: Any) -> Any:
        rec = self.by_job.get(job.id) if job is not None else None
        if rec is None:
            return None
        return self.open_sheet(rec)

    def open_sheet(self, rec: SweepRecord) -> Any:
        from app.ui.contact_sheet import ContactSheet

        w = self.window
        if w is None:
            return None
        if self.sheet is not None:
            with contextlib.suppress(RuntimeError):
                self.sheet.close()
        sheet = ContactSheet(rec, w.studio, w.thumbs, w)
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        sheet.finished.connect(lambda _r: self._sheet_closed(sheet))
        self.sheet = sheet
        sheet.open()
        w.controller.spawn(sheet.load(), "Contact sheet")
        return sheet

    def _sheet_closed(self, sheet: Any) -> None:
        if self.sheet is sheet:
            self.sheet = None


class _Sink:
    """Where a sweep's send speaks: the sweep dialog, or the window's Render (× N)."""

    what = "Sweep"
    intent = SWEEP

    def say(self, text: str) -> None:
        raise NotImplementedError

    def refused(self, text: str) -> None:
        self.say(text)

    def set_sending(self, on: bool) -> None:
        raise NotImplementedError

    def confirming(self, on: bool) -> None:
        pass

    def parent(self) -> QWidget | None:
        return None

    def sent(self, job: Any) -> None:
        """A take the API confirmed."""

    def done(self) -> None:
        """Every valid cell was handed over."""


class _DialogSink(_Sink):
    def __init__(self, dialog: SweepDialog) -> None:
        self.dialog = dialog

    def say(self, text: str) -> None:
        self.dialog.say(text)

    def set_sending(self, on: bool) -> None:
        self.dialog.set_sending(on)

    def parent(self) -> QWidget | None:
        return self.dialog

    def sent(self, job: Any) -> None:
        w = self.dialog.parent()
        model = getattr(w, "queue_model", None)
        if model is not None:
            model.upsert(job)

    def done(self) -> None:
        self.dialog.sent = True


class _RenderSink(_Sink):
    """Render with × N: the window's note, status line and queue, the button's state."""

    intent = RENDER

    def __init__(self, feature: Sweeps, n: int) -> None:
        self.feature = weakref.ref(feature)
        self.what = f"Render × {n}"
        self.first = True

    def _controller(self) -> Any:
        f = self.feature()
        w = f.window if f is not None else None
        return w.controller if w is not None else None

    def say(self, text: str) -> None:
        c = self._controller()
        if c is not None:
            c.message.emit(text)

    def refused(self, text: str) -> None:
        c = self._controller()
        if c is not None:
            c.say_note(text)
            c.submit_failed.emit(text)

    def set_sending(self, on: bool) -> None:
        self._flag("_rendering", on)

    def confirming(self, on: bool) -> None:
        self._flag("_confirming", on)

    def _flag(self, name: str, on: bool) -> None:
        """The feature's sending/confirming flag, and Render's state said again."""
        f = self.feature()
        if f is not None:
            setattr(f, name, on)
            c = self._controller()
            if c is not None:
                c.update_state()

    def sent(self, job: Any) -> None:
        c = self._controller()
        if c is None:
            return
        if self.first:  # shown and selected (and its prompt remembered) once
            self.first = False
            c.sent.emit(job)
        else:
            f = self.feature()
            w = f.window if f is not None else None
            if w is not None:
                w.queue_model.upsert(job)
        c.submitted.emit(job)


def times(est: Estimate, n: int) -> Estimate:
    """The price of n takes at `est` each."""
    return dataclasses.replace(est, min=est.min * n, max=est.max * n,
                               breakdown=f"{n} takes × {est.text()}"
                               + (f" ({est.breakdown})" if est.breakdown else ""),
                               notes=list(est.notes))


def _layout_holding(window: Any, widget: QWidget | None) -> Any:
    """The box layout (of the window's central widgets) that holds `widget`, or None."""
    if widget is None or widget.parentWidget() is None:
        return None
    from PySide6.QtWidgets import QBoxLayout, QLayout

    def find(layout: QLayout | None) -> QBoxLayout | None:
        if layout is None:
            return None
        if isinstance(layout, QBoxLayout) and layout.indexOf(widget) >= 0:
            return layout
        for i in range(layout.count()):
            item = layout.itemAt(i)
            found = find(item.layout()) if item is not None else None
            if found is not None:
                return found
        return None

    return find(widget.parentWidget().layout())


def _complete(rec: SweepRecord, store: Any) -> bool:
    """On the core thread: the job ids of cells sent meanwhile (same key); True if any."""
    changed = False
    for cell in rec.cells:
        if cell.key and not cell.job_id:
            job = store.by_idempotency_key(cell.key)
            if job is not None:
                cell.job_id, cell.held, changed = job.id, None, True
    return changed


def _load_records(book: SweepBook, store: Any, profile: str | None) -> dict[str, SweepRecord]:
    """On the core thread: every record of the profile, cells whose take was sent since (by
    the local queue, same key) completed and saved again; job id → record."""
    out: dict[str, SweepRecord] = {}
    for rec in book.all(profile):
        if _complete(rec, store):
            with contextlib.suppress(OSError):
                book.save(rec)
        for job_id in rec.job_ids:
            out.setdefault(job_id, rec)
    return out


def _record_cell(cell: Cell) -> SweepCell:
    return SweepCell(cell.index, dict(cell.vary), cell.take, cell.valid, list(cell.errors),
                     cell.to_dict()["credits"])


def install(window: Any) -> Sweeps:
    existing = getattr(window, "sweeps", None)
    if isinstance(existing, Sweeps):
        return existing
    return Sweeps(window)


def start(window: Any) -> None:
    feature = getattr(window, "sweeps", None)
    if isinstance(feature, Sweeps):
        window.controller.spawn(feature.load(), "Sweeps")


__all__ = ["MAX_CELLS", "SweepDialog", "Sweeps", "install", "start"]
