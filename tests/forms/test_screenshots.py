"""Each model's form, filled in with real files, grabbed offscreen into /tmp/forms-shots/ (for a
look by eye), with checks that nothing is cut off: labels fit, thumbnails are drawn."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from app.catalog import MODELS
from app.forms.form import ModelForm
from app.forms.media import MediaEditor

SHOTS = Path(os.environ.get("FORMS_SHOTS_DIR", "/tmp/forms-shots"))


def filled(media) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {
        "seedance_r2v": {"prompt": "@Image1 walks through the rain toward @Image2, lit like "
                         "@Video1; hum of @Audio1 and @Image3",
                         "image_urls": [str(media.png), str(media.jpg)],
                         "video_urls": [str(media.video)], "audio_urls": [str(media.wav)],
                         "resolution": "1080p", "duration": 8, "format": "shorts"},
        "kling_v3_std_i2v": {"start_image_url": str(media.png),
                             "prompt": "@Element1 turns to the camera and smiles",
                             "elements": [{"frontal_image_url": str(media.png),
                                           "reference_image_urls": [str(media.jpg)]},
                                          {"video_url": str(media.hd), "voice_id": "v-12"}]},
        "kling_v3_pro_i2v": {"start_image_url": str(media.jpg),
                             "multi_prompt": [{"prompt": "Wide shot of the harbour at dawn",
                                               "duration": "4"},
                                              {"prompt": "Close on the captain's hands",
                                               "duration": "5"},
                                              {"prompt": "Ship leaves frame", "duration": "8"}],
                             "generate_audio": False},
        "kling_o3_video_edit": {"prompt": "Restyle @Video1 like @Image1, add @Element1",
                                "video_url": str(media.hd), "image_urls": [str(media.small)],
                                "elements": [{"frontal_image_url": str(media.png),
                                              "reference_image_urls": [str(media.jpg)]}]},
        "pixverse_swap": {"video_url": str(media.video), "image_url": str(media.png),
                          "keyframe_id": 60, "seed": 42},
        "wan_27_video_edit": {"prompt": "Turn it into a 1940s film noir", "video_url":
                              str(media.hd), "duration": 5, "aspect_ratio": "16:9"},
        "topaz_upscale_video": {"video_url": str(media.video), "target_fps": 60,
                                "grain": 0.02, "upscale_factor": 4},
    }


@pytest.mark.parametrize("model_id", list(MODELS))
def test_screenshot_of_a_filled_form(qtbot, form_factory, media, wait_probed,
                                     model_id: str) -> None:
    form: ModelForm = form_factory(model_id)
    form.set_payload({**filled(media)[model_id], "out": f"takes/{model_id}.mp4"})
    form.show()
    wait_probed(form)
    editors = form.findChildren(MediaEditor)
    qtbot.waitUntil(lambda: all(i.has_thumbnail for e in editors for i in e.items
                                if not i.value.startswith("http")), timeout=10_000)
    form.resize(780, max(900, form.body.sizeHint().height() + form.summary_label.parent()
                         .sizeHint().height() + 8))
    qtbot.wait(10)
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert form.grab().save(str(SHOTS / f"{model_id}.png"))
    for name, label in form.field_labels.items():
        if label.isVisibleTo(form):
            assert label.width() >= label.minimumSizeHint().width(), name
    # every label in the body shows its whole text (no clipping at the right edge)
    body = form.body.rect()
    for label in form.body.findChildren(QLabel):
        if label.isVisibleTo(form) and label.text():
            r = label.geometry().translated(label.parentWidget().mapTo(form.body,
                                                                       label.pos()) -
                                            label.pos())
            assert r.right() <= body.right(), label.text()
