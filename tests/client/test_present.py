"""How jobs read on screen (no Qt): status words, reasons, times, ETA, credits, diffs."""

from __future__ import annotations

from app.client import present
from app.client.settings import UiSettings
from app.client.store import JobRecord


def _job(**kw):
    rec = JobRecord.new(kw.pop("model_id", "kling_v3_pro_i2v"),
                        kw.pop("payload", {"prompt": "hello   world"}))
    for k, v in kw.items():
        setattr(rec, k, v)
    return rec


def test_status_and_reason_in_words():
    assert present.status_text(_job(status="queued")) == "Queued"
    assert present.status_text(_job(status="running", progress=0.426)) == "Rendering 43%"
    failed = _job(status="failed", error_code="render_failed", error_message="Bad prompt.")
    assert present.status_text(failed) == "Failed: Bad prompt."
    assert present.error_words(_job(status="failed", error_code="insufficient_credits")) == \
        "Not enough credits for this render."
    assert "15 minute" in present.status_text(_job(status="timed_out"))
    assert present.error_words(_job(status="succeeded")) == ""


def test_credits_text():
    assert present.credits_text(_job(status="pending", credits_estimated=168)) == "≈168 cr"
    assert present.credits_text(_job(status="running", credits_charged=168)) == "168 cr"
    assert present.credits_text(_job(status="canceled", credits_charged=0, credits_refunded=168,
                                     credits_estimated=168)) == "refunded"
    # issue 10: a take refused before it was charged (402 at the POST) was read "refunded"
    assert present.credits_text(_job(status="failed", error_code="insufficient_credits",
                                     credits_estimated=4665)) == "not charged"
    assert present.credits_text(_job(status="canceled", credits_estimated=168)) == "not charged"
    assert present.credits_text(_job(status="failed", credits_charged=50)) == "50 cr charged"
    assert present.credits_text(_job(status="succeeded", mock=True)) == "MOCK · free"


def test_eta_from_past_durations_and_progress():
    past = [_job(status="succeeded", started_at=100.0, finished_at=100.0 + t)
            for t in (10, 20, 30)]
    past.append(_job(status="failed", started_at=0.0, finished_at=999.0))  # not a sample
    typical = present.typical_duration(past)
    assert typical == 20
    queued = _job(status="queued", created_at=1000.0)
    assert present.eta_s(queued, typical, now=1001.0) == 20
    assert present.eta_s(queued, None, now=1001.0) is None
    running = _job(status="running", started_at=1000.0, progress=0.5)
    assert present.eta_s(running, typical, now=1010.0) == 10  # both estimates agree
    assert present.eta_s(running, None, now=1010.0) == 10
    text = present.time_text(running, typical, now=1010.0)
    assert text == "0:10 · ~0:10 left"
    done = _job(status="succeeded", started_at=1000.0, finished_at=1042.0)
    assert present.time_text(done, typical, now=5000.0) == "0:42"


def test_titles_prompts_sources():
    assert present.task_title("kling_v3_pro_i2v") == "Animate (pro)"
    assert present.task_title("topaz_upscale_video") == "Upscale"
    assert present.excerpt("a  b\nc", 10) == "a b c"
    assert present.excerpt("x" * 100, 10).endswith("…")
    shots = {"multi_prompt": [{"prompt": "one"}, {"prompt": "two"}]}
    assert present.prompt_of(shots) == "one | two"
    assert present.source_media("wan_27_video_edit", {"video_url": "/v.mp4"}) == "/v.mp4"


def test_param_rows_and_diff():
    a = {"prompt": "x", "elements": [{"frontal_image_url": "/f.png",
                                      "reference_image_urls": ["/r1.png", "/r2.png"]}],
         "generate_audio": True, "seed": None}
    rows = dict(present.param_rows(a))
    assert rows["elements.1.frontal_image_url"] == "/f.png"
    assert rows["elements.1.reference_image_urls"] == "/r1.png, /r2.png"
    assert rows["generate_audio"] == "yes" and rows["seed"] == "—"
    diff = present.diff_params(a, {**a, "prompt": "y", "cfg_scale": 0.5})
    assert [k for k, _, _, d in diff if d] == ["prompt", "cfg_scale"]


def test_settings_survive_a_bad_file(tmp_path):
    s = UiSettings(tmp_path)
    s.set("mock", True)
    s.set_bytes("geometry", b"\x01\x02")
    s.set_form_values("seedance_r2v", {"prompt": "p"})
    s.save()
    again = UiSettings(tmp_path)
    assert again.get("mock") is True and again.get_bytes("geometry") == b"\x01\x02"
    assert again.form_values("seedance_r2v") == {"prompt": "p"}
    (tmp_path / "window.json").write_text("{not json", encoding="utf-8")
    assert UiSettings(tmp_path).get("mock") is None


def test_param_titles_speak_the_forms_words():
    from app.client.present import model_name, param_title

    assert param_title("kling_v3_pro_i2v", "elements.1.frontal_image_url") == \
        "Elements 1 · Frontal image"
    assert param_title("kling_v3_pro_i2v", "multi_prompt.2.duration") == "Shots 2 · Duration"
    assert param_title("kling_v3_pro_i2v", "cfg_scale") == "CFG scale"
    assert param_title("seedance_r2v", "out") == "File"
    assert param_title("seedance_r2v", "no_such_field_url") == "No such field"
    assert param_title("no_such_model", "prompt") == "Prompt"
    assert model_name("seedance_r2v").endswith("(seedance_r2v)")
    assert model_name("no_such_model") == "no_such_model"
