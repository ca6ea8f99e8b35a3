"""Media fields with real files: drops (real Qt drag events), refusals, probing and thumbnails
off the GUI thread, tags that follow the order, limits in red, dependent limits."""

from __future__ import annotations

import threading

from PySide6.QtCore import QMimeData
from qtinput import drag_and_drop, file_mime

from app.forms.form import ModelForm
from app.forms.media import MediaEditor

mime_for = file_mime


def zone(form: ModelForm, name: str) -> MediaEditor:
    editor = form.editor(name)
    assert isinstance(editor, MediaEditor)
    return editor


def test_dropped_files_become_tagged_thumbnailed_items(qtbot, form_factory, media) -> None:
    form: ModelForm = form_factory("seedance_r2v")
    form.show()
    images = zone(form, "image_urls")
    entered, dropped = drag_and_drop(images.drop_zone, mime_for(media.png, media.jpg))
    assert entered and dropped
    assert [i.tag.text() for i in images.items] == ["@Image1", "@Image2"]
    assert form.payload()["image_urls"] == [str(media.png), str(media.jpg)]
    qtbot.waitUntil(lambda: all(i.has_thumbnail for i in images.items), timeout=10_000)
    assert not images.items[0].thumb.pixmap().isNull()
    assert images.items[0].facts.text().startswith("640×800 · PNG")
    assert images.items[1].facts.text().startswith("800×450 · JPEG")
    # video: first frame as thumbnail, and its facts (dropped on the field, not the zone)
    videos = zone(form, "video_urls")
    assert drag_and_drop(videos, mime_for(media.video)) == (True, True)
    qtbot.waitUntil(lambda: videos.items[0].has_thumbnail, timeout=10_000)
    assert "2.00 s · 24 fps · MP4" in videos.items[0].facts.text()
    assert videos.items[0].tag.text() == "@Video1"
    # audio: a waveform
    audios = zone(form, "audio_urls")
    drag_and_drop(audios.drop_zone, mime_for(media.wav))
    qtbot.waitUntil(lambda: audios.items[0].has_thumbnail, timeout=10_000)
    assert "1.50 s · WAV" in audios.items[0].facts.text()
    qtbot.waitUntil(lambda: not form.pending_probes(), timeout=10_000)
    assert form.probe_facts(str(media.png)).width == 640


def test_probing_runs_off_the_gui_thread(qtbot, form_factory, media, monkeypatch) -> None:
    import app.media.probe as probe_mod

    threads: list[threading.Thread] = []
    real = probe_mod.probe

    def spy(path):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread())
        return real(path)

    monkeypatch.setattr(probe_mod, "probe", spy)
    copy = media.dir / "offthread.png"
    copy.write_bytes(media.png.read_bytes())
    form: ModelForm = form_factory("wan_27_video_edit")
    zone(form, "reference_image_url").add_values([str(copy)])
    assert form.pending_probes() == [str(copy)] and not form.is_submittable()
    qtbot.waitUntil(lambda: not form.pending_probes(), timeout=10_000)
    assert threads and all(t is not threading.main_thread() for t in threads)


def test_a_non_media_drop_says_why_it_is_refused(form_factory, media) -> None:
    form: ModelForm = form_factory("seedance_r2v")
    images = zone(form, "image_urls")
    drag_and_drop(images.drop_zone, mime_for(media.text))
    assert images.items == []
    assert images.refused.isVisibleTo(form)
    assert "notes.txt was not added: not an image, video or audio file" in images.refused.text()
    # a video dropped on an image field is refused with its own reason
    drag_and_drop(images.drop_zone, mime_for(media.video))
    assert "clip.mp4 was not added: it is a video; this field takes images" in \
        images.refused.text()
    # a later good drop clears the message
    drag_and_drop(images.drop_zone, mime_for(media.png))
    assert len(images.items) == 1 and not images.refused.isVisibleTo(form)
    # plain text that is not a path
    mime = QMimeData()
    mime.setText("hello world")
    drag_and_drop(images.drop_zone, mime)
    assert "no such file" in images.refused.text()


def test_reorder_and_remove_retag_and_flag_dangling_mentions(qtbot, form_factory,
                                                             media) -> None:
    form: ModelForm = form_factory("seedance_r2v")
    images = zone(form, "image_urls")
    images.add_values([str(media.png), str(media.jpg)])
    prompt = form.editor("prompt")
    prompt.set_value("@Image1 meets @Image2")
    form.revalidate()
    assert prompt.dangling() == [] and form.issue_label("prompt").isHidden()
    images.items[1].up.click()
    assert form.payload()["image_urls"] == [str(media.jpg), str(media.png)]
    assert [i.tag.text() for i in images.items] == ["@Image1", "@Image2"]
    assert images.items[0].name.text() == "wide.jpg"
    images.items[1].remove.click()
    assert form.payload()["image_urls"] == [str(media.jpg)]
    assert prompt.dangling() == ["@Image2"]
    text = form.issue_label("prompt").text()
    assert "@Image2" in text and "there is 1 image" in text
    assert not form.is_submittable()


def test_an_item_breaking_a_limit_turns_red_with_the_reason(qtbot, form_factory, media,
                                                            wait_probed) -> None:
    form: ModelForm = form_factory("kling_v3_std_i2v")
    start = zone(form, "start_image_url")
    start.add_values([str(media.small)])
    wait_probed(form)
    item = start.items[0]
    assert item.is_bad
    assert "120×90" in item.problem.text() and "300×300" in item.problem.text()
    assert form.issue_label("start_image_url").isHidden()  # said on the item, not twice
    # a truncated file: kept, red, with the probe's reason
    wan: ModelForm = form_factory("wan_27_video_edit")
    zone(wan, "video_url").add_values([str(media.broken)])
    wait_probed(wan)
    bad = zone(wan, "video_url").items[0]
    assert bad.is_bad and "could not be read" in bad.problem.text()
    # drop a fine one: replaces the single value, no longer red
    zone(wan, "video_url").add_values([str(media.video)])
    wait_probed(wan)
    assert not zone(wan, "video_url").items[0].is_bad


def test_list_item_errors_land_on_the_item(form_factory, media, wait_probed) -> None:
    form: ModelForm = form_factory("kling_o3_video_edit")
    refs = zone(form, "image_urls")
    refs.add_values([str(media.png), str(media.small)])
    wait_probed(form)
    assert [i.is_bad for i in refs.items] == [False, True]
    assert any(i.field == "image_urls.1" for i in form.report().errors)


def test_pixverse_keyframe_max_follows_the_probed_source(qtbot, form_factory, media,
                                                         wait_probed) -> None:
    form: ModelForm = form_factory("pixverse_swap")
    keyframe = form.editor("keyframe_id")
    keyframe.set_value(100)
    form.revalidate()
    zone(form, "video_url").add_values([str(media.video)])  # 2.0 s → 48
    wait_probed(form)
    assert keyframe.dynamic_max == 48
    assert "2.00 s × 24" in keyframe.note.text()
    # the range is the clip's frames; the keyframe chosen beyond them moves to the last one,
    # and the note says so; the form validated the moved value
    assert keyframe.slider.maximum() == 48
    assert keyframe.slider.value() == 48 and form.payload()["keyframe_id"] == 48
    assert "Keyframe 100 was past this clip's last frame: moved to 48" in keyframe.note.text()
    assert form.issue_label("keyframe_id").isHidden()
    assert "keyframe_id" not in {i.field for i in form.report().errors}
    keyframe.set_value(10)
    form.revalidate()
    zone(form, "video_url").add_values([str(media.hd)])  # 3.5 s → 84
    wait_probed(form)
    assert keyframe.slider.maximum() == 84


def test_wan_duration_longer_than_the_source_is_flagged(form_factory, media,
                                                        wait_probed) -> None:
    form: ModelForm = form_factory("wan_27_video_edit")
    form.set_payload({"prompt": "noir", "video_url": str(media.hd), "duration": 5,
                      "out": "x.mp4"})
    wait_probed(form)
    assert "longer than the source video (3.5 s)" in form.issue_label("duration").text()
    assert "3.5 s" in form.editor("duration").note.text()
    form.editor("duration").slider.setValue(3)
    assert form.issue_label("duration").isHidden()
    assert form.is_submittable()


def test_paste_a_path_or_url(form_factory, media) -> None:
    form: ModelForm = form_factory("topaz_upscale_video")
    video = zone(form, "video_url")
    video.drop_zone.paste.setText(f"  '{media.video}'  ")
    video.drop_zone.paste.returnPressed.emit()
    assert form.payload()["video_url"] == str(media.video)
    assert video.drop_zone.paste.text() == ""
    video.drop_zone.paste.setText("https://cdn.test/clip.mp4")
    video.drop_zone.paste.returnPressed.emit()
    assert form.payload()["video_url"] == "https://cdn.test/clip.mp4"
    assert "Remote URL" in video.items[0].facts.text()
    assert form.pending_probes() == []


def test_capacity_refuses_extra_files(form_factory, media) -> None:
    form: ModelForm = form_factory("kling_v3_std_i2v")
    form.editor("elements").add_kind("images")
    refs = form.findChild(MediaEditor, "elements.0.reference_image_urls")
    copies = []
    for i in range(4):
        p = media.dir / f"ref{i}.png"
        p.write_bytes(media.png.read_bytes())
        copies.append(p)
    refs.add_values([str(p) for p in copies])
    assert len(refs.items) == 3
    assert "ref3.png was not added: this field takes at most 3" in refs.refused.text()
