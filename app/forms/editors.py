"""The plain editors: enum, numbers (sliders), unset state, toggle, text, seed, auto-int, JSON."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.catalog.roles import SOURCE
from app.catalog.rules import keyframe_max
from app.catalog.specs import FieldSpec, decimals_for
from app.forms.base import (
    OMIT,
    Editor,
    EditorContext,
    FormState,
    format_value,
)
from app.forms.widgets import LabeledDoubleSlider, LabeledSlider
from app.ui.palette import tint

INT32_MAX = 2_147_483_647


def _row(widget: QWidget) -> QHBoxLayout:
    layout = QHBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(8)
    return layout


def muted(text: str = "", parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    tint(label, "muted", px=11)
    label.setWordWrap(True)
    return label


# ---- enum ----------------------------------------------------------------------------------


class EnumEditor(Editor):
    """A dropdown; each choice carries the reference's guidance as its tooltip."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        layout = _row(self)
        self.combo = QComboBox(self)
        self.combo.setAccessibleName(spec.title)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setMinimumWidth(110)
        if spec.unset_allowed:
            self.combo.addItem("unset", OMIT)
            self.combo.setItemData(0, "Not sent: the model's default", Qt.ItemDataRole.ToolTipRole)
        for choice in spec.enum:
            self.combo.addItem(format_value(choice, spec.unit), choice)
            if str(choice) in spec.guidance:
                self.combo.setItemData(self.combo.count() - 1, spec.guidance[str(choice)],
                                       Qt.ItemDataRole.ToolTipRole)
        self.combo.setEnabled(len(spec.enum) > 1)
        self.hint = muted(parent=self)
        self.hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.combo)
        layout.addWidget(self.hint, 100)
        layout.addStretch(1)
        self.main = self.combo
        self.combo.currentIndexChanged.connect(self._on_change)
        self.reset()

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(self._index_of(value))
        self.update_hint()

    def _index_of(self, value: Any) -> int:
        if value is OMIT or value is None:
            return 0
        for i in range(self.combo.count()):
            data = self.combo.itemData(i)
            if data is not OMIT and str(data) == str(value) and not isinstance(data, bool):
                return i
        # Not a choice: keep it (the round trip stays lossless) and let validation flag it.
        self.combo.addItem(f"{value} (not a choice)", value)
        return self.combo.count() - 1

    def _on_change(self) -> None:
        self.update_hint()
        self.emit_changed()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def update_hint(self) -> None:
        guidance = self.spec.guidance.get(str(self.combo.currentData()), "")
        self.set_hint(guidance)
        self.combo.setToolTip("\n".join(x for x in (self.toolTip(), guidance) if x))


# ---- numbers ---------------------------------------------------------------------------------


class SliderEditor(Editor):
    """A bounded number: a labeled slider whose label is an exact-value box, the unit after it,
    and, for an optional value with no default, an explicit "unset" state (not a zero)."""

    UNSET_TEXT = "Unset"

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        self.is_float = spec.type == "number"
        self.decimals = decimals_for(spec.step) if self.is_float else 0
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        layout = QHBoxLayout()
        layout.setSpacing(8)
        outer.addLayout(layout)
        self.note = muted("", self)
        self.note.hide()
        outer.addWidget(self.note)
        self.unset: QCheckBox | None = None
        if spec.unset_allowed:
            self.unset = QCheckBox(self.UNSET_TEXT, self)
            self.unset.setToolTip(spec.description)
            self.unset.toggled.connect(self._on_unset)
            layout.addWidget(self.unset)
        self.slider = self._make_slider()
        layout.addWidget(self.slider, 1)
        self.unset_text = muted(f"not sent: {unset_meaning(spec)}", self)
        self.unset_text.setObjectName("unsetText")
        self.unset_text.hide()
        layout.addWidget(self.unset_text, 1)
        self.unit_label: QLabel | None = None
        if spec.unit:
            self.unit_label = QLabel(spec.unit, self)
            layout.addWidget(self.unit_label)
        self.main = self.slider
        self.slider.valueChanged.connect(lambda _v: self.emit_changed())
        self.reset()

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _make_slider(self) -> LabeledSlider | LabeledDoubleSlider:
        spec = self.spec
        slider: LabeledSlider | LabeledDoubleSlider
        if self.is_float:
            slider = LabeledDoubleSlider(self, decimals=max(self.decimals, 1))
        else:
            slider = LabeledSlider(self)
        lo, hi = self._bounds()
        slider.setRange(lo, hi)
        if spec.step:
            slider.setSingleStep(spec.step)
            slider.setPageStep(spec.step * (5 if self.is_float else 1))
        slider.setAccessibleName(spec.title)
        slider.setMinimumWidth(160)
        return slider

    def _bounds(self) -> tuple[float, float]:
        lo = self.spec.minimum if self.spec.minimum is not None else 0
        hi = self.spec.maximum if self.spec.maximum is not None else max(lo + 100, 100)
        return lo, hi

    def value(self) -> Any:
        if self.unset is not None and self.unset.isChecked():
            return OMIT
        v = self.slider.value()
        if self.is_float:
            return round(float(v), self.decimals)
        return round(v)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.slider):
            if value is OMIT or value is None:
                if self.unset is not None:
                    self._set_unset(True)
                    return
                value = self._bounds()[0]
            if self.unset is not None:
                self._set_unset(False)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._widen_to(value)
                if self.is_float:
                    self._fit_decimals(float(value))
                self.slider.setValue(value)

    def _fit_decimals(self, value: float) -> None:
        needed = next((d for d in range(0, 7) if math.isclose(round(value, d), value)), 6)
        if needed > self.decimals:
            self.decimals = needed
            self.slider.setDecimals(needed)

    def _widen_to(self, value: float) -> None:
        """A value outside the schema's range is kept (and flagged by validation), not clamped."""
        lo, hi = self._bounds()
        self.slider.setRange(min(lo, value), max(hi, value))

    def _set_unset(self, unset: bool) -> None:
        assert self.unset is not None
        with QSignalBlocker(self.unset):
            self.unset.setChecked(unset)
        self._show_unset(unset)

    def _show_unset(self, unset: bool) -> None:
        """Unset shows what unset means instead of a greyed-out number that reads as zero."""
        self.slider.setEnabled(not unset)
        self.slider.setVisible(not unset)
        self.unset_text.setVisible(unset)
        if self.unit_label is not None:
            self.unit_label.setVisible(not unset)

    def _on_unset(self, checked: bool) -> None:
        self._show_unset(checked)
        self.emit_changed()


_UNSET_MEANS = re.compile(r"unset(?: =|:)\s*([^.;]+)", re.IGNORECASE)


def unset_meaning(spec: FieldSpec) -> str:
    """What leaving the field unset does, from its description ("unset = no interpolation")."""
    found = _UNSET_MEANS.search(spec.description)
    return found.group(1).strip() if found else "the model's default"


class SpinEditor(Editor):
    """An integer without both bounds: a spin box."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        layout = _row(self)
        self.spin = QSpinBox(self)
        self.spin.setRange(int(spec.minimum if spec.minimum is not None else -INT32_MAX),
                           int(spec.maximum if spec.maximum is not None else INT32_MAX))
        self.spin.setSuffix(f" {spec.unit}" if spec.unit else "")
        layout.addWidget(self.spin)
        layout.addStretch(1)
        self.main = self.spin
        self.spin.valueChanged.connect(lambda _v: self.emit_changed())
        self.reset()

    def value(self) -> Any:
        return self.spin.value()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.spin):
            if isinstance(value, int) and not isinstance(value, bool):
                self.spin.setValue(value)


class KeyframeEditor(SliderEditor):
    """A frame number whose maximum follows the probed source: duration × 24.

    A new source with fewer frames than the chosen keyframe moves the keyframe to the new
    clip's last frame, and the note says so (the slider never keeps the old clip's range)."""

    UNKNOWN_MAX = 240
    NO_SOURCE = "Choose a source video to set the range (1 … duration × 24)."

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        self.dynamic_max: int | None = None
        self.moved_note = ""  # "was 100: past the last frame of this clip"
        super().__init__(spec, ctx, path, parent)
        self.set_note(self.NO_SOURCE)
        self.slider.valueChanged.connect(self._forget_move)

    def _bounds(self) -> tuple[float, float]:
        lo = self.spec.minimum if self.spec.minimum is not None else 1
        return lo, self.dynamic_max or self.UNKNOWN_MAX

    def _forget_move(self, _value: int) -> None:
        """A keyframe chosen after the move: the line about the move goes."""
        if self.moved_note:
            self.moved_note = ""
            self.set_note(self.note.text().split("\n")[0])

    def refresh(self, state: FormState) -> None:
        from app.catalog.media import MediaInfo

        info = state.probes.get(state.values.get(self.spec.depends_on or "")) \
            if self.spec.depends_on else None
        top = keyframe_max(info.duration_s) if isinstance(info, MediaInfo) and info.duration_s \
            else None
        if top != self.dynamic_max:
            self.dynamic_max = top
            self._fit_range(top)
        if top is not None and isinstance(info, MediaInfo):
            note = f"1 – {top}: the source is {info.duration_s:.2f} s × 24 fps"
            self.set_note("\n".join(x for x in (note, self.moved_note) if x))
        else:
            self.set_note(self.NO_SOURCE)

    def _fit_range(self, top: int | None) -> None:
        current = self.value()
        self.moved_note = ""  # a move is said for the clip that caused it only
        with QSignalBlocker(self.slider):
            self.slider.setRange(*self._bounds())
            if top is None or current is OMIT:
                self._widen_to(current)  # no source: a loaded value is kept (and flagged)
                self.slider.setValue(current)
                return
            self.slider.setValue(current)  # clamped into the new clip's frames
        if self.slider.value() != current:  # the form validates again (ModelForm.revalidate)
            self.moved_note = (f"Keyframe {current} was past this clip's last frame: "
                               f"moved to {self.slider.value()}")


class RateEditor(SliderEditor):
    """A frame rate that may be left unset (Topaz `target_fps`: unset = no interpolation, the
    result keeps the source's rate). Set, it starts at the source's probed rate rather than at
    the schema's minimum (16 fps would drop frames of a 24 fps clip); a rate below the
    source's is said beside it."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        self.source_fps: float | None = None
        self.source_field = next((f.name for f in ctx.fields.values() if f.role == SOURCE
                                  and f.media is not None and f.media.kind == "video"), None)
        super().__init__(spec, ctx, path, parent)
        if self.unset is not None:
            self.unset.setText("As the source")
            self.unset.setToolTip(f"{spec.description}\nTicked: not sent, the result keeps the "
                                  "source's frame rate")
        self._show_rate()

    def refresh(self, state: FormState) -> None:
        from app.catalog.media import MediaInfo

        info = state.probes.get(state.values.get(self.source_field or ""))
        fps = info.fps if isinstance(info, MediaInfo) and info.fps else None
        if fps != self.source_fps:
            self.source_fps = fps
        self._show_rate()

    def _show_rate(self) -> None:
        known = f" ({self.source_fps:g} fps)" if self.source_fps else ""
        self.unset_text.setText(f"not sent: {unset_meaning(self.spec)}, the result keeps the "
                                f"source's frame rate{known}")
        value = self.value()
        if value is OMIT:
            self.set_note("")
        elif self.source_fps is None:
            self.set_note("The source's frame rate is not known yet (choose a source video).")
        elif value < self.source_fps - 1e-6:
            self.set_note(f"Below the source's {self.source_fps:g} fps: frames are dropped, "
                          "not added.")
        else:
            self.set_note("")

    def _on_unset(self, checked: bool) -> None:
        if not checked and self.source_fps:
            lo, hi = self._bounds()
            with QSignalBlocker(self.slider):
                self.slider.setValue(min(max(round(self.source_fps), lo), hi))
        super()._on_unset(checked)
        self._show_rate()


class DependentIntEditor(SliderEditor):
    """A bounded integer that also tells how it compares to the probed source (Wan duration)."""

    def refresh(self, state: FormState) -> None:
        from app.catalog.media import MediaInfo

        info = state.probes.get(state.values.get(self.spec.depends_on or ""))
        if isinstance(info, MediaInfo) and info.duration_s:
            self.set_note(f"The source is {info.duration_s:.1f} s")
        else:
            self.set_note("")


class AutoIntEditor(Editor):
    """"auto" or a whole number in a range (Seedance duration)."""

    AUTO = "auto"

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        layout = _row(self)
        self.auto = QCheckBox("Auto", self)
        self.auto.setToolTip("Let the model decide the length")
        self.slider = LabeledSlider(self)
        lo = int(spec.minimum if spec.minimum is not None else 1)
        hi = int(spec.maximum if spec.maximum is not None else 60)
        self.bounds = (lo, hi)
        self.slider.setRange(lo, hi)
        self.slider.setValue(min(max(5, lo), hi))
        self.slider.setAccessibleName(spec.title)
        self.slider.setMinimumWidth(160)
        self.auto_text = muted(f"the model picks the length ({lo}–{hi} {spec.unit})".rstrip(),
                               self)
        self.auto_text.setObjectName("autoText")
        layout.addWidget(self.auto)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.auto_text, 1)
        self.unit_label = QLabel(spec.unit, self) if spec.unit else None
        if self.unit_label is not None:
            layout.addWidget(self.unit_label)
        self.main = self.slider
        self.auto.toggled.connect(self._on_auto)
        self.slider.valueChanged.connect(lambda _v: self.emit_changed())
        self.reset()

    def value(self) -> Any:
        return self.AUTO if self.auto.isChecked() else self.slider.value()

    def set_value(self, value: Any) -> None:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        is_auto = not isinstance(value, int) or isinstance(value, bool)
        with QSignalBlocker(self.auto), QSignalBlocker(self.slider):
            self.auto.setChecked(is_auto)
            if not is_auto:
                lo, hi = self.bounds
                self.slider.setRange(min(lo, value), max(hi, value))
                self.slider.setValue(value)
        self._show_auto(is_auto)

    def _show_auto(self, is_auto: bool) -> None:
        """Auto shows what auto means, not a greyed-out number that reads as a length."""
        self.slider.setEnabled(not is_auto)
        self.slider.setVisible(not is_auto)
        self.auto_text.setVisible(is_auto)
        if self.unit_label is not None:
            self.unit_label.setVisible(not is_auto)

    def _on_auto(self, checked: bool) -> None:
        self._show_auto(checked)
        self.emit_changed()


# ---- bool, text, seed, json --------------------------------------------------------------------


class BoolEditor(Editor):
    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        layout = _row(self)
        # A plain QCheckBox: painted by Qt in C++ (superqt's QToggleSwitch paints in Python,
        # ~1 ms a paint, which showed in the form-switch bench).
        self.toggle = QCheckBox(self)
        self.toggle.setAccessibleName(spec.title)
        layout.addWidget(self.toggle)
        layout.addStretch(1)
        self.main = self.toggle
        self.toggle.toggled.connect(self._on_toggle)
        self.reset()

    def value(self) -> Any:
        return self.toggle.isChecked()

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.toggle):
            self.toggle.setChecked(bool(value) if value is not OMIT else False)
        self.toggle.setText("On" if self.toggle.isChecked() else "Off")

    def _on_toggle(self, checked: bool) -> None:
        self.toggle.setText("On" if checked else "Off")
        self.emit_changed()


class StringEditor(Editor):
    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        layout = _row(self)
        self.edit = QLineEdit(self)
        self.edit.setAccessibleName(spec.title)
        if spec.nullable:
            self.edit.setPlaceholderText("optional")
        layout.addWidget(self.edit)
        self.main = self.edit
        self.edit.textChanged.connect(lambda _t: self.emit_changed(False))
        self.reset()

    def value(self) -> Any:
        text = self.edit.text()
        if not text and self.spec.nullable:
            return OMIT
        return text

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.edit):
            self.edit.setText("" if value is OMIT or value is None else str(value))


class SeedEditor(Editor):
    """A seed: a number, or "random" (not sent)."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        layout = _row(self)
        self.random = QCheckBox("Random", self)
        self.random.setToolTip("A new random seed each render (not sent)")
        self.spin = QSpinBox(self)
        self.spin.setRange(int(spec.minimum if spec.minimum is not None else 0),
                           int(spec.maximum if spec.maximum is not None else INT32_MAX))
        self.spin.setMinimumWidth(130)
        self.spin.setAccessibleName(spec.title)
        self.random_text = muted("a new seed each render (not sent)", self)
        self.random_text.setObjectName("randomText")
        layout.addWidget(self.random)
        layout.addWidget(self.spin)
        layout.addWidget(self.random_text)
        layout.addStretch(1)
        self.main = self.spin
        self.random.toggled.connect(self._on_random)
        self.spin.valueChanged.connect(lambda _v: self.emit_changed(False))
        self.reset()

    def value(self) -> Any:
        return OMIT if self.random.isChecked() else self.spin.value()

    def set_value(self, value: Any) -> None:
        is_random = not isinstance(value, int) or isinstance(value, bool)
        with QSignalBlocker(self.random), QSignalBlocker(self.spin):
            self.random.setChecked(is_random)
            if not is_random:
                self.spin.setValue(value)
        self._show_random(is_random)

    def _show_random(self, is_random: bool) -> None:
        self.spin.setEnabled(not is_random)
        self.spin.setVisible(not is_random)
        self.random_text.setVisible(is_random)

    def _on_random(self, checked: bool) -> None:
        self._show_random(checked)
        self.emit_changed()


class JsonEditor(Editor):
    """Any shape the registry has no editor for: JSON text, parsed on read."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QPlainTextEdit(self)
        self.edit.setPlaceholderText("JSON value")
        self.edit.setFixedHeight(64)
        self.edit.setAccessibleName(spec.title)
        layout.addWidget(self.edit)
        self.main = self.edit
        self.edit.textChanged.connect(lambda: self.emit_changed(False))
        self.reset()

    def value(self) -> Any:
        text = self.edit.toPlainText().strip()
        if not text:
            return OMIT
        try:
            return json.loads(text)
        except ValueError:
            return text  # validation says what is wrong with it

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.edit):
            self.edit.setPlainText("" if value is OMIT else json.dumps(value))
