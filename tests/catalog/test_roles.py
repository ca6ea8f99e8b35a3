"""Field roles come from schema hints (app.catalog.roles), not from field names in callers."""

from app.catalog import MODELS, roles
from app.client import present
from app.client.store import JobRecord, prompt_text


def test_every_model_with_a_prompt_field_marks_it_as_the_prompt_role():
    for mid, spec in MODELS.items():
        has_prompt = "prompt" in spec.input_model.model_fields
        texts = roles.prompt_texts(mid, {"prompt": "a cat"})
        assert (texts == [("prompt", "a cat")]) == has_prompt, mid


def test_shot_prompts_are_found_by_their_role_with_concrete_paths():
    data = {"multi_prompt": [{"prompt": "one", "duration": "3"}, "junk", {"prompt": 7},
                             {"prompt": "two", "duration": "2"}]}
    assert roles.prompt_texts("kling_v3_pro_i2v", data) == [
        ("multi_prompt.0.prompt", "one"), ("multi_prompt.3.prompt", "two")]
    assert present.prompt_of(data, "kling_v3_pro_i2v") == "one | two"


def test_hostile_payloads_give_no_texts_and_no_error():
    for data in (None, [], "x", {"prompt": None}, {"prompt": ["a"]}, {"multi_prompt": "abc"},
                 {"multi_prompt": {"0": {"prompt": "x"}}}):
        assert roles.prompt_texts("kling_v3_std_i2v", data) == []  # type: ignore[arg-type]


def test_a_take_of_an_unknown_model_is_still_searchable_by_its_prompt():
    rec = JobRecord(id="j1", model_id="not_in_the_catalog", idempotency_key="k1",
                    payload={"prompt": "neon rain",
                             "out": "rain.mp4"})
    assert "neon rain" in rec.prompt and "rain.mp4" in prompt_text(rec.payload, rec.model_id)


def test_the_source_of_each_compare_task_is_the_input_the_result_is_compared_against():
    assert roles.source_media("kling_o3_video_edit", {"video_url": "/s.mp4",
                                                      "image_urls": ["/i.png"]}) == "/s.mp4"
    assert roles.source_media("pixverse_swap", {"image_url": "/face.png",
                                                "video_url": "/v.mp4"}) == "/v.mp4"
    assert roles.source_media("topaz_upscale_video", {"video_url": "/v.mp4"}) == "/v.mp4"
    assert roles.source_media("wan_27_video_edit", {"video_url": "/w.mp4"}) == "/w.mp4"
    assert roles.source_media("kling_v3_std_i2v", {"start_image_url": "/start.png"}) == \
        "/start.png"
    assert roles.source_media("seedance_r2v", {"image_urls": ["/a.png", "/b.png"]}) == "/a.png"
    assert roles.source_media("seedance_r2v", {"image_urls": []}) is None
    assert roles.source_media("unknown", {"video_url": "/v.mp4"}) is None


def test_totals_say_that_kling_shots_add_up_to_the_duration():
    want = [roles.Total("multi_prompt", "duration", "duration")]
    for mid in MODELS:
        got = roles.totals(roles.specs_of(mid))
        assert got == (want if "multi_prompt" in MODELS[mid].input_model.model_fields else []), mid


class _Job:
    def __init__(self, model_id: str, payload: object) -> None:
        self.model_id, self.payload = model_id, payload


def test_a_take_without_a_prompt_is_named_by_its_task_source_and_settings():
    swap = _Job("pixverse_swap", {"video_url": "/clips/a b/dance.mp4", "image_url": "/f.png",
                                  "mode": "object"})
    assert present.take_words(swap) == "Swap · dance.mp4 · object"
    up = _Job("topaz_upscale_video", {"video_url": "C:\\v\\in.mov", "upscale_factor": 2.5})
    assert present.take_words(up) == "Upscale · in.mov · Proteus · ×2.5"  # the default model
    blank = _Job("kling_v3_std_i2v", {"start_image_url": "/s.png", "prompt": "   "})
    assert present.take_words(blank).endswith("· s.png")
    assert present.take_words(_Job("wan_27_video_edit", {"prompt": "make it rain"})) == \
        "make it rain"
    assert "(no prompt)" not in present.take_words(_Job("unknown_model", {}))
