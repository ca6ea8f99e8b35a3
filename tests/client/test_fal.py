"""The fal provider against a local fake of fal's queue API (tests/falqueue.py).

The fake follows fal's published protocol, written from:
- https://docs.fal.ai/model-apis/model-endpoints/queue (submit → request_id and its
  status/response/cancel URLs; status IN_QUEUE with queue_position, IN_PROGRESS, COMPLETED;
  `?logs=`; 202 while not completed, 200 once it is; PUT …/cancel),
- https://docs.fal.ai/model-apis/authentication (`Authorization: Key <key>`),
- https://fal.ai/docs/api-reference/platform-apis/for-accounts (GET /v1/account/billing),
- the official client's source, github.com/fal-ai/fal
  `projects/fal_client/src/fal_client/client.py` (`AsyncClient.submit`, `AsyncRequestHandle`,
  `_BaseRequestHandle._parse_status`, `from_request_id`, `_upload_via_storage`,
  `_raise_for_status`, `_maybe_retry_request` and its RETRY_CODES).

`test_the_official_client_agrees_with_the_fake` drives the same fake with `fal-client` (its
base URLs pointed at loopback), so the fake is the protocol the official client speaks; the
other tests drive Takes' `FalClient` (httpx) and the job manager through it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mediafactory as mf
import pytest
from falqueue import FalQueue

from app.client import present
from app.client.errors import AuthError, ValidationFailed
from app.client.fal import FalClient
from app.client.manager import JobManager, PollPolicy
from app.client.models import ModelSet
from app.client.store import JobStore
from client.helpers import run, until

FAL_KEY = "fal-key-TEST-1b2c:3d4e5f"
MODEL = "fal_kling_v3_pro_i2v"
ENDPOINT = "fal-ai/kling-video/v3/pro/image-to-video"
POLL = PollPolicy(initial=0.05, factor=1.5, maximum=0.2, min_gap=0.0, resubmit_every=0.1)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fal-media")
    return {"result": mf.video(d / "result.mp4", 320, 240, 1.0, 12),
            "start": mf.image(d / "start.png", 640, 480)}


@pytest.fixture
def fal(files: dict[str, Path]):
    with FalQueue(FAL_KEY, files["result"], queue_s=0.3, run_s=0.3) as fq:
        yield fq


def _client(fq: FalQueue, key: str = FAL_KEY) -> FalClient:
    return FalClient(key, fq.url, backoff=0.05, backoff_cap=0.2, deadline_s=10)


async def _manager(fq: FalQueue, root: Path, key: str = FAL_KEY
                   ) -> tuple[FalClient, JobStore, JobManager]:
    client = _client(fq, key)
    store = JobStore(root / "jobs.sqlite3")
    manager = JobManager(client, store, root / "work", POLL, profile="fal")
    manager.models = ModelSet.from_listing(await client.models())
    return client, store, manager


def test_a_take_through_fal_upload_queue_result_download_cancel_mock_and_errors(
        fal, files, tmp_path):
    async def scenario() -> None:
        client, store, manager = await _manager(fal, tmp_path)
        try:
            assert (await client.account())["credits"] == 1234  # $12.34 in cents
            # a take with a local start image: uploaded to fal storage, sent once, followed
            # without logs, its result downloaded at once
            payload = {"prompt": "a slow pan over the harbour", "duration": "5",
                       "start_image_url": str(files["start"]), "out": "fal/harbour.mp4"}
            seen: list[tuple[str, object]] = []
            positions: list[tuple[str, object, str]] = []
            manager.subscribe(lambda r: seen.append((r.status, r.remote_id)))
            manager.subscribe(lambda r: positions.append(
                (r.status, r.queue_position, present.status_text(r))))
            rec = await manager.submit(MODEL, payload)
            assert rec.status == "queued" and rec.remote_id.startswith("fal-ai/kling-video:")
            done = await manager.wait(rec.id)
            assert done.status == "succeeded" and done.result_path
            assert Path(done.result_path).read_bytes() == files["result"].read_bytes()  # noqa: ASYNC240
            assert Path(done.result_path) == tmp_path / "work" / "fal" / "harbour.mp4"
            assert [s for s, _ in seen][:3] == ["pending", "sending", "queued"]
            assert seen[1][1] is None  # stored as sending before fal answered
            assert [h[0] for h in done.history] == \
                ["pending", "sending", "queued", "running", "succeeded"]
            from app.client.ledger import row_of

            assert row_of(done).note == "charged by the provider; the amount was not reported"
            assert ("queued", 2, "Queued · 2 ahead") in positions  # fal's queue_position
            assert done.queue_position is None  # out of the queue
            assert len(fal.seen.posts) == 1 and client.posts == 1
            sent = fal.seen.posts[0]
            assert sent.endpoint == ENDPOINT and sent.app == "fal-ai/kling-video"
            assert "out" not in sent.body and "mock" not in sent.body
            assert sent.body["start_image_url"].startswith(fal.cdn_url + "/files/")
            assert list(fal.seen.uploads.values()) == [files["start"].read_bytes()]
            assert fal.seen.status_logs and set(fal.seen.status_logs) == {"0"}
            # the key went to fal's API hosts only: never to the signed upload URL or the CDN
            assert fal.seen.put_auth == [None] and fal.seen.file_auth == [None]
            assert fal.seen.unauthorized == 0

            # cancel while it is queued: PUT …/cancel, canceled, nothing downloaded
            fal.queue_s = 30.0
            queued = await manager.submit(MODEL, {**payload, "out": "fal/cancel.mp4"})
            canceled = await manager.cancel(queued.id)
            assert canceled.status == "canceled" and fal.seen.cancels == 1
            assert not (tmp_path / "work" / "fal" / "cancel.mp4").exists()
            fal.queue_s = 0.3

            # fal's 422 names the field; the take fails (fal never queued it: not unknown)
            fal.required[ENDPOINT] = ["negative_prompt"]
            with pytest.raises(ValidationFailed) as e:
                await manager.submit(MODEL, {**payload, "out": "fal/bad.mp4"})
            assert "negative_prompt" in str(e.value) and "Field required" in str(e.value)
            bad = store.query(search="bad.mp4")[0]
            assert bad.status == "failed" and bad.error_code != "maybe_charged"
            fal.required.clear()

            # the built-in catalog's Kling form is not sent to fal: its fal form is the one
            posts = len(fal.seen.posts)
            with pytest.raises(ValidationFailed) as e:
                await manager.submit("kling_v3_pro_i2v", {
                    "prompt": "x", "start_image_url": str(files["start"]),
                    "out": "fal/curated.mp4"})
            assert "fal form" in str(e.value) and "Nothing was sent" in str(e.value)
            curated = store.query(search="curated.mp4")[0]
            assert curated.status == "failed" and len(fal.seen.posts) == posts
            # one whose fal schema could not be read (nothing shipped, fal's model API down)
            with pytest.raises(ValidationFailed) as e:
                await manager.submit("topaz_upscale_video", {
                    "video_url": "https://example.com/a.mp4", "out": "fal/topaz.mp4"})
            assert "fal-ai/topaz/upscale/video, which could not be read" in str(e.value)
            assert len(fal.seen.posts) == posts

            # mock: a local placeholder, no fal call, free
            posts = len(fal.seen.posts)
            mock = await manager.submit(MODEL, {**payload, "mock": True, "out": "fal/m.mp4"})
            mock = await manager.wait(mock.id)
            assert mock.status == "succeeded" and mock.mock and mock.credits_charged == 0
            assert Path(mock.result_path).stat().st_size > 1000  # noqa: ASYNC240
            assert len(fal.seen.posts) == posts and present.credits_text(mock) == "MOCK · free"
        finally:
            await manager.close()
            await client.close()
            store.close()

        # a key fal refuses: 401 on the balance and on the submit; the take failed, not unknown
        client, store, manager = await _manager(fal, tmp_path / "wrong", key="fal-wrong-key")
        try:
            with pytest.raises(AuthError):
                await client.account()
            with pytest.raises(AuthError):
                await manager.submit(MODEL, {"prompt": "x", "out": "w.mp4",
                                             "start_image_url": fal.cdn_url + "/files/x.png"})
            assert store.query()[0].status == "failed"
            assert fal.seen.unauthorized >= 2
        finally:
            await manager.close()
            await client.close()
            store.close()

    run(scenario(), timeout=60)


def test_the_official_client_agrees_with_the_fake(fal, files, monkeypatch):
    fal_client = pytest.importorskip("fal_client")
    import fal_client.client as impl

    monkeypatch.setattr(impl, "QUEUE_URL_FORMAT", fal.url + "/")
    monkeypatch.setattr(impl, "REST_URL", fal.url)

    async def scenario() -> None:
        client = fal_client.AsyncClient(key=FAL_KEY)
        try:
            handle = await client.submit(ENDPOINT, {"prompt": "hello"})
            assert handle.status_url == f"{fal.url}/fal-ai/kling-video/requests/" \
                f"{handle.request_id}/status"
            first = await handle.status()
            assert isinstance(first, fal_client.Queued) and first.position >= 0
            states = [type(s).__name__ async for s in handle.iter_events(interval=0.05)]
            assert "InProgress" in states
            final = await handle.status(with_logs=True)
            assert isinstance(final, fal_client.Completed) and final.logs == []
            result = await handle.get()
            assert result["video"]["url"].endswith("/files/result.mp4")
            assert result["video"]["file_size"] == files["result"].stat().st_size
            # the handle made again from the id alone (fal_client's from_request_id) works
            again = await client.status(ENDPOINT, handle.request_id)
            assert isinstance(again, fal_client.Completed)
            # cancel a queued one; a finished one is ALREADY_COMPLETED (400)
            with pytest.raises(fal_client.client.FalClientHTTPError) as e:
                await handle.cancel()
            assert e.value.status_code == 400
            fal.queue_s = 30.0
            other = await client.submit(ENDPOINT, {"prompt": "stop"})
            await other.cancel()
            assert fal.seen.cancels == 2 and fal.requests[other.request_id].canceled
            # storage upload (the documented initiate + PUT flow)
            url = await client.upload(b"\x89PNG fake", "image/png", "a.png", repository="fal")
            assert url.startswith(fal.cdn_url + "/files/") and url.endswith("a.png")
            # 422 validation and 401 come back as fal's errors
            fal.required[ENDPOINT] = ["start_image_url"]
            with pytest.raises(fal_client.client.FalClientHTTPError) as e:
                await client.submit(ENDPOINT, {"prompt": "x"})
            assert e.value.status_code == 422 and "start_image_url" in str(e.value)
            wrong = fal_client.AsyncClient(key="wrong")
            with pytest.raises(fal_client.client.FalClientHTTPError) as e:
                await wrong.submit(ENDPOINT, {"prompt": "x"})
            assert e.value.status_code == 401
            await (await wrong._client).aclose()
        finally:
            await (await client._client).aclose()
        assert len(fal.seen.posts) == 2  # the 422 and the 401 queued nothing

    run(scenario(), timeout=30)


SUBMITTER = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from app.client.fal import FalClient
    from app.client.manager import JobManager
    from app.client.models import ModelSet
    from app.client.store import JobStore

    async def main():
        url, key, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
        client = FalClient(key, url)
        manager = JobManager(client, JobStore(root / "jobs.sqlite3"), root / "work",
                             profile="fal")
        manager.models = ModelSet.from_listing(await client.models())
        await manager.submit("fal_kling_v3_pro_i2v", {
            "prompt": "killed mid-POST", "out": "killed.mp4",
            "start_image_url": sys.argv[4]})
        print("the POST was answered", flush=True)

    asyncio.run(main())
""")


def test_a_kill_between_fal_accepting_and_the_id_stored_is_unknown_never_resent(
        fal, tmp_path):
    fal.hold_posts.set()  # fal takes the request, the answer never gets back in time
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", SUBMITTER, fal.url, FAL_KEY,
                             str(tmp_path), fal.cdn_url + "/files/start.png"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert fal.post_arrived.wait(30), "the POST never reached the fake"
        time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert b"answered" not in out
    fal.release()
    assert len(fal.seen.posts) == 1
    store = JobStore(tmp_path / "jobs.sqlite3")
    (left,) = store.query()
    assert left.status == "sending" and left.remote_id is None

    async def resume() -> None:
        client, store2, manager = await _manager(fal, tmp_path)
        try:
            resumed = await manager.start()
            assert [r.id for r in resumed] == [left.id]
            await until(lambda: store2.get(left.id).status == "unknown", within=10)
            rec = store2.get(left.id)
            assert rec.error_code == "maybe_charged" and rec.finished
            await manager.resume(rec.id)  # asked again: still never re-sent by itself
            await asyncio.sleep(0.5)
            assert store2.get(left.id).status == "unknown"
            assert store2.unfinished(profile="fal") == []
            text = present.status_text(rec)
            assert text.startswith("Unknown — may have been charged")
            assert "dashboard" in text and "will not send it again" in text
            assert present.credits_text(rec).endswith("may be charged")
            from app.client.ledger import row_of

            assert "may have been charged" in row_of(rec).note
        finally:
            await manager.close()
            await client.close()
            store2.close()

    run(resume(), timeout=30)
    assert [r.body["prompt"] for r in fal.seen.posts] == ["killed mid-POST"]  # sent once
    store.close()


def test_profile_add_list_test_with_kind_fal(fal, tmp_path, monkeypatch, capsys):
    import io

    from app.cli import main

    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TAKES_API_KEY", raising=False)

    def add(key: str, *flags: str) -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(key + "\n"))
        return main(["profile", "add", "Fal", "--kind", "fal", "--url", fal.url,
                     "--key-stdin", "--plaintext-key-file", *flags])

    assert add("fal-wrong") == 1
    err = capsys.readouterr().err
    assert "fal refused the key (HTTP 401)" in err and "fal-wrong" not in err
    assert add(FAL_KEY, "--use", "--endpoint", "kling_v3_pro_i2v=fal-ai/kling-video/v9") == 0
    added = json.loads(capsys.readouterr().out)
    assert added["kind"] == "fal" and added["credits"] == 1234 and added["active"]
    assert added["endpoints"] == {"kling_v3_pro_i2v": "fal-ai/kling-video/v9"}
    assert "12.34 USD" in added["message"]
    assert main(["profile", "list"]) == 0
    table = capsys.readouterr().out
    assert f"fal:{fal.url}" in table and FAL_KEY not in table
    assert main(["profile", "test", "Fal"]) == 0
    tested = json.loads(capsys.readouterr().out)
    assert tested == {"name": "Fal", "kind": "fal", "ok": True, "credits": 1234,
                      "message": tested["message"]}
    # takes submit on the fal profile: a fal form, a relative start image (uploaded), the
    # unknown price refused without --yes (nothing sent), sent once with it
    (tmp_path / "refs").mkdir()
    mf.image(tmp_path / "refs" / "start.png", 640, 480)
    payload = tmp_path / "refs" / "take.json"
    payload.write_text(json.dumps({"prompt": "from the command line",
                                   "start_image_url": "start.png", "out": "cli.mp4"}))
    work = tmp_path / "work"
    from app.client.fal import load_schema

    # the override's schema is read live (the shipped copy is for the shipped endpoint)
    fal.schemas["fal-ai/kling-video/v9"] = load_schema(
        "fal-kling-video-v3-pro-image-to-video.json")
    fal.required["fal-ai/kling-video/v9"] = ["start_image_url"]
    assert main(["submit", MODEL, str(payload), "--workdir", str(work)]) == 3
    assert "unknown until the provider charges" in capsys.readouterr().err
    assert fal.seen.posts == []
    assert main(["submit", MODEL, str(payload), "--workdir", str(work), "--yes",
                 "--wait"]) == 0
    assert capsys.readouterr().out.strip().endswith(str(work / "cli.mp4"))
    assert (work / "cli.mp4").read_bytes() == fal.result.read_bytes()
    assert [r.endpoint for r in fal.seen.posts] == ["fal-ai/kling-video/v9"]  # its override
    assert list(fal.seen.uploads.values()) == [(tmp_path / "refs" / "start.png").read_bytes()]
    # sent without --wait, then followed and downloaded by `takes resume --wait`
    payload.write_text(json.dumps({"prompt": "later", "start_image_url": "start.png",
                                   "out": "cli2.mp4"}))
    assert main(["submit", MODEL, str(payload), "--workdir", str(work), "--yes"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "queued"
    assert main(["resume", "--wait", "--workdir", str(work)]) == 0
    capsys.readouterr()
    assert (work / "cli2.mp4").read_bytes() == fal.result.read_bytes()
    assert len(fal.seen.posts) == 2
    assert main(["profile", "add", "X", "--endpoint", "a=b/c", "--url", fal.url,
                 "--key-stdin"]) == 2
    assert "--kind fal" in capsys.readouterr().err
    # the profile's own endpoint wins over the shipped mapping, for its fal form too
    from app.client.connection import connect
    from app.client.profiles import Profiles

    conn = connect(Profiles(tmp_path / "data" / "profiles.json").get("Fal"))
    client = conn.client()
    try:
        assert isinstance(client, FalClient) and client.idempotent is False
        assert client.endpoint_for("kling_v3_pro_i2v") == "fal-ai/kling-video/v9"
        assert client.endpoint_for(MODEL) == "fal-ai/kling-video/v9"
        assert client.endpoint_for("topaz_upscale_video") == "fal-ai/topaz/upscale/video"
    finally:
        run(client.close())
    assert fal.seen.unauthorized == 1


def test_fal_forms_come_from_the_live_schema_else_the_shipped_copy(fal, tmp_path):
    seedance = "bytedance/seedance-2.5/reference-to-video"
    envelope = json.loads((Path(__file__).resolve().parents[1] / "catalog" / "schemas" /
                           "fal-seedance-2.5-reference-to-video.json").read_text())
    fal.schemas[seedance] = envelope

    async def scenario() -> None:
        from app.client.api import ApiClient
        from app.client.provider import Provider

        client = FalClient(FAL_KEY, fal.url, endpoints={"seedance_r2v": seedance})
        async with ApiClient(fal.url, "k") as api:  # both sides of the seam
            assert isinstance(api, Provider) and isinstance(client, Provider)
            assert api.idempotent and not client.idempotent
        try:
            listing = await client.models()
        finally:
            await client.close()
        ids = [m["id"] for m in listing["models"]]
        # the shipped Kling copy (its endpoint not reachable here) and the live Seedance one
        assert ids == ["fal_kling_v3_pro_i2v", "fal_seedance_r2v"]  # the mapping's order
        models = ModelSet.from_listing(listing)
        assert models.problems == ()
        assert models.get_imported("fal_seedance_r2v").schema == \
            next(m["schema"] for m in listing["models"] if m["id"] == "fal_seedance_r2v")
        assert client.endpoint_for("fal_seedance_r2v") == seedance
        assert all(m["source"].startswith("https://") for m in listing["models"])

    run(scenario(), timeout=30)


def test_an_answer_lost_after_sending_is_unknown_a_refused_connection_is_resent(fal, tmp_path):
    from client.helpers import free_port

    async def scenario() -> None:
        payload = {"prompt": "lost answer", "out": "lost.mp4",
                   "start_image_url": fal.cdn_url + "/files/start.png"}
        # fal took it, the answer timed out: unknown at once, never sent again
        fal.hold_posts.set()
        client = FalClient(FAL_KEY, fal.url, timeout=0.5, backoff=0.05, deadline_s=5)
        store = JobStore(tmp_path / "jobs.sqlite3")
        manager = JobManager(client, store, tmp_path / "work", POLL, profile="fal")
        manager.models = ModelSet.from_listing(await client.models())
        try:
            with pytest.raises(Exception) as e:
                await manager.submit(MODEL, payload)
            assert type(e.value).__name__ == "NetworkError"
            (rec,) = store.query()
            assert rec.status == "unknown" and rec.error_code == "maybe_charged"
            assert "may have been charged" in rec.error_message
            fal.release()
            await manager.resume(rec.id)
            await asyncio.sleep(0.3)
            assert len(fal.seen.posts) == 1 and store.get(rec.id).status == "unknown"
        finally:
            await manager.close()
            await client.close()
            store.close()
        # nothing listens: the POST never left, so the take waits as pending and is sent
        # (once) when fal answers again
        down = FalClient(FAL_KEY, f"http://127.0.0.1:{free_port()}", backoff=0.01,
                         backoff_cap=0.02, max_retries=2, deadline_s=2)
        store = JobStore(tmp_path / "jobs2.sqlite3")
        manager = JobManager(down, store, tmp_path / "work", POLL, profile="fal")
        manager.models = ModelSet.from_listing(await down.models())
        try:
            with pytest.raises(Exception) as e:
                await manager.submit(MODEL, {**payload, "out": "later.mp4"})
            assert type(e.value).__name__ == "NetworkError"
            (rec,) = store.query()
            assert rec.status == "pending" and "Not confirmed" in rec.error_message
            assert [h[0] for h in rec.history] == ["pending", "sending", "pending"]
            assert down.posts == 3  # tried, never reached: retried like a GET
        finally:
            await manager.close()
            await down.close()
            store.close()
        assert FAL_KEY.encode() not in (tmp_path / "jobs.sqlite3").read_bytes()

    run(scenario(), timeout=30)
