"""`takes check` and `takes models` as a user runs them: a real process, JSON on stdout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .helpers import Media

ROOT = Path(__file__).resolve().parents[2]


def takes(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=60,
                          env=_env())


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def write(folder: Path, payload: Any, name: str = "payload.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data = json.loads(proc.stdout)  # exactly one JSON object, nothing else
    assert set(data) >= {"valid", "errors", "warnings", "credits", "breakdown"}
    assert set(data["credits"]) == {"min", "max"}
    for issue in data["errors"] + data["warnings"]:
        assert set(issue) == {"field", "message"}
    return data


@pytest.fixture(scope="module")
def job(media: Media, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a payload's media under relative names, like a creator's project."""
    folder = tmp_path_factory.mktemp("job")
    (folder / "refs").mkdir()
    shutil.copyfile(media.video(320, 240, 2.0), folder / "refs" / "clip.mp4")
    shutil.copyfile(media.video(320, 240, 10.5, 8), folder / "long.mp4")
    shutil.copyfile(media.image(640, 480, ".png"), folder / "refs" / "face.png")
    shutil.copyfile(media.image(640, 480, ".png", size=34_200_000), folder / "big.png")
    return folder


def test_valid_payload_with_relative_paths_resolved_from_the_payload_folder(job: Path,
                                                                            tmp_path: Path
                                                                            ) -> None:
    payload = write(job, {"out": "swap.mp4", "video_url": "refs/clip.mp4",
                          "image_url": "./refs/face.png", "keyframe_id": 48})
    proc = takes("check", "pixverse_swap", str(payload), cwd=tmp_path)  # cwd elsewhere
    assert proc.returncode == 0, proc.stderr
    data = result(proc)
    assert data["valid"] is True and data["errors"] == [] and data["warnings"] == []
    assert data["credits"] == {"min": 30, "max": 30}
    assert data["breakdown"] == "source 2.0 s ≤ 5 s: 30 cr"


def test_probe_dependent_limits_apply_through_the_cli(job: Path) -> None:
    payload = write(job, {"out": "swap.mp4", "video_url": "refs/clip.mp4",
                          "image_url": "refs/face.png", "keyframe_id": 49}, "kf.json")
    proc = takes("check", "pixverse_swap", str(payload))
    assert proc.returncode == 1
    data = result(proc)
    assert data["valid"] is False
    assert data["errors"] == [{"field": "keyframe_id", "message": "Keyframe 49 is past the end "
                               "of the source video (2.00 s × 24 = 48); pick 1–48"}]


def test_invalid_payload_exits_1_with_field_addressed_errors(job: Path) -> None:
    payload = write(job, {"out": "o.mp4", "prompt": "@Image3 walks",
                          "image_urls": ["refs/face.png", "refs/face.png", "big.png"],
                          "resolution": "1080p", "duration": 10}, "seed.json")
    proc = takes("check", "seedance_r2v", str(payload))
    assert proc.returncode == 1
    data = result(proc)
    assert data["errors"] == [{"field": "image_urls.2", "message": "Image 3 is 34.2 MB; this "
                               "model takes at most 30 MB per image"}]
    assert data["credits"] == {"min": 1362, "max": 1362}
    assert "10 s × 136.2 cr/s at 1080p" in data["breakdown"]


def test_warnings_do_not_make_a_payload_invalid(job: Path) -> None:
    payload = write(job, {"out": "o.mp4", "video_url": "long.mp4",
                          "image_url": "refs/face.png"}, "long.json")
    proc = takes("check", "pixverse_swap", str(payload))
    assert proc.returncode == 0
    data = result(proc)
    assert data["valid"] is True
    assert data["warnings"] == [{"field": "video_url", "message": "Source video is 10.5 s; this "
                                 "model works best under ~10 s"}]
    assert data["credits"] == {"min": 60, "max": 60}


def test_missing_media_file_is_a_field_error(job: Path) -> None:
    payload = write(job, {"out": "o.mp4", "prompt": "p", "video_url": "refs/nope.mp4"},
                    "missing.json")
    proc = takes("check", "wan_27_video_edit", str(payload))
    assert proc.returncode == 1
    assert result(proc)["errors"] == [{"field": "video_url",
                                       "message": "Source video could not be read: file not "
                                                  "found"}]


def test_http_urls_are_not_probed_and_make_the_price_a_range(job: Path) -> None:
    # 192.0.2.0/24 is reserved for documentation: probing it would hang or fail.
    payload = write(job, {"out": "o.mp4", "video_url": "http://192.0.2.1/clip.mp4",
                          "image_url": "https://192.0.2.1/face.png"}, "remote.json")
    proc = takes("check", "pixverse_swap", str(payload))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = result(proc)
    assert data["valid"] and data["warnings"] == []
    assert data["credits"] == {"min": 30, "max": 60}


def test_file_urls_are_local_files(job: Path) -> None:
    clip = (job / "refs" / "clip.mp4").as_uri()
    payload = write(job, {"out": "o.mp4", "video_url": clip, "upscale_factor": 4}, "uri.json")
    proc = takes("check", "topaz_upscale_video", str(payload))
    assert proc.returncode == 0
    assert result(proc)["credits"] == {"min": 8, "max": 8}  # 2 s × 4 cr/s (960 px)


def test_mock_costs_nothing(job: Path) -> None:
    payload = write(job, {"out": "o.mp4", "prompt": "p", "video_url": "refs/clip.mp4",
                          "mock": True}, "mock.json")
    proc = takes("check", "wan_27_video_edit", str(payload))
    assert proc.returncode == 0
    data = result(proc)
    assert data["credits"] == {"min": 0, "max": 0}
    assert data["breakdown"].startswith("mock: free placeholder render")


@pytest.mark.parametrize(("args", "content", "stderr"), [
    (["check", "sora_9"], {"out": "o.mp4"}, "takes check: unknown model 'sora_9'"),
    (["check", "wan_27_video_edit"], "{not json", "is not valid JSON"),
    (["check", "wan_27_video_edit"], b"\xff\xfe\x00garbage", "is not valid JSON"),
    (["check", "wan_27_video_edit"], ["a", "list"], "must hold a JSON object"),
    (["check", "wan_27_video_edit"], None, "takes check: cannot read"),
], ids=["unknown model", "bad json", "not utf-8", "not an object", "missing file"])
def test_usage_errors_exit_2_with_a_message(tmp_path: Path, args: list[str], content: Any,
                                            stderr: str) -> None:
    path = tmp_path / "payload.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_text(json.dumps(content))
    proc = takes(*args, str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert stderr in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_without_arguments_is_a_usage_error() -> None:
    proc = takes("check")
    assert proc.returncode == 2
    assert "usage" in proc.stderr


def test_takes_models_lists_the_catalog_as_json() -> None:
    proc = takes("models")
    assert proc.returncode == 0, proc.stderr
    models = json.loads(proc.stdout)
    by_id = {m["id"]: m for m in models}
    assert list(by_id) == ["seedance_r2v", "kling_v3_std_i2v", "kling_v3_pro_i2v",
                           "kling_o3_video_edit", "pixverse_swap", "wan_27_video_edit",
                           "topaz_upscale_video"]
    for m in models:
        assert {"id", "task", "price"} <= set(m)
        assert m["price"]["rule"]
    assert by_id["seedance_r2v"]["price"]["rates"] == {"480p": 135, "720p": 303,
                                                       "1080p": 681, "4k": 1555}
    assert by_id["kling_v3_std_i2v"]["price"] == {**by_id["kling_v3_std_i2v"]["price"],
                                                  "rule": "flat", "credits": 84}
    assert by_id["kling_v3_pro_i2v"]["price"]["audio_off"] == 22.4
    assert by_id["kling_v3_pro_i2v"]["price"]["audio_on"] == 33.6
    assert by_id["kling_o3_video_edit"]["price"]["credits"] == 126
    assert by_id["pixverse_swap"]["price"]["credits"] == 30
    assert by_id["wan_27_video_edit"]["price"]["credits"] == 100
    assert by_id["topaz_upscale_video"]["price"]["tiers"] == [[720, 2], [1080, 4], [None, 16]]
    assert by_id["seedance_r2v"]["wrapper_params"] == ["out", "mock", "format"]
    assert by_id["pixverse_swap"]["wrapper_params"] == ["out", "mock"]
    assert by_id["kling_o3_video_edit"]["mentions"] == ["@Video", "@Image", "@Element"]
