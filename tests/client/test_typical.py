"""Typical run times (app/client/typical.py): learned from the store's last successes, kept
up to date by takes that succeed, each counted once."""

from __future__ import annotations

from app.client.store import JobRecord, JobStore
from app.client.typical import TypicalTimes, read_run_times

T0 = "2026-01-01T10:00:00Z"


def _at(seconds: int) -> str:
    return f"2026-01-01T10:{seconds // 60:02d}:{seconds % 60:02d}Z"


def _done(model: str, seconds: int, status: str = "succeeded", created: int = 0) -> JobRecord:
    return JobRecord.new(model, {"prompt": "p", "out": "x.mp4"}, status=status,
                         started_at=T0, finished_at=_at(seconds), created_at=1000 + created)


def test_read_from_the_store_median_of_the_last_successes(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    try:
        for i, s in enumerate((10, 20, 30, 400)):
            store.add(_done("seedance_r2v", s, created=i))
        store.add(_done("seedance_r2v", 900, status="failed", created=9))  # not a success
        store.add(_done("wan_27_video_edit", 40))
        times = read_run_times(store, ["seedance_r2v", "wan_27_video_edit", "kling_v3_std_i2v"],
                               sample=3)
    finally:
        store.close()
    assert sorted(times["seedance_r2v"]) == [20.0, 30.0, 400.0]  # the newest three
    assert times["wan_27_video_edit"] == [40.0]
    assert times["kling_v3_std_i2v"] == []
    typical = TypicalTimes(sample=3)
    typical.load(times)
    assert typical.get("seedance_r2v") == 30.0
    assert typical.get("wan_27_video_edit") == 40.0
    assert typical.get("kling_v3_std_i2v") is None
    assert typical.get("unknown") is None


def test_learns_each_success_once_and_keeps_the_sample():
    typical = TypicalTimes(sample=3)
    typical.load({"seedance_r2v": [100.0, 100.0, 100.0]})
    fast = _done("seedance_r2v", 10)
    assert typical.learn(fast)
    assert not typical.learn(fast)  # the same take again (a later update): not twice
    assert typical.times("seedance_r2v") == [10.0, 100.0, 100.0]
    assert typical.learn(_done("seedance_r2v", 12))
    assert typical.get("seedance_r2v") == 12.0  # median of 12, 10, 100
    assert not typical.learn(_done("seedance_r2v", 5, status="failed"))
    unfinished = JobRecord.new("seedance_r2v", {"prompt": "p"}, status="succeeded")
    assert not typical.learn(unfinished)  # no start/finish times: nothing to learn
    assert typical.times("seedance_r2v") == [12.0, 10.0, 100.0]
