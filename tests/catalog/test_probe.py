"""Probing real files: facts, type from the bytes, and clear errors for what is not media."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from app.catalog.media import ProbeError
from app.media.probe import probe, sniff

from .helpers import Media


@pytest.mark.parametrize(
    ("make", "kind", "fmt", "facts"),
    [
        (lambda m: m.image(640, 480, ".png"), "image", "png", {"width": 640, "height": 480}),
        (lambda m: m.image(300, 500, ".jpg"), "image", "jpeg", {"width": 300, "height": 500}),
        (lambda m: m.image(100, 60, ".webp"), "image", "webp", {"width": 100, "height": 60}),
        (lambda m: m.image(50, 40, ".gif"), "image", "gif", {"width": 50, "height": 40}),
        (lambda m: m.image(64, 48, ".avif", fmt="AVIF"), "image", "avif",
         {"width": 64, "height": 48}),
        (lambda m: m.video(320, 240, 2.0, 24), "video", "mp4",
         {"width": 320, "height": 240, "duration_s": 2.0, "fps": 24.0, "has_audio": False}),
        (lambda m: m.video(160, 120, 3.0, 30, ".mov", audio=True), "video", "mov",
         {"width": 160, "height": 120, "duration_s": 3.0, "fps": 30.0, "has_audio": True}),
        (lambda m: m.video(320, 240, 1.0, 25, ".webm"), "video", "webm",
         {"width": 320, "height": 240, "duration_s": 1.0, "fps": 25.0}),
        (lambda m: m.video(160, 120, 1.0, 24, ".m4v"), "video", "m4v",
         {"width": 160, "height": 120, "duration_s": 1.0}),
        (lambda m: m.audio(2.0, ".wav"), "audio", "wav", {"duration_s": 2.0, "has_audio": True}),
        (lambda m: m.audio(3.0, ".mp3"), "audio", "mp3", {"duration_s": 3.0}),
        (lambda m: m.audio_in_mp4(2.0), "audio", "mp4", {"width": None}),
    ],
    ids=["png", "jpeg", "webp", "gif", "avif", "mp4", "mov+audio", "webm", "m4v", "wav", "mp3",
         "audio-only-mp4"],
)
def test_probe_reports_the_facts(media: Media, make, kind, fmt, facts) -> None:
    path = make(media)
    info = probe(path)
    assert (info.kind, info.format) == (kind, fmt)
    assert info.size_bytes == path.stat().st_size
    for name, expected in facts.items():
        got = getattr(info, name)
        if isinstance(expected, float):
            assert got == pytest.approx(expected, abs=0.06), name
        else:
            assert got == expected, name


def test_probe_accepts_a_path_object_and_a_string(media: Media) -> None:
    path = media.image(32, 32, ".png")
    assert probe(path) == probe(str(path))


def test_type_comes_from_the_bytes_not_the_extension(media: Media) -> None:
    png_named_jpg = media.image(40, 30, ".jpg", fmt="PNG")
    assert probe(png_named_jpg).format == "png"
    mov = media.video(160, 120, 1.0, 24, ".mov")
    disguised = mov.with_name("really-a-mov.mp3")
    disguised.write_bytes(mov.read_bytes())
    info = probe(disguised)
    assert (info.kind, info.format) == ("video", "mov")


def test_padding_changes_the_size_and_nothing_else(media: Media) -> None:
    plain, padded = media.video(320, 240, 2.0), media.video(320, 240, 2.0, size=50_000_000)
    a, b = probe(plain), probe(padded)
    assert b.size_bytes == 50_000_000
    assert (a.width, a.height, a.duration_s, a.fps) == (b.width, b.height, b.duration_s, b.fps)
    wav = probe(media.audio(2.0, ".wav", size=15_000_000))
    assert wav.size_bytes == 15_000_000 and wav.duration_s == pytest.approx(2.0, abs=0.01)
    mp3 = probe(media.audio(2.0, ".mp3", size=5_000_000))
    assert mp3.duration_s == pytest.approx(2.0, abs=0.15)  # not an estimate from the size


@pytest.mark.parametrize("ext", [".mp4", ".png", ".jpg", ".wav", ".mp3", ".txt"])
def test_text_is_not_media(media: Media, ext: str) -> None:
    with pytest.raises(ProbeError) as e:
        probe(media.not_media(ext))
    assert e.value.reason == "not an image, video or audio file this app can read"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda m: m.video(320, 240, 2.0), "MP4 file is damaged or truncated"),
        (lambda m: m.video(320, 240, 2.0, ext=".mov"), "MOV file is damaged or truncated"),
        (lambda m: m.video(320, 240, 2.0, ext=".webm"), "WEBM file is truncated"),
        (lambda m: m.image(640, 480, ".png"), "PNG image is damaged or truncated"),
        (lambda m: m.image(640, 480, ".jpg"), "JPEG image is damaged or truncated"),
        (lambda m: m.audio(2.0, ".wav"), "WAV file is truncated"),
    ],
    ids=["mp4", "mov", "webm", "png", "jpeg", "wav"],
)
def test_truncated_files_give_a_clear_error(media: Media, make, words: str) -> None:
    cut = media.truncated(make(media), 0.3)
    with pytest.raises(ProbeError) as e:
        probe(cut)
    assert words in e.value.reason
    assert e.value.path == str(cut)
    assert "Traceback" not in str(e.value)


def test_a_cut_mp3_reports_the_length_it_really_has(media: Media) -> None:
    """MP3 has no index: a cut one still plays, so its real (shorter) length is what counts."""
    full = media.audio(3.0, ".mp3")
    info = probe(media.truncated(full, 0.3))
    assert info.duration_s is not None and info.duration_s < 1.5


@pytest.mark.parametrize("keep", [0.02, 0.1, 0.5, 0.9, 0.99])
def test_any_cut_of_a_video_gives_a_probe_error_or_honest_facts(media: Media,
                                                               keep: float) -> None:
    src = media.video(320, 240, 2.0, ext=".webm")
    try:
        info = probe(media.truncated(src, keep))
    except ProbeError as e:
        assert e.reason
    else:
        assert info.duration_s is not None and info.duration_s <= 2.0 + 1e-6


def test_missing_empty_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="file not found"):
        probe(tmp_path / "nope.mp4")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ProbeError, match="the file is empty"):
        probe(empty)
    with pytest.raises(ProbeError, match="folder"):
        probe(tmp_path)


def test_header_only_png_is_damaged(tmp_path: Path) -> None:
    p = tmp_path / "head.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(ProbeError, match="PNG image is damaged"):
        probe(p)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * 12, ("image", "jpeg")),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, ("image", "png")),
        (b"RIFF\0\0\0\0WEBPVP8 ", ("image", "webp")),
        (b"RIFF\0\0\0\0WAVEfmt ", ("audio", "wav")),
        (b"\0\0\0\x18ftypqt  ", ("video", "mov")),
        (b"\0\0\0\x18ftypisom", ("video", "mp4")),
        (b"\0\0\0\x18ftypM4V ", ("video", "m4v")),
        (b"\0\0\0\x18ftypavif", ("image", "avif")),
        (b"\x1a\x45\xdf\xa3\0\0", ("video", "webm")),
        (b"ID3\x04\0\0", ("audio", "mp3")),
        (b"GIF89a\0\0", ("image", "gif")),
        (b"hello world, not media", None),
    ],
)
def test_sniff(head: bytes, expected) -> None:
    assert sniff(head) == expected


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import zlib

    return (len(data).to_bytes(4, "big") + kind + data
            + zlib.crc32(kind + data).to_bytes(4, "big"))


def test_an_enormous_image_is_a_clear_error_not_a_crash(tmp_path: Path) -> None:
    """A 20000×10000 PNG whose header alone trips Pillow's decompression-bomb guard."""
    import zlib

    width, height = 20000, 10000
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    rows = zlib.compress((b"\0" + b"\0" * (width // 8)) * height, 9)
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows)
                     + _png_chunk(b"IEND", b""))
    with pytest.raises(ProbeError, match="PNG image is too large to read"):
        probe(path)


MAGICS = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBPVP8 ",
          b"RIFF\x24\0\0\0WAVEfmt ", b"\0\0\0\x18ftypisom", b"\0\0\0\x18ftypqt  ",
          b"\0\0\0\x18ftypavif", b"\x1a\x45\xdf\xa3", b"ID3\x04\0\0\0\0\0\0", b"\xff\xfb\x90\x00"]


@pytest.mark.parametrize("magic", MAGICS, ids=[m[:12].hex() for m in MAGICS])
def test_right_magic_then_garbage_never_crashes(tmp_path: Path, magic: bytes) -> None:
    import random

    rng = random.Random(magic)
    for n in (0, 100, 5000):
        path = tmp_path / f"junk{n}"
        path.write_bytes(magic + bytes(rng.randrange(256) for _ in range(n)))
        try:
            info = probe(path)
        except ProbeError as e:
            assert e.reason
        else:  # some decoders accept noise (an MP3 of noise is an MP3): then facts are sane
            assert info.size_bytes == path.stat().st_size


def _reason(path: str | Path) -> str:
    with pytest.raises(ProbeError) as e:
        probe(path)
    return e.value.reason


@pytest.mark.timeout(5)
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    assert _reason(fifo) == "this is a FIFO (named pipe), not a file"


@pytest.mark.timeout(5)
def test_a_fifo_with_a_writer_holding_it_open_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "clip.png"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # a writer exists: a plain open would not block, a read would
    try:
        assert _reason(fifo) == "this is a FIFO (named pipe), not a file"
    finally:
        os.close(writer)


def test_devices_and_sockets_are_refused(tmp_path: Path) -> None:
    assert _reason("/dev/zero") == "this is a device, not a file"
    assert _reason("/dev/null") == "this is a device, not a file"
    sock_path = str(tmp_path / "s.png")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(sock_path)
        assert _reason(sock_path) == "this is a socket, not a file"


def test_a_nul_in_the_path_is_a_probe_error() -> None:
    with pytest.raises(ProbeError) as e:
        probe("clip\x00.png")
    assert e.value.reason == "the path contains a NUL character"
    assert "\x00" not in e.value.path


def test_an_undecodable_file_name_is_a_probe_error(media: Media, tmp_path: Path) -> None:
    real = media.image(32, 32, ".png")
    odd = tmp_path / os.fsdecode(b"clip\xff.png")
    odd.write_bytes(real.read_bytes())
    with pytest.raises(ProbeError) as e:
        probe(odd)
    assert e.value.reason == "the file name has bytes that are not valid text (rename the file)"
    e.value.path.encode("utf-8")  # printable anywhere


def test_a_symlink_to_a_file_is_probed_and_to_a_fifo_refused(media: Media, tmp_path: Path) -> None:
    real = media.image(40, 30, ".png")
    (tmp_path / "link.png").symlink_to(real)
    assert probe(tmp_path / "link.png").width == 40
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "fifo.png").symlink_to(tmp_path / "fifo")
    assert _reason(tmp_path / "fifo.png") == "this is a FIFO (named pipe), not a file"

