"""Forms of models known only by their schema: the real published fal schemas
(tests/catalog/schemas) become forms with drop zones holding their limits, cards for lists of
objects, seeds and sliders, the provider's order, live field-addressed messages and
"price unknown" in the footer. Real widgets offscreen, real files, real input events."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.catalog.importer import ImportedModel, import_schema, load_schema_file
from app.forms.editors import EnumEditor, SeedEditor, SliderEditor, StringEditor
from app.forms.form import ModelForm
from app.forms.imported import CardsEditor
from app.forms.media import MediaEditor
from app.forms.prompt import PromptEditor

SCHEMAS = Path(__file__).resolve().parents[1] / "catalog" / "schemas"


def model(name: str) -> ImportedModel:
    return import_schema(load_schema_file(str(SCHEMAS / name)))


@pytest.fixture
def make(qtbot: QtBot):  # type: ignore[no-untyped-def]
    def build(name: str) -> ModelForm:
        form = ModelForm(model(name))
        qtbot.addWidget(form)
        form.resize(760, 1000)
        return form

    return build


def error_text(form: ModelForm, path: str) -> str:
    label = form.findChild(QLabel, f"error:{path}")
    assert label is not None, path
    return label.text() if label.isVisibleTo(form) else ""


def test_kling_v3_pro_form_has_the_providers_fields_and_editors(make) -> None:  # type: ignore[no-untyped-def]
    form = make("fal-kling-video-v3-pro-image-to-video.json")
    assert list(form.fields) == ["prompt", "multi_prompt", "start_image_url", "duration",
                                 "generate_audio", "end_image_url", "elements", "shot_type",
                                 "negative_prompt", "cfg_scale"]
    kinds = {name: type(form.editor(name)) for name in form.fields}
    assert kinds["prompt"] is PromptEditor and kinds["start_image_url"] is MediaEditor
    assert kinds["multi_prompt"] is kinds["elements"] is CardsEditor
    assert kinds["duration"] is kinds["shot_type"] is EnumEditor
    assert kinds["cfg_scale"] is SliderEditor and kinds["negative_prompt"] is StringEditor
    media = form.editor("start_image_url")
    assert media.rule.min_width == 300 and media.rule.max_aspect == 2.5
    assert form.estimate_label.text() == "price unknown"
    assert form.breakdown_label.text() == "price unknown until the provider charges"
    assert form.payload()["out"].startswith("takes/fal-ai-kling-video-v3-pro-image-to-video-")


def test_a_small_start_image_is_refused_beside_its_field(make, media, wait_probed,  # type: ignore[no-untyped-def]
                                                         qtbot: QtBot) -> None:
    form = make("fal-kling-video-v3-pro-image-to-video.json")
    form.editor("start_image_url").add_values([str(media.small)])  # 120×90
    wait_probed(form)
    item = form.editor("start_image_url").items[0]
    assert item.is_bad  # said on the item, as for the curated models
    assert "120×90; this model needs at least 300×300 px" in item.problem.text()
    assert "120×90" in form.summary_label.text() and not form.is_submittable()
    form.editor("start_image_url").set_value(str(media.png))  # 640×800
    wait_probed(form)
    form.revalidate()
    assert not form.editor("start_image_url").items[0].is_bad
    assert not [e for e in form.report().errors if e.field == "start_image_url"]


def test_cards_are_added_by_a_click_and_their_fields_are_checked(make, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    form = make("fal-kling-video-v3-pro-image-to-video.json")
    form.set_payload({"start_image_url": "https://x.test/s.png", "out": "t.mp4"})
    shots = form.editor("multi_prompt")
    assert isinstance(shots, CardsEditor) and shots.item_count() == 0
    qtbot.mouseClick(shots.add_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(shots.add_button, Qt.MouseButton.LeftButton)
    assert shots.item_count() == 2
    assert [c.tag.text() for c in shots.cards] == ["Multi Prompt 1", "Multi Prompt 2"]
    elements = form.editor("elements")
    qtbot.mouseClick(elements.add_button, Qt.MouseButton.LeftButton)
    assert elements.cards[0].tag.text() == "Element 1"
    assert list(elements.cards[0].fields.editors) == ["frontal_image_url",
                                                      "reference_image_urls", "video_url",
                                                      "voice_id"]
    qtbot.mouseClick(elements.cards[0].remove, Qt.MouseButton.LeftButton)
    first = shots.cards[0].fields.editors["prompt"]
    first.edit.setFocus()
    qtbot.keyClicks(first.edit, "open wide")
    form.revalidate()
    assert [s.get("prompt") for s in form.payload()["multi_prompt"]] == ["open wide", ""]
    assert form.is_submittable()  # the schema takes an empty prompt: no rule is made up here
    qtbot.mouseClick(shots.cards[1].remove, Qt.MouseButton.LeftButton)
    assert shots.item_count() == 1
    qtbot.mouseClick(elements.add_button, Qt.MouseButton.LeftButton)
    elements.cards[0].fields.editors["video_url"].set_value("http://[::1")
    form.revalidate()
    assert [e.field for e in form.report().errors] == ["elements.0.video_url"]
    assert "Elements 1 video Url is not a valid URL" in form.summary_label.text()
    assert elements.cards[0].property("bad") is True


def test_a_round_trip_of_a_full_kling_payload(make) -> None:  # type: ignore[no-untyped-def]
    form = make("fal-kling-video-v3-pro-image-to-video.json")
    full = {"prompt": "the @Element1 turns", "start_image_url": "https://x.test/s.png",
            "duration": "10", "generate_audio": False, "end_image_url": "https://x.test/e.png",
            "elements": [{"frontal_image_url": "https://x.test/f.png",
                          "reference_image_urls": ["https://x.test/r.png"]},
                         {"video_url": "https://x.test/v.mp4", "voice_id": "v1"}],
            "shot_type": "intelligent", "negative_prompt": "blur", "cfg_scale": 0.7,
            "out": "takes/t.mp4", "mock": False}
    form.set_payload(full)
    assert form.payload() == full
    assert form.is_submittable(), form.report().errors


def test_wan_seed_slider_and_seedance_lists(make) -> None:  # type: ignore[no-untyped-def]
    wan = make("fal-wan-3.0-prime-image-to-video.json")
    assert isinstance(wan.editor("seed"), SeedEditor)
    assert isinstance(wan.editor("duration"), SliderEditor)
    wan.set_payload({"start_image_url": "https://x.test/s.png", "duration": 31, "out": "t.mp4"})
    assert "the maximum is 30" in error_text(wan, "duration")
    seedance = make("fal-seedance-2.5-reference-to-video.json")
    for name, kind in (("image_urls", "image"), ("video_urls", "video"), ("audio_urls", "audio")):
        editor = seedance.editor(name)
        assert isinstance(editor, MediaEditor) and editor.rule.kind == kind
    seedance.set_payload({"prompt": "@Video1 dances", "out": "t.mp4"})
    assert "Mentions point at nothing: @Video1 (there are 0)" in error_text(seedance, "prompt")


def test_browse_then_choose_a_file_for_an_imported_drop_zone(make, media, qtbot: QtBot,  # type: ignore[no-untyped-def]
                                                              wait_probed) -> None:
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QFileDialog

    form = make("fal-wan-v2.2-a14b-image-to-video.json")
    zone = form.editor("image_url")
    QTest.mouseClick(zone.drop_zone.browse, Qt.MouseButton.LeftButton)
    (dialog,) = zone.findChildren(QFileDialog)
    assert dialog.nameFilters() == ["All files (*)"]  # the schema names no formats
    with qtbot.waitSignal(dialog.filesSelected, timeout=5000):
        dialog.selectFile(str(media.png))
        dialog.accept()
    wait_probed(form)
    assert form.payload()["image_url"] == str(media.png)
    assert not [e for e in form.report().errors if e.field == "image_url"]
