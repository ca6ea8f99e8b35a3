"""The work folder: its default under the user's Videos folder, and the `out` pattern
({task} {model} {date} {time} {n}) expanded before the out check, never overwriting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from app.catalog import validate_payload
from app.catalog.wrapper import expand_out, has_tokens, out_pattern_problem, out_problem
from app.client.store import JobRecord, JobStore
from app.client.workfolder import default_work_dir, expand_payload_out

WHEN = datetime(2026, 12, 3, 14, 5, 9)


def test_the_default_is_a_takes_folder_in_videos(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_VIDEOS_DIR", str(tmp_path / "Vids"))
    assert default_work_dir() == tmp_path / "Vids" / "Takes"
    assert not (tmp_path / "Vids").exists()  # naming it creates nothing


def test_tokens_expand_to_safe_names():
    out = expand_out("{task}/{model}-{date}_{time}.mp4", task="animate",
                     model="kling_v3_std_i2v", when=WHEN)
    assert out == "animate/kling_v3_std_i2v-2026-12-03_14-05-09.mp4"
    assert out_problem(out) is None
    # a value that would add a folder, a drive or a control character becomes one safe part
    assert expand_out("{task}.mp4", task="../a\\b:c\x00", model="m", when=WHEN) == \
        "a-b-c.mp4"
    assert expand_out("{model}.mp4", task="t", model="", when=WHEN) == "take.mp4"
    assert has_tokens("x-{n}.mp4") and not has_tokens("plain.mp4")
    assert not has_tokens("{odd}.mp4") and not has_tokens(None)
    assert out_pattern_problem("{nope}.mp4").startswith("Output path: '{nope}' is not a token")
    with pytest.raises(ValueError, match="is not a token"):
        expand_out("{Task}.mp4", task="t", model="m", when=WHEN)


def test_n_counts_past_files_and_stored_takes(tmp_path):
    work = tmp_path / "work"
    (work / "shots").mkdir(parents=True)
    (work / "shots" / "create-1.mp4").write_bytes(b"x")
    store = JobStore(tmp_path / "j.sqlite3")
    store.add(JobRecord.new("seedance_r2v", {"out": "shots/create-2.mp4"}))  # not saved yet
    try:
        payload = {"prompt": "p", "out": "shots/{task}-{n}.mp4"}
        got = expand_payload_out("seedance_r2v", payload, work, store=store, when=WHEN)
        assert got["out"] == "shots/create-3.mp4" and payload["out"] == "shots/{task}-{n}.mp4"
        assert expand_payload_out("seedance_r2v", payload, work, when=WHEN)["out"] == \
            "shots/create-2.mp4"
        plain = {"prompt": "p", "out": "shots/create-1.mp4"}
        assert expand_payload_out("seedance_r2v", plain, work, store=store) is plain
        with pytest.raises(ValueError, match="not a token"):
            expand_payload_out("seedance_r2v", {"out": "{when}.mp4"}, work)
    finally:
        store.close()


def test_the_expanded_out_still_meets_the_out_rules(tmp_path):
    """Expansion first, then the usual check: a pattern that expands to a bad name is refused
    with the usual message (here: no .mp4 suffix; a part over 255 bytes)."""
    bad = expand_payload_out("seedance_r2v", {"prompt": "p", "out": "{date}.mov"},
                             Path(tmp_path), when=WHEN)
    report = validate_payload("seedance_r2v", {"prompt": "p", "duration": 4, **bad}, {})
    assert any(i.field == "out" and ".mp4" in i.message for i in report.errors)
    long = expand_out("{model}" * 20 + ".mp4", task="t", model="kling_v3_std_i2v", when=WHEN)
    assert "255 bytes" in (out_problem(long) or "")


def test_a_work_folder_that_cannot_be_made_falls_back_to_the_data_folder(tmp_path, caplog):
    from app.client.connection import start_sandbox
    from app.client.studio import Studio

    blocker = tmp_path / "Videos"
    blocker.write_text("a file where the folder should be")
    data = tmp_path / "data"
    with start_sandbox(data / "sandbox") as conn:
        studio = Studio.from_connection(conn, data, work_dir=blocker / "Takes")
        try:
            assert studio.download_dir == data / "work" and studio.download_dir.is_dir()
            assert "cannot be used" in caplog.text
        finally:
            import asyncio

            asyncio.run(studio.close(keep_connection=True))
