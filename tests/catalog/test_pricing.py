"""Prices: a table of cases per model, matching CATALOG.md to the credit, ranges included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.catalog import MODELS, estimate, local_media
from app.catalog.models import DEFAULT_PRICES, reset_prices, set_prices
from app.catalog.pricing import Estimate, round_credits

from .helpers import Media, probe_cached

URL = "https://example.com/"


def price(model_id: str, payload: dict[str, Any]) -> Estimate:
    probes = {v: probe_cached(v) for v in local_media(model_id, payload)}
    return estimate(model_id, payload, probes)


def shots(*durations: Any) -> list[dict[str, Any]]:
    return [{"prompt": f"shot {i + 1}", "duration": d} for i, d in enumerate(durations)]


# (params, min, max, a piece of the breakdown)
SEEDANCE = [
    ({"resolution": "720p", "duration": 5}, 303, 303, "5 s × 60.6 cr/s at 720p (303 cr per 5 s)"),
    ({"resolution": "720p", "duration": 10}, 606, 606, "10 s × 60.6 cr/s at 720p"),
    ({"resolution": "720p", "duration": 4}, 242, 242, "4 s × 60.6 cr/s"),
    ({"resolution": "720p", "duration": 7}, 424, 424, "7 s × 60.6 cr/s"),
    ({"resolution": "720p", "duration": 15}, 909, 909, "15 s × 60.6 cr/s"),
    ({"resolution": "480p", "duration": 5}, 135, 135, "5 s × ≈27 cr/s at 480p (≈135 cr per 5 s)"),
    ({"resolution": "480p", "duration": 15}, 405, 405, "15 s × ≈27 cr/s at 480p"),
    ({"resolution": "1080p", "duration": 5}, 681, 681, "5 s × 136.2 cr/s at 1080p"),
    ({"resolution": "1080p", "duration": 7}, 953, 953, "7 s × 136.2 cr/s at 1080p"),
    ({"resolution": "1080p", "duration": 13}, 1771, 1771, "13 s × 136.2 cr/s"),
    ({"resolution": "4k", "duration": 4}, 1244, 1244, "4 s × 311 cr/s at 4k (1555 cr per 5 s)"),
    ({"resolution": "4k", "duration": 15}, 4665, 4665, "15 s × 311 cr/s at 4k"),
    ({"resolution": "720p", "duration": "8"}, 485, 485, "8 s × 60.6 cr/s"),
    ({"resolution": "720p", "duration": 10, "generate_audio": False}, 606, 606, "10 s"),
    ({}, 242, 909, "auto duration (4–15 s) × 60.6 cr/s at 720p"),
    ({"duration": "auto", "resolution": "480p"}, 108, 405, "auto duration (4–15 s) × ≈27 cr/s"),
    ({"duration": "auto", "resolution": "1080p"}, 545, 2043, "auto duration (4–15 s)"),
    ({"duration": "auto", "resolution": "4k"}, 1244, 4665, "× 311 cr/s at 4k"),
]

KLING_STD = [
    ({}, 84, 84, "84 cr per call"),
    ({"duration": "15"}, 84, 84, "84 cr per call"),
    ({"generate_audio": False, "duration": 3}, 84, 84, "84 cr per call"),
    ({"prompt": None, "multi_prompt": shots("5", "10")}, 84, 84, "84 cr per call"),
]

KLING_PRO = [
    ({}, 168, 168, "5 s × 33.6 cr/s, audio on"),
    ({"generate_audio": False}, 112, 112, "5 s × 22.4 cr/s, audio off"),
    ({"generate_audio": False, "duration": "10"}, 224, 224, "10 s × 22.4 cr/s, audio off"),
    ({"generate_audio": False, "duration": 3}, 67, 67, "3 s × 22.4 cr/s"),
    ({"duration": "3"}, 101, 101, "3 s × 33.6 cr/s"),
    ({"duration": "7"}, 235, 235, "7 s × 33.6 cr/s"),
    ({"duration": 15}, 504, 504, "15 s × 33.6 cr/s, audio on"),
    ({"prompt": None, "multi_prompt": shots("4", "6")}, 336, 336,
     "10 s (shots) × 33.6 cr/s, audio on"),
    ({"prompt": None, "multi_prompt": shots(1, 2), "generate_audio": False}, 67, 67,
     "3 s (shots) × 22.4 cr/s, audio off"),
    ({"prompt": None, "multi_prompt": shots("5", "5", "5"), "duration": "15"}, 504, 504,
     "15 s (shots)"),
]

FLAT = [
    ("kling_o3_video_edit", {}, 126),
    ("kling_o3_video_edit", {"keep_audio": False, "image_urls": [URL + "i.png"]}, 126),
    ("wan_27_video_edit", {}, 100),
    ("wan_27_video_edit", {"duration": 10, "resolution": "720p"}, 100),
]


@pytest.mark.parametrize(("params", "lo", "hi", "text"), SEEDANCE)
def test_seedance_price(params: dict[str, Any], lo: int, hi: int, text: str) -> None:
    est = estimate("seedance_r2v", {"out": "o.mp4", "prompt": "p", **params})
    assert (est.min, est.max) == (lo, hi)
    assert text in est.breakdown
    assert "Audio costs the same either way." in est.notes


def test_seedance_480p_is_said_to_be_approximate() -> None:
    est = estimate("seedance_r2v", {"resolution": "480p", "duration": 5})
    assert any("approximate" in n for n in est.notes)
    assert not any("approximate" in n for n in estimate("seedance_r2v", {"duration": 5}).notes)


@pytest.mark.parametrize(("params", "lo", "hi", "text"), KLING_STD)
def test_kling_standard_price(params: dict[str, Any], lo: int, hi: int, text: str) -> None:
    est = estimate("kling_v3_std_i2v", {"out": "o.mp4", "prompt": "p", **params})
    assert (est.min, est.max) == (lo, hi)
    assert text in est.breakdown
    assert any("flat" in n for n in est.notes)


@pytest.mark.parametrize(("params", "lo", "hi", "text"), KLING_PRO)
def test_kling_pro_price(params: dict[str, Any], lo: int, hi: int, text: str) -> None:
    est = estimate("kling_v3_pro_i2v", {"out": "o.mp4", "prompt": "p", **params})
    assert (est.min, est.max) == (lo, hi)
    assert text in est.breakdown
    assert any("112" in n and "audio off only" in n for n in est.notes)


@pytest.mark.parametrize(("model_id", "params", "credits"), FLAT)
def test_flat_prices(model_id: str, params: dict[str, Any], credits: int) -> None:
    est = estimate(model_id, {"out": "o.mp4", **params})
    assert (est.min, est.max) == (credits, credits)
    assert est.breakdown == f"{credits} cr per call"


PIXVERSE = [
    (lambda m: m.video(320, 240, 2.0), 30, 30, "source 2.0 s ≤ 5 s: 30 cr"),
    (lambda m: m.video(320, 240, 5.0, 8), 30, 30, "source 5.0 s ≤ 5 s: 30 cr"),
    (lambda m: m.video(320, 240, 5.5, 8), 60, 60, "source 5.5 s > 5 s: 30 × 2 = 60 cr"),
    (lambda m: m.video(320, 240, 10.5, 8), 60, 60, "source 10.5 s > 5 s"),
    (lambda m: URL + "remote.mp4", 30, 60, "source length not known yet"),
    (lambda m: "/not/probed/yet.mp4", 30, 60, "source length not known yet"),
]


@pytest.mark.parametrize(("video", "lo", "hi", "text"), PIXVERSE,
                         ids=["2s", "5s", "5.5s", "10.5s", "remote", "unprobed"])
def test_pixverse_price(media: Media, video: Callable[[Media], Any], lo: int, hi: int,
                        text: str) -> None:
    payload = {"out": "o.mp4", "video_url": str(video(media)), "image_url": URL + "i.png"}
    est = price("pixverse_swap", payload) if "not/probed" not in payload["video_url"] else \
        estimate("pixverse_swap", payload)
    assert (est.min, est.max) == (lo, hi)
    assert text in est.breakdown


TOPAZ = [
    # (source w, h, s, fps), params, credits, breakdown piece
    ((320, 240, 2.0), {}, 4, "2.00 s × 2 cr/s (output short side 480 px = 240 × 2)"),
    ((640, 360, 2.0), {}, 4, "output short side 720 px = 360 × 2"),
    ((640, 362, 2.0), {}, 8, "2.00 s × 4 cr/s (output short side 724 px"),
    ((640, 360, 2.0), {"upscale_factor": 3}, 8, "4 cr/s (output short side 1080 px = 360 × 3)"),
    ((640, 360, 2.0), {"upscale_factor": 4}, 32, "16 cr/s (output short side 1440 px"),
    ((360, 640, 2.0), {"upscale_factor": 4}, 32, "= 360 × 4"),
    ((640, 360, 2.0), {"upscale_factor": 1}, 4, "360 px = 360 × 1"),
    ((320, 240, 2.0), {"target_fps": 60}, 8, "× 2 for 60 fps"),
    ((320, 240, 2.0), {"target_fps": 30}, 4, "2 cr/s"),
    ((320, 240, 2.0), {"model": "Gaia 2"}, 2, "× 0.5 for Gaia 2"),
    ((320, 240, 2.0), {"model": "Gaia 2", "target_fps": 60}, 4, "× 2 for 60 fps × 0.5 for Gaia 2"),
    ((640, 360, 2.0), {"model": "Gaia 2", "upscale_factor": 4}, 16, "16 cr/s"),
    ((320, 240, 2.25), {}, 5, "2.25 s × 2 cr/s"),  # 4.5 → 5: halves round up
    ((320, 240, 2.5), {"model": "Gaia 2"}, 3, "2.50 s × 2 cr/s"),  # 2.5 → 3
    ((320, 240, 2.25), {"model": "Gaia 2"}, 2, "2.25 s"),  # 2.25 → 2
]


@pytest.mark.parametrize(("source", "params", "credits", "text"), TOPAZ)
def test_topaz_price_from_the_probed_source(media: Media, source: tuple[int, int, float],
                                            params: dict[str, Any], credits: int,
                                            text: str) -> None:
    w, h, s = source
    payload = {"out": "o.mp4", "video_url": str(media.video(w, h, s)), **params}
    est = price("topaz_upscale_video", payload)
    assert (est.min, est.max) == (credits, credits)
    assert text in est.breakdown


@pytest.mark.parametrize(("params", "lo", "hi", "text"), [
    ({}, 2, 960, "2–16 cr/s by output size; the source's length and size are not known yet "
                 "(range assumes 1–60 s)"),
    ({"target_fps": 60}, 4, 1920, "2–16 cr/s by output size × 2 for 60 fps; the source's "
                                  "length and size are not known yet (range assumes 1–60 s)"),
    ({"model": "Gaia 2"}, 1, 480, "2–16 cr/s by output size × 0.5 for Gaia 2; the source's "
                                  "length and size are not known yet (range assumes 1–60 s)"),
])
def test_topaz_remote_source_is_a_range(params: dict[str, Any], lo: int, hi: int,
                                        text: str) -> None:
    est = estimate("topaz_upscale_video", {"out": "o.mp4", "video_url": URL + "v.mp4",
                                           **params})
    assert (est.min, est.max) == (lo, hi)
    assert est.breakdown == text
    assert est.is_range and est.text() == f"{lo}–{hi} cr"


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_mock_costs_nothing_and_says_what_a_real_render_costs(model_id: str) -> None:
    real = estimate(model_id, {"out": "o.mp4"})
    est = estimate(model_id, {"out": "o.mp4", "mock": True})
    assert (est.min, est.max) == (0, 0) and est.mock
    assert est.breakdown.startswith(f"mock: free placeholder render (a real render: "
                                    f"{real.text()}; {real.breakdown})")
    assert estimate(model_id, {"out": "o.mp4", "mock": False}).min == real.min


@pytest.mark.parametrize(("x", "credits"), [
    (2.5, 3), (3.5, 4), (4.5, 5), (0.5, 1), (2.49, 2), (100.8, 101), (67.2, 67), (0, 0),
    (1.15 * 100 / 10, 12),  # 11.499999999999998: a half that binary floats lost
])
def test_rounding_is_to_the_nearest_credit_halves_up(x: float, credits: int) -> None:
    assert round_credits(x) == credits


GARBAGE = [None, "abc", -1, 1e9, [], {}, [1, 2], {"a": 1}, True, "5", 5.5, [None], ["x"],
           [{"prompt": "a", "duration": "abc"}], [{}]]


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_any_form_state_gets_a_price(model_id: str) -> None:
    """An unfinished or wrong form never crashes the estimate."""
    names = [*MODELS[model_id].input_model.model_fields, "mock", "format"]
    for name in names:
        for value in GARBAGE:
            est = estimate(model_id, {name: value})
            assert isinstance(est.min, int) and isinstance(est.max, int)
            assert 0 <= est.min <= est.max, (name, value)
            assert est.breakdown


def test_prices_are_data_a_server_table_can_replace() -> None:
    try:
        set_prices({"wan_27_video_edit": {"rule": "flat", "credits": 120}})
        assert estimate("wan_27_video_edit", {}).min == 120
        set_prices({"wan_27_video_edit": {"rule": "per_frame"}})
        with pytest.raises(ValueError, match="unknown price rule 'per_frame'"):
            estimate("wan_27_video_edit", {})
    finally:
        reset_prices()
    assert estimate("wan_27_video_edit", {}).min == 100
    assert set(DEFAULT_PRICES) == set(MODELS)


def test_estimate_serializes_to_min_and_max() -> None:
    assert estimate("kling_o3_video_edit", {}).to_dict() == {"min": 126, "max": 126}
    assert estimate("kling_o3_video_edit", {}).text() == "126 cr"
