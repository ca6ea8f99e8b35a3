"""Every per-field limit (ranges, enums, lengths, types) and the wrapper params, per model.

Each row changes one thing in a valid payload (remote URLs: nothing to probe) and says what
must be reported where. A passing row asserts the whole payload is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.catalog import MODELS, UnknownModel, get_model, validate_payload
from app.catalog.schemas import TOPAZ_MODELS

URL = "https://example.com/"
DROP = object()

BASES: dict[str, dict[str, Any]] = {
    "seedance_r2v": {"out": "o.mp4", "prompt": "a take"},
    "kling_v3_std_i2v": {"out": "o.mp4", "start_image_url": URL + "s.png", "prompt": "a take"},
    "kling_v3_pro_i2v": {"out": "o.mp4", "start_image_url": URL + "s.png", "prompt": "a take"},
    "kling_o3_video_edit": {"out": "o.mp4", "prompt": "edit", "video_url": URL + "v.mp4"},
    "pixverse_swap": {"out": "o.mp4", "video_url": URL + "v.mp4", "image_url": URL + "i.png"},
    "wan_27_video_edit": {"out": "o.mp4", "prompt": "snow", "video_url": URL + "v.mp4"},
    "topaz_upscale_video": {"out": "o.mp4", "video_url": URL + "v.mp4"},
}
KLINGS = ("kling_v3_std_i2v", "kling_v3_pro_i2v")


@dataclass(frozen=True)
class Err:
    path: str
    message: str


OK = None


def urls(n: int, what: str = "i.png") -> list[str]:
    return [f"{URL}{k}{what}" for k in range(n)]


def shots(*durations: Any) -> list[dict[str, Any]]:
    return [{"prompt": f"shot {i + 1}", "duration": d} for i, d in enumerate(durations)]


def image_element(refs: int = 1) -> dict[str, Any]:
    return {"frontal_image_url": URL + "f.png", "reference_image_urls": urls(refs)}


NOT_ALLOWED = "must be one of"

SEEDANCE = [
    ("prompt empty", {"prompt": ""}, Err("prompt", "Prompt must not be empty")),
    ("prompt missing", {"prompt": DROP}, Err("prompt", "Prompt is required")),
    ("9 images", {"image_urls": urls(9)}, OK),
    ("10 images", {"image_urls": urls(10)},
     Err("image_urls", "Reference images: 10 given; this model takes at most 9")),
    ("3 videos", {"video_urls": urls(3, "v.mp4")}, OK),
    ("4 videos", {"video_urls": urls(4, "v.mp4")},
     Err("video_urls", "Reference videos: 4 given; this model takes at most 3")),
    ("3 audios", {"audio_urls": urls(3, "a.wav"), "image_urls": urls(1)}, OK),
    ("4 audios", {"audio_urls": urls(4, "a.wav"), "image_urls": urls(1)},
     Err("audio_urls", "Reference audio: 4 given; this model takes at most 3")),
    ("images not a list", {"image_urls": URL + "i.png"},
     Err("image_urls", "Reference images must be a list")),
    *[(f"resolution {r}", {"resolution": r}, OK) for r in ("480p", "720p", "1080p", "4k")],
    ("resolution 2k", {"resolution": "2k"},
     Err("resolution", "Resolution must be one of 480p, 720p, 1080p or 4k, not “2k”")),
    *[(f"duration {d!r}", {"duration": d}, OK) for d in ("auto", 4, 15, "5", "15")],
    ("duration 3", {"duration": 3}, Err("duration", "Duration must be auto or 4–15 s, not 3 s")),
    ("duration 16", {"duration": "16"},
     Err("duration", "Duration must be auto or 4–15 s, not 16 s")),
    ("duration 4.5", {"duration": 4.5},
     Err("duration", "Duration must be auto or 4–15 s, not 4.5 s")),
    ("duration word", {"duration": "long"},
     Err("duration", "Duration must be auto or 4–15 s, not “long”")),
    *[(f"aspect {a}", {"aspect_ratio": a}, OK)
      for a in ("auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")],
    ("aspect 2:1", {"aspect_ratio": "2:1"},
     Err("aspect_ratio", "Aspect ratio must be one of auto, 21:9, 16:9, 4:3, 1:1, 3:4 or 9:16, "
         "not “2:1”")),
    ("audio off", {"generate_audio": False}, OK),
    ("audio maybe", {"generate_audio": "maybe"},
     Err("generate_audio", "Generate audio must be true or false")),
    ("bitrate high", {"bitrate_mode": "high"}, OK),
    ("bitrate max", {"bitrate_mode": "max"},
     Err("bitrate_mode", "Bitrate must be one of standard or high, not “max”")),
    ("end user id", {"end_user_id": "u-1"}, OK),
    ("end user id number", {"end_user_id": 5}, Err("end_user_id", "End user id must be text")),
]

KLING = [
    ("start image missing", {"start_image_url": DROP},
     Err("start_image_url", "Start image is required")),
    ("prompt 2500", {"prompt": "x" * 2500}, OK),
    ("prompt 2501", {"prompt": "x" * 2501},
     Err("prompt", "Prompt is 2,501 characters; this model takes at most 2,500")),
    ("negative 2500", {"negative_prompt": "x" * 2500}, OK),
    ("negative 2501", {"negative_prompt": "x" * 2501},
     Err("negative_prompt", "Negative prompt is 2,501 characters; this model takes at most "
         "2,500")),
    *[(f"duration {d!r}", {"duration": d}, OK) for d in ("3", "15", 3, 15, "10")],
    ("duration 2", {"duration": "2"}, Err("duration", "Duration must be 3–15 s, not 2 s")),
    ("duration 16", {"duration": 16}, Err("duration", "Duration must be 3–15 s, not 16 s")),
    ("duration 7.5", {"duration": 7.5},
     Err("duration", "Duration must be 3–15 s (whole numbers only), not 7.5 s")),
    ("duration word", {"duration": "five"},
     Err("duration", "Duration must be 3–15 s, not “five”")),
    ("shot 1 s", {"prompt": DROP, "multi_prompt": shots("1", "2")}, OK),
    ("shot 15 s", {"prompt": DROP, "multi_prompt": shots(15)}, OK),
    ("shot default 5 s", {"prompt": DROP, "multi_prompt": [{"prompt": "a"}]}, OK),
    ("shot 0 s", {"prompt": DROP, "multi_prompt": shots("0", "5")},
     Err("multi_prompt.0.duration", "Shot 1 duration must be 1–15 s, not 0 s")),
    ("shot 16 s", {"prompt": DROP, "multi_prompt": shots("5", 16)},
     Err("multi_prompt.1.duration", "Shot 2 duration must be 1–15 s, not 16 s")),
    ("shot prompt empty", {"prompt": DROP, "multi_prompt": [{"prompt": "", "duration": "5"}]},
     Err("multi_prompt.0.prompt", "Shot 1 prompt must not be empty")),
    ("shot prompt missing", {"prompt": DROP, "multi_prompt": [{"duration": "5"}]},
     Err("multi_prompt.0.prompt", "Shot 1 prompt is required")),
    ("6 shots", {"prompt": DROP, "multi_prompt": shots(*["2"] * 6)}, OK),
    ("7 shots", {"prompt": DROP, "multi_prompt": shots(*["2"] * 7)},
     Err("multi_prompt", "Shots: 7 given; this model takes at most 6")),
    ("cfg 0", {"cfg_scale": 0}, OK),
    ("cfg 1", {"cfg_scale": 1}, OK),
    ("cfg -0.1", {"cfg_scale": -0.1}, Err("cfg_scale", "CFG scale is -0.1; the minimum is 0")),
    ("cfg 1.1", {"cfg_scale": 1.1}, Err("cfg_scale", "CFG scale is 1.1; the maximum is 1")),
    ("shot type intelligent", {"shot_type": "intelligent"}, OK),
    ("shot type auto", {"shot_type": "auto"},
     Err("shot_type", "Shot type must be one of customize or intelligent, not “auto”")),
    ("audio off", {"generate_audio": False}, OK),
    ("end image", {"end_image_url": URL + "e.png"}, OK),
    ("element with 1 reference", {"elements": [image_element(1)]}, OK),
    ("element with 3 references", {"elements": [image_element(3)]}, OK),
    ("element with 4 references", {"elements": [image_element(4)]},
     Err("elements.0.reference_image_urls",
         "Element 1 reference images: 4 given; this model takes at most 3")),
    ("element unknown key", {"elements": [{"video_url": URL + "v.mp4", "face": 1}]},
     Err("elements.0.face", "Element 1 face is not a parameter of this model")),
]

O3 = [
    ("prompt missing", {"prompt": DROP}, Err("prompt", "Prompt is required")),
    ("prompt empty", {"prompt": ""}, Err("prompt", "Prompt must not be empty")),
    ("prompt 2500", {"prompt": "x" * 2500}, OK),
    ("prompt 2501", {"prompt": "x" * 2501},
     Err("prompt", "Prompt is 2,501 characters; this model takes at most 2,500")),
    ("source missing", {"video_url": DROP}, Err("video_url", "Source video is required")),
    ("no images", {"image_urls": None}, OK),
    ("element with 1 reference", {"elements": [image_element(1)]}, OK),
    ("element with 3 references", {"elements": [image_element(3)]}, OK),
    ("element with 0 references", {"elements": [image_element(0)]},
     Err("elements.0.reference_image_urls",
         "Element 1 reference images: 0 given; this model needs at least 1")),
    ("element with 4 references", {"elements": [image_element(4)]},
     Err("elements.0.reference_image_urls",
         "Element 1 reference images: 4 given; this model takes at most 3")),
    ("element without frontal", {"elements": [{"reference_image_urls": urls(1)}]},
     Err("elements.0.frontal_image_url", "Element 1 frontal image is required")),
    ("element with a video", {"elements": [{**image_element(1), "video_url": URL + "v.mp4"}]},
     Err("elements.0.video_url", "Element 1 video url is not a parameter of this model")),
    ("shot type customize", {"shot_type": "customize"}, OK),
    ("shot type intelligent", {"shot_type": "intelligent"},
     Err("shot_type", "Shot type must be customize, not “intelligent”")),
    ("drop audio", {"keep_audio": False}, OK),
]

PIXVERSE = [
    *[(f"mode {m}", {"mode": m}, OK) for m in ("person", "object", "background")],
    ("mode face", {"mode": "face"},
     Err("mode", "Mode must be one of person, object or background, not “face”")),
    ("keyframe 1", {"keyframe_id": 1}, OK),
    ("keyframe 0", {"keyframe_id": 0}, Err("keyframe_id", "Keyframe is 0; the minimum is 1")),
    ("keyframe 1.5", {"keyframe_id": 1.5},
     Err("keyframe_id", "Keyframe must be a whole number, not 1.5")),
    ("keyframe word", {"keyframe_id": "first"},
     Err("keyframe_id", "Keyframe must be a whole number, not “first”")),
    *[(f"resolution {r}", {"resolution": r}, OK) for r in ("360p", "540p", "720p")],
    ("resolution 1080p", {"resolution": "1080p"},
     Err("resolution", "Resolution must be one of 360p, 540p or 720p, not “1080p”")),
    *[(f"seed {s}", {"seed": s}, OK) for s in (None, -5, 0, 2**40)],
    ("seed 1.5", {"seed": 1.5}, Err("seed", "Seed must be a whole number, not 1.5")),
    ("sound off", {"original_sound_switch": False}, OK),
    ("image missing", {"image_url": DROP}, Err("image_url", "Swap-in image is required")),
]

WAN_DURATION = "Duration must be 0 (match the source) or 2–10 s"
WAN = [
    ("prompt empty", {"prompt": ""}, Err("prompt", "Instruction must not be empty")),
    ("source missing", {"video_url": DROP}, Err("video_url", "Source video is required")),
    *[(f"resolution {r}", {"resolution": r}, OK) for r in ("720p", "1080p")],
    ("resolution 480p", {"resolution": "480p"},
     Err("resolution", "Resolution must be one of 720p or 1080p, not “480p”")),
    *[(f"aspect {a}", {"aspect_ratio": a}, OK)
      for a in (None, "16:9", "9:16", "1:1", "4:3", "3:4")],
    ("aspect 21:9", {"aspect_ratio": "21:9"},
     Err("aspect_ratio", "Aspect ratio must be one of 16:9, 9:16, 1:1, 4:3 or 3:4, not “21:9”")),
    *[(f"duration {d}", {"duration": d}, OK) for d in (0, 2, 10, "4")],
    ("duration 1", {"duration": 1}, Err("duration", WAN_DURATION + ", not 1 s")),
    ("duration 11", {"duration": 11}, Err("duration", WAN_DURATION + ", not 11 s")),
    ("duration -1", {"duration": -1}, Err("duration", WAN_DURATION + ", not -1 s")),
    ("duration 2.5", {"duration": 2.5}, Err("duration", WAN_DURATION + ", not 2.5 s")),
    *[(f"audio {a}", {"audio_setting": a}, OK) for a in ("auto", "origin")],
    ("audio mute", {"audio_setting": "mute"},
     Err("audio_setting", "Audio must be one of auto or origin, not “mute”")),
    *[(f"seed {s}", {"seed": s}, OK) for s in (None, 0, 2147483647)],
    ("seed -1", {"seed": -1}, Err("seed", "Seed is -1; the minimum is 0")),
    ("seed 2^31", {"seed": 2147483648},
     Err("seed", "Seed is 2147483648; the maximum is 2147483647")),
    ("safety off", {"enable_safety_checker": False}, OK),
    ("reference image", {"reference_image_url": URL + "r.png"}, OK),
]

KNOBS = [("compression", "Compression"), ("noise", "Noise"), ("halo", "Halo"),
         ("recover_detail", "Recover detail")]
TOPAZ = [
    *[(f"model {m}", {"model": m}, OK) for m in TOPAZ_MODELS],
    ("model Proteus 2", {"model": "Proteus 2"},
     Err("model", "Enhancement model must be one of " + ", ".join(TOPAZ_MODELS[:-1])
         + " or Starlight Fast 2, not “Proteus 2”")),
    *[(f"factor {f}", {"upscale_factor": f}, OK) for f in (1, 2.5, 4)],
    ("factor 0.5", {"upscale_factor": 0.5},
     Err("upscale_factor", "Upscale factor is 0.5×; the minimum is 1×")),
    ("factor 4.5", {"upscale_factor": 4.5},
     Err("upscale_factor", "Upscale factor is 4.5×; the maximum is 4×")),
    *[(f"target fps {f}", {"target_fps": f}, OK) for f in (None, 16, 30, 60)],
    ("target fps 15", {"target_fps": 15},
     Err("target_fps", "Target fps is 15 fps; the minimum is 16 fps")),
    ("target fps 61", {"target_fps": 61},
     Err("target_fps", "Target fps is 61 fps; the maximum is 60 fps")),
    ("target fps 29.97", {"target_fps": 29.97},
     Err("target_fps", "Target fps must be a whole number, not 29.97 fps")),
    *[row for name, label in KNOBS for row in [
        (f"{name} unset", {name: None}, OK),
        (f"{name} 0", {name: 0}, OK),
        (f"{name} 1", {name: 1}, OK),
        (f"{name} -0.01", {name: -0.01}, Err(name, f"{label} is -0.01; the minimum is 0")),
        (f"{name} 1.01", {name: 1.01}, Err(name, f"{label} is 1.01; the maximum is 1")),
    ]],
    ("grain 0", {"grain": 0}, OK),
    ("grain 0.1", {"grain": 0.1}, OK),
    ("grain 0.11", {"grain": 0.11}, Err("grain", "Grain is 0.11; the maximum is 0.1")),
    ("grain -0.01", {"grain": -0.01}, Err("grain", "Grain is -0.01; the minimum is 0")),
    ("H.264", {"H264_output": True}, OK),
]


def _wrapper_rows() -> list[tuple[str, str, dict[str, Any], Any]]:
    rows: list[tuple[str, str, dict[str, Any], Any]] = []
    for model in BASES:
        rows += [
            (model, "out in a folder", {"out": "renders/take 1.mp4"}, OK),
            (model, "out missing", {"out": DROP}, Err("out", "Output path (out) is required")),
            (model, "out absolute", {"out": "/tmp/x.mp4"},
             Err("out", "Output path '/tmp/x.mp4' must be relative to the work folder")),
            (model, "out escapes", {"out": "../x.mp4"},
             Err("out", "Output path '../x.mp4' must stay inside the work folder (no '..')")),
            (model, "out not text", {"out": 5}, Err("out", "Output path (out) must be text")),
            (model, "mock", {"mock": True}, OK),
            (model, "mock yes", {"mock": "yes"}, Err("mock", "mock must be true or false")),
            (model, "unknown param", {"seed_image": "x"},
             Err("seed_image", f"'seed_image' is not a parameter of {model}")),
        ]
    rows += [("seedance_r2v", f"format {f}", {"format": f}, OK)
             for f in ("shorts", "reels", "horizontal")]
    rows.append(("seedance_r2v", "format square", {"format": "square"},
                 Err("format", "format must be one of shorts, reels, horizontal")))
    rows.append(("seedance_r2v", "format not text", {"format": ["shorts"]},
                 Err("format", "format must be one of shorts, reels, horizontal")))
    return rows


ROWS = [
    *[("seedance_r2v", *r) for r in SEEDANCE],
    *[(m, *r) for m in KLINGS for r in KLING],
    *[("kling_o3_video_edit", *r) for r in O3],
    *[("pixverse_swap", *r) for r in PIXVERSE],
    *[("wan_27_video_edit", *r) for r in WAN],
    *[("topaz_upscale_video", *r) for r in TOPAZ],
    *_wrapper_rows(),
]


def apply(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in patch.items():
        if v is DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


@pytest.mark.parametrize(("model_id", "name", "patch", "expect"), ROWS,
                         ids=[f"{r[0]}: {r[1]}" for r in ROWS])
def test_field_limit(model_id: str, name: str, patch: dict[str, Any], expect: Err | None) -> None:
    report = validate_payload(model_id, apply(BASES[model_id], patch))
    if expect is None:
        assert report.valid, report.errors
        assert report.warnings == []
    else:
        assert [(i.field, i.message) for i in report.errors] == [(expect.path, expect.message)]


def test_format_is_a_warning_where_the_model_has_no_aspect_field() -> None:
    for model_id in BASES:
        if model_id == "seedance_r2v":
            continue
        report = validate_payload(model_id, {**BASES[model_id], "format": "shorts"})
        assert report.valid
        assert [i.field for i in report.warnings] == ["format"]
        assert "has no effect" in report.warnings[0].message


def test_format_disagreeing_with_aspect_ratio_warns() -> None:
    report = validate_payload("seedance_r2v", {**BASES["seedance_r2v"], "format": "horizontal",
                                               "aspect_ratio": "9:16"})
    assert report.valid
    assert [(i.field, i.message) for i in report.warnings] == [
        ("format", "format 'horizontal' means 16:9 but aspect_ratio is 9:16: aspect_ratio is "
                   "what the app sends")]


def test_a_payload_that_is_not_an_object() -> None:
    report = validate_payload("wan_27_video_edit", ["not", "an", "object"])  # type: ignore[arg-type]
    assert [(i.field, i.message) for i in report.errors] == [
        ("", "The payload must be a JSON object")]


def test_unknown_model() -> None:
    with pytest.raises(UnknownModel) as e:
        get_model("sora_9")
    assert "unknown model 'sora_9'" in str(e.value)
    with pytest.raises(UnknownModel):
        validate_payload("sora_9", {})


def test_the_catalog_holds_the_seven_models_of_the_reference() -> None:
    assert sorted(MODELS) == sorted(BASES)
    tasks = {m.id: m.task for m in MODELS.values()}
    assert tasks == {"seedance_r2v": "create", "kling_v3_std_i2v": "animate",
                     "kling_v3_pro_i2v": "animate", "kling_o3_video_edit": "edit",
                     "pixverse_swap": "swap", "wan_27_video_edit": "restyle",
                     "topaz_upscale_video": "upscale"}
    assert {m.id for m in MODELS.values() if "format" in m.wrapper_params} == {"seedance_r2v"}


@pytest.mark.parametrize(("model_id", "prefixes"), [
    ("seedance_r2v", ["Image", "Video", "Audio"]),
    ("kling_v3_std_i2v", ["Element"]),
    ("kling_v3_pro_i2v", ["Element"]),
    ("kling_o3_video_edit", ["Video", "Image", "Element"]),
    ("pixverse_swap", []),
    ("wan_27_video_edit", []),
    ("topaz_upscale_video", []),
])
def test_mention_prefixes(model_id: str, prefixes: list[str]) -> None:
    assert get_model(model_id).mention_prefixes == prefixes


@pytest.mark.parametrize(("model_id", "defaults"), [
    ("seedance_r2v", {"resolution": "720p", "duration": "auto", "aspect_ratio": "auto",
                      "generate_audio": True, "bitrate_mode": "standard", "image_urls": [],
                      "end_user_id": None}),
    ("kling_v3_std_i2v", {"duration": "5", "generate_audio": True, "shot_type": "customize",
                          "negative_prompt": "blur, distort, and low quality",
                          "cfg_scale": 0.5, "multi_prompt": None, "elements": None}),
    ("kling_o3_video_edit", {"keep_audio": True, "shot_type": "customize",
                             "image_urls": None, "elements": None}),
    ("pixverse_swap", {"mode": "person", "keyframe_id": 1, "resolution": "720p",
                       "original_sound_switch": True, "seed": None}),
    ("wan_27_video_edit", {"resolution": "1080p", "aspect_ratio": None, "duration": 0,
                           "audio_setting": "auto", "seed": None,
                           "enable_safety_checker": True, "reference_image_url": None}),
    ("topaz_upscale_video", {"model": "Proteus", "upscale_factor": 2, "target_fps": None,
                             "compression": None, "noise": None, "halo": None, "grain": None,
                             "recover_detail": None, "H264_output": False}),
])
def test_defaults_match_the_reference(model_id: str, defaults: dict[str, Any]) -> None:
    got = get_model(model_id).defaults()
    assert {k: got[k] for k in defaults} == defaults
    report = validate_payload(model_id, BASES[model_id])
    assert {k: report.data[k] for k in defaults} == defaults


def test_kling_durations_are_sent_as_strings() -> None:
    report = validate_payload("kling_v3_pro_i2v", apply(BASES["kling_v3_pro_i2v"], {
        "prompt": DROP, "multi_prompt": shots(4, "6"), "duration": 10}))
    assert report.valid, report.errors
    assert report.data["duration"] == "10"
    assert [s["duration"] for s in report.data["multi_prompt"]] == ["4", "6"]


def test_seedance_numeric_duration_becomes_an_integer() -> None:
    report = validate_payload("seedance_r2v", {**BASES["seedance_r2v"], "duration": "7"})
    assert report.valid and report.data["duration"] == 7
