"""Extra models from schema files: listed in GET /v1/models, validated by their schema,
rendered as placeholders, charged; a folder that is not usable is refused in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import av
import httpx
import pytest

from app.catalog.importer import extra_models
from app.sandbox.extra import CREDITS_PER_SECOND, ExtraModelError, load_models_dir
from app.sandbox.server import SandboxServer
from sandbox.helpers import FAST, api_client, balance, download, upload, wait

SCHEMAS = Path(__file__).resolve().parents[1] / "catalog" / "schemas"
KLING = "fal-kling-video-v3-pro-image-to-video.json"
KLING_ID = "fal-ai/kling-video/v3/pro/image-to-video"
WAN = "fal-wan-v2.2-a14b-image-to-video.json"
ROOT = Path(__file__).resolve().parents[2]

BARE = {"title": "Input", "type": "object", "required": ["prompt"], "properties": {
    "prompt": {"type": "string", "maxLength": 200},
    "duration": {"type": "integer", "minimum": 1, "maximum": 8, "default": 3},
    "aspect_ratio": {"type": "string", "enum": ["16:9", "1:1"], "default": "1:1"}}}


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    shutil.copy(SCHEMAS / KLING, d / KLING)
    (d / "tiny-text.json").write_text(json.dumps(BARE))
    return d


@pytest.fixture
def extra_sandbox(tmp_path: Path, models_dir: Path):
    with SandboxServer(tmp_path / "sb", models_dir=models_dir, **FAST) as sb:
        yield sb


def _post(c: httpx.Client, model: str, body: dict, key: str) -> httpx.Response:
    return c.post(f"/v1/jobs/{quote(model, safe='')}", json=body,
                  headers={"Idempotency-Key": key})


def test_listed_after_the_curated_seven_with_their_schema_and_no_price(extra_sandbox):
    with api_client(extra_sandbox) as c:
        listing = c.get("/v1/models").json()
    ids = [m["id"] for m in listing["models"]]
    assert len(ids) == 9
    assert ids[7:] == [KLING_ID, "tiny-text"]  # the document's id, else the file's stem
    entry = listing["models"][7]
    assert entry["price"] is None and entry["task"] == "imported"
    # the client imports them from the listing alone, with their media fields and order
    found, problems = extra_models(listing)
    assert problems == []
    kling = {m.id: m for m in found}[KLING_ID]
    assert [f.name for f in kling.fields][:3] == ["prompt", "multi_prompt", "start_image_url"]
    start = kling.field("start_image_url")
    assert start is not None and start.media is not None and start.media.kind == "image"
    assert start.required


def test_a_job_of_an_extra_model_renders_a_placeholder_and_is_charged(extra_sandbox, media,
                                                                      tmp_path):
    with api_client(extra_sandbox) as c:
        before = balance(c)
        url = upload(c, media["img_640x480"])
        body = {"start_image_url": url, "prompt": "a slow pan", "duration": "4",
                "generate_audio": False, "out": "k.mp4"}
        r = _post(c, KLING_ID, body, "one")
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["model"] == KLING_ID
        assert job["credits_charged"] == 4 * CREDITS_PER_SECOND
        # the same key and body: the same job, no second charge
        again = _post(c, KLING_ID, body, "one")
        assert again.json()["id"] == job["id"]
        assert again.headers.get("Idempotent-Replayed") == "true"
        done = wait(c, job["id"])
        assert done["status"] == "succeeded", done
        assert balance(c) == before - 4 * CREDITS_PER_SECOND
        out = download(c, done["result"]["url"], tmp_path / "k.mp4")
    with av.open(str(out)) as f:
        v = f.streams.video[0]
        assert (v.width, v.height) == (320, 240)  # the start image's 4:3, short side 240
        assert not f.streams.audio  # generate_audio false
        assert abs(float(f.duration / 1_000_000) - 4.0) < 0.2


def test_a_bare_schema_model_takes_its_aspect_ratio_and_a_mock_is_free(extra_sandbox):
    with api_client(extra_sandbox) as c:
        before = balance(c)
        r = _post(c, "tiny-text", {"prompt": "x", "aspect_ratio": "16:9", "duration": 2,
                                   "out": "t.mp4", "mock": True}, "m")
        assert r.status_code == 202, r.text
        assert r.json()["credits_charged"] == 0 and r.json()["mock"] is True
        done = wait(c, r.json()["id"])
        assert done["status"] == "succeeded"
        assert (done["result"]["width"], done["result"]["height"]) == (426, 240)
        assert done["result"]["duration_s"] == pytest.approx(2.0, abs=0.1)
        assert balance(c) == before


def test_an_invalid_body_fails_on_its_field_and_nothing_is_charged(extra_sandbox, media):
    with api_client(extra_sandbox) as c:
        before = balance(c)
        r = _post(c, KLING_ID, {"prompt": "p", "out": "a.mp4"}, "a")
        assert r.status_code == 422
        fields = {f["field"]: f["message"] for f in r.json()["error"]["fields"]}
        assert fields == {"start_image_url": "Start Image Url is required"}
        r = _post(c, "tiny-text", {"prompt": "p", "duration": 99, "out": "a.mp4"}, "b")
        assert r.status_code == 422
        assert [f["field"] for f in r.json()["error"]["fields"]] == ["duration"]
        assert "maximum is 8" in r.json()["error"]["fields"][0]["message"]
        # a local path is not a URL this server can read
        r = _post(c, KLING_ID, {"prompt": "p", "start_image_url": str(media["img_640x480"]),
                                "out": "a.mp4"}, "c")
        assert r.status_code == 422
        assert r.json()["error"]["fields"][0]["field"] == "start_image_url"
        assert "upload the file" in r.json()["error"]["fields"][0]["message"]
        # an id the server does not serve
        r = _post(c, "not-served", {"prompt": "p"}, "d")
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_model"
        assert _post(c, "fal-ai/not-served", {"prompt": "p"}, "e").status_code == 404
        assert balance(c) == before


def test_a_plain_sandbox_lists_only_the_curated_seven(tmp_path):
    with SandboxServer(tmp_path / "sb", **FAST) as sb, api_client(sb) as c:
        assert len(c.get("/v1/models").json()["models"]) == 7


def test_folders_that_cannot_be_served_are_refused_naming_the_file(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    with pytest.raises(ExtraModelError, match="is not a folder"):
        load_models_dir(tmp_path / "missing")
    (d / "list.json").write_text("[1, 2]")
    with pytest.raises(ExtraModelError, match=r"^list\.json: this is a JSON list"):
        load_models_dir(d)
    (d / "list.json").unlink()
    (d / "seedance_r2v.json").write_text(json.dumps(BARE))  # a curated id
    with pytest.raises(ExtraModelError, match="'seedance_r2v' is taken"):
        load_models_dir(d)
    (d / "seedance_r2v.json").unlink()
    (d / "bad id.json").write_text(json.dumps(BARE))
    with pytest.raises(ExtraModelError, match="cannot be a route"):
        load_models_dir(d)
    (d / "bad id.json").unlink()
    shutil.copy(SCHEMAS / KLING, d / "a.json")
    shutil.copy(SCHEMAS / KLING, d / "b.json")
    with pytest.raises(ExtraModelError, match=r"^b\.json: the model id .* is taken"):
        load_models_dir(d)
    (d / "b.json").unlink()
    shutil.copy(SCHEMAS / WAN, d / "b.json")
    assert len(load_models_dir(d).models) == 2


def test_takes_sandbox_models_dir_serves_them_and_a_bad_folder_is_one_line(tmp_path,
                                                                          models_dir):
    from sandbox.test_cli import _start

    proc, url, key = _start("--data", str(tmp_path / "d"), "--models-dir", str(models_dir))
    try:
        r = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert [m["id"] for m in r.json()["models"]][7:] == [KLING_ID, "tiny-text"]
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    (models_dir / "broken.json").write_text("{oops")
    run = subprocess.run([sys.executable, "-m", "app", "sandbox", "--data",
                          str(tmp_path / "d2"), "--models-dir", str(models_dir)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr.startswith("takes sandbox: --models-dir: broken.json: not valid JSON")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_an_extra_models_larger_file_limit_raises_the_upload_limit(tmp_path):
    from app.sandbox.server import largest_upload_limit

    d = tmp_path / "m"
    d.mkdir()
    (d / "big.json").write_text(json.dumps({"type": "object", "properties": {"video_url": {
        "type": "string", "format": "uri", "x-fal": {"max_file_size": 2_000_000_000}}}}))
    assert SandboxServer(tmp_path / "a").max_upload_bytes == largest_upload_limit()
    assert largest_upload_limit() < 2_000_000_000
    assert SandboxServer(tmp_path / "b", models_dir=d).max_upload_bytes == 2_000_000_000
