"""Every model renders end to end, with mock and without: the MP4's probed facts and the charge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.catalog import estimate
from app.media.probe import probe
from app.sandbox.server import SandboxServer
from sandbox.helpers import api_client, balance, download, submit, upload, wait

Urls = dict[str, str]


@dataclass(frozen=True)
class Case:
    name: str
    model: str
    payload: Callable[[Urls], dict[str, Any]]
    duration: float
    aspect: float
    audio: bool
    credits: int  # the catalog's price, written out by hand as a cross-check
    size: tuple[int, int] | None = None


CASES = [
    Case("seedance", "seedance_r2v", lambda u: {
        "prompt": "a cat looks at @Image1", "image_urls": [u["img_640x480"]], "duration": 4,
        "aspect_ratio": "16:9", "resolution": "480p", "generate_audio": True},
        4.0, 16 / 9, True, 108),
    Case("seedance_auto", "seedance_r2v", lambda u: {
        "prompt": "like @Image1", "image_urls": [u["img_640x480"]], "duration": "auto",
        "aspect_ratio": "auto", "generate_audio": False},
        5.0, 4 / 3, False, 909),
    Case("seedance_format", "seedance_r2v", lambda u: {
        "prompt": "wide", "duration": 4, "format": "horizontal", "resolution": "480p"},
        4.0, 16 / 9, True, 108),
    Case("seedance_default_aspect", "seedance_r2v", lambda u: {
        "prompt": "tall", "duration": "5", "resolution": "480p"},
        5.0, 9 / 16, True, 135),
    Case("kling_std", "kling_v3_std_i2v", lambda u: {
        "start_image_url": u["img_480x640"], "prompt": "wave", "duration": "4",
        "generate_audio": False},
        4.0, 3 / 4, False, 84),
    Case("kling_pro_shots", "kling_v3_pro_i2v", lambda u: {
        "start_image_url": u["img_640x480"], "generate_audio": True,
        "multi_prompt": [{"prompt": "one", "duration": "2"}, {"prompt": "two", "duration": 3}]},
        5.0, 4 / 3, True, 168),
    Case("kling_o3", "kling_o3_video_edit", lambda u: {
        "prompt": "make @Video1 night", "video_url": u["vid_720p_3s_audio"]},
        3.2, 16 / 9, True, 126),
    Case("pixverse", "pixverse_swap", lambda u: {
        "video_url": u["vid_320x240_2s_audio"], "image_url": u["img_640x480"],
        "original_sound_switch": False, "keyframe_id": 24},
        2.0, 4 / 3, False, 30),
    Case("wan", "wan_27_video_edit", lambda u: {
        "prompt": "as a watercolour", "video_url": u["vid_320x240_3s"], "duration": 2,
        "aspect_ratio": "1:1"},
        2.0, 1.0, False, 100),
    Case("wan_match", "wan_27_video_edit", lambda u: {
        "prompt": "as a watercolour", "video_url": u["vid_320x240_3s"]},
        3.0, 4 / 3, False, 100),
    Case("topaz", "topaz_upscale_video", lambda u: {
        "video_url": u["vid_320x180_2s"], "upscale_factor": 2},
        2.0, 16 / 9, False, 4, size=(640, 360)),
]
IDS = [(c, mock) for c in CASES for mock in (False, True)]


@dataclass
class Done:
    job: dict[str, Any]
    spent: int
    file: Path
    payload: dict[str, Any]


@pytest.fixture(scope="module")
def rendered(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[dict[tuple[str, bool], Done]]:
    """Submit every case (real and mock) to one server, wait, download the results."""
    root = tmp_path_factory.mktemp("render")
    with SandboxServer(root / "data", render_seconds=0.2, credits=100_000) as sb, \
            api_client(sb) as c:
        urls = {k: upload(c, p) for k, p in media.items() if k != "text"}
        done: dict[tuple[str, bool], Done] = {}
        for case, mock in IDS:  # one at a time, so each balance change is this job's
            before = balance(c)
            payload = {**case.payload(urls), "out": f"takes/{case.name}.mp4", "mock": mock}
            r = submit(c, case.model, payload)
            assert r.status_code == 202, r.text
            done[(case.name, mock)] = Done(r.json(), before - balance(c), Path(), payload)
        for key, d in done.items():
            d.job = wait(c, d.job["id"])
            assert d.job["status"] == "succeeded", d.job
            d.file = download(c, d.job["result"]["url"], root / f"{key[0]}-{key[1]}.mp4")
        yield done


@pytest.mark.parametrize(("case", "mock"), IDS, ids=[f"{c.name}-{'mock' if m else 'real'}"
                                                     for c, m in IDS])
def test_model_renders(case: Case, mock: bool, rendered: dict[tuple[str, bool], Done],
                       media: dict[str, Path]) -> None:
    d = rendered[(case.name, mock)]
    info = probe(d.file)
    assert info.kind == "video" and info.format == "mp4"
    assert info.duration_s == pytest.approx(case.duration, abs=0.2)
    assert info.width and info.height
    assert info.width / info.height == pytest.approx(case.aspect, rel=0.03)
    assert min(info.width, info.height) <= 720
    if case.size:
        assert (info.width, info.height) == case.size
    assert info.has_audio is case.audio
    result = d.job["result"]
    assert result["content_type"] == "video/mp4"
    assert result["size_bytes"] == d.file.stat().st_size
    assert (result["width"], result["height"]) == (info.width, info.height)
    assert result["duration_s"] == pytest.approx(info.duration_s, abs=0.01)
    assert d.job["mock"] is mock
    assert d.job["progress"] == 1.0
    assert d.job["started_at"] and d.job["finished_at"]


@pytest.mark.parametrize(("case", "mock"), IDS, ids=[f"{c.name}-{'mock' if m else 'real'}"
                                                     for c, m in IDS])
def test_charge_is_the_catalog_estimate(case: Case, mock: bool,
                                        rendered: dict[tuple[str, bool], Done],
                                        media: dict[str, Path]) -> None:
    d = rendered[(case.name, mock)]
    local = _with_sources(case, media, mock)
    probes = {str(p): probe(p) for p in media.values() if p.suffix != ".txt"}
    expected = 0 if mock else case.credits
    assert estimate(case.model, local, probes).max == expected
    assert d.job["credits_charged"] == expected
    assert d.spent == expected


def _with_sources(case: Case, media: dict[str, Path], mock: bool) -> dict[str, Any]:
    """The case's payload naming the local source files (what the app would estimate)."""
    return {**case.payload({k: str(p) for k, p in media.items()}), "out": "x.mp4", "mock": mock}


def test_the_frames_show_something_moving(rendered: dict[tuple[str, bool], Done]) -> None:
    import av
    import numpy as np

    with av.open(str(rendered[("kling_std", False)].file)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    first, last = frames[0].astype(int), frames[-1].astype(int)
    assert np.abs(first - last).mean() > 5  # the ball and the background moved


def test_an_edit_is_a_visibly_altered_copy(rendered: dict[tuple[str, bool], Done],
                                           media: dict[str, Path]) -> None:
    import av
    import numpy as np

    def mean_frame(path: Path) -> Any:
        with av.open(str(path)) as c:
            f = next(c.decode(video=0))
            return f.to_ndarray(width=160, height=90, format="rgb24").astype(int)

    src = mean_frame(media["vid_720p_3s_audio"])
    out = mean_frame(rendered[("kling_o3", False)].file)
    assert np.abs(src - out).mean() > 40


def test_client_fixture_is_usable(client: httpx.Client) -> None:
    assert balance(client) == 10_000
