"""The curated seven through the importer: the JSON Schemas a real sandbox publishes at
GET /v1/models give the same editors, media rules, order and price rules as the curated
forms, and the same verdicts on valid and invalid payloads (per field: cross-field rules
such as Kling's prompt-or-shots live in app/catalog/rules.py, not in any schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.catalog import MODELS, get_model, validate_payload
from app.catalog.importer import ImportedModel, editor_of, import_schema
from app.catalog.models import price_rule
from app.catalog.specs import field_specs
from app.sandbox.server import SandboxServer

KEY = "sk-sandbox-importer-1234"

#: What app/forms/registry.py builds for each field, in `takes schema`'s words: the registry
#: key (tests/catalog/test_specs.py KINDS) → the editor it makes (a bounded number → slider,
#: keyframe → slider, shots/elements → cards, auto-int → spin; read from registry.py).
REGISTRY_WORDS = {"enum": "dropdown", "bool": "toggle", "string": "text", "prompt": "prompt",
                  "seed": "seed", "auto-int": "spin", "keyframe": "slider", "shots": "cards",
                  "elements": "cards", "media": "media", "media-list": "media-list",
                  "json": "json"}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ImportedModel]]:
    root = tmp_path_factory.mktemp("importer-sandbox")
    with SandboxServer(root / "sb", key=KEY) as sb:
        r = httpx.get(sb.url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"},
                      timeout=30)
    r.raise_for_status()
    yield {e["id"]: import_schema(e) for e in r.json()["models"]}


def test_all_seven_are_published_and_import_without_warnings(
        published: dict[str, ImportedModel]) -> None:
    assert list(published) == list(MODELS)
    for model in published.values():
        assert model.source == "takes" and model.warnings == ()
        assert model.price == price_rule(model.id)  # the published price is used


@pytest.mark.parametrize("model_id", list(MODELS))
def test_same_editors_media_rules_and_order(published: dict[str, ImportedModel],
                                           model_id: str) -> None:
    from tests.catalog.test_specs import KINDS

    curated = field_specs(get_model(model_id).json_schema())
    imported = published[model_id].fields
    assert [s.name for s in imported] == [s.name for s in curated]
    expected = {}
    for s in curated:
        kind = KINDS[model_id][s.name]
        if kind in ("integer", "number"):
            expected[s.name] = "slider" if s.bounded else "spin"
        else:
            expected[s.name] = REGISTRY_WORDS[kind]
    assert {s.name: editor_of(s) for s in imported} == expected
    for mine, theirs in zip(imported, curated, strict=True):
        assert mine.media == theirs.media, mine.name
        assert [(c.name, c.media, editor_of(c)) for c in mine.children] == \
            [(c.name, c.media, editor_of(c)) for c in theirs.children]


URL = "https://media.example/"
#: (model, payload): a valid one first, then one broken field each. Values the curated models
#: coerce (Kling's duration 5 sent as "5") are left out: their schema types are stricter
#: than the pydantic classes behind them, which is said in the report, not hidden here.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("seedance_r2v", {"prompt": "a fox", "duration": 5, "resolution": "720p"}),
    ("seedance_r2v", {"prompt": "a fox", "resolution": "8k"}),
    ("seedance_r2v", {"duration": 5}),
    ("seedance_r2v", {"prompt": "a fox", "generate_audio": "maybe"}),
    ("seedance_r2v", {"prompt": "a fox", "image_urls": [URL + f"{i}.png" for i in range(12)]}),
    ("kling_v3_std_i2v", {"start_image_url": URL + "s.png", "prompt": "go", "duration": "5"}),
    ("kling_v3_std_i2v", {"start_image_url": URL + "s.png", "prompt": "go", "cfg_scale": 1.5}),
    ("kling_v3_std_i2v", {"prompt": "go"}),
    ("kling_v3_std_i2v", {"start_image_url": URL + "s.png", "prompt": "go",
                          "shot_type": "random"}),
    ("kling_v3_pro_i2v", {"start_image_url": URL + "s.png", "prompt": "go",
                          "generate_audio": False, "end_image_url": URL + "e.png"}),
    ("kling_v3_pro_i2v", {"start_image_url": URL + "s.png", "prompt": "x" * 2600}),
    ("kling_v3_pro_i2v", {"start_image_url": URL + "s.png", "prompt": "go",
                          "elements": [{"frontal_image_url": URL + "f.png",
                                        "reference_image_urls": [URL + "r.png"]}]}),
    ("kling_o3_video_edit", {"prompt": "make it night", "video_url": URL + "v.mp4"}),
    ("kling_o3_video_edit", {"prompt": "make it night", "video_url": URL + "v.mp4",
                             "keep_audio": 3}),
    ("pixverse_swap", {"video_url": URL + "v.mp4", "image_url": URL + "i.png"}),
    ("pixverse_swap", {"video_url": URL + "v.mp4", "image_url": URL + "i.png",
                       "resolution": "1080p"}),
    ("pixverse_swap", {"video_url": URL + "v.mp4", "image_url": URL + "i.png", "mode": "hair"}),
    ("wan_27_video_edit", {"prompt": "oil paint", "video_url": URL + "v.mp4", "duration": 5}),
    ("wan_27_video_edit", {"prompt": "oil paint", "video_url": URL + "v.mp4", "duration": 11}),
    ("wan_27_video_edit", {"prompt": "oil paint"}),
    ("topaz_upscale_video", {"video_url": URL + "v.mp4", "upscale_factor": 2}),
    ("topaz_upscale_video", {"video_url": URL + "v.mp4", "upscale_factor": 9}),
    ("topaz_upscale_video", {"video_url": URL + "v.mp4", "target_fps": 10}),
    ("topaz_upscale_video", {"video_url": URL + "v.mp4", "grain": 0.5}),
    ("topaz_upscale_video", {"video_url": URL + "v.mp4", "unknown_knob": 1}),
]


@pytest.mark.parametrize(("model_id", "params"), CASES,
                         ids=[f"{m}-{i}" for i, (m, _) in enumerate(CASES)])
def test_same_verdicts_on_the_same_fields(published: dict[str, ImportedModel], model_id: str,
                                          params: dict[str, Any]) -> None:
    payload = {**params, "out": "o.mp4"}
    curated = validate_payload(model_id, payload)
    imported = published[model_id].validate(payload)
    assert imported.valid == curated.valid
    assert {i.field for i in imported.errors} == {i.field for i in curated.errors}


def test_the_cases_cover_valid_and_invalid_payloads_of_every_model() -> None:
    verdicts = {(m, validate_payload(m, {**p, "out": "o.mp4"}).valid) for m, p in CASES}
    assert {m for m, ok in verdicts if ok} == set(MODELS)
    assert {m for m, ok in verdicts if not ok} == set(MODELS)


def test_a_listing_needs_the_model_named_when_it_holds_several(
        published: dict[str, ImportedModel], tmp_path: Path) -> None:
    from app.catalog.importer import SchemaError

    listing = {"models": [{"id": m.id, "name": m.name, "schema": m.schema} for m in
                          published.values()]}
    with pytest.raises(SchemaError, match="holds 7 models: pick one with --model"):
        import_schema(listing)
    assert import_schema(listing, model_id="wan_27_video_edit").id == "wan_27_video_edit"
    with pytest.raises(SchemaError, match="no model 'sora' in this listing"):
        import_schema(listing, model_id="sora")


def test_extra_models_are_the_ones_beyond_the_curated_seven(
        published: dict[str, ImportedModel]) -> None:
    import json

    from app.catalog.importer import extra_models

    fal = json.loads((Path(__file__).parent / "schemas" /
                      "fal-wan-3.0-prime-image-to-video.json").read_text())["models"][0]
    listing = {"models": [
        *({"id": m.id, "name": m.name, "schema": m.schema, "price": m.price}
          for m in published.values()),
        {"id": "wan-3-prime", "name": "Wan 3.0 Prime",
         "schema": fal["openapi"]["components"]["schemas"]["Wan3PrimeImageToVideoInput"] | {
             "$defs": {}}, "price": {"rule": "flat", "credits": 90}},
        {"id": "broken", "schema": {"type": "object", "properties": {}}},
        "not an entry"]}
    found, problems = extra_models(listing)
    assert [m.id for m in found] == ["wan-3-prime"]
    assert found[0].estimate({"start_image_url": "https://m.example/s.png"})["min"] == 90
    assert problems == ["broken: the input schema has no properties: there is nothing to "
                        "fill in"]
    assert extra_models({"nope": 1}) == ([], ['the model list is not {"models": [...]}'])


def test_a_field_name_with_a_dot_is_said() -> None:
    model = import_schema({"type": "object", "properties": {"a.b": {"type": "string"}}})
    assert model.warnings == ("a.b: a field name with a dot or only digits cannot be told "
                              "apart in messages; it is checked but named loosely",)
    assert not model.validate({"a.b": 3, "out": "o.mp4"}).valid
