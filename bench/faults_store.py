"""SIGKILL during job store writes: a child writes to a `JobStore` in a loop (add with a claim,
update, set_wire, claim/renew/release, soft and hard delete) and is killed at a random moment;
after each kill the store is opened again and checked.

    python3 bench/faults_store.py [KILLS] [--seed N]    # prints one JSON line of counts

Each child is forked from this process (no threads here, nothing imported but the store), so a
kill costs milliseconds and 1,000 of them take about two minutes here. The child announces each
write on a pipe and confirms it once it returned (committed). After each kill:

- `PRAGMA integrity_check` must say ok;
- every job reported as added is there (unless reported deleted) and readable (`get`, `query`);
- no row is half-written: each update writes one step number `k` into four columns of the
  row (progress, status, error_message, result) and each wire write its own step number into
  the body and the final path: a row whose columns disagree is counted (once);
- every row is in the state the confirmed writes left it, except the one write the kill cut
  (announced, not confirmed), whose row may be in either state.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIVE_ROWS = 40  # the child hard-deletes the oldest rows beyond this many
STATUSES = ("queued", "running", "succeeded")


@dataclass
class StoreCounts:
    kills: int = 0
    lost: int = 0  # committed jobs missing or unreadable
    duplicates: int = 0  # rows sharing an idempotency key
    partial: int = 0  # half-written rows, rows no write explains, integrity_check failures
    writes: int = 0  # writes reported committed, all children together
    note: str = ""


# ---- the child: writes until it is killed ---------------------------------------------


def _step_fields(k: int) -> dict[str, Any]:
    """Everything one update writes: `k` in several columns of one row."""
    return {"progress": float(k), "error_message": f"k={k}",
            "result": {"k": k, "pad": "x" * (k % 40 * 25)},
            "status": STATUSES[k % len(STATUSES)]}


def _wire_body(k: int) -> bytes:
    return f"<{k}>".encode() * (1 + k % 30)


def child(path: Path, fd: int, seed: int) -> None:
    """Write forever; each write is announced on `fd` before (`try …`) and confirmed after
    it returned (`ok`), so the parent knows the one write a kill may have cut."""
    from app.client.store import JobRecord, JobStore

    rng = random.Random(seed)
    store = JobStore(path)
    owner = f"bench:{os.getpid()}:x"

    def report(*parts: object) -> None:
        os.write(fd, (" ".join(map(str, parts)) + "\n").encode())

    live = [r.id for r in store.query(limit=10_000)]
    n = 0
    while True:
        n += 1
        op = rng.random()
        if op < 0.2 or not live:
            rec = JobRecord.new("seedance_r2v", {"prompt": f"take {seed}-{n}", "out": "a.mp4"})
            rec.id = f"{seed}-{n}"
            report("try add", rec.id)
            store.add(rec, claim=(owner, 30.0))
            live.append(rec.id)
        elif op < 0.6:
            jid = rng.choice(live)
            k = int(store.get(jid).progress) + 1  # type: ignore[union-attr]
            report("try upd", jid, k)
            store.update(jid, **_step_fields(k))
        elif op < 0.8:
            jid = rng.choice(live)
            k = _body_step(store.wire(jid)[0]) + 1
            report("try wire", jid, k)
            store.set_wire(jid, body=_wire_body(k), final_path=f"/w/{jid}-{k}.mp4")
        elif op < 0.9:
            jid = rng.choice(live)
            report("try claim", jid)
            store.claim(jid, owner, 30.0)
            store.renew_claims(owner, 30.0)
            store.release(owner, jid)
        elif len(live) > LIVE_ROWS:
            jid = live.pop(0)
            report("try gone", jid)
            store.delete(jid)
        else:
            jid = rng.choice(live)
            report("try hide", jid)
            store.delete(jid, keep_row=True)
            live.remove(jid)
        report("ok")


def _body_step(body: bytes | None) -> int:
    if not body:
        return 0
    head = body.split(b">", 1)[0].lstrip(b"<")
    return int(head)


# ---- the parent: kill, open, check ------------------------------------------------------


@dataclass
class Row:
    k: int = 0
    wire: int = 0
    hidden: bool = False


def _read_reports(fd: int) -> list[list[str]]:
    chunks = []
    while True:
        data = os.read(fd, 1 << 16)
        if not data:
            break
        chunks.append(data)
    text = b"".join(chunks).decode()
    return [line.split() for line in text.splitlines() if line.strip()]


def _apply(model: dict[str, Row], reports: list[list[str]]) -> list[str] | None:
    """Apply the confirmed writes to `model`; returns the one a kill cut (if any)."""
    pending: list[str] | None = None
    for line in reports:
        if line[0] == "try":
            pending = line[1:]
        elif line == ["ok"] and pending is not None:
            _apply_one(model, pending)
            pending = None
    return pending


def _apply_one(model: dict[str, Row], write: list[str]) -> None:
    op, jid, *rest = write
    if op == "add":
        model[jid] = Row()
    elif jid not in model:
        return
    elif op == "upd":
        model[jid].k = int(rest[0])
    elif op == "wire":
        model[jid].wire = int(rest[0])
    elif op == "hide":
        model[jid].hidden = True
    elif op == "gone":
        model.pop(jid, None)


def _actual(path: Path) -> tuple[str, dict[str, Row], set[str], int, list[str]]:
    """(integrity, rows as found, ids of half-written rows, duplicate keys, unreadable ids)."""
    from app.client.store import JobStore

    store = JobStore(path)  # opening after a kill: WAL recovery, migrations
    try:
        integrity = store._db.execute("PRAGMA integrity_check").fetchone()[0]
        ids = [r[0] for r in store._db.execute("SELECT id FROM jobs")]
        dup = store._db.execute("SELECT COUNT(*) - COUNT(DISTINCT idempotency_key) FROM jobs"
                                ).fetchone()[0]
        rows: dict[str, Row] = {}
        half: set[str] = set()
        unreadable: list[str] = []
        for jid in ids:
            try:
                rec = store.get(jid)
                body, final = store.wire(jid)
            except (ValueError, TypeError, sqlite3.Error):
                unreadable.append(jid)
                continue
            if rec is None:
                unreadable.append(jid)
                continue
            k = int(rec.progress)
            if k and (rec.error_message != f"k={k}" or (rec.result or {}).get("k") != k
                      or rec.status != STATUSES[k % len(STATUSES)]):
                half.add(jid)
            wire = _body_step(body)
            if body and (body != _wire_body(wire) or final != f"/w/{jid}-{wire}.mp4"):
                half.add(jid)
            rows[jid] = Row(k, wire, rec.deleted)
        visible = {r.id for r in store.query(limit=100_000)}
        if visible != {j for j, r in rows.items() if not r.hidden}:
            unreadable.append("query")
    finally:
        store.close()
    return integrity, rows, half, int(dup), unreadable


def _compare(model: dict[str, Row], found: dict[str, Row], cut: list[str] | None
             ) -> tuple[int, int]:
    """(committed jobs lost or older than confirmed, rows in a state no write explains).
    The write a kill cut may have happened or not: its row may be in either state."""
    after = {j: Row(**asdict(r)) for j, r in model.items()}
    if cut is not None:
        _apply_one(after, cut)
    lost = unexplained = 0
    for jid in model.keys() | found.keys():
        want, got = model.get(jid), found.get(jid)
        if got == want or (cut is not None and jid == cut[1] and got == after.get(jid)):
            continue
        if want is not None and (got is None or got.k < want.k or got.wire < want.wire):
            lost += 1
        else:
            unexplained += 1
    return lost, unexplained


def run(kills: int, root: Path, seed: int = 1, max_delay_s: float = 0.04) -> StoreCounts:
    """`kills` children, each SIGKILLed at a random moment, the store checked after each."""
    rng = random.Random(seed)
    path = root / "jobs.sqlite3"
    counts = StoreCounts()
    model: dict[str, Row] = {}
    notes: list[str] = []
    seen_bad: set[str] = set()
    for i in range(kills):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns
            os.close(r)
            try:
                child(path, w, seed * 100_000 + i)
            finally:
                os._exit(3)
        os.close(w)
        time.sleep(rng.uniform(0.002, max_delay_s))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        reports = _read_reports(r)
        os.close(r)
        counts.kills += 1
        counts.writes += sum(1 for line in reports if line == ["ok"])
        if not os.WIFSIGNALED(status):
            counts.partial += 1
            notes.append(f"kill {i}: the child ended by itself ({status})")
        cut = _apply(model, reports)
        integrity, found, bad, dup, unreadable = _actual(path)
        half = len(bad - seen_bad)  # a half-written row counts once, not at every check
        seen_bad |= bad
        lost, ahead = _compare(model, found, cut)
        counts.lost += lost + len(unreadable)
        counts.duplicates += dup
        counts.partial += half + ahead + int(integrity != "ok")
        if lost or unreadable or dup or half or ahead or integrity != "ok":
            notes.append(f"kill {i}: integrity {integrity!r}, lost {lost}, unreadable "
                         f"{unreadable[:3]}, half-written {half}, unexplained {ahead}")
        model = found  # the truth after recovery is where the next child starts
    counts.note = "; ".join(notes[:5])
    return counts


def main(argv: list[str]) -> int:
    kills = int(argv[0]) if argv and argv[0].isdigit() else 1000
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    with tempfile.TemporaryDirectory(prefix="takes-store-kills-") as d:
        t = time.monotonic()
        counts = run(kills, Path(d), seed)
        elapsed = time.monotonic() - t
    print(json.dumps({**asdict(counts), "seconds": round(elapsed, 1)}), flush=True)
    return 0 if counts.lost == counts.duplicates == counts.partial == 0 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
