"""Poster-frame thumbnails: decoded once with PyAV off the GUI thread, cached on disk.

`ThumbnailCache.get(path)` never blocks: it answers from memory or returns None and queues a
worker; `thumbnail_ready(path)` is emitted (on the GUI thread) when the picture is there.
Memory keeps the most recently used `MEMORY_LIMIT` pictures (a long session renders hundreds
of takes: unbounded, these pixmaps and their scaled copies (app.ui.paint) grew the process by
~0.2 MB a take); the rest are read back from the disk cache when a view asks again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".avif"}
POSTER_AT = 0.25  # fraction of the duration: past fades-in, before anything ends
MEMORY_LIMIT = 100  # pixmaps held: over twice what the queue and the history show at once


def cache_key(path: str, size: QSize) -> str:
    """A key that changes when the file changes (path, mtime, size) or the thumb size does."""
    st = os.stat(path)
    raw = f"{os.path.abspath(path)}|{st.st_mtime_ns}|{st.st_size}|{size.width()}x{size.height()}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def poster_frame(path: str, size: QSize) -> QImage:
    """Decode one frame near `POSTER_AT` of the video (or read the image), fit into `size`."""
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        image = QImage(path)
        if image.isNull():
            raise ValueError(f"cannot read image {Path(path).name}")
    else:
        image = _video_frame(path)
    return image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


def _video_frame(path: str) -> QImage:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        target = 0.0
        if stream.duration and stream.time_base:
            target = float(stream.duration * stream.time_base) * POSTER_AT
            container.seek(int(stream.duration * POSTER_AT), stream=stream)
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


class ThumbnailCache(QObject):
    """Thumbnails for media files, keyed by path. Thread pool + disk cache + memory cache."""

    thumbnail_ready = Signal(str)
    _done = Signal(str, QImage)

    def __init__(self, cache_dir: Path | str, size: QSize | None = None,
                 workers: int = 2, parent: QObject | None = None,
                 memory_limit: int = MEMORY_LIMIT) -> None:
        super().__init__(parent)
        self.dir = Path(cache_dir)
        self.size = size or QSize(192, 108)
        self.memory_limit = memory_limit
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()  # least recently used first
        self._failed: set[str] = set()
        self._pending: dict[str, Future[None]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbs")
        self._lock = threading.Lock()
        self.decoded = 0  # frames decoded from media (not read back from the disk cache)
        self._closed = False
        self._done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)

    def get(self, path: str | None) -> QPixmap | None:
        """The thumbnail if it is in memory; otherwise None (and one worker is queued)."""
        if not path:
            return None
        pix = self._pixmaps.get(path)
        if pix is not None:
            self._pixmaps.move_to_end(path)
            return pix
        if path in self._failed or self._closed:
            return None
        if path not in self._pending:
            self._pending[path] = self._pool.submit(self._work, path)
        return None

    def _work(self, path: str) -> None:
        try:
            image = self._load_or_make(path)
        except Exception:
            image = QImage()
        if not self._closed:
            self._done.emit(path, image)

    def _load_or_make(self, path: str) -> QImage:
        key = cache_key(path, self.size)
        file = self.dir / f"{key}.png"
        if file.exists():
            cached = QImage(str(file))
            if not cached.isNull():
                return cached
        image = poster_frame(path, self.size)
        with self._lock:
            self.decoded += 1
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{threading.get_ident()}.tmp.png")
        if image.save(str(tmp), "PNG"):
            os.replace(tmp, file)
        return image

    def _on_done(self, path: str, image: QImage) -> None:
        self._pending.pop(path, None)
        if self._closed:
            return
        if image.isNull():
            self._failed.add(path)
            return
        self._pixmaps[path] = QPixmap.fromImage(image)
        self._pixmaps.move_to_end(path)
        while len(self._pixmaps) > self.memory_limit:
            self._pixmaps.popitem(last=False)
        self.thumbnail_ready.emit(path)

    def busy(self) -> bool:
        return bool(self._pending)

    def forget(self, path: str) -> None:
        self._pixmaps.pop(path, None)
        self._failed.discard(path)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until queued work finished (tests and the screenshot command only)."""
        for fut in list(self._pending.values()):
            fut.result(timeout=timeout)

    def close(self) -> None:
        """Stop the workers and drop the pixmaps now, on the GUI thread (not whenever the
        collector frees this object's wrapper, on whichever thread that is)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pixmaps.clear()
