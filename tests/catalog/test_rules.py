"""Cross-field rules: limits involving several fields or files, on real files where they count."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.catalog import validate_payload
from app.catalog.rules import keyframe_max, shot_seconds

from .helpers import Media, check

URL = "https://example.com/"
MB = 1_000_000


def urls(n: int, what: str = "i.png") -> list[str]:
    return [f"{URL}{k}{what}" for k in range(n)]


def issues(report: Any) -> list[tuple[str, str]]:
    return [(i.field, i.message) for i in report.errors]


def shots(*durations: Any) -> list[dict[str, Any]]:
    return [{"prompt": f"shot {i + 1}", "duration": d} for i, d in enumerate(durations)]


def image_element(refs: int = 1) -> dict[str, Any]:
    return {"frontal_image_url": URL + "f.png", "reference_image_urls": urls(refs)}


def video_element(**extra: Any) -> dict[str, Any]:
    return {"video_url": URL + "e.mp4", **extra}


# ---- seedance_r2v ------------------------------------------------------------------------

TOO_MANY = "reference files in all; this model takes at most 12 across images, videos and audio"


@pytest.mark.parametrize(("images", "videos", "audios", "expect"), [
    (9, 2, 1, []),
    (9, 3, 0, []),
    (6, 3, 3, []),
    (9, 3, 1, [("audio_urls.0", "13 " + TOO_MANY)]),
    (8, 3, 3, [("audio_urls.1", "14 " + TOO_MANY)]),
    (9, 3, 3, [("audio_urls.0", "15 " + TOO_MANY)]),
])
def test_seedance_twelve_files_in_all(images: int, videos: int, audios: int,
                                      expect: list[tuple[str, str]]) -> None:
    payload = {"out": "o.mp4", "prompt": "p", "image_urls": urls(images),
               "video_urls": urls(videos, "v.mp4"), "audio_urls": urls(audios, "a.wav")}
    assert issues(validate_payload("seedance_r2v", payload)) == expect


VIDEOS_SPAN = "this model takes 2–15 s combined"


@pytest.mark.parametrize(("videos", "expect"), [
    (lambda m: [m.video(640, 640, 2.0, 8)], []),
    (lambda m: [m.video(640, 640, 5.0, 8)] * 3, []),
    (lambda m: [m.video(640, 640, 8.0, 8), m.video(640, 640, 7.0, 8)], []),
    (lambda m: [m.video(640, 640, 1.0, 8)],
     [("video_urls", "Reference videos add up to 1.0 s; " + VIDEOS_SPAN)]),
    (lambda m: [m.video(640, 640, 8.0, 8)] * 2,
     [("video_urls", "Reference videos add up to 16.0 s; " + VIDEOS_SPAN)]),
    # a remote video's length is unknown: too short cannot be said, too long still can
    (lambda m: [m.video(640, 640, 1.0, 8), URL + "v.mp4"], []),
    (lambda m: [m.video(640, 640, 8.0, 8)] * 2 + [URL + "v.mp4"],
     [("video_urls", "Reference videos add up to 16.0 s; " + VIDEOS_SPAN)]),
    (lambda m: [m.video(640, 640, 2.0, 8, size=24_900_000)] * 2, []),
    (lambda m: [m.video(640, 640, 2.0, 8, size=25 * MB)] * 2,
     [("video_urls", "Reference videos total 50.0 MB; this model takes under 50 MB in all")]),
], ids=["2s", "3x5s", "8+7s", "1s", "8+8s", "1s+remote", "8+8s+remote", "49.8MB", "50MB"])
def test_seedance_videos_combined(media: Media, videos: Callable[[Media], list[Any]],
                                  expect: list[tuple[str, str]]) -> None:
    payload = {"out": "o.mp4", "prompt": "p", "video_urls": [str(v) for v in videos(media)]}
    assert issues(check("seedance_r2v", payload)) == expect


@pytest.mark.parametrize(("audios", "expect"), [
    (lambda m: [m.audio(5.0)] * 3, []),
    (lambda m: [m.audio(5.0), m.audio(5.0, ".mp3"), m.audio(4.0)], []),
    (lambda m: [m.audio(8.0)] * 2,
     [("audio_urls", "Reference audio adds up to 16.0 s; this model takes at most 15 s "
                     "combined")]),
], ids=["3x5s", "mixed 14s", "8+8s"])
def test_seedance_audio_combined(media: Media, audios: Callable[[Media], list[Any]],
                                 expect: list[tuple[str, str]]) -> None:
    payload = {"out": "o.mp4", "prompt": "p", "image_urls": urls(1),
               "audio_urls": [str(a) for a in audios(media)]}
    assert issues(check("seedance_r2v", payload)) == expect


@pytest.mark.parametrize(("extra", "expect"), [
    ({"image_urls": urls(1)}, []),
    ({"video_urls": urls(1, "v.mp4")}, []),
    ({}, [("audio_urls", "Reference audio needs at least one reference image or video")]),
    ({"image_urls": []}, [("audio_urls", "Reference audio needs at least one reference image "
                                         "or video")]),
])
def test_seedance_audio_needs_an_image_or_a_video(extra: dict[str, Any],
                                                  expect: list[tuple[str, str]]) -> None:
    payload = {"out": "o.mp4", "prompt": "p", "audio_urls": urls(1, "a.wav"), **extra}
    assert issues(validate_payload("seedance_r2v", payload)) == expect


@pytest.mark.parametrize(("prompt", "expect"), [
    ("@Image1 and @Image2 move like @Video1, voice @Audio1", None),
    ("no mentions at all", None),
    ("@Image3 dances", "Mentions point at nothing: @Image3 (there are 2 images)"),
    ("@Video2", "Mentions point at nothing: @Video2 (there is 1 video)"),
    ("@Audio2 and @Audio2", "Mentions point at nothing: @Audio2 (there is 1 audio clip)"),
    ("@Image0", "Mentions point at nothing: @Image0 (there are 2 images)"),
    ("@Element1", "Mentions point at nothing: @Element1 (this model takes no element "
                  "references)"),
])
def test_seedance_mentions(prompt: str, expect: str | None) -> None:
    payload = {"out": "o.mp4", "prompt": prompt, "image_urls": urls(2),
               "video_urls": urls(1, "v.mp4"), "audio_urls": urls(1, "a.wav")}
    got = issues(validate_payload("seedance_r2v", payload))
    assert got == ([] if expect is None else [("prompt", expect)])


def test_seedance_mentions_count_references_whose_values_are_invalid() -> None:
    payload = {"out": "o.mp4", "prompt": "@Image2", "image_urls": [URL + "a.png", 5]}
    assert issues(validate_payload("seedance_r2v", payload)) == [
        ("image_urls.1", "Image 2 must be text")]


# ---- Kling v3 i2v ------------------------------------------------------------------------

KLING_BASE = {"out": "o.mp4", "start_image_url": URL + "s.png"}
BOTH = "Use either a single prompt or shots, not both"
NEITHER = "Write a prompt (or switch to shots)"


@pytest.mark.parametrize("model_id", ["kling_v3_std_i2v", "kling_v3_pro_i2v"])
@pytest.mark.parametrize(("patch", "expect"), [
    ({"prompt": "p"}, []),
    ({"multi_prompt": shots("5")}, []),
    ({"prompt": "", "multi_prompt": shots("5")}, []),
    ({"prompt": "p", "multi_prompt": shots("5")}, [("multi_prompt", BOTH)]),
    ({}, [("prompt", NEITHER)]),
    ({"prompt": "   "}, [("prompt", NEITHER)]),
    ({"multi_prompt": []}, [("prompt", NEITHER)]),
    ({"multi_prompt": "not a list"}, [("multi_prompt", "Shots must be a list")]),
    ({"multi_prompt": shots(*["2"] * 7)},
     [("multi_prompt", "Shots: 7 given; this model takes at most 6")]),
    ({"multi_prompt": shots("10", "5")}, []),
    ({"multi_prompt": shots(10, 6)},
     [("multi_prompt", "Shots add up to 16 s; the clip can be at most 15 s")]),
    ({"multi_prompt": shots("1", "1")},
     [("multi_prompt", "Shots add up to 2 s; the clip must be at least 3 s")]),
    ({"multi_prompt": shots("5", "5"), "duration": "10"}, []),
    ({"multi_prompt": shots("5", "5"), "duration": 10}, []),
    ({"multi_prompt": shots("5", "5"), "duration": "5"},
     [("duration", "Shots add up to 10 s but duration is 5 s; in multi-shot mode they must "
                   "match")]),
    ({"multi_prompt": shots("5", "0")},
     [("multi_prompt.1.duration", "Shot 2 duration must be 1–15 s, not 0 s")]),
], ids=["prompt", "shots", "empty prompt+shots", "both", "neither", "blank", "no shots",
        "shots not a list", "7 shots", "sum 15", "sum 16", "sum 2", "duration matches",
        "duration int matches", "duration differs", "bad shot"])
def test_kling_prompt_or_shots(model_id: str, patch: dict[str, Any],
                               expect: list[tuple[str, str]]) -> None:
    assert issues(validate_payload(model_id, {**KLING_BASE, **patch})) == expect


@pytest.mark.parametrize("model_id", ["kling_v3_std_i2v", "kling_v3_pro_i2v"])
@pytest.mark.parametrize(("elements", "expect"), [
    ([image_element(1)], []),
    ([image_element(3), video_element()], []),
    ([video_element(voice_id="v-1")], []),
    ([{**image_element(1), "video_url": URL + "v.mp4"}],
     [("elements.0", "Element 1 is either an image set or a video, not both")]),
    ([{}], [("elements.0", "Element 1 needs a frontal image and 1–3 reference images, or a "
                           "video")]),
    ([{"frontal_image_url": URL + "f.png"}],
     [("elements.0.reference_image_urls", "Element 1 needs 1–3 reference images")]),
    ([{"frontal_image_url": URL + "f.png", "reference_image_urls": []}],
     [("elements.0.reference_image_urls", "Element 1 needs 1–3 reference images")]),
    ([{"reference_image_urls": urls(2)}],
     [("elements.0.frontal_image_url", "Element 1 needs a frontal image")]),
    ([video_element(), image_element(), video_element()],
     [("elements.2.video_url", "Only one element may carry a video (Element 1 already does)")]),
    ([{**image_element(2), "voice_id": "v-1"}],
     [("elements.0.voice_id", "Element 1: a voice can only be bound to a video element")]),
], ids=["image set", "set+video", "video+voice", "both", "empty", "no references",
        "zero references", "no frontal", "two videos", "voice on images"])
def test_kling_elements(model_id: str, elements: list[dict[str, Any]],
                        expect: list[tuple[str, str]]) -> None:
    payload = {**KLING_BASE, "prompt": "p", "elements": elements}
    assert issues(validate_payload(model_id, payload)) == expect


@pytest.mark.parametrize("model_id", ["kling_v3_std_i2v", "kling_v3_pro_i2v"])
@pytest.mark.parametrize(("patch", "expect"), [
    ({"prompt": "@Element1 meets @Element2"}, []),
    ({"prompt": "@Element3 waves"},
     [("prompt", "Mentions point at nothing: @Element3 (there are 2 elements)")]),
    ({"prompt": "@Image1 waves"},
     [("prompt", "Mentions point at nothing: @Image1 (this model takes no image references)")]),
    ({"multi_prompt": [{"prompt": "@Element1"}, {"prompt": "@Element4", "duration": "3"}]},
     [("multi_prompt.1.prompt", "Mentions point at nothing: @Element4 (there are 2 elements)")]),
    ({"prompt": "@Element3", "elements": None},
     [("prompt", "Mentions point at nothing: @Element3 (there are 0 elements)")]),
], ids=["exist", "past the end", "wrong prefix", "in a shot", "no elements"])
def test_kling_element_mentions(model_id: str, patch: dict[str, Any],
                                expect: list[tuple[str, str]]) -> None:
    payload = {**KLING_BASE, "elements": [image_element(), video_element()], **patch}
    assert issues(validate_payload(model_id, payload)) == expect


def test_kling_an_invalid_element_is_still_an_element_for_mentions() -> None:
    payload = {**KLING_BASE, "prompt": "@Element1 and @Element2",
               "elements": [image_element(), image_element(4)]}
    assert issues(validate_payload("kling_v3_pro_i2v", payload)) == [
        ("elements.1.reference_image_urls",
         "Element 2 reference images: 4 given; this model takes at most 3")]


# ---- kling_o3_video_edit -----------------------------------------------------------------

O3_BASE = {"out": "o.mp4", "prompt": "edit @Video1", "video_url": URL + "v.mp4"}
O3_TOO_MANY = "this model takes at most 4 in all"


@pytest.mark.parametrize(("elements", "images", "expect"), [
    (2, 2, []),
    (0, 4, []),
    (4, 0, []),
    (3, 2, [("image_urls", "3 elements + 2 reference images = 5; " + O3_TOO_MANY)]),
    (0, 5, [("image_urls", "0 elements + 5 reference images = 5; " + O3_TOO_MANY)]),
    (5, 0, [("elements", "5 elements + 0 reference images = 5; " + O3_TOO_MANY)]),
])
def test_o3_elements_and_images_at_most_four(elements: int, images: int,
                                             expect: list[tuple[str, str]]) -> None:
    payload = {**O3_BASE, "elements": [image_element()] * elements, "image_urls": urls(images)}
    assert issues(validate_payload("kling_o3_video_edit", payload)) == expect


@pytest.mark.parametrize(("prompt", "expect"), [
    ("@Video1 with @Image1, @Image2 and @Element1", None),
    ("@Video2", "@Video2 (there is 1 video)"),
    ("@Image3", "@Image3 (there are 2 images)"),
    ("@Element2", "@Element2 (there is 1 element)"),
    ("@Audio1", "@Audio1 (this model takes no audio references)"),
    ("@Video2 then @Image3", "@Video2 (there is 1 video), @Image3 (there are 2 images)"),
])
def test_o3_mentions(prompt: str, expect: str | None) -> None:
    payload = {**O3_BASE, "prompt": prompt, "image_urls": urls(2),
               "elements": [image_element()]}
    got = issues(validate_payload("kling_o3_video_edit", payload))
    assert got == ([] if expect is None else [("prompt", "Mentions point at nothing: " + expect)])


# ---- pixverse_swap -----------------------------------------------------------------------

@pytest.mark.parametrize(("video", "keyframe", "expect"), [
    (lambda m: m.video(320, 240, 2.0, 24), 48, None),
    (lambda m: m.video(320, 240, 2.0, 24), 1, None),
    (lambda m: m.video(320, 240, 2.0, 24), 49,
     "Keyframe 49 is past the end of the source video (2.00 s × 24 = 48); pick 1–48"),
    # normalized to 24 fps: a 30 fps source of 2 s still has 48 keyframes
    (lambda m: m.video(320, 240, 2.0, 30), 48, None),
    (lambda m: m.video(320, 240, 2.0, 30), 60,
     "Keyframe 60 is past the end of the source video (2.00 s × 24 = 48); pick 1–48"),
    (lambda m: m.video(320, 240, 1.5, 8), 37,
     "Keyframe 37 is past the end of the source video (1.50 s × 24 = 36); pick 1–36"),
    (lambda m: URL + "remote.mp4", 5000, None),
], ids=["48 of 2s", "1", "49 of 2s", "48 of 2s@30", "60 of 2s@30", "37 of 1.5s", "remote"])
def test_pixverse_keyframe_depends_on_the_source(media: Media, video: Any, keyframe: int,
                                                 expect: str | None) -> None:
    payload = {"out": "o.mp4", "video_url": str(video(media)), "image_url": URL + "i.png",
               "keyframe_id": keyframe}
    got = issues(check("pixverse_swap", payload))
    assert got == ([] if expect is None else [("keyframe_id", expect)])


@pytest.mark.parametrize(("seconds", "top"), [(2.0, 48), (0.01, 1), (10.5, 252), (5.0, 120),
                                              (1 / 3, 8)])
def test_keyframe_max(seconds: float, top: int) -> None:
    assert keyframe_max(seconds) == top


# ---- wan_27_video_edit -------------------------------------------------------------------

@pytest.mark.parametrize(("video", "duration", "expect"), [
    (lambda m: m.video(320, 240, 3.0), 0, None),
    (lambda m: m.video(320, 240, 3.0), 2, None),
    (lambda m: m.video(320, 240, 3.0), 3, None),
    (lambda m: m.video(320, 240, 3.0), 4,
     "Duration 4 s is longer than the source video (3.0 s); use 0 to match it"),
    (lambda m: URL + "remote.mp4", 10, None),
], ids=["0 matches", "2 of 3", "3 of 3", "4 of 3", "remote"])
def test_wan_duration_not_longer_than_the_source(media: Media, video: Any, duration: int,
                                                 expect: str | None) -> None:
    payload = {"out": "o.mp4", "prompt": "p", "video_url": str(video(media)),
               "duration": duration}
    got = issues(check("wan_27_video_edit", payload))
    assert got == ([] if expect is None else [("duration", expect)])


# ---- helpers the form uses ---------------------------------------------------------------

@pytest.mark.parametrize(("value", "total"), [
    (None, None), ([], None), (shots("5", 3), 8), ([{"prompt": "a"}], 5),
    (shots("abc"), None), ([None], None), (shots(True), None),
])
def test_shot_seconds(value: Any, total: int | None) -> None:
    assert shot_seconds(value) == total
