"""The preview: plays a result, and compares it with its source (side by side or wipe).

Decoding happens in Qt Multimedia's own threads; the GUI thread only paints frames. Its players,
audio output, video widget and video sinks are made (on the GUI thread) when the first result is
loaded, not with the window: the first of them loads Qt's multimedia backend (~10-15 ms), and a
window that starts shows no video yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    Q_ARG,
    QEvent,
    QObject,
    QPointF,
    QRect,
    QRectF,
    QSignalBlocker,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QShortcut,
    QWheelEvent,
)
from PySide6.QtMultimedia import (
    QAudioOutput,
    QMediaMetaData,
    QMediaPlayer,
    QVideoFrame,
    QVideoSink,
)
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.client import present
from app.forms.widgets import ElidingLabel
from app.ui import qtlog
from app.ui.compat import post
from app.ui.icons import icon
from app.ui.palette import qcolor, styled

COMPARE_MODES = ("Result only", "Side by side", "Wipe")
LABEL_SHADE_ALPHA = 150  # "Source" / "Result" sit on a dark shade over any video
#: The scrub bar never gets narrower than this; the transport buttons around it are icon-only
#: (named for screen readers) so that the window's minimum width stays what it was.
SCRUB_MIN_W = 120
NO_TIME = "-:-- / -:--"  # nothing loaded: no time and no duration to show


def _url(value: str) -> QUrl:
    """A local path or a file:// / http(s):// URL (a source may have been given as a URL)."""
    if value.startswith(("http://", "https://", "file://")):
        return QUrl(value)
    return QUrl.fromLocalFile(value)


def _seek(player: QMediaPlayer, ms: int) -> None:
    post(player, "setPosition", Q_ARG("qint64", int(ms)))
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".m4v", ".mkv"}


ZOOM_STEP = 1.25  # one wheel notch or one key press
ZOOM_MIN, ZOOM_MAX = 0.05, 16.0
SINGLE = COMPARE_MODES[0]
FLICKER = "Flicker"


class CompareView(QWidget):
    """Paints one or two video sinks: the second alone ("Result only", used when zoomed), side
    by side, a draggable wipe, or a flicker between them. Each picture is the last frame its
    sink delivered (an empty frame at the end of the media does not blank it: the last frame is
    held). Zoom (None: fit; 1.0: one source pixel per device pixel) and the pan centre are
    shared by both pictures; the wheel and drags (outside the wipe's divider) zoom and pan."""

    zoom_changed = Signal(object)  # the zoom factor, or None for fit

    def __init__(self, parent: QWidget | None = None,
                 labels: tuple[str, str] = ("Source", "Result")) -> None:
        super().__init__(parent)
        self._sinks: dict[str, QVideoSink] = {}  # made when a player is first routed here
        self._source = QImage()
        self._result = QImage()
        self.labels = labels
        self.mode = "Side by side"
        self.wipe = 0.5
        self.zoom: float | None = None
        self.center = QPointF(0.5, 0.5)  # the picture's point at the middle, 0…1 each way
        self.flicker_b = False  # Flicker: the second picture on screen
        self._pan_from: QPointF | None = None
        self._dragging_wipe = False
        self.setMinimumSize(QSize(160, 90))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    @property
    def source_sink(self) -> QVideoSink:
        """The first picture's sink (made on first use)."""
        return self._sink("source", self._on_source)

    @property
    def result_sink(self) -> QVideoSink:
        """The second picture's sink (made on first use)."""
        return self._sink("result", self._on_result)

    def _sink(self, name: str, slot: Any) -> QVideoSink:
        sink = self._sinks.get(name)
        if sink is None:
            sink = self._sinks[name] = QVideoSink(self)
            sink.videoFrameChanged.connect(slot)
        return sink

    def _on_source(self, frame: QVideoFrame) -> None:
        image = frame.toImage() if frame.isValid() else QImage()
        if not image.isNull():  # an empty frame (stop, end of media) keeps the last one
            self._source = image
            self.update()

    def _on_result(self, frame: QVideoFrame) -> None:
        image = frame.toImage() if frame.isValid() else QImage()
        if not image.isNull():
            self._result = image
            self.update()

    @property
    def images(self) -> tuple[QImage, QImage]:
        return self._source, self._result

    def has_frames(self) -> bool:
        return not self._source.isNull() and not self._result.isNull()

    def clear(self) -> None:
        self._source = QImage()
        self._result = QImage()
        self.update()

    # ---- geometry ------------------------------------------------------------------------
    @staticmethod
    def _fit(image: QImage, box: QRect) -> QRect:
        if image.isNull():
            return box
        size = image.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRect(box.x() + (box.width() - size.width()) // 2,
                     box.y() + (box.height() - size.height()) // 2, size.width(), size.height())

    def boxes(self) -> list[QRect]:
        """The areas the pictures are drawn in: two halves side by side, else the whole."""
        if self.mode == "Side by side":
            half = self.width() // 2
            return [QRect(0, 0, half - 2, self.height()),
                    QRect(half + 2, 0, self.width() - half - 2, self.height())]
        return [self.rect()]

    def _main_image(self) -> QImage:
        return self._result if not self._result.isNull() else self._source

    def fit_scale(self) -> float:
        """The zoom factor "fit" amounts to for the picture on screen (1.0 without one)."""
        image, box = self._main_image(), self.boxes()[-1]
        if image.isNull() or image.width() == 0 or image.height() == 0:
            return 1.0
        dpr = self.devicePixelRatioF()
        return min(box.width() / image.width(), box.height() / image.height()) * dpr

    def target(self, image: QImage, box: QRect) -> QRectF:
        """Where `image` is drawn inside `box` at the current zoom and pan."""
        if self.zoom is None or image.isNull():
            return QRectF(self._fit(image, box))
        dpr = self.devicePixelRatioF()
        w, h = image.width() * self.zoom / dpr, image.height() * self.zoom / dpr
        c = QRectF(box).center()
        return QRectF(c.x() - self.center.x() * w, c.y() - self.center.y() * h, w, h)

    def set_zoom(self, zoom: float | None) -> None:
        if zoom is not None:
            zoom = max(ZOOM_MIN, min(ZOOM_MAX, float(zoom)))
            if self.zoom is None:
                self.center = QPointF(0.5, 0.5)
        if zoom != self.zoom:
            self.zoom = zoom
            self.update()
            self.zoom_changed.emit(zoom)

    def zoom_by(self, factor: float) -> None:
        """Zoom in (factor > 1) or out from the current (or the fit) scale; out past fit fits."""
        fit = self.fit_scale()
        new = (self.zoom if self.zoom is not None else fit) * factor
        self.set_zoom(None if factor < 1 and new <= fit * 1.0001 else new)

    def pan(self, dx: float, dy: float) -> None:
        """Move the picture by (dx, dy) widget pixels."""
        if self.zoom is None:
            return
        r = self.target(self._main_image(), self.boxes()[-1])
        if r.width() <= 0 or r.height() <= 0:
            return
        self.center = QPointF(max(0.0, min(1.0, self.center.x() - dx / r.width())),
                              max(0.0, min(1.0, self.center.y() - dy / r.height())))
        self.update()

    # ---- painting ------------------------------------------------------------------------
    def _draw(self, p: QPainter, image: QImage, box: QRect) -> None:
        if image.isNull():
            return
        p.save()
        p.setClipRect(box)
        if self.zoom is not None and self.zoom >= 1.0:  # source pixels stay crisp
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        else:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(self.target(image, box), image, QRectF(image.rect()))
        p.restore()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), qcolor("stage"))
        if self.mode == "Wipe":
            self._paint_wipe(p)
        elif self.mode == SINGLE:
            self._draw(p, self._result, self.rect())
        elif self.mode == FLICKER:
            b = self.flicker_b
            self._draw(p, self._result if b else self._source, self.rect())
            self._label(p, self.rect(), self.labels[1 if b else 0])
        else:
            left, right = self.boxes()
            for img, box, label in ((self._source, left, self.labels[0]),
                                    (self._result, right, self.labels[1])):
                self._draw(p, img, box)
                self._label(p, box, label)
        if self.zoom is not None:
            self._label(p, QRect(self.width() - 90, self.height() - 34, 90, 34),
                        f"{self.zoom * 100:.0f}%")
        p.end()

    def wipe_x(self) -> int:
        return int(self.width() * self.wipe)

    def _paint_wipe(self, p: QPainter) -> None:
        """Both pictures in the same area at the same zoom; the first left of the divider, the
        second right of it."""
        area = self.rect()
        x = self.wipe_x()
        self._draw(p, self._result, area)
        if not self._source.isNull():
            left = QRect(area.x(), area.y(), x - area.x(), area.height())
            p.save()
            p.setClipRect(left)
            p.fillRect(left, qcolor("stage"))
            p.restore()
            self._draw(p, self._source, left)
        p.setPen(QPen(qcolor("on_accent"), 2))
        p.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
        self._label(p, QRect(area.x(), area.y(), x - area.x(), area.height()), self.labels[0])
        self._label(p, QRect(x, area.y(), area.right() - x, area.height()), self.labels[1])

    @staticmethod
    def _label(p: QPainter, box: QRect, text: str) -> None:
        if box.width() < 60:
            return
        p.save()
        fm = p.fontMetrics()
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, box.width() - 22)
        r = QRectF(box.x() + 6, box.y() + 6, fm.horizontalAdvance(text) + 10, fm.height() + 4)
        p.fillRect(r, qcolor("shade", LABEL_SHADE_ALPHA))
        p.setPen(qcolor("on_accent"))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()

    # ---- input ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        near_divider = self.mode == "Wipe" and (self.zoom is None
                                                or abs(pos.x() - self.wipe_x()) <= 12)
        if event.button() == Qt.MouseButton.LeftButton and near_divider:
            self._dragging_wipe = True
            self._drag_wipe(pos.x())
        elif self.zoom is not None:
            self._pan_from = pos

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._dragging_wipe:
            self._drag_wipe(pos.x())
        elif self._pan_from is not None:
            self.pan(pos.x() - self._pan_from.x(), pos.y() - self._pan_from.y())
            self._pan_from = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging_wipe = False
        self._pan_from = None

    def _drag_wipe(self, x: float) -> None:
        if self.width() > 0:
            self.wipe = max(0.0, min(1.0, x / self.width()))
            self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP ** steps)
        event.accept()


class ScrubBar(QSlider):
    """The time slider: a click on the groove jumps there (a media player's bar, not a page
    step), then drags from there; arrow keys and PageUp/PageDown move by 0.1 s and 1 s."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSingleStep(100)
        self.setPageStep(1000)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > self.minimum():
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                                 QStyle.SubControl.SC_SliderHandle, self)
            if not handle.contains(event.position().toPoint()):
                span = max(1, self.width() - handle.width())
                x = round(event.position().x() - handle.width() / 2)
                self.setValue(QStyle.sliderValueFromPosition(
                    self.minimum(), self.maximum(), max(0, min(x, span)), span))
        super().mousePressEvent(event)  # on the handle now: a drag goes on from here


class PreviewWidget(QWidget):
    """A player for one take, with transport controls and an optional source comparison."""

    loaded = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # made with the first result loaded (`_media`); what was chosen before is kept here
        self._player: QMediaPlayer | None = None
        self._source_player: QMediaPlayer | None = None  # silent: the result's sound matters
        self._audio: QAudioOutput | None = None
        self._video: QVideoWidget | None = None
        self._muted = False
        self._loops = QMediaPlayer.Loops.Once
        self._rate = 1.0
        self.compare = CompareView(self)
        self.message = QLabel("Select a take to preview it.", self)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(styled("color: $stage_text; background: $stage; padding: 12px;"))
        self.stack = QStackedWidget(self)
        for w in (self.message, self.compare):
            self.stack.addWidget(w)
        self.stack.setMinimumHeight(150)
        self.result_path: str | None = None
        self.source_path: str | None = None
        self._scrubbing = False
        self._first_frame_pending = False
        self._build_controls()

    # ---- the media objects, made on first use ---------------------------------------------
    def has_media(self) -> bool:
        """Whether the players exist (a result has been loaded, or one was asked for)."""
        return self._player is not None

    def _media(self) -> tuple[QMediaPlayer, QMediaPlayer, QAudioOutput, QVideoWidget]:
        """The result's player, the source's, the audio output and the video widget, made
        the first time (GUI thread) with what was chosen meanwhile (mute, loop, rate)."""
        if self._player is None or self._source_player is None or self._audio is None \
                or self._video is None:
            qtlog.before_media()
            player, source = QMediaPlayer(self), QMediaPlayer(self)
            audio = QAudioOutput(self)
            audio.setMuted(self._muted)  # a new output, no stream yet: no need to post
            player.setAudioOutput(audio)
            video = QVideoWidget(self)
            self.stack.insertWidget(1, video)
            player.setVideoOutput(video)
            video.installEventFilter(self)  # the wheel over the plain view zooms too
            for each in (player, source):
                each.setLoops(self._loops)
                if self._rate != 1.0:
                    each.setPlaybackRate(self._rate)
            player.durationChanged.connect(self._on_duration)
            player.positionChanged.connect(self._on_position)
            player.playbackStateChanged.connect(self._on_state)
            player.mediaStatusChanged.connect(self._on_media_status)
            self._player, self._source_player, self._audio, self._video = \
                player, source, audio, video
        return self._player, self._source_player, self._audio, self._video

    @property
    def player(self) -> QMediaPlayer:
        """The result's player (made on first use)."""
        return self._media()[0]

    @property
    def source_player(self) -> QMediaPlayer:
        """The source's player, silent (made on first use)."""
        return self._media()[1]

    @property
    def audio(self) -> QAudioOutput:
        return self._media()[2]

    @property
    def video(self) -> QVideoWidget:
        """The single view's video widget (made on first use)."""
        return self._media()[3]

    def _players(self) -> tuple[QMediaPlayer, ...]:
        """The players that exist (none before the first result)."""
        return tuple(p for p in (self._player, self._source_player) if p is not None)

    # ---- layout --------------------------------------------------------------------------
    def _button(self, text: str, tip: str, checkable: bool = False) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(checkable)
        b.setAutoRaise(True)
        return b

    def _icon_button(self, name: str, tip: str, checkable: bool = False) -> QToolButton:
        b = self._button("", tip, checkable)
        b.setIcon(icon(name))
        b.setAccessibleName(tip)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        return b

    def _on_mute(self, on: bool) -> None:
        self.mute_btn.setIcon(icon("mute" if on else "sound"))
        self.mute_btn.setToolTip("Unmute the sound" if on else "Mute the sound")
        self._muted = on
        if self._audio is not None:
            post(self._audio, "setMuted", Q_ARG(bool, on))

    def _build_controls(self) -> None:
        self.title = ElidingLabel("", self)
        self.title.setObjectName("previewTitle")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.mock_badge = QLabel("MOCK", self)
        self.mock_badge.setStyleSheet(styled(
            "background:$mock;color:$on_accent;font-weight:bold;border-radius:4px;"
            "padding:1px 6px;"))
        self.mock_badge.setToolTip("A free placeholder render, not a real generation")
        self.mock_badge.hide()
        self.mode = QComboBox(self)
        self.mode.addItems(COMPARE_MODES)
        self.mode.setToolTip("Compare the result with its source")
        self.mode.currentTextChanged.connect(self.set_compare_mode)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.mock_badge)
        head.addWidget(self.mode)
        # Zoom for upscales: fit, one source pixel per screen pixel, and steps (the wheel and
        # + / - / 0 / 1 while the preview has focus); a drag pans when zoomed.
        self.fit_btn = self._button("Fit", "Fit the picture to the view (0)", checkable=True)
        self.fit_btn.setChecked(True)
        self.fit_btn.clicked.connect(lambda: self.set_zoom(None))
        self.one_btn = self._button("1:1", "One source pixel per screen pixel (1)",
                                    checkable=True)
        self.one_btn.clicked.connect(lambda: self.set_zoom(1.0))
        head.addWidget(self.fit_btn)
        head.addWidget(self.one_btn)
        self.compare.zoom_changed.connect(self._on_zoom)
        for keys, slot in (((Qt.Key.Key_Plus, Qt.Key.Key_Equal), lambda: self.zoom_by(ZOOM_STEP)),
                           ((Qt.Key.Key_Minus,), lambda: self.zoom_by(1 / ZOOM_STEP)),
                           ((Qt.Key.Key_0,), lambda: self.set_zoom(None)),
                           ((Qt.Key.Key_1,), lambda: self.set_zoom(1.0))):
            for key in keys:
                sc = QShortcut(QKeySequence(key), self)
                sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                sc.activated.connect(slot)

        self.play_btn = self._icon_button("play", "Play (Space)")
        self.play_btn.setAccessibleName("Play")
        self.play_btn.clicked.connect(self.toggle_play)
        space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        space.activated.connect(self.toggle_play)
        # Icon-only beside the scrub bar (named for screen readers, said in the tooltip): the
        # bar keeps its width at the window's minimum width.
        self.back_btn = self._icon_button("step-back", "One frame back")
        self.back_btn.clicked.connect(lambda: self.step(-1))
        self.fwd_btn = self._icon_button("step-forward", "One frame forward")
        self.fwd_btn.clicked.connect(lambda: self.step(1))
        self.loop_btn = self._icon_button("loop", "Loop playback", checkable=True)
        self.loop_btn.toggled.connect(self.set_loop)
        self.mute_btn = self._icon_button("sound", "Mute the sound", checkable=True)
        self.mute_btn.toggled.connect(self._on_mute)
        self.slider = ScrubBar(self)
        self.slider.setObjectName("scrub")
        self.slider.setToolTip("Scrub")
        self.slider.setMinimumWidth(SCRUB_MIN_W)
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.slider.sliderPressed.connect(self._scrub_start)
        self.slider.sliderReleased.connect(self._scrub_end)
        self.slider.sliderMoved.connect(self.seek)
        self.slider.valueChanged.connect(self._on_scrub_value)  # clicks and keys
        self.time = QLabel(NO_TIME, self)
        self.time.setObjectName("time")
        bar = QHBoxLayout()
        for w in (self.play_btn, self.back_btn, self.fwd_btn):
            bar.addWidget(w)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.time)
        bar.addWidget(self.loop_btn)
        bar.addWidget(self.mute_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(head)
        lay.addWidget(self.stack, 1)
        lay.addLayout(bar)
        self._set_transport_enabled(False)
        self.mode.setEnabled(False)

    def _set_transport_enabled(self, on: bool) -> None:
        for w in (self.play_btn, self.back_btn, self.fwd_btn, self.slider, self.loop_btn,
                  self.mute_btn, self.fit_btn, self.one_btn):
            w.setEnabled(on)

    # ---- zoom ----------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self._video and event.type() == QEvent.Type.Wheel and self.result_path:
            steps = event.angleDelta().y() / 120  # type: ignore[attr-defined]
            if steps:
                self.zoom_by(ZOOM_STEP ** steps)
            return True
        return super().eventFilter(obj, event)

    def set_zoom(self, zoom: float | None) -> None:
        """None fits the picture; 1.0 shows source pixels. Zoomed, the single view is painted
        by the compare view (a video widget cannot zoom)."""
        self.compare.set_zoom(zoom)
        self._on_zoom(self.compare.zoom)

    def zoom_by(self, factor: float) -> None:
        if self.result_path is None:
            return
        if not self.comparing and self.compare.zoom is None:
            self._route_single_to_compare()  # its fit scale needs the picture
        self.compare.zoom_by(factor)
        self._on_zoom(self.compare.zoom)

    def _on_zoom(self, zoom: float | None) -> None:
        self.fit_btn.setChecked(zoom is None)
        self.one_btn.setChecked(zoom is not None and abs(zoom - 1.0) < 1e-6)
        if self.result_path and (not self.source_path
                                 or self.mode.currentText() == COMPARE_MODES[0]):
            if zoom is None and self.stack.currentWidget() is self.compare:
                self._apply_mode(COMPARE_MODES[0])
            elif zoom is not None and self.stack.currentWidget() is not self.compare:
                self._route_single_to_compare()

    def _route_single_to_compare(self) -> None:
        self.compare.mode = SINGLE
        self.source_player.setVideoOutput(None)
        self.player.setVideoOutput(self.compare.result_sink)
        self.stack.setCurrentWidget(self.compare)
        if self.player.playbackState() != QMediaPlayer.PlaybackState.PlayingState:
            _seek(self.player, self.player.position())  # a paused player paints its frame again
        self.compare.update()

    # ---- content -------------------------------------------------------------------------
    def show_message(self, text: str, title: str = "", mock: bool = False) -> None:
        """No playable result (yet): say why. The time, the duration and the scrub bar of the
        take shown before are cleared (a queued take has neither)."""
        self.unload()
        self.title.setText(title)
        self.title.setToolTip(title)
        self.mock_badge.setVisible(mock)
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def unload(self) -> None:
        self._first_frame_pending = False
        for player in self._players():
            post(player, "stop")
            post(player, "setSource", Q_ARG(QUrl, QUrl()))
        self.result_path = self.source_path = None
        self.compare.clear()
        self._clear_time()
        self._set_transport_enabled(False)
        self.mode.setEnabled(False)

    def load(self, result_path: str, source_path: str | None = None, *, title: str = "",
             mock: bool = False, autoplay: bool = False) -> None:
        """Play `result_path`; a video `source_path` enables the comparison modes."""
        if result_path == self.result_path and source_path == self.source_path:
            return
        self.unload()
        self._media()
        self.result_path = result_path
        video_source = bool(source_path) and \
            Path(QUrl(str(source_path)).path() or str(source_path)).suffix.lower() in VIDEO_SUFFIXES
        self.source_path = source_path if video_source else None
        self.title.setText(title)
        self.title.setToolTip(title)
        self.mock_badge.setVisible(mock)
        post(self.player, "setSource", Q_ARG(QUrl, QUrl.fromLocalFile(result_path)))
        if self.source_path:
            post(self.source_player, "setSource", Q_ARG(QUrl, _url(self.source_path)))
        self.mode.setEnabled(bool(self.source_path))
        self._set_transport_enabled(True)
        self._apply_mode(self.mode.currentText() if self.source_path else COMPARE_MODES[0])
        self.loaded.emit(result_path)
        if autoplay:
            self.play()
        else:
            self._first_frame_pending = True  # paused on frame one once loaded

    def show_first_frame(self) -> None:
        """Paused on the first frame: a picture instead of a black box."""
        post(self.player, "pause")
        if self.comparing:
            post(self.source_player, "pause")

    def set_compare_mode(self, mode: str) -> None:
        if self.mode.currentText() != mode:
            self.mode.setCurrentText(mode)  # re-enters through currentTextChanged
            return
        if self.result_path:
            self._apply_mode(mode if self.source_path else COMPARE_MODES[0])

    def _apply_mode(self, mode: str) -> None:
        if mode == COMPARE_MODES[0] or not self.source_path:
            if self.compare.zoom is not None and self.result_path:
                self._route_single_to_compare()
                post(self.source_player, "pause")
                return
            self.source_player.setVideoOutput(None)
            self.player.setVideoOutput(self.video)
            self.stack.setCurrentWidget(self.video)
            post(self.source_player, "pause")
            return
        self.compare.mode = mode
        self.player.setVideoOutput(self.compare.result_sink)
        self.source_player.setVideoOutput(self.compare.source_sink)
        self.stack.setCurrentWidget(self.compare)
        _seek(self.source_player, self.player.position())
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            post(self.source_player, "play")
        self.compare.update()

    def current_image(self) -> QImage:
        """The frame on screen in the single view (QVideoWidget draws into a native window
        that `grab()` cannot see, so screenshots paint this in)."""
        if self._video is None:
            return QImage()
        sink = self._video.videoSink()
        frame = sink.videoFrame() if sink is not None else QVideoFrame()
        return frame.toImage() if frame.isValid() else QImage()

    @property
    def comparing(self) -> bool:
        """Two pictures on screen (the source player follows the result's)."""
        return self.stack.currentWidget() is self.compare and self.compare.mode != SINGLE

    # ---- transport -----------------------------------------------------------------------
    def at_end(self) -> bool:
        if self._player is None:
            return False
        dur = self.player.duration()
        return dur > 0 and self.player.position() >= dur - 1.5 * self.frame_ms()

    def play(self) -> None:
        self._first_frame_pending = False  # asked to play before the media had loaded
        if self._player is None:
            return  # nothing loaded yet: nothing to play
        if self.at_end() and self.player.loops() == QMediaPlayer.Loops.Once:
            _seek(self.player, 0)  # Play on the held last frame starts again
        post(self.player, "play")
        if self.comparing:
            _seek(self.source_player, self.player.position())
            post(self.source_player, "play")

    def pause(self) -> None:
        for player in self._players():
            post(player, "pause")

    def toggle_play(self) -> None:
        if self._player is None:
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.pause()
        else:
            self.play()

    def seek(self, ms: int) -> None:
        """Scrub both players to the same time."""
        if self._player is None:
            return
        _seek(self.player, ms)
        if self.comparing:
            _seek(self.source_player, min(ms, max(0, self.source_player.duration())))

    def set_rate(self, rate: float) -> None:
        self._rate = float(rate)
        for player in self._players():
            post(player, "setPlaybackRate", Q_ARG(float, float(rate)))

    def set_loop(self, on: bool) -> None:
        loops = QMediaPlayer.Loops.Infinite if on else QMediaPlayer.Loops.Once
        self._loops = loops
        for player in self._players():
            player.setLoops(loops)
        if self.loop_btn.isChecked() != on:
            self.loop_btn.setChecked(on)

    def frame_ms(self) -> float:
        if self._player is None:
            return 1000.0 / 24
        fps = self.player.metaData().value(QMediaMetaData.Key.VideoFrameRate)
        try:
            fps = float(fps)
        except (TypeError, ValueError):
            fps = 0.0
        return 1000.0 / fps if fps > 0 else 1000.0 / 24

    def step(self, frames: int) -> None:
        """Pause and move by whole frames."""
        if self._player is None:
            return
        self.pause()
        target = round(self.player.position() + frames * self.frame_ms())
        self.seek(max(0, min(target, self.player.duration())))

    # ---- player feedback -----------------------------------------------------------------
    def _scrub_start(self) -> None:
        self._scrubbing = True

    def _scrub_end(self) -> None:
        self._scrubbing = False
        self.seek(self.slider.value())

    def _on_scrub_value(self, ms: int) -> None:
        if not self._scrubbing and self.result_path is not None:
            self.seek(ms)

    def _on_duration(self, ms: int) -> None:
        if self.result_path is not None:
            with QSignalBlocker(self.slider):
                self.slider.setRange(0, max(0, ms))
        self._update_time()

    def _on_position(self, ms: int) -> None:
        if not self._scrubbing and self.result_path is not None:
            with QSignalBlocker(self.slider):
                self.slider.setValue(ms)
        if self.comparing and abs(self.source_player.position() - ms) > 250 \
                and ms <= self.source_player.duration():
            _seek(self.source_player, ms)
        self._update_time()

    def _clear_time(self) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, 0)
            self.slider.setValue(0)
        self.time.setText(NO_TIME)

    def _update_time(self) -> None:
        if self.result_path is None:  # the player's last word on a take no longer shown
            self._clear_time()
            return
        pos, dur = self.player.position(), self.player.duration()
        self.time.setText(f"{present.duration_text(pos / 1000)} / "
                          f"{present.duration_text(dur / 1000)}")

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_btn.setAccessibleName("Pause" if playing else "Play")
        self.play_btn.setToolTip("Pause (Space)" if playing else "Play (Space)")
        self.play_btn.setIcon(icon("pause" if playing else "play"))
        if not playing and self.comparing:
            post(self.source_player, "pause")

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.LoadedMedia and self._first_frame_pending:
            self._first_frame_pending = False
            if self.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState:
                self.show_first_frame()
        if status == QMediaPlayer.MediaStatus.EndOfMedia and self.result_path is not None:
            self.hold_last_frame()
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            self.message.setText(f"This file cannot be played: {self.player.errorString()}")
            self.stack.setCurrentWidget(self.message)

    def hold_last_frame(self) -> None:
        """At the end of the media the player stops (and its video output goes black): go
        back to the last frame, paused, so the picture stays."""
        last = max(0, round(self.player.duration() - self.frame_ms()))
        _seek(self.player, last)
        post(self.player, "pause")
        if self.comparing:
            _seek(self.source_player, min(last, max(0, self.source_player.duration())))
            post(self.source_player, "pause")
