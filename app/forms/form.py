"""`ModelForm`: a model's whole form, generated from its JSON Schema, with live validation and
the credit estimate in the footer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.catalog import (
    MODELS,
    Estimate,
    Report,
    available_tags,
    estimate,
    get_model,
    validate_payload,
)
from app.catalog.importer import ImportedModel
from app.catalog.media import MediaInfo, local_path
from app.catalog.models import FORMAT_TO_ASPECT
from app.catalog.roles import specs_of, totals
from app.catalog.specs import FieldSpec, field_specs
from app.catalog.validate import Issue, local_media
from app.catalog.wrapper import WRAPPER, split
from app.forms.base import (
    OMIT,
    Editor,
    EditorContext,
    FormState,
    IssueLabel,
)
from app.forms.capabilities import Growing, Hinted, Totalled
from app.forms.imported import ImportedSpec
from app.forms.probing import ProbeService, probe_service
from app.ui.palette import qcolor, styled, text_font, tint
from app.ui.workers import Debounce

DEBOUNCE_MS = 150
UNDO_DEPTH = 20  # removals kept for Undo
LABEL_WIDTH = 132
SUMMARY_LINES = 4

#: Style sheets only where a palette and a font cannot say it (the switch's rounded buttons): a
#: style sheet routes a widget and all it holds through QStyleSheetStyle, which builds and
#: paints slower; labels are coloured through their palette (`app.ui.palette.tint`).
SWITCH_STYLE = """
QPushButton[mode="true"] { background: $accent; color: $on_accent; border: 1px solid
                           $accent; border-radius: 4px; padding: 3px 12px; }
QPushButton[mode="false"] { background: $button; color: $button_text; border: 1px solid
                            $button_border; border-radius: 4px; padding: 3px 12px; }
"""


@dataclass(frozen=True)
class Removal:
    """One removal Undo can put back: in `editor`, by calling `restore`."""

    editor: Editor
    what: str
    restore: Callable[[], bool]


def _field_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("fieldLabel")
    label.setContentsMargins(0, 4, 0, 0)  # level with the first line of the editor
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
    return label


def default_out(model_id: str, now: float | None = None, pattern: str | None = None,
                taken: Any = None) -> str:
    """A workdir-relative output name: the user's naming `pattern` (Preferences → Results:
    ``{task}`` ``{model}`` ``{date}`` ``{time}`` ``{n}``) expanded, else
    ``takes/<model>-<YYYYmmdd-HHMMSS>.mp4``. No file is looked at here: the download never
    overwrites (it numbers the file)."""
    if pattern:
        import datetime as _dt

        from app.catalog.wrapper import expand_out

        try:
            task = MODELS[model_id].task if model_id in MODELS else "take"
            return expand_out(pattern, task=task, model=model_id,
                              when=_dt.datetime.fromtimestamp(now or time.time()), taken=taken)
        except (ValueError, KeyError):
            pass  # a pattern the Preferences check would refuse: the default name
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"takes/{model_id.replace('/', '-')}-{stamp}.mp4"  # an imported id may hold '/'


class ModeSwitch(QWidget):
    """Two mutually exclusive fields (``x-exclusive``) shown as a segmented switch."""

    def __init__(self, names: tuple[str, str], titles: tuple[str, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{names[0]}_mode")
        self.setStyleSheet(styled(SWITCH_STYLE))
        self.names = names
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        for name, title in zip(names, titles, strict=True):
            b = QPushButton(title, self)
            b.setObjectName(f"mode:{name}")
            b.setCheckable(True)
            self.group.addButton(b)
            layout.addWidget(b)
            self.buttons[name] = b
        layout.addStretch(1)
        self.set_active(names[0])

    def active(self) -> str:
        return next(n for n, b in self.buttons.items() if b.isChecked())

    def set_active(self, name: str) -> None:
        for n, b in self.buttons.items():
            with QSignalBlocker(b):
                b.setChecked(n == name)
            if b.property("mode") == (n == name):
                continue
            b.setProperty("mode", n == name)
            if b.testAttribute(Qt.WidgetAttribute.WA_WState_Polished):  # else polished when shown
                b.style().unpolish(b)
                b.style().polish(b)


class Footer(QFrame):
    """The form's footer: the surface colour under a one-pixel rule in the border colour
    (painted: a style sheet would route the labels in it through QStyleSheetStyle)."""

    RULE = 1  # the rule's height, px

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("footer")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), qcolor("surface"))
        painter.fillRect(0, 0, self.width(), self.RULE, qcolor("border"))


class ModelForm(QWidget):
    """The form of one model. `payload()` is exactly what will be sent."""

    payload_changed = Signal(dict)
    validation_changed = Signal(object)
    estimate_changed = Signal(object)
    undo_changed = Signal(bool)  # whether a removed reference can be put back (Edit → Undo)

    def __init__(self, model_id: str | ImportedModel, parent: QWidget | None = None,
                 service: ProbeService | None = None) -> None:
        super().__init__(parent)
        #: a model known only by its schema (app/catalog/importer.py), else None
        self.imported = None if isinstance(model_id, str) else model_id
        self.model_id = model_id if isinstance(model_id, str) else model_id.id
        self.spec: Any = get_model(model_id) if isinstance(model_id, str) else \
            ImportedSpec(model_id)
        self.service = service or probe_service()
        self.setObjectName(f"form:{self.model_id}")
        specs = specs_of(self.model_id) if isinstance(model_id, str) else \
            field_specs(self.spec.json_schema())  # a curated model's are built once
        self.fields: dict[str, FieldSpec] = {f.name: f for f in specs}
        self.ctx = EditorContext(self.service, field_specs=self.fields,
                                 on_removed=self._on_removed)
        self._undo: list[Removal] = []
        self._totals = totals(tuple(self.fields.values()))
        self.editors: dict[str, Editor] = {}
        self.issue_labels: dict[str, IssueLabel] = {}
        self.field_labels: dict[str, QLabel] = {}
        self.switches: dict[str, ModeSwitch] = {}
        self._pages: dict[str, QWidget] = {}
        self._extra: dict[str, Any] = {}
        self._loading = False
        self._touched: set[str] = set()  # fields the creator changed (or a loaded payload set)
        self._pending: list[str] = []
        self._report = Report()
        self._estimate = Estimate(0, 0, "")
        self._last_emitted: tuple[Any, ...] | None = None
        self._timer = Debounce(DEBOUNCE_MS, self.revalidate, self)
        self._build()
        self.service.probed.connect(self._on_probed)
        self.revalidate()

    # ---- building ------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget()
        self.body.setObjectName("formBody")
        # Set while empty: given a full body, the scroll area polishes it and asks the size of
        # every row at once, all asked again when the form is shown.
        self.scroll.setWidget(self.body)
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(16, 12, 16, 12)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(3)
        self.grid.setColumnMinimumWidth(0, LABEL_WIDTH)
        self.grid.setColumnStretch(1, 1)
        self._row = 0
        self._add_header()
        self._add_fields()
        self._add_wrapper()
        self.grid.setRowStretch(self._row, 1)
        outer.addWidget(self.scroll, 1)
        outer.addWidget(self._make_footer())

    def _add_header(self) -> None:
        title = QLabel(self.spec.name, self.body)
        title.setFont(text_font(16, 700))
        task = QLabel(self.spec.task_label, self.body)
        tint(task, "muted")
        self.grid.addWidget(title, self._row, 0, 1, 2)
        self.grid.addWidget(task, self._row + 1, 0, 1, 2)
        self._row += 2
        self._spacer(8)

    def _spacer(self, h: int) -> None:
        self.grid.setRowMinimumHeight(self._row, h)
        self._row += 1

    def _add_fields(self) -> None:
        done: set[str] = set()
        for name, spec in self.fields.items():
            if name in done:
                continue
            partner = self.fields.get(spec.exclusive or "")
            if partner is not None and partner.exclusive == name:
                self._add_exclusive(spec, partner)
                done |= {name, partner.name}
            else:
                self._add_field(spec)
                done.add(name)

    def _label_for(self, spec: FieldSpec) -> QLabel:
        label = _field_label(spec.title + (" *" if spec.required else ""), self.body)
        label.setToolTip(spec.description + ("\nRequired" if spec.required else ""))
        label.setMaximumWidth(LABEL_WIDTH + 20)
        # Wrapped only when too long for one line: a word-wrapped label's size is measured
        # over and over while a form is laid out.
        label.setWordWrap(label.fontMetrics().horizontalAdvance(label.text())
                          > label.maximumWidth())
        self.field_labels[spec.name] = label
        return label

    def _make_editor(self, spec: FieldSpec, parent: QWidget) -> tuple[Editor, IssueLabel]:
        editor = self.ctx.build(spec, spec.name, parent)
        editor.changed.connect(self._on_editor_changed)
        issues = IssueLabel(spec.name, parent)
        self.editors[spec.name] = editor
        self.issue_labels[spec.name] = issues
        return editor, issues

    def _add_field(self, spec: FieldSpec) -> None:
        label = self._label_for(spec)
        editor, issues = self._make_editor(spec, self.body)
        label.setBuddy(editor.main)
        self.grid.addWidget(label, self._row, 0)
        self.grid.addWidget(editor, self._row, 1)
        self.grid.addWidget(issues, self._row + 1, 1)
        self._row += 2
        self._spacer(6)

    def _add_exclusive(self, first: FieldSpec, second: FieldSpec) -> None:
        label = self._label_for(first)
        titles = ("Single prompt" if first.widget == "prompt" else first.title, second.title)
        switch = ModeSwitch((first.name, second.name), titles, self.body)
        self.switches[first.name] = self.switches[second.name] = switch
        box = QWidget(self.body)
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        col.addWidget(switch)
        for spec in (first, second):
            page = QWidget(box)
            page_layout = QVBoxLayout(page)
            page_layout.setContentsMargins(0, 0, 0, 0)
            page_layout.setSpacing(2)
            editor, issues = self._make_editor(spec, page)
            page_layout.addWidget(editor)
            page_layout.addWidget(issues)
            col.addWidget(page)
            self._pages[spec.name] = page
        label.setBuddy(self.editors[first.name].main)
        for name, button in switch.buttons.items():
            button.clicked.connect(lambda _c=False, n=name: self.set_mode(n))
        self.grid.addWidget(label, self._row, 0)
        self.grid.addWidget(box, self._row, 1)
        self._row += 1
        self._spacer(6)
        self._show_mode(first.name)

    def _add_wrapper(self) -> None:
        section = QLabel("OUTPUT", self.body)
        section.setObjectName("sectionTitle")
        section.setContentsMargins(4, 6, 0, 0)
        font = section.font()
        font.setBold(True)
        section.setFont(font)
        palette = section.palette()
        palette.setColor(section.foregroundRole(), qcolor("muted"))
        section.setPalette(palette)
        self.grid.addWidget(section, self._row, 0, 1, 2)
        self._row += 1
        self._outs_used: set[str] = set()  # names this form gave, so {n} counts past them
        self.out_edit = QLineEdit(default_out(self.model_id), self.body)
        self.out_edit.setObjectName("out")
        self.out_edit.setToolTip("Where the result is saved, relative to the work folder")
        self.out_edit.textChanged.connect(lambda _t: self._on_editor_changed(False))
        self._wrapper_row("File *", self.out_edit, "out")
        self.format_combo: QComboBox | None = None
        if self.spec.has_format:
            combo = QComboBox(self.body)
            combo.setObjectName("format")
            combo.addItem("none", OMIT)
            combo.setItemData(0, "No preset: the aspect ratio above is sent as shown",
                              Qt.ItemDataRole.ToolTipRole)
            for name, aspect in FORMAT_TO_ASPECT.items():
                combo.addItem(f"{name} ({aspect})", name)
            combo.setToolTip("A delivery preset: sets the aspect ratio")
            combo.currentIndexChanged.connect(self._on_format)
            self.format_combo = combo
            self._wrapper_row("Format", combo, "format", stretch=True)
        self.mock_box = QCheckBox("Mock render: a free placeholder, nothing is charged", self.body)
        self.mock_box.setObjectName("mock")
        self.mock_box.toggled.connect(lambda _c: self._on_editor_changed(True))
        self._wrapper_row("Mock", self.mock_box, "mock")

    def _wrapper_row(self, title: str, widget: QWidget, name: str,
                     stretch: bool = False) -> None:
        label = _field_label(title, self.body)
        label.setBuddy(widget)
        issues = IssueLabel(name, self.body)
        self.issue_labels[name] = issues
        self.field_labels[name] = label
        if stretch:
            holder = QWidget(self.body)
            row = QHBoxLayout(holder)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(widget)
            row.addStretch(1)
            widget = holder
        self.grid.addWidget(label, self._row, 0)
        self.grid.addWidget(widget, self._row, 1)
        self.grid.addWidget(issues, self._row + 1, 1)
        self._row += 2
        self._spacer(4)

    def _make_footer(self) -> QFrame:
        footer = self.footer = Footer(self)
        layout = QVBoxLayout(footer)
        layout.setContentsMargins(16, 8 + Footer.RULE, 16, 10)
        layout.setSpacing(2)
        top = QHBoxLayout()
        self.estimate_label = QLabel(footer)
        self.estimate_label.setObjectName("estimate")
        tint(self.estimate_label, "text", px=20, weight=700)
        self.breakdown_label = QLabel(footer)
        self.breakdown_label.setObjectName("breakdown")
        self.breakdown_label.setWordWrap(True)
        self.breakdown_label.setSizePolicy(QSizePolicy.Policy.Expanding,
                                           QSizePolicy.Policy.Preferred)
        top.addWidget(self.estimate_label)
        top.addSpacing(12)
        top.addWidget(self.breakdown_label, 1)
        self.notes_label = QLabel(footer)
        self.notes_label.setObjectName("notes")
        self.notes_label.setWordWrap(True)
        tint(self.notes_label, "muted", px=11)
        self.summary_label = QLabel(footer)
        self.summary_label.setObjectName("summary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self._summary_role = ""
        layout.addLayout(top)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.summary_label)
        return footer

    # ---- public API --------------------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        """Exactly what will be sent: model params, then the wrapper params."""
        out: dict[str, Any] = {}
        for name, editor in self.editors.items():
            if not self._is_active(name):
                continue
            value = editor.value()
            if value is not OMIT:
                out[name] = value
        out.update(self._extra)
        out["out"] = self.out_edit.text()
        out["mock"] = self.mock_box.isChecked()
        if self.format_combo is not None and self.format_combo.currentData() is not OMIT:
            out["format"] = self.format_combo.currentData()
        return out

    def set_payload(self, payload: dict[str, Any]) -> None:
        """Show a payload (e.g. a take from history); `payload()` gives it back."""
        params, wrapper = split(payload)
        self._clear_undo()  # another take's values: the removals made before are not its
        with self._loading_state():
            for name, editor in self.editors.items():
                if name in params and params[name] is not None:
                    editor.set_value(params[name])
                else:
                    editor.reset()
            self._extra = {k: v for k, v in params.items() if k not in self.editors}
            self._touched = set(self.editors)
            for first in {s.names[0]: s for s in self.switches.values()}.values():
                second = first.names[1]
                has_second = bool(params.get(second)) and not params.get(first.names[0])
                self._show_mode(second if has_second else first.names[0])
            if "out" in wrapper:
                self.out_edit.setText("" if wrapper["out"] is None else str(wrapper["out"]))
            if "mock" in wrapper:
                self.mock_box.setChecked(wrapper["mock"] is True)
            if self.format_combo is not None:
                i = self.format_combo.findData(wrapper.get("format", OMIT))
                if i < 0:
                    self.format_combo.addItem(f"{wrapper['format']} (not a choice)",
                                              wrapper["format"])
                    i = self.format_combo.count() - 1
                self.format_combo.setCurrentIndex(i)
        self.revalidate()

    # ---- undo removal of a reference ------------------------------------------------------
    def can_undo_remove_reference(self) -> bool:
        """A removed reference (a file of a media field, an element, a shot) can come back."""
        self._drop_dead_removals()
        return bool(self._undo)

    def undo_remove_reference(self) -> bool:
        """Put the last removed reference back in its slot (False: nothing to undo)."""
        before = self.can_undo_remove_reference()
        done = False
        while self._undo and not done:
            removal = self._undo.pop()
            done = self._alive(removal) and removal.restore()
        if done:
            self._say_undo_changed(before)
        elif before:
            self.undo_changed.emit(False)
        return done

    def undo_text(self) -> str:
        """'Undo removal of wide.jpg from Reference images' ('' when nothing to undo)."""
        return f"Undo removal of {self._undo[-1].what}" if self.can_undo_remove_reference() \
            else ""

    def _on_removed(self, editor: Editor, what: str, restore: Callable[[], bool]) -> None:
        before = self.can_undo_remove_reference()
        self._undo.append(Removal(editor, what, restore))
        del self._undo[:-UNDO_DEPTH]
        self._say_undo_changed(before)

    def _drop_dead_removals(self) -> None:
        """Removals inside a card that was removed since cannot come back on their own."""
        self._undo = [r for r in self._undo if self._alive(r)]

    def _alive(self, removal: Removal) -> bool:
        """Its editor is still in this form (not in a card removed, or deleted, since)."""
        return shiboken6.isValid(removal.editor) and self.isAncestorOf(removal.editor)

    def _clear_undo(self) -> None:
        before = bool(self._undo)
        self._undo.clear()
        if before:
            self.undo_changed.emit(False)

    def _say_undo_changed(self, before: bool) -> None:
        now = self.can_undo_remove_reference()
        if now != before:
            self.undo_changed.emit(now)

    def set_mock(self, mock: bool) -> None:
        self.mock_box.setChecked(bool(mock))

    def report(self) -> Report:
        return self._report

    def estimate(self) -> Estimate:
        return self._estimate

    def is_submittable(self) -> bool:
        return self._report.valid and not self._pending

    def pending_probes(self) -> list[str]:
        return list(self._pending)

    def refresh_out(self, pattern: str | None = None) -> None:
        """A fresh output name (after a render, so the next one does not overwrite it), from
        the user's naming `pattern` when there is one."""
        used = self._outs_used
        used.add(self.out_edit.text())  # {n} counts past the names this form already gave
        self.out_edit.setText(default_out(self.model_id, pattern=pattern,
                                          taken=used.__contains__))

    def editor(self, name: str) -> Editor:
        return self.editors[name]

    def issue_label(self, path: str) -> QLabel | None:
        return self.findChild(QLabel, f"error:{path}")

    def mode(self, name: str) -> str | None:
        switch = self.switches.get(name)
        return switch.active() if switch else None

    def set_mode(self, name: str) -> None:
        """Switch an exclusive pair (e.g. Single prompt | Shots) to the field `name`."""
        self._show_mode(name)
        editor = self.editors[name]
        if isinstance(editor, Growing) and editor.item_count() == 0:
            with QSignalBlocker(editor):
                editor.add()  # a shots timeline starts with one shot, not an empty list
        self._sync_totals()
        self._on_editor_changed(True)

    # ---- modes and dependent fields -------------------------------------------------------
    def _show_mode(self, name: str) -> None:
        switch = self.switches[name]
        switch.set_active(name)
        for n in switch.names:
            self._pages[n].setVisible(n == name)
        for total in self._totals:
            whole = self.editors.get(total.whole)
            if whole is None or total.items not in switch.names:
                continue
            if total.items == name:  # the whole is the items' sum: not edited by hand
                whole.setEnabled(False)
                items = self.fields[name].title.lower()
                whole.setToolTip(f"In {items} mode the {whole.spec.title.lower()} is the "
                                 f"{items}' total")
            else:
                whole.setEnabled(True)
                whole.setToolTip(whole.spec.description)
                if isinstance(whole, Hinted):
                    whole.update_hint()
        self._sync_totals(set_value=False)

    def _is_active(self, name: str) -> bool:
        switch = self.switches.get(name)
        return switch is None or switch.active() == name

    def _sync_totals(self, set_value: bool = True) -> None:
        """A whole the schema sums from a list (`x-total`: the clip length in shots mode) is
        the items' total, when it is one of its valid values."""
        for t in self._totals:
            items, whole = self.editors.get(t.items), self.editors.get(t.whole)
            if not isinstance(items, Totalled) or whole is None or not self._is_active(t.items):
                continue
            total = str(items.total())
            valid = total in {str(v) for v in whole.spec.enum}
            if valid and set_value:
                whole.set_value(total)
            if isinstance(whole, Hinted):
                unit = f" {whole.spec.unit}" if whole.spec.unit else ""
                whole.set_hint(f"set by the {self.fields[t.items].title.lower()}: "
                               f"{total}{unit}" + ("" if valid else " (not a valid length)"))

    def _on_format(self) -> None:
        fmt = self.format_combo.currentData() if self.format_combo is not None else OMIT
        aspect = self.editors.get("aspect_ratio")
        if fmt in FORMAT_TO_ASPECT and aspect is not None and not self._loading:
            aspect.set_value(FORMAT_TO_ASPECT[fmt])
        self._on_editor_changed(True)

    # ---- validation ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _loading_state(self) -> Iterator[None]:
        self._loading = True
        try:
            yield
        finally:
            self._loading = False

    def _on_editor_changed(self, immediate: bool) -> None:
        if self._loading:
            return
        sender = self.sender()
        if isinstance(sender, Editor):
            self._touched.add(sender.spec.name)
            if any(t.items == sender.spec.name for t in self._totals):
                self._sync_totals()
        if immediate:
            self._timer.stop()
            self.revalidate()
        else:
            self._timer.trigger()

    def _on_probed(self, path: str, _result: object) -> None:
        if any(local_path(v) == path for v in self._pending):
            self.revalidate()

    def revalidate(self) -> None:
        """Validate and estimate now (the form calls this itself, debounced for typing)."""
        self._timer.stop()
        for _ in range(2):  # once more when an editor's refresh moved its own value
            payload = self._validate()
            if self.payload() == payload:
                break
        self._route_issues()
        self._update_footer()
        self._emit_changes(payload)

    def _validate(self) -> dict[str, Any]:
        """Validate and estimate the payload, and hand the editors what it found (a keyframe
        past a new clip's last frame moves to it there). Returns the payload validated."""
        payload = self.payload()
        params, _ = split(payload)
        model = self.imported
        values = local_media(self.model_id, payload) if model is None else \
            model.local_media(payload)
        probes: dict[str, Any] = {}
        for v in values:
            result = self.service.request(v)
            if result is not None:
                probes[v] = result
        self._pending = [v for v in values if v not in probes]
        if model is None:
            self._report = validate_payload(self.model_id, payload, probes)
            self._estimate = estimate(self.model_id, payload, probes)
            tags = available_tags(self.spec, params)
        else:
            self._report = model.validate(payload, probes)
            self._estimate = model.price_estimate(payload, probes)
            tags = model.available_tags(params)
        state = FormState(probes=probes, tags=tags,
                          prefixes=tuple(self.spec.mention_prefixes), values=params)
        for editor in self.editors.values():
            editor.refresh(state)
        return payload

    def _emit_changes(self, payload: dict[str, Any]) -> None:
        """Each signal fires when its value changed (the first pass always counts)."""
        last = self._last_emitted
        current = (payload, self._report, self._estimate, tuple(self._pending))
        self._last_emitted = current
        if last is None or last[0] != payload:
            self.payload_changed.emit(payload)
        if last is None or last[1] != self._report or last[3] != current[3]:
            self.validation_changed.emit(self._report)
        if last is None or last[2] != self._estimate:
            self.estimate_changed.emit(self._estimate)

    def _route_issues(self) -> None:
        issues = self._report.errors + self._report.warnings
        for name, label in self.issue_labels.items():
            mine = [i for i in issues if i.field == name or i.field.startswith(name + ".")]
            editor = self.editors.get(name)
            if editor is not None and name not in self._touched and _empty(editor.value()):
                mine = []  # an untouched empty field is not scolded (the summary says it)
            label.set_issues(editor.show_issues(mine) if editor is not None else mine)

    def _update_footer(self) -> None:
        est = self._estimate
        self.estimate_label.setText(("≈ " if est.is_range else "") + est.text())
        self.breakdown_label.setText(est.breakdown)
        self.notes_label.setText("  ".join(est.notes))
        self.notes_label.setVisible(bool(est.notes))
        self.summary_label.setText(self._summary())
        errors = bool(self._report.errors)
        role = "error" if errors else ("muted" if self._pending else "success")
        if role != self._summary_role:
            tint(self.summary_label, role)
            self._summary_role = role

    def _summary(self) -> str:
        errors = self._report.errors
        lines: list[str] = []
        if errors:
            n = len(errors)
            lines.append(f"{n} problem{'s' if n != 1 else ''} to fix before rendering:")
            lines += [f"• {self._where(i)}{i.message}" for i in errors[:SUMMARY_LINES]]
            if n > SUMMARY_LINES:
                lines.append(f"  … and {n - SUMMARY_LINES} more")
        if self._pending:
            lines.append(f"Reading {len(self._pending)} file"
                         f"{'s' if len(self._pending) != 1 else ''}…")
        if not lines:
            warnings = len(self._report.warnings)
            lines.append("Ready to render" + (f" ({warnings} warning"
                                              f"{'s' if warnings != 1 else ''})"
                                              if warnings else ""))
        return "\n".join(lines)

    def _where(self, issue: Issue) -> str:
        top = issue.field.split(".")[0]
        if top in self.fields or top in WRAPPER:
            return ""
        return f"{issue.field}: " if issue.field else ""

    def probe_facts(self, value: str) -> MediaInfo | None:
        result = self.service.result(value)
        return result if isinstance(result, MediaInfo) else None


def _empty(value: Any) -> bool:
    return value is OMIT or value in ("", [], None)


def build_form(model_id: str | ImportedModel, parent: QWidget | None = None) -> ModelForm:
    """The form of a catalog model, or of a model imported from its schema (a QApplication
    must exist)."""
    return ModelForm(model_id, parent)
