"""Media facts (what a probe found) and media rules (what a model accepts), with no Qt.

A `MediaRule` is plain data stored in the JSON Schema of a field under ``x-media``, so the
form generator, the validator and a schema sent by a server all read the same limits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

MediaKind = Literal["image", "video", "audio"]

#: 1 MB as the reference writes it (decimal, the stricter reading).
MB = 1_000_000

FORMAT_LABELS = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WebP",
    "gif": "GIF",
    "avif": "AVIF",
    "mp4": "MP4",
    "mov": "MOV",
    "webm": "WebM",
    "m4v": "M4V",
    "mp3": "MP3",
    "wav": "WAV",
}

IMAGE_FORMATS_ALL = ["jpeg", "png", "webp", "gif", "avif"]
VIDEO_FORMATS_ALL = ["mp4", "mov", "webm", "m4v", "gif"]


@dataclass(frozen=True)
class MediaInfo:
    """What probing a local file found. Sizes in bytes, durations in seconds."""

    path: str
    kind: MediaKind
    format: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    fps: float | None = None
    has_audio: bool = False

    @property
    def short_side(self) -> int | None:
        if self.width is None or self.height is None:
            return None
        return min(self.width, self.height)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ProbeError(Exception):
    """A file that could not be read as media; the message is meant for a creator."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class MediaRule:
    """The limits one media field (or each item of a list field) puts on a file."""

    kind: MediaKind
    formats: list[str] = field(default_factory=list)
    max_mb: float | None = None
    min_width: int | None = None
    min_height: int | None = None
    min_side: int | None = None
    max_side: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    pixels_approx: bool = False
    min_duration: float | None = None
    max_duration: float | None = None
    warn_duration_over: float | None = None
    min_fps: float | None = None
    max_fps: float | None = None

    def to_schema(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, False, [])}

    @classmethod
    def from_schema(cls, data: dict[str, Any]) -> MediaRule:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def formats_text(self) -> str:
        return ", ".join(FORMAT_LABELS.get(f, f.upper()) for f in self.formats)


def is_remote(value: str) -> bool:
    """True for an http(s) URL: not probed, its media limits are unknown."""
    return value.startswith(("http://", "https://"))


def reference_problem(value: str) -> str | None:
    """What makes a media value unusable before any file is read, as the end of a sentence
    that starts with the field's label ("is empty: …"); None for a usable value. A value is a
    local path, a ``file://`` URL of this computer or a well-formed http(s) URL."""
    if not value.strip():
        return "is empty: give a file path or an http(s) URL"
    bad = _bad_character(value)
    if bad:
        return bad
    if value.startswith("file://"):
        return _file_url_problem(value)
    if is_remote(value):
        return _http_problem(value)
    return None


def _bad_character(text: str, what: str = "") -> str | None:
    import unicodedata

    for c in text:
        if 0xD800 <= ord(c) <= 0xDFFF:
            return f"holds a broken character (U+{ord(c):04X}){what}: retype it"
        if unicodedata.category(c) == "Cc":
            return f"holds a control character (U+{ord(c):04X}){what}: remove it"
    return None


def _file_url_problem(value: str) -> str | None:
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(value)
        path = unquote(parts.path, errors="strict")
        host = unquote(parts.netloc, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return "is a file URL whose %-escapes are not UTF-8 text: give the file's path instead"
    bad = _bad_character(host + path, " once its %-escapes are decoded")
    if bad:
        return bad
    if parts.netloc not in ("", "localhost"):
        return (f"is a file URL of another computer ({parts.netloc[:60]}): give a file on this "
                "computer, as file:///path or a plain path")
    if not path or path == "/":
        return "is a file URL with no file in it: give the file's path"
    return None


def _http_problem(value: str) -> str | None:
    from urllib.parse import urlsplit

    import httpx

    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port
        httpx.URL(value)
    except (ValueError, httpx.InvalidURL) as e:
        return f"is not a valid URL ({str(e)[:80]}): give a complete http(s) URL or a file path"
    if not host or any(c.isspace() or c == "%" for c in host):
        return ("is not a valid URL (no usable host name): give a complete http(s) URL or a "
                "file path")
    return None


def local_path(value: str) -> str:
    """The filesystem path a local reference names (``file://`` URLs included)."""
    if value.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(value).path)
    return value


def fmt_mb(size_bytes: int) -> str:
    return f"{size_bytes / MB:.1f} MB"


def fmt_num(x: float) -> str:
    """2.0 → '2', 10.05 → '10.05', 2147483647 → '2147483647': short, never exponents."""
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.2f}"
