"""References reordered inside their drop zone, in a real form shown offscreen: a real mouse
drag (QTest press, moves past the drag distance, release between two items; the marker on
screen while it moves; Esc cancels), Alt+Up / Ctrl+Shift+Down on an item's button, the move
buttons and a removal — and the prompts' mentions follow them in one simultaneous pass (a swap
does not collapse), one Ctrl+Z in the prompt puts the text back, a removed reference's
mentions are left pointing at nothing (said under the field), an undone removal brings them
back. Element cards reordered renumber @Element mentions in the multi-shot prompts too.

The drag is the editor's own (mouse press/move/release on the item, no QDrag): it never goes
through the drop events, so an internal drag cannot add a copy, and a drop from outside (real
drag events with file URLs) still adds at the end."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from qtinput import drag_and_drop, file_mime

from app.forms.form import ModelForm
from app.forms.media import MediaEditor, MediaItem
from app.forms.prompt import PromptEditor

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier


def shown(form_factory, qtbot, model_id: str) -> ModelForm:  # type: ignore[no-untyped-def]
    form = form_factory(model_id)
    form.show()
    qtbot.waitExposed(form)
    form.activateWindow()  # shortcuts (Alt+Up…) reach only the active window
    qtbot.waitUntil(form.isActiveWindow, timeout=5000)
    return form


def drop(editor: MediaEditor, *paths) -> None:  # type: ignore[no-untyped-def]
    entered, dropped = drag_and_drop(editor.drop_zone, file_mime(*paths))
    assert entered and dropped


def names(editor: MediaEditor) -> list[str]:
    return [i.name.text() for i in editor.items]


def laid_out(editor: MediaEditor) -> MediaEditor:
    """The editor once its items are on screen in their places: items (re)made by a drop or a
    reorder are shown and placed by posted events (a layout request), and a pointer aimed by
    their geometry before that aims at nothing (every item still at y 0), a shortcut of a
    hidden item never fires. What a user, who sees them, never meets."""
    def placed() -> bool:
        tops = [i.geometry().top() for i in editor.items]
        return all(i.isVisible() for i in editor.items) and \
            all(a < b for a, b in itertools.pairwise(tops))
    for _ in range(200):
        if placed():
            return editor
        QApplication.processEvents()
        QTest.qWait(5)
    raise AssertionError("the items were never laid out")


def drag(editor: MediaEditor, item: MediaItem, to_y: int, release: bool = True) -> None:
    """A real drag with the mouse: pressed on the item's name label (the press reaches the
    item as a click on the label would), moved past the drag distance in small steps, to
    `to_y` in the editor's coordinates, released there."""
    label = item.name
    start = label.rect().center()
    QTest.mousePress(label, LEFT, NOMOD, start)
    step = QApplication.startDragDistance() + 2
    QTest.mouseMove(label, start + QPoint(0, step))
    target = label.mapFrom(editor, QPoint(editor.width() // 2, to_y))
    QTest.mouseMove(label, QPoint(start.x(), (start.y() + step + target.y()) // 2))
    QTest.mouseMove(label, QPoint(start.x(), target.y()))
    if release:
        QTest.mouseRelease(label, LEFT, NOMOD, QPoint(start.x(), target.y()))


def below(editor: MediaEditor, i: int) -> int:
    """A y just below the middle of item i (the slot after it)."""
    g = laid_out(editor).items[i].geometry()
    return g.center().y() + g.height() // 4


def above(editor: MediaEditor, i: int) -> int:
    """A y just above the middle of item i (the slot before it)."""
    g = laid_out(editor).items[i].geometry()
    return g.center().y() - g.height() // 4


def test_a_real_drag_reorders_and_the_prompt_follows(qtbot, form_factory, media):
    form = shown(form_factory, qtbot, "seedance_r2v")
    images = form.editor("image_urls")
    assert isinstance(images, MediaEditor)
    drop(images, media.png, media.jpg, media.small)
    assert names(images) == ["portrait.png", "wide.jpg", "tiny.png"]
    prompt = form.editor("prompt")
    assert isinstance(prompt, PromptEditor)
    text = ("@Image1 walks toward @Image2, past @Image3 (@Image1@Image2); @Video1 stays; "
            "@Image10 and @image2 are not mentions of these")
    QTest.keyClicks(prompt.edit, "x")  # typed, so Ctrl+Z has something before the remap
    prompt.set_value(text)
    form.revalidate()
    assert prompt.dangling() == ["@Video1", "@Image10"]

    # a press and a move shorter than the drag distance: not a drag
    label = images.items[0].name
    QTest.mousePress(label, LEFT, NOMOD, label.rect().center())
    QTest.mouseMove(label, label.rect().center() + QPoint(0, 1))
    assert images.dragging is None
    QTest.mouseRelease(label, LEFT, NOMOD, label.rect().center())

    # drag portrait.png (@Image1) below wide.jpg: the marker shows the slot while it moves
    drag(images, images.items[0], below(images, 1), release=False)
    assert images.dragging is images.items[0] and images.drop_slot == 2
    marker = images.drop_marker
    assert marker.isVisible()
    between = (images.items[1].geometry().bottom() + images.items[2].geometry().top()) / 2
    assert abs(marker.geometry().center().y() - between) <= 3
    assert images.items[0].property("dragging") is True
    QTest.mouseRelease(images.items[0].name, LEFT, NOMOD, QPoint(5, 5))
    assert not marker.isVisible() and images.dragging is None
    assert names(images) == ["wide.jpg", "portrait.png", "tiny.png"]
    assert [i.tag.text() for i in images.items] == ["@Image1", "@Image2", "@Image3"]
    assert form.payload()["image_urls"] == [str(media.jpg), str(media.png), str(media.small)]
    swapped = ("@Image2 walks toward @Image1, past @Image3 (@Image2@Image1); @Video1 stays; "
               "@Image10 and @image2 are not mentions of these")
    assert prompt.value() == swapped
    assert form.payload()["prompt"] == swapped

    # one Ctrl+Z in the prompt puts the text back in one step
    prompt.edit.setFocus()
    QTest.keyClick(prompt.edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert prompt.value() == text
    QTest.keyClick(prompt.edit, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert prompt.value() == swapped

    # Esc during a drag: nothing moves, the marker goes
    drag(images, images.items[2], above(images, 0), release=False)
    assert images.drop_slot == 0 and marker.isVisible()
    QTest.keyClick(images.items[2], Qt.Key.Key_Escape)
    assert images.dragging is None and not marker.isVisible()
    QTest.mouseRelease(images.items[2].name, LEFT, NOMOD, QPoint(5, 5))
    assert names(images) == ["wide.jpg", "portrait.png", "tiny.png"]
    assert prompt.value() == swapped

    # dropped where it already is (just below itself): nothing moves, nothing renumbered
    drag(images, images.items[1], above(images, 2) + 1, release=False)
    assert images.drop_slot is None and not marker.isVisible()
    QTest.mouseRelease(images.items[1].name, LEFT, NOMOD, QPoint(5, 5))
    assert names(images) == ["wide.jpg", "portrait.png", "tiny.png"]

    # a 3-cycle: tiny.png (@Image3) dragged to the top
    drag(images, images.items[2], above(images, 0))
    assert names(images) == ["tiny.png", "wide.jpg", "portrait.png"]
    assert prompt.value().startswith("@Image3 walks toward @Image2, past @Image1 "
                                     "(@Image3@Image2)")

    # the keyboard: Alt+Up on the focused item's button, Ctrl+Shift+Down back; focus stays
    laid_out(images)
    button = images.items[2].down if images.items[2].down.isEnabled() else images.items[2].remove
    button.setFocus()
    QTest.keyClick(button, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert names(images) == ["tiny.png", "portrait.png", "wide.jpg"]
    laid_out(images)
    focused = QApplication.focusWidget()
    assert focused is not None and images.items[1].isAncestorOf(focused)
    QTest.keyClick(focused, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert names(images) == ["tiny.png", "wide.jpg", "portrait.png"]
    after_keys = prompt.value()
    assert after_keys.startswith("@Image3 walks toward @Image2, past @Image1")

    # an outside drop still adds at the end (never a copy of a dragged one)
    drop(images, media.video)  # a video in an image field: refused, nothing changes
    assert len(images.items) == 3
    assert prompt.value() == after_keys

    # a removal: wide.jpg (@Image2) goes; tiny's mentions stay @Image1, portrait's (@Image3)
    # follow it to @Image2; wide's are not moved onto portrait: they dangle at @Image0
    laid_out(images)
    QTest.mouseClick(images.items[1].remove, LEFT)
    assert names(images) == ["tiny.png", "portrait.png"]
    got = prompt.value()
    assert got.startswith("@Image2 walks toward @Image0, past @Image1 (@Image2@Image0)"), got
    form.revalidate()
    assert "@Image0" in prompt.dangling()
    note = images.refused.text()
    assert "@Image2 now points at nothing" in note and "wide.jpg was removed" in note
    assert "@Image0" in form.issue_label("prompt").text() and not form.is_submittable()
    # Edit → Undo removal: wide.jpg back in its slot, its mentions back to it
    assert form.undo_remove_reference() is True
    assert names(images) == ["tiny.png", "wide.jpg", "portrait.png"]
    assert prompt.value() == after_keys
    assert images.refused.isHidden()
    # the last one removed: its number points at nothing now and is left as written
    laid_out(images)
    QTest.mouseClick(images.items[2].remove, LEFT)
    assert prompt.value().startswith("@Image3 walks toward @Image2, past @Image1")
    form.revalidate()
    assert "@Image3" in prompt.dangling()
    assert "@Image3 now points at nothing" in images.refused.text()


def test_element_cards_reordered_renumber_the_shots_prompts(qtbot, form_factory, media):
    form = shown(form_factory, qtbot, "kling_v3_std_i2v")
    elements = form.editor("elements")
    for _ in range(3):
        QTest.mouseClick(elements.add_images, LEFT)
    for card, path in zip(elements.cards, (media.png, media.jpg, media.png), strict=True):
        drop(card.fields.editors["frontal_image_url"], path)
    form.set_mode("multi_prompt")
    shots = form.editor("multi_prompt")
    while len(shots.cards) < 2:  # the shots list starts with one shot
        QTest.mouseClick(shots.add_button, LEFT)
    first, second = (c.fields.editors["prompt"] for c in shots.cards)
    first.set_value("@Element1 greets @Element2")
    second.set_value("@Element2 leaves; @Element3 waves")
    single = form.editor("prompt")
    single.set_value("@Element1 and @Element2 (the single prompt follows too)")
    QTest.mouseClick(elements.cards[1].up, LEFT)  # card 2 ↔ card 1
    assert [c.tag.text() for c in elements.cards] == ["@Element1", "@Element2", "@Element3"]
    assert form.payload()["elements"][0]["frontal_image_url"] == str(media.jpg)
    assert first.value() == "@Element2 greets @Element1"
    assert second.value() == "@Element1 leaves; @Element3 waves"
    assert single.value() == "@Element2 and @Element1 (the single prompt follows too)"
    # a card removed: the first; the others move up, its own mentions dangle at @Element0
    QTest.mouseClick(elements.cards[0].remove, LEFT)
    assert first.value() == "@Element1 greets @Element0"
    assert second.value() == "@Element0 leaves; @Element2 waves"
    assert form.undo_remove_reference() is True
    assert first.value() == "@Element2 greets @Element1"
    assert second.value() == "@Element1 leaves; @Element3 waves"
