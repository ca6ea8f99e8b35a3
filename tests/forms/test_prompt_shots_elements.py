"""The prompt editor (completion, highlighting), Kling's shots timeline and elements."""

from __future__ import annotations

from PySide6.QtGui import QTextCharFormat
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton

from app.forms.elements import ElementsEditor
from app.forms.form import ModelForm
from app.forms.media import MediaEditor
from app.forms.prompt import PromptEditor
from app.forms.shots import ShotsEditor


def formats(editor: PromptEditor) -> list[tuple[int, int, QTextCharFormat]]:
    layout = editor.edit.document().firstBlock().layout()
    return [(r.start, r.length, QTextCharFormat(r.format)) for r in layout.formats()]


def test_at_offers_the_existing_tags(qtbot, form_factory) -> None:
    form: ModelForm = form_factory("seedance_r2v")
    form.show()
    form.set_payload({"prompt": "", "image_urls": ["https://x.test/a.png",
                                                   "https://x.test/b.png"],
                      "video_urls": ["https://x.test/v.mp4"], "out": "a.mp4"})
    prompt: PromptEditor = form.editor("prompt")
    prompt.edit.setFocus()
    QTest.keyClicks(prompt.edit, "Hero @")
    completer = prompt.edit.completer
    assert completer.completionCount() == 3
    assert prompt.edit.model.stringList() == ["@Image1", "@Image2", "@Video1"]
    assert completer.popup().isVisible()
    QTest.keyClicks(prompt.edit, "V")
    assert completer.completionCount() == 1 and completer.currentCompletion() == "@Video1"
    prompt.edit.insert_completion("@Video1")
    assert prompt.edit.toPlainText() == "Hero @Video1 "
    assert "Type @ for @Image1, @Image2, @Video1" in prompt.tags_hint.text()


def test_mentions_are_highlighted_and_dangling_ones_underlined(form_factory) -> None:
    form: ModelForm = form_factory("seedance_r2v")
    form.set_payload({"prompt": "@Image1 and @Image4 and @Element1",
                      "image_urls": ["https://x.test/a.png"], "out": "a.mp4"})
    prompt: PromptEditor = form.editor("prompt")
    found = {(s, n): f for s, n, f in formats(prompt)}
    good, bad, foreign = found[(0, 7)], found[(12, 7)], found[(24, 9)]
    assert good.underlineStyle() == QTextCharFormat.UnderlineStyle.NoUnderline
    assert good.fontWeight() == 600
    assert bad.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline
    assert foreign.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline
    assert prompt.dangling() == ["@Image4", "@Element1"]
    text = form.issue_label("prompt").text()
    assert "@Image4 (there is 1 image)" in text and "no element references" in text


def test_shots_mode_switch_timeline_and_budget(form_factory) -> None:
    form: ModelForm = form_factory("kling_v3_pro_i2v")
    form.set_payload({"start_image_url": "https://x.test/s.png", "prompt": "single",
                      "out": "a.mp4"})
    assert form.mode("prompt") == "prompt"
    form.findChild(QPushButton, "mode:multi_prompt").click()
    assert form.mode("prompt") == "multi_prompt"
    shots: ShotsEditor = form.editor("multi_prompt")
    assert shots.isVisibleTo(form) and not form.editor("prompt").isVisibleTo(form)
    assert len(shots.cards) == 1
    payload = form.payload()
    assert "prompt" not in payload and payload["multi_prompt"] == [{"prompt": "",
                                                                    "duration": "5"}]
    assert not form.editor("duration").isEnabled()
    assert "multi_prompt.0.prompt" in {i.field for i in form.report().errors}
    assert form.issue_label("multi_prompt.0.prompt").text()
    for _ in range(5):
        shots.add()
    assert len(shots.cards) == 6 and not shots.add_button.isEnabled()
    # budget: 5 + 5 + 5 then trimmed to what is left, then the default again
    for i, card in enumerate(shots.cards):
        card.fields.editors["prompt"].set_value(f"shot {i + 1}")
    form.revalidate()
    total = shots.total()
    assert shots.total_label.text() == f"{total} s of 15 s"
    assert total > 15 and "Shots add up to" in form.issue_label("multi_prompt").text()
    while len(shots.cards) > 2:
        shots.cards[-1].remove.click()
    for i, card in enumerate(shots.cards):
        card.fields.editors["prompt"].set_value(f"shot {i + 1}")
        card.fields.editors["duration"].set_value(str(4 + i * 2))
        card.fields.editors["duration"].emit_changed()
    assert [s["duration"] for s in form.payload()["multi_prompt"]] == ["4", "6"]
    assert form.payload()["duration"] == "10"  # the clip length follows the shots
    assert form.estimate().min == 336  # 10 s × 33.6 with audio on
    shots.cards[1].up.click()
    assert [s["prompt"] for s in form.payload()["multi_prompt"]] == ["shot 2", "shot 1"]
    assert [c.tag.text() for c in shots.cards] == ["Shot 1", "Shot 2"]
    assert form.findChild(PromptEditor, "multi_prompt.0.prompt").value() == "shot 2"
    assert form.is_submittable(), form.report().errors
    # back to a single prompt: the text was kept, the shots are not sent
    form.findChild(QPushButton, "mode:prompt").click()
    payload = form.payload()
    assert payload["prompt"] == "single" and "multi_prompt" not in payload
    assert form.editor("duration").isEnabled()


def test_elements_cards_tags_and_the_single_video(form_factory, media) -> None:
    form: ModelForm = form_factory("kling_v3_std_i2v")
    elements: ElementsEditor = form.editor("elements")
    first = elements.add_kind("images")
    second = elements.add_kind("video")
    assert elements.tags() == ["@Element1", "@Element2"]
    assert not elements.add_video.isEnabled()
    assert not second.fields.editors["frontal_image_url"].isVisibleTo(second)
    assert second.fields.editors["video_url"].isVisibleTo(second)
    first.fields.editors["frontal_image_url"].add_values(["https://x.test/f.png"])
    assert "needs 1–3 reference images" in form.issue_label(
        "elements.0.reference_image_urls").text()
    first.fields.editors["reference_image_urls"].add_values(["https://x.test/r.png"])
    second.fields.editors["video_url"].add_values(["https://x.test/v.mp4"])
    form.set_mode("prompt")
    form.editor("prompt").set_value("@Element1 hands @Element2 a cup")
    form.set_payload({**form.payload(), "start_image_url": "https://x.test/s.png"})
    assert form.is_submittable(), form.report().errors
    assert form.payload()["elements"] == [
        {"frontal_image_url": "https://x.test/f.png",
         "reference_image_urls": ["https://x.test/r.png"]},
        {"video_url": "https://x.test/v.mp4"}]
    elements = form.editor("elements")
    elements.cards[0].remove.click()
    assert elements.tags() == ["@Element1"]
    assert "@Element2" in form.issue_label("prompt").text()


def test_o3_elements_are_image_sets_only(form_factory) -> None:
    form: ModelForm = form_factory("kling_o3_video_edit")
    elements: ElementsEditor = form.editor("elements")
    assert elements.add_video is None
    card = elements.add_kind("images")
    assert card.switch is None
    assert isinstance(form.findChild(MediaEditor, "elements.0.frontal_image_url"), MediaEditor)
    assert form.findChild(MediaEditor, "elements.0.video_url") is None
    assert "@Element1" in form.editor("prompt").edit.model.stringList()
