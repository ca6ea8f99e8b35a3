"""The Qt-free field records: every model's schema → FieldSpecs → editor kinds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.catalog import MODELS, get_model
from app.catalog.specs import NO_DEFAULT, concrete_path, decimals_for, editor_kind, field_specs

ROOT = Path(__file__).resolve().parents[2]

KINDS = {
    "seedance_r2v": {
        "prompt": "prompt", "image_urls": "media-list", "video_urls": "media-list",
        "audio_urls": "media-list", "resolution": "enum", "duration": "auto-int",
        "aspect_ratio": "enum", "generate_audio": "bool", "bitrate_mode": "enum",
        "end_user_id": "string",
    },
    "kling_v3_std_i2v": {
        "start_image_url": "media", "prompt": "prompt", "multi_prompt": "shots",
        "duration": "enum", "generate_audio": "bool", "end_image_url": "media",
        "elements": "elements", "shot_type": "enum", "negative_prompt": "string",
        "cfg_scale": "number",
    },
    "kling_o3_video_edit": {
        "prompt": "prompt", "video_url": "media", "image_urls": "media-list",
        "keep_audio": "bool", "elements": "elements", "shot_type": "enum",
    },
    "pixverse_swap": {
        "video_url": "media", "image_url": "media", "mode": "enum", "keyframe_id": "keyframe",
        "resolution": "enum", "original_sound_switch": "bool", "seed": "seed",
    },
    "wan_27_video_edit": {
        "prompt": "prompt", "video_url": "media", "reference_image_url": "media",
        "resolution": "enum", "aspect_ratio": "enum", "duration": "integer",
        "audio_setting": "enum", "seed": "seed", "enable_safety_checker": "bool",
    },
    "topaz_upscale_video": {
        "video_url": "media", "model": "enum", "upscale_factor": "number",
        "target_fps": "integer", "compression": "number", "noise": "number", "halo": "number",
        "grain": "number", "recover_detail": "number", "H264_output": "bool",
    },
}
KINDS["kling_v3_pro_i2v"] = KINDS["kling_v3_std_i2v"]


def test_field_records_import_no_qt() -> None:
    code = ("import sys, app.catalog.specs; "
            "sys.exit(any(m.startswith(('PySide6', 'superqt')) for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


@pytest.mark.parametrize("model_id", list(MODELS))
def test_every_field_gets_the_expected_kind(model_id: str) -> None:
    specs = field_specs(get_model(model_id).json_schema())
    assert {s.name: editor_kind(s) for s in specs} == KINDS[model_id]


def test_optional_numbers_without_default_have_an_unset_state() -> None:
    specs = {s.name: s for s in field_specs(get_model("topaz_upscale_video").json_schema())}
    assert specs["target_fps"].unset_allowed
    assert (specs["target_fps"].minimum, specs["target_fps"].maximum) == (16, 60)
    assert specs["grain"].maximum == pytest.approx(0.1) and specs["grain"].step == 0.01
    assert not specs["upscale_factor"].unset_allowed and specs["upscale_factor"].default == 2
    assert specs["video_url"].required and specs["video_url"].default is NO_DEFAULT


def test_nested_items_resolve_refs_and_keep_hints() -> None:
    specs = {s.name: s for s in field_specs(get_model("kling_v3_pro_i2v").json_schema())}
    shots = specs["multi_prompt"]
    assert shots.max_items == 6 and shots.item_type == "object" and shots.nullable
    assert [c.path for c in shots.children] == ["multi_prompt.#.prompt",
                                                "multi_prompt.#.duration"]
    assert shots.child("duration").enum[0] == "1"
    elements = specs["elements"]
    assert elements.mention == "Element"
    assert elements.child("video_url").media.max_duration == pytest.approx(10.05)
    assert elements.child("reference_image_urls").max_items == 3
    seedance = {s.name: s for s in field_specs(get_model("seedance_r2v").json_schema())}
    assert "cheap drafts" in seedance["resolution"].guidance["480p"]
    assert (seedance["duration"].minimum, seedance["duration"].maximum) == (4, 15)
    o3 = {s.name: s for s in field_specs(get_model("kling_o3_video_edit").json_schema())}
    assert o3["shot_type"].enum == ("customize",)
    assert [c.name for c in o3["elements"].children] == ["frontal_image_url",
                                                         "reference_image_urls"]


def test_unknown_shapes_fall_back_to_json() -> None:
    schema = {"properties": {"weird": {"type": "object"}, "pair": {"type": "array",
                                                                    "items": {"type": "integer"}}}}
    assert [editor_kind(s) for s in field_specs(schema)] == ["json", "json"]


def test_helpers() -> None:
    assert concrete_path("elements.#.reference_image_urls", 2) == "elements.2.reference_image_urls"
    assert [decimals_for(x) for x in (None, 1, 0.5, 0.05, 0.01)] == [0, 0, 1, 2, 2]
