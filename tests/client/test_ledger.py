"""The ledger against a real sandbox: its totals equal the sandbox's own charges and refunds;
a take refused for want of credits reads "not charged"; CSV export; mismatches flagged."""

from __future__ import annotations

import csv
import dataclasses
import io

from app.client import ledger, present
from app.client.manager import JobManager
from app.client.store import JobRecord, JobStore
from app.sandbox.server import SandboxServer
from client.helpers import FAST, FAST_POLL, KEY, PROMPT_ONLY, PROMPT_ONLY_COST, fast_client, run


def test_the_ledger_equals_the_sandboxs_charges_and_refunds(tmp_path):
    cost = PROMPT_ONLY_COST
    with SandboxServer(tmp_path / "sb", key=KEY, **{**FAST, "credits": 300}) as sb:
        async def main() -> dict[str, JobRecord]:
            store = JobStore(tmp_path / "jobs.sqlite3")
            api = fast_client(sb.url)
            m = JobManager(api, store, tmp_path / "work", FAST_POLL)  # no gate: the API refuses
            takes: dict[str, JobRecord] = {}
            try:
                def payload(name: str, **kw: object) -> dict[str, object]:
                    return {**PROMPT_ONLY, "out": f"{name}.mp4", **kw}

                takes["ok"] = await m.wait((await m.submit("seedance_r2v", payload("ok"))).id)
                sb.set_faults(fail_jobs=1)
                takes["failed"] = await m.wait(
                    (await m.submit("seedance_r2v", payload("failed"))).id)
                sb.set_faults(stuck_jobs=1)
                stuck = await m.submit("seedance_r2v", payload("stuck"))
                takes["canceled"] = await m.wait((await m.cancel(stuck.id)).id)
                takes["mock"] = await m.wait(
                    (await m.submit("seedance_r2v", payload("mock", mock=True))).id)
                takes["ok2"] = await m.wait((await m.submit("seedance_r2v", payload("ok2"))).id)
                from app.client.errors import OutOfCredits

                try:
                    await m.submit("seedance_r2v", payload("short"))
                except OutOfCredits:
                    pass
                takes["short"] = next(r for r in store.all_takes()
                                      if r.payload["out"] == "short.mp4")
                return {k: store.get(v.id) for k, v in takes.items()}
            finally:
                await m.close()
                await api.close()
                store.close()

        takes = run(main())
        sandbox_ledger = sb.store.ledger()
        balance = sb.store.balance()

    assert takes["failed"].status == "failed" and takes["canceled"].status == "canceled"
    assert takes["short"].status == "failed" and takes["short"].error_code == \
        "insufficient_credits"
    charges = -sum(e["delta"] for e in sandbox_ledger if e["delta"] < 0)
    refunds = sum(e["delta"] for e in sandbox_ledger if e["delta"] > 0)
    assert (charges, refunds, balance) == (4 * cost, 2 * cost, 300 - 2 * cost)

    store = JobStore(tmp_path / "jobs.sqlite3")
    lines = ledger.rows(store)
    store.close()
    t = ledger.totals(lines)["overall"]
    assert (t["charged"], t["refunded"], t["net"]) == (charges, refunds, charges - refunds)
    assert t["takes"] == 6 and t["mock"] == 1 and t["paid"] == 5 and t["mismatches"] == 0
    assert t["unknown"] == 0
    by_take = {r.take: r for r in lines}
    # per take, the sandbox's own ledger agrees
    for name, rec in takes.items():
        row = by_take[rec.id]
        own = [e["delta"] for e in sandbox_ledger if e["job_id"] == rec.remote_id]
        assert row.charged == -sum(d for d in own if d < 0), name
        assert row.refunded == sum(d for d in own if d > 0), name
    short, failed = by_take[takes["short"].id], by_take[takes["failed"].id]
    assert (short.charged, short.refunded, short.net) == (0, 0, 0)
    assert short.note.startswith("not charged")
    assert (failed.charged, failed.refunded, failed.net) == (cost, cost, 0)
    assert "refunded" in failed.note
    # the queue and history rows read the same
    assert present.credits_text(takes["short"]) == "not charged"
    assert present.credits_text(takes["failed"]) == "refunded"
    assert present.credits_text(takes["canceled"]) == "refunded"
    assert present.credits_text(takes["ok"]) == f"{cost} cr"
    assert present.credits_text(takes["mock"]) == "MOCK · free"

    day = lines[0].day
    totals = ledger.totals(lines)
    assert totals["by_day"][day]["net"] == 2 * cost
    assert totals["by_profile"]["Sandbox"]["charged"] == 4 * cost
    assert totals["by_day_and_profile"] == [{"day": day, "profile": "Sandbox",
                                             **totals["overall"]}]


def test_csv_export_flags_mismatches_and_defuses_formulas(tmp_path):
    store = JobStore(tmp_path / "j.sqlite3")
    fine = JobRecord.new("seedance_r2v", {"out": "a.mp4"}, credits_estimated=120,
                         credits_estimated_min=80, profile="=HYPERLINK(1)")
    fine.status, fine.credits_charged, fine.remote_id = "succeeded", 100, "job_1"
    over = JobRecord.new("seedance_r2v", {"out": "b.mp4"}, credits_estimated=108,
                         profile="Work")
    over.status, over.credits_charged, over.remote_id = "succeeded", 500, "job_2"
    running = JobRecord.new("seedance_r2v", {"out": "c.mp4"}, credits_estimated=108,
                            profile="Work")
    running.status, running.remote_id = "running", "job_3"
    old = JobRecord.new("seedance_r2v", {"out": "d.mp4"}, credits_estimated=108)
    old.status, old.credits_charged = "succeeded", 108
    for rec in (fine, over, running, old):
        store.add(rec)
    store.delete(old.id, keep_row=True)  # removed from the history, still in the ledger
    lines = ledger.rows(store)
    assert [r.take for r in ledger.rows(store, profile="Work")] == [over.id, running.id]
    store.close()
    by = {r.take: r for r in lines}
    assert by[over.id].mismatch and "charged 500, estimated 108" in by[over.id].note
    assert not by[fine.id].mismatch  # within 80–120
    assert by[running.id].charged is None and by[running.id].note == "charge not known yet"
    assert old.id in by
    assert ledger.totals(lines)["overall"]["unknown"] == 1
    buf = io.StringIO()
    assert ledger.write_csv(lines, buf) == 4
    parsed = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert list(parsed[0]) == list(ledger.COLUMNS)
    row = next(r for r in parsed if r["take"] == fine.id)
    assert row["profile"] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    assert (row["estimated_min"], row["estimated_max"], row["charged"], row["net"]) == \
        ("80", "120", "100", "100")
    assert next(r for r in parsed if r["take"] == over.id)["mismatch"] == "yes"
    assert next(r for r in parsed if r["take"] == running.id)["charged"] == ""


def test_a_take_of_a_model_without_a_published_price_is_not_a_mismatch():
    from app.client.ledger import row_of
    from app.client.store import JobRecord

    rec = JobRecord.new("fal-ai/some-video-model", {"prompt": "x", "out": "a.mp4"},
                        credits_estimated=0)
    rec = dataclasses.replace(rec, status="succeeded", credits_charged=50)
    row = row_of(rec)
    assert not row.mismatch and row.charged == 50
    assert row.note.startswith("price unknown until charged: 50")
    curated = dataclasses.replace(rec, model_id="seedance_r2v")  # a curated model at 0: flagged
    assert row_of(curated).mismatch
