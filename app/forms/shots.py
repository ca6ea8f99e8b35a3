"""The multi-shot timeline (Kling ``multi_prompt``): shots as cards and a bar of the budget."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from app.catalog.roles import PROMPT, totals
from app.catalog.specs import FieldSpec
from app.forms.base import EditorContext, FormState
from app.forms.capabilities import Hinted
from app.forms.cards import Card, CardListEditor, ChildFields
from app.forms.prompt import PromptEditor
from app.ui.palette import qcolor, tint

SEGMENT_ROLES = tuple(f"shot_{n}" for n in range(1, 7))  # the palette's shot colours, in turn
DEFAULT_BUDGET = 15
DEFAULT_PART = "duration"  # a shots list whose schema declares no x-total


def budget_from(whole: FieldSpec | None) -> int:
    """The clip budget: the largest value the whole the shots add up to accepts."""
    numbers = [int(v) for v in (whole.enum if whole else ()) if str(v).isdigit()]
    if whole and whole.maximum is not None:
        numbers.append(int(whole.maximum))
    return max(numbers) if numbers else DEFAULT_BUDGET


def seconds_of(shot: dict[str, Any], part: str = DEFAULT_PART) -> int:
    d = shot.get(part)
    return int(d) if str(d).isdigit() else 0


class TotalBar(QWidget):
    """Shots as coloured segments on a track that is the clip budget; red past the budget."""

    def __init__(self, budget: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.budget = budget
        self.parts: list[int] = []
        self.setObjectName("shotsTotal")
        self.setMinimumHeight(20)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    @property
    def total(self) -> int:
        return sum(self.parts)

    def set_parts(self, parts: list[int]) -> None:
        self.parts = parts
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1, 3, -1, -3)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(qcolor("track"))
        p.drawRoundedRect(r, 4, 4)
        scale = max(self.budget, self.total, 1)
        x = r.left()
        for i, secs in enumerate(self.parts):
            w = r.width() * secs / scale
            p.setBrush(qcolor(SEGMENT_ROLES[i % len(SEGMENT_ROLES)]))
            p.drawRect(QRectF(x, r.top(), max(w - 1, 0), r.height()))
            x += w
        if self.total > self.budget:
            edge = r.left() + r.width() * self.budget / scale
            p.setBrush(qcolor("error"))
            p.drawRect(QRectF(edge - 1, r.top() - 3, 2, r.height() + 6))
        p.end()


class ShotCard(Card):
    def __init__(self, owner: ShotsEditor, index: int, data: dict[str, Any] | None) -> None:
        super().__init__(owner)
        self.owner = owner
        texts = [c.name for c in owner.spec.children if c.role == PROMPT]
        self.fields = ChildFields(self, owner.ctx, owner.spec.children,
                                  f"{owner.path}.{index}", owner.emit_changed,
                                  labels={**dict.fromkeys(texts, "Prompt"), owner.part: "Length"})
        for prompt in (self.fields.editors.get(name) for name in texts):
            if not isinstance(prompt, PromptEditor):
                continue
            line_h = prompt.edit.fontMetrics().lineSpacing()
            prompt.edit.setMinimumHeight(line_h * 3 + 12)
            prompt.edit.setMaximumHeight(line_h * 3 + 12)
        self._length_in_header()
        self.outer.addLayout(self.fields.grid)
        self.outer.addWidget(self.issues)
        if data is not None:
            self.fields.set_value(data)

    def _length_in_header(self) -> None:
        """The shot's length sits in the header, next to its name: the card stays compact."""
        editor = self.fields.editors.get(self.owner.part)
        label = self.fields.labels.get(self.owner.part)
        if editor is None or label is None:
            return
        self.fields.grid.removeWidget(editor)
        self.fields.grid.removeWidget(label)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.header.insertSpacing(1, 12)
        self.header.insertWidget(2, label)
        self.header.insertWidget(3, editor)
        if isinstance(editor, Hinted):
            editor.set_hint("")  # the header has no room for guidance

    def set_index(self, index: int, count: int) -> None:
        self.tag.setText(f"{self.owner.spec.item_label or 'Item'} {index + 1}")
        self.fields.set_base(f"{self.owner.path}.{index}")
        self.set_position(index, count)


class ShotsEditor(CardListEditor):
    """Up to ``maxItems`` shots, each a prompt and a length, with the total against the budget."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        total = next((t for t in totals(tuple(ctx.fields.values())) if t.items == spec.name), None)
        self.part = total.part if total else DEFAULT_PART  # each shot's share of the whole
        self.budget = budget_from(ctx.fields.get(total.whole) if total else None)
        self.empty.setText("No shots yet: add the first one.")
        bar_row = QHBoxLayout()
        self.bar = TotalBar(self.budget, self)
        self.total_label = QLabel(self)
        self.total_label.setObjectName("shotsTotalLabel")
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.total_label)
        self.layout_.addLayout(bar_row)
        self.add_button = QPushButton(f"+ Add {(spec.item_label or 'item').lower()}", self)
        self.add_button.setObjectName("add_shot")
        self.add_button.clicked.connect(lambda: self.add())
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        self.layout_.addLayout(buttons)
        self.main = self.add_button
        self.changed.connect(lambda _i: self._update_total())
        self.reset()

    def make_card(self, index: int, data: dict[str, Any] | None) -> ShotCard:
        if data is None:
            data = {self.part: str(self._fitting_length())}
        return ShotCard(self, index, data)

    def _fitting_length(self) -> int:
        duration = next((c for c in self.spec.children if c.name == self.part), None)
        default = int(duration.default) if duration and str(duration.default).isdigit() else 5
        left = self.budget - self.total()
        return default if left >= default or left < 1 else left

    def card_value(self, card: ShotCard) -> dict[str, Any]:
        return card.fields.value()

    def total(self) -> int:
        return sum(seconds_of(card.fields.value(), self.part) for card in self.cards)

    def update_cards(self) -> None:
        super().update_cards()
        self.empty.setVisible(not self.cards)
        top = self.spec.max_items
        self.add_button.setEnabled(top is None or len(self.cards) < top)
        self.add_button.setToolTip(f"At most {top} shots" if top else "")
        self._update_total()

    def _update_total(self) -> None:
        parts = [seconds_of(c.fields.value(), self.part) for c in self.cards]
        self.bar.set_parts(parts)
        total = sum(parts)
        over = total > self.budget
        self.total_label.setText(f"{total} s of {self.budget} s")
        tint(self.total_label, "error" if over else "muted", weight=600 if over else 400)

    def refresh(self, state: FormState) -> None:
        super().refresh(state)
        self._update_total()
