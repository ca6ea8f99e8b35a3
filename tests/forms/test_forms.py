"""Every model's generated form: editors by objectName, defaults shown, limits with their
messages next to the field, live estimates, and the payload round trip."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from app.catalog import MODELS
from app.forms.base import OMIT
from app.forms.editors import (
    AutoIntEditor,
    BoolEditor,
    EnumEditor,
    KeyframeEditor,
    SeedEditor,
    SliderEditor,
    StringEditor,
)
from app.forms.elements import ElementsEditor
from app.forms.form import ModelForm
from app.forms.media import MediaEditor
from app.forms.prompt import PromptEditor
from app.forms.shots import ShotsEditor
from app.forms.widgets import LabeledSlider, LabeledSliderBase

E = {"prompt": PromptEditor, "media": MediaEditor, "enum": EnumEditor, "auto": AutoIntEditor,
     "bool": BoolEditor, "str": StringEditor, "shots": ShotsEditor, "elements": ElementsEditor,
     "slider": SliderEditor, "keyframe": KeyframeEditor, "seed": SeedEditor}
KLING = {"start_image_url": "media", "prompt": "prompt", "multi_prompt": "shots",
         "duration": "enum", "generate_audio": "bool", "end_image_url": "media",
         "elements": "elements", "shot_type": "enum", "negative_prompt": "str",
         "cfg_scale": "slider"}
EDITORS: dict[str, dict[str, str]] = {
    "seedance_r2v": {"prompt": "prompt", "image_urls": "media", "video_urls": "media",
                     "audio_urls": "media", "resolution": "enum", "duration": "auto",
                     "aspect_ratio": "enum", "generate_audio": "bool", "bitrate_mode": "enum",
                     "end_user_id": "str"},
    "kling_v3_std_i2v": KLING,
    "kling_v3_pro_i2v": KLING,
    "kling_o3_video_edit": {"prompt": "prompt", "video_url": "media", "image_urls": "media",
                            "keep_audio": "bool", "elements": "elements", "shot_type": "enum"},
    "pixverse_swap": {"video_url": "media", "image_url": "media", "mode": "enum",
                      "keyframe_id": "keyframe", "resolution": "enum",
                      "original_sound_switch": "bool", "seed": "seed"},
    "wan_27_video_edit": {"prompt": "prompt", "video_url": "media",
                          "reference_image_url": "media", "resolution": "enum",
                          "aspect_ratio": "enum", "duration": "slider", "audio_setting": "enum",
                          "seed": "seed", "enable_safety_checker": "bool"},
    "topaz_upscale_video": {"video_url": "media", "model": "enum", "upscale_factor": "slider",
                            "target_fps": "slider", "compression": "slider", "noise": "slider",
                            "halo": "slider", "grain": "slider", "recover_detail": "slider",
                            "H264_output": "bool"},
}
#: The Qt widget each editor kind is built around.
INNER = {"enum": QComboBox, "auto": LabeledSlider, "bool": QCheckBox, "str": QLineEdit,
         "prompt": QPlainTextEdit, "slider": LabeledSliderBase, "keyframe": LabeledSlider,
         "seed": QSpinBox}


def shown(editor: Any) -> Any:
    """What the widgets display (read from the widgets, not from editor.value())."""
    if isinstance(editor, EnumEditor):
        data = editor.combo.currentData()
        return None if data is OMIT else data
    if isinstance(editor, AutoIntEditor):
        return "auto" if editor.auto.isChecked() else editor.slider.value()
    if isinstance(editor, SliderEditor):
        if editor.unset is not None and editor.unset.isChecked():
            return None
        return editor.slider.value()
    if isinstance(editor, BoolEditor):
        return editor.toggle.isChecked()
    if isinstance(editor, StringEditor):
        return editor.edit.text() or None
    if isinstance(editor, SeedEditor):
        return None if editor.random.isChecked() else editor.spin.value()
    raise AssertionError(type(editor))


@pytest.mark.parametrize("model_id", list(MODELS))
def test_editor_per_field_by_object_name(form_factory, model_id: str) -> None:
    form: ModelForm = form_factory(model_id)
    for name, kind in EDITORS[model_id].items():
        widget = form.findChild(QWidget, name)
        assert isinstance(widget, E[kind]), (name, type(widget))
        assert widget is form.editor(name)
        if kind in INNER:
            assert isinstance(widget.main, INNER[kind]), name
        if name in form.switches:  # an exclusive pair: the mode switch names it
            assert form.switches[name].buttons[name].text() in (widget.spec.title,
                                                                "Single prompt")
        else:
            assert form.field_labels[name].text().startswith(widget.spec.title)
        assert widget.toolTip().startswith(widget.spec.description[:20])
    assert isinstance(form.findChild(QLineEdit, "out"), QLineEdit)
    assert (form.findChild(QComboBox, "format") is not None) == (model_id == "seedance_r2v")
    assert set(form.editors) == set(EDITORS[model_id])


@pytest.mark.parametrize("model_id", list(MODELS))
def test_defaults_shown_and_sent(form_factory, model_id: str) -> None:
    form: ModelForm = form_factory(model_id)
    payload = form.payload()
    for name, editor in form.editors.items():
        spec = editor.spec
        if not spec.has_default or isinstance(editor, (MediaEditor, PromptEditor, ShotsEditor,
                                                       ElementsEditor)):
            continue
        assert shown(editor) == spec.default, name
        if spec.default is None:
            assert name not in payload, name  # unset: not sent, and not a zero
        else:
            assert payload[name] == spec.default, name
    assert payload["out"].startswith(f"takes/{model_id}-") and payload["out"].endswith(".mp4")
    assert payload["mock"] is False


def test_unset_is_a_state_not_zero(form_factory) -> None:
    form: ModelForm = form_factory("topaz_upscale_video")
    fps = form.editor("target_fps")
    assert fps.unset.isChecked() and not fps.slider.isEnabled()
    assert fps.unset_text.isVisibleTo(form) and not fps.slider.isVisibleTo(form)
    assert fps.unset_text.text() == ("not sent: no interpolation, the result keeps the "
                                     "source's frame rate")
    assert form.editor("noise").unset_text.text() == "not sent: model default"
    assert "target_fps" not in form.payload()
    fps.unset.setChecked(False)  # no source known: the lowest rate, and the note says why
    assert form.payload()["target_fps"] == 16
    assert "not known yet" in fps.note.text()
    grain = form.editor("grain")
    grain.set_value(0.05)
    assert form.payload()["grain"] == pytest.approx(0.05)
    grain.unset.setChecked(True)
    assert "grain" not in form.payload()


def error_text(form: ModelForm, path: str) -> str:
    label = form.findChild(QLabel, f"error:{path}")
    assert label is not None, path
    return label.text() if label.isVisibleTo(form) else ""


BROKEN = {
    "seedance_r2v": ({"prompt": "a", "duration": 20}, "duration", "auto or 4–15"),
    "kling_v3_std_i2v": ({"start_image_url": "https://x.test/a.png", "prompt": "x" * 2501},
                         "prompt", "2,501 characters"),
    "kling_v3_pro_i2v": ({"start_image_url": "https://x.test/a.png",
                          "multi_prompt": [{"prompt": "a", "duration": "6"},
                                           {"prompt": "b", "duration": "6"},
                                           {"prompt": "c", "duration": "6"}]},
                         "multi_prompt", "18 s"),
    "kling_o3_video_edit": ({"prompt": "p", "video_url": "https://x.test/v.mp4",
                             "image_urls": ["https://x.test/1.png"] * 2,
                             "elements": [{"frontal_image_url": "https://x.test/f.png",
                                           "reference_image_urls": ["https://x.test/r.png"]}]
                             * 3},
                            "image_urls", "at most 4"),
    "pixverse_swap": ({"video_url": "https://x.test/v.mp4", "image_url": "https://x.test/i.png",
                       "resolution": "1080p"}, "resolution", "1080p"),
    "wan_27_video_edit": ({"prompt": "p", "video_url": "https://x.test/v.mp4", "duration": 1},
                          "duration", "0 (match the source) or 2–10"),
    "topaz_upscale_video": ({"video_url": "https://x.test/v.mp4", "upscale_factor": 5},
                            "upscale_factor", "maximum is 4"),
}


@pytest.mark.parametrize("model_id", list(MODELS))
def test_a_broken_limit_shows_its_message_next_to_the_field(form_factory, model_id: str) -> None:
    form: ModelForm = form_factory(model_id)
    params, path, needle = BROKEN[model_id]
    form.set_payload({**params, "out": "takes/x.mp4"})
    messages = [i.message for i in form.report().errors if i.field == path]
    assert messages and needle in messages[0], form.report().errors
    assert needle in error_text(form, path)
    assert needle in form.summary_label.text()
    assert not form.is_submittable()
    # the round trip keeps even the broken value, so the creator sees what was there
    assert form.payload()[path] == params[path] or path == "upscale_factor"


def test_seed_is_a_number_or_random(form_factory) -> None:
    form: ModelForm = form_factory("pixverse_swap")
    seed = form.editor("seed")
    assert seed.random.isChecked() and seed.random_text.isVisibleTo(form)
    assert "seed" not in form.payload()
    seed.random.setChecked(False)
    seed.spin.setValue(99)
    assert form.payload()["seed"] == 99 and not seed.random_text.isVisibleTo(form)


def test_untouched_empty_fields_are_not_scolded_inline(form_factory) -> None:
    form: ModelForm = form_factory("seedance_r2v")
    assert "Prompt must not be empty" in form.summary_label.text()
    assert error_text(form, "prompt") == ""
    form.editor("prompt").edit.setPlainText("x")
    form.editor("prompt").edit.setPlainText("")
    form.revalidate()
    assert "Prompt must not be empty" in error_text(form, "prompt")


def test_limit_from_typing_is_debounced(qtbot, form_factory) -> None:
    form: ModelForm = form_factory("kling_v3_std_i2v")
    form.set_payload({"start_image_url": "https://x.test/a.png", "prompt": "ok", "out": "t.mp4"})
    assert form.is_submittable()
    edit = form.editor("prompt").edit
    edit.setPlainText("y" * 2600)
    assert form.is_submittable()  # not yet: typing waits for the debounce
    with qtbot.waitSignal(form.validation_changed, timeout=2000):
        pass
    assert "2,600 characters" in error_text(form, "prompt")
    assert "2,600 / 2,500" in form.editor("prompt").count.text()


def est(form: ModelForm) -> tuple[int, int]:
    e = form.estimate()
    return e.min, e.max


def test_estimate_follows_resolution_duration_audio_seedance(form_factory) -> None:
    form: ModelForm = form_factory("seedance_r2v")
    assert est(form) == (242, 909)  # auto duration: a range
    assert form.editor("duration").auto_text.isVisibleTo(form)
    form.editor("duration").auto.setChecked(False)
    assert form.editor("duration").slider.isVisibleTo(form)
    form.editor("duration").slider.setValue(10)
    assert est(form) == (606, 606)
    combo = form.editor("resolution").combo
    combo.setCurrentIndex(combo.findData("1080p"))
    assert est(form) == (1362, 1362)
    assert "1080p" in form.breakdown_label.text() and "1362" in form.estimate_label.text()
    form.editor("generate_audio").toggle.setChecked(False)
    assert est(form) == (1362, 1362)  # the reference: audio costs the same
    form.set_mock(True)
    assert est(form) == (0, 0) and "mock" in form.breakdown_label.text()


def test_estimate_follows_audio_and_duration_kling_pro(form_factory) -> None:
    form: ModelForm = form_factory("kling_v3_pro_i2v")
    assert est(form) == (168, 168)
    form.editor("generate_audio").toggle.setChecked(False)
    assert est(form) == (112, 112)
    combo = form.editor("duration").combo
    combo.setCurrentIndex(combo.findData("10"))
    assert est(form) == (224, 224)
    assert "headline 112" in form.notes_label.text()


def test_estimate_flat_models_and_topaz(form_factory) -> None:
    assert est(form_factory("kling_v3_std_i2v")) == (84, 84)
    assert est(form_factory("kling_o3_video_edit")) == (126, 126)
    assert est(form_factory("wan_27_video_edit")) == (100, 100)
    topaz: ModelForm = form_factory("topaz_upscale_video")
    lo, hi = est(topaz)
    fps = topaz.editor("target_fps")
    fps.unset.setChecked(False)
    fps.slider.setValue(60)
    assert est(topaz) == (lo * 2, hi * 2)


def test_estimate_from_probed_source(form_factory, media, wait_probed) -> None:
    topaz: ModelForm = form_factory("topaz_upscale_video")
    topaz.editor("video_url").add_values([str(media.video)])  # 320×240, 2 s
    wait_probed(topaz)
    assert est(topaz) == (4, 4)  # 2 s × 2 cr/s (output 480 px short side)
    factor = topaz.editor("upscale_factor")
    factor.slider.setValue(4.0)  # 960 px → 4 cr/s
    assert est(topaz) == (8, 8)
    swap: ModelForm = form_factory("pixverse_swap")
    assert est(swap) == (30, 60)
    swap.editor("video_url").add_values([str(media.hd)])  # 3.5 s
    wait_probed(swap)
    assert est(swap) == (30, 30)


FULL: dict[str, dict[str, Any]] = {
    "seedance_r2v": {"prompt": "@Image1 dances with @Video1", "image_urls": ["https://x.test/a.png",
                     "https://x.test/b.png"], "video_urls": ["https://x.test/v.mp4"],
                     "audio_urls": ["https://x.test/a.mp3"], "resolution": "1080p",
                     "duration": 8, "aspect_ratio": "9:16", "generate_audio": False,
                     "bitrate_mode": "high", "end_user_id": "u-1", "format": "shorts"},
    "kling_v3_std_i2v": {"start_image_url": "https://x.test/s.png",
                         "multi_prompt": [{"prompt": "open on @Element1", "duration": "4"},
                                          {"prompt": "close", "duration": "6"}],
                         "duration": "10", "generate_audio": False,
                         "end_image_url": "https://x.test/e.png",
                         "elements": [{"frontal_image_url": "https://x.test/f.png",
                                       "reference_image_urls": ["https://x.test/r1.png",
                                                                "https://x.test/r2.png"]},
                                      {"video_url": "https://x.test/el.mp4", "voice_id": "v9"}],
                         "shot_type": "intelligent", "negative_prompt": "blur",
                         "cfg_scale": 0.75},
    "kling_v3_pro_i2v": {"start_image_url": "https://x.test/s.png", "prompt": "a slow pan",
                         "duration": "7", "generate_audio": True, "shot_type": "customize",
                         "negative_prompt": "blur, distort, and low quality", "cfg_scale": 0.5},
    "kling_o3_video_edit": {"prompt": "make @Video1 look like @Image1 with @Element1",
                            "video_url": "https://x.test/v.mp4",
                            "image_urls": ["https://x.test/i.png"], "keep_audio": False,
                            "elements": [{"frontal_image_url": "https://x.test/f.png",
                                          "reference_image_urls": ["https://x.test/r.png"]}],
                            "shot_type": "customize"},
    "pixverse_swap": {"video_url": "https://x.test/v.mp4", "image_url": "https://x.test/i.png",
                      "mode": "background", "keyframe_id": 36, "resolution": "540p",
                      "original_sound_switch": False, "seed": 1234},
    "wan_27_video_edit": {"prompt": "film noir", "video_url": "https://x.test/v.mp4",
                          "reference_image_url": "https://x.test/r.png", "resolution": "720p",
                          "aspect_ratio": "1:1", "duration": 5, "audio_setting": "origin",
                          "seed": 7, "enable_safety_checker": False},
    "topaz_upscale_video": {"video_url": "https://x.test/v.mp4", "model": "Gaia 2",
                            "upscale_factor": 3.5, "target_fps": 48, "compression": 0.35,
                            "grain": 0.02, "H264_output": True},
}


@pytest.mark.parametrize("model_id", list(MODELS))
def test_round_trip_is_lossless(form_factory, model_id: str) -> None:
    payload = {**FULL[model_id], "out": "takes/again.mp4", "mock": True}
    form: ModelForm = form_factory(model_id)
    form.set_payload(payload)
    assert form.payload() == payload
    assert form.report().errors == [], form.report().errors
    again: ModelForm = form_factory(model_id)
    again.set_payload(form.payload())
    assert again.payload() == payload
    # and the defaults of a fresh form survive the trip too
    fresh = form_factory(model_id).payload()
    form.set_payload(fresh)
    assert form.payload() == fresh


def test_round_trip_keeps_what_the_form_does_not_know(form_factory) -> None:
    form: ModelForm = form_factory("wan_27_video_edit")
    payload = {"prompt": "p", "video_url": "https://x.test/v.mp4", "surprise": [1, 2],
               "out": "a.mp4", "mock": False}
    form.set_payload(payload)
    out = form.payload()
    assert out["surprise"] == [1, 2]
    assert any("surprise" in i.message for i in form.report().errors)


def test_payload_changed_signal_carries_the_payload(qtbot, form_factory) -> None:
    form: ModelForm = form_factory("pixverse_swap")
    with qtbot.waitSignal(form.payload_changed, timeout=1000) as blocker:
        combo = form.editor("mode").combo
        combo.setCurrentIndex(combo.findData("object"))
    assert blocker.args[0]["mode"] == "object"
    assert blocker.args[0] == form.payload()


def test_signals_fire_on_change_only(qtbot, form_factory) -> None:
    form: ModelForm = form_factory("kling_v3_pro_i2v")
    seen: list[str] = []
    form.estimate_changed.connect(lambda e: seen.append(f"est {e.min}"))
    form.validation_changed.connect(lambda r: seen.append(f"report {len(r.errors)}"))
    form.revalidate()
    assert seen == []
    form.editor("generate_audio").toggle.setChecked(False)
    assert seen == ["report 2", "est 112"]  # the report carries the data, which changed
    seen.clear()
    form.editor("negative_prompt").edit.setText("")  # typing: debounced, estimate unchanged
    assert seen == []
    qtbot.waitUntil(lambda: bool(seen), timeout=1000)
    qtbot.wait(50)
    assert seen == ["report 2"]
