"""Elements (Kling): cards tagged @Element1…, each an image set (frontal + references) or, where
the item schema has a video field, a video; at most one video element."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QPushButton, QRadioButton, QWidget

from app.catalog.mentions import DANGLING, order_mapping
from app.catalog.specs import FieldSpec
from app.forms.base import EditorContext
from app.forms.cards import Card, CardListEditor, ChildFields

IMAGE_SET, VIDEO = "images", "video"


def media_groups(children: tuple[FieldSpec, ...]) -> tuple[list[str], list[str], list[str]]:
    """(image fields, video fields, the others) of an element's schema."""
    images = [c.name for c in children if c.media is not None and c.media.kind == "image"]
    videos = [c.name for c in children if c.media is not None and c.media.kind == "video"]
    others = [c.name for c in children if c.name not in images and c.name not in videos]
    return images, videos, others


class ElementCard(Card):
    def __init__(self, owner: ElementsEditor, index: int, data: dict[str, Any] | None,
                 kind: str = IMAGE_SET) -> None:
        super().__init__(owner)
        self.owner = owner
        self.kind = kind
        self.images, self.videos, self.others = media_groups(owner.spec.children)
        self.switch: QButtonGroup | None = None
        if self.images and self.videos:
            self._add_switch()
        self.fields = ChildFields(self, owner.ctx, owner.spec.children,
                                  f"{owner.path}.{index}", owner.emit_changed)
        self.outer.addLayout(self.fields.grid)
        self.outer.addWidget(self.issues)
        if data:
            self.kind = VIDEO if any(data.get(v) for v in self.videos) else IMAGE_SET
            self.fields.set_value(data)
        self.set_kind(self.kind)

    def _add_switch(self) -> None:
        self.switch = QButtonGroup(self)
        self.image_button = QRadioButton("Image set", self)
        self.video_button = QRadioButton("Video", self)
        self.image_button.setObjectName("kind_images")
        self.video_button.setObjectName("kind_video")
        self.switch.addButton(self.image_button)
        self.switch.addButton(self.video_button)
        row = QHBoxLayout()
        row.setSpacing(10)
        row.addWidget(self.image_button)
        row.addWidget(self.video_button)
        self.header.insertLayout(1, row)
        self.image_button.toggled.connect(self._on_switch)

    def _on_switch(self, images_on: bool) -> None:
        self.set_kind(IMAGE_SET if images_on else VIDEO)
        self.owner.update_cards()
        self.owner.emit_changed()

    def set_kind(self, kind: str) -> None:
        self.kind = kind if self.videos else IMAGE_SET
        if self.switch is not None:
            with QSignalBlocker(self.image_button), QSignalBlocker(self.video_button):
                self.image_button.setChecked(self.kind == IMAGE_SET)
                self.video_button.setChecked(self.kind == VIDEO)
        for name in self.images:
            self.fields.set_visible(name, self.kind == IMAGE_SET)
        for name in self.videos:
            self.fields.set_visible(name, self.kind == VIDEO)

    def value(self) -> dict[str, Any]:
        shown = (self.images if self.kind == IMAGE_SET else self.videos) + self.others
        return self.fields.value(shown)

    def set_index(self, index: int, count: int) -> None:
        self.tag.setText(f"@{self.owner.prefix}{self.owner.offset + index + 1}")
        self.fields.set_base(f"{self.owner.path}.{index}")
        self.set_position(index, count)


class ElementsEditor(CardListEditor):
    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        self.prefix = spec.mention or (spec.item_label or "Element")
        self.offset = ctx.tag_offsets.get(path, 0)
        _, videos, _ = media_groups(spec.children)
        self.empty.setText("No elements: add a character or object to refer to as "
                           f"@{self.prefix}1.")
        row = QHBoxLayout()
        self.add_images = QPushButton("+ Image-set element", self)
        self.add_images.setObjectName("add_image_element")
        self.add_images.setToolTip("A frontal image and 1–3 reference images")
        self.add_images.clicked.connect(lambda: self.add_kind(IMAGE_SET))
        row.addWidget(self.add_images)
        self.add_video: QPushButton | None = None
        if videos:
            self.add_video = QPushButton("+ Video element", self)
            self.add_video.setObjectName("add_video_element")
            self.add_video.setToolTip("At most one element may carry a video")
            self.add_video.clicked.connect(lambda: self.add_kind(VIDEO))
            row.addWidget(self.add_video)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.main = self.add_images
        self.reset()

    def add_kind(self, kind: str) -> ElementCard:
        card = self._insert(len(self.cards), None)
        card.set_kind(kind)
        self.update_cards()
        self.emit_changed()
        return card

    def make_card(self, index: int, data: dict[str, Any] | None) -> ElementCard:
        return ElementCard(self, index, data)

    def card_value(self, card: ElementCard) -> dict[str, Any]:
        return card.value()

    def update_cards(self) -> None:
        super().update_cards()
        self.empty.setVisible(not self.cards)
        if self.add_video is not None:
            has_video = any(c.kind == VIDEO for c in self.cards)
            self.add_video.setEnabled(not has_video)
            self.add_video.setToolTip("An element already carries a video (max one)"
                                      if has_video else "At most one element may carry a video")

    def tags(self) -> list[str]:
        return [c.tag.text() for c in self.cards]

    # ---- the prompts' @Element mentions follow the cards -------------------------------------
    def _move(self, card: Any, step: int) -> None:
        count, i = len(self.cards), self.cards.index(card)
        super()._move(card, step)
        if 0 <= i + step < count:
            after = list(range(count))
            after[i], after[i + step] = after[i + step], after[i]
            self._follow(order_mapping(range(count), after, self.offset))

    def _remove(self, card: Any) -> None:
        count, i = len(self.cards), self.cards.index(card)
        super()._remove(card)
        mapping = order_mapping(range(count), [k for k in range(count) if k != i], self.offset)
        self._parked = i < count - 1  # its mentions went to @Element0: another holds its number
        self._follow(mapping)

    def restore_card(self, index: int, data: dict[str, Any], kind: str | None) -> bool:
        count = len(self.cards)
        if not super().restore_card(index, data, kind):
            return False
        at = min(index, count)
        mapping: dict[int, int | None] = {
            self.offset + k + 1: self.offset + (k if k < at else k + 1) + 1 for k in range(count)}
        if getattr(self, "_parked", False):  # its mentions at @Element0 go back to it
            mapping[DANGLING] = self.offset + at + 1
        self._parked = False
        self._follow(mapping)
        return True

    def _follow(self, mapping: dict[int, int | None]) -> None:
        from app.forms.prompt import follow_mentions

        if self.prefix:
            follow_mentions(self.ctx, self.prefix, mapping)
