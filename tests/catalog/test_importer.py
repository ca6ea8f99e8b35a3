"""The schema importer on real published schemas (tests/catalog/schemas, see SOURCE.md) and on
the shapes and hostile documents it must cope with."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.catalog.importer import (
    EDITORS,
    MAX_NESTING,
    ImportedModel,
    SchemaError,
    editor_of,
    import_schema,
    load_schema_file,
)
from app.catalog.media import MB, MediaRule

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).parent / "schemas"
KLING = SCHEMAS / "fal-kling-video-v3-pro-image-to-video.json"
SEEDANCE = SCHEMAS / "fal-seedance-2.5-reference-to-video.json"
WAN3 = SCHEMAS / "fal-wan-3.0-prime-image-to-video.json"
MINIMAX = SCHEMAS / "fal-minimax-h3-max-image-to-video.json"
WAN22 = SCHEMAS / "fal-wan-v2.2-a14b-image-to-video.json"
REAL = [KLING, SEEDANCE, WAN3, MINIMAX, WAN22]

FAL_IMAGE = MediaRule(kind="image", max_mb=10485760 / MB, min_width=300, min_height=300,
                      min_aspect=0.4, max_aspect=2.5)


def imported(path: Path) -> ImportedModel:
    return import_schema(load_schema_file(str(path)))


def editors(model: ImportedModel) -> dict[str, str]:
    return {f.name: editor_of(f) for f in model.fields}


def test_the_importer_imports_no_qt() -> None:
    code = ("import sys, app.catalog.importer; "
            "sys.exit(any(m.startswith(('PySide6', 'superqt', 'app.forms', 'app.ui')) "
            "for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_the_real_schemas_are_the_published_bytes() -> None:
    source = (SCHEMAS / "SOURCE.md").read_text()
    for path in REAL:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"| {path.name} |" in source and digest in source, path.name


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_every_real_schema_imports_in_the_providers_order(path: Path) -> None:
    raw = json.loads(path.read_text())
    openapi = raw["models"][0]["openapi"]
    (body,) = [item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
               for item in openapi["paths"].values() if "post" in item]
    declared = openapi["components"]["schemas"][body.split("/")[-1]]
    model = imported(path)
    assert model.id == raw["models"][0]["endpoint_id"] and model.source == "fal"
    assert model.name == raw["models"][0]["metadata"]["display_name"]
    assert [f.name for f in model.fields] == declared["x-fal-order-properties"]
    assert list(model.fields) != sorted(model.fields, key=lambda f: f.name)  # not alphabetical
    assert set(editors(model).values()) <= set(EDITORS)
    assert model.warnings == ()
    assert "$ref" not in json.dumps(model.schema)
    assert {f.name for f in model.fields if f.required} == set(declared.get("required", []))


def test_kling_v3_pro_media_limits_shots_and_elements() -> None:
    model = imported(KLING)
    assert editors(model) == {
        "prompt": "prompt", "multi_prompt": "cards", "start_image_url": "media",
        "duration": "dropdown", "generate_audio": "toggle", "end_image_url": "media",
        "elements": "cards", "shot_type": "dropdown", "negative_prompt": "text",
        "cfg_scale": "slider"}
    start, end = model.field("start_image_url"), model.field("end_image_url")
    assert start is not None and end is not None
    assert start.media == FAL_IMAGE and start.required
    assert end.media == FAL_IMAGE and end.nullable and not end.required
    shots = model.field("multi_prompt")
    assert shots is not None and [c.name for c in shots.children] == ["prompt", "duration"]
    assert [editor_of(c) for c in shots.children] == ["prompt", "dropdown"]
    elements = model.field("elements")
    assert elements is not None and elements.mention == "Element"
    assert [(c.name, editor_of(c)) for c in elements.children] == [
        ("frontal_image_url", "media"), ("reference_image_urls", "media-list"),
        ("video_url", "media"), ("voice_id", "text")]
    video = model.field("elements.0.video_url")
    assert video is not None and video.media == MediaRule(
        kind="video", max_mb=209715200 / MB, min_width=720, min_height=720, max_side=2160,
        min_duration=3, max_duration=10.05, min_fps=24, max_fps=60)
    described = model.describe()
    assert described["price"] == "price unknown until the provider charges"
    cfg = next(f for f in described["fields"] if f["name"] == "cfg_scale")
    assert cfg["range"] == [0, 1] and cfg["default"] == 0.5


def test_seedance_25_reference_lists_by_kind_and_mentions() -> None:
    model = imported(SEEDANCE)
    kinds = {f.name: (editor_of(f), f.media.kind if f.media else None, f.mention)
             for f in model.fields}
    assert kinds["image_urls"] == ("media-list", "image", "Image")
    assert kinds["video_urls"] == ("media-list", "video", "Video")
    assert kinds["audio_urls"] == ("media-list", "audio", "Audio")
    assert kinds["generate_audio"] == ("toggle", None, None)  # a boolean named audio
    assert kinds["end_user_id"] == ("text", None, None)
    assert editors(model)["duration"] == "dropdown"


def test_wan_and_minimax_seeds_sliders_and_start_frames() -> None:
    wan3, minimax, wan22 = imported(WAN3), imported(MINIMAX), imported(WAN22)
    assert editors(wan3)["seed"] == editors(minimax)["seed"] == editors(wan22)["seed"] == "seed"
    assert editors(wan3)["duration"] == "slider"
    duration = wan3.field("duration")
    assert duration is not None and (duration.minimum, duration.maximum) == (2, 30)
    assert duration.nullable and duration.default == 5
    assert editors(wan3)["audio"] == "toggle"  # a boolean named audio is no file
    for model, name in ((wan3, "start_image_url"), (minimax, "image_url"),
                        (wan22, "image_url"), (wan22, "end_image_url")):
        spec = model.field(name)
        assert spec is not None and spec.media == MediaRule(kind="image"), (model.id, name)
    assert editors(minimax)["prompt_expansion_mode"] == "text"  # no enum: free text
    assert editors(wan22)["num_frames"] == editors(wan22)["guidance_scale"] == "slider"
    assert editors(wan22)["frames_per_second"] == "slider"


VALID: dict[Path, dict[str, Any]] = {
    KLING: {"start_image_url": "https://m.example/s.png", "prompt": "the @Element1 turns",
            "duration": "10", "elements": [{"frontal_image_url": "https://m.example/f.png",
                                            "reference_image_urls": ["https://m.example/r.png"]}]},
    SEEDANCE: {"prompt": "@Image1 dances", "image_urls": ["https://m.example/a.png"],
               "duration": "12", "resolution": "1080p"},
    WAN3: {"start_image_url": "https://m.example/s.png", "duration": None, "seed": 7},
    MINIMAX: {"prompt": "pull back", "prompt_expansion_mode": "quality", "duration": 15},
    WAN22: {"image_url": "https://m.example/i.png", "prompt": "a dragon", "num_frames": 161,
            "guidance_scale": 1.5, "frames_per_second": None},
}
#: (schema, change to its valid payload, the field that must be named)
INVALID: list[tuple[Path, dict[str, Any], str]] = [
    (KLING, {"duration": "20"}, "duration"),
    (KLING, {"cfg_scale": 1.5}, "cfg_scale"),
    (KLING, {"start_image_url": None}, "start_image_url"),
    (KLING, {"multi_prompt": [{"duration": "3"}]}, "multi_prompt.0.prompt"),
    (KLING, {"elements": [{"video_url": 12}]}, "elements.0.video_url"),
    (KLING, {"prompt": "the @Element2 turns"}, "prompt"),
    (KLING, {"prompt": None, "multi_prompt": [{"prompt": "a"}, {"prompt": "@Element3 b"}]},
     "multi_prompt.1.prompt"),
    (SEEDANCE, {"resolution": "4k"}, "resolution"),
    (SEEDANCE, {"video_urls": ["not a url\x00"]}, "video_urls.0"),
    (SEEDANCE, {"prompt": "@Video1 moves"}, "prompt"),
    (WAN3, {"duration": 31}, "duration"),
    (WAN3, {"seed": -1}, "seed"),
    (WAN3, {"aspect_ratio": "2:1"}, "aspect_ratio"),
    (MINIMAX, {"prompt": ""}, "prompt"),
    (MINIMAX, {"duration": 4}, "duration"),
    (MINIMAX, {"sync_mode": "no"}, "sync_mode"),
    (WAN22, {"num_frames": 200}, "num_frames"),
    (WAN22, {"guidance_scale": "high"}, "guidance_scale"),
    (WAN22, {"made_up": 1}, "made_up"),
]


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_a_valid_payload_of_each_real_schema_passes(path: Path) -> None:
    report = imported(path).validate({**VALID[path], "out": "o.mp4"})
    assert report.valid, report.errors


@pytest.mark.parametrize(("path", "change", "field"), INVALID,
                         ids=[f"{p.stem[4:20]}-{f}" for p, _, f in INVALID])
def test_an_invalid_payload_fails_on_the_right_field(path: Path, change: dict[str, Any],
                                                     field: str) -> None:
    report = imported(path).validate({**VALID[path], **change, "out": "o.mp4"})
    assert [e.field for e in report.errors] == [field]
    assert all(e.message and "{" not in e.message for e in report.errors)


def test_messages_read_like_the_curated_ones() -> None:
    kling = imported(KLING)
    messages = {e.field: e.message for e in kling.validate(
        {"prompt": "x" * 2501, "cfg_scale": 2, "duration": "2", "out": "o.mp4",
         "elements": [{"reference_image_urls": "one"}]}).errors}
    assert messages == {
        "start_image_url": "Start Image Url is required",
        "prompt": "Prompt is 2,501 characters; this model takes at most 2,500",
        "cfg_scale": "Cfg Scale is 2; the maximum is 1",
        "duration": "Duration must be one of 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 or 15, "
                    "not 2",
        "elements.0.reference_image_urls": "Elements 1 reference Image Urls must be a list"}


def test_media_rules_are_enforced_on_real_files(media: Any) -> None:
    from app.catalog.validate import probe_values
    from app.media.probe import probe

    kling = imported(KLING)
    small, good = str(media.image(200, 200)), str(media.image(640, 480))
    wide = str(media.image(1200, 400))
    short_clip = str(media.video(720, 720, seconds=2.0, fps=24))
    payload = {**VALID[KLING], "start_image_url": small, "end_image_url": wide,
               "elements": [{"frontal_image_url": good, "reference_image_urls": [good]},
                            {"video_url": short_clip}], "out": "o.mp4"}
    probes = probe_values(kling.local_media(payload), probe)
    assert set(probes) == {small, good, wide, short_clip}
    errors = {e.field: e.message for e in kling.validate(payload, probes).errors}
    assert errors == {
        "start_image_url": "Start Image Url is 200×200; this model needs at least 300×300 px",
        "end_image_url": "End Image Url has aspect ratio 3.00 (1200×400); this model takes "
                         "0.40–2.50",
        "elements.1.video_url": "Elements 2 video Url is 2.00 s; this model takes 3–10.05 s"}


# ---- document shapes ------------------------------------------------------------------------

#: Made up here (not a published schema): a Cog/Replicate document with x-order, format uri,
#: OpenAPI 3.0 nullable and a boolean exclusiveMinimum, as Cog writes them.
COG = {
    "openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"},
    "paths": {"/predictions": {"post": {"requestBody": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/PredictionRequest"}}}}}}},
    "components": {"schemas": {
        "PredictionRequest": {"type": "object", "properties": {
            "input": {"$ref": "#/components/schemas/Input"}}},
        "Input": {"type": "object", "title": "Input", "required": ["prompt"], "properties": {
            "seed": {"type": "integer", "title": "Seed", "x-order": 4, "nullable": True},
            "image": {"type": "string", "format": "uri", "title": "Image", "x-order": 1,
                      "nullable": True},
            "prompt": {"type": "string", "title": "Prompt", "x-order": 0},
            "audio": {"type": "string", "format": "uri", "x-order": 3},
            "mask_file": {"type": "string", "format": "uri", "x-order": 5},
            "strength": {"type": "number", "minimum": 0, "exclusiveMinimum": True,
                         "maximum": 1, "x-order": 2},
            "fps": {"$ref": "#/components/schemas/fps", "x-order": 6}}},
        "fps": {"title": "fps", "enum": [24, 30], "type": "integer", "default": 24}}}}


def test_a_cog_document_uses_its_input_and_x_order() -> None:
    model = import_schema(COG)
    assert model.source == "cog"
    assert [f.name for f in model.fields] == ["prompt", "image", "strength", "audio", "seed",
                                              "mask_file", "fps"]
    assert editors(model) == {"prompt": "prompt", "image": "media", "strength": "slider",
                              "audio": "media", "seed": "seed", "mask_file": "media",
                              "fps": "dropdown"}
    kinds = {f.name: f.media.kind for f in model.fields if f.media}
    assert kinds == {"image": "image", "audio": "audio", "mask_file": "image"}
    assert model.field("image").nullable  # type: ignore[union-attr]
    errs = model.validate({"prompt": "p", "strength": 0, "image": None, "fps": 25,
                           "out": "o.mp4"}).errors
    assert {e.field: e.message for e in errs} == {
        "strength": "Strength is 0; the minimum is 0 (not included)",
        "fps": "Fps must be one of 24 or 30, not 25"}


def test_a_bare_json_schema_with_defs_and_an_openapi_post_body() -> None:
    bare = {"type": "object", "title": "Upscaler", "required": ["video_url"], "properties": {
        "video_url": {"type": "string"}, "factor": {"$ref": "#/$defs/f"}},
            "$defs": {"f": {"type": "number", "minimum": 1, "maximum": 4, "default": 2}}}
    model = import_schema(bare)
    assert (model.source, model.id) == ("json-schema", "Upscaler")
    assert editors(model) == {"video_url": "media", "factor": "slider"}
    openapi = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {
        "/v1/render": {"get": {}, "post": {
            "requestBody": {"$ref": "#/components/requestBodies/R"}}}},
        "components": {"requestBodies": {"R": {"content": {"application/json": {
            "schema": bare}}}}}}
    model = import_schema(openapi)
    assert (model.source, model.id) == ("openapi", "v1/render")
    assert editors(model) == {"video_url": "media", "factor": "slider"}


def test_a_file_url_of_unknown_kind_is_text_with_a_warning() -> None:
    model = import_schema({"type": "object", "properties": {
        "weights": {"type": "string", "format": "uri"}}})
    assert editors(model) == {"weights": "text"}
    assert model.warnings == ("weights: takes a file or URL but nothing says whether an image, "
                              "a video or audio: shown as text",)


def test_nested_fal_order_is_honoured() -> None:
    doc = {"type": "object", "properties": {"shots": {"type": "array", "items": {
        "type": "object", "x-fal-order-properties": ["b", "nope", "a"],
        "properties": {"a": {"type": "string"}, "c": {"type": "string"},
                       "b": {"type": "integer"}}}}}}
    shots = import_schema(doc).field("shots")
    assert shots is not None and [c.name for c in shots.children] == ["b", "a", "c"]


def test_recursive_and_unresolvable_refs_become_json_with_a_warning() -> None:
    doc = {"type": "object", "properties": {
        "tree": {"$ref": "#/$defs/Node"}, "other": {"$ref": "#/$defs/Missing"},
        "far": {"$ref": "https://elsewhere.example/schema.json"}},
           "$defs": {"Node": {"type": "object", "properties": {
               "name": {"type": "string"},
               "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}}}
    started = time.monotonic()
    model = import_schema(doc)
    assert time.monotonic() - started < 2
    assert editors(model) == {"tree": "json", "other": "json", "far": "json"}
    assert model.warnings == (
        "tree.children.#: refers to itself (#/$defs/Node): shown as JSON",
        "other: reference #/$defs/Missing cannot be resolved: shown as JSON",
        "far: reference https://elsewhere.example/schema.json cannot be resolved: shown as JSON")
    assert model.validate({"tree": {"name": "a", "children": [{"name": "b"}]},
                           "out": "o.mp4"}).valid


def test_deep_nesting_stops_at_the_limit() -> None:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_NESTING + 5):
        node = {"type": "object", "properties": {"x": node}}
    model = import_schema({"type": "object", "properties": {"deep": node}})
    assert len(model.warnings) == 1 and "nested deeper than 12 levels" in model.warnings[0]


def test_references_that_fan_out_are_refused_quickly() -> None:
    defs: dict[str, Any] = {"L0": {"type": "string"}}
    for i in range(1, 30):
        defs[f"L{i}"] = {"type": "object", "properties": {
            k: {"$ref": f"#/$defs/L{i - 1}"} for k in "abc"}}
    started = time.monotonic()
    with pytest.raises(SchemaError, match="expands to more than 50,000 parts"):
        import_schema({"type": "object", "properties": {"x": {"$ref": "#/$defs/L29"}},
                       "$defs": defs})
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("doc", "message"), [
    ([1, 2], "this is a JSON list, not a schema"),
    ({"hello": "world"}, "this JSON is not a schema"),
    ({"type": "object", "properties": {}}, "the input schema has no properties"),
    ({"openapi": "3.0.0", "paths": {"/a": {"get": {}}}}, "has no POST operation"),
    ({"type": "object", "properties": {"a": {"type": "strng"}}}, "not a valid JSON Schema at"),
    ({"type": "object", "properties": {"a": {"minimum": "low"}}}, "not a valid JSON Schema"),
    ({"type": "object", "properties": {"a": {"pattern": "("}}}, "'\\(' is not a 'regex'"),
])
def test_documents_that_are_not_schemas_say_why(doc: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        import_schema(doc)


def test_prices_published_or_unknown() -> None:
    flat = {"rule": "flat", "credits": 40}
    model = import_schema({"type": "object", "properties": {"p": {"type": "string"}}},
                          price=flat)
    assert model.estimate({"p": "x"})["min"] == 40 and not model.estimate({})["needs_confirm"]
    assert model.estimate({"mock": True})["max"] == 0
    unknown = imported(KLING).estimate(VALID[KLING])
    assert unknown["known"] is False and unknown["needs_confirm"] is True
    assert unknown["breakdown"] == "price unknown until the provider charges"
    strange = import_schema({"type": "object", "properties": {"p": {"type": "string"}}},
                            price={"rule": "per_token"})
    assert strange.estimate({})["known"] is False


def test_a_pattern_that_could_backtrack_for_ever_is_left_to_the_provider() -> None:
    model = import_schema({"type": "object", "properties": {
        "voice": {"type": "string", "pattern": "^(a+)+$"},
        "code": {"type": "string", "pattern": "^[0-9]{3}$"}}})
    assert model.warnings == tuple(
        f"{name}: its pattern is not checked here (it could take very long to test); the "
        "provider checks it" for name in ("voice",))
    started = time.monotonic()
    report = model.validate({"voice": "a" * 64 + "!", "code": "12a", "out": "o.mp4"})
    assert time.monotonic() - started < 1  # re.search on (a+)+$ would take ages
    assert [(e.field, e.message) for e in report.errors] == [
        ("code", "Code does not have the form this model expects (^[0-9]{3}$)")]
    assert model.validate({"code": "123", "out": "o.mp4"}).valid
