"""Fixtures: a real sandbox server on loopback, an httpx client for it, real media files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import mediafactory as mf
import pytest

from app.sandbox.server import SandboxServer
from sandbox.helpers import FAST, api_client


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Source files, made once: the names say their facts."""
    d = tmp_path_factory.mktemp("media")
    return {
        "img_640x480": mf.image(d / "img_640x480.png", 640, 480),
        "img_480x640": mf.image(d / "img_480x640.jpg", 480, 640),
        "img_200x200": mf.image(d / "img_200x200.png", 200, 200),
        "vid_720p_3s_audio": mf.video(d / "vid_720p_3s_audio.mp4", 1280, 720, 3.2, 24,
                                      audio=True),
        "vid_320x240_2s_audio": mf.video(d / "vid_320x240_2s_audio.mp4", 320, 240, 2.0, 24,
                                         audio=True),
        "vid_320x240_3s": mf.video(d / "vid_320x240_3s.mp4", 320, 240, 3.0, 24),
        "vid_320x180_2s": mf.video(d / "vid_320x180_2s.mp4", 320, 180, 2.0, 24),
        "text": mf.not_media(d / "notes.txt"),
    }


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox", **FAST) as sb:
        yield sb


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with api_client(sandbox) as c:
        yield c
