"""The sandbox's calls of shared/API.md against a real server on loopback."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.sandbox.server import SandboxServer
from sandbox.helpers import api_client, balance, submit, upload, wait

CHEAP = {"prompt": "a test", "duration": 4, "resolution": "480p", "out": "a.mp4"}  # 108 cr


def job_count(sb: SandboxServer) -> int:
    return len(sb.store.list_jobs(None, 1000, None))


# ---- auth -------------------------------------------------------------------------------

CALLS = [
    ("GET", "/v1/account"), ("GET", "/v1/models"), ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/job_x"), ("POST", "/v1/jobs/seedance_r2v"),
    ("POST", "/v1/jobs/job_x/cancel"), ("POST", "/v1/uploads"), ("GET", "/v1/files/x.mp4"),
    ("POST", "/v1/_test/faults"), ("GET", "/openapi.json"), ("GET", "/v1/nothing"),
]


@pytest.mark.parametrize("auth", [None, "Bearer wrong-key", "Basic abc", "Bearer"])
def test_every_call_needs_the_key(sandbox: SandboxServer, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    with httpx.Client(base_url=sandbox.url, headers=headers) as anon:
        answers = [anon.request(method, path, json=CHEAP) for method, path in CALLS]
    for (method, path), r in zip(CALLS, answers, strict=True):
        assert r.status_code == 401, (method, path)
        assert r.json()["error"]["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert sandbox.key not in r.text
    assert job_count(sandbox) == 0


def test_the_key_is_in_no_response_repr_log_or_file(
        sandbox: SandboxServer, client: httpx.Client, media: dict[str, Path], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.set_faults(responses=[{"status": 503, "count": 1}, {"drop": 0.5, "count": 1}])
    client.get("/v1/account")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/v1/models")
    url = upload(client, media["img_640x480"])
    job = submit(client, "kling_v3_std_i2v", {"start_image_url": url, "prompt": "x",
                                              "out": "a.mp4"}, key="k").json()
    texts = [client.get(p).text for p in ("/v1/account", "/v1/models", "/v1/jobs",
                                          f"/v1/jobs/{job['id']}", "/openapi.json")]
    texts += [repr(sandbox), str(wait(client, job["id"]))]
    assert all(sandbox.key not in t for t in texts)
    assert caplog.records and sandbox.key not in caplog.text
    for f in (tmp_path / "sandbox").glob("sandbox.sqlite3*"):
        assert sandbox.key.encode() not in f.read_bytes()


# ---- account, models, jobs ----------------------------------------------------------------


def test_models_lists_the_catalog(client: httpx.Client) -> None:
    models = client.get("/v1/models").json()["models"]
    ids = {m["id"] for m in models}
    assert ids == {"seedance_r2v", "kling_v3_std_i2v", "kling_v3_pro_i2v",
                   "kling_o3_video_edit", "pixverse_swap", "wan_27_video_edit",
                   "topaz_upscale_video"}
    for m in models:
        assert m["schema"]["type"] == "object" and m["schema"]["properties"]
        assert m["price"]["rule"]
    seedance = next(m for m in models if m["id"] == "seedance_r2v")
    assert seedance["price"]["rates"]["720p"] == 303


def test_openapi_documents_the_calls_and_model_schemas(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    models = [m["id"] for m in client.get("/v1/models").json()["models"]]
    for path in ("/v1/uploads", "/v1/jobs/{job_id}", "/v1/jobs", "/v1/jobs/{job_id}/cancel",
                 "/v1/account", "/v1/models", "/v1/files/{name}",
                 *(f"/v1/jobs/{m}" for m in models)):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    assert "KlingShot" in schemas  # nested models resolve inside the document
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for model in models:  # each model's body: its params plus the wrapper params
        op = doc["paths"][f"/v1/jobs/{model}"]["post"]
        body = op["requestBody"]["content"]["application/json"]["schema"]
        assert body["additionalProperties"] is False
        assert {"out", "mock", "webhook_url"} <= set(body["properties"])
        assert body["required"][-1] == "out" or "out" in body["required"]
        assert ("format" in body["properties"]) == (model == "seedance_r2v")
        assert {"202", "401", "402", "409", "413", "415", "422"} <= set(op["responses"])
        assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
    seedance = doc["paths"]["/v1/jobs/seedance_r2v"]["post"]["requestBody"]
    props = seedance["content"]["application/json"]["schema"]["properties"]
    assert props["duration"]  # the catalog's own field
    assert props["format"]["enum"] == ["shorts", "reels", "horizontal"]  # null is refused
    expected = {("/v1/jobs/{job_id}", "get"): {"200", "404", "422"},  # 422: a bad ?wait=
                ("/v1/jobs", "get"): {"200", "422"},
                ("/v1/jobs/{job_id}/cancel", "post"): {"200", "404", "409"},
                ("/v1/files/{name}", "get"): {"200", "206", "404", "416"},
                ("/v1/uploads", "post"): {"201", "400", "413", "415", "422"}}
    for (path, method), codes in expected.items():
        responses = doc["paths"][path][method]["responses"]
        assert codes | {"401", "429", "503"} == set(responses), (path, method)
        for code in codes - {"200", "201", "206"}:
            ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ErrorBody"
    assert "HTTPValidationError" not in str(doc)  # this API's 422 is ErrorBody


def test_a_body_the_schema_accepts_is_accepted(client: httpx.Client) -> None:
    """The wrapper params are in the schema: the smallest schema-valid body renders."""
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/v1/jobs/seedance_r2v"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    body = {"prompt": "a cat", "out": "cat.mp4", "mock": True, "format": "horizontal"}
    assert set(body) <= set(schema["properties"]) and set(schema["required"]) <= set(body)
    r = submit(client, "seedance_r2v", body)
    assert r.status_code == 202, r.text
    job = wait(client, r.json()["id"])
    assert job["result"]["width"] > job["result"]["height"]  # horizontal → 16:9


def test_job_object_fields_and_lifecycle(client: httpx.Client) -> None:
    r = submit(client, "seedance_r2v", CHEAP)
    assert r.status_code == 202
    job = r.json()
    assert set(job) == {"id", "model", "status", "progress", "credits_charged", "mock",
                        "created_at", "started_at", "finished_at", "error", "result"}
    assert job["status"] == "queued" and job["progress"] == 0
    assert job["credits_charged"] == 108 and job["mock"] is False
    seen = {job["status"]}
    progress = []
    while job["status"] in ("queued", "running"):
        job = client.get(f"/v1/jobs/{job['id']}").json()
        seen.add(job["status"])
        if job["status"] == "running":
            progress.append(job["progress"])
        time.sleep(0.02)
    assert seen == {"queued", "running", "succeeded"}
    assert progress == sorted(progress) and 0 <= progress[0] < 1
    assert job["error"] is None and job["result"]["url"].endswith(".mp4")
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]


def test_out_of_credits_is_402_and_charges_nothing(tmp_path: Path) -> None:
    with SandboxServer(tmp_path, credits=100, render_seconds=0.1) as sb, api_client(sb) as c:
        r = submit(c, "seedance_r2v", CHEAP)
        assert r.status_code == 402
        assert r.json()["error"]["code"] == "insufficient_credits"
        assert "108" in r.json()["error"]["message"]
        assert balance(c) == 100 and job_count(sb) == 0
        r = submit(c, "seedance_r2v", {**CHEAP, "mock": True})  # mock is free
        assert r.status_code == 202 and r.json()["credits_charged"] == 0
        assert balance(c) == 100


def test_field_errors_are_422_with_fields(client: httpx.Client, media: dict[str, Path],
                                          sandbox: SandboxServer) -> None:
    small = upload(client, media["img_200x200"])
    r = submit(client, "kling_v3_std_i2v", {"start_image_url": small, "prompt": "x",
                                            "duration": "99", "cfg_scale": 3, "out": "/abs.mp4"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_failed"
    fields = {f["field"]: f["message"] for f in err["fields"]}
    assert set(fields) == {"start_image_url", "duration", "cfg_scale", "out"}
    assert "300" in fields["start_image_url"]  # the media limit, checked by probing
    r = submit(client, "seedance_r2v", {"prompt": "x", "image_urls": ["/home/me/a.png"],
                                        "out": "a.mp4"})
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["image_urls.0"]
    r = submit(client, "seedance_r2v", {"out": "a.mp4", "bogus": 1})
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"prompt", "bogus"}
    r = client.post("/v1/jobs/seedance_r2v", content=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_json"
    r = client.post("/v1/jobs/seedance_r2v", content=json.dumps(CHEAP))  # no content type
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = submit(client, "no_such_model", CHEAP)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_model"
    assert job_count(sandbox) == 0 and balance(client) == 10_000


def test_remote_urls_are_accepted_unprobed(client: httpx.Client) -> None:
    r = submit(client, "pixverse_swap", {"video_url": "https://example.com/v.mp4",
                                         "image_url": "https://example.com/i.png",
                                         "out": "a.mp4"})
    assert r.status_code == 202, r.text
    assert r.json()["credits_charged"] == 60  # the unknown length → the range's top
    assert wait(client, r.json()["id"])["status"] == "succeeded"


def test_a_result_can_be_the_next_input(client: httpx.Client, media: dict[str, Path]) -> None:
    first = wait(client, submit(client, "seedance_r2v", {**CHEAP, "mock": True}).json()["id"])
    r = submit(client, "topaz_upscale_video", {"video_url": first["result"]["url"],
                                               "upscale_factor": 2, "out": "b.mp4"})
    assert r.status_code == 202, r.text
    done = wait(client, r.json()["id"])
    res = done["result"]
    assert (res["width"], res["height"]) == (first["result"]["width"] * 2,
                                             first["result"]["height"] * 2)
    assert done["credits_charged"] == 4 * 2  # 4 s × 2 cr/s (output short side 480 ≤ 720)


# ---- idempotency ----------------------------------------------------------------------------


def test_same_key_same_body_is_one_job_and_one_charge(client: httpx.Client,
                                                      sandbox: SandboxServer) -> None:
    a = submit(client, "seedance_r2v", CHEAP, key="take-1")
    b = submit(client, "seedance_r2v", CHEAP, key="take-1")
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] == b.json()["id"]
    assert b.headers["Idempotent-Replayed"] == "true"
    assert balance(client) == 10_000 - 108
    assert job_count(sandbox) == 1
    c = submit(client, "seedance_r2v", {**CHEAP, "prompt": "another"}, key="take-1")
    assert c.status_code == 409 and c.json()["error"]["code"] == "idempotency_conflict"
    d = submit(client, "kling_v3_std_i2v", CHEAP, key="take-1")  # another model: 409 too
    assert d.status_code == 409
    assert balance(client) == 10_000 - 108 and job_count(sandbox) == 1
    e = submit(client, "seedance_r2v", CHEAP, key="take-2")
    assert e.json()["id"] != a.json()["id"] and balance(client) == 10_000 - 216


def test_concurrent_retries_with_one_key_make_one_job(client: httpx.Client,
                                                      sandbox: SandboxServer) -> None:
    ids: list[str] = []

    def post() -> None:
        with api_client(sandbox) as c:
            ids.append(submit(c, "seedance_r2v", CHEAP, key="race").json()["id"])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    assert balance(client) == 10_000 - 108 and job_count(sandbox) == 1


def test_an_invalid_request_does_not_burn_its_key(client: httpx.Client) -> None:
    bad = submit(client, "seedance_r2v", {"out": "a.mp4"}, key="k")
    assert bad.status_code == 422
    assert submit(client, "seedance_r2v", CHEAP, key="k").status_code == 202
    assert submit(client, "seedance_r2v", CHEAP, key="x" * 256).status_code == 422


# ---- cancel, timeout ------------------------------------------------------------------------


def test_cancel_refunds(tmp_path: Path) -> None:
    with SandboxServer(tmp_path, render_seconds=5) as sb, api_client(sb) as c:
        job = submit(c, "seedance_r2v", CHEAP).json()
        assert balance(c) == 10_000 - 108
        wait(c, job["id"], until=("running",))
        r = c.post(f"/v1/jobs/{job['id']}/cancel")
        assert r.status_code == 200
        assert r.json()["status"] == "canceled" and r.json()["credits_charged"] == 0
        assert r.json()["finished_at"] and r.json()["result"] is None
        assert balance(c) == 10_000
        again = c.post(f"/v1/jobs/{job['id']}/cancel")
        assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancelable"
        assert balance(c) == 10_000
        time.sleep(0.3)
        assert c.get(f"/v1/jobs/{job['id']}").json()["status"] == "canceled"
        assert c.post("/v1/jobs/job_nope/cancel").status_code == 404


def test_a_finished_job_cannot_be_canceled(client: httpx.Client) -> None:
    job = wait(client, submit(client, "seedance_r2v", CHEAP).json()["id"])
    r = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert r.status_code == 409 and balance(client) == 10_000 - 108


def test_unfinished_at_the_timeout_is_timed_out_and_refunded(tmp_path: Path) -> None:
    with SandboxServer(tmp_path, render_seconds=30, job_timeout_s=0.8) as sb, \
            api_client(sb) as c:
        job = submit(c, "seedance_r2v", CHEAP).json()
        start = time.monotonic()
        done = wait(c, job["id"], timeout=10)
        assert done["status"] == "timed_out"
        assert 0.7 < time.monotonic() - start < 5
        assert done["error"]["code"] == "timeout" and done["result"] is None
        assert done["credits_charged"] == 0 and balance(c) == 10_000


# ---- persistence --------------------------------------------------------------------------


def test_state_survives_a_restart(tmp_path: Path, media: dict[str, Path]) -> None:
    with SandboxServer(tmp_path, render_seconds=1.5) as sb, api_client(sb) as c:
        url = upload(c, media["img_640x480"])
        done = wait(c, submit(c, "seedance_r2v", CHEAP, key="k-done").json()["id"])
        pending = submit(c, "seedance_r2v", {**CHEAP, "prompt": "later"}, key="k-late").json()
        wait(c, pending["id"], until=("running",))
    # stopped mid-run; a new server (new port, new key) on the same data
    with SandboxServer(tmp_path, render_seconds=1.5, credits=5) as sb, api_client(sb) as c:
        assert balance(c) == 10_000 - 216  # the balance, not the new --credits
        finished = wait(c, pending["id"])
        assert finished["status"] == "succeeded"
        assert finished["result"]["url"].startswith(sb.url)
        assert c.get(finished["result"]["url"]).status_code == 200
        assert c.get(f"/v1/jobs/{done['id']}").json()["status"] == "succeeded"
        replay = submit(c, "seedance_r2v", CHEAP, key="k-done")
        assert replay.json()["id"] == done["id"]
        assert submit(c, "seedance_r2v", {**CHEAP, "prompt": "x"}, key="k-done"
                      ).status_code == 409
        # an upload URL from the old port still names the stored file
        r = submit(c, "kling_v3_std_i2v", {"start_image_url": url, "prompt": "x",
                                           "out": "a.mp4"})
        assert r.status_code == 202, r.text
        assert balance(c) == 10_000 - 216 - 84
        assert len(sb.store.ledger()) == 3


def test_the_same_server_restarts_on_its_port(tmp_path: Path) -> None:
    sb = SandboxServer(tmp_path, render_seconds=0.1)
    url = sb.start()
    sb.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/account")
    try:
        assert sb.start() == url
        with api_client(sb) as c:
            assert balance(c) == 10_000
    finally:
        sb.stop()


def test_stop_is_prompt_with_renders_in_flight_and_restart_finishes_them(
        tmp_path: Path) -> None:
    with SandboxServer(tmp_path, render_seconds=0.1) as sb, api_client(sb) as c:
        ids = [submit(c, "seedance_r2v", {**CHEAP, "duration": 15, "prompt": f"n{i}"}
                      ).json()["id"] for i in range(6)]
        t = time.monotonic()
    assert time.monotonic() - t < 3
    with SandboxServer(tmp_path, render_seconds=0.1) as sb, api_client(sb) as c:
        assert {wait(c, i)["status"] for i in ids} == {"succeeded"}
        assert len(sb.store.ledger()) == 6  # charged once each, across the restart


# ---- listing ------------------------------------------------------------------------------


def test_list_jobs_newest_first_with_cursor_and_status(client: httpx.Client) -> None:
    ids = [submit(client, "seedance_r2v", {**CHEAP, "mock": True, "prompt": f"n{i}"}).json()["id"]
           for i in range(5)]
    client.post(f"/v1/jobs/{ids[1]}/cancel")
    page = client.get("/v1/jobs", params={"limit": 2}).json()
    assert [j["id"] for j in page["jobs"]] == [ids[4], ids[3]]
    page2 = client.get("/v1/jobs", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [j["id"] for j in page2["jobs"]] == [ids[2], ids[1]]
    page3 = client.get("/v1/jobs", params={"limit": 2, "cursor": page2["next_cursor"]}).json()
    assert [j["id"] for j in page3["jobs"]] == [ids[0]] and page3["next_cursor"] is None
    canceled = client.get("/v1/jobs", params={"status": "canceled"}).json()["jobs"]
    assert [j["id"] for j in canceled] == [ids[1]]
    assert client.get("/v1/jobs", params={"status": "bogus"}).status_code == 422
    assert client.get("/v1/jobs", params={"limit": 0}).status_code == 422
    assert client.get("/v1/jobs/job_nope").status_code == 404


# ---- uploads and files ----------------------------------------------------------------------


def test_uploads_refuse_what_is_not_media(client: httpx.Client, media: dict[str, Path],
                                          sandbox: SandboxServer) -> None:
    with open(media["text"], "rb") as fh:
        r = client.post("/v1/uploads", files={"file": ("clip.mp4", fh)})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media"
    r = client.post("/v1/uploads", data={"x": "1"})  # a urlencoded form: not multipart
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = client.post("/v1/uploads", data={"x": "1"}, files={"other": ("", b"")})
    assert r.status_code == 422
    with open(media["img_640x480"], "rb") as a, open(media["img_480x640"], "rb") as b:
        r = client.post("/v1/uploads", files=[("file", ("a.png", a)), ("file", ("b.jpg", b))])
    assert r.status_code in (400, 422)
    assert not list(sandbox.files_dir.iterdir())  # nothing kept


def test_upload_stores_and_serves_the_file(client: httpx.Client, media: dict[str, Path]) -> None:
    with open(media["vid_320x240_3s"], "rb") as fh:
        r = client.post("/v1/uploads", files={"file": ("v.mp4", fh)})
    body = r.json()
    assert r.status_code == 201
    assert (body["kind"], body["format"], body["width"], body["height"]) == \
        ("video", "mp4", 320, 240)
    assert body["duration_s"] == pytest.approx(3.0, abs=0.1)
    assert client.get(body["url"]).content == media["vid_320x240_3s"].read_bytes()


def test_upload_over_the_largest_limit_is_413(tmp_path: Path, media: dict[str, Path]) -> None:
    with SandboxServer(tmp_path, max_upload_bytes=20_000) as sb, api_client(sb) as c:
        big = media["vid_720p_3s_audio"]
        assert big.stat().st_size > 40_000
        with open(big, "rb") as fh:
            r = c.post("/v1/uploads", files={"file": ("v.mp4", fh)})
        assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
        assert not list(sb.files_dir.iterdir())
    with SandboxServer(tmp_path / "default") as sb:
        assert sb.max_upload_bytes == 200_000_000  # the catalog's largest limit (200 MB)


def test_range_downloads(client: httpx.Client) -> None:
    job = wait(client, submit(client, "seedance_r2v", {**CHEAP, "mock": True}).json()["id"])
    url = job["result"]["url"]
    full = client.get(url)
    data = full.content
    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes"
    assert len(data) == job["result"]["size_bytes"] == int(full.headers["Content-Length"])
    r = client.get(url, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    r = client.get(url, headers={"Range": f"bytes={len(data) - 10}-"})
    assert r.status_code == 206 and r.content == data[-10:]
    r = client.get(url, headers={"Range": "bytes=-5"})
    assert r.content == data[-5:]
    r = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"
    r = client.get(url, headers={"Range": "bytes=0-1,5-6"})  # several ranges: ignored
    assert r.status_code == 200 and r.content == data
    r = client.head(url, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.headers["Content-Length"] == "10" and not r.content
    assert client.get("/v1/files/nope.mp4").status_code == 404
    assert client.get("/v1/files/..%2Fsandbox.sqlite3").status_code == 404


# ---- webhook --------------------------------------------------------------------------------


def test_webhook_gets_the_finished_job(client: httpx.Client) -> None:
    got: list[dict[str, Any]] = []
    arrived = threading.Event()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            arrived.set()

        def log_message(self, *args: Any) -> None:
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{hook.server_address[1]}/done"
        r = submit(client, "seedance_r2v", {**CHEAP, "webhook_url": url})
        assert r.status_code == 202, r.text
        assert arrived.wait(20)
        assert got[0]["id"] == r.json()["id"] and got[0]["status"] == "succeeded"
        assert got[0]["result"]["url"].endswith(".mp4")
    finally:
        hook.shutdown()
        hook.server_close()
    bad = submit(client, "seedance_r2v", {**CHEAP, "webhook_url": "ftp://x"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "webhook_url"
