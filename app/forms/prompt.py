"""The prompt editor: multi-line, a live character count, '@' completion, mention highlighting,
and mentions that follow their references (a reorder or a removal in a media field or the
elements renumbers them in every prompt of the form, one undo step each)."""

from __future__ import annotations

import re
import weakref
from typing import Any

from PySide6.QtCore import QSignalBlocker, QStringListModel, Qt
from PySide6.QtGui import (
    QKeyEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.catalog.mentions import Renumbering, dangling_mentions, mention_edits, utf16_offsets
from app.catalog.specs import FieldSpec
from app.catalog.validate import mentions
from app.forms.base import OMIT, Editor, EditorContext, FormState
from app.ui.palette import qcolor, tint

_TYPING_MENTION = re.compile(r"@(\w*)$")
#: the prompt editors of each form, by the editor context they share (its shots' too)
_PROMPTS: weakref.WeakKeyDictionary[EditorContext, weakref.WeakSet[PromptEditor]] = \
    weakref.WeakKeyDictionary()


def tag_list(tags: dict[str, int] | Any, prefixes: tuple[str, ...]) -> list[str]:
    """['@Image1', '@Image2', '@Video1'] in prefix order."""
    return [f"@{p}{i}" for p in prefixes for i in range(1, int(tags.get(p, 0)) + 1)]


class MentionHighlighter(QSyntaxHighlighter):
    """Known mentions in the accent colour; a mention of a tag that does not exist gets a red
    wavy underline."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.known: set[str] = set()
        self.good = QTextCharFormat()
        self.good.setForeground(qcolor("accent"))
        self.good.setBackground(qcolor("accent_soft"))
        self.good.setFontWeight(600)
        self.bad = QTextCharFormat()
        self.bad.setForeground(qcolor("error"))
        self.bad.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        self.bad.setUnderlineColor(qcolor("error"))

    def set_known(self, known: set[str]) -> None:
        if known != self.known:
            self.known = known
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for prefix, n, start, end in mentions(text):
            fmt = self.good if f"@{prefix}{n}" in self.known else self.bad
            self.setFormat(start, end - start, fmt)


class MentionTextEdit(QPlainTextEdit):
    """A plain text editor that offers the existing tags after '@'."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self.insert_completion)
        # the model's recent prompts: offered as the first words are typed (or with Down in an
        # empty prompt, or Ctrl+Space); choosing one replaces the text
        self.recent_model = QStringListModel(self)
        self.recent = QCompleter(self.recent_model, self)
        self.recent.setWidget(self)
        self.recent.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.recent.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.recent.setMaxVisibleItems(8)
        self.recent.activated.connect(self.use_recent)
        self.setTabChangesFocus(True)

    def set_recent(self, prompts: list[str]) -> None:
        if self.recent_model.stringList() != prompts:
            self.recent_model.setStringList(prompts)

    def use_recent(self, prompt: str) -> None:
        """The chosen recent prompt replaces the text (one undo step)."""
        cursor = self.textCursor()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(prompt)
        self.setTextCursor(cursor)

    def show_recent(self, prefix: str = "") -> bool:
        """The recent prompts starting with `prefix` in a popup; False when there are none."""
        if not self.recent_model.stringList():
            return False
        self.recent.setCompletionPrefix(prefix)
        if self.recent.completionCount() == 0 or (
                self.recent.completionCount() == 1 and self.recent.currentCompletion() == prefix):
            self.recent.popup().hide()
            return False
        popup = self.recent.popup()
        popup.setCurrentIndex(self.recent.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(max(self.viewport().width() // 2, 240))
        self.recent.complete(rect)
        return True

    def set_tags(self, tags: list[str]) -> None:
        if self.model.stringList() != tags:
            self.model.setStringList(tags)

    def typed_mention(self) -> str | None:
        """The '@…' being typed just before the cursor, if any."""
        cursor = self.textCursor()
        block = cursor.block().text()[: cursor.positionInBlock()]
        m = _TYPING_MENTION.search(block)
        return m.group(0) if m else None

    def insert_completion(self, tag: str) -> None:
        typed = self.typed_mention() or ""
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor,
                            len(typed))
        cursor.insertText(tag + " ")
        self.setTextCursor(cursor)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        keys = (Qt.Key.Key_Enter, Qt.Key.Key_Return, Qt.Key.Key_Tab, Qt.Key.Key_Escape)
        for completer in (self.completer, self.recent):
            if completer.popup().isVisible() and event.key() in keys:
                event.ignore()  # the completer's popup handles these
                return
        ctrl_space = event.key() == Qt.Key.Key_Space and \
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        asks = ctrl_space or (event.key() == Qt.Key.Key_Down and not self.toPlainText())
        if asks and self.show_recent(self.toPlainText()):
            return
        super().keyPressEvent(event)
        self.update_completer()
        text = self.toPlainText()
        if self.typed_mention() is None and len(text) >= 3 and event.text().isprintable() \
                and event.text():
            self.show_recent(text)
        elif self.recent.popup().isVisible() and not text.strip():
            self.recent.popup().hide()

    def update_completer(self) -> None:
        typed = self.typed_mention()
        popup = self.completer.popup()
        if typed is None or not self.model.stringList():
            popup.hide()
            return
        self.completer.setCompletionPrefix(typed)
        if self.completer.completionCount() == 0:
            popup.hide()
            return
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width()
                      + 12)
        self.completer.complete(rect)


class PromptEditor(Editor):
    """A prompt: multi-line, counts characters against maxLength, knows the model's tags."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None, lines: int = 5) -> None:
        super().__init__(spec, ctx, path, parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.edit = MentionTextEdit(self)
        self.edit.setAccessibleName(spec.title)
        self.edit.setToolTip(self.toolTip())
        self.edit.setPlaceholderText(_placeholder(spec))
        line_h = self.edit.fontMetrics().lineSpacing()
        self.edit.setMinimumHeight(line_h * lines + 14)
        self.edit.setMaximumHeight(line_h * max(lines * 2, 8) + 14)
        self.highlighter = MentionHighlighter(self.edit.document())
        foot = QHBoxLayout()
        foot.setContentsMargins(0, 0, 0, 0)
        self.tags_hint = QLabel(self)
        tint(self.tags_hint, "muted", px=11)
        self.count = QLabel(self)
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight)
        foot.addWidget(self.tags_hint, 1)
        foot.addWidget(self.count)
        layout.addWidget(self.edit)
        layout.addLayout(foot)
        self.main = self.edit
        self.edit.textChanged.connect(self._on_text)
        _PROMPTS.setdefault(ctx, weakref.WeakSet()).add(self)
        self.reset()

    def renumber(self, prefix: str, mapping: Renumbering) -> list[str]:
        """Renumber this prompt's mentions of `prefix` (app.catalog.mentions) as one undo step
        (Ctrl+Z puts the text back); returns the mentions, as written before, whose reference
        was removed."""
        text = self.edit.toPlainText()
        gone = dangling_mentions(text, prefix, mapping)
        edits = mention_edits(text, prefix, mapping)
        if not edits:
            return gone
        at = utf16_offsets(text, [i for start, end, _ in edits for i in (start, end)])
        cursor = QTextCursor(self.edit.document())
        cursor.beginEditBlock()
        for k in range(len(edits) - 1, -1, -1):  # from the end: earlier offsets stay right
            cursor.setPosition(at[2 * k])
            cursor.setPosition(at[2 * k + 1], QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(edits[k][2])
        cursor.endEditBlock()
        return gone

    def set_recent(self, prompts: list[str]) -> None:
        """The model's recent prompts, offered as the prompt is typed."""
        self.edit.set_recent(prompts)

    def value(self) -> Any:
        text = self.edit.toPlainText()
        if not text and self.spec.nullable:
            return OMIT
        return text

    def set_value(self, value: Any) -> None:
        text = "" if value is OMIT or value is None else str(value)
        if text != self.edit.toPlainText():
            with QSignalBlocker(self.edit):
                self.edit.setPlainText(text)
        self._update_count()

    def refresh(self, state: FormState) -> None:
        tags = tag_list(state.tags, state.prefixes)
        self.edit.set_tags(tags)
        self.highlighter.set_known(set(tags))
        self.tags_hint.setText(("Type @ for " + ", ".join(tags[:6]) +
                                (" …" if len(tags) > 6 else "")) if tags else "")

    def dangling(self) -> list[str]:
        """The mentions in the text that point at no existing tag."""
        text = self.edit.toPlainText()
        return [f"@{p}{n}" for p, n, _, _ in mentions(text)
                if f"@{p}{n}" not in self.highlighter.known]

    def _on_text(self) -> None:
        self._update_count()
        self.emit_changed(False)

    def _update_count(self) -> None:
        n = len(self.edit.toPlainText())
        top = self.spec.max_length
        over = top is not None and n > top
        self.count.setText(f"{n:,} / {top:,}" if top else f"{n:,} characters")
        tint(self.count, "error" if over else "muted", px=11)


def prompt_editors(ctx: EditorContext) -> list[PromptEditor]:
    """The live prompt editors of the form whose editors share `ctx`."""
    import shiboken6

    return [p for p in list(_PROMPTS.get(ctx, ())) if shiboken6.isValid(p)]


def follow_mentions(ctx: EditorContext, prefix: str, mapping: Renumbering) -> list[str]:
    """After a reorder or a removal of the references tagged `@<prefix>N`: every prompt of
    the form renumbered; returns the mentions (as written before) that now point at
    nothing, once each."""
    gone: dict[str, None] = {}
    if not prefix or all(old == new for old, new in mapping.items()):
        return []
    for editor in prompt_editors(ctx):
        gone.update(dict.fromkeys(editor.renumber(prefix, mapping)))
    return list(gone)


def _placeholder(spec: FieldSpec) -> str:
    if spec.mention or "@" in spec.description:
        return spec.title + " (type @ to mention a reference)"
    return spec.title
