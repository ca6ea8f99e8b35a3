"""The fault report (`bench/faults.py --short`) shows zeros, and its counters can see faults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.client.store import JobRecord, JobStore

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import faults  # noqa: E402
import faults_store  # noqa: E402


def test_the_short_fault_report_is_all_zeros():
    """Client matrix, kill -9 of `takes submit` and of the real window, store kills: every
    scenario ran, its fault fired (or the kill landed inside its step), and nothing was lost,
    charged twice or left partial."""
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "faults.py"), "--short",
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, (proc.stdout, proc.stderr[-3000:])
    assert len(rows) == len(faults.MATRIX) + len(faults.SHORT_KILLS) + len(faults.SHORT_GUI) + 1
    for r in rows:
        assert r["runs"] >= 1 and (r["lost"], r["duplicates"], r["partial"],
                                   r["misfired"]) == (0, 0, 0, 0), r
    assert [r["runs"] for r in rows][-1] == 100
    table = proc.stdout.split("\n\n")[0].splitlines()
    assert table[0] == "| fault | runs | jobs lost | duplicate charges | partial files |"
    assert len(table) == 2 + len(rows)


def test_tally_counts_a_part_file_a_stray_file_and_a_second_charge(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    work = tmp_path / "work"
    work.mkdir()
    take = work / "take.mp4"
    take.write_bytes(b"x" * 10)
    rec = JobRecord.new("seedance_r2v", {"prompt": "p", "out": "take.mp4"})
    store.add(rec)
    store.update(rec.id, status="succeeded", result_path=str(take), credits_charged=108,
                 result={"size_bytes": 10})
    try:
        assert (faults.tally(store, work, 1, 108).lost, faults.tally(store, work, 1, 108)
                .duplicates) == (0, 0)
        assert faults.tally(store, work, 2, 216).duplicates == 2  # two jobs, twice the credits
        (work / ".takes-x.part").write_bytes(b"half")
        (work / "take-2.mp4").write_bytes(b"again")
        assert faults.tally(store, work, 1, 108).partial == 3  # the .part, two stray files
        take.write_bytes(b"short")
        assert faults.tally(store, work, 1, 108).lost == 1  # not the whole file
    finally:
        store.close()


def test_the_store_check_sees_half_written_rows_and_lost_writes(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    rec = JobRecord.new("seedance_r2v", {"prompt": "p", "out": "a.mp4"})
    rec.id = "a"
    store.add(rec)
    store.update("a", **faults_store._step_fields(3))
    store.set_wire("a", body=faults_store._wire_body(2), final_path="/w/a-1.mp4")  # torn
    store.close()
    integrity, found, bad, dup, unreadable = faults_store._actual(path)
    assert integrity == "ok" and bad == {"a"} and dup == 0 and unreadable == []
    assert found["a"] == faults_store.Row(k=3, wire=2)
    model = {"a": faults_store.Row(k=4, wire=2), "b": faults_store.Row()}
    assert faults_store._compare(model, found, None) == (2, 0)  # older than confirmed, gone
    # the write the kill cut may or may not have happened; no other write may be ahead
    confirmed = {"a": faults_store.Row(k=2, wire=2)}
    assert faults_store._compare(confirmed, found, ["upd", "a", "3"]) == (0, 0)
    assert faults_store._compare(confirmed, found, None) == (0, 1)
    assert faults_store._compare(confirmed, found, ["upd", "b", "1"]) == (0, 1)
