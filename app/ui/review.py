"""A/B review of any two takes: side by side, wipe (a draggable divider) or flicker (A and B in
turn, at an interval or by key), one transport driving both players (play, pause, seek and
frame step keep them together), zoom and 1:1 shared by both pictures, each one's last frame held
at its end.

`install(window)` connects the history's "Compare A/B" (two takes selected, or the parameter
comparison's button) to `Review.open`; one review window is open at a time, so at most two
players exist for it, created with the window and released (stopped, emptied, deleted on the
GUI thread) when it closes. The sound is one take's at a time, chosen in the window (A, B or
none; the A, B and M keys, H for the other take) and kept for the next review while the app
runs. The history's full-width view also lives here: the queue and the
preview column step aside while it is on, and come back when a take is played or another page
is chosen.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

from PySide6.QtCore import Q_ARG, QEvent, QObject, QSignalBlocker, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtMultimedia import QAudioOutput, QMediaMetaData, QMediaPlayer
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.client import present
from app.ui import qtlog
from app.ui.compat import post
from app.ui.icons import icon
from app.ui.preview import FLICKER, NO_TIME, ZOOM_STEP, CompareView, ScrubBar

MODES = ("Side by side", "Wipe", FLICKER)
FLICKER_MS = 500  # A, then B, each shown this long (0: only by the F key)
SYNC_SLACK_MS = 60  # while playing, B is put back on A's time when it drifts further
DEFAULT_FPS = 24.0
TILE_SETTING = "history_tile_scale"  # window.json: the history's tile size
SOUNDS = ("A", "B", "Mute")  # whose sound is heard
SOUND_TIPS = {"A": "Hear take A (A)", "B": "Hear take B (B)", "Mute": "No sound (M)"}


def _seek(player: QMediaPlayer, ms: int) -> None:
    post(player, "setPosition", Q_ARG("qint64", int(ms)))


def label_of(job: Any, letter: str) -> str:
    return f"{letter} · {present.task_title(job.model_id)} · " \
           f"{present.excerpt(present.take_words(job), 40)}"


class ReviewWindow(QWidget):
    """Two takes played in step in one view."""

    closed = Signal()

    sound_changed = Signal(str)  # one of SOUNDS

    def __init__(self, a: Any, b: Any, parent: QWidget | None = None,
                 sound: str = SOUNDS[0]) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("reviewWindow")
        self.setWindowTitle("Compare A/B")
        self.jobs = (a, b)
        self.view = CompareView(self, labels=(label_of(a, "A"), label_of(b, "B")))
        self.view.setObjectName("reviewView")
        self.view.mode = MODES[0]
        qtlog.before_media()
        self.player_a = QMediaPlayer(self)
        self.player_b = QMediaPlayer(self)
        # one output each, muted but the chosen one's: a switch is a mute flag, the players'
        # outputs never change while they play
        self.audio_a = QAudioOutput(self)
        self.audio_b = QAudioOutput(self)
        self.player_a.setAudioOutput(self.audio_a)
        self.player_b.setAudioOutput(self.audio_b)
        self._sound = ""
        self.player_a.setVideoOutput(self.view.source_sink)
        self.player_b.setVideoOutput(self.view.result_sink)
        self._scrubbing = False
        self._released = False
        self.flicker_timer = QTimer(self)
        self.flicker_timer.timeout.connect(self.toggle_ab)
        self._build()
        self.set_sound(sound if sound in SOUNDS else SOUNDS[0])
        for player in self.players:
            player.mediaStatusChanged.connect(
                lambda status, p=player: self._on_status(p, status))
        self.player_a.durationChanged.connect(self._on_duration)
        self.player_b.durationChanged.connect(self._on_duration)
        self.player_a.positionChanged.connect(self._on_position)
        self.player_a.playbackStateChanged.connect(self._on_state)
        for player, job in zip(self.players, self.jobs, strict=True):
            post(player, "setSource", Q_ARG(QUrl, QUrl.fromLocalFile(str(job.result_path))))
            post(player, "pause")  # paused on frame one: two pictures, not two black boxes
        self.resize(1000, 560)

    @property
    def players(self) -> tuple[QMediaPlayer, QMediaPlayer]:
        return self.player_a, self.player_b

    # ---- layout --------------------------------------------------------------------------
    def _tool(self, text: str, tip: str, checkable: bool = False,
              icon_name: str | None = None) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAccessibleName(text or tip)
        b.setCheckable(checkable)
        b.setAutoRaise(True)
        if icon_name:
            b.setIcon(icon(icon_name))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            b.setAccessibleName(tip)
        return b

    def _build(self) -> None:
        self.mode_group = QButtonGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_buttons: dict[str, QToolButton] = {}
        head = QHBoxLayout()
        keys = {"Side by side": "S", "Wipe": "W", FLICKER: "F to switch now"}
        for mode in MODES:
            b = self._tool(mode, f"{mode} ({keys[mode]})", checkable=True)
            b.setObjectName(f"mode:{mode}")
            self.mode_group.addButton(b)
            self.mode_buttons[mode] = b
            b.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            head.addWidget(b)
        self.mode_buttons[MODES[0]].setChecked(True)
        self.flicker_ms = QSpinBox(self)
        self.flicker_ms.setRange(0, 5000)
        self.flicker_ms.setSingleStep(100)
        self.flicker_ms.setValue(FLICKER_MS)
        self.flicker_ms.setSuffix(" ms")
        self.flicker_ms.setSpecialValueText("by key (F)")
        self.flicker_ms.setToolTip("Flicker: how long A and B are each shown (0: switch with F)")
        self.flicker_ms.valueChanged.connect(lambda _v: self._restart_flicker())
        head.addWidget(QLabel("Flicker every", self))
        head.addWidget(self.flicker_ms)
        head.addSpacing(12)
        head.addLayout(self._build_sound())
        head.addStretch(1)
        self.fit_btn = self._tool("Fit", "Fit both pictures to the view (0)", checkable=True)
        self.fit_btn.setChecked(True)
        self.fit_btn.clicked.connect(lambda: self.view.set_zoom(None))
        self.one_btn = self._tool("1:1", "One source pixel per screen pixel (1)", checkable=True)
        self.one_btn.clicked.connect(lambda: self.view.set_zoom(1.0))
        self.view.zoom_changed.connect(self._on_zoom)
        head.addWidget(self.fit_btn)
        head.addWidget(self.one_btn)

        self.play_btn = self._tool("", "Play both (Space)", icon_name="play")
        self.play_btn.clicked.connect(self.toggle_play)
        self.back_btn = self._tool("", "One frame back (,)", icon_name="step-back")
        self.back_btn.clicked.connect(lambda: self.step(-1))
        self.fwd_btn = self._tool("", "One frame forward (.)", icon_name="step-forward")
        self.fwd_btn.clicked.connect(lambda: self.step(1))
        self.slider = ScrubBar(self)
        self.slider.setObjectName("reviewScrub")
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.slider.sliderPressed.connect(self._scrub_start)
        self.slider.sliderReleased.connect(self._scrub_end)
        self.slider.sliderMoved.connect(self.seek)
        self.slider.valueChanged.connect(self._on_scrub_value)
        self.time = QLabel(NO_TIME, self)
        self.time.setObjectName("reviewTime")
        bar = QHBoxLayout()
        for w in (self.play_btn, self.back_btn, self.fwd_btn):
            bar.addWidget(w)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.time)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(head)
        lay.addWidget(self.view, 1)
        lay.addLayout(bar)

        for key, slot in ((Qt.Key.Key_Space, self.toggle_play),
                          (Qt.Key.Key_Comma, lambda: self.step(-1)),
                          (Qt.Key.Key_Period, lambda: self.step(1)),
                          (Qt.Key.Key_S, lambda: self.set_mode(MODES[0])),
                          (Qt.Key.Key_W, lambda: self.set_mode("Wipe")),
                          (Qt.Key.Key_F, self._flicker_key),
                          (Qt.Key.Key_A, lambda: self.set_sound("A")),
                          (Qt.Key.Key_B, lambda: self.set_sound("B")),
                          (Qt.Key.Key_M, lambda: self.set_sound("Mute")),
                          (Qt.Key.Key_H, self.toggle_sound),
                          (Qt.Key.Key_Plus, lambda: self.view.zoom_by(ZOOM_STEP)),
                          (Qt.Key.Key_Equal, lambda: self.view.zoom_by(ZOOM_STEP)),
                          (Qt.Key.Key_Minus, lambda: self.view.zoom_by(1 / ZOOM_STEP)),
                          (Qt.Key.Key_0, lambda: self.view.set_zoom(None)),
                          (Qt.Key.Key_1, lambda: self.view.set_zoom(1.0)),
                          (Qt.Key.Key_Escape, self.close)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)

    def _build_sound(self) -> QHBoxLayout:
        """Sound: A | B | Mute, the one heard checked, and said in words beside them."""
        self.sound_group = QButtonGroup(self)
        self.sound_group.setExclusive(True)
        self.sound_buttons: dict[str, QToolButton] = {}
        row = QHBoxLayout()
        row.setSpacing(2)
        row.addWidget(QLabel("Sound", self))
        for choice in SOUNDS:
            b = self._tool(choice, SOUND_TIPS[choice], checkable=True)
            b.setObjectName(f"sound:{choice}")
            self.sound_group.addButton(b)
            self.sound_buttons[choice] = b
            b.clicked.connect(lambda _=False, c=choice: self.set_sound(c))
            row.addWidget(b)
        self.sound_label = QLabel(self)
        self.sound_label.setObjectName("reviewSound")
        row.addWidget(self.sound_label)
        return row

    # ---- sound ---------------------------------------------------------------------------
    def sound(self) -> str:
        return self._sound

    def set_sound(self, choice: str) -> None:
        """Hear take A, take B, or neither (the other output is muted, not detached)."""
        if choice not in SOUNDS:
            raise ValueError(f"unknown A/B sound {choice!r}")
        for letter, audio in (("A", self.audio_a), ("B", self.audio_b)):
            post(audio, "setMuted", Q_ARG(bool, choice != letter))
        with QSignalBlocker(self.sound_group):
            self.sound_buttons[choice].setChecked(True)
        self.sound_label.setText("muted" if choice == "Mute" else f"hearing {choice}")
        if choice != self._sound:
            self._sound = choice
            self.sound_changed.emit(choice)

    def toggle_sound(self) -> None:
        """H: the other take's sound (from mute: A's)."""
        self.set_sound("B" if self._sound == "A" else "A")

    # ---- modes ---------------------------------------------------------------------------
    def mode(self) -> str:
        return self.view.mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown A/B mode {mode!r}")
        self.view.mode = mode
        with QSignalBlocker(self.mode_group):
            self.mode_buttons[mode].setChecked(True)
        self._restart_flicker()
        self.view.update()

    def _restart_flicker(self) -> None:
        self.flicker_timer.stop()
        if self.view.mode == FLICKER and self.flicker_ms.value() > 0:
            self.flicker_timer.start(self.flicker_ms.value())

    def _flicker_key(self) -> None:
        """F: into flicker mode, or (already there) show the other take now."""
        if self.view.mode != FLICKER:
            self.set_mode(FLICKER)
        else:
            self.toggle_ab()
            self._restart_flicker()  # the interval counts again from the switch

    def toggle_ab(self) -> None:
        self.view.flicker_b = not self.view.flicker_b
        self.view.update()

    def _on_zoom(self, zoom: float | None) -> None:
        self.fit_btn.setChecked(zoom is None)
        self.one_btn.setChecked(zoom is not None and abs(zoom - 1.0) < 1e-6)

    # ---- transport: A drives, B follows ------------------------------------------------
    def duration(self) -> int:
        return max(self.player_a.duration(), self.player_b.duration())

    def frame_ms(self) -> float:
        fps = self.player_a.metaData().value(QMediaMetaData.Key.VideoFrameRate)
        try:
            fps = float(fps)
        except (TypeError, ValueError):
            fps = 0.0
        return 1000.0 / (fps if fps > 0 else DEFAULT_FPS)

    def playing(self) -> bool:
        return self.player_a.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def play(self) -> None:
        end = self.duration() - 1.5 * self.frame_ms()
        if self.duration() > 0 and self.player_a.position() >= end:
            self.seek(0)  # Play on the held last frames starts both again
        for player in self.players:
            post(player, "play")

    def pause(self) -> None:
        for player in self.players:
            post(player, "pause")

    def toggle_play(self) -> None:
        if self.playing():
            self.pause()
        else:
            self.play()

    def seek(self, ms: int) -> None:
        """Both players to the same time (each within its own length)."""
        for player in self.players:
            dur = player.duration()
            _seek(player, max(0, min(int(ms), dur if dur > 0 else int(ms))))

    def step(self, frames: int) -> None:
        """Pause both and move both by whole frames from A's time."""
        self.pause()
        target = round(self.player_a.position() + frames * self.frame_ms())
        self.seek(max(0, min(target, self.duration())))

    def _scrub_start(self) -> None:
        self._scrubbing = True

    def _scrub_end(self) -> None:
        self._scrubbing = False
        self.seek(self.slider.value())

    def _on_scrub_value(self, ms: int) -> None:
        if not self._scrubbing:
            self.seek(ms)

    def _on_duration(self, _ms: int) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, max(0, self.duration()))
        self._update_time()

    def _on_position(self, ms: int) -> None:
        if not self._scrubbing:
            with QSignalBlocker(self.slider):
                self.slider.setValue(ms)
        b = self.player_b
        if self.playing() and abs(b.position() - ms) > SYNC_SLACK_MS and ms <= b.duration():
            _seek(b, ms)
        self._update_time()

    def _update_time(self) -> None:
        pos, dur = self.player_a.position(), self.duration()
        self.time.setText(f"{present.duration_text(pos / 1000)} / "
                          f"{present.duration_text(dur / 1000)}")

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_btn.setIcon(icon("pause" if playing else "play"))
        self.play_btn.setToolTip("Pause both (Space)" if playing else "Play both (Space)")
        self.play_btn.setAccessibleName("Pause" if playing else "Play")

    def _on_status(self, player: QMediaPlayer, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.EndOfMedia:
            # the view keeps the last picture; the player is put back on it, paused, so a
            # seek or a step from here starts where the eye is
            _seek(player, max(0, round(player.duration() - self.frame_ms())))
            post(player, "pause")
            if player is self.player_a:
                other = self.player_b
                if other.playbackState() == QMediaPlayer.PlaybackState.PlayingState \
                        and other.duration() > player.duration():
                    return  # B is longer: it plays on to its own end
                post(other, "pause")

    # ---- release -------------------------------------------------------------------------
    def release(self) -> None:
        """Stop and empty both players, detach them from the view (GUI thread; idempotent)."""
        if self._released:
            return
        self._released = True
        self.flicker_timer.stop()
        for player in self.players:
            post(player, "stop")
            post(player, "setSource", Q_ARG(QUrl, QUrl()))
            # no synchronous setVideoOutput(None): with a frame being delivered it waits for
            # the render thread, which waits for the GIL this call holds (a hang); the player
            # is deleted from the event loop after the posted stop
            player.deleteLater()
        self.audio_a.deleteLater()
        self.audio_b.deleteLater()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.release()
        self.closed.emit()
        super().closeEvent(event)


class Review(QObject):
    """The window's A/B review: at most one ReviewWindow open, and the full-width history."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = weakref.ref(window)  # weakly: no cycle window → this → window
        self.dialog: ReviewWindow | None = None
        self.sound = SOUNDS[0]  # the last review's choice, for the next one (this run only)
        history = window.history
        history.compare_ab_requested.connect(self.open)
        history.full_width_toggled.connect(self.set_full_width)
        history.play_requested.connect(self._on_play)
        window.center.currentChanged.connect(self._on_page)
        # the tile size is remembered with the window (its settings are in memory: no I/O here)
        scale = window.settings.get(TILE_SETTING)
        if isinstance(scale, (int, float)) and not isinstance(scale, bool):
            history.set_tile_scale(float(scale))
        history.tile_size.valueChanged.connect(self._remember_tiles)
        self._small_scale: float | None = None  # the size before full width made tiles bigger
        window.installEventFilter(self)  # the window closing closes the review (its players)

    @property
    def window(self) -> Any:
        window = self._window()
        if window is None:
            raise RuntimeError("the review outlived its window")
        return window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close and obj is self._window():
            self.close()
        return False

    def _remember_tiles(self, _index: int) -> None:
        self.window.settings.set(TILE_SETTING, self.window.history.delegate.scale)

    def _on_play(self, _job: Any) -> None:
        self.set_full_width(False)  # the preview plays it: it comes back

    def open(self, a: Any, b: Any) -> ReviewWindow | None:
        """A/B of two takes with files; a review already open is closed first (two players)."""
        if a is None or b is None or not a.result_path or not b.result_path:
            self.window.history.message.emit("Compare A/B needs two takes with a file each.")
            return None
        self.close()
        dialog = ReviewWindow(a, b, self.window, sound=self.sound)
        dialog.sound_changed.connect(self._remember_sound)
        dialog.closed.connect(self._on_closed)
        self.dialog = dialog
        dialog.show()
        dialog.raise_()
        return dialog

    def _remember_sound(self, choice: str) -> None:
        self.sound = choice

    def _on_closed(self) -> None:
        if self.dialog is not None and self.sender() is self.dialog:
            self.dialog = None

    def close(self) -> None:
        if self.dialog is not None:
            dialog, self.dialog = self.dialog, None
            with contextlib.suppress(RuntimeError):  # already deleted with its window
                dialog.close()

    # ---- full-width history ------------------------------------------------------------
    def set_full_width(self, on: bool) -> None:
        """The history alone beside the task list (the queue and the preview step aside), its
        tiles one size bigger while the smallest size was chosen; off puts both back."""
        w = self.window
        on = bool(on) and w.center.currentWidget() is w.history
        if on == (not w.right.isVisible()) and on == w.history.full_btn.isChecked():
            return
        w.right.setVisible(not on)
        w.history.set_full_width_checked(on)
        delegate = w.history.delegate
        if on and delegate.scale == delegate.SCALES[0]:
            self._small_scale = delegate.scale
            w.history.set_tile_scale(delegate.SCALES[1])
        elif not on and self._small_scale is not None:
            if delegate.scale == delegate.SCALES[1]:  # not changed by hand meanwhile
                w.history.set_tile_scale(self._small_scale)
            self._small_scale = None

    def _on_page(self, _index: int) -> None:
        if self.window.center.currentWidget() is not self.window.history:
            self.set_full_width(False)


def install(window: Any) -> Review:
    """Attach the A/B review to the window (idempotent, no I/O)."""
    existing = getattr(window, "review", None)
    if isinstance(existing, Review):
        return existing
    return Review(window)
