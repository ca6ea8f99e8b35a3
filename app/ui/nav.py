"""Task navigation: what a creator wants to do first, the model id second.

Below the tasks, "More models" lists the models the profile's server serves beyond the
curated seven (`set_more_models`, from `app.client.models.ModelSet`): one row per model, its
name and id, chosen like a task (its key is ``model:<id>``, `MORE_PREFIX`)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QWidget,
)

from app.catalog import MODELS
from app.client.present import TASK_NAMES

SubtitleRole = Qt.ItemDataRole.UserRole + 10
KeyRole = Qt.ItemDataRole.UserRole + 11
HISTORY = "history"
#: the nav key of a model under "More models": MORE_PREFIX + its id
MORE_PREFIX = "model:"
MORE_HEADER = "more-models"
#: marks the rows `set_more_models` owns (they are replaced on each call)
MoreRole = Qt.ItemDataRole.UserRole + 12


def more_key(model_id: str) -> str:
    return MORE_PREFIX + model_id


def model_of_key(key: str | None) -> str | None:
    """The model id of a "More models" row's key, else None."""
    return key[len(MORE_PREFIX):] if key and key.startswith(MORE_PREFIX) else None


@dataclass(frozen=True)
class Task:
    key: str
    name: str
    models: tuple[str, ...]  # model ids; two for a task with tiers (standard, pro)

    def model_for(self, tier: str | None) -> str:
        for mid in self.models:
            if MODELS[mid].tier == tier:
                return mid
        return self.models[0]

    @property
    def tiers(self) -> list[str]:
        return [t for mid in self.models if (t := MODELS[mid].tier)]


def tasks() -> list[Task]:
    out = []
    for key, name in TASK_NAMES.items():
        models = tuple(m.id for m in MODELS.values() if m.task == key)
        if models:
            out.append(Task(key, name, models))
    return out


class _NavDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        fm = option.fontMetrics
        return QSize(160, fm.height() * 2 + 16)

    def paint(self, p: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        p.save()
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, p,
                                option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        fg = option.palette.highlightedText().color() if selected else option.palette.text().color()
        r = option.rect.adjusted(12, 6, -8, -6)
        fm = option.fontMetrics
        bold = QFont(option.font)
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(fg)
        p.drawText(QRect(r.x(), r.y(), r.width(), fm.height()), Qt.AlignmentFlag.AlignLeft,
                   p.fontMetrics().elidedText(index.data(Qt.ItemDataRole.DisplayRole),
                                              Qt.TextElideMode.ElideRight, r.width()))
        sub = index.data(SubtitleRole) or ""
        small = QFont(option.font)
        small.setPointSizeF(option.font.pointSizeF() * 0.85)
        p.setFont(small)
        dim = QColor(fg)
        dim.setAlpha(140)
        p.setPen(dim)
        p.drawText(QRect(r.x(), r.y() + fm.height() + 2, r.width(), fm.height()),
                   Qt.AlignmentFlag.AlignLeft,
                   p.fontMetrics().elidedText(sub, Qt.TextElideMode.ElideRight, r.width()))
        p.restore()


class TaskNav(QListWidget):
    """The left column: one row per task plus History; emits the chosen key."""

    task_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("taskNav")
        self.tasks = {t.key: t for t in tasks()}
        self.setItemDelegate(_NavDelegate(self))
        for t in self.tasks.values():
            item = QListWidgetItem(t.name)
            item.setData(KeyRole, t.key)
            item.setData(SubtitleRole, t.models[0])
            item.setToolTip(MODELS[t.models[0]].task_label)
            self.addItem(item)
        self.addItem(_separator())
        hist = QListWidgetItem("History")
        hist.setData(KeyRole, HISTORY)
        hist.setData(SubtitleRole, "every take, searchable")
        self.addItem(hist)
        self.setMinimumWidth(172)
        self.setMaximumWidth(260)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.currentItemChanged.connect(self._changed)

    def set_more_models(self, models: list[tuple[str, str, str]]) -> None:
        """The "More models" section: (id, name, tooltip) per model, in this order, above
        History; none hides the section. The row chosen stays chosen if still listed."""
        current = self.current_key()
        self.blockSignals(True)  # the rows replaced are not a choice of the user
        try:
            self._replace_more(models)
            found = self.item_for(current) if current is not None else None
            if found is not None:
                self.setCurrentItem(found)
            elif current is not None:
                self.setCurrentRow(-1)  # so that choosing History below is a change
        finally:
            self.blockSignals(False)
        if current is not None and found is None:
            self.choose(HISTORY)  # the model shown is no longer served

    def _replace_more(self, models: list[tuple[str, str, str]]) -> None:
        for i in reversed(range(self.count())):
            if self.item(i).data(MoreRole):
                self.takeItem(i)
        at = self.row(self.item_for(HISTORY)) - 1  # the separator above History
        rows: list[QListWidgetItem] = []
        if models:
            rows.append(_separator())
            head = QListWidgetItem("More models")
            head.setData(KeyRole, None)
            head.setData(SubtitleRole, "served by this profile, from their schemas")
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            head.setData(Qt.ItemDataRole.AccessibleTextRole, "More models")
            f = QFont(self.font())
            f.setItalic(True)
            head.setFont(f)
            rows.append(head)
        for model_id, name, tip in models:
            item = QListWidgetItem(name)
            item.setData(KeyRole, more_key(model_id))
            item.setData(SubtitleRole, model_id)
            item.setToolTip(tip)
            rows.append(item)
        for offset, item in enumerate(rows):
            item.setData(MoreRole, True)
            self.insertItem(at + offset, item)

    def more_models(self) -> list[str]:
        """The ids listed under "More models", in order."""
        return [mid for i in range(self.count())
                if (mid := model_of_key(self.item(i).data(KeyRole))) is not None]

    def set_model_shown(self, task: str, model_id: str) -> None:
        item = self.item_for(task)
        if item is not None:
            item.setData(SubtitleRole, model_id)
            item.setToolTip(MODELS[model_id].task_label)

    def item_for(self, key: str) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(KeyRole) == key:
                return self.item(i)
        return None

    def choose(self, key: str) -> None:
        item = self.item_for(key)
        if item is not None:
            self.setCurrentItem(item)

    def current_key(self) -> str | None:
        item = self.currentItem()
        return item.data(KeyRole) if item is not None else None

    def _changed(self, item: QListWidgetItem | None, _prev: QListWidgetItem | None) -> None:
        if item is not None and item.data(KeyRole):
            self.task_chosen.emit(item.data(KeyRole))


def _separator() -> QListWidgetItem:
    sep = QListWidgetItem("")
    sep.setFlags(Qt.ItemFlag.NoItemFlags)
    sep.setSizeHint(QSize(10, 10))
    return sep


class TierSwitch(QWidget):
    """A two-way switch (standard | pro) for tasks that come in tiers."""

    tier_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        for tier, label, tip in (("standard", "Standard", "Draft quality, flat 84 cr"),
                                 ("pro", "Pro", "Final quality, billed per second")):
            b = QToolButton(self)
            b.setText(label)
            b.setToolTip(tip)
            b.setCheckable(True)
            b.setObjectName(f"tier_{tier}")
            self.group.addButton(b)
            self.buttons[tier] = b
            lay.addWidget(b)
            b.toggled.connect(lambda on, t=tier: on and self.tier_changed.emit(t))
        self.buttons["standard"].setChecked(True)

    def tier(self) -> str:
        return next((t for t, b in self.buttons.items() if b.isChecked()), "standard")

    def set_tier(self, tier: str) -> None:
        if tier in self.buttons:
            self.buttons[tier].setChecked(True)
