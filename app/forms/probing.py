"""Probing and thumbnails off the GUI thread, cached by path, shared by every form.

A `ProbeService` runs `app.media.probe.probe`, then the one thumbnail pipeline
(`app.ui.thumbs.picture`, a video's first frame, an audio file's waveform), on
`app.ui.workers.Workers`; results come back on the GUI thread as signals (``probed``,
``thumbnail_ready``) keyed by the value written in the payload (a path, or a ``file://`` URL).
Results are cached by the file's path, size and mtime, so a file edited on disk is probed again
and an unchanged one never is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QImage

from app.catalog.media import MediaInfo, ProbeError, is_remote, local_path
from app.ui.thumbs import picture
from app.ui.workers import Workers

THUMB_W, THUMB_H = 96, 72
THUMB_SIZE = QSize(THUMB_W * 2, THUMB_H * 2)  # decoded at twice the size shown (sharp on HiDPI)

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


def probe_and_picture(path: str, wave: tuple[str, str]) -> tuple[Result, QImage | None]:
    """(what the file is, its thumbnail): on a worker thread."""
    from app.media.probe import probe

    try:
        result: Result = probe(path)
    except ProbeError as e:
        result = e
    except Exception as e:  # a probe must never kill the worker silently
        result = _unreadable(path, e)
    thumb = None
    if isinstance(result, MediaInfo):
        try:
            thumb = picture(path, THUMB_SIZE, result.kind, at=0.0, wave=wave)
        except Exception:
            thumb = None  # a file that probes but will not draw: no thumbnail, not an error
    return result, thumb


def _unreadable(path: str, error: BaseException) -> ProbeError:
    return ProbeError(path, f"could not be read ({type(error).__name__})")


class ProbeService(QObject):
    """Probes media values in worker threads; one instance serves every form."""

    probed = Signal(str, object)  # path, MediaInfo | ProbeError
    thumbnail_ready = Signal(str, QImage)  # path, thumbnail

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._workers = Workers(threads, self)
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
        from app.ui.palette import colour

        wave = (colour("wave_bg"), colour("wave_fg"))
        self._workers.submit(probe_and_picture, path, wave,
                             on_done=lambda done, p=path: self._on_done(p, *done),
                             on_error=lambda e, p=path: self._on_done(p, _unreadable(p, e), None))
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
        return self._workers.wait(msecs)

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
