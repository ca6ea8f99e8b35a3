"""No missing-glyph boxes: every character of every label and button of every model's form
(cards, shots and media items included) and of the preview is in the font it is drawn with —
the only fonts scripts/install-deps installs are DejaVu's, which have no emoji."""

from __future__ import annotations

import mediafactory as mf
import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QWidget

from app.catalog import MODELS
from app.forms.cards import CardListEditor
from app.forms.elements import ElementsEditor
from app.forms.form import ModelForm
from app.forms.media import MediaEditor, MediaItem
from app.forms.shots import ShotsEditor
from app.ui.preview import PreviewWidget


def missing_glyphs(root: QWidget) -> list[str]:
    """'<widget> "text": U+XXXX' for each character its font cannot draw."""
    out: list[str] = []
    texts: list[tuple[QWidget, str]] = []
    for w in root.findChildren(QLabel) + root.findChildren(QAbstractButton):
        texts.append((w, w.text()))
        texts.append((w, w.toolTip()))
    for combo in root.findChildren(QComboBox):
        texts += [(combo, combo.itemText(i)) for i in range(combo.count())]
    for w, text in texts:
        fm = QFontMetrics(w.font())
        for ch in dict.fromkeys(text):
            if ch.isspace() or ord(ch) < 32:
                continue
            if not fm.inFontUcs4(ord(ch)):
                out.append(f"{type(w).__name__}#{w.objectName()} {text!r}: U+{ord(ch):04X}")
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("glyphs")
    return {"image": mf.image(d / "p.png", 640, 640),
            "video": mf.video(d / "v.mp4", 320, 240, seconds=1.0),
            "audio": mf.audio(d / "a.wav", seconds=1.0)}


def fill(form: ModelForm, files) -> None:  # type: ignore[no-untyped-def]
    """Every list of cards gets its kinds of card, every media field a file (its item shows
    the placeholder, the buttons and the facts)."""
    for editor in list(form.editors.values()):
        if isinstance(editor, ElementsEditor):
            editor.add_kind("images")
            if editor.add_video is not None:
                editor.add_kind("video")
        elif isinstance(editor, ShotsEditor):
            form.set_mode(editor.spec.name)
            editor.add()
        elif isinstance(editor, CardListEditor):
            editor.add()
    for media in form.findChildren(MediaEditor):
        media.add_values([str(files[media.rule.kind])])


@pytest.mark.parametrize("model_id", list(MODELS))
def test_every_form_text_is_in_the_installed_font(qtbot, form_factory, files, model_id):
    form = form_factory(model_id)
    fill(form, files)
    items = form.findChildren(MediaItem)
    assert items, "the form has media items to check"
    for item in items:  # the placeholder is an icon, not a pictograph character
        assert item.thumb.text() == "" and item.thumb.pixmap() is not None
        assert not item.thumb.pixmap().isNull()
    assert missing_glyphs(form) == []


def test_the_preview_text_is_in_the_installed_font(qtbot):
    w = PreviewWidget()
    qtbot.addWidget(w)
    assert missing_glyphs(w) == []
    # icons, named for screen readers
    for b in (w.play_btn, w.back_btn, w.fwd_btn, w.loop_btn, w.mute_btn):
        assert b.text() == "" and not b.icon().isNull() and b.accessibleName()


def test_the_check_finds_an_emoji(qtbot):
    """The check itself: a pictograph DejaVu lacks is reported."""
    holder = QWidget()
    qtbot.addWidget(holder)
    QLabel("\N{FRAME WITH PICTURE} image", holder)
    assert any("U+1F5BC" in m for m in missing_glyphs(holder))
