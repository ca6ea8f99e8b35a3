"""Probing local media files: type sniffed from the bytes, never the extension.

Blocking by design (it reads and decodes): call it from a worker thread, never the GUI thread.
Every failure is a `ProbeError` with a reason a creator understands.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import TYPE_CHECKING, BinaryIO

from app.catalog.jsonsafe import file_kind
from app.catalog.media import MediaInfo, ProbeError

if TYPE_CHECKING:
    import av

_IMAGE_MAGIC = [
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
]


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, format) from the first bytes of a file, or None when unrecognised."""
    for magic, fmt in _IMAGE_MAGIC:
        if head.startswith(magic):
            return "image", fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio", "wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "image", "avif"
        if brand == b"qt  ":
            return "video", "mov"
        if brand in (b"M4V ", b"M4VH", b"M4VP"):
            return "video", "m4v"
        if brand in (b"M4A ", b"M4B "):
            return "audio", "m4a"
        return "video", "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video", "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video", "webm"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio", "mp3"
    return None


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Facts about one local file. Raises ProbeError for anything that is not readable media.

    The file is opened once and every reader works on that handle, so what was checked (a
    regular file) is what gets read, and a FIFO swapped in meanwhile cannot make it hang.
    """
    p = os.fspath(path)
    with _open_regular(p) as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(64)
        if size == 0:
            raise ProbeError(p, "the file is empty")
        found = sniff(head)
        if found is None:
            raise ProbeError(p, "not an image, video or audio file this app can read")
        kind, fmt = found
        if fmt == "wav":
            _check_riff_size(p, head, size)
        fh.seek(0)
        if kind == "image" and fmt != "gif":
            return _probe_image(fh, p, fmt, size)
        return _probe_av(fh, p, kind, fmt, size)


def _open_regular(p: str) -> BinaryIO:
    """Open without blocking (a FIFO opens at once with O_NONBLOCK), then refuse non-files."""
    _check_name(p)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ProbeError(p, "file not found") from None
    except OSError as e:
        raise ProbeError(p, _unopenable(p, e)) from None
    kind = file_kind(os.fstat(fd).st_mode)
    if kind != "file":
        os.close(fd)
        raise ProbeError(p, f"this is {kind}, not a file")
    return os.fdopen(fd, "rb")


def _check_name(p: str) -> None:
    if "\x00" in p:
        raise ProbeError(_printable(p), "the path contains a NUL character")
    try:
        p.encode("utf-8")
    except UnicodeEncodeError:
        raise ProbeError(_printable(p), "the file name has bytes that are not valid text "
                         "(rename the file)") from None


def _printable(p: str) -> str:
    return p.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\0")


def _unopenable(p: str, e: OSError) -> str:
    """Why open() failed; a socket fails to open (ENXIO), so say what it is."""
    try:
        kind = file_kind(os.stat(p).st_mode)
    except OSError:
        kind = "file"
    if kind != "file":
        return f"this is {kind}, not a file"
    return f"cannot open the file ({e.strerror or e})"


def _probe_image(fh: BinaryIO, path: str, fmt: str, size: int) -> MediaInfo:
    from PIL import Image

    try:
        with Image.open(fh) as im:
            width, height = im.size
            im.load()  # decodes: a truncated file fails here, not later
    except Image.DecompressionBombError:
        raise ProbeError(path, f"the {fmt.upper()} image is too large to read (over "
                         f"{Image.MAX_IMAGE_PIXELS // 1_000_000} megapixels)") from None
    except Exception as e:  # whatever a damaged file makes Pillow raise: never a crash
        if fmt == "avif":
            fh.seek(0)
            return _probe_av(fh, path, "image", fmt, size)
        raise ProbeError(path, f"the {fmt.upper()} image is damaged or truncated ({e})") from None
    return MediaInfo(path, "image", fmt, size, width, height)


def _probe_av(fh: BinaryIO, path: str, kind: str, fmt: str, size: int) -> MediaInfo:
    import av

    try:
        with av.open(fh) as container:
            return _facts(container, path, kind, fmt, size)
    except ProbeError:
        raise
    except Exception as e:  # whatever a damaged file makes FFmpeg raise: never a crash
        raise _damaged(path, fmt, e) from None


def _why(e: Exception) -> str:
    return str(getattr(e, "strerror", None) or e).rstrip(".")


def _damaged(path: str, fmt: str, e: Exception) -> ProbeError:
    return ProbeError(path, f"the {fmt.upper()} file is damaged or truncated ({_why(e)})")


def _facts(container: object, path: str, kind: str, fmt: str, size: int) -> MediaInfo:
    c: av.container.InputContainer = container  # type: ignore[assignment]
    video = next(iter(c.streams.video), None)
    audio = next(iter(c.streams.audio), None)
    declared = _duration(c, video or audio)
    if fmt == "wav":  # PCM: the header's length is exact (checked before), packets add nothing
        measured = None
    else:
        measured = _scan(c, video if kind in ("video", "image") else None, path, fmt)
    duration = _reconcile(declared, measured, path, fmt)
    if kind in ("video", "image") and video is not None:
        fps = _fps(video)
        width, height = video.codec_context.width, video.codec_context.height
        if fmt == "gif" and (duration or 0) <= 0.0:
            kind = "image"
        return MediaInfo(path, kind, fmt, size, width, height, duration,  # type: ignore[arg-type]
                         fps, audio is not None)
    if kind == "video" and video is None and audio is not None:
        kind = "audio"
    if audio is None:
        raise ProbeError(path, f"the {fmt.upper()} file has no picture or sound in it")
    if kind == "audio" and duration is None:
        raise ProbeError(path, "the audio's length cannot be read (damaged or truncated)")
    return MediaInfo(path, "audio", fmt, size, None, None, duration, None, True)


def _scan(c: av.container.InputContainer, video: av.VideoStream | None, path: str,
          fmt: str) -> float | None:
    """Read every packet, decoding one picture when there is video: a cut-off file fails here.

    Returns the longest span the packets of one stream really cover, in seconds (None when
    they carry no times).
    """
    import av

    decoded = video is None
    spans: dict[int, list[float]] = {}
    try:
        for packet in c.demux():
            if not decoded and packet.stream is video:
                decoded = bool(packet.decode())
            _extend(spans, packet)
        if not decoded:
            decoded = bool(video.decode(None))  # type: ignore[union-attr]  # flush
    except av.error.FFmpegError as e:
        raise _damaged(path, fmt, e) from None
    if not decoded:
        raise ProbeError(path, f"the {fmt.upper()} file holds no decodable frames (truncated?)")
    return max((end - start for start, end in spans.values()), default=None)


def _extend(spans: dict[int, list[float]], packet: av.Packet) -> None:
    if packet.pts is None or packet.time_base is None:
        return
    start = float(packet.pts * packet.time_base)
    end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
    span = spans.setdefault(packet.stream.index, [start, end])
    span[0], span[1] = min(span[0], start), max(span[1], end)


def _reconcile(declared: float | None, measured: float | None, path: str,
               fmt: str) -> float | None:
    """The duration to report. A header that promises more than the packets hold means a
    cut-off file. MP3 has no index (its header length is often an estimate from the bitrate and
    the file size), so there the packets are the truth."""
    if measured is None or declared is None:
        return declared if declared is not None else measured
    if declared <= measured + max(0.25, 0.02 * measured):
        return declared
    if fmt == "mp3":
        return measured
    raise ProbeError(path, f"the {fmt.upper()} file is truncated: it should last {declared:.1f} s "
                     f"but only {measured:.1f} s of it is there")


def _check_riff_size(path: str, head: bytes, size: int) -> None:
    """A WAV header states its length; a file shorter than that was cut off."""
    declared = int.from_bytes(head[4:8], "little") + 8
    if declared not in (8, 0xFFFFFFFF + 8) and size < declared:
        raise ProbeError(path, f"the WAV file is truncated: its header promises "
                         f"{declared:,} bytes but the file has {size:,}")


def _duration(c: object, stream: object | None) -> float | None:
    d = getattr(c, "duration", None)
    if d:
        return float(d) / 1_000_000  # av.time_base
    if stream is not None and stream.duration and stream.time_base:  # type: ignore[attr-defined]
        return float(stream.duration * stream.time_base)  # type: ignore[attr-defined]
    return None


def _fps(stream: object) -> float | None:
    rate = getattr(stream, "average_rate", None) or getattr(stream, "guessed_rate", None)
    if not rate:
        return None
    return round(float(Fraction(rate)), 3)
