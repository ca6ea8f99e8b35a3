"""Sweeps: expansion, validation and totals against `takes check`, seeds, hostile input, the
batch guard-rails, and `takes sweep` sending against a real sandbox (one intent, one take per
cell, a rerun sends nothing more; cells the cap refuses while sending are held, unsent)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.catalog import MODELS
from app.catalog.pricing import Estimate
from app.cli import main
from app.client.guard import Gate
from app.client.manager import JobManager
from app.client.profiles import Profile
from app.client.store import JobStore
from app.client.sweep import (
    SweepError,
    catalog_checker,
    cell_estimate,
    expand,
    field_kinds,
    parse_vary,
)
from app.client.sweep_cli import send_cells
from app.client.sweeps import SweepBook
from client.helpers import FAST_POLL, KEY, START_CREDITS, fast_client, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TAKES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_VIDEOS_DIR", str(tmp_path / "Videos"))
    monkeypatch.delenv("TAKES_API_KEY", raising=False)
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps({"prompt": "a lighthouse at dusk", "out": "light.mp4"}))
    return tmp_path, payload


def _check(model: str, payload: dict, folder: Path, capsys) -> dict:
    f = folder / "cell.json"
    f.write_text(json.dumps(payload))
    main(["check", model, str(f)])
    return json.loads(capsys.readouterr().out)


def test_dry_run_cells_are_takes_check_and_the_total_is_the_valid_cells(env, capsys):
    tmp_path, payload = env
    rc = main(["sweep", "seedance_r2v", str(payload), "--vary", "resolution=480p,720p",
               "--vary", "duration=5,20", "--dry-run"])
    out, err = capsys.readouterr()
    assert rc == 1  # a cell is invalid, as `takes check` says of an invalid payload
    result = json.loads(out)
    assert set(result) == {"takes", "credits"}
    cells = result["takes"]
    assert [c["vary"] for c in cells] == [
        {"resolution": "480p", "duration": 5}, {"resolution": "480p", "duration": 20},
        {"resolution": "720p", "duration": 5}, {"resolution": "720p", "duration": 20}]
    assert all(set(c) == {"vary", "payload", "valid", "errors", "credits"} for c in cells)
    assert [c["valid"] for c in cells] == [True, False, True, False]
    assert cells[1]["errors"] == [{"field": "duration",
                                   "message": "Duration must be auto or 4–15 s, not 20 s"}]
    # each cell's own output file; each cell is what `takes check` says of its payload
    assert len({c["payload"]["out"] for c in cells}) == 4
    total = [0, 0]
    for c in cells:
        checked = _check("seedance_r2v", c["payload"], tmp_path, capsys)
        assert checked["valid"] == c["valid"] and checked["errors"] == c["errors"]
        assert checked["credits"] == c["credits"]
        if checked["valid"]:
            total = [total[0] + checked["credits"]["min"], total[1] + checked["credits"]["max"]]
    assert result["credits"] == {"min": total[0], "max": total[1]} and total[0] > 0
    assert "has no seed: every take is new" in err and "2 invalid cells" in err

    # the real command, as a user runs it: N takes of one cell, a range price summed
    proc = subprocess.run([sys.executable, "-m", "app", "sweep", "seedance_r2v", str(payload),
                           "--takes", "3", "--dry-run"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={**_env(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    three = json.loads(proc.stdout)
    one = _check("seedance_r2v", three["takes"][0]["payload"], tmp_path, capsys)["credits"]
    assert one["min"] < one["max"]  # duration auto: a range
    assert three["credits"] == {"min": 3 * one["min"], "max": 3 * one["max"]}
    assert [c["vary"] for c in three["takes"]] == [{}, {}, {}]


def _env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "TAKES_DATA_DIR": str(tmp_path / "data"),
            "XDG_VIDEOS_DIR": str(tmp_path / "Videos"), "QT_QPA_PLATFORM": "offscreen"}


def test_seeds_where_the_model_has_one_and_field_kinds(tmp_path):
    kinds = field_kinds(MODELS["wan_27_video_edit"].json_schema())
    assert kinds["seed"].kind == "seed" and kinds["resolution"].choices == ("720p", "1080p")
    assert kinds["duration"].kind == "integer" and kinds["duration"].maximum == 10
    assert "video_url" not in kinds  # media is not swept
    base = {"prompt": "make it snow", "video_url": "https://example.com/v.mp4", "seed": 41,
            "out": "snow.mp4"}
    sweep = expand("wan_27_video_edit", base, [parse_vary(kinds, "resolution=720p,1080p")], 3,
                   kinds, catalog_checker("wan_27_video_edit", tmp_path))
    assert len(sweep.cells) == 6
    assert [c.payload["seed"] for c in sweep.cells] == [41, 42, 43, 41, 42, 43]
    assert "distinct seeds (seed 41–43)" in sweep.seeds
    assert sweep.cells[4].label(3) == "resolution 1080p · take 2"
    assert sweep.cells[4].payload["out"] == "snow-1080p-t2.mp4"
    # no seed given: distinct seeds still, in the field's range
    drawn = expand("wan_27_video_edit", {**base, "seed": None}, [], 4, kinds,
                   catalog_checker("wan_27_video_edit", tmp_path))
    seeds = [c.payload["seed"] for c in drawn.cells]
    assert len(set(seeds)) == 4 and all(0 <= s <= 2_147_483_647 for s in seeds)
    # a varied seed: one take per seed, N takes of it would be alike
    vary_seed = parse_vary(kinds, "seed=1,2,3")
    assert vary_seed.values == (1, 2, 3)
    with pytest.raises(SweepError, match="alike"):
        expand("wan_27_video_edit", base, [vary_seed], 2, kinds, lambda p: None)
    for bad, words in (("seed=-1", "not a seed"), ("resolution=8k", "not a value"),
                       ("duration=2.5", "not a value"), ("nope=1", "not a field"),
                       ("resolution=720p,720p", "twice"), ("resolution", "FIELD=V1"),
                       ("video_url=a.mp4", "not a field")):
        with pytest.raises(SweepError, match=words):
            parse_vary(kinds, bad, "wan_27_video_edit")


def test_hostile_input_is_one_line_exit_2(env, capsys):
    tmp_path, payload = env
    nul = tmp_path / "nul.json"
    nul.write_bytes(b'{"prompt": "a\x00b"}')
    for argv, words in (
            (["sweep", "sora", str(payload), "--takes", "2"], "unknown model"),
            (["sweep", "seedance_r2v", str(payload), "--vary", "colour=red"], "not a field"),
            (["sweep", "seedance_r2v", str(payload), "--vary", "duration=four"], "not a value"),
            (["sweep", "seedance_r2v", str(payload), "--takes", "99999999999"], "--takes"),
            (["sweep", "seedance_r2v", str(payload), "--takes", "0"], "--takes"),
            (["sweep", "seedance_r2v", str(payload), "--vary", "duration=4,5,6,7,8,9,10,11",
              "--vary", "aspect_ratio=16:9,9:16,1:1,4:3,3:4", "--takes", "3"], "at most 100"),
            (["sweep", "seedance_r2v", str(payload), "--vary", "duration=4\x005"], "NUL"),
            (["sweep", "seedance_r2v", str(nul), "--takes", "2"], "nul.json"),
            (["sweep", "seedance_r2v", str(payload)], "--vary"),
            (["sweep", "seedance_r2v", str(payload), "--vary", "resolution=480p",
              "--vary", "duration=4", "--vary", "bitrate_mode=high"], "at most 2"),
            (["sweep", "seedance_r2v", str(payload), "--takes", "2", "--idempotency-key",
              "a key"], "idempotency key")):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own errors (app.cli.Parser: one line, exit 2)
            code = e.code
        assert code == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and words in err, (argv, err)
        assert "Traceback" not in err


def test_batch_gate_is_one_decision_over_the_total(sandbox, tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    api = fast_client(sandbox.url)
    known = [Estimate(100, 100, "a"), Estimate(50, 150, "b")]
    unknown = cell_estimate(type("C", (), {"credits": None, "payload": {}})())

    async def main_() -> None:
        try:
            gate = Gate(store, Profile("Work", "api", sandbox.url, confirm_above=200,
                                       daily_cap=260))
            v = await gate.check_batch(api, known)
            assert v.needs_confirm and v.estimate.min == 150 and v.estimate.max == 250
            assert v.takes == 2 and "These 2 takes cost 150–250 cr" in v.message
            assert (await gate.check_batch(api, known, confirmed=True)).allowed
            # under the threshold: no confirmation for the total of the two
            low = Gate(store, Profile("Work", "api", sandbox.url, confirm_above=300, daily_cap=0))
            assert (await low.check_batch(api, known)).reason == "ok"
            # the cap against the total's max (each one alone would fit)
            capped = await gate.check_batch(api, [*known, Estimate(20, 20, "c")],
                                            confirmed=True)
            assert capped.reason == "daily_cap" and "270 credits" in capped.message
            # an unknown price: counted, always confirmed, needs room left under the cap
            v = await low.check_batch(api, [*known, unknown])
            assert v.needs_confirm and v.unknown_count == 1 and "1 of unknown price" in v.message
            full = Gate(store, Profile("Work", "api", sandbox.url, daily_cap=250))
            assert (await full.check_batch(api, [*known, unknown], confirmed=True)
                    ).reason == "daily_cap"
            # the balance against the total: many takes that each fit, together do not
            many = [Estimate(START_CREDITS // 3, START_CREDITS // 3, "x")] * 4
            v = await low.check_batch(api, many, confirmed=True)
            assert v.reason == "balance" and "short" in v.message
            mocks = [Estimate(0, 0, "m", mock=True)] * 3
            assert (await gate.check_batch(api, mocks)).reason == "free"
        finally:
            await api.close()
            store.close()

    run(main_())


def _server_jobs(sandbox) -> int:
    r = httpx.get(f"{sandbox.url}/v1/jobs", headers={"Authorization": f"Bearer {KEY}"})
    return len(r.json()["jobs"])


def test_sweep_sends_once_per_intent_through_the_guard_rails(env, sandbox, capsys,
                                                             monkeypatch):
    from client.test_cli import _add

    tmp_path, payload = env
    work = tmp_path / "work"
    assert _add(monkeypatch, "Work", sandbox.url, KEY, "--session-key", "--confirm-above",
                "500", "--daily-cap", "off") == 0
    capsys.readouterr()
    monkeypatch.setenv("TAKES_API_KEY", KEY)
    argv = ["sweep", "seedance_r2v", str(payload), "--vary", "resolution=480p,720p",
            "--vary", "duration=4,5", "--profile", "Work", "--workdir", str(work),
            "--poll", "0.05", "--idempotency-key", "sweep-intent-1"]
    # the total (108+135+242+303 = 788) passes the threshold: one refusal, nothing sent
    assert main(argv) == 3
    out, err = capsys.readouterr()
    refused = json.loads(out)["refused"]
    assert refused["reason"] == "confirm" and refused["estimate"]["max"] == 788
    assert refused["takes"] == 4 and "--yes" in err and _server_jobs(sandbox) == 0
    assert main([*argv, "--yes"]) == 0
    first = json.loads(capsys.readouterr().out)
    ids = [c["job_id"] for c in first["takes"]]
    assert len(set(ids)) == 4 and all(ids) and _server_jobs(sandbox) == 4
    assert [c["key"] for c in first["takes"]] == [f"sweep-intent-1-c00{i}" for i in range(4)]
    # the same intent again: the same four takes, nothing more sent or charged
    assert main([*argv, "--yes"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [c["job_id"] for c in again["takes"]] == ids and _server_jobs(sandbox) == 4
    rec = SweepBook(tmp_path / "data").get(first["sweep_id"])
    assert rec is not None and rec.fields == ["resolution", "duration"]
    assert rec.job_ids == ids and rec.values("resolution") == ["480p", "720p"]
    assert rec.cell_of(ids[3]).label() == "resolution 720p, duration 5"


def test_cells_the_cap_refuses_while_sending_are_held_unsent(sandbox, tmp_path):
    """The batch check passed, then the cap filled meanwhile: each cell is checked again as it
    is sent, and those that would break it stay unsent, marked why."""
    kinds = field_kinds(MODELS["seedance_r2v"].json_schema())
    sweep = expand("seedance_r2v", {"prompt": "a lighthouse", "out": "l.mp4",
                                    "resolution": "480p"},
                   [parse_vary(kinds, "duration=4,8,12")], 1, kinds,
                   catalog_checker("seedance_r2v", tmp_path))
    assert [c.credits for c in sweep.cells] == [(108, 108), (216, 216), (324, 324)]
    store = JobStore(tmp_path / "jobs.sqlite3")
    profile = Profile("Work", "api", sandbox.url, daily_cap=250)
    manager = JobManager(fast_client(sandbox.url), store, tmp_path / "work", FAST_POLL,
                         profile=profile.name, gate=Gate(store, profile))

    async def main_() -> dict:
        try:
            return await send_cells(manager, store, sweep, "cap-intent", tmp_path / "work")
        finally:
            await manager.close()
            await manager.client.close()
            store.close()

    sent = run(main_())
    assert sent[0].get("job_id") and sent[1].get("job_id") is None
    assert "today's cap" in sent[1]["held"] and "today's cap" in sent[2]["held"]
    assert _server_jobs(sandbox) == 1
