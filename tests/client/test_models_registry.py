"""ModelSet (curated + the models a server lists) and the job manager rendering an imported
model end to end against a real sandbox serving it from a schema file."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import mediafactory as mf
import pytest

from app.catalog import MODELS, UnknownModel
from app.catalog.importer import UnknownEstimate
from app.client.errors import ValidationFailed
from app.client.guard import Gate, Refused
from app.client.manager import JobManager
from app.client.models import CURATED, ModelSet, cache_path, load_cached, save_cached
from app.client.profiles import SANDBOX, Profile
from app.client.store import JobStore
from app.sandbox.extra import CREDITS_PER_SECOND
from app.sandbox.server import SandboxServer
from client.helpers import FAST, FAST_POLL, KEY, balance, fast_client, run, server_jobs

SCHEMAS = Path(__file__).resolve().parents[1] / "catalog" / "schemas"
KLING_FILE = "fal-kling-video-v3-pro-image-to-video.json"
KLING = "fal-ai/kling-video/v3/pro/image-to-video"


@pytest.fixture
def extra_sandbox(tmp_path: Path):
    d = tmp_path / "models"
    d.mkdir()
    shutil.copy(SCHEMAS / KLING_FILE, d / KLING_FILE)
    with SandboxServer(tmp_path / "sb", key=KEY, models_dir=d, **FAST) as sb:
        yield sb


async def _listing(sb: SandboxServer) -> dict:
    api = fast_client(sb.url)
    try:
        return await api.models()
    finally:
        await api.close()


def test_a_servers_listing_gives_the_curated_seven_plus_its_own(extra_sandbox):
    listing = run(_listing(extra_sandbox))
    models = ModelSet.from_listing(listing)
    assert [m.id for m in models.extra] == [KLING]
    assert models.knows(KLING) and models.knows("seedance_r2v") and not models.knows("nope")
    assert not CURATED.knows(KLING)
    assert models.name(KLING) == "Kling Video v3 Image to Video [Pro]"  # fal's display name
    assert models.name("seedance_r2v") == MODELS["seedance_r2v"].name
    with pytest.raises(UnknownModel):
        models.check_known("nope")
    # curated ids keep the catalog's answers
    est = models.estimate("seedance_r2v", {"prompt": "p", "duration": 4, "resolution": "480p",
                                           "generate_audio": False, "out": "a.mp4"})
    assert (est.min, est.max) == (108, 108)
    # an imported one: its media by path and label, its price unknown
    payload = {"prompt": "p", "start_image_url": "/tmp/a.png", "out": "a.mp4"}
    slots = models.media_values(KLING, payload)
    assert [(s.path, s.value, s.rule.kind, s.label) for s in slots] == \
        [("start_image_url", "/tmp/a.png", "image", "Start Image Url")]
    est = models.estimate(KLING, payload)
    assert isinstance(est, UnknownEstimate) and est.known is False
    report = models.validate(KLING, {"prompt": "p", "out": "a.mp4"})
    assert [(i.field, i.message) for i in report.errors] == \
        [("start_image_url", "Start Image Url is required")]


def test_entries_that_cannot_be_used_are_said_not_fatal(extra_sandbox):
    listing = run(_listing(extra_sandbox))
    kling = listing["models"][7]
    bad = {"id": "broken", "schema": {"type": "object", "properties": {}}}
    curated_again = {**kling, "id": "seedance_r2v"}  # skipped: the curated one is used
    models = ModelSet.from_listing({"models": [*listing["models"], kling, bad,
                                               curated_again]})
    assert [m.id for m in models.extra] == [KLING]
    assert len(models.problems) == 2
    assert models.problems[0].startswith("broken: the input schema has no properties")
    assert models.problems[1] == f"{KLING}: listed twice; the first is used"
    assert ModelSet.from_listing([1, 2]).problems == (
        'the model list is not {"models": [...]}',)


def test_the_cache_of_a_profiles_listing(tmp_path):
    assert load_cached(tmp_path, "Work") is None
    save_cached(tmp_path, "Work/../x", {"models": []})
    path = cache_path(tmp_path, "Work/../x")
    assert path.parent == tmp_path / "models" and path.name == "Work_.._x.json"
    assert load_cached(tmp_path, "Work/../x") == {"models": []}
    path.write_bytes(b"{not json")
    assert load_cached(tmp_path, "Work/../x") is None
    path.write_bytes(b"[" * 100 + b"]" * 100)
    assert load_cached(tmp_path, "Work/../x") is None
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def _manager(sb, root: Path, profile: Profile, models: ModelSet) -> JobManager:
    store = JobStore(root / "jobs.sqlite3")
    m = JobManager(fast_client(sb.url), store, root / "work", FAST_POLL, profile=profile.name,
                   gate=Gate(store, profile))
    m.models = models
    return m


async def _close(m: JobManager) -> None:
    await m.close()
    await m.client.close()
    m.store.close()


def test_the_manager_renders_an_imported_model_once_confirmed(extra_sandbox, tmp_path, media):
    models = ModelSet.from_listing(run(_listing(extra_sandbox)))
    payload = {"prompt": "a slow pan", "start_image_url": str(media["img_640x480"]),
               "duration": "3", "generate_audio": False, "out": "imported/pan.mp4"}

    async def main() -> None:
        m = _manager(extra_sandbox, tmp_path, SANDBOX, models)
        try:
            # the sandbox profile has no threshold, yet an unknown price is confirmed first
            with pytest.raises(Refused) as e:
                await m.submit(KLING, payload)
            assert e.value.verdict.needs_confirm and e.value.verdict.unknown
            assert "price of this render is unknown until the provider charges" in str(e.value)
            assert m.store.count() == 0 and await server_jobs(m.client) == []
            before = await balance(m.client)
            rec = await m.submit(KLING, payload, idempotency_key="intent-1", confirmed=True)
            assert rec.credits_estimated == 0 and rec.remote_id
            # the same intent again: the same take, no second job
            again = await m.submit(KLING, payload, idempotency_key="intent-1", confirmed=True)
            assert again.id == rec.id
            done = await m.wait(rec.id)
            assert done.status == "succeeded", done
            assert done.result_path and Path(done.result_path).parent.name == "imported"
            assert done.credits_charged == 3 * CREDITS_PER_SECOND  # known once charged
            assert await balance(m.client) == before - 3 * CREDITS_PER_SECOND
            jobs = await server_jobs(m.client)
            assert len(jobs) == 1 and jobs[0]["model"] == KLING
            # the local path went up as an upload; the stored payload keeps the path
            assert m.store.get(rec.id).payload["start_image_url"] == \
                str(media["img_640x480"])
            body, _ = m.store.wire(rec.id)
            assert json.loads(body)["start_image_url"].startswith(extra_sandbox.url)
            # the spend of the day counts what was charged
            assert m.gate.spent_today() == 3 * CREDITS_PER_SECOND
        finally:
            await _close(m)

    run(main())
    result = next((tmp_path / "work" / "imported").iterdir())
    assert result.suffix == ".mp4" and result.stat().st_size > 1000


def test_an_invalid_or_unknown_imported_take_is_refused_before_anything(extra_sandbox,
                                                                        tmp_path, media):
    models = ModelSet.from_listing(run(_listing(extra_sandbox)))

    async def main() -> None:
        m = _manager(extra_sandbox, tmp_path, SANDBOX, models)
        try:
            with pytest.raises(ValidationFailed) as e:
                await m.submit(KLING, {"prompt": "p", "out": "a.mp4"}, confirmed=True)
            assert [(f["field"], f["message"]) for f in e.value.fields] == \
                [("start_image_url", "Start Image Url is required")]
            # a file that is no image is caught by the probe, on its field
            text = mf.not_media(tmp_path / "notes.png")
            with pytest.raises(ValidationFailed) as e:
                await m.submit(KLING, {"prompt": "p", "start_image_url": str(text),
                                       "out": "a.mp4"}, confirmed=True)
            assert [f["field"] for f in e.value.fields] == ["start_image_url"]
            assert "could not be read" in e.value.fields[0]["message"]
            # a manager that never read the listing does not know the model
            m.models = CURATED
            with pytest.raises(ValidationFailed) as e:
                await m.submit(KLING, {"prompt": "p", "out": "a.mp4"}, confirmed=True)
            assert e.value.code == "unknown_model"
            assert m.store.count() == 0 and await server_jobs(m.client) == []
        finally:
            await _close(m)

    run(main())


def test_the_studio_reads_the_list_at_connect_and_keeps_the_last_one(tmp_path):
    """Read GET /v1/models on the core and cache it; a studio opened later starts from the
    cache (a take of an extra model resumes as meant), and a server that does not answer
    the list leaves the cached models with the reason said."""
    from app.client.connection import Connection
    from app.client.studio import Studio

    d = tmp_path / "models"
    d.mkdir()
    shutil.copy(SCHEMAS / KLING_FILE, d / KLING_FILE)
    data = tmp_path / "data"
    profile = Profile("Work", "api", "http://unused", confirm_above=0, daily_cap=0)

    async def read(studio: Studio) -> ModelSet:
        try:
            return await studio.load_models()
        finally:
            await studio.close()

    with SandboxServer(tmp_path / "sb", key=KEY, models_dir=d, **FAST) as sb:
        studio = Studio.from_connection(Connection(profile, sb.url, KEY), data)
        assert studio.models is CURATED  # nothing cached yet
        models = asyncio.run(read(studio))
        assert [m.id for m in models.extra] == [KLING] and studio.models_error is None
        assert cache_path(data, "Work").is_file()
    # the same profile's server without the extra model, and its list refused
    with SandboxServer(tmp_path / "sb2", key=KEY, **FAST) as sb:
        sb.set_faults(status=503, paths="GET /v1/models", count=-1)
        studio = Studio.from_connection(Connection(profile, sb.url, KEY), data,
                                        client_options={"max_retries": 0})
        assert [m.id for m in studio.models.extra] == [KLING]  # read from the cache at open
        models = asyncio.run(read(studio))
        assert [m.id for m in models.extra] == [KLING]
        assert studio.models_error is not None
        assert studio.models_error.startswith("The model list could not be read")
    # a server that answers again is believed: its list replaces the cache
    with SandboxServer(tmp_path / "sb3", key=KEY, **FAST) as sb:
        studio = Studio.from_connection(Connection(profile, sb.url, KEY), data)
        models = asyncio.run(read(studio))
        assert models.extra == [] and studio.models_error is None
        assert json.loads(cache_path(data, "Work").read_text())["models"][-1]["id"] == \
            "topaz_upscale_video"


def test_a_take_of_an_extra_model_resumed_at_start_is_sent_as_meant(tmp_path, media):
    """Its upload failed (the server did not answer); the next studio on the same data knows
    the model from the cached list before anything is read, so resuming sends the take."""
    from app.client.connection import Connection
    from app.client.errors import ServerError
    from app.client.studio import Studio

    d = tmp_path / "models"
    d.mkdir()
    shutil.copy(SCHEMAS / KLING_FILE, d / KLING_FILE)
    data = tmp_path / "data"
    payload = {"prompt": "p", "start_image_url": str(media["img_640x480"]), "duration": "3",
               "out": "resumed.mp4"}

    async def first(studio: Studio, sb: SandboxServer) -> str:
        try:
            await studio.load_models()
            sb.set_faults(status=503, paths="POST /v1/uploads")  # the upload is not answered
            with pytest.raises(ServerError):
                await studio.run(studio.manager.submit(KLING, payload, confirmed=True))
            [rec] = await studio.read(studio.store.all_takes)
            assert rec.status == "pending" and studio.store.wire(rec.id)[0] is None
            return rec.id
        finally:
            await studio.close()

    async def second(studio: Studio, take: str) -> None:
        try:
            resumed = await studio.run(studio.manager.start())
            assert [r.id for r in resumed] == [take]
            done = await studio.run(studio.manager.wait(take))
            assert done.status == "succeeded" and done.result_path, done
            assert done.credits_charged == 3 * CREDITS_PER_SECOND
        finally:
            await studio.close()

    with SandboxServer(tmp_path / "sb", key=KEY, models_dir=d, **FAST) as sb:
        conn = Connection(SANDBOX, sb.url, KEY)
        studio = Studio.from_connection(conn, data, poll=FAST_POLL,
                                        client_options={"max_retries": 0})
        take = asyncio.run(first(studio, sb))
        again = Studio.from_connection(Connection(SANDBOX, sb.url, KEY), data, poll=FAST_POLL)
        assert again.models.knows(KLING)  # from the cache, nothing read from the server yet
        asyncio.run(second(again, take))
        assert len(sb.store.list_jobs(None, 10, None)) == 1  # sent once
