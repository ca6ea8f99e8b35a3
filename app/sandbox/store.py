"""The sandbox's state in SQLite (WAL): balance, jobs, idempotency keys, uploads, a ledger.

One connection shared by the server's threads behind a lock: every method is one short
transaction, so a charge and the job it pays for are committed together. The API key is
never stored here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.catalog.status import TERMINAL, UNFINISHED

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    credits_charged INTEGER NOT NULL DEFAULT 0,
    mock INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    error_code TEXT,
    error_message TEXT,
    result TEXT,
    payload TEXT NOT NULL,
    plan TEXT NOT NULL,
    fate TEXT NOT NULL DEFAULT 'ok',
    webhook_url TEXT,
    idempotency_key TEXT
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    job_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    name TEXT PRIMARY KEY,
    original_name TEXT,
    info TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT,
    delta INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
"""



class InsufficientCredits(Exception):
    def __init__(self, needed: int, balance: int) -> None:
        super().__init__(f"needs {needed} credits, balance {balance}")
        self.needed = needed
        self.balance = balance


class IdempotencyConflict(Exception):
    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


class Store:
    def __init__(self, path: Path, starting_credits: int) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('balance', ?)",
                       (str(int(starting_credits)),))

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- balance ------------------------------------------------------------------------

    def balance(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='balance'").fetchone()
            return int(row["value"])

    def ledger(self, job_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if job_id is None:
                rows = self._db.execute("SELECT * FROM ledger ORDER BY seq").fetchall()
            else:
                rows = self._db.execute("SELECT * FROM ledger WHERE job_id=? ORDER BY seq",
                                        (job_id,)).fetchall()
            return [dict(r) for r in rows]

    def _add_balance(self, db: sqlite3.Connection, delta: int, job_id: str | None,
                     reason: str) -> None:
        db.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) "
                   "WHERE key='balance'", (delta,))
        db.execute("INSERT INTO ledger(job_id, delta, reason, at) VALUES (?, ?, ?, ?)",
                   (job_id, delta, reason, time.time()))

    # ---- idempotency --------------------------------------------------------------------

    def idempotent_job(self, key: str) -> tuple[str, str] | None:
        """(fingerprint, job id) stored under an idempotency key."""
        with self._lock:
            row = self._db.execute("SELECT fingerprint, job_id FROM idempotency WHERE key=?",
                                   (key,)).fetchone()
            return (row["fingerprint"], row["job_id"]) if row else None

    # ---- jobs ---------------------------------------------------------------------------

    def create_job(self, job: dict[str, Any], cost: int, idempotency: tuple[str, str] | None
                   ) -> tuple[dict[str, Any], bool]:
        """Charge and insert a job atomically. Returns (job row, created). With an
        idempotency (key, fingerprint) already used: the original job (same fingerprint) or
        IdempotencyConflict."""
        with self._tx() as db:
            if idempotency is not None:
                key, fingerprint = idempotency
                row = db.execute("SELECT fingerprint, job_id FROM idempotency WHERE key=?",
                                 (key,)).fetchone()
                if row is not None:
                    if row["fingerprint"] != fingerprint:
                        raise IdempotencyConflict(row["job_id"])
                    existing = self._get(db, row["job_id"])
                    assert existing is not None
                    return existing, False
            balance = int(db.execute("SELECT value FROM meta WHERE key='balance'")
                          .fetchone()["value"])
            if cost > balance:
                raise InsufficientCredits(cost, balance)
            db.execute(
                "INSERT INTO jobs(id, model, status, progress, credits_charged, mock, created_at,"
                " payload, plan, fate, webhook_url, idempotency_key) "
                "VALUES (?, ?, 'queued', 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job["id"], job["model"], cost, int(job["mock"]), job["created_at"],
                 json.dumps(job["payload"]), json.dumps(job["plan"]), job["fate"],
                 job.get("webhook_url"), idempotency[0] if idempotency else None),
            )
            if cost:
                self._add_balance(db, -cost, job["id"], "charge")
            if idempotency is not None:
                db.execute("INSERT INTO idempotency(key, fingerprint, job_id, created_at) "
                           "VALUES (?, ?, ?, ?)", (*idempotency, job["id"], time.time()))
            row = self._get(db, job["id"])
            assert row is not None
            return row, True

    def _get(self, db: sqlite3.Connection, job_id: str) -> dict[str, Any] | None:
        row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _row(row) if row else None

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._get(self._db, job_id)

    def list_jobs(self, status: str | None, limit: int, before_seq: int | None
                  ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM jobs WHERE 1=1"
        args: list[Any] = []
        if status:
            sql += " AND status=?"
            args.append(status)
        if before_seq is not None:
            sql += " AND seq<?"
            args.append(before_seq)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            return [_row(r) for r in self._db.execute(sql, args).fetchall()]

    def unfinished(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE status IN ('queued','running') "
                                    "ORDER BY seq").fetchall()
            return [_row(r) for r in rows]

    def start_job(self, job_id: str, at: float) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE jobs SET status='running', started_at=? "
                             "WHERE id=? AND status='queued'", (at, job_id))
            return cur.rowcount == 1

    def finish_job(self, job_id: str, status: str, *, progress: float,
                   result: dict[str, Any] | None = None, error: tuple[str, str] | None = None,
                   refund: bool = False) -> bool:
        """Move an unfinished job to a terminal status (no-op when it already finished).
        With `refund`, its credits go back to the balance and `credits_charged` becomes 0."""
        assert status in TERMINAL
        with self._tx() as db:
            row = db.execute("SELECT status, credits_charged FROM jobs WHERE id=?",
                             (job_id,)).fetchone()
            if row is None or row["status"] not in UNFINISHED:
                return False
            charged = int(row["credits_charged"])
            db.execute(
                "UPDATE jobs SET status=?, progress=?, finished_at=?, result=?, error_code=?, "
                "error_message=?, credits_charged=? WHERE id=?",
                (status, progress, time.time(), json.dumps(result) if result else None,
                 error[0] if error else None, error[1] if error else None,
                 0 if refund else charged, job_id),
            )
            if refund and charged:
                self._add_balance(db, charged, job_id, f"refund ({status})")
            return True

    # ---- uploads ------------------------------------------------------------------------

    def add_upload(self, name: str, original_name: str | None, info: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO uploads(name, original_name, info, created_at) "
                       "VALUES (?, ?, ?, ?)", (name, original_name, json.dumps(info),
                                               time.time()))

    def upload(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT info FROM uploads WHERE name=?", (name,)).fetchone()
            return json.loads(row["info"]) if row else None


def _row(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    for k in ("payload", "plan", "result"):
        if d.get(k):
            d[k] = json.loads(d[k])
    return d
