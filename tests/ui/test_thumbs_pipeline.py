"""The one thumbnail pipeline (app.ui.thumbs.picture): the same decoder for the forms' media
thumbnails (first frame, waveform) and the queue's and history's poster frames."""

from __future__ import annotations

import mediafactory as mf
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor

from app.ui import palette
from app.ui.thumbs import POSTER_AT, kind_of, picture, poster_frame

BOX = QSize(192, 144)


def red_at_centre(image) -> int:  # type: ignore[no-untyped-def]
    return image.pixelColor(image.width() // 2, image.height() * 3 // 4).red()


def test_a_video_gives_the_frame_asked_for(tmp_path):
    # mediafactory encodes frame i with red = 7 * i: 48 frames, a quarter in is frame 12
    clip = mf.video(tmp_path / "c.mp4", 320, 240, seconds=2.0, fps=24)
    first = picture(str(clip), BOX, "video", at=0.0)
    poster = poster_frame(str(clip), BOX)
    assert (first.width(), first.height()) == (192, 144)
    assert red_at_centre(first) < 20
    assert abs(red_at_centre(poster) - 7 * round(48 * POSTER_AT)) < 20


def test_an_image_is_fitted_keeping_its_shape(tmp_path):
    wide = mf.image(tmp_path / "w.jpg", 800, 200)
    pic = picture(str(wide), BOX)
    assert (pic.width(), pic.height()) == (192, 48)


def test_audio_is_drawn_as_a_waveform_in_the_palette_colours(tmp_path, qapp):
    tone = mf.audio(tmp_path / "t.wav", seconds=1.0)
    pic = picture(str(tone), BOX, kind_of(str(tone)))
    assert (pic.width(), pic.height()) == (192, 144)
    colours = {pic.pixelColor(x, y).name() for x in range(0, 192, 3) for y in range(0, 144, 3)}
    assert {palette.colour("wave_bg"), palette.colour("wave_fg")} <= colours
    custom = picture(str(tone), BOX, "audio", wave=("#000000", "#ffffff"))
    assert custom.pixelColor(0, 0) == QColor("#000000")
    assert custom.pixelColor(98, 72) == QColor("#ffffff")  # bar 24 (x 97–99) crosses the middle


def test_what_is_not_media_raises(tmp_path):
    bad = mf.not_media(tmp_path / "x.mp4")
    with pytest.raises(Exception):  # noqa: B017 (PyAV's or ours: the caller marks it failed)
        picture(str(bad), BOX)
