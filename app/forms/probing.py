"""Probing and thumbnails off the GUI thread, cached by path, shared by every form.

A `ProbeService` runs `app.media.probe.probe` and a thumbnail maker in a small QThreadPool;
results come back through queued signals (``probed``, ``thumbnail_ready``) keyed by the value
written in the payload (a path, or a ``file://`` URL). Results are cached by the file's path,
size and mtime, so a file edited on disk is probed again and an unchanged one never is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from app.catalog.media import MediaInfo, ProbeError, is_remote, local_path

THUMB_W, THUMB_H = 96, 72
_WAVE_BG = (236, 240, 246)
_WAVE_FG = (70, 110, 180)

Result = MediaInfo | ProbeError


@dataclass(frozen=True)
class _Stamp:
    size: int
    mtime_ns: int


def _stamp(path: str) -> _Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _Stamp(st.st_size, st.st_mtime_ns)


class _Relay(QObject):
    """Lives on the GUI thread; workers emit through it so slots run on the GUI thread."""

    done = Signal(str, object, object)  # path, Result, QImage | None


class _Job(QRunnable):
    def __init__(self, path: str, relay: _Relay) -> None:
        super().__init__()
        self.path = path
        self.relay = relay

    def run(self) -> None:
        from app.media.probe import probe

        try:
            result: Result = probe(self.path)
        except ProbeError as e:
            result = e
        except Exception as e:  # a probe must never kill the worker silently
            result = ProbeError(self.path, f"could not be read ({type(e).__name__})")
        thumb = make_thumbnail(result) if isinstance(result, MediaInfo) else None
        self.relay.done.emit(self.path, result, thumb)


class ProbeService(QObject):
    """Probes media values in worker threads; one instance serves every form."""

    probed = Signal(str, object)  # path, MediaInfo | ProbeError
    thumbnail_ready = Signal(str, QImage)  # path, thumbnail

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)
        self._results: dict[str, tuple[_Stamp | None, Result]] = {}
        self._thumbs: dict[str, QImage] = {}
        self._inflight: set[str] = set()

    def request(self, value: str) -> Result | None:
        """The cached result for a value, or None after starting a probe (when local)."""
        if not value or is_remote(value):
            return None
        path = local_path(value)
        cached = self.result(value)
        if cached is not None or path in self._inflight:
            return cached
        self._inflight.add(path)
        self._pool.start(_Job(path, self._relay))
        return None

    def result(self, value: str) -> Result | None:
        path = local_path(value)
        found = self._results.get(path)
        if found is None:
            return None
        stamp, result = found
        if stamp != _stamp(path):
            del self._results[path]
            self._thumbs.pop(path, None)
            return None
        return result

    def thumbnail(self, value: str) -> QImage | None:
        return self._thumbs.get(local_path(value))

    def is_pending(self, value: str) -> bool:
        return local_path(value) in self._inflight

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the workers are idle (tests and shutdown only)."""
        return self._pool.waitForDone(msecs)

    def _on_done(self, path: str, result: Result, thumb: QImage | None) -> None:
        self._inflight.discard(path)
        self._results[path] = (_stamp(path), result)
        if thumb is not None and not thumb.isNull():
            self._thumbs[path] = thumb
        self.probed.emit(path, result)
        if thumb is not None and not thumb.isNull():
            self.thumbnail_ready.emit(path, thumb)


_service: ProbeService | None = None


def probe_service() -> ProbeService:
    """The shared service (created on first use; a QApplication must exist)."""
    global _service
    if _service is None:
        from PySide6.QtWidgets import QApplication

        _service = ProbeService(QApplication.instance())
    return _service


# ---- thumbnails (run on worker threads: PIL and QImage only, no QPixmap) -------------------


def make_thumbnail(info: MediaInfo) -> QImage | None:
    try:
        if info.kind == "image":
            return _pil_to_qimage(_image_thumb(info.path))
        if info.kind == "video":
            return _pil_to_qimage(_video_thumb(info.path))
        return _pil_to_qimage(_waveform(info.path))
    except Exception:
        return None


def _image_thumb(path: str):  # type: ignore[no-untyped-def]
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.thumbnail((THUMB_W * 2, THUMB_H * 2))
            return im.convert("RGBA")
    except Exception:
        return _video_thumb(path)  # AVIF and friends: let FFmpeg decode it


def _video_thumb(path: str):  # type: ignore[no-untyped-def]
    import av

    with av.open(path) as c:
        stream = c.streams.video[0]
        for frame in c.decode(stream):
            im = frame.to_image()
            im.thumbnail((THUMB_W * 2, THUMB_H * 2))
            return im.convert("RGBA")
    raise ValueError("no frame")


def _waveform(path: str, seconds: float = 30.0, bars: int = 48):  # type: ignore[no-untyped-def]
    import av
    import numpy as np
    from PIL import Image, ImageDraw

    chunks: list[np.ndarray] = []
    with av.open(path) as c:
        stream = c.streams.audio[0]
        rate = stream.rate or 44100
        budget = int(seconds * rate)
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
    w, h = THUMB_W * 2, THUMB_H * 2
    im = Image.new("RGBA", (w, h), (*_WAVE_BG, 255))
    draw = ImageDraw.Draw(im)
    for i, part in enumerate(np.array_split(samples, bars)):
        level = float(part.max()) / peak if part.size else 0.0
        bar_h = max(2, int(level * (h - 16)))
        x0 = int(i * w / bars) + 1
        x1 = int((i + 1) * w / bars) - 1
        draw.rectangle([x0, (h - bar_h) // 2, x1, (h + bar_h) // 2], fill=(*_WAVE_FG, 255))
    return im


def _pil_to_qimage(im) -> QImage:  # type: ignore[no-untyped-def]
    data = im.tobytes("raw", "RGBA")
    qimg = QImage(data, im.width, im.height, im.width * 4, QImage.Format.Format_RGBA8888)
    return qimg.copy()  # own the pixels: `data` dies with this frame
