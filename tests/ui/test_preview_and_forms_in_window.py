"""The form fixes inside the real window against the sandbox: Browse… folders kept in the
window's settings (`app.forms.folders.attach`, idempotent), Undo removal of a reference on the
form on screen, the Upscale factor and the × of a reference by keyboard, and the preview cleared
when a take is queued after one was shown."""

from __future__ import annotations

import mediafactory as mf
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from app.client.settings import UiSettings
from app.forms import folders
from app.forms.media import MediaEditor
from app.ui.preview import NO_TIME
from app.ui.window import MainWindow

from .helpers import drop_files, open_studio, until


async def keyboard_to(w: MainWindow) -> None:
    """The window has the keyboard (a dialog closing may have left no window active)."""
    w.activateWindow()
    await until(w.isActiveWindow, what="the window to have the keyboard")


def test_browse_undo_and_keys_in_the_window(aloop, qtbot, tmp_path, media):
    studio = open_studio(tmp_path / "data")
    folders.FOLDERS.reset()
    clips = tmp_path / "clips"
    clips.mkdir()
    clip = mf.video(clips / "take.mp4", 320, 240, seconds=1.0)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.show()
        await w.start()
        await keyboard_to(w)
        memory = folders.attach(w)
        assert folders.attach(w) is memory  # the lead calls it from MainWindow.__init__ too

        w.nav.choose("upscale")
        form = w.form
        assert form is not None and form.model_id == "topaz_upscale_video"
        video = form.editor("video_url")
        assert isinstance(video, MediaEditor)
        QTest.mouseClick(video.drop_zone.browse, Qt.MouseButton.LeftButton)
        dialog = video.findChild(QFileDialog)
        assert dialog is not None
        dialog.selectFile(str(clip))
        dialog.accept()
        await until(lambda: form.payload().get("video_url") == str(clip), what="the choice")
        assert w.settings.get("last_folder") == {"video": str(clips)}

        # the factor by keyboard, in the window
        factor = form.editor("upscale_factor")
        await keyboard_to(w)
        factor.slider.bar.setFocus(Qt.FocusReason.TabFocusReason)
        assert QApplication.focusWidget() is factor.slider.bar
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_End)
        assert form.payload()["upscale_factor"] == 4.0

        # remove the source with the keyboard, then Undo puts it back
        changes: list[bool] = []
        form.undo_changed.connect(changes.append)
        await until(lambda: video.items and video.items[0].remove.isVisible(), what="the item")
        await keyboard_to(w)
        video.items[0].remove.setFocus(Qt.FocusReason.TabFocusReason)
        assert QApplication.focusWidget() is video.items[0].remove
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
        assert "video_url" not in form.payload()
        assert form.can_undo_remove_reference() and changes == [True]
        assert form.undo_remove_reference()
        assert form.payload()["video_url"] == str(clip) and changes == [True, False]

        # the Swap form opens Browse… in the same folder (same kind, another form)
        w.nav.choose("swap")
        swap = w.form
        assert swap is not None and swap.model_id == "pixverse_swap"
        source = swap.editor("video_url")
        QTest.mouseClick(source.drop_zone.browse, Qt.MouseButton.LeftButton)
        dialog = source.findChild(QFileDialog)
        assert dialog is not None and dialog.directory().absolutePath() == str(clips)
        dialog.reject()
        assert drop_files(swap.editor("image_url").drop_zone, media.face)

        # a result shown, then a queued take: the preview forgets the old time
        w.preview.load(str(clip), title="before")
        await until(lambda: w.preview.player.duration() > 500, what="the clip to load")
        await until(lambda: w.preview.time.text() != NO_TIME, what="its time")
        w.preview.show_message("Queued", title="next")
        assert w.preview.time.text() == NO_TIME and w.preview.slider.maximum() == 0
        w.close()

    try:
        aloop.run_until_complete(scenario())
    finally:
        folders.FOLDERS.reset()
        aloop.run_until_complete(studio.close())
