"""The history's big tiles are sharp: a tile asks the thumbnail cache for a picture at its own
device-pixel size (made off the GUI thread from the file, cached by size, on disk too), asks
again when it grows, and paints that picture pixel for pixel; the small picture enlarged (what
big tiles showed before) stands in only until the big one is there."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import mediafactory as mf
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtTest import QTest

from app.client.settings import UiSettings
from app.ui.history import HistoryDelegate
from app.ui.paint import fitted
from app.ui.thumbs import ThumbnailCache, device_size, draw_poster
from app.ui.window import MainWindow

from .helpers import open_studio, until

IMG = Path(os.environ.get("REVIEW_SHOTS_DIR", "/tmp/review-shots"))
SEEDANCE = {"duration": 4, "resolution": "480p"}


def edge_energy(image: QImage) -> float:
    """Mean absolute difference between horizontal neighbours' green (detail: blur lowers it)."""
    total = n = 0
    for y in range(0, image.height(), 2):
        prev = image.pixelColor(0, y).green()
        for x in range(1, image.width()):
            g = image.pixelColor(x, y).green()
            total += abs(g - prev)
            prev = g
            n += 1
    return total / max(1, n)


def fills(pix: QPixmap | None, box: QSize) -> bool:
    """`pix` is a picture fitted into `box`: one side equal to the box's, the other within."""
    if pix is None or pix.width() > box.width() or pix.height() > box.height():
        return False
    return pix.width() == box.width() or pix.height() == box.height()


def test_a_bigger_size_is_a_picture_of_its_own_made_off_the_gui_thread(qtbot, tmp_path):
    clip = mf.video(tmp_path / "a.mp4", 1280, 720, seconds=1.0)
    cache = ThumbnailCache(tmp_path / "thumbs", QSize(192, 108))
    threads: list[str] = []
    import app.ui.thumbs as thumbs_mod

    real = thumbs_mod.poster_frame

    def spy(path, size):
        threads.append(threading.current_thread().name)
        return real(path, size)

    thumbs_mod.poster_frame = spy
    try:
        with qtbot.waitSignal(cache.thumbnail_ready, timeout=10_000):
            assert cache.get(str(clip)) is None
        small = cache.get(str(clip))
        assert small is not None and (small.width(), small.height()) == (192, 108)
        # a box that fits the cache's own size shares its picture (the queue, small tiles)
        assert cache.get(str(clip), QSize(172, 97)) is small
        big = QSize(473, 267)
        stand_in = cache.get(str(clip), big)
        assert stand_in is small  # until the big one is made
        with qtbot.waitSignal(cache.thumbnail_ready, timeout=10_000) as sig:
            pass
        assert sig.args == [str(clip)]
        sharp = cache.get(str(clip), big)
        assert sharp is not None and (sharp.width(), sharp.height()) == (473, 266)  # 16:9 fit
        assert cache.get(str(clip)) is small  # both sizes kept
        assert threads and threading.main_thread().name not in threads
        assert len(list((tmp_path / "thumbs").glob("*.png"))) == 2  # one file per size
        cache.forget(str(clip))
        assert cache.get(str(clip), big) is None  # every size dropped (queued again)
        cache.wait_idle()
    finally:
        thumbs_mod.poster_frame = real
        cache.close()


def test_big_tiles_paint_a_picture_made_at_their_size(aloop, qtbot, tmp_path):
    studio = open_studio(tmp_path / "data", render_seconds=0.3)
    IMG.mkdir(parents=True, exist_ok=True)

    async def scenario() -> None:
        w = MainWindow(studio, UiSettings(tmp_path / "cfg"))
        w.resize(1400, 860)
        w.show()
        await w.start()
        w.choose_task("create")
        w.form.set_payload({**w.form.payload(), **SEEDANCE, "mock": True,
                            "prompt": "a lighthouse at dusk, slow pan"})
        await until(w.form.is_submittable, what="a submittable form")
        await w.render()
        job_id = w.queue_model.job_at(0).id
        await until(lambda: w.queue_model.job(job_id).result_path, timeout=30,
                    what="the mock take downloaded")
        w.nav.choose("history")
        await until(lambda: w.history_model.rowCount() >= 1
                    and w.history_model.job_at(0).result_path, what="the take in history")
        path = str(w.history_model.job_at(0).result_path)
        thumbs, delegate, view = w.thumbs, w.history.delegate, w.history.view
        await until(lambda: thumbs.get(path) is not None, what="the small poster frame")
        small = thumbs.get(path)
        assert small is not None

        # the tile size grown with real key presses, one step at a time: each size is asked
        # for, and the picture that arrives is exactly the tile's picture area
        QTest.mouseClick(w.history.full_btn, Qt.MouseButton.LeftButton)
        w.history.tile_size.setFocus()
        for scale in HistoryDelegate.SCALES[2:]:
            QTest.keyClick(w.history.tile_size, Qt.Key.Key_PageUp)
            assert delegate.scale == scale
            box = delegate.thumb  # device pixels: offscreen, one per logical pixel
            assert view.devicePixelRatioF() == 1.0
            # until it is made, the biggest one there stands in (enlarged)
            assert thumbs.get(path, box) is not None
            # then one fitted into the tile's picture area: one side fills it to the pixel, the
            # other within it
            await until(lambda b=box: fills(thumbs.get(path, b), b),
                        what=f"the poster frame at {box} (now {thumbs.get(path, box)})")
            pix = thumbs.get(path, box)
            assert pix is not None and pix.height() > small.height() * 1.5

        # painted pixel for pixel: the tile on screen is the big picture, not the small one
        # enlarged (what big tiles showed before), which is visibly blurrier
        await asyncio.sleep(0.2)
        tile = view.visualRect(w.history_model.index(0)).adjusted(8, 8, -8, -6)
        area = QRect(tile.topLeft(), delegate.thumb)
        shot = view.viewport().grab(area).toImage()
        pix = thumbs.get(path, delegate.thumb)
        assert pix is not None
        sharp = pix.toImage().convertToFormat(shot.format())
        ox = (area.width() - sharp.width()) // 2
        oy = (area.height() - sharp.height()) // 2
        sw, sh = sharp.width(), sharp.height()
        for x, y in ((sw // 4, sh // 5), (sw // 2, sh // 2), (sw * 3 // 4, sh * 4 // 5)):
            assert shot.pixelColor(x + ox, y + oy) == sharp.pixelColor(x, y), (x, y)
        blurry = QImage(area.size(), shot.format())
        painter = QPainter(blurry)
        painter.drawPixmap(0, 0, fitted(small, area.size()))
        painter.end()
        assert edge_energy(shot) > 1.2 * edge_energy(blurry), \
            (edge_energy(shot), edge_energy(blurry))
        assert w.grab().save(str(IMG / "history-big-tiles.png"))
        assert QPixmap(str(IMG / "history-big-tiles.png")).width() == w.width()

        w.close()
        await studio.close()

    aloop.run_until_complete(scenario())


def test_a_picture_made_for_the_device_pixels_is_drawn_pixel_for_pixel_at_2x(qapp):
    """At twice the density a tile of 172×97 is 344×194 pixels: a picture that size is drawn
    as it is (a one-pixel checkerboard survives), not scaled to 172×97 and up again."""
    canvas = QPixmap(400, 300)
    canvas.setDevicePixelRatio(2.0)
    canvas.fill(Qt.GlobalColor.white)
    rect = QRect(10, 10, 172, 97)
    box = device_size(rect.size(), 2.0)
    assert box == QSize(344, 194)
    board = QImage(box, QImage.Format.Format_RGB32)
    for x in range(box.width()):
        for y in range(box.height()):
            board.setPixelColor(x, y, QColor(255 if (x + y) % 2 else 0, 0, 0))
    painter = QPainter(canvas)
    draw_poster(painter, rect, QPixmap.fromImage(board), "C")
    painter.end()
    out = canvas.toImage()
    assert all(out.pixelColor(20 + x, 20 + y) == board.pixelColor(x, y)
               for x in range(0, box.width(), 7) for y in range(0, box.height(), 5))
