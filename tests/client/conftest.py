"""Fixtures for the client tests: a real sandbox on loopback, real media files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mediafactory as mf
import pytest

from app.sandbox.server import SandboxServer
from client.helpers import FAST, KEY


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("client-media")
    return {
        "img_640x480": mf.image(d / "img_640x480.png", 640, 480),
        "img_480x640": mf.image(d / "img 480x640.jpg", 480, 640),  # a space in the name
        "vid_720p_3s": mf.video(d / "vid_720p_3s.mp4", 1280, 720, 3.2, 24, audio=True),
        "vid_320x240_2s": mf.video(d / "vid_320x240_2s.mp4", 320, 240, 2.0, 24),
        "vid_320x240_2_5s": mf.video(d / "vid_320x240_2_5s.mp4", 320, 240, 2.5, 24,
                                     audio=True),
    }


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox", key=KEY, **FAST) as sb:
        yield sb


