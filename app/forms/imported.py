"""Forms of models known only by their schema (`app.catalog.importer.ImportedModel`).

`ModelForm(imported_model)` builds the form from the imported schema through the same editor
registry as the curated models; this module holds what only imported models need: the spec
the form's header and mention highlighting read (`ImportedSpec`) and a card editor for any
list of objects (`CardsEditor`: one card per item with the item's own fields).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from app.catalog.importer import ImportedModel
from app.catalog.specs import FieldSpec
from app.forms.base import EditorContext
from app.forms.cards import Card, CardListEditor, ChildFields

_SOURCES = {"fal": "fal", "cog": "a Cog/Replicate schema", "openapi": "an OpenAPI document",
            "json-schema": "a JSON Schema", "takes": "the server's model list"}


class ImportedSpec:
    """What `ModelForm` reads of a catalog `ModelSpec`, for an imported model."""

    has_format = False

    def __init__(self, model: ImportedModel) -> None:
        self.model = model
        self.id = model.id
        self.name = model.name
        self.task = "imported"
        self.task_label = f"From {_SOURCES.get(model.source, model.source)}: {model.id}"

    @property
    def mention_prefixes(self) -> list[str]:
        return self.model.mention_prefixes

    def json_schema(self) -> dict[str, Any]:
        return self.model.schema


def _item_word(spec: FieldSpec) -> str:
    if spec.item_label:
        return spec.item_label
    title = spec.title or "Item"
    return title[:-1] if title.endswith("s") and not title.endswith("ss") else title


class ItemCard(Card):
    """One item of a list of objects: its fields, label | editor."""

    def __init__(self, owner: CardsEditor, index: int, data: dict[str, Any] | None) -> None:
        super().__init__(owner)
        self.owner = owner
        self.fields = ChildFields(self, owner.ctx, owner.spec.children, f"{owner.path}.{index}",
                                  owner.emit_changed)
        self.outer.addLayout(self.fields.grid)
        self.outer.addWidget(self.issues)
        if data is not None:
            self.fields.set_value(data)

    def set_index(self, index: int, count: int) -> None:
        self.tag.setText(f"{_item_word(self.owner.spec)} {index + 1}")
        self.fields.set_base(f"{self.owner.path}.{index}")
        self.set_position(index, count)


class CardsEditor(CardListEditor):
    """A list of objects as cards, up to the schema's ``maxItems``."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        word = _item_word(spec)
        self.empty.setText(f"None yet: “+ Add {word.lower()}” adds one.")
        self.add_button = QPushButton(f"+ Add {word.lower()}", self)
        self.add_button.setObjectName("add_card")
        self.add_button.clicked.connect(lambda: self.add())
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.main = self.add_button
        self.reset()

    def make_card(self, index: int, data: dict[str, Any] | None) -> ItemCard:
        return ItemCard(self, index, data)

    def card_value(self, card: ItemCard) -> dict[str, Any]:
        return card.fields.value()

    def update_cards(self) -> None:
        super().update_cards()
        full = self.spec.max_items is not None and len(self.cards) >= self.spec.max_items
        self.add_button.setEnabled(not full)
        self.add_button.setToolTip(f"At most {self.spec.max_items}" if full else "")
        self.empty.setVisible(not self.cards)
