"""The wrapper params (`app.catalog.wrapper`): every `out` rule with hostile values, through
`validate_payload` and through `takes check` as a user runs it; media values that cannot
name a file or a URL; `validated_params` (what a server acts on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.catalog import (
    MODELS,
    WRAPPER,
    InvalidPayload,
    get_model,
    normalize_out,
    split,
    validate_payload,
    validated_params,
)
from app.cli import main

from .helpers import Media

URL = "https://cdn.example.com/"
BASES: dict[str, dict[str, Any]] = {
    "seedance_r2v": {"prompt": "a take"},
    "kling_v3_std_i2v": {"start_image_url": URL + "s.png", "prompt": "a take"},
    "kling_v3_pro_i2v": {"start_image_url": URL + "s.png", "prompt": "a take"},
    "kling_o3_video_edit": {"prompt": "edit", "video_url": URL + "v.mp4"},
    "pixverse_swap": {"video_url": URL + "v.mp4", "image_url": URL + "i.png"},
    "wan_27_video_edit": {"prompt": "snow", "video_url": URL + "v.mp4"},
    "topaz_upscale_video": {"video_url": URL + "v.mp4"},
}
assert set(BASES) == set(MODELS)

RELATIVE = "must be relative to the work folder"
INSIDE = "must stay inside the work folder (no '..')"
NAME_255 = "é" * 125 + "x.mp4"  # 250 + 5 = 255 bytes in UTF-8
NAME_256 = "é" * 126 + ".mp4"  # 252 + 4 = 256 bytes
LONG_PATH = "a/" * 2000 + "x.mp4"  # 4,005 characters

# (out, the message on `out`), word for word.
REFUSED: list[tuple[Any, str]] = [
    (None, "Output path (out) is required"),
    ("", "Output path (out) is required"),
    (5, "Output path (out) must be text"),
    (["a.mp4"], "Output path (out) must be text"),
    (".", "Output path '.' names the work folder itself, not a file: give a file name such as "
          "take.mp4"),
    ("./", "Output path './' names the work folder itself, not a file: give a file name such "
           "as take.mp4"),
    ("a/../..", f"Output path 'a/../..' {INSIDE}"),
    ("a/../b.mp4", f"Output path 'a/../b.mp4' {INSIDE}"),
    ("..\\x.mp4", f"Output path '..\\\\x.mp4' {INSIDE}"),
    ("takes\\..\\..\\x.mp4", f"Output path 'takes\\\\..\\\\..\\\\x.mp4' {INSIDE}"),
    ("/abs.mp4", f"Output path '/abs.mp4' {RELATIVE}"),
    ("//server/share/x.mp4", f"Output path '//server/share/x.mp4' {RELATIVE}"),
    ("\\x.mp4", f"Output path '\\\\x.mp4' {RELATIVE}"),
    ("C:\\x.mp4", f"Output path 'C:\\\\x.mp4' {RELATIVE}"),
    ("C:x.mp4", f"Output path 'C:x.mp4' {RELATIVE}"),
    ("c:/x.mp4", f"Output path 'c:/x.mp4' {RELATIVE}"),
    ("a\x00b.mp4", "Output path (out) holds a control character (U+0000) at position 2: "
                   "remove it"),
    ("a\x7f.mp4", "Output path (out) holds a control character (U+007F) at position 2: "
                  "remove it"),
    ("take\n.mp4", "Output path (out) holds a control character (U+000A) at position 5: "
                   "remove it"),
    ("x\x85.mp4", "Output path (out) holds a control character (U+0085) at position 2: "
                  "remove it"),
    ("\ud800.mp4", "Output path (out) holds a broken character (U+D800, half of a surrogate "
                   "pair) at position 1: retype the name"),
    ("a\udfff.mp4", "Output path (out) holds a broken character (U+DFFF, half of a surrogate "
                    "pair) at position 2: retype the name"),
    ("a" * 300 + ".mp4", "Output path: the name '" + "a" * 59 + "…' is 304 bytes long; a file "
                         "or folder name may be at most 255 bytes (UTF-8): shorten it"),
    ("d" * 256 + "/x.mp4", "Output path: the name '" + "d" * 59 + "…' is 256 bytes long; a file "
                           "or folder name may be at most 255 bytes (UTF-8): shorten it"),
    (NAME_256, "Output path: the name '" + "é" * 59 + "…' is 256 bytes long; a file or folder "
               "name may be at most 255 bytes (UTF-8): shorten it"),
    (LONG_PATH, "Output path (out) is 4,005 characters long; the most is 1,024: use a shorter "
                "path"),
    ("x.txt", "Output path 'x.txt' must be a file name ending in .mp4 (the result is an MP4 "
              "video), such as x.mp4"),
    ("x", "Output path 'x' must be a file name ending in .mp4 (the result is an MP4 video), "
          "such as x.mp4"),
    ("x.mp4.part", "Output path 'x.mp4.part' must be a file name ending in .mp4 (the result is "
                   "an MP4 video), such as x.mp4"),
    (".mp4", "Output path '.mp4' must be a file name ending in .mp4 (the result is an MP4 "
             "video), such as take.mp4"),
    ("take.mp4 ", "Output path 'take.mp4 ' must be a file name ending in .mp4 (the result is an "
                  "MP4 video), such as take.mp4"),
    ("dir/", "Output path 'dir/' names a folder, not a file: add a file name such as "
             "dir/take.mp4"),
    ("dir\\", "Output path 'dir\\\\' names a folder, not a file: add a file name such as "
              "dir/take.mp4"),
    ("a/b/.", "Output path 'a/b/.' names a folder, not a file: add a file name such as "
              "a/b/take.mp4"),
]

ACCEPTED = ["o.mp4", "renders/take 1.mp4", "X.MP4", "take.Mp4", "a//b.mp4", "./b.mp4",
            "a\\b.mp4", "日本語/テイク.mp4", NAME_255, "d" * 255 + "/x.mp4",
            "a/" * 509 + "x.mp4", ".hidden.mp4", "it's.mp4"]


def out_errors(model_id: str, out: Any) -> list[str]:
    payload = {**BASES[model_id], "out": out}
    report = validate_payload(model_id, payload)
    assert all(i.field == "out" for i in report.errors), report.errors
    return [i.message for i in report.errors]


@pytest.mark.parametrize(("out", "message"), REFUSED, ids=[repr(r[0])[:40] for r in REFUSED])
def test_refused_out(out: Any, message: str) -> None:
    assert out_errors("seedance_r2v", out) == [message]


@pytest.mark.parametrize("out", ACCEPTED, ids=[repr(o)[:40] for o in ACCEPTED])
def test_accepted_out(out: str) -> None:
    assert out_errors("seedance_r2v", out) == []


@pytest.mark.parametrize("model_id", list(MODELS))
def test_every_model_checks_out_alike(model_id: str) -> None:
    for out, message in REFUSED:
        assert out_errors(model_id, out) == [message], (model_id, out)
    for out in ACCEPTED:
        assert out_errors(model_id, out) == [], (model_id, out)


def test_limits_are_at_the_edge() -> None:
    assert len(NAME_255.encode()) == 255 and len(NAME_256.encode()) == 256
    longest = "a/" * 509 + "xy.mp4"
    assert len(longest) == 1024 and out_errors("pixverse_swap", longest) == []
    assert out_errors("pixverse_swap", longest + "4")[0].startswith(
        "Output path (out) is 1,025 characters long")


def test_missing_out_is_required() -> None:
    report = validate_payload("wan_27_video_edit", BASES["wan_27_video_edit"])
    assert [i.to_dict() for i in report.errors] == [
        {"field": "out", "message": "Output path (out) is required"}]


def test_normalize_out_is_the_file_every_platform_writes() -> None:
    assert normalize_out("a//b.mp4") == "a/b.mp4"
    assert normalize_out("./b.mp4") == "b.mp4"
    assert normalize_out(".\\a\\\\b.mp4") == "a/b.mp4"
    assert normalize_out("takes/x.mp4") == "takes/x.mp4"
    for out in ACCEPTED:
        n = normalize_out(out)
        assert out_errors("seedance_r2v", n) == [] and normalize_out(n) == n


def test_wrapper_names_have_one_home() -> None:
    assert WRAPPER == ("out", "mock", "format")
    params, wrapper = split({"prompt": "p", "out": "o.mp4", "mock": True, "format": "reels"})
    assert params == {"prompt": "p"} and wrapper == {"out": "o.mp4", "mock": True,
                                                     "format": "reels"}
    assert get_model("seedance_r2v").wrapper_params == ["out", "mock", "format"]
    assert get_model("topaz_upscale_video").wrapper_params == ["out", "mock"]


def test_mock_and_format_rules_stay() -> None:
    r = validate_payload("seedance_r2v", {**BASES["seedance_r2v"], "out": "o.mp4",
                                          "mock": 1, "format": "square"})
    assert [(i.field, i.message) for i in r.errors] == [
        ("mock", "mock must be true or false"),
        ("format", "format must be one of shorts, reels, horizontal")]
    r = validate_payload("pixverse_swap", {**BASES["pixverse_swap"], "out": "o.mp4",
                                           "format": "reels"})
    assert r.valid and [i.field for i in r.warnings] == ["format"]


# ---- media values that name no file and no URL ----------------------------------------------

BAD_REFS: list[tuple[str, str]] = [
    ("", "Source video is empty: give a file path or an http(s) URL"),
    ("   ", "Source video is empty: give a file path or an http(s) URL"),
    ("http://[::1", "Source video is not a valid URL (Invalid IPv6 URL): give a complete "
                    "http(s) URL or a file path"),
    ("http://x:99999/v.mp4", "Source video is not a valid URL (Port out of range 0-65535): "
                             "give a complete http(s) URL or a file path"),
    ("https://", "Source video is not a valid URL (no usable host name): give a complete "
                 "http(s) URL or a file path"),
    ("http://ex ample.com/v.mp4", "Source video is not a valid URL (no usable host name): give "
                                  "a complete http(s) URL or a file path"),
    ("http://x/\x00", "Source video holds a control character (U+0000): remove it"),
    ("file://%00", "Source video holds a control character (U+0000) once its %-escapes are "
                   "decoded: remove it"),
    ("file:///tmp/a%00.mp4", "Source video holds a control character (U+0000) once its "
                             "%-escapes are decoded: remove it"),
    ("file:///tmp/a%1b.mp4", "Source video holds a control character (U+001B) once its "
                             "%-escapes are decoded: remove it"),
    ("file:///tmp/%ff.mp4", "Source video is a file URL whose %-escapes are not UTF-8 text: "
                            "give the file's path instead"),
    ("file://server/v.mp4", "Source video is a file URL of another computer (server): give a "
                            "file on this computer, as file:///path or a plain path"),
    ("file://", "Source video is a file URL with no file in it: give the file's path"),
    ("clips/a\x00.mp4", "Source video holds a control character (U+0000): remove it"),
    ("clips/\udc80.mp4", "Source video holds a broken character (U+DC80): retype it"),
]


@pytest.mark.parametrize(("value", "message"), BAD_REFS, ids=[repr(r[0]) for r in BAD_REFS])
def test_bad_media_value_is_refused_on_its_field(value: str, message: str) -> None:
    payload = {**BASES["wan_27_video_edit"], "video_url": value, "out": "o.mp4"}
    report = validate_payload("wan_27_video_edit", payload)
    assert [i.to_dict() for i in report.errors] == [{"field": "video_url", "message": message}]


def test_bad_values_in_lists_and_nested_fields() -> None:
    payload = {"prompt": "p", "out": "o.mp4", "image_urls": [URL + "a.png", "", "http://[::1"]}
    report = validate_payload("seedance_r2v", payload)
    assert [i.field for i in report.errors] == ["image_urls.1", "image_urls.2"]
    assert report.errors[0].message == "Image 2 is empty: give a file path or an http(s) URL"
    payload = {**BASES["kling_v3_pro_i2v"], "out": "o.mp4",
               "elements": [{"frontal_image_url": "file://%00",
                             "reference_image_urls": [URL + "r.png"]}]}
    report = validate_payload("kling_v3_pro_i2v", payload)
    assert [i.field for i in report.errors] == ["elements.0.frontal_image_url"]


def test_good_media_values_pass() -> None:
    for value in [URL + "v.mp4", "http://127.0.0.1:8000/v1/files/up_1.mp4", "http://[::1]:80/v",
                  "clips/v.mp4", "/abs/v.mp4", "file:///abs/v%20x.mp4",
                  "file://localhost/abs/v.mp4", "https://例え.jp/v.mp4"]:
        payload = {**BASES["wan_27_video_edit"], "video_url": value, "out": "o.mp4"}
        assert validate_payload("wan_27_video_edit", payload).valid, value


# ---- validated_params: what a server acts on ------------------------------------------------


@pytest.mark.parametrize("given", ["5.0", "5", 5, 5.0, " 5 ", "+5"])
def test_seedance_duration_is_coerced(given: Any) -> None:
    payload = {"prompt": "p", "duration": given, "out": "o.mp4", "mock": True, "format": "reels"}
    assert validated_params("seedance_r2v", payload) == {"prompt": "p", "duration": 5}


@pytest.mark.parametrize("given", ["5.5", 5.000001, True, "five", "", "1e1"])
def test_seedance_duration_not_whole_is_refused(given: Any) -> None:
    payload = {"prompt": "p", "duration": given, "out": "o.mp4"}
    with pytest.raises(InvalidPayload) as caught:
        validated_params("seedance_r2v", payload)
    assert [i.field for i in caught.value.report.errors] == ["duration"]


def test_validated_params_coerces_nested_and_adds_no_defaults() -> None:
    payload = {**BASES["kling_v3_std_i2v"], "out": "o.mp4", "prompt": None, "duration": 8,
               "multi_prompt": [{"prompt": "a", "duration": 3}, {"prompt": "b"}]}
    assert validated_params("kling_v3_std_i2v", payload) == {
        "start_image_url": URL + "s.png", "prompt": None, "duration": "8",
        "multi_prompt": [{"prompt": "a", "duration": "3"}, {"prompt": "b", "duration": "5"}]}


# ---- the same through `takes check` ---------------------------------------------------------


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], model_id: str,
          payload: dict[str, Any], raw: str | None = None) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / "payload.json"
    path.write_text(raw if raw is not None else json.dumps(payload), encoding="utf-8")
    capsys.readouterr()
    code = main(["check", model_id, str(path)])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_takes_check_refuses_every_bad_out(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for out, message in REFUSED:
        if isinstance(out, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in out):
            continue  # not in a valid JSON file: see the next test
        code, result, err = check(tmp_path, capsys, "topaz_upscale_video",
                                  {**BASES["topaz_upscale_video"], "out": out})
        assert (code, err) == (1, ""), out
        assert result["valid"] is False
        assert result["errors"] == [{"field": "out", "message": message}], out
    for out in ACCEPTED:
        code, result, _ = check(tmp_path, capsys, "topaz_upscale_video",
                                {**BASES["topaz_upscale_video"], "out": out})
        assert (code, result["errors"]) == (0, []), out


def test_takes_check_lone_surrogate_is_a_usage_error(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    raw = '{"video_url": "%s", "out": "\\ud800.mp4"}' % (URL + "v.mp4")
    code, result, err = check(tmp_path, capsys, "topaz_upscale_video", {}, raw=raw)
    assert code == 2 and result == {}
    assert err.count("\n") == 1 and "unpaired surrogate" in err and "$.out" in err


def test_takes_check_refuses_bad_media_values(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for value, message in BAD_REFS:
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            continue
        payload = {**BASES["wan_27_video_edit"], "video_url": value, "out": "o.mp4"}
        code, result, err = check(tmp_path, capsys, "wan_27_video_edit", payload)
        assert (code, err) == (1, ""), value
        # `file://%00` used to resolve to the payload's folder and be probed as one
        assert result["errors"] == [{"field": "video_url", "message": message}], value


def test_takes_check_probes_a_good_file_url(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            media: Media) -> None:
    """A file:// URL of this computer (escapes decoded) is still probed like a path."""
    clip = tmp_path / "my clip.mp4"
    clip.write_bytes(media.video(320, 240, 2.0).read_bytes())
    for value in (clip.as_uri(), "file://localhost" + clip.as_uri()[len("file://"):]):
        payload = {**BASES["wan_27_video_edit"], "video_url": value, "out": "o.mp4",
                   "duration": 3}
        code, result, _ = check(tmp_path, capsys, "wan_27_video_edit", payload)
        assert code == 1, value  # probed: the 2 s source is shorter than the 3 s asked for
        assert [e["field"] for e in result["errors"]] == ["duration"], result
