"""Small local widgets the forms and the preview need: a slider with an exact-value box, and a
label that elides its text to its width.

They replace superqt's `QLabeledSlider`, `QLabeledDoubleSlider` and `QElidingLabel`: importing
any superqt widget runs its package `__init__`, which imports all its widgets (~190 ms here,
on the first form built at start-up), and its float slider ignored the keyboard. These are a
plain `QSlider` (painted and keyed by Qt in C++) scaled for decimals, and a `QLabel`.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from app.ui.palette import qcolor

#: A focus ring the keyboard user can see on the small buttons of list items and cards (an
#: auto-raised QToolButton draws none of its own in Fusion). Set by the owner's style sheet.
FOCUS_RING = """
QToolButton#up:focus, QToolButton#down:focus, QToolButton#remove:focus {
    border: 2px solid $accent; border-radius: 4px; background: $accent_soft; }
"""


class ItemButton(QToolButton):
    """A small button of a list item or card (move up, move down, remove): reached with Tab,
    pressed with Space (Qt) or Enter/Return."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAutoRaise(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.isEnabled():
            self.click()
            event.accept()
            return
        super().keyPressEvent(event)


class FocusBar(QSlider):
    """A horizontal QSlider that shows it has the keyboard: a thin accent frame (Fusion draws
    no focus ring on a slider)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.hasFocus():
            p = QPainter(self)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(qcolor("accent"), 1.5))
            p.drawRoundedRect(QRectF(self.rect()).adjusted(0.75, 0.75, -0.75, -0.75), 3, 3)
            p.end()


class LabeledSliderBase(QWidget):
    """A horizontal slider and, after it, a box showing (and taking) the exact value.

    Keyboard: Tab reaches the slider (then the box); arrows move by the single step,
    PageUp/PageDown by the page step, Home/End go to the ends. Values are in the field's own
    units; the inner QSlider counts in 10^-decimals of them."""

    def __init__(self, decimals: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._decimals = decimals
        self._lo, self._hi = 0.0, 99.0
        self._step, self._page = 1.0, 10.0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.bar = FocusBar(self)
        self.bar.setObjectName("bar")
        self.box = self._make_box()
        self.box.setObjectName("exact")
        self.box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        self.box.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.box.setKeyboardTracking(False)  # typed digits apply on Enter / leaving the box
        self.box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.box)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self.bar)
        self.bar.valueChanged.connect(self._on_bar)
        self.box.valueChanged.connect(self._on_box)
        self._apply()

    def _make_box(self) -> QSpinBox | QDoubleSpinBox:
        raise NotImplementedError

    def _emit(self, value: float) -> None:
        raise NotImplementedError

    # ---- units ---------------------------------------------------------------------------
    @property
    def _scale(self) -> int:
        return 10 ** self._decimals

    def _to_bar(self, value: float) -> int:
        return round(value * self._scale)

    def _from_bar(self, ticks: int) -> float:
        return round(ticks / self._scale, self._decimals)

    def _apply(self) -> None:
        """Range, steps and box width after a change of range, steps or decimals."""
        value = self.value()
        self.bar.blockSignals(True)
        self.box.blockSignals(True)
        try:
            self.bar.setRange(self._to_bar(self._lo), self._to_bar(self._hi))
            self.bar.setSingleStep(max(1, self._to_bar(self._step)))
            self.bar.setPageStep(max(1, self._to_bar(self._page)))
            self._box_range()
            self.bar.setValue(self._to_bar(value))
            self.box.setValue(self._box_value(self.bar.value()))
        finally:
            self.bar.blockSignals(False)
            self.box.blockSignals(False)
        widest = max((self.box.textFromValue(v) for v in (self._lo, self._hi)), key=len)
        fm = self.box.fontMetrics()
        self.box.setFixedWidth(fm.horizontalAdvance(widest + "0") + 12)

    def _box_range(self) -> None:
        raise NotImplementedError

    def _box_value(self, ticks: int) -> float:
        return self._from_bar(ticks)

    # ---- the QSlider-like API the editors use --------------------------------------------
    def setRange(self, lo: float, hi: float) -> None:
        self._lo, self._hi = float(min(lo, hi)), float(max(lo, hi))
        self._apply()

    def minimum(self) -> float:
        return self._from_bar(self.bar.minimum())

    def maximum(self) -> float:
        return self._from_bar(self.bar.maximum())

    def setSingleStep(self, step: float) -> None:
        self._step = float(step)
        self._apply()

    def singleStep(self) -> float:
        return self._step

    def setPageStep(self, step: float) -> None:
        self._page = float(step)
        self._apply()

    def pageStep(self) -> float:
        return self._page

    def setDecimals(self, decimals: int) -> None:
        value = self.value()
        self._decimals = max(0, int(decimals))
        self._apply()
        self.setValue(value)

    def decimals(self) -> int:
        return self._decimals

    def value(self) -> float:
        return self._from_bar(self.bar.value())

    def setValue(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            return
        self.bar.setValue(self._to_bar(value))  # clamped to the range; emits when it moved

    def setAccessibleName(self, name: str) -> None:
        super().setAccessibleName(name)
        self.bar.setAccessibleName(name)
        self.box.setAccessibleName(f"{name}, exact value")

    def setToolTip(self, tip: str) -> None:
        super().setToolTip(tip)
        self.bar.setToolTip(tip)

    # ---- keeping the two in step ---------------------------------------------------------
    def _on_bar(self, ticks: int) -> None:
        self.box.blockSignals(True)
        self.box.setValue(self._box_value(ticks))
        self.box.blockSignals(False)
        self._emit(self.value())

    def _on_box(self, value: float) -> None:
        self.bar.setValue(self._to_bar(value))


class LabeledSlider(LabeledSliderBase):
    """Whole numbers."""

    valueChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, parent)

    def _make_box(self) -> QSpinBox:
        return QSpinBox(self)

    def _box_range(self) -> None:
        assert isinstance(self.box, QSpinBox)
        self.box.setRange(round(self._lo), round(self._hi))
        self.box.setSingleStep(max(1, round(self._step)))

    def _box_value(self, ticks: int) -> float:
        return int(ticks)

    def value(self) -> int:  # type: ignore[override]
        return int(self.bar.value())

    def minimum(self) -> int:  # type: ignore[override]
        return int(self.bar.minimum())

    def maximum(self) -> int:  # type: ignore[override]
        return int(self.bar.maximum())

    def setDecimals(self, decimals: int) -> None:
        """Whole numbers have none."""

    def _emit(self, value: float) -> None:
        self.valueChanged.emit(int(value))


class LabeledDoubleSlider(LabeledSliderBase):
    """Numbers on a grid of 10^-decimals."""

    valueChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None, decimals: int = 2) -> None:
        super().__init__(decimals, parent)

    def _make_box(self) -> QDoubleSpinBox:
        return QDoubleSpinBox(self)

    def _box_range(self) -> None:
        assert isinstance(self.box, QDoubleSpinBox)
        self.box.setDecimals(self._decimals)
        self.box.setRange(self._lo, self._hi)
        self.box.setSingleStep(self._step)

    def _emit(self, value: float) -> None:
        self.valueChanged.emit(float(value))


class ElidingLabel(QLabel):
    """One line of text cut with "…" to the label's width; `text()` is the whole text (the
    tooltip usually says it too)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = str(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What is on screen (elided)."""
        return super().text()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                              width) if width > 0 else self._full
        super().setText(shown)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        margins = self.contentsMargins()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + margins.left()
                     + margins.right() + 2 * self.margin(), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.fontMetrics().horizontalAdvance("…") * 3),
                     hint.height())
