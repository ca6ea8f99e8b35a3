"""Lists of objects as cards (Kling shots, elements): the parts they share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.catalog.specs import FieldSpec
from app.catalog.validate import Issue
from app.forms.base import (
    OMIT,
    Editor,
    EditorContext,
    FormState,
    IssueLabel,
    relative,
)
from app.forms.widgets import FOCUS_RING, ItemButton
from app.ui.palette import styled, tint

CARD_LABEL_WIDTH = 112

CARD_STYLE = """
QFrame#card { border: 1px solid $card_border; border-radius: 8px; background: $card; }
QFrame#card[bad="true"] { border: 1px solid $error; }
QLabel#cardTag { color: $accent; font-weight: 600; }
""" + FOCUS_RING


class ChildFields:
    """Editors for the fields of one list item, laid out label | editor, issue under it."""

    def __init__(self, owner: QWidget, ctx: EditorContext, children: tuple[FieldSpec, ...],
                 base: str, on_change: Callable[[bool], None],
                 labels: dict[str, str] | None = None) -> None:
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(2)
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnMinimumWidth(0, CARD_LABEL_WIDTH)
        self.base = base
        self.editors: dict[str, Editor] = {}
        self.labels: dict[str, QLabel] = {}
        self.issue_labels: dict[str, IssueLabel] = {}
        for row, spec in enumerate(children):
            path = f"{base}.{spec.name}"
            label = QLabel((labels or {}).get(spec.name, spec.title), owner)
            label.setToolTip(spec.description)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            editor = ctx.build(spec, path, owner)
            label.setBuddy(editor.main)
            issues = IssueLabel(path, owner)
            self.grid.addWidget(label, row * 2, 0)
            self.grid.addWidget(editor, row * 2, 1)
            self.grid.addWidget(issues, row * 2 + 1, 1)
            editor.changed.connect(on_change)
            self.editors[spec.name] = editor
            self.labels[spec.name] = label
            self.issue_labels[spec.name] = issues

    def set_base(self, base: str) -> None:
        self.base = base
        for name, editor in self.editors.items():
            editor.set_path(f"{base}.{name}")
            self.issue_labels[name].set_path(f"{base}.{name}")

    def set_visible(self, name: str, visible: bool) -> None:
        for w in (self.editors[name], self.labels[name]):
            w.setVisible(visible)
        if not visible:
            self.issue_labels[name].hide()

    def value(self, names: list[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, editor in self.editors.items():
            if names is not None and name not in names:
                continue
            v = editor.value()
            if v is not OMIT:
                out[name] = v
        return out

    def set_value(self, data: dict[str, Any]) -> None:
        for name, editor in self.editors.items():
            if name in data:
                editor.set_value(data[name])
            else:
                editor.reset()

    def refresh(self, state: FormState) -> None:
        for editor in self.editors.values():
            editor.refresh(state)

    def show_issues(self, issues: list[Issue]) -> list[Issue]:
        grouped = relative(issues, self.base)
        for name, editor in self.editors.items():
            mine = [i for i in issues if i.field == f"{self.base}.{name}"
                    or i.field.startswith(f"{self.base}.{name}.")]
            self.issue_labels[name].set_issues(editor.show_issues(mine))
        return grouped.get("", []) + [i for k, g in grouped.items()
                                      if k and k not in self.editors for i in g]


class Card(QFrame):
    """A card with a header (title/tag, extra widgets, reorder and remove buttons)."""

    move_requested = Signal(object, int)
    remove_requested = Signal(object)
    kind: str | None = None  # a card that can be of two kinds (an element: images or a video)

    def set_kind(self, kind: str) -> None:
        """Cards with a kind override this (an element switches its fields)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setProperty("bad", False)
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(10, 8, 10, 8)
        self.outer.setSpacing(6)
        self.header = QHBoxLayout()
        self.header.setSpacing(8)
        self.tag = QLabel(self)
        self.tag.setObjectName("cardTag")
        self.header.addWidget(self.tag)
        self.header.addStretch(1)
        self.up = self._button("▲", "Move up", "up", lambda: self.move_requested.emit(self, -1))
        self.down = self._button("▼", "Move down", "down",
                                 lambda: self.move_requested.emit(self, 1))
        self.remove = self._button("✕", "Remove", "remove",
                                   lambda: self.remove_requested.emit(self))
        self.outer.addLayout(self.header)
        self.issues = IssueLabel("card", self)

    def _button(self, text: str, tip: str, name: str, slot: Callable[[], None]) -> QToolButton:
        b = ItemButton(self)
        b.setText(text)
        b.setToolTip(f"{tip} (Space or Enter)")
        b.setAccessibleName(tip)
        b.setObjectName(name)
        b.setFixedSize(QSize(24, 22))
        b.clicked.connect(slot)
        self.header.addWidget(b)
        return b

    def set_position(self, index: int, count: int) -> None:
        self.up.setEnabled(index > 0)
        self.down.setEnabled(index < count - 1)

    def set_bad(self, bad: bool) -> None:
        if self.property("bad") != bad:
            self.setProperty("bad", bad)
            self.style().unpolish(self)
            self.style().polish(self)


class CardListEditor(Editor):
    """An editor holding a list of cards; subclasses make the cards."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        self.setStyleSheet(styled(CARD_STYLE))
        self.cards: list[Any] = []
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(6)
        self.card_box = QVBoxLayout()
        self.card_box.setSpacing(6)
        self.layout_.addLayout(self.card_box)
        self.empty = QLabel(self)
        tint(self.empty, "muted")
        self.layout_.addWidget(self.empty)

    def make_card(self, index: int, data: dict[str, Any] | None) -> Any:
        raise NotImplementedError

    def card_value(self, card: Any) -> dict[str, Any]:
        raise NotImplementedError

    def value(self) -> Any:
        if not self.cards:
            return OMIT
        return [self.card_value(c) for c in self.cards]

    def set_value(self, value: Any) -> None:
        items = value if isinstance(value, list) else []
        self._rebuild([v if isinstance(v, dict) else {} for v in items])

    def _rebuild(self, items: list[dict[str, Any]]) -> None:
        for card in self.cards:
            card.setParent(None)
            card.deleteLater()
        self.cards = []
        for i, data in enumerate(items):
            self._insert(i, data)
        self.update_cards()

    def _insert(self, index: int, data: dict[str, Any] | None) -> Any:
        card = self.make_card(index, data)
        card.move_requested.connect(self._move)
        card.remove_requested.connect(self._remove)
        self.cards.insert(index, card)
        self.card_box.insertWidget(index, card)
        return card

    def item_count(self) -> int:
        return len(self.cards)

    def add(self, data: dict[str, Any] | None = None) -> Any:
        card = self._insert(len(self.cards), data)
        self.update_cards()
        self.emit_changed()
        return card

    def _move(self, card: Any, step: int) -> None:
        i = self.cards.index(card)
        j = i + step
        if not 0 <= j < len(self.cards):
            return
        values = [self.card_value(c) for c in self.cards]
        kinds = [c.kind for c in self.cards]
        values[i], values[j] = values[j], values[i]
        kinds[i], kinds[j] = kinds[j], kinds[i]
        self._rebuild(values)
        for c, k in zip(self.cards, kinds, strict=True):
            if k is not None:
                c.set_kind(k)
        self.update_cards()
        self.emit_changed()

    def _remove(self, card: Any) -> None:
        i = self.cards.index(card)
        data, kind, tag = self.card_value(card), card.kind, card.tag.text()
        self.cards.pop(i)
        card.setParent(None)
        card.deleteLater()
        self.update_cards()
        self.emit_changed()
        self.ctx.note_removed(self, f"{tag or self.spec.item_label or 'the item'} from "
                              f"{self.spec.title}", lambda: self.restore_card(i, data, kind))

    def restore_card(self, index: int, data: dict[str, Any], kind: str | None) -> bool:
        """Put a removed card back at `index` with what it held (False: no room)."""
        if self.spec.max_items and len(self.cards) >= self.spec.max_items:
            return False
        card = self._insert(min(index, len(self.cards)), data)
        if kind is not None:
            card.set_kind(kind)
        self.update_cards()
        self.emit_changed()
        return True

    def update_cards(self) -> None:
        """Renumber paths and tags after a change; subclasses add their own bits."""
        for i, card in enumerate(self.cards):
            card.set_index(i, len(self.cards))

    def refresh(self, state: FormState) -> None:
        for card in self.cards:
            card.fields.refresh(state)

    def show_issues(self, issues: list[Issue]) -> list[Issue]:
        grouped = relative(issues, self.path)
        for i, card in enumerate(self.cards):
            mine = [x for x in issues if x.field == f"{self.path}.{i}"
                    or x.field.startswith(f"{self.path}.{i}.")]
            rest = card.fields.show_issues(mine)
            card.issues.set_issues(rest)
            card.set_bad(any(x.severity == "error" for x in mine))
        return [x for k, g in grouped.items() if not k.isdigit() or int(k) >= len(self.cards)
                for x in g]
