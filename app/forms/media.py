"""Media fields: drop zones taking files, pasted paths/URLs or a file dialog; tagged items with a
thumbnail, probed facts, reorder/remove, and the reason in red when a limit breaks.

In a list, an item is dragged to a new place inside its zone (press, move past the drag
distance, release between two items; a marker shows where it goes; Esc cancels), or moved with
Alt+Up / Alt+Down (Ctrl+Shift+Up / Down) from any of its buttons. After a reorder, a removal or
an undone removal, the prompts' mentions of the field (@Image2…) follow their references
(app.catalog.mentions, app.forms.prompt.follow_mentions); a removed reference's mentions are
left pointing at nothing, and the field says so.

A local video or audio item has a play control: the clip plays in its thumbnail (audio is heard).
Its player is made on the first press, one in the whole app at a time (starting another
releases the one before), and released (stopped, emptied, deleted on the GUI thread) when it
ends, is stopped, or its item goes. A video field that a keyframe field depends on (Swap's
`keyframe_id`) shows the frame the keyframe points at beside the clip, decoded off the GUI
thread."""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Q_ARG, QMetaObject, QMimeData, QObject, QPoint, QSize, Qt, QUrl
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.catalog.media import (
    FORMAT_LABELS,
    MB,
    MediaInfo,
    MediaRule,
    ProbeError,
    fmt_mb,
    is_remote,
    local_path,
)
from app.catalog.mentions import DANGLING, order_mapping
from app.catalog.specs import FieldSpec
from app.catalog.validate import Issue
from app.forms.base import (
    OMIT,
    Editor,
    EditorContext,
    FormState,
    IssueLabel,
    relative,
)
from app.forms.folders import FOLDERS
from app.forms.probing import THUMB_H, THUMB_W
from app.forms.widgets import FOCUS_RING, ElidingLabel, ItemButton
from app.media.probe import sniff
from app.ui import qtlog
from app.ui.icons import icon
from app.ui.palette import colour, qcolor, styled, tint

if TYPE_CHECKING:  # Qt Multimedia (~25 ms to import) only when a clip plays, not for a form
    from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame

_EXTENSIONS = {"jpeg": "*.jpg *.jpeg", "mp3": "*.mp3", "wav": "*.wav"}
_NOUNS = {"audio": "audio clip"}
KIND_ICON_SIDE = 32  # the placeholder icon in the thumbnail box until the thumbnail is made
KEYFRAME_FPS = 24  # a keyframe number counts frames at 24 per second (app.catalog.rules)


def _post(obj: QObject, method: str, *args: Any) -> None:
    """A Qt Multimedia slot called from the event loop (see app.ui.compat.post: a direct
    stop() can deadlock with the FFmpeg backend's threads over the GIL)."""
    QMetaObject.invokeMethod(obj, method, Qt.ConnectionType.QueuedConnection, *args)


class ClipPlayer(QObject):
    """Plays one reference clip in its item: video frames into the item's thumbnail, sound to
    the default output. Made on demand; `release()` stops and deletes it (GUI thread)."""

    active: ClipPlayer | None = None  # at most one in the app

    def __init__(self, item: MediaItem, path: str) -> None:
        super().__init__(item)
        if ClipPlayer.active is not None:
            ClipPlayer.active.release()
        ClipPlayer.active = self
        self._item = weakref.ref(item)  # weakly: the item holds this while it plays
        self.path = path
        self.released = False
        qtlog.before_media()
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer, QVideoSink

        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.sink = QVideoSink(self)
        self.player.setVideoOutput(self.sink)
        self.sink.videoFrameChanged.connect(self._on_frame)
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.errorOccurred.connect(self._on_error)
        self.frames = 0  # frames painted into the thumbnail
        _post(self.player, "setSource", Q_ARG(QUrl, QUrl.fromLocalFile(path)))
        _post(self.player, "play")

    def _on_frame(self, frame: QVideoFrame) -> None:
        image = frame.toImage() if frame.isValid() else QImage()
        item = self._item()
        if not image.isNull() and not self.released and item is not None:
            self.frames += 1
            item.show_frame(image)

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        if status in (QMediaPlayer.MediaStatus.EndOfMedia, QMediaPlayer.MediaStatus.InvalidMedia):
            self.release()

    def _on_error(self, _error: QMediaPlayer.Error, text: str) -> None:
        item = self._item()
        if not self.released and item is not None:
            item.owner.show_refusals([f"{_display_name(self.path)} cannot be played: "
                                           f"{text or 'unknown error'}"])
            self.release()

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if ClipPlayer.active is self:
            ClipPlayer.active = None
        _post(self.player, "stop")
        _post(self.player, "setSource", Q_ARG(QUrl, QUrl()))
        # no synchronous player call here (setVideoOutput(None) hung the GUI thread: the
        # backend's render thread, delivering a frame, waited for the GIL this call held);
        # `released` makes late frames no-ops, and the player goes with this object below
        item = self._item()
        if item is not None:
            item.on_playback_ended(self)
        self.deleteLater()  # after the calls posted above (events run in order)


def keyframe_picture(path: str, frame: int, size: QSize) -> QImage:
    """Frame `frame` (1-based, at 24 per second) of a video, fit into `size` (a worker thread:
    QImage only)."""
    import av

    at = max(0, frame - 1) / KEYFRAME_FPS
    with av.open(path) as container:
        stream = container.streams.video[0]
        if at > 0 and stream.time_base:
            container.seek(int(at / stream.time_base), stream=stream)
        chosen = None
        for decoded in container.decode(stream):
            chosen = decoded
            if decoded.time is None or decoded.time >= at - 0.5 / KEYFRAME_FPS:
                break  # a seek lands on the keyframe before the time: decode up to it
        if chosen is None:
            raise ValueError(f"no video frame in {Path(path).name}")
        arr = chosen.reformat(format="rgb24").to_ndarray()
        h, w, _ = arr.shape
        image = QImage(arr.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


_keyframe_workers: Any = None


def keyframe_workers() -> Any:
    """One worker for keyframe pictures, shared by every form (made on first use)."""
    global _keyframe_workers
    if _keyframe_workers is None:
        from PySide6.QtWidgets import QApplication

        from app.ui.workers import Workers

        _keyframe_workers = Workers(1, QApplication.instance())
    return _keyframe_workers

ITEM_STYLE = """
QFrame#mediaItem { border: 1px solid $border; border-radius: 6px; background: $item; }
QFrame#mediaItem[bad="true"] { border: 1px solid $error; background: $error_soft; }
QFrame#mediaItem[dragging="true"] { border: 2px solid $accent; }
QFrame#dropMarker { background: $accent; border: none; border-radius: 1px; }
QFrame#dropZone { border: 1px dashed $drop_border; border-radius: 6px; background: $drop; }
QFrame#dropZone[hover="true"] { border: 2px dashed $accent; background: $drop_hover; }
""" + FOCUS_RING


def describe(info: MediaInfo) -> str:
    """'1280×720 · 4.00 s · 24 fps · MP4 · 1.2 MB'."""
    parts: list[str] = []
    if info.width and info.height:
        parts.append(f"{info.width}×{info.height}")
    if info.duration_s is not None and info.kind != "image":
        parts.append(f"{info.duration_s:.2f} s")
    if info.fps:
        parts.append(f"{info.fps:g} fps")
    parts.append(FORMAT_LABELS.get(info.format, info.format.upper()))
    parts.append(fmt_size(info.size_bytes))
    if info.kind == "video" and info.has_audio:
        parts.append("audio")
    return " · ".join(parts)


def fmt_size(size_bytes: int) -> str:
    """'850 KB' below 1 MB (where '0.0 MB' would say nothing), else '12.3 MB'."""
    if size_bytes < MB:
        return f"{max(1, round(size_bytes / 1000))} KB"
    return fmt_mb(size_bytes)


def refusal(value: str, rule: MediaRule, existing: list[str]) -> str | None:
    """Why a dropped or pasted value cannot go in this field (None: it can)."""
    if value in existing:
        return "it is already in the list"
    if is_remote(value):
        return None
    path = local_path(value)
    if not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "it is a folder, not a file"
    try:
        with open(path, "rb") as fh:
            found = sniff(fh.read(64))
    except OSError as e:
        return f"it cannot be opened ({e.strerror or e})"
    if found is None:
        return "not an image, video or audio file this app can read"
    kind, fmt = found
    if kind != rule.kind and fmt not in rule.formats:
        return f"it is {'an' if kind[0] in 'aeiou' else 'a'} {kind}; this field takes {rule.kind}s"
    return None


def values_from_mime(mime: QMimeData) -> list[str]:
    if mime.hasUrls():
        out = []
        for url in mime.urls():
            out.append(url.toLocalFile() if url.isLocalFile() else url.toString())
        return [v for v in out if v]
    if mime.hasText():
        return [clean_pasted(line) for line in mime.text().splitlines() if line.strip()]
    return []


def clean_pasted(text: str) -> str:
    text = text.strip().strip("'\"")
    if text.startswith("file://"):
        return QUrl(text).toLocalFile()
    if text.startswith("~"):
        return os.path.expanduser(text)
    return text


class MediaItem(QFrame):
    """One file in a media field."""

    def __init__(self, owner: MediaEditor, index: int, value: str) -> None:
        super().__init__(owner)
        self.owner = owner
        self.value = value
        self.setObjectName("mediaItem")
        self.setProperty("bad", False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(10)
        self.thumb = QLabel(self)
        self.thumb.setObjectName("thumbnail")
        self.thumb.setFixedSize(THUMB_W, THUMB_H)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet(f"background: {colour('thumb')}; border-radius: 4px;")
        kind = owner.rule.kind if owner.rule.kind in ("image", "video", "audio") else "image"
        self.thumb.setPixmap(icon(kind, "muted").pixmap(KIND_ICON_SIDE, KIND_ICON_SIDE))
        self.thumb.setToolTip(f"{kind.capitalize()}: its thumbnail is being made")
        layout.addWidget(self.thumb)
        text = QVBoxLayout()
        text.setSpacing(1)
        head = QHBoxLayout()
        head.setSpacing(6)
        self.tag = QLabel(self)
        self.tag.setObjectName("tag")
        self.tag.setStyleSheet(f"color: {colour('accent')}; font-weight: 600;")
        self.name = ElidingLabel("", self)
        self.name.setText(_display_name(value))
        self.name.setToolTip(value)
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        head.addWidget(self.tag)
        head.addWidget(self.name, 1)
        self.facts = QLabel(self)
        self.facts.setObjectName("facts")
        self.facts.setStyleSheet(f"color: {colour('muted')}; font-size: 11px;")
        self.problem = QLabel(self)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {colour('error')}; font-size: 11px;")
        self.problem.hide()
        text.addLayout(head)
        text.addWidget(self.facts)
        text.addWidget(self.problem)
        text.addStretch(1)
        layout.addLayout(text, 1)
        buttons = QVBoxLayout()
        buttons.setSpacing(2)
        self.up = self._button("▲", "Move up", lambda: owner.move(self.index, -1))
        self.down = self._button("▼", "Move down", lambda: owner.move(self.index, 1))
        self.remove = self._button("✕", "Remove", lambda: owner.remove_at(self.index))
        for b in (self.up, self.down, self.remove):
            buttons.addWidget(b)
        buttons.addStretch(1)
        # the frame a keyframe field points at (Swap), beside the clip; hidden until asked
        self.keyframe = QLabel(self)
        self.keyframe.setObjectName("keyframeThumb")
        self.keyframe.setFixedSize(THUMB_W, THUMB_H)
        self.keyframe.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.keyframe.setStyleSheet(f"background: {colour('thumb')}; border-radius: 4px;")
        self.keyframe.hide()
        self.keyframe_shown: tuple[str, int] | None = None  # (path, frame) on screen
        layout.insertWidget(1, self.keyframe)
        # a local clip or sound plays here (its player made on the first press)
        self.play: ItemButton | None = None
        self.clip_player: ClipPlayer | None = None
        self._still: QPixmap | None = None  # the thumbnail to put back when playback ends
        if kind in ("video", "audio") and not is_remote(value):
            self.play = ItemButton(self)
            self.play.setObjectName("play")
            self.play.setIcon(icon("play"))
            self.play.setToolTip("Play (Space or Enter)")
            self.play.setAccessibleName(f"Play {_display_name(value)}")
            self.play.setFixedSize(QSize(24, 22))
            self.play.clicked.connect(self.toggle_play)
            buttons.insertWidget(0, self.play)
        layout.addLayout(buttons)
        self.index = index
        self.has_thumbnail = False
        self.destroyed.connect(_release_active_if_gone)
        self.setProperty("dragging", False)
        self._press: QPoint | None = None  # where a press that may become a drag began
        for keys, step in ((("Alt+Up", "Ctrl+Shift+Up"), -1),
                           (("Alt+Down", "Ctrl+Shift+Down"), 1)):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(lambda s=step: owner.move(self.index, s))

    # ---- reorder by drag ---------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and len(self.owner.items) > 1:
            self._press = event.position().toPoint()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        owner = self.owner
        if self._press is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        at = event.position().toPoint()
        if owner.dragging is None and \
                (at - self._press).manhattanLength() >= QApplication.startDragDistance():
            owner.begin_reorder(self)
        if owner.dragging is self:
            owner.drag_to(self.mapTo(owner, at))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press = None
        if self.owner.dragging is self and event.button() == Qt.MouseButton.LeftButton:
            self.owner.end_reorder()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.owner.dragging is self:
            self._press = None
            self.owner.cancel_reorder()
            event.accept()
            return
        super().keyPressEvent(event)

    def set_dragging(self, on: bool) -> None:
        self.setProperty("dragging", on)
        self.style().unpolish(self)
        self.style().polish(self)

    # ---- playback ------------------------------------------------------------------------
    def playing(self) -> bool:
        return self.clip_player is not None and not self.clip_player.released

    def toggle_play(self) -> None:
        if self.playing():
            assert self.clip_player is not None
            self.clip_player.release()
            return
        pix = self.thumb.pixmap()
        self._still = QPixmap(pix) if pix is not None and not pix.isNull() else None
        self.clip_player = ClipPlayer(self, local_path(self.value))
        if self.play is not None:
            self.play.setIcon(icon("pause"))
            self.play.setToolTip("Stop (Space or Enter)")
            self.play.setAccessibleName(f"Stop {_display_name(self.value)}")

    def show_frame(self, image: QImage) -> None:
        self.thumb.setPixmap(QPixmap.fromImage(image).scaled(
            self.thumb.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def on_playback_ended(self, player: ClipPlayer) -> None:
        if self.clip_player is not player:
            return
        self.clip_player = None
        if self._still is not None:
            self.thumb.setPixmap(self._still)
        if self.play is not None:
            self.play.setIcon(icon("play"))
            self.play.setToolTip("Play (Space or Enter)")
            self.play.setAccessibleName(f"Play {_display_name(self.value)}")

    def set_keyframe(self, frame: int | None, image: QImage | None = None) -> None:
        """Show (or hide, None) the keyframe's picture and number."""
        if frame is None:
            self.keyframe.hide()
            self.keyframe_shown = None
            return
        self.keyframe.show()
        self.keyframe.setToolTip(f"Keyframe {frame}: the frame at "
                                 f"{(frame - 1) / KEYFRAME_FPS:.2f} s")
        if image is not None and not image.isNull():
            pix = QPixmap.fromImage(image).scaled(
                self.keyframe.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation)
            p = QPainter(pix)  # its number on a shade along the top, over the picture
            fm = p.fontMetrics()
            p.fillRect(0, 0, pix.width(), fm.height() + 2, qcolor("shade", 150))
            p.setPen(qcolor("on_accent"))
            p.drawText(4, fm.ascent() + 1, f"Keyframe {frame}")
            p.end()
            self.keyframe.setPixmap(pix)
            self.keyframe_shown = (local_path(self.value), frame)

    def _button(self, text: str, tip: str, slot: Any) -> QToolButton:
        b = ItemButton(self)
        b.setText(text)
        b.setToolTip(f"{tip} (Space or Enter)")
        b.setAccessibleName(f"{tip} {_display_name(self.value)}")
        b.setObjectName({"Move up": "up", "Move down": "down", "Remove": "remove"}[tip])
        b.setFixedSize(QSize(24, 22))
        b.clicked.connect(slot)
        return b

    def set_position(self, index: int, count: int, tag: str) -> None:
        self.index = index
        reorderable = count > 1
        self.setToolTip("Drag to reorder, or Alt+Up / Alt+Down" if reorderable else "")
        self.setCursor(Qt.CursorShape.OpenHandCursor if reorderable
                       else Qt.CursorShape.ArrowCursor)
        self.tag.setText(tag)
        self.tag.setVisible(bool(tag))
        self.up.setEnabled(index > 0)
        self.down.setEnabled(index < count - 1)
        self.up.setVisible(count > 1)
        self.down.setVisible(count > 1)

    def set_result(self, result: MediaInfo | ProbeError | None, pending: bool) -> None:
        if is_remote(self.value):
            self.facts.setText("Remote URL: not checked here; the service fetches it")
        elif isinstance(result, MediaInfo):
            self.facts.setText(describe(result))
        elif isinstance(result, ProbeError):
            self.facts.setText("Could not be read")
        else:
            self.facts.setText("Reading…" if pending else "")

    def set_thumbnail(self, image: QImage | None) -> None:
        if image is None or image.isNull():
            return
        pix = QPixmap.fromImage(image).scaled(self.thumb.size(),
                                              Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)
        self.thumb.setPixmap(pix)
        self.thumb.setToolTip("")
        self.has_thumbnail = True

    def set_problems(self, issues: list[Issue]) -> None:
        lines = [i.message if i.severity == "error" else f"⚠ {i.message}" for i in issues]
        self.problem.setText("\n".join(dict.fromkeys(lines)))
        self.problem.setVisible(bool(lines))
        errors = any(i.severity == "error" for i in issues)
        color = colour("error" if errors else "warning")
        self.problem.setStyleSheet(f"color: {color}; font-size: 11px;")
        if self.property("bad") != errors:
            self.setProperty("bad", errors)
            self.style().unpolish(self)
            self.style().polish(self)

    @property
    def is_bad(self) -> bool:
        return bool(self.property("bad"))


def _display_name(value: str) -> str:
    return value if is_remote(value) else Path(local_path(value)).name


def _release_active_if_gone(*_: Any) -> None:
    """An item deleted while its clip played: the player (its child) goes with it."""
    active = ClipPlayer.active
    if active is not None:
        import shiboken6

        if not shiboken6.isValid(active):
            ClipPlayer.active = None


class DropZone(QFrame):
    """Takes file drops (file URLs), and hosts the paste box and the browse button."""

    def __init__(self, owner: MediaEditor) -> None:
        super().__init__(owner)
        self.owner = owner
        self.setObjectName("dropZone")
        self.setAcceptDrops(True)
        self.setProperty("hover", False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(8)
        self.hint = QLabel(self)
        tint(self.hint, "muted")
        self.paste = QLineEdit(self)
        self.paste.setObjectName("paste")
        self.paste.setPlaceholderText("or paste a path / URL, then Enter")
        self.paste.setClearButtonEnabled(True)
        self.browse = QPushButton("Browse…", self)
        self.browse.setObjectName("browse")
        layout.addWidget(self.hint)
        layout.addWidget(self.paste, 1)
        layout.addWidget(self.browse)

    def _hover(self, on: bool) -> None:
        self.setProperty("hover", on)
        self.style().unpolish(self)
        self.style().polish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasText():
            event.acceptProposedAction()
            self._hover(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasText():
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: Any) -> None:
        self._hover(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._hover(False)
        values = values_from_mime(event.mimeData())
        if not values:
            self.owner.show_refusals(["Only files, paths or URLs can be dropped here"])
            event.ignore()
            return
        event.acceptProposedAction()
        self.owner.add_values(values)


class MediaEditor(Editor):
    """A media field: one file (``start_image_url``) or a list (``image_urls``)."""

    def __init__(self, spec: FieldSpec, ctx: EditorContext, path: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(spec, ctx, path, parent)
        assert spec.media is not None
        self.rule: MediaRule = spec.media
        self.single = not spec.is_list
        self.capacity = 1 if self.single else spec.max_items
        self.values: list[str] = []
        self.items: list[MediaItem] = []
        self._issues: dict[str, list[Issue]] = {}
        self.setStyleSheet(styled(ITEM_STYLE))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.list_box = QVBoxLayout()
        self.list_box.setSpacing(4)
        layout.addLayout(self.list_box)
        self.drop_zone = DropZone(self)
        self.drop_zone.hint.setText(self._hint_text())
        self.drop_zone.setToolTip(self.toolTip())
        self.drop_zone.paste.returnPressed.connect(self._on_paste)
        self.drop_zone.browse.clicked.connect(self.open_dialog)
        layout.addWidget(self.drop_zone)
        self.refused = IssueLabel(f"{path}:refused", self)
        self.refused.setObjectName(f"refused:{path}")
        layout.addWidget(self.refused)
        self.main = self.drop_zone
        self.setAcceptDrops(True)
        # a reorder by drag: the item dragged, the slot it would drop into, the marker there
        self.dragging: MediaItem | None = None
        self.drop_slot: int | None = None
        self.drop_marker = QFrame(self)
        self.drop_marker.setObjectName("dropMarker")
        self.drop_marker.hide()
        self._parked: list[str] = []  # removed values whose mentions went to @<prefix>0
        ctx.service.thumbnail_ready.connect(self._on_thumbnail)
        ctx.service.probed.connect(self._on_probed)
        self.reset()

    # Drops anywhere on the field (its items included) go to the drop zone.
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.drop_zone.dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.drop_zone.dragMoveEvent(event)

    def dragLeaveEvent(self, event: Any) -> None:
        self.drop_zone.dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_zone.dropEvent(event)

    def _hint_text(self) -> str:
        noun = _NOUNS.get(self.rule.kind, self.rule.kind)
        noun = noun if self.single else f"{noun}s"
        if self.capacity and not self.single:
            noun = f"up to {self.capacity} {noun}"
        return f"Drop {noun}"

    # ---- value protocol ---------------------------------------------------------------
    def value(self) -> Any:
        if not self.values:
            return OMIT
        return self.values[0] if self.single else list(self.values)

    def set_value(self, value: Any) -> None:
        if value is OMIT or value is None or value == "":
            values: list[str] = []
        elif isinstance(value, list):
            values = [str(v) for v in value]
        else:
            values = [str(value)]
        self._set_values(values)

    def media_values(self) -> list[str]:
        return list(self.values)

    # ---- editing -------------------------------------------------------------------------
    def add_values(self, candidates: list[str]) -> list[str]:
        """Add what fits; say why the rest is refused. Returns the values added."""
        added: list[str] = []
        refused: list[str] = []
        values = [] if self.single else list(self.values)
        for raw in candidates:
            value = clean_pasted(raw)
            why = refusal(value, self.rule, values)
            if why is None and self.capacity and len(values) >= self.capacity:
                why = f"this field takes at most {self.capacity}"
            if why is not None:
                name = _display_name(value) or repr(raw)
                refused.append(f"{name} was not added: {why}")
                continue
            values.append(value)
            added.append(value)
            if self.single:
                break
        self.show_refusals(refused)
        if added:
            self._set_values(values)
            self.emit_changed()
        return added

    def show_refusals(self, messages: list[str]) -> None:
        self.refused.set_issues([Issue(self.path, m) for m in messages])

    def move(self, index: int, step: int) -> None:
        """One place up (-1) or down (1): the move buttons and Alt+Up / Alt+Down."""
        self.move_to(index, index + step)

    def move_to(self, index: int, to: int) -> bool:
        """Move the item at `index` to position `to` (the others close up); the prompts'
        mentions follow, and the keyboard stays on the moved item. False: nothing moved."""
        if not (0 <= index < len(self.values) and 0 <= to < len(self.values)) or index == to:
            return False
        focused = self._focused_button()
        before = list(self.values)
        values = list(self.values)
        values.insert(to, values.pop(index))
        self._set_values(values)
        self._follow(before)
        self.emit_changed()
        if focused is not None:
            item = self.items[to]
            buttons = [b for b in (item.findChild(ItemButton, focused), item.up, item.down,
                                   item.remove) if b is not None]
            target = next((b for b in buttons if b.isEnabled() and b.isVisible()), None)
            (target or item.remove).setFocus(Qt.FocusReason.TabFocusReason)
        return True

    def _focused_button(self) -> str | None:
        """The object name of the item button that has the keyboard, if any."""
        for item in self.items:
            for b in (item.play, item.up, item.down, item.remove):
                if b is not None and b.hasFocus():
                    return b.objectName()
        return None

    # ---- mentions follow ---------------------------------------------------------------------
    def _mention_prefix(self) -> str | None:
        """This field's mention prefix, when it alone gives it (two fields numbering the same
        prefix would make a number ambiguous: then nothing is renumbered)."""
        prefix = self.spec.mention
        if not prefix or self.single:
            return None
        sharing = [f for f in self.ctx.fields.values() if f.mention == prefix]
        return prefix if len(sharing) <= 1 else None

    def _follow(self, before: list[str], restored: str | None = None) -> list[str]:
        """The prompts' mentions renumbered from the order `before` to the current one; says
        (under the field and in the window's status line) which now point at nothing."""
        from app.forms.prompt import follow_mentions

        prefix = self._mention_prefix()
        if prefix is None:
            return []
        offset = self.ctx.tag_offsets.get(self.path, 0)
        mapping = order_mapping(before, self.values, offset)
        if restored is not None and restored in self.values:
            if self._parked == [restored]:  # its mentions went to @<prefix>0: back to it
                mapping[DANGLING] = offset + self.values.index(restored) + 1
            self._parked = [v for v in self._parked if v != restored]
        try:
            gone = follow_mentions(self.ctx, prefix, mapping)
        except ValueError:  # not a renumbering (cannot happen from an order): left alone
            return []
        removed = [v for v in before if v not in self.values]
        parked = any(n is None and n_old <= len(self.values) + offset
                     for n_old, n in mapping.items())
        if gone and parked:
            self._parked += removed
        message = ""
        if gone:
            names = ", ".join(_display_name(v) for v in removed)
            verb = "points" if len(gone) == 1 else "point"
            message = (f"{', '.join(gone)} now {verb} at nothing: {names} was removed"
                       + (f", and its mentions became @{prefix}{DANGLING} rather than point "
                          "at another reference" if parked else "")
                       + " (marked in the prompt). Edit → Undo removal puts it back.")
            self.refused.set_issues([Issue(self.path, message, "warning")])
        elif self.refused.isVisible() and "now point" in self.refused.text():
            self.refused.set_issues([])
        self._status(message)
        return gone

    def _status(self, text: str) -> None:
        status = getattr(self.window(), "status", None)
        if text and isinstance(status, QLabel):
            status.setText(text)

    # ---- reorder by drag ---------------------------------------------------------------------
    def begin_reorder(self, item: MediaItem) -> None:
        """A press on `item` moved past the drag distance: it follows the pointer."""
        if self.dragging is not None or item not in self.items:
            return
        self.dragging = item
        self.drop_slot = None
        item.set_dragging(True)
        item.setCursor(Qt.CursorShape.ClosedHandCursor)
        item.grabKeyboard()  # Esc cancels, wherever the keyboard was

    def drag_to(self, pos: QPoint) -> int | None:
        """The pointer at `pos` (this editor's coordinates): the slot between items it points
        at (0 … count), shown by the marker; None (no marker) where it would not move."""
        item = self.dragging
        if item is None:
            return None
        slot = len(self.items)
        for i, other in enumerate(self.items):
            if pos.y() < other.geometry().center().y():
                slot = i
                break
        inside = self.rect().adjusted(-40, -40, 40, 40).contains(pos)
        self.drop_slot = slot if inside and slot not in (item.index, item.index + 1) else None
        self._show_marker()
        return self.drop_slot

    def _show_marker(self) -> None:
        slot = self.drop_slot
        if slot is None or not self.items:
            self.drop_marker.hide()
            return
        gap = self.list_box.spacing()
        if slot < len(self.items):
            y = self.items[slot].geometry().top() - (gap + 3) // 2
        else:
            y = self.items[-1].geometry().bottom() + 1 + (gap - 3) // 2
        left = self.items[0].geometry().left()
        self.drop_marker.setGeometry(left, max(0, y), self.items[0].width(), 3)
        self.drop_marker.show()
        self.drop_marker.raise_()

    def end_reorder(self) -> bool:
        """The drag released: the item goes to the marked slot (False: it stays)."""
        item, slot = self.dragging, self.drop_slot
        self._stop_drag()
        if item is None or slot is None:
            return False
        return self.move_to(item.index, slot if slot < item.index else slot - 1)

    def cancel_reorder(self) -> None:
        """Esc: the drag ends and nothing moves."""
        self._stop_drag()

    def _stop_drag(self) -> None:
        item = self.dragging
        self.dragging, self.drop_slot = None, None
        self.drop_marker.hide()
        if item is not None:
            item.releaseKeyboard()
            item.set_dragging(False)
            item.setCursor(Qt.CursorShape.OpenHandCursor)

    def remove_at(self, index: int) -> None:
        if not 0 <= index < len(self.values):
            return
        had_focus = any(b.hasFocus() for item in self.items for b in (item.up, item.down,
                                                                      item.remove))
        before = list(self.values)
        value = self.values.pop(index)
        self._set_values(self.values)
        self._follow(before)
        self.emit_changed()
        self.ctx.note_removed(self, f"{_display_name(value)} from {self.spec.title}",
                              lambda: self.restore_at(index, value))
        if had_focus:  # the keyboard stays here: the next item's ×, or the paste box
            target = self.items[min(index, len(self.items) - 1)].remove if self.items \
                else self.drop_zone.paste
            target.setFocus(Qt.FocusReason.TabFocusReason)

    def restore_at(self, index: int, value: str) -> bool:
        """Put a removed value back at `index` (False: it is there again, or no room)."""
        if value in self.values:
            return False
        if self.single:
            values = [value]  # a single file: the removed one comes back in its place
        elif self.capacity and len(self.values) >= self.capacity:
            return False
        else:
            values = list(self.values)
            values.insert(min(index, len(values)), value)
        before = list(self.values)
        self._set_values(values)
        if not self.single:
            self._follow(before, restored=value)
        self.emit_changed()
        return True

    def open_dialog(self) -> QFileDialog:
        """The file dialog, opened (not exec'd) in the last folder used for this kind."""
        dialog = QFileDialog(self, f"Choose {self.spec.title.lower()}")
        dialog.setDirectory(FOLDERS.folder(self.rule.kind))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile if self.single
                           else QFileDialog.FileMode.ExistingFiles)
        patterns = " ".join(_EXTENSIONS.get(f, f"*.{f}") for f in self.rule.formats)
        kinds = [f"{self.rule.kind.capitalize()} files ({patterns})"] if patterns else []
        dialog.setNameFilters([*kinds, "All files (*)"])  # an imported rule may list none
        dialog.filesSelected.connect(self._on_files_chosen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.open()  # not exec(): no nested event loop (qasync)
        return dialog

    def _on_files_chosen(self, files: list[str]) -> None:
        FOLDERS.remember(self.rule.kind, list(files))
        self.add_values(list(files))

    def _on_paste(self) -> None:
        text = self.drop_zone.paste.text().strip()
        if text and self.add_values([text]):
            self.drop_zone.paste.clear()

    # ---- display ---------------------------------------------------------------------------
    def _set_values(self, values: list[str]) -> None:
        if self.dragging is not None:
            self._stop_drag()  # the items it moved among are going
        self.values = list(values)
        for item in self.items:
            item.setParent(None)
            item.deleteLater()
        self.items = []
        for i, v in enumerate(self.values):
            item = MediaItem(self, i, v)
            self.list_box.addWidget(item)
            self.items.append(item)
            item.set_result(self.ctx.service.result(v), self.ctx.service.is_pending(v))
            item.set_thumbnail(self.ctx.service.thumbnail(v))
        self._update_positions()
        self._chain_tab_order()
        full = bool(self.capacity) and len(self.values) >= (self.capacity or 0)
        self.drop_zone.hint.setText("Drop to replace" if self.single and self.values
                                    else ("Full" if full else self._hint_text()))

    def _chain_tab_order(self) -> None:
        """Tab goes through the items' buttons (as they are shown, top to bottom), then the
        paste box and Browse…: items made later would otherwise come last in the window."""
        chain: list[QWidget] = [b for item in self.items for b in (item.play, item.up,
                                                                   item.down, item.remove)
                                if b is not None]
        if not chain:
            return
        before = self.drop_zone.paste.previousInFocusChain()
        while before is not None and not before.focusPolicy() & Qt.FocusPolicy.TabFocus \
                and before is not self.window():
            before = before.previousInFocusChain()  # Qt moves a widget only after a focusable
        for a, b in zip([before, *chain[:-1]], chain, strict=True):
            QWidget.setTabOrder(a, b)  # each moves in front of the paste box

    def _update_positions(self) -> None:
        prefix = self.spec.mention
        offset = self.ctx.tag_offsets.get(self.path, 0)
        for i, item in enumerate(self.items):
            tag = f"@{prefix}{offset + i + 1}" if prefix else (
                "" if self.single else f"#{i + 1}")
            item.set_position(i, len(self.items), tag)
            item.set_problems(self._issues.get(str(i), []) if not self.single
                              else self._issues.get("", []))

    def tags(self) -> list[str]:
        return [item.tag.text() for item in self.items]

    def refresh(self, state: FormState) -> None:
        for item in self.items:
            result = state.probes.get(item.value) or self.ctx.service.result(item.value)
            item.set_result(result, self.ctx.service.is_pending(item.value))
            if not item.has_thumbnail:
                item.set_thumbnail(self.ctx.service.thumbnail(item.value))
        self._refresh_keyframe(state)

    # ---- the keyframe's frame (Swap) ---------------------------------------------------------
    def keyframe_field(self) -> str | None:
        """The field whose keyframe counts frames of this one's video, if any."""
        for name, spec in self.ctx.fields.items():
            if spec.widget == "keyframe" and spec.depends_on == self.path:
                return name
        return None

    def _refresh_keyframe(self, state: FormState) -> None:
        name = self.keyframe_field() if self.single and self.rule.kind == "video" else None
        if name is None or not self.items:
            return
        item = self.items[0]
        frame = state.values.get(name)
        info = state.probes.get(item.value)
        if is_remote(item.value) or not isinstance(frame, int) or isinstance(frame, bool) \
                or not isinstance(info, MediaInfo):
            item.set_keyframe(None)
            return
        path = local_path(item.value)
        if item.keyframe_shown == (path, frame):
            return
        item.set_keyframe(frame)  # shown at once with its number; the picture follows
        wanted = (path, frame)
        self._keyframe_wanted = wanted
        if getattr(self, "_keyframe_busy", False):
            return  # one decode at a time per field: the latest wish is read when it ends
        self._keyframe_busy = True
        size = QSize(THUMB_W * 2, THUMB_H * 2)
        keyframe_workers().submit(keyframe_picture, path, frame, size,
                                  on_done=lambda img, w=wanted: self._on_keyframe(w, img))

    def _on_keyframe(self, wanted: tuple[str, int], image: Any) -> None:
        import shiboken6

        if not shiboken6.isValid(self):
            return
        self._keyframe_busy = False
        if not self.items:
            return
        item = self.items[0]
        if isinstance(image, QImage) and wanted == getattr(self, "_keyframe_wanted", None) \
                and local_path(item.value) == wanted[0]:
            item.set_keyframe(wanted[1], image)
        elif wanted != getattr(self, "_keyframe_wanted", None):
            self.revalidate_keyframe()

    def revalidate_keyframe(self) -> None:
        """The keyframe moved while its picture was decoded: decode the latest one."""
        wanted = getattr(self, "_keyframe_wanted", None)
        if wanted is None or not self.items:
            return
        self._keyframe_busy = True
        size = QSize(THUMB_W * 2, THUMB_H * 2)
        keyframe_workers().submit(keyframe_picture, wanted[0], wanted[1], size,
                                  on_done=lambda img, w=wanted: self._on_keyframe(w, img))

    def show_issues(self, issues: list[Issue]) -> list[Issue]:
        grouped = relative(issues, self.path)
        self._issues = grouped
        rest: list[Issue] = []
        if self.single:
            if self.items:
                self.items[0].set_problems(grouped.get("", []))
            else:
                rest = grouped.get("", [])
            return rest
        for i, item in enumerate(self.items):
            item.set_problems(grouped.get(str(i), []))
        rest = [i for k, group in grouped.items() if not k.isdigit() or int(k) >= len(self.items)
                for i in group]
        return rest

    def _on_thumbnail(self, path: str, image: QImage) -> None:
        for item in self.items:
            if local_path(item.value) == path:
                item.set_thumbnail(image)

    def _on_probed(self, path: str, result: object) -> None:
        for item in self.items:
            if local_path(item.value) == path:
                item.set_result(result, False)  # type: ignore[arg-type]
