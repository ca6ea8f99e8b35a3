"""Helpers for the catalog tests: real media files made once per session, and checking.

`media.video(width=720, seconds=3)` returns the path of a real file with those facts; asking
twice for the same facts returns the same file. `check(model_id, payload)` probes the
payload's local files (cached too) and validates it, as `takes check` does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import av
import mediafactory as mf

from app.catalog import Report, local_media, validate_payload
from app.catalog.media import MediaInfo, ProbeError
from app.media.probe import probe


class Media:
    """Media files of chosen facts, generated on first use and reused afterwards."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: dict[tuple[Any, ...], Path] = {}

    def _get(self, key: tuple[Any, ...], suffix: str, make: Callable[[Path], Path]) -> Path:
        if key not in self._made:
            name = "_".join(str(k).replace(".", "p").replace(" ", "") for k in key) + suffix
            self._made[key] = make(self.folder / name)
        return self._made[key]

    def image(self, width: int = 640, height: int = 480, ext: str = ".png",
              size: int | None = None, fmt: str | None = None) -> Path:
        key = ("img", width, height, ext, size, fmt)
        return self._get(key, ext, lambda p: mf.image(p, width, height, fmt=fmt,
                                                      pad_to_bytes=size))

    def video(self, width: int = 320, height: int = 240, seconds: float = 2.0, fps: int = 24,
              ext: str = ".mp4", size: int | None = None, audio: bool = False) -> Path:
        """MPEG-4 part 2 for speed (the probe does not care about the codec); WebM is VP8."""
        key = ("vid", width, height, seconds, fps, ext, audio)
        src = self._get(key, ext, lambda p: mf.video(p, width, height, seconds, fps,
                                                     audio=audio, codec="mpeg4"))
        return src if size is None else self.padded(src, size)

    def audio(self, seconds: float = 2.0, ext: str = ".wav", size: int | None = None) -> Path:
        key = ("aud", seconds, ext)
        src = self._get(key, ext, lambda p: mf.audio(p, seconds))
        return src if size is None else self.padded(src, size)

    def audio_in_mp4(self, seconds: float = 2.0) -> Path:
        """An audio-only MP4 (an M4A in all but name): audio in a format Seedance refuses."""
        return self._get(("m4a", seconds), ".mp4", lambda p: _audio_only_mp4(p, seconds))

    def padded(self, src: Path, size: int) -> Path:
        """A copy of `src` grown to exactly `size` bytes (sparse: cheap even at 200 MB)."""
        def make(path: Path) -> Path:
            shutil.copyfile(src, path)
            with open(path, "ab") as fh:
                fh.truncate(size)
            return path

        return self._get(("pad", src.stem, size), src.suffix, make)

    def truncated(self, src: Path, keep: float = 0.3) -> Path:
        return self._get(("cut", src.stem, keep), src.suffix,
                         lambda p: mf.truncated(src, p, keep))

    def not_media(self, ext: str = ".mp4") -> Path:
        return self._get(("text", ext), ext, mf.not_media)


def _audio_only_mp4(path: Path, seconds: float) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        mf._write_audio(out, stream, seconds, 48000)
    return path


_PROBES: dict[str, MediaInfo | ProbeError] = {}


def probe_cached(value: str) -> MediaInfo | ProbeError:
    if value not in _PROBES:
        try:
            _PROBES[value] = probe(value)
        except ProbeError as e:
            _PROBES[value] = e
    return _PROBES[value]


def check(model_id: str, payload: Mapping[str, Any]) -> Report:
    """Validate a payload whose local media values are absolute paths, probing them."""
    probes = {v: probe_cached(v) for v in local_media(model_id, payload)}
    return validate_payload(model_id, payload, probes)


def errors_at(report: Report, path: str) -> list[str]:
    return [i.message for i in report.errors if i.field == path]


def warnings_at(report: Report, path: str) -> list[str]:
    return [i.message for i in report.warnings if i.field == path]


def fields(issues: list[Any]) -> list[str]:
    return [i.field for i in issues]
