"""`takes schema FILE` and `takes check --schema FILE PAYLOAD` as a user runs them (a real
process, real files): the five real published schemas, payloads that pass and fail, local
media probed, and files that are not schemas refused with exit 2 and one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mediafactory as mf
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "catalog" / "schemas"
KLING = SCHEMAS / "fal-kling-video-v3-pro-image-to-video.json"
REAL = sorted(SCHEMAS.glob("*.json"))
EDITORS = {"dropdown", "slider", "spin", "toggle", "text", "prompt", "media", "media-list",
           "cards", "seed", "json"}


def takes(*args: str, cwd: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               XDG_DATA_HOME=str(tmp / "data"), XDG_CONFIG_HOME=str(tmp / "config"))
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=90, env=env)


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_schema_prints_the_fields_in_the_providers_order(tmp_path: Path, path: Path) -> None:
    proc = takes("schema", str(path), cwd=tmp_path, tmp=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    out = json.loads(proc.stdout)
    raw = json.loads(path.read_text())["models"][0]
    assert out["model"] == raw["endpoint_id"] and out["warnings"] == []
    (ref,) = [item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
              for item in raw["openapi"]["paths"].values() if "post" in item]
    declared = raw["openapi"]["components"]["schemas"][ref.split("/")[-1]]
    assert [f["name"] for f in out["fields"]] == declared["x-fal-order-properties"]
    assert all(f["editor"] in EDITORS and isinstance(f["required"], bool) for f in out["fields"])
    media = [f for f in out["fields"] if f["editor"] in ("media", "media-list")]
    assert media and all(f["media"]["kind"] in ("image", "video", "audio") for f in media)
    assert out["price"] == "price unknown until the provider charges"


def test_schema_of_kling_shows_limits_choices_ranges_and_cards(tmp_path: Path) -> None:
    proc = takes("schema", str(KLING), cwd=tmp_path, tmp=tmp_path)
    fields = {f["name"]: f for f in json.loads(proc.stdout)["fields"]}
    assert fields["start_image_url"]["media"] == {
        "kind": "image", "max_mb": 10.48576, "min_width": 300, "min_height": 300,
        "min_aspect": 0.4, "max_aspect": 2.5}
    assert fields["start_image_url"]["required"] is True
    assert fields["duration"]["choices"][:3] == ["3", "4", "5"]
    assert (fields["cfg_scale"]["editor"], fields["cfg_scale"]["range"]) == ("slider", [0, 1])
    assert fields["multi_prompt"]["editor"] == fields["elements"]["editor"] == "cards"
    assert [c["name"] for c in fields["elements"]["fields"]] == [
        "frontal_image_url", "reference_image_urls", "video_url", "voice_id"]
    assert fields["elements"]["mention"] == "@Element"


def test_check_with_schema_passes_a_valid_payload_and_says_the_price_is_unknown(
        tmp_path: Path) -> None:
    payload = write(tmp_path / "p.json", {"start_image_url": "https://m.example/s.png",
                                          "prompt": "a slow turn", "out": "take.mp4"})
    proc = takes("check", "--schema", str(KLING), str(payload), cwd=tmp_path, tmp=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    result = json.loads(proc.stdout)
    assert result["valid"] is True and result["errors"] == []
    assert result["credits"] is None and result["price_known"] is False
    assert result["needs_confirm"] is True
    assert result["breakdown"] == "price unknown until the provider charges"
    mock = write(tmp_path / "m.json", {**json.loads(payload.read_text()), "mock": True})
    free = json.loads(takes("check", "--schema", str(KLING), str(mock), cwd=tmp_path,
                            tmp=tmp_path).stdout)
    assert free["credits"] == {"min": 0, "max": 0} and free["needs_confirm"] is False


@pytest.mark.parametrize(("schema", "payload", "field"), [
    ("fal-kling-video-v3-pro-image-to-video.json",
     {"start_image_url": "https://m.example/s.png", "duration": "16"}, "duration"),
    ("fal-seedance-2.5-reference-to-video.json", {"prompt": "x", "resolution": "2k"},
     "resolution"),
    ("fal-wan-3.0-prime-image-to-video.json",
     {"start_image_url": "https://m.example/s.png", "seed": 2**31}, "seed"),
    ("fal-minimax-h3-max-image-to-video.json", {"prompt": "x"}, "prompt_expansion_mode"),
    ("fal-wan-v2.2-a14b-image-to-video.json",
     {"prompt": "x", "image_url": "https://m.example/i.png", "shift": 11}, "shift"),
])
def test_check_with_schema_fails_on_the_right_field(tmp_path: Path, schema: str,
                                                     payload: dict[str, Any],
                                                     field: str) -> None:
    path = write(tmp_path / "p.json", {**payload, "out": "o.mp4"})
    proc = takes("check", "--schema", str(SCHEMAS / schema), str(path), cwd=tmp_path,
                 tmp=tmp_path)
    assert proc.returncode == 1 and proc.stderr == ""
    assert [e["field"] for e in json.loads(proc.stdout)["errors"]] == [field]


def test_check_with_schema_probes_local_files_relative_to_the_payload(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    mf.image(folder / "tiny.png", 120, 90)
    mf.image(folder / "ok.png", 640, 480)
    payload = write(folder / "p.json", {"start_image_url": "tiny.png", "end_image_url": "ok.png",
                                        "prompt": "x", "out": "o.mp4"})
    proc = takes("check", "--schema", str(KLING), str(payload), cwd=tmp_path, tmp=tmp_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["errors"] == [{
        "field": "start_image_url",
        "message": "Start Image Url is 120×90; this model needs at least 300×300 px"}]


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: write(d / "list.json", [1, 2]), "this is a JSON list, not a schema"),
    (lambda d: (d / "t.json").write_text("not json") and d / "t.json", "not valid JSON"),
    (lambda d: (d / "n.json").write_bytes(b'{"type": "object"\x00}') and d / "n.json",
     "not valid JSON"),
    (lambda d: (d / "u.json").write_bytes(b'{"a": "\xff"}') and d / "u.json", "not UTF-8"),
    (lambda d: (d / "deep.json").write_text("[" * 100 + "]" * 100) and d / "deep.json",
     "nesting deeper than 64 levels"),
    (lambda d: (d / "big.json").write_text(" " * 5_000_001) and d / "big.json",
     "larger than 5,000,000 bytes"),
    (lambda d: d, "is a folder, not a regular file"),
    (lambda d: _fifo(d / "pipe.json"), "is a FIFO (named pipe), not a regular file"),
    (lambda d: d / "missing.json", "cannot open the file (No such file or directory)"),
    (lambda d: write(d / "x.json", {"openapi": "3.0.0", "paths": {}}), "has no POST operation"),
])
def test_files_that_are_not_schemas_exit_2_with_one_line(tmp_path: Path, make: Any,
                                                         message: str) -> None:
    target = make(tmp_path)
    for args in (["schema", str(target)],
                 ["check", "--schema", str(target), str(write(tmp_path / "p.json", {}))]):
        proc = takes(*args, cwd=tmp_path, tmp=tmp_path)
        assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
        assert proc.stderr.startswith(f"takes {args[0]}: {target}: ")
        assert message in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_check_with_schema_and_a_model_id_is_a_usage_error(tmp_path: Path) -> None:
    payload = write(tmp_path / "p.json", {"prompt": "x"})
    proc = takes("check", "--schema", str(KLING), "kling_v3_pro_i2v", str(payload),
                 cwd=tmp_path, tmp=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("takes check: with --schema FILE give one PAYLOAD file (and no model "
                           "id)\n")


def test_a_listing_of_several_models_needs_model(tmp_path: Path) -> None:
    raw = json.loads(KLING.read_text())
    entry = raw["models"][0]
    listing = write(tmp_path / "two.json", {"models": [entry, {**entry, "endpoint_id": "other"}]})
    payload = write(tmp_path / "p.json", {"start_image_url": "https://m.example/s.png",
                                          "out": "o.mp4"})
    proc = takes("schema", str(listing), cwd=tmp_path, tmp=tmp_path)
    assert proc.returncode == 2 and "holds 2 models: pick one with --model" in proc.stderr
    proc = takes("schema", str(listing), "--model", "other", cwd=tmp_path, tmp=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["model"] == "other"
    proc = takes("check", "--schema", str(listing), "--model", "other", str(payload),
                 cwd=tmp_path, tmp=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["model"] == "other"
    proc = takes("check", "--model", "other", "kling_v3_pro_i2v", str(payload), cwd=tmp_path,
                 tmp=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == ("takes check: --model needs --schema FILE (it names a model of that "
                           "file)\n")
