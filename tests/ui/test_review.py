"""Review in the real window against the sandbox: two mock takes rendered, picked in the history
(click, Ctrl+click) and opened A/B; side by side, wipe (the divider dragged) and flicker (its
key) switched with real input; both players within two frames of each other after a seek on
the scrub bar and a frame step; the last frame held after the end (the grab is not black); 1:1
shows source pixels; the history's full width and tile size; the preview holds its last frame
and zooms. Screenshots go to $REVIEW_SHOTS_DIR (docs/img for the user guide)."""

from __future__ import annotations

import asyncio
import gc
import os
import weakref
from functools import partial
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.client.settings import UiSettings
from app.ui.history import HistoryDelegate
from app.ui.palette import qcolor
from app.ui.preview import FLICKER
from app.ui.review import Review, ReviewWindow
from app.ui.window import MainWindow

from .helpers import open_studio, until

# the user guide's pictures: REVIEW_SHOTS_DIR=docs/img to refresh them (else a temp folder, so a
# test run leaves the tree clean)
IMG = Path(os.environ.get("REVIEW_SHOTS_DIR", "/tmp/review-shots"))
SEEDANCE = {"duration": 4, "resolution": "480p"}
LOADED = (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia,
          QMediaPlayer.MediaStatus.EndOfMedia)


def picture_share(image: QImage, step: int = 4) -> float:
    """The share of sampled pixels that are neither black nor the stage colour."""
    stage = qcolor("stage")
    hits = total = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            c = image.pixelColor(x, y)
            total += 1
            dark = c.red() + c.green() + c.blue() < 30
            bg = abs(c.red() - stage.red()) + abs(c.green() - stage.green()) \
                + abs(c.blue() - stage.blue()) < 12
            hits += not (dark or bg)
    return hits / max(1, total)


def close(c1, c2, tol: int = 10) -> bool:
    return abs(c1.red() - c2.red()) + abs(c1.green() - c2.green()) \
        + abs(c1.blue() - c2.blue()) <= tol


async def _take(w: MainWindow, prompt: str) -> str:
    w.choose_task("create")
    w.form.set_payload({**w.form.payload(), **SEEDANCE, "prompt": prompt, "mock": True})
    await until(w.form.is_submittable, what="a submittable form")
    await w.render()
    return w.queue_model.job_at(0).id


def hearing(d: ReviewWindow, letter: str | None) -> bool:
    """Only `letter`'s take is heard (None: neither)."""
    return d.audio_a.isMuted() is (letter != "A") and d.audio_b.isMuted() is (letter != "B")


def click_tile(w: MainWindow, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    view = w.history.view
    rect = view.visualRect(w.history_model.index(row))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def test_ab_review_in_the_window(aloop, qtbot, tmp_path, quick_double_click):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)
    IMG.mkdir(parents=True, exist_ok=True)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 860)
        w.show()
        await w.start()
        review = w.review
        assert isinstance(review, Review)
        from app.ui import review as review_mod
        assert review_mod.install(w) is review  # idempotent

        ids = [await _take(w, "a lighthouse at dusk, slow pan"),
               await _take(w, "a lighthouse at dawn, slow pan")]
        await until(lambda: all(w.queue_model.job(i).result_path for i in ids), timeout=30,
                    what="both mock takes downloaded")

        # the history, full width, bigger tiles
        w.nav.choose("history")
        await until(lambda: w.history_model.rowCount() >= 2, what="two takes in history")
        await until(lambda: all(w.history_model.job_at(r).result_path for r in range(2)),
                    what="history rows with files")
        await asyncio.sleep(0.1)
        small = w.history.view.visualRect(w.history_model.index(0)).size()
        QTest.mouseClick(w.history.full_btn, Qt.MouseButton.LeftButton)
        assert w.history.full_btn.isChecked() and not w.right.isVisible()
        assert w.history.delegate.scale == HistoryDelegate.SCALES[1]  # one size up
        w.history.tile_size.setFocus()
        QTest.keyClick(w.history.tile_size, Qt.Key.Key_PageUp)
        assert w.history.delegate.scale == HistoryDelegate.SCALES[2]
        assert w.settings.get("history_tile_scale") == HistoryDelegate.SCALES[2]
        await until(lambda: w.history.view.visualRect(w.history_model.index(0)).width()
                    > small.width() * 1.7, what="bigger tiles")

        # two takes selected: Compare A/B
        assert not w.history.ab_btn.isEnabled()
        click_tile(w, 0)
        assert not w.history.ab_btn.isEnabled()  # one take is not a pair
        click_tile(w, 1, Qt.KeyboardModifier.ControlModifier)
        assert len(w.history.selected_jobs()) == 2 and w.history.ab_btn.isEnabled()
        await asyncio.sleep(0.3)
        assert w.grab().save(str(IMG / "history-full.png"))  # the whole window: history alone
        QTest.mouseClick(w.history.ab_btn, Qt.MouseButton.LeftButton)
        d = review.dialog
        assert isinstance(d, ReviewWindow)
        assert {j.id for j in d.jobs} == set(ids)
        a, b = d.players
        await until(lambda: a.mediaStatus() in LOADED and b.mediaStatus() in LOADED
                    and a.duration() > 0 and b.duration() > 0, what="both takes loaded")
        await until(d.view.has_frames, what="both first frames")
        d.activateWindow()
        await until(d.isActiveWindow, what="the review to have the keyboard")

        # the sound: A's at first; B with its key, mute with M, H back to the other take's,
        # a click on B; said beside the buttons, kept for the next review
        assert a.audioOutput() is d.audio_a and b.audioOutput() is d.audio_b
        await until(partial(hearing, d, "A"), what="A's sound only")
        assert d.sound_buttons["A"].isChecked() and d.sound_label.text() == "hearing A"
        QTest.keyClick(d, Qt.Key.Key_B)
        assert d.sound() == "B" and d.sound_buttons["B"].isChecked()
        assert d.sound_label.text() == "hearing B"
        await until(partial(hearing, d, "B"), what="B's sound only")
        QTest.keyClick(d, Qt.Key.Key_M)
        assert d.sound_label.text() == "muted" and d.sound_buttons["Mute"].isChecked()
        await until(partial(hearing, d, None), what="no sound")
        QTest.keyClick(d, Qt.Key.Key_H)  # from mute: A
        await until(partial(hearing, d, "A"), what="A again")
        QTest.keyClick(d, Qt.Key.Key_H)
        await until(partial(hearing, d, "B"), what="H: the other take")
        QTest.keyClick(d, Qt.Key.Key_A)
        await until(partial(hearing, d, "A"), what="A with its key")
        QTest.mouseClick(d.sound_buttons["B"], Qt.MouseButton.LeftButton)
        assert d.sound() == "B" and review.sound == "B"
        await until(partial(hearing, d, "B"), what="B by a click")
        assert d.mode() == "Side by side"  # sound keys leave the view as it was

        # wipe with a real drag of the divider
        QTest.mouseClick(d.mode_buttons["Wipe"], Qt.MouseButton.LeftButton)
        assert d.mode() == "Wipe"
        v = d.view
        mid = QPoint(v.wipe_x(), v.height() // 2)
        QTest.mousePress(v, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, mid)
        QTest.mouseMove(v, QPoint(v.width() // 4, v.height() // 2))
        QTest.mouseRelease(v, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           QPoint(v.width() // 4, v.height() // 2))
        assert abs(v.wipe - 0.25) < 0.02
        await asyncio.sleep(0.1)
        assert d.grab().save(str(IMG / "review-wipe.png"))
        # flicker: the timer switches A and B, F switches now
        QTest.keyClick(d, Qt.Key.Key_F)
        assert d.mode() == FLICKER and d.flicker_timer.isActive()
        shown = v.flicker_b
        await until(lambda: v.flicker_b != shown, timeout=3, what="the flicker to switch")
        # typed into the interval box, digits are the box's (not zoom keys)
        edit = d.flicker_ms.lineEdit()
        edit.setFocus()
        edit.selectAll()
        QTest.keyClicks(edit, "1000")  # "1" would be 1:1 and "0" fit, were they taken
        QTest.keyClick(edit, Qt.Key.Key_Return)
        assert d.flicker_ms.value() == 1000 and v.zoom is None
        assert d.flicker_timer.interval() == 1000
        d.flicker_ms.setValue(0)  # by key only
        assert not d.flicker_timer.isActive()
        v.setFocus()
        shown = v.flicker_b
        QTest.keyClick(d, Qt.Key.Key_F)
        assert v.flicker_b != shown
        QTest.keyClick(d, Qt.Key.Key_S)
        assert d.mode() == "Side by side"
        assert d.mode_buttons["Side by side"].isChecked()

        # a click on the scrub bar seeks both; a frame step moves both
        frame = d.frame_ms()
        s = d.slider
        QTest.mouseClick(s, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(s.width() // 2, s.height() // 2))
        target = s.value()
        assert 0.3 * d.duration() < target < 0.7 * d.duration()
        await until(lambda: abs(a.position() - target) <= 2 * frame
                    and abs(b.position() - target) <= 2 * frame,
                    what=f"both at {target} (A {a.position()}, B {b.position()})")
        before = a.position()
        QTest.mouseClick(d.fwd_btn, Qt.MouseButton.LeftButton)
        await until(lambda: abs(a.position() - (before + frame)) <= 1
                    and abs(b.position() - a.position()) <= 2 * frame,
                    what=f"a frame forward (A {a.position()}, B {b.position()} from {before})")
        QTest.keyClick(d, Qt.Key.Key_Comma)
        await until(lambda: abs(a.position() - before) <= 1
                    and abs(b.position() - before) <= 2 * frame, what="a frame back")
        await asyncio.sleep(0.2)
        assert d.grab().save(str(IMG / "review-ab.png"))

        # played to the end: both last frames held (the picture is not black)
        d.seek(max(0, d.duration() - 400))
        QTest.mouseClick(d.play_btn, Qt.MouseButton.LeftButton)
        await until(lambda: a.playbackState() == QMediaPlayer.PlaybackState.PlayingState,
                    what="playing")
        await until(lambda: a.playbackState() != QMediaPlayer.PlaybackState.PlayingState
                    and a.position() >= a.duration() - 3 * frame, timeout=8,
                    what="the end of A")
        await asyncio.sleep(0.4)
        share = picture_share(v.grab().toImage())
        assert share > 0.3, f"the held last frames cover {share:.0%} of the view"

        # 1:1 (the key): one source pixel per screen pixel
        QTest.keyClick(d, Qt.Key.Key_F)  # flicker, A on screen, one picture in the whole view
        if v.flicker_b:
            QTest.keyClick(d, Qt.Key.Key_F)
        QTest.keyClick(d, Qt.Key.Key_1)
        assert v.zoom == 1.0 and d.one_btn.isChecked() and not d.fit_btn.isChecked()
        src = v.images[0]
        rect = v.target(src, v.rect())
        assert (round(rect.width()), round(rect.height())) == (src.width(), src.height())
        grab = v.grab().toImage()
        ox, oy = round(rect.x()), round(rect.y())
        cx, cy = v.width() // 2, v.height() // 2
        for dx, dy in ((0, 0), (-7, 3), (11, -5), (40, 20)):
            x, y = cx + dx, cy + dy
            assert close(grab.pixelColor(x, y), src.pixelColor(x - ox, y - oy)), (x, y)
        # zoomed, a drag pans (the picture follows the mouse)
        before_x = v.center.x()
        QTest.mousePress(v, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(cx, cy))
        QTest.mouseMove(v, QPoint(cx - 60, cy))
        QTest.mouseRelease(v, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           QPoint(cx - 60, cy))
        assert abs((v.center.x() - before_x) * src.width() - 60) <= 1
        # the wheel zooms in (one notch), + too; 0 fits again
        notch = QWheelEvent(QPointF(cx, cy), QPointF(v.mapToGlobal(QPoint(cx, cy))),
                            QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(v, notch)
        assert v.zoom is not None and abs(v.zoom - 1.25) < 1e-6
        QTest.keyClick(d, Qt.Key.Key_Plus)
        assert v.zoom is not None and v.zoom > 1.5
        QTest.keyClick(d, Qt.Key.Key_0)
        assert v.zoom is None and d.fit_btn.isChecked()

        # closed: its players are released, the review forgets it, and nothing is left for the
        # cycle collector (which could free its Qt objects on another thread)
        gone = weakref.ref(d)
        players = [weakref.ref(x) for x in d.players]
        a = b = None  # type: ignore[assignment]
        gc.disable()
        try:
            d.close()
            del d
            await until(lambda: review.dialog is None, what="the review closed")
            await asyncio.sleep(0.1)
            QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
            assert gone() is None and all(p() is None for p in players)
        finally:
            gc.enable()

        # the parameter comparison's own entry opens A/B too
        w.history.select(ids[1])
        QTest.mouseClick(w.history.details.compare_btn, Qt.MouseButton.LeftButton)
        click_tile(w, w.history_model.row_of(ids[0]))
        dialog = w.history.compare_dialog
        assert dialog is not None and dialog.ab_btn.isEnabled()
        QTest.mouseClick(dialog.ab_btn, Qt.MouseButton.LeftButton)
        assert review.dialog is not None and {j.id for j in review.dialog.jobs} == set(ids)
        d2 = review.dialog
        assert d2.sound() == "B" and d2.sound_buttons["B"].isChecked()  # the last choice
        await until(lambda: d2.audio_a.isMuted() and not d2.audio_b.isMuted(),
                    what="the next review hearing B")
        d2 = None
        assert not dialog.isVisible()  # the parameter table closed for the players
        review.dialog.close()
        await until(lambda: review.dialog is None, what="the second review closed")

        # the preview plays a take to its end and holds the last frame; it zooms to 1:1
        w.history.select(ids[0])
        QTest.mouseClick(w.history.full_btn, Qt.MouseButton.LeftButton)  # off again
        assert w.right.isVisible() and not w.history.full_btn.isChecked()
        assert w.history.delegate.scale == HistoryDelegate.SCALES[2]  # chosen by hand: kept
        p = w.preview
        await until(lambda: p.player.duration() > 0, what="the preview loaded")
        p.seek(max(0, p.player.duration() - 300))
        QTest.mouseClick(p.play_btn, Qt.MouseButton.LeftButton)
        await until(lambda: p.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState,
                    what="the preview playing")
        await until(lambda: p.player.playbackState() == QMediaPlayer.PlaybackState.PausedState
                    and p.at_end(), timeout=8, what="the preview held at its end")
        await asyncio.sleep(0.3)
        last = p.current_image()
        assert not last.isNull() and picture_share(last) > 0.3
        p.setFocus()
        QTest.keyClick(p, Qt.Key.Key_1)
        assert p.compare.zoom == 1.0 and p.stack.currentWidget() is p.compare
        await until(lambda: not p.compare.images[1].isNull(), what="the zoomed frame")
        assert picture_share(p.compare.grab().toImage()) > 0.3
        QTest.keyClick(p, Qt.Key.Key_0)
        assert p.compare.zoom is None and p.stack.currentWidget() is p.video

        w.close()
        await studio.close()

    aloop.run_until_complete(scenario())


def test_reference_clips_play_in_their_drop_zones_and_swap_shows_its_keyframe(
        aloop, qtbot, tmp_path):
    import mediafactory as mf

    from app.forms.media import ClipPlayer, MediaEditor

    from .helpers import drop_files

    studio = open_studio(tmp_path / "data")
    IMG.mkdir(parents=True, exist_ok=True)
    clip = mf.video(tmp_path / "ref.mp4", 320, 240, seconds=2.0)
    tone = mf.audio(tmp_path / "tone.wav", seconds=1.0)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 860)
        w.show()
        await w.start()

        # a reference clip plays in its item: frames in the thumbnail, then released
        w.nav.choose("upscale")
        video = w.form.editor("video_url")
        assert isinstance(video, MediaEditor)
        assert drop_files(video.drop_zone, clip)
        await until(lambda: video.items and video.items[0].has_thumbnail, what="the thumbnail")
        item = video.items[0]
        assert item.play is not None and item.clip_player is None  # made on the first press
        still = item.thumb.pixmap().toImage()
        QTest.mouseClick(item.play, Qt.MouseButton.LeftButton)
        player = item.clip_player
        assert player is not None and ClipPlayer.active is player
        await until(lambda: player.player.position() > 300 and player.frames > 5,
                    what="the clip playing in its item")
        assert item.thumb.pixmap().toImage() != still  # a later frame is on screen
        await until(lambda: player.released, timeout=8, what="the clip's end")
        await until(lambda: item.clip_player is None and ClipPlayer.active is None,
                    what="its player released")
        assert item.thumb.pixmap().toImage() == still  # the thumbnail is back

        # audio plays from the Create form's audio references; one player in the app: the clip
        # started again is released when the sound starts
        w.nav.choose("create")
        sound = w.form.editor("audio_urls")
        assert drop_files(sound.drop_zone, tone)
        await until(lambda: sound.items, what="the audio item")
        w.nav.choose("upscale")
        QTest.mouseClick(video.items[0].play, Qt.MouseButton.LeftButton)
        first = video.items[0].clip_player
        w.nav.choose("create")
        QTest.mouseClick(sound.items[0].play, Qt.MouseButton.LeftButton)
        second = sound.items[0].clip_player
        assert first is not None and first.released and video.items[0].clip_player is None
        assert second is not None and ClipPlayer.active is second
        await until(lambda: second.player.position() > 200, what="the sound playing")
        QTest.mouseClick(sound.items[0].play, Qt.MouseButton.LeftButton)  # stop
        assert second.released and ClipPlayer.active is None

        # Swap: the keyframe's frame beside the source clip, following the keyframe
        w.nav.choose("swap")
        form = w.form
        source = form.editor("video_url")
        assert drop_files(source.drop_zone, clip)
        await until(lambda: source.items and source.items[0].keyframe.isVisible()
                    and source.items[0].keyframe_shown is not None, what="the keyframe picture")
        key = form.editor("keyframe_id")
        frames = {}
        for n in (1, 30):
            key.slider.setValue(n)
            await until(lambda n=n: form.payload().get("keyframe_id") == n, what=f"keyframe {n}")
            await until(lambda n=n: source.items[0].keyframe_shown == (str(clip), n),
                        what=f"the picture of frame {n}")
            img = source.items[0].keyframe.pixmap().toImage()
            frames[n] = img.pixelColor(img.width() // 2, img.height() - 4).red()
        # mediafactory paints frame i with red (i * 7) % 255: frame 1 is 0, frame 30 is 203
        assert frames[1] < 20 and abs(frames[30] - 203) < 20, frames
        assert source.items[0].grab().save(str(IMG / "swap-keyframe.png"))

        w.close()
        await studio.close()

    aloop.run_until_complete(scenario())
