"""Real media files made by the tests: tiny images, videos and audio of chosen facts."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def image(path: Path, width: int = 640, height: int = 480, fmt: str | None = None,
          pad_to_bytes: int | None = None) -> Path:
    """An image; `pad_to_bytes` appends bytes after the image data to reach a file size."""
    fmt = fmt or {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
                  ".gif": "GIF"}[path.suffix.lower()]
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([(x * 255 // max(width, 1)), (y * 255 // max(height, 1)),
                    np.full_like(x, 128)], axis=-1).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(path, fmt)
    if pad_to_bytes is not None:
        _pad(path, pad_to_bytes)
    return path


def _pad(path: Path, size: int) -> None:
    current = path.stat().st_size
    if size > current:
        with open(path, "ab") as fh:
            fh.truncate(size)


def video(path: Path, width: int = 320, height: int = 240, seconds: float = 2.0,
          fps: int = 24, audio: bool = False, codec: str = "libx264",
          pad_to_bytes: int | None = None) -> Path:
    """An H.264 (or other codec) video; container from the suffix (.mp4, .mov, .webm, .m4v)."""
    fmt = {".mp4": "mp4", ".mov": "mov", ".m4v": "ipod", ".webm": "webm", ".mkv": "matroska"}[
        path.suffix.lower()]
    if path.suffix.lower() == ".webm":
        codec = "libvpx"
    with av.open(str(path), "w", format=fmt) as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height = width, height
        vs.pix_fmt = "yuv420p"
        as_ = None
        if audio:
            as_ = out.add_stream("aac" if fmt != "webm" else "libopus", rate=48000)
        frames = max(1, round(seconds * fps))
        for i in range(frames):
            arr = np.zeros((height, width, 4), np.uint8)
            arr[..., 0] = (i * 7) % 255
            arr[..., 3] = 255
            x = int((i / frames) * max(width - 8, 1))
            arr[: height // 2, x : x + 8, 1] = 255
            frame = av.VideoFrame.from_ndarray(arr, format="rgba")
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if as_ is not None:
            _write_audio(out, as_, seconds, 48000)
    if pad_to_bytes is not None:
        _pad(path, pad_to_bytes)
    return path


def _write_audio(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float,
                 rate: int) -> None:
    samples = int(seconds * rate)
    chunk = 1024
    t = 0
    while t < samples:
        n = min(chunk, samples - t)
        tone = (np.sin(2 * math.pi * 440 * (np.arange(t, t + n) / rate)) * 0.2).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = t
        frame.time_base = Fraction(1, rate)
        for pkt in stream.encode(frame):
            out.mux(pkt)
        t += n
    for pkt in stream.encode():
        out.mux(pkt)


def audio(path: Path, seconds: float = 2.0, rate: int = 22050,
          pad_to_bytes: int | None = None) -> Path:
    """A sine tone as WAV or MP3 (from the suffix)."""
    suffix = path.suffix.lower()
    fmt, codec = {".wav": ("wav", "pcm_s16le"), ".mp3": ("mp3", "libmp3lame")}[suffix]
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"  # type: ignore[attr-defined]
        samples = int(seconds * rate)
        fmt_name = "s16" if codec == "pcm_s16le" else "fltp"
        t = 0
        while t < samples:
            n = min(1152, samples - t)
            tone = np.sin(2 * math.pi * 440 * (np.arange(t, t + n) / rate)) * 0.2
            arr = (tone * 32767).astype(np.int16) if fmt_name == "s16" else tone.astype(np.float32)
            frame = av.AudioFrame.from_ndarray(arr.reshape(1, -1), format=fmt_name, layout="mono")
            frame.sample_rate = rate
            frame.pts = t
            frame.time_base = Fraction(1, rate)
            for pkt in stream.encode(frame):
                out.mux(pkt)
            t += n
        for pkt in stream.encode():
            out.mux(pkt)
    if pad_to_bytes is not None:
        _pad(path, pad_to_bytes)
    return path


def truncated(src: Path, dest: Path, keep: float = 0.3) -> Path:
    """A copy of `src` cut to a fraction of its bytes."""
    data = src.read_bytes()
    dest.write_bytes(data[: max(16, int(len(data) * keep))])
    return dest


def not_media(path: Path) -> Path:
    path.write_text("this is a text file pretending to be media\n" * 20)
    return path
