"""Every media limit of every model, on real files: a passing and a failing case each.

Each row puts one generated file at one field path of an otherwise valid payload, probes it
like `takes check` does, and asserts on what is reported at that path. A passing row also
asserts the whole payload is valid, so a row can fail both ways.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .helpers import Media, check, errors_at, warnings_at

MB = 1_000_000
Make = Callable[[Media], Path]


@dataclass(frozen=True)
class Ok:
    pass


@dataclass(frozen=True)
class Err:
    message: str
    prefix: bool = False  # the message starts with this (the rest quotes FFmpeg)


@dataclass(frozen=True)
class Warn:
    message: str


OK = Ok()


# ---- files -------------------------------------------------------------------------------

def png(w: int = 640, h: int = 480, size: int | None = None) -> Make:
    return lambda m: m.image(w, h, ".png", size=size)


def img(ext: str, w: int = 640, h: int = 480) -> Make:
    fmt = "AVIF" if ext == ".avif" else None
    return lambda m: m.image(w, h, ext, fmt=fmt)


def vid(w: int = 320, h: int = 240, s: float = 2.0, fps: int = 24, ext: str = ".mp4",
        size: int | None = None) -> Make:
    return lambda m: m.video(w, h, s, fps, ext, size=size)


def kvid(w: int = 720, h: int = 720, s: float = 3.0, fps: int = 24, ext: str = ".mp4",
         size: int | None = None) -> Make:
    """A video that meets the Kling/O3 video limits unless told otherwise."""
    return vid(w, h, s, fps, ext, size)


def wav(s: float = 2.0, size: int | None = None) -> Make:
    return lambda m: m.audio(s, ".wav", size=size)


def mp3(s: float = 2.0) -> Make:
    return lambda m: m.audio(s, ".mp3")


def text_file(m: Media) -> Path:
    return m.not_media(".png")


def cut_mp4(m: Media) -> Path:
    return m.truncated(m.video(640, 640, 2.0), 0.3)


# ---- valid payloads the rows change one value of -----------------------------------------

def seedance(m: Media) -> dict[str, Any]:
    return {"out": "o.mp4", "prompt": "a take", "image_urls": [str(png()(m))],
            "video_urls": [str(vid(640, 640, 2.0)(m))], "audio_urls": [str(wav(2.0)(m))]}


def kling(m: Media) -> dict[str, Any]:
    image = str(png()(m))
    return {"out": "o.mp4", "prompt": "a take", "start_image_url": image,
            "end_image_url": image,
            "elements": [{"frontal_image_url": image, "reference_image_urls": [image]},
                         {"video_url": str(kvid()(m))}]}


def o3(m: Media) -> dict[str, Any]:
    image = str(png()(m))
    return {"out": "o.mp4", "prompt": "edit @Video1", "video_url": str(kvid()(m)),
            "image_urls": [image],
            "elements": [{"frontal_image_url": image, "reference_image_urls": [image]}]}


def pixverse(m: Media) -> dict[str, Any]:
    return {"out": "o.mp4", "video_url": str(vid()(m)), "image_url": str(png()(m))}


def wan(m: Media) -> dict[str, Any]:
    return {"out": "o.mp4", "prompt": "make it snow", "video_url": str(vid(s=3.0)(m)),
            "reference_image_url": str(png()(m))}


def topaz(m: Media) -> dict[str, Any]:
    return {"out": "o.mp4", "video_url": str(vid()(m))}


BASES = {"seedance_r2v": seedance, "kling_v3_std_i2v": kling, "kling_v3_pro_i2v": kling,
         "kling_o3_video_edit": o3, "pixverse_swap": pixverse, "wan_27_video_edit": wan,
         "topaz_upscale_video": topaz}


def put(payload: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    """Set the value at a dotted path; list slots before an index repeat the list's first item."""
    out = copy.deepcopy(payload)
    parts = path.split(".")
    obj: Any = out
    for part in parts[:-1]:
        obj = obj[int(part)] if part.isdigit() else obj[part]
    last = parts[-1]
    if last.isdigit():
        while len(obj) <= int(last):
            obj.append(obj[0])
        obj[int(last)] = value
    else:
        obj[last] = value
    return out


# ---- the table ---------------------------------------------------------------------------

SEEDANCE = [
    ("image PNG", "image_urls.0", png(), OK),
    ("image JPEG", "image_urls.0", img(".jpg"), OK),
    ("image WebP", "image_urls.0", img(".webp"), OK),
    ("image GIF refused", "image_urls.0", img(".gif"),
     Err("Image 1 is GIF; this model takes JPEG, PNG, WebP")),
    ("image 30 MB", "image_urls.2", png(size=30 * MB), OK),
    ("image 34.2 MB", "image_urls.2", png(size=34_200_000),
     Err("Image 3 is 34.2 MB; this model takes at most 30 MB per image")),
    ("image 1 byte over", "image_urls.0", png(size=30 * MB + 1),
     Err("Image 1 is 30,000,001 bytes, just over 30 MB; this model takes at most 30 MB per "
         "image")),
    ("image that is a video", "image_urls.0", vid(),
     Err("Image 1 is a video file; this field takes images")),
    ("image that is text", "image_urls.0", text_file,
     Err("Image 1 could not be read: not an image, video or audio file this app can read")),
    ("video MP4", "video_urls.0", vid(640, 640), OK),
    ("video MOV", "video_urls.0", vid(640, 640, ext=".mov"), OK),
    ("video WebM refused", "video_urls.0", vid(640, 640, ext=".webm"),
     Err("Video 1 is WebM; this model takes MP4, MOV")),
    ("video truncated", "video_urls.0", cut_mp4,
     Err("Video 1 could not be read: the MP4 file is damaged or truncated", prefix=True)),
    ("video ~640x640", "video_urls.1", vid(640, 640), OK),
    ("video under ~640x640 warns", "video_urls.1", vid(480, 480),
     Warn("Video 2 is 480×480, smaller than the ~640×640 this model expects")),
    ("video ~834x1112", "video_urls.0", vid(834, 1112), OK),
    ("video over ~834x1112 warns", "video_urls.0", vid(900, 1200),
     Warn("Video 1 is 900×1200, larger than the ~834×1112 this model expects")),
    ("audio WAV", "audio_urls.0", wav(), OK),
    ("audio MP3", "audio_urls.0", mp3(), OK),
    ("audio in MP4 refused", "audio_urls.0", lambda m: m.audio_in_mp4(2.0),
     Err("Audio 1 is MP4; this model takes MP3, WAV")),
    ("audio that is an image", "audio_urls.0", png(),
     Err("Audio 1 is an image file; this field takes audio files")),
    ("audio 15 MB", "audio_urls.1", wav(size=15 * MB), OK),
    ("audio 15.1 MB", "audio_urls.1", wav(size=15_100_000),
     Err("Audio 2 is 15.1 MB; this model takes at most 15 MB per audio")),
]


def _kling_rows() -> list[tuple[str, str, Make, Any]]:
    rows: list[tuple[str, str, Make, Any]] = []
    for path, label in [("start_image_url", "Start image"), ("end_image_url", "End image"),
                        ("elements.0.frontal_image_url", "Element 1 frontal image"),
                        ("elements.0.reference_image_urls.2", "Element 1 reference image 3")]:
        rows += [
            (f"{label} 10 MB", path, png(size=10 * MB), OK),
            (f"{label} 10.5 MB", path, png(size=10_500_000),
             Err(f"{label} is 10.5 MB; this model takes at most 10 MB per image")),
            (f"{label} 300x300", path, png(300, 300), OK),
            (f"{label} 299 wide", path, png(299, 400),
             Err(f"{label} is 299×400; this model needs at least 300×300 px")),
            (f"{label} 299 high", path, png(400, 299),
             Err(f"{label} is 400×299; this model needs at least 300×300 px")),
            (f"{label} aspect 0.40", path, png(400, 1000), OK),
            (f"{label} aspect 2.50", path, png(1000, 400), OK),
            (f"{label} aspect 0.39", path, png(390, 1000),
             Err(f"{label} has aspect ratio 0.39 (390×1000); this model takes 0.40–2.50")),
            (f"{label} aspect 2.55", path, png(1020, 400),
             Err(f"{label} has aspect ratio 2.55 (1020×400); this model takes 0.40–2.50")),
        ]
    for ext in (".jpg", ".webp", ".gif", ".avif"):
        rows.append((f"start image {ext}", "start_image_url", img(ext), OK))
    rows.append(("start image that is a video", "start_image_url", vid(),
                 Err("Start image is a video file; this field takes images")))
    rows += _video_rows("elements.1.video_url", "Element 2 video")
    for ext in (".mov", ".webm", ".m4v"):
        rows.append((f"element video {ext}", "elements.1.video_url", kvid(ext=ext), OK))
    rows.append(("element video that is an image", "elements.1.video_url", png(),
                 Err("Element 2 video is an image file; this field takes videos")))
    return rows


def _video_rows(path: str, label: str) -> list[tuple[str, str, Make, Any]]:
    """The shared Kling/O3 video limits: 200 MB, 720–2160 px, 3–10.05 s, 24–60 fps."""
    return [
        (f"{label} 200 MB", path, kvid(size=200 * MB), OK),
        (f"{label} 200.5 MB", path, kvid(size=200_500_000),
         Err(f"{label} is 200.5 MB; this model takes at most 200 MB per video")),
        (f"{label} 720 px", path, kvid(720, 720), OK),
        (f"{label} 718 px", path, kvid(718, 720),
         Err(f"{label} is 718×720; each side must be at least 720 px")),
        (f"{label} 2160 px", path, kvid(2160, 720), OK),
        (f"{label} 2162 px", path, kvid(2162, 720),
         Err(f"{label} is 2162×720; each side must be at most 2160 px")),
        (f"{label} 3 s", path, kvid(s=3.0), OK),
        (f"{label} 2.5 s", path, kvid(s=2.5),
         Err(f"{label} is 2.50 s; this model takes 3–10.05 s")),
        (f"{label} 10 s", path, kvid(s=10.0), OK),
        (f"{label} 10.5 s", path, kvid(s=10.5),
         Err(f"{label} is 10.50 s; this model takes 3–10.05 s")),
        (f"{label} 24 fps", path, kvid(fps=24), OK),
        (f"{label} 60 fps", path, kvid(fps=60), OK),
        (f"{label} 23 fps", path, kvid(fps=23),
         Err(f"{label} is 23 fps; this model takes 24–60 fps")),
        (f"{label} 61 fps", path, kvid(fps=61),
         Err(f"{label} is 61 fps; this model takes 24–60 fps")),
    ]


KLING = _kling_rows()

O3 = [
    *_video_rows("video_url", "Source video"),
    ("source MOV", "video_url", kvid(ext=".mov"), OK),
    ("source WebM refused", "video_url", kvid(ext=".webm"),
     Err("Source video is WebM; this model takes MP4, MOV")),
    ("source M4V refused", "video_url", kvid(ext=".m4v"),
     Err("Source video is M4V; this model takes MP4, MOV")),
    ("image 10 MB", "image_urls.1", png(size=10 * MB), OK),
    ("image 10.5 MB", "image_urls.1", png(size=10_500_000),
     Err("Image 2 is 10.5 MB; this model takes at most 10 MB per image")),
    ("image 300x300", "image_urls.0", png(300, 300), OK),
    ("image 299x299", "image_urls.0", png(299, 299),
     Err("Image 1 is 299×299; this model needs at least 300×300 px")),
    ("image aspect 2.50", "image_urls.0", png(1000, 400), OK),
    ("image aspect 0.39", "image_urls.0", png(390, 1000),
     Err("Image 1 has aspect ratio 0.39 (390×1000); this model takes 0.40–2.50")),
    ("element frontal 10.5 MB", "elements.0.frontal_image_url", png(size=10_500_000),
     Err("Element 1 frontal image is 10.5 MB; this model takes at most 10 MB per image")),
    ("element frontal 300x300", "elements.0.frontal_image_url", png(300, 300), OK),
    ("element reference 299 wide", "elements.0.reference_image_urls.1", png(299, 400),
     Err("Element 1 reference image 2 is 299×400; this model needs at least 300×300 px")),
    ("element reference aspect 2.55", "elements.0.reference_image_urls.0", png(1020, 400),
     Err("Element 1 reference image 1 has aspect ratio 2.55 (1020×400); this model takes "
         "0.40–2.50")),
    ("element reference 10 MB", "elements.0.reference_image_urls.0", png(size=10 * MB), OK),
]

PIXVERSE = [
    *[(f"source {ext}", "video_url", vid(ext=ext), OK) for ext in (".mp4", ".mov", ".webm",
                                                                    ".m4v")],
    ("source GIF", "video_url", img(".gif"), OK),
    ("source that is an image", "video_url", png(),
     Err("Source video is an image file; this field takes videos")),
    ("source 10 s", "video_url", vid(s=10.0, fps=8), OK),
    ("source over ~10 s warns", "video_url", vid(s=10.5, fps=8),
     Warn("Source video is 10.5 s; this model works best under ~10 s")),
    *[(f"image {ext}", "image_url", img(ext), OK) for ext in (".jpg", ".png", ".webp", ".gif",
                                                              ".avif")],
    ("image that is a video", "image_url", vid(),
     Err("Swap-in image is a video file; this field takes images")),
]

WAN = [
    ("source MP4", "video_url", vid(s=3.0), OK),
    ("source MOV", "video_url", vid(s=3.0, ext=".mov"), OK),
    ("source WebM refused", "video_url", vid(s=3.0, ext=".webm"),
     Err("Source video is WebM; this model takes MP4, MOV")),
    ("source 2 s", "video_url", vid(s=2.0), OK),
    ("source 1.5 s", "video_url", vid(s=1.5, fps=8),
     Err("Source video is 1.50 s; this model takes 2–10 s")),
    ("source 10 s", "video_url", vid(s=10.0, fps=8), OK),
    ("source 10.5 s", "video_url", vid(s=10.5, fps=8),
     Err("Source video is 10.50 s; this model takes 2–10 s")),
    ("source 100 MB", "video_url", vid(s=3.0, size=100 * MB), OK),
    ("source 100.4 MB", "video_url", vid(s=3.0, size=100_400_000),
     Err("Source video is 100.4 MB; this model takes at most 100 MB per video")),
    *[(f"reference {ext}", "reference_image_url", img(ext), OK) for ext in (".jpg", ".png",
                                                                            ".webp", ".gif",
                                                                            ".avif")],
    ("reference that is a video", "reference_image_url", vid(),
     Err("Reference image is a video file; this field takes images")),
]

TOPAZ = [
    *[(f"source {ext}", "video_url", vid(ext=ext), OK) for ext in (".mp4", ".mov", ".webm",
                                                                    ".m4v")],
    ("source GIF", "video_url", img(".gif"), OK),
    ("source that is an image", "video_url", png(),
     Err("Source video is an image file; this field takes videos")),
    ("source that is text", "video_url", text_file,
     Err("Source video could not be read: not an image, video or audio file this app can "
         "read")),
]

ROWS = [
    *[("seedance_r2v", *r) for r in SEEDANCE],
    *[(model, *r) for model in ("kling_v3_std_i2v", "kling_v3_pro_i2v") for r in KLING],
    *[("kling_o3_video_edit", *r) for r in O3],
    *[("pixverse_swap", *r) for r in PIXVERSE],
    *[("wan_27_video_edit", *r) for r in WAN],
    *[("topaz_upscale_video", *r) for r in TOPAZ],
]


@pytest.mark.parametrize(("model_id", "name", "path", "make", "expect"), ROWS,
                         ids=[f"{r[0]}: {r[1]}" for r in ROWS])
def test_media_limit(media: Media, model_id: str, name: str, path: str, make: Make,
                     expect: Any) -> None:
    payload = put(BASES[model_id](media), path, str(make(media)))
    report = check(model_id, payload)
    if isinstance(expect, Ok):
        assert report.valid, report.errors
        assert warnings_at(report, path) == []
    elif isinstance(expect, Warn):
        assert report.valid, report.errors  # "~" limits never block
        assert warnings_at(report, path) == [expect.message]
    else:
        found = errors_at(report, path)
        if expect.prefix:
            assert len(found) == 1 and found[0].startswith(expect.message), found
        else:
            assert found == [expect.message]
        assert {i.field for i in report.errors} == {path}, report.errors


@pytest.mark.parametrize("model_id", sorted(BASES))
def test_the_base_payloads_are_valid_and_warning_free(media: Media, model_id: str) -> None:
    report = check(model_id, BASES[model_id](media))
    assert report.valid, report.errors
    assert report.warnings == []


def test_remote_urls_are_not_probed_and_give_no_media_errors(media: Media) -> None:
    payload = {"out": "o.mp4", "prompt": "p", "image_urls": ["https://example.com/huge.gif"],
               "video_urls": ["http://example.com/long.webm"]}
    report = check("seedance_r2v", payload)
    assert report.valid and report.warnings == []


def test_an_unprobed_local_file_gives_no_media_errors_yet() -> None:
    from app.catalog import validate_payload

    report = validate_payload("wan_27_video_edit", {"out": "o.mp4", "prompt": "p",
                                                    "video_url": "/nowhere/clip.webm"})
    assert report.valid
