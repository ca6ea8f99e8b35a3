"""The job store: round trips, history, filters, resumable rows, speed at 10,000 rows."""

from __future__ import annotations

import sqlite3
import time

import pytest

from app.client.store import SCHEMA_VERSION, JobRecord, JobStore


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path / "jobs.sqlite3")
    yield s
    s.close()


def test_round_trip_keeps_every_field(store):
    rec = JobRecord.new("kling_v3_pro_i2v", {"start_image_url": "/tmp/a b.png", "prompt": "é",
                                             "out": "x.mp4", "mock": True},
                        credits_estimated=168, parent_id="p1")
    store.add(rec)
    got = store.get(rec.id)
    assert got == rec
    assert got.mock is True and got.status == "pending" and got.history[0][0] == "pending"
    assert store.get("nope") is None


def test_update_appends_status_history_and_persists(tmp_path):
    path = tmp_path / "j.sqlite3"
    s = JobStore(path)
    rec = s.add(JobRecord.new("wan_27_video_edit", {"prompt": "p", "out": "o.mp4"}))
    s.update(rec.id, status="queued", remote_id="job_1")
    s.update(rec.id, progress=0.5)
    out = s.update(rec.id, status="succeeded", result={"url": "/v1/files/x.mp4"},
                   result_path="/w/o.mp4", credits_charged=100)
    assert [h[0] for h in out.history] == ["pending", "queued", "succeeded"]
    s.close()
    again = JobStore(path)
    assert again.get(rec.id) == out
    assert again.by_remote_id("job_1").id == rec.id
    with pytest.raises(ValueError, match="unknown status"):
        again.update(rec.id, status="exploded")
    with pytest.raises(ValueError):
        again.update(rec.id, bogus=1)
    again.close()


def test_wal_mode_and_no_key_column(store):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = {r[1] for r in db.execute("PRAGMA table_info(jobs)")}
    assert not any("key" in c and c != "idempotency_key" for c in cols)
    db.close()


def test_query_filters_newest_first_and_count(store):
    t0 = 1_700_000_000.0
    for i in range(6):
        store.add(JobRecord.new("seedance_r2v" if i % 2 else "wan_27_video_edit",
                                {"prompt": f"take {i} {'red_fox' if i == 3 else 'red fox'} 50%",
                                 "out": f"o{i}.mp4"}, created_at=t0 + i,
                                favourite=i in (1, 4)))
    ids = [r.payload["out"] for r in store.query()]
    assert ids == [f"o{i}.mp4" for i in range(5, -1, -1)]
    assert [r.payload["out"] for r in store.query(search="red_fox")] == ["o3.mp4"]
    assert store.count(search="d_f") == 1  # LIKE wildcards are escaped: 'red fox' ≠ 'd_f'
    assert store.count(search="RED FOX") == 5  # case-insensitive
    assert store.count(search="50%") == 6
    assert store.count(model_id="seedance_r2v") == 3
    assert store.count(favourite=True) == 2
    assert store.count(since=t0 + 4) == 2
    assert [r.payload["out"] for r in store.query(limit=2, offset=1)] == ["o4.mp4", "o3.mp4"]
    first = store.query()[0]
    store.update(first.id, status="failed")
    assert store.count(status="failed") == 1
    assert store.count(status=["failed", "pending"]) == 6


def test_unfinished_and_delete(store):
    a = store.add(JobRecord.new("wan_27_video_edit", {"out": "a.mp4"}))
    b = store.add(JobRecord.new("wan_27_video_edit", {"out": "b.mp4"}))
    c = store.add(JobRecord.new("wan_27_video_edit", {"out": "c.mp4"}))
    d = store.add(JobRecord.new("wan_27_video_edit", {"out": "d.mp4"}))
    store.update(b.id, status="succeeded", result={"url": "u"})  # not downloaded yet
    store.update(c.id, status="succeeded", result={"url": "u"}, result_path="/x/c.mp4")
    store.update(d.id, status="failed")
    assert {r.id for r in store.unfinished()} == {a.id, b.id}
    store.delete(a.id, keep_row=True)
    assert store.get(a.id).deleted is True
    assert store.count() == 3 and a.id not in {r.id for r in store.unfinished()}
    store.delete(b.id)
    assert store.get(b.id) is None


def test_wire_side_table(store):
    rec = store.add(JobRecord.new("wan_27_video_edit", {"out": "a.mp4"}))
    assert store.wire(rec.id) == (None, None)
    store.set_wire(rec.id, body=b'{"a":1}')
    store.set_wire(rec.id, final_path="/w/a.mp4")
    assert store.wire(rec.id) == (b'{"a":1}', "/w/a.mp4")


def test_fast_at_ten_thousand_rows(store):
    rows = [JobRecord.new("seedance_r2v" if i % 3 else "kling_v3_pro_i2v",
                          {"prompt": f"shot number {i} of a lighthouse", "out": f"o{i}.mp4"},
                          created_at=1e9 + i, favourite=i % 50 == 0)
            for i in range(10_000)]
    with store._lock:  # bulk insert in one transaction to keep the setup quick
        store._db.execute("BEGIN")
        for r in rows:
            store.add(r)
        store._db.execute("COMMIT")
    t = time.perf_counter()
    page = store.query(limit=100)
    n = store.count()
    fav = store.query(favourite=True, limit=100)
    found = store.query(search="number 9999 ")
    by_model = store.count(model_id="kling_v3_pro_i2v")
    store.update(rows[5000].id, status="running")
    unfinished = store.unfinished()
    elapsed = time.perf_counter() - t
    assert len(page) == 100 and page[0].payload["out"] == "o9999.mp4"
    assert n == 10_000 and len(fav) == 100 and by_model == 3334
    assert [r.payload["out"] for r in found] == ["o9999.mp4"]
    assert len(unfinished) == 10_000
    assert elapsed < 1.5, elapsed


def test_a_store_written_by_the_previous_code_opens_and_migrates(tmp_path):
    import sqlite3

    from app.client import store as store_module

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(store_module._SCHEMA)  # the first release's schema, user_version 0
    old.execute("INSERT INTO jobs (id, model_id, payload, idempotency_key, status, created_at)"
                " VALUES ('a', 'seedance_r2v', '{}', 'k', 'running', 1)")
    old.execute("INSERT INTO job_wire (id, body) VALUES ('a', x'7b7d')")
    old.commit()
    old.close()
    s = JobStore(path)
    try:
        assert s._db.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
        assert s.get("a").status == "running" and s.wire("a") == (b"{}", None)
        assert s.claim("a", "me", 30) and not s.claim("a", "other", 30)
        assert s.claimer("a") == "me"
        s.release("me")
        assert s.claim("a", "other", 30)
    finally:
        s.close()


#: the store as schema version 1 wrote it (before profiles), spelled out so that later
#: changes to the code's schema cannot make this test agree with itself
_V1 = """
CREATE TABLE jobs (id TEXT PRIMARY KEY, model_id TEXT NOT NULL, payload TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '', idempotency_key TEXT NOT NULL UNIQUE, remote_id TEXT,
    status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, error_code TEXT,
    error_message TEXT, credits_estimated INTEGER NOT NULL DEFAULT 0, credits_charged INTEGER,
    mock INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, submitted_at REAL,
    started_at REAL, finished_at REAL, result_path TEXT, result TEXT,
    favourite INTEGER NOT NULL DEFAULT 0, parent_id TEXT, history TEXT NOT NULL DEFAULT '[]',
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE job_wire (id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE, body BLOB,
    final_path TEXT, claimed_by TEXT, claim_until REAL);
PRAGMA user_version = 1;
"""


def test_a_store_of_the_previous_schema_is_migrated_and_every_take_found(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_V1)
    statuses = ["succeeded", "failed", "running", "pending", "canceled"]
    for i in range(25):
        db.execute("INSERT INTO jobs (id, model_id, payload, prompt, idempotency_key, status, "
                   "credits_estimated, credits_charged, created_at, history, deleted) VALUES "
                   "(?, 'seedance_r2v', ?, ?, ?, ?, 108, ?, ?, '[[\"pending\", 1.0]]', ?)",
                   (f"t{i}", f'{{"prompt": "take {i}", "out": "t{i}.mp4"}}', f"take {i}",
                    f"k{i}", statuses[i % 5], 108 if i % 5 == 0 else None, 1000.0 + i,
                    int(i == 24)))
    db.execute("INSERT INTO job_wire (id, body) VALUES ('t2', x'7b7d')")
    db.commit()
    db.close()

    s = JobStore(path)
    try:
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == \
            SCHEMA_VERSION
        assert s.count() == 24 and s.count(profile="Sandbox") == 24
        assert s.count(profile="Work") == 0
        assert len(s.all_takes()) == 25  # the deleted one too (the ledger's view)
        got = s.get("t7")
        assert got.profile == "Sandbox" and got.prompt.startswith("take 7")
        assert got.credits_estimated_min is None and got.credits_refunded == 0
        assert s.wire("t2") == (b"{}", None)
        assert {r.id for r in s.unfinished()} == {f"t{i}" for i in range(25)
                                                 if i % 5 in (2, 3) and i != 24}
        assert s.unfinished(profile="Work") == []
        # new takes of another profile are kept apart
        work = s.add(JobRecord.new("seedance_r2v", {"prompt": "new", "out": "n.mp4"},
                                   profile="Work"))
        assert [r.id for r in s.query(profile="Work")] == [work.id]
        assert [r.id for r in s.unfinished(profile="Work")] == [work.id]
        assert s.count(profile="Sandbox") == 24 and s.count() == 25
        assert s.uses_out("n.mp4") and s.uses_out("t3.mp4") and not s.uses_out("zz.mp4")
    finally:
        s.close()
    again = JobStore(path)  # opening twice migrates once
    assert again.count() == 25
    again.close()


def test_a_charge_that_goes_down_is_a_refund(store):
    rec = store.add(JobRecord.new("seedance_r2v", {"out": "x.mp4"}, credits_estimated=108))
    store.update(rec.id, status="queued", credits_charged=108)
    store.update(rec.id, status="running", credits_charged=108)
    out = store.update(rec.id, status="canceled", credits_charged=0)
    assert (out.credits_charged, out.credits_refunded) == (0, 108)
    assert store.get(rec.id).credits_refunded == 108
    never = store.add(JobRecord.new("seedance_r2v", {"out": "y.mp4"}, credits_estimated=108))
    out = store.update(never.id, status="failed", error_code="insufficient_credits")
    assert (out.credits_charged, out.credits_refunded) == (None, 0)
