"""Every model end to end through the client (mock and not): uploads, POST, polling and
download; the MP4 has the requested duration and aspect ratio; charges equal estimates."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app.catalog import estimate
from app.catalog.validate import probe_values
from app.media.probe import probe
from client.helpers import START_CREDITS, Harness, balance, run


def payloads(media: dict[str, Path]) -> dict[str, tuple[dict[str, Any], float, float]]:
    """model → (payload, expected duration s, expected width/height)."""
    img, portrait = str(media["img_640x480"]), str(media["img_480x640"])
    return {
        "seedance_r2v": ({"prompt": "a lighthouse, in the style of @Image1", "image_urls": [img],
                          "duration": 4, "resolution": "480p", "aspect_ratio": "16:9",
                          "out": "seedance.mp4"}, 4.0, 16 / 9),
        "kling_v3_std_i2v": ({"start_image_url": img, "prompt": "the camera pans",
                              "duration": "3", "generate_audio": False,
                              "out": "kling_std.mp4"}, 3.0, 4 / 3),
        "kling_v3_pro_i2v": ({"start_image_url": portrait, "prompt": "she turns",
                              "duration": "4", "out": "kling_pro.mp4"}, 4.0, 3 / 4),
        "kling_o3_video_edit": ({"prompt": "make @Video1 a night scene",
                                 "video_url": str(media["vid_720p_3s"]),
                                 "out": "o3.mp4"}, 3.2, 16 / 9),
        "pixverse_swap": ({"video_url": str(media["vid_320x240_2s"]), "image_url": img,
                           "mode": "background", "out": "swap.mp4"}, 2.0, 4 / 3),
        "wan_27_video_edit": ({"prompt": "watercolour",
                               "video_url": str(media["vid_320x240_2_5s"]),
                               "out": "wan.mp4"}, 2.5, 4 / 3),
        "topaz_upscale_video": ({"video_url": str(media["vid_320x240_2s"]),
                                 "upscale_factor": 2, "out": "topaz.mp4"}, 2.0, 4 / 3),
    }


def test_every_model_renders_with_and_without_mock_and_charges_its_estimate(sandbox, tmp_path,
                                                                            media):
    cases = payloads(media)

    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            submitted = []
            for model_id, (payload, _, _) in cases.items():
                for mock in (False, True):
                    p = {**payload, "mock": mock,
                         "out": ("mock/" if mock else "real/") + payload["out"]}
                    submitted.append((model_id, mock, await h.manager.submit(model_id, p)))
            done = await asyncio.gather(*(h.manager.wait(r.id) for _, _, r in submitted))
            expected_total = 0
            for (model_id, mock, _), rec in zip(submitted, done, strict=True):
                payload, seconds, aspect = cases[model_id]
                assert rec.status == "succeeded", (model_id, rec.error_message)
                probes = probe_values(list(_media_of(payload)), probe)
                est = estimate(model_id, {**payload, "mock": mock}, probes)
                assert est.min == est.max, (model_id, est.breakdown)
                assert rec.credits_estimated == est.max
                assert rec.credits_charged == est.max, (model_id, mock)
                assert (est.max == 0) == mock
                expected_total += est.max
                info = probe(rec.result_path)
                assert info.kind == "video" and info.format == "mp4"
                assert abs(info.duration_s - seconds) <= 0.2, (model_id, info.duration_s)
                assert abs(info.width / info.height - aspect) < 0.03, (model_id, info)
                assert Path(rec.result_path).parent.name == ("mock" if mock else "real")
            assert expected_total > 0
            assert await balance(h.api) == START_CREDITS - expected_total
            # the server saw upload URLs, never local paths; the store keeps the local paths
            for model_id, _, rec in submitted:
                body, _ = h.store.wire(rec.id)
                assert b"/v1/files/up_" in body
                assert str(media["img_640x480"]).encode() not in body
                assert str(tmp_path).encode() not in body
                stored = h.store.get(rec.id).payload
                assert _media_of(stored) == _media_of(cases[model_id][0])

    run(main(), timeout=120)


def _media_of(payload: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for k, v in payload.items():
        if k.endswith("_url") and isinstance(v, str):
            out.append(v)
        elif k.endswith("_urls") and isinstance(v, list):
            out.extend(v)
    return out
