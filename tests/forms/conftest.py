"""Shared fixtures for the form tests: real media files made once per session."""

from __future__ import annotations

from types import SimpleNamespace

import mediafactory as mf
import pytest


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("forms-media")
    return SimpleNamespace(
        dir=d,
        png=mf.image(d / "portrait.png", 640, 800),
        jpg=mf.image(d / "wide.jpg", 800, 450),
        small=mf.image(d / "tiny.png", 120, 90),  # below Kling's 300×300
        video=mf.video(d / "clip.mp4", 320, 240, seconds=2.0, fps=24),
        hd=mf.video(d / "hd.mp4", 1280, 720, seconds=3.5, fps=24),
        wav=mf.audio(d / "tone.wav", seconds=1.5),
        text=mf.not_media(d / "notes.txt"),
        broken=mf.truncated(mf.video(d / "whole.mp4", 320, 240, 2.0), d / "broken.mp4", 0.3),
    )


@pytest.fixture
def form_factory(qtbot):  # type: ignore[no-untyped-def]
    from app.forms import build_form

    def make(model_id: str):  # type: ignore[no-untyped-def]
        form = build_form(model_id)
        qtbot.addWidget(form)
        form.resize(760, 1000)
        return form

    return make


@pytest.fixture
def wait_probed(qtbot):  # type: ignore[no-untyped-def]
    """wait_probed(form): until the form has no probe in flight."""

    def wait(form, timeout: int = 10_000) -> None:  # type: ignore[no-untyped-def]
        qtbot.waitUntil(lambda: not form.pending_probes(), timeout=timeout)

    return wait
