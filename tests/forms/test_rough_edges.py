"""Rough edges a newcomer met in the forms, each driven with real input (Qt key and mouse
events, real drags of real media files): the Swap keyframe range, Target fps unset, the
Upscale factor slider and the keyboard, the × buttons of references and Tab, Undo removal of a
reference, and the folder Browse… opens in."""

from __future__ import annotations

import os
from types import SimpleNamespace

import mediafactory as mf
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget
from qtinput import drag_and_drop, file_mime

from app.client.settings import UiSettings
from app.forms import folders
from app.forms.form import ModelForm
from app.forms.media import MediaEditor


def focus_of() -> QWidget | None:
    return QApplication.focusWidget()


def key(k: Qt.Key, mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key press where the keyboard is (the focused widget), as a user's would go."""
    target = focus_of()
    assert target is not None, "nothing has the keyboard focus"
    QTest.keyClick(target, k, mods)


def drop(editor: MediaEditor, *paths) -> None:  # type: ignore[no-untyped-def]
    entered, dropped = drag_and_drop(editor.drop_zone, file_mime(*paths))
    assert entered and dropped


def shown_form(form_factory, qtbot, model_id: str) -> ModelForm:  # type: ignore[no-untyped-def]
    form = form_factory(model_id)
    form.show()
    qtbot.waitExposed(form)
    form.activateWindow()
    qtbot.waitUntil(form.isActiveWindow, timeout=5000)
    return form


# ---- 1. Swap: the keyframe slider follows a shorter clip ------------------------------------

def test_swap_keyframe_range_follows_a_shorter_clip(qtbot, form_factory, media, wait_probed):
    form = shown_form(form_factory, qtbot, "pixverse_swap")
    video = form.editor("video_url")
    keyframe = form.editor("keyframe_id")
    drop(video, media.hd)  # 3.5 s → frames 1–84
    wait_probed(form)
    assert keyframe.slider.maximum() == 84
    keyframe.slider.bar.setFocus(Qt.FocusReason.TabFocusReason)
    key(Qt.Key.Key_End)
    assert form.payload()["keyframe_id"] == 84

    drop(video, media.video)  # a shorter clip replaces it: 2.0 s → frames 1–48
    wait_probed(form)
    assert form.payload()["video_url"] == str(media.video)
    assert keyframe.slider.maximum() == 48  # not the old clip's 84
    assert keyframe.slider.value() == 48 and form.payload()["keyframe_id"] == 48
    assert "Keyframe 84 was past this clip's last frame: moved to 48" in keyframe.note.text()
    assert "keyframe_id" not in {i.field for i in form.report().errors}
    assert form.issue_label("keyframe_id").isHidden()
    keyframe.slider.bar.setFocus(Qt.FocusReason.TabFocusReason)
    key(Qt.Key.Key_End)
    assert form.payload()["keyframe_id"] == 48  # the end is the new clip's last frame
    key(Qt.Key.Key_Left)
    assert form.payload()["keyframe_id"] == 47
    assert "moved to" not in keyframe.note.text()  # said once, gone after the next choice

    drop(video, media.hd)  # the longer clip again: the range grows, the choice stays
    wait_probed(form)
    assert keyframe.slider.maximum() == 84 and form.payload()["keyframe_id"] == 47

    keyframe.slider.bar.setFocus(Qt.FocusReason.TabFocusReason)
    key(Qt.Key.Key_End)  # 84, then a shorter clip moves it again…
    drop(video, media.video)
    wait_probed(form)
    assert "moved to 48" in keyframe.note.text()
    QTest.mouseClick(video.items[0].remove, Qt.MouseButton.LeftButton)  # …the clip removed:
    assert keyframe.slider.maximum() == keyframe.UNKNOWN_MAX  # the range without a source,
    assert keyframe.note.text() == keyframe.NO_SOURCE and form.payload()["keyframe_id"] == 48
    drop(video, media.hd)
    wait_probed(form)
    assert keyframe.note.text() == "1 – 84: the source is 3.50 s × 24 fps"  # no stale word


# ---- 4. Target fps: unset is "as the source", never a silent 16 ----------------------------

def test_target_fps_unset_means_as_the_source(qtbot, form_factory, tmp_path, wait_probed):
    clip = mf.video(tmp_path / "thirty.mp4", 320, 240, seconds=1.0, fps=30)
    form = shown_form(form_factory, qtbot, "topaz_upscale_video")
    fps = form.editor("target_fps")
    assert fps.unset is not None and fps.unset.text() == "As the source"
    drop(form.editor("video_url"), clip)
    wait_probed(form)
    assert "target_fps" not in form.payload()
    assert fps.unset_text.isVisibleTo(form)
    assert fps.unset_text.text() == ("not sent: no interpolation, the result keeps the "
                                     "source's frame rate (30 fps)")

    fps.unset.setFocus(Qt.FocusReason.TabFocusReason)
    key(Qt.Key.Key_Space)  # untick "As the source": a rate is chosen, starting at the source's
    assert not fps.unset.isChecked()
    assert form.payload()["target_fps"] == 30
    assert fps.note.isHidden()

    fps.slider.bar.setFocus(Qt.FocusReason.TabFocusReason)
    key(Qt.Key.Key_Home)  # a deliberate 16 is allowed, and said
    assert form.payload()["target_fps"] == 16
    assert fps.note.text() == "Below the source's 30 fps: frames are dropped, not added."
    key(Qt.Key.Key_End)
    assert form.payload()["target_fps"] == 60 and fps.note.isHidden()

    fps.unset.setFocus(Qt.FocusReason.TabFocusReason)
    key(Qt.Key.Key_Space)  # ticked again: not sent at all
    assert fps.unset.isChecked() and "target_fps" not in form.payload()


# ---- 6. Upscale factor: the keyboard moves it ---------------------------------------------

def test_upscale_factor_slider_takes_the_keyboard(qtbot, form_factory):
    form = shown_form(form_factory, qtbot, "topaz_upscale_video")
    factor = form.editor("upscale_factor")
    form.editor("model").combo.setFocus(Qt.FocusReason.TabFocusReason)
    for _ in range(6):  # Tab from the model dropdown reaches the factor's slider
        if focus_of() is factor.slider.bar:
            break
        key(Qt.Key.Key_Tab)
    assert focus_of() is factor.slider.bar
    assert form.payload()["upscale_factor"] == 2.0
    ring = factor.slider.bar.grab().toImage()  # the focused bar shows it
    factor.slider.box.setFocus(Qt.FocusReason.TabFocusReason)
    assert factor.slider.bar.grab().toImage() != ring
    factor.slider.bar.setFocus(Qt.FocusReason.BacktabFocusReason)
    steps = [(Qt.Key.Key_Right, 2.5), (Qt.Key.Key_Left, 2.0), (Qt.Key.Key_Up, 2.5),
             (Qt.Key.Key_PageDown, 1.0), (Qt.Key.Key_PageUp, 3.5), (Qt.Key.Key_End, 4.0),
             (Qt.Key.Key_Home, 1.0)]
    for k, expected in steps:
        key(k)
        assert form.payload()["upscale_factor"] == expected, (k, expected)
        assert factor.slider.box.value() == expected  # the exact-value box follows
    key(Qt.Key.Key_Tab)  # then the exact-value box: typed digits apply on Enter
    assert focus_of() is factor.slider.box
    QTest.keyClick(factor.slider.box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(factor.slider.box, "3.5")
    key(Qt.Key.Key_Return)
    assert form.payload()["upscale_factor"] == 3.5


# ---- 7. The × of a reference: Tab reaches it, a ring shows it, Space/Enter press it ------

def test_remove_buttons_reachable_with_tab_and_pressed_with_keys(qtbot, form_factory, media):
    form = shown_form(form_factory, qtbot, "seedance_r2v")
    images = form.editor("image_urls")
    drop(images, media.png, media.jpg)
    first, second = images.items
    qtbot.waitUntil(second.remove.isVisible, timeout=2000)  # shown by the layout
    form.editor("prompt").edit.setFocus(Qt.FocusReason.TabFocusReason)
    seen: list[QWidget | None] = []
    for _ in range(12):
        key(Qt.Key.Key_Tab)
        seen.append(focus_of())
        if focus_of() is images.drop_zone.paste:
            break
    # Tab goes through the items' buttons top to bottom, then to the paste box
    assert seen == [first.down, first.remove, second.up, second.remove,
                    images.drop_zone.paste], [w.objectName() if w else None for w in seen]
    key(Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert focus_of() is second.remove  # Shift+Tab back

    # a visible focus ring: the focused × does not look like the unfocused one
    focused = second.remove.grab().toImage()
    first.remove.setFocus(Qt.FocusReason.TabFocusReason)
    unfocused = second.remove.grab().toImage()
    assert focused != unfocused

    key(Qt.Key.Key_Return)  # Enter removes the focused item…
    assert images.values == [str(media.jpg)]
    assert focus_of() is images.items[0].remove  # …and the keyboard stays on the list
    key(Qt.Key.Key_Space)  # Space removes too
    assert images.values == []
    assert focus_of() is images.drop_zone.paste
    assert "image_urls" not in form.payload()


# ---- 8. Undo removal of a reference ---------------------------------------------------------

def test_undo_puts_removed_references_back_in_their_slots(qtbot, form_factory, media):
    form = shown_form(form_factory, qtbot, "seedance_r2v")
    changes: list[bool] = []
    form.undo_changed.connect(changes.append)
    assert not form.can_undo_remove_reference()
    assert form.undo_remove_reference() is False  # nothing to undo
    images = form.editor("image_urls")
    drop(images, media.png, media.jpg, media.small)
    order = [str(media.png), str(media.jpg), str(media.small)]
    QTest.mouseClick(images.items[1].remove, Qt.MouseButton.LeftButton)  # the middle one
    assert images.values == [order[0], order[2]]
    assert form.can_undo_remove_reference() and changes == [True]
    assert form.undo_text() == "Undo removal of wide.jpg from Reference images" or \
        form.undo_text().startswith("Undo removal of wide.jpg from ")
    QTest.mouseClick(images.items[0].remove, Qt.MouseButton.LeftButton)
    assert images.values == [order[2]]

    assert form.undo_remove_reference() is True  # the last removal first
    assert images.values == [order[0], order[2]]
    assert form.undo_remove_reference() is True
    assert images.values == order  # back in its own slot, tags as before
    assert [i.tag.text() for i in images.items] == ["@Image1", "@Image2", "@Image3"]
    assert form.payload()["image_urls"] == order
    assert not form.can_undo_remove_reference() and changes == [True, False]
    assert form.undo_remove_reference() is False


def test_undo_brings_back_an_element_card_and_a_file_inside_one(qtbot, form_factory, media):
    form = shown_form(form_factory, qtbot, "kling_v3_std_i2v")
    elements = form.editor("elements")
    QTest.mouseClick(elements.add_images, Qt.MouseButton.LeftButton)
    QTest.mouseClick(elements.add_images, Qt.MouseButton.LeftButton)
    card = elements.cards[0]
    drop(card.fields.editors["frontal_image_url"], media.png)
    refs = card.fields.editors["reference_image_urls"]
    drop(refs, media.jpg)
    QTest.mouseClick(refs.items[0].remove, Qt.MouseButton.LeftButton)
    assert "reference_image_urls" not in form.payload()["elements"][0]
    QTest.mouseClick(card.remove, Qt.MouseButton.LeftButton)  # the whole first element
    assert len(elements.cards) == 1
    assert form.undo_remove_reference() is True  # the element comes back first, in slot 1
    assert len(elements.cards) == 2
    assert form.payload()["elements"][0] == {"frontal_image_url": str(media.png)}
    assert [c.tag.text() for c in elements.cards] == ["@Element1", "@Element2"]
    # the reference removed inside the card that was removed and came back: its editor is a
    # new one, so that removal cannot be undone any more, and Undo says so
    assert form.undo_remove_reference() is False
    assert not form.can_undo_remove_reference()


def test_loading_another_take_forgets_the_removals(qtbot, form_factory, media):
    form = shown_form(form_factory, qtbot, "seedance_r2v")
    images = form.editor("image_urls")
    drop(images, media.png)
    QTest.mouseClick(images.items[0].remove, Qt.MouseButton.LeftButton)
    assert form.can_undo_remove_reference()
    changes: list[bool] = []
    form.undo_changed.connect(changes.append)
    form.set_payload({"prompt": "another take", "out": "x.mp4"})
    assert not form.can_undo_remove_reference() and changes == [False]


# ---- 5. Browse… opens in the last folder used, per kind -----------------------------------

@pytest.fixture
def no_folders():
    folders.FOLDERS.reset()
    yield folders.FOLDERS
    folders.FOLDERS.reset()


def _browse(qtbot, editor: MediaEditor) -> QFileDialog:  # type: ignore[no-untyped-def]
    before = set(editor.findChildren(QFileDialog))
    QTest.mouseClick(editor.drop_zone.browse, Qt.MouseButton.LeftButton)
    opened = [d for d in editor.findChildren(QFileDialog) if d not in before]
    assert len(opened) == 1
    return opened[0]


def _choose(qtbot, dialog: QFileDialog, path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(dialog.filesSelected, timeout=5000):
        dialog.selectFile(str(path))
        dialog.accept()


def test_browse_opens_in_the_last_folder_per_kind(qtbot, form_factory, media, tmp_path,
                                                  no_folders, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the current directory is never where it opens
    settings = UiSettings(tmp_path / "cfg")
    window = SimpleNamespace(settings=settings)
    memory = folders.attach(window)
    assert folders.attach(window) is memory  # idempotent

    clips = tmp_path / "clips"
    clips.mkdir()
    clip = mf.video(clips / "take.mp4", 320, 240, seconds=1.0)
    topaz = shown_form(form_factory, qtbot, "topaz_upscale_video")
    dialog = _browse(qtbot, topaz.editor("video_url"))
    assert dialog.directory().absolutePath() != str(tmp_path)  # home, not the cwd
    assert folders.FOLDERS.folder("video") == os.path.expanduser("~")
    _choose(qtbot, dialog, clip)
    assert topaz.payload()["video_url"] == str(clip)
    assert settings.get("last_folder") == {"video": str(clips)}

    wan = shown_form(form_factory, qtbot, "wan_27_video_edit")
    dialog = _browse(qtbot, wan.editor("video_url"))  # another form, same kind: that folder
    assert dialog.directory().absolutePath() == str(clips)
    dialog.reject()
    dialog = _browse(qtbot, wan.editor("reference_image_url"))  # no image folder yet: the
    assert dialog.directory().absolutePath() == str(clips)  # last one of any kind
    _choose(qtbot, dialog, media.png)
    assert settings.get("last_folder") == {"video": str(clips), "image": str(media.dir)}

    # the next start reads them back from the settings file
    settings.save()
    folders.FOLDERS.reset()
    folders.attach(SimpleNamespace(settings=UiSettings(tmp_path / "cfg")))
    assert folders.FOLDERS.folder("video") == str(clips)
    assert folders.FOLDERS.folder("image") == str(media.dir)
    dialog = _browse(qtbot, topaz.editor("video_url"))
    assert dialog.directory().absolutePath() == str(clips)
    dialog.reject()
