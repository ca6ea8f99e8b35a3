"""The one thumbnail pipeline: a picture of a media file, decoded off the GUI thread.

`picture(path, size, kind, at)` (worker threads: QImage only, no QPixmap) reads an image (FFmpeg
for those Qt has no reader for, such as AVIF), decodes a video's frame at `at` of its length, or
draws an audio file's waveform. The forms' media thumbnails (`app.forms.probing`, first frame)
and the queue's and history's poster frames (`ThumbnailCache`, a quarter in, cached on disk) both
come from it, on `app.ui.workers.Workers`.

`ThumbnailCache.get(path, size)` never blocks: it answers from memory or returns None and queues
a worker; `thumbnail_ready(path)` is emitted (on the GUI thread) when the picture is there. A size
bigger than the cache's own (the history's big tiles, in device pixels) is a picture of its own,
made from the file at that size (never the small one enlarged: that is blurry) and cached by size;
until it is there the biggest one already made stands in. `draw_poster` paints one into a tile
at the screen's pixel density.

Memory keeps the most recently used `MEMORY_LIMIT` pictures, or as many pixels as that many at
the cache's own size (a long session renders hundreds of takes: unbounded, these pixmaps and
their scaled copies (app.ui.paint) grew the process by ~0.2 MB a take); the rest are read back
from the disk cache when a view asks again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from app.ui.paint import draw_thumb
from app.ui.workers import Workers

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".avif"}
AUDIO_SUFFIXES = {".mp3", ".wav", ".m4a", ".aac", ".ogg", ".flac", ".opus"}
POSTER_AT = 0.25  # fraction of the duration: past fades-in, before anything ends
MEMORY_LIMIT = 100  # pixmaps held: over twice what the queue and the history show at once
WAVE_SECONDS, WAVE_BARS = 30.0, 48  # a waveform shows the first 30 s as 48 bars
_Key = tuple[str, int, int]  # (path, width, height): one picture of one file at one size


def device_size(size: QSize, dpr: float) -> QSize:
    """`size` (logical pixels) in device pixels."""
    return QSize(max(1, round(size.width() * dpr)), max(1, round(size.height() * dpr)))


def draw_poster(p: QPainter, rect: QRect, pixmap: QPixmap | None, placeholder: str) -> None:
    """`draw_thumb`, except that a picture made for `rect`'s device pixels (`ThumbnailCache.get`
    with `device_size(rect.size(), dpr)`) is drawn pixel for pixel, not scaled again."""
    dev = p.device()
    dpr = dev.devicePixelRatioF() if dev is not None else 1.0
    box = device_size(rect.size(), dpr)
    if pixmap is None or pixmap.isNull() or not _fits_exactly(pixmap.size(), box):
        draw_thumb(p, rect, pixmap, placeholder)
        return
    from app.ui.palette import qcolor

    sharp = QPixmap(pixmap)  # a shallow copy: the cached one keeps its own ratio
    sharp.setDevicePixelRatio(dpr)
    w, h = pixmap.width() / dpr, pixmap.height() / dpr
    p.save()
    p.fillRect(rect, qcolor("tile"))
    p.drawPixmap(QPointF(rect.x() + (rect.width() - w) / 2, rect.y() + (rect.height() - h) / 2),
                 sharp)
    p.restore()


def _fits_exactly(size: QSize, box: QSize) -> bool:
    """`size` is a picture fitted into `box` (one side fills it, within a pixel of rounding)."""
    fits = size.width() <= box.width() + 1 and size.height() <= box.height() + 1
    return fits and (abs(size.width() - box.width()) <= 1 or abs(size.height() - box.height()) <= 1)


def cache_key(path: str, size: QSize) -> str:
    """A key that changes when the file changes (path, mtime, size) or the thumb size does."""
    st = os.stat(path)
    raw = f"{os.path.abspath(path)}|{st.st_mtime_ns}|{st.st_size}|{size.width()}x{size.height()}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def kind_of(path: str) -> str:
    """"image", "audio" or "video", by the file name (when no probe has said)."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return "audio" if suffix in AUDIO_SUFFIXES else "video"


def picture(path: str, size: QSize, kind: str | None = None, at: float = POSTER_AT,
            wave: tuple[str, str] | None = None) -> QImage:
    """A picture of the file fit into `size` (a waveform fills it, in `wave` = (background,
    bars), by default the palette's); raises when there is none to make."""
    kind = kind or kind_of(path)
    if kind == "audio":
        from app.ui.palette import colour

        return _waveform(path, size, *(wave or (colour("wave_bg"), colour("wave_fg"))))
    image = QImage(path) if kind == "image" else QImage()
    if image.isNull():  # a video, or an image Qt cannot read (AVIF and friends): FFmpeg
        image = _video_frame(path, at if kind != "image" else 0.0)
    return image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


def poster_frame(path: str, size: QSize) -> QImage:
    """The picture of a take in the queue and history: a quarter into a video, or the image."""
    return picture(path, size, at=POSTER_AT)


def _video_frame(path: str, at: float) -> QImage:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        target = 0.0
        if at > 0 and stream.duration and stream.time_base:
            target = float(stream.duration * stream.time_base) * at
            container.seek(int(stream.duration * at), stream=stream)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is None or frame.time >= target:
                break  # a seek lands on the keyframe before the target: decode up to it
        if chosen is None:
            raise ValueError(f"no video frame in {Path(path).name}")
        arr = chosen.reformat(format="rgb24").to_ndarray()
        h, w, _ = arr.shape
        return QImage(arr.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _waveform(path: str, size: QSize, background: str, bars_colour: str) -> QImage:
    """The loudness of the first `WAVE_SECONDS` as `WAVE_BARS` bars centred on the middle."""
    import av
    import numpy as np

    chunks: list[np.ndarray] = []
    with av.open(path) as c:
        stream = c.streams.audio[0]
        budget = int(WAVE_SECONDS * (stream.rate or 44100))
        got = 0
        for frame in c.decode(stream):
            arr = frame.to_ndarray().astype(np.float32)
            mono = np.abs(arr).mean(axis=0) if arr.ndim > 1 else np.abs(arr)
            chunks.append(mono)
            got += mono.size
            if got >= budget:
                break
    samples = np.concatenate(chunks) if chunks else np.zeros(1, np.float32)
    peak = float(samples.max()) or 1.0
    w, h = size.width(), size.height()
    image = QImage(w, h, QImage.Format.Format_ARGB32)
    image.fill(QColor(background))
    painter = QPainter(image)
    fill = QColor(bars_colour)
    for i, part in enumerate(np.array_split(samples, WAVE_BARS)):
        level = float(part.max()) / peak if part.size else 0.0
        bar_h = max(2, int(level * (h - 16)))
        x0, x1 = int(i * w / WAVE_BARS) + 1, int((i + 1) * w / WAVE_BARS) - 1
        y0, y1 = (h - bar_h) // 2, (h + bar_h) // 2
        painter.fillRect(QRect(x0, y0, x1 - x0 + 1, y1 - y0 + 1), fill)  # both ends inclusive
    painter.end()
    return image


def load_or_make(cache_dir: Path, path: str, size: QSize) -> tuple[QImage, bool]:
    """(the poster frame, whether it was decoded): read back from `cache_dir` when there,
    else decoded and written there as PNG (atomically: a reader never sees half a file)."""
    file = cache_dir / f"{cache_key(path, size)}.png"
    if file.exists():
        cached = QImage(str(file))
        if not cached.isNull():
            return cached, False
    image = poster_frame(path, size)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(f".{threading.get_ident()}.tmp.png")
    if image.save(str(tmp), "PNG"):
        os.replace(tmp, file)
    return image, True


class ThumbnailCache(QObject):
    """Thumbnails for media files, keyed by path. Workers + disk cache + memory cache."""

    thumbnail_ready = Signal(str)

    def __init__(self, cache_dir: Path | str, size: QSize | None = None,
                 workers: int = 2, parent: QObject | None = None,
                 memory_limit: int = MEMORY_LIMIT) -> None:
        super().__init__(parent)
        self.dir = Path(cache_dir)
        self.size = size or QSize(192, 108)
        self.memory_limit = memory_limit
        self._pixmaps: OrderedDict[_Key, QPixmap] = OrderedDict()  # least recently used first
        self._failed: set[str] = set()
        self._pending: set[_Key] = set()
        self._workers = Workers(workers, self)
        self.decoded = 0  # frames decoded from media (not read back from the disk cache)
        self._closed = False

    def size_for(self, size: QSize | None) -> QSize:
        """The size a picture for a box of `size` is made at: the cache's own when it fits in
        it (the queue's rows and the small tiles share one), else the box's."""
        base = self.size
        if size is None or (size.width() <= base.width() and size.height() <= base.height()):
            return QSize(base)
        return QSize(size)

    def get(self, path: str | None, size: QSize | None = None) -> QPixmap | None:
        """The thumbnail made for a box of `size` (device pixels; the cache's own size by
        default) if it is in memory; otherwise one worker is queued for it and the biggest
        picture of the file already in memory stands in (None when there is none)."""
        if not path:
            return None
        want = self.size_for(size)
        key = (path, want.width(), want.height())
        pix = self._pixmaps.get(key)
        if pix is not None:
            self._pixmaps.move_to_end(key)
            return pix
        if path in self._failed or self._closed:
            return None
        if key not in self._pending:
            self._pending.add(key)
            self._workers.submit(load_or_make, self.dir, path, want,
                                 on_done=lambda made, k=key: self._on_done(k, made))
        return self._stand_in(path)

    def _stand_in(self, path: str) -> QPixmap | None:
        sizes = [(k[1] * k[2], k) for k in self._pixmaps if k[0] == path]
        return self._pixmaps[max(sizes)[1]] if sizes else None

    def _on_done(self, key: _Key, made: tuple[QImage, bool] | Exception) -> None:
        self._pending.discard(key)
        if self._closed:
            return
        path = key[0]
        if isinstance(made, Exception) or made[0].isNull():
            self._failed.add(path)
            return
        image, decoded = made
        self.decoded += decoded
        self._pixmaps[key] = QPixmap.fromImage(image)
        self._pixmaps.move_to_end(key)
        self._evict()
        self.thumbnail_ready.emit(path)

    def _evict(self) -> None:
        """Least recently used out while over `memory_limit` pictures, or over as many pixels
        as that many at the cache's own size (a big tile's picture counts for what it holds)."""
        budget = self.memory_limit * self.size.width() * self.size.height()
        held = sum(k[1] * k[2] for k in self._pixmaps)
        while len(self._pixmaps) > 1 and (len(self._pixmaps) > self.memory_limit
                                          or held > budget):
            key, _ = self._pixmaps.popitem(last=False)
            held -= key[1] * key[2]

    def busy(self) -> bool:
        return bool(self._pending)

    def forget(self, path: str) -> None:
        """Drop the file's pictures at every size (its file changed or is gone)."""
        for key in [k for k in self._pixmaps if k[0] == path]:
            del self._pixmaps[key]
        self._failed.discard(path)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until queued work finished (tests and the screenshot command only); the
        pictures arrive when the event loop next runs."""
        self._workers.wait(int(timeout * 1000))

    def close(self) -> None:
        """Stop the workers and drop the pixmaps now, on the GUI thread (not whenever the
        collector frees this object's wrapper, on whichever thread that is)."""
        self._closed = True
        self._workers.close()
        self._pixmaps.clear()
