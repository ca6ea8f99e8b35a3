"""The sandbox's renderer: real, small H.264 (+ AAC) MP4 files from a plan (see `plan`).

Generated clips show the model id, the job id, the time and a moving ball; edit models
return a visibly altered copy of their source (inverted, tinted, posterized, or really
scaled for upscaling) with the same overlay. Blocking: run it in a worker thread.
"""

from __future__ import annotations

import colorsys
import math
import os
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

AUDIO_RATE = 44100


class RenderStopped(Exception):
    """The server is stopping or the job was canceled mid-render."""


def render(plan: dict[str, Any], job_id: str, dest: Path,
           should_stop: Callable[[], bool] = lambda: False) -> None:
    """Render `plan` to `dest` (written beside it, then renamed into place)."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        _encode(plan, job_id, tmp, should_stop)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _encode(plan: dict[str, Any], job_id: str, path: Path,
            should_stop: Callable[[], bool]) -> None:
    fps = int(plan.get("fps") or 24)
    width, height = int(plan["width"]), int(plan["height"])
    n_frames = max(1, round(float(plan["duration_s"]) * fps))
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height = width, height
        vs.pix_fmt = "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "30"}
        audio = None
        if plan.get("audio"):
            audio = out.add_stream("aac", rate=AUDIO_RATE)
            audio.layout = "mono"  # type: ignore[attr-defined]
        overlay = Overlay(plan, job_id, width, height, fps, n_frames)
        for i, img in enumerate(_frames(plan, width, height, fps, n_frames)):
            if should_stop():
                raise RenderStopped
            overlay.draw(img, i)
            for pkt in vs.encode(av.VideoFrame.from_image(img)):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if audio is not None:
            _write_tone(out, audio, n_frames / fps)


def _frames(plan: dict[str, Any], width: int, height: int, fps: int,
            n_frames: int) -> Iterator[Image.Image]:
    source = (plan.get("source") or {}).get("path")
    if plan.get("kind") == "transform" and source and os.path.exists(source):
        effect = _EFFECTS.get(plan.get("effect", ""), _invert)
        for img in _source_frames(source, width, height, fps, n_frames):
            yield effect(img)
        return
    for i in range(n_frames):
        yield _background(i, n_frames, width, height)


def _background(i: int, n: int, width: int, height: int) -> Image.Image:
    hue = (i / max(n, 1)) * 0.6
    r, g, b = (int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.55, 0.45))
    return Image.new("RGB", (width, height), (r, g, b))


def _source_frames(path: str, width: int, height: int, fps: int,
                   n_frames: int) -> Iterator[Image.Image]:
    """The source's frames resampled to `fps` (held at the end when it is shorter)."""
    last: Image.Image | None = None
    with av.open(path) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        decoded = _timed(c.decode(stream))
        cur = next(decoded, None)
        nxt = next(decoded, None)
        t0 = cur[0] if cur else 0.0
        for i in range(n_frames):
            t = t0 + i / fps
            while nxt is not None and nxt[0] <= t + 1e-6:
                cur, nxt = nxt, next(decoded, None)
            if cur is not None:
                last = cur[1].to_image(width=width, height=height)
                cur = None  # converted: hold `last` until a newer frame is due
            yield (last.copy() if last is not None else Image.new("RGB", (width, height)))


def _timed(frames: Iterator[av.VideoFrame]) -> Iterator[tuple[float, av.VideoFrame]]:
    prev = -1.0
    for f in frames:
        t = float(f.pts * f.time_base) if f.pts is not None and f.time_base else prev + 1 / 24
        prev = t
        yield t, f


def _invert(img: Image.Image) -> Image.Image:
    return ImageOps.invert(img.convert("RGB"))


def _tint(img: Image.Image) -> Image.Image:
    return Image.blend(img.convert("RGB"), Image.new("RGB", img.size, (0, 160, 255)), 0.45)


def _posterize(img: Image.Image) -> Image.Image:
    return ImageOps.posterize(ImageOps.solarize(img.convert("RGB"), 160), 2)


def _upscale(img: Image.Image) -> Image.Image:
    out = img.convert("RGB")
    ImageDraw.Draw(out).rectangle((0, 0, out.width - 1, out.height - 1), outline=(0, 255, 120),
                                  width=max(2, out.width // 160))
    return out


_EFFECTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "invert": _invert, "tint": _tint, "posterize": _posterize, "upscale": _upscale,
}


class Overlay:
    """The text and the moving ball drawn on every frame."""

    def __init__(self, plan: dict[str, Any], job_id: str, width: int, height: int, fps: int,
                 n_frames: int) -> None:
        self.width, self.height, self.fps, self.n = width, height, fps, n_frames
        size = max(10, min(width, height) // 14)
        self.font = _font(size)
        self.line = size + 3
        title = plan.get("model", "?")
        if plan.get("effect"):
            title += f" · {plan['effect']}"
        if plan.get("factor"):
            title += f" ×{plan['factor']:g}"
        self.lines = [title, job_id]
        if plan.get("mock"):
            self.lines.append("MOCK")

        self.static = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        d = ImageDraw.Draw(self.static)
        box_w = max(int(d.textlength(t, font=self.font)) for t in
                    [*self.lines, "t=00.00s  frame 000/000"]) + 12
        d.rectangle((0, 0, min(box_w, width), 8 + (len(self.lines) + 1) * self.line),
                    fill=(0, 0, 0, 210))
        for n, text in enumerate(self.lines):
            self._text(d, 4 + n * self.line, text)
        self.clock_y = 4 + len(self.lines) * self.line

    def _text(self, d: ImageDraw.ImageDraw, y: int, text: str) -> None:
        d.text((5, y + 1), text, fill=(0, 0, 0, 255), font=self.font)
        d.text((4, y), text, fill=(255, 255, 255, 255), font=self.font)

    def draw(self, img: Image.Image, i: int) -> None:
        """The static lines, a clock and the ball, drawn onto `img` (RGB) in place."""
        img.paste(self.static, (0, 0), self.static)
        d = ImageDraw.Draw(img)
        w, h = self.width, self.height
        self._text(d, self.clock_y, f"t={i / self.fps:5.2f}s  frame {i + 1}/{self.n}")
        r = max(6, min(w, h) // 12)
        phase = i / max(self.n - 1, 1)
        cx = r + (w - 2 * r) * (0.5 - 0.5 * math.cos(2 * math.pi * phase))
        cy = h - 2 * r - (h // 4) * abs(math.sin(4 * math.pi * phase))
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 210, 40), outline=(0, 0, 0))


_FONTS: dict[int, Any] = {}


def _font(size: int) -> Any:
    if size not in _FONTS:
        try:
            _FONTS[size] = ImageFont.truetype("DejaVuSans.ttf", size)
        except OSError:
            _FONTS[size] = ImageFont.load_default(size=size)
    return _FONTS[size]


def _write_tone(out: Any, stream: Any, seconds: float) -> None:
    total = round(seconds * AUDIO_RATE)
    chunk = 1024
    t = 0
    while t < total:
        n = min(chunk, total - t)
        k = np.arange(t, t + n) / AUDIO_RATE
        freq = 330 + 110 * np.floor(k)  # one step up each second
        tone = (np.sin(2 * math.pi * freq * k) * 0.15).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = t
        frame.time_base = Fraction(1, AUDIO_RATE)
        for pkt in stream.encode(frame):
            out.mux(pkt)
        t += n
    for pkt in stream.encode():
        out.mux(pkt)
