"""The job store: every take the user asked for, in SQLite (WAL) under the user data folder.

A row (with its idempotency key) is committed before the job's POST is sent, so a crash at any
point leaves enough to resume without a second charge. The API key is never stored here.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.catalog import roles
from app.catalog.status import STATUSES, TERMINAL
from app.client.paths import data_dir
from app.client.profiles import SANDBOX_NAME


@dataclass
class JobRecord:
    """One take. Times are epoch seconds. `payload` keeps local media paths as chosen."""

    id: str
    model_id: str
    payload: dict[str, Any]
    idempotency_key: str
    remote_id: str | None = None
    status: str = "pending"
    progress: float = 0.0
    error_code: str | None = None
    error_message: str | None = None
    credits_estimated: int = 0
    credits_charged: int | None = None
    mock: bool = False
    created_at: float = field(default_factory=time.time)
    submitted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    result_path: str | None = None
    result: dict[str, Any] | None = None
    favourite: bool = False
    parent_id: str | None = None
    history: list[tuple[str, float]] = field(default_factory=list)
    deleted: bool = False
    #: the profile (connection) the take was made with; takes before profiles: the sandbox
    profile: str = SANDBOX_NAME
    #: the bottom of the estimate (`credits_estimated` is its top); None: as the top
    credits_estimated_min: int | None = None
    #: credits given back (a charge that went down: a cancel, a failure, a time-out)
    credits_refunded: int = 0
    #: requests ahead of this one in the provider's queue, where it says (fal); else None
    queue_position: int | None = None
    #: the user's name for the take ("" : named by its prompt) and its tags
    name: str = ""
    tags: list[str] = field(default_factory=list)
    #: the project the take belongs to (app.client.projects: its id, also its work sub-folder);
    #: "" : no project
    project: str = ""

    @classmethod
    def new(cls, model_id: str, payload: dict[str, Any], **kw: Any) -> JobRecord:
        """A fresh take: new local id, new idempotency key (unless given), history starting at
        'pending'."""
        kw.setdefault("created_at", time.time())
        kw["idempotency_key"] = kw.get("idempotency_key") or str(uuid.uuid4())
        return cls(id=str(uuid.uuid4()), model_id=model_id, payload=payload,
                   mock=bool(payload.get("mock", False)),
                   history=[("pending", kw["created_at"])], **kw)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def prompt(self) -> str:
        return prompt_text(self.payload, self.model_id)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["history"] = [list(h) for h in self.history]
        return d


def prompt_text(payload: dict[str, Any], model_id: str | None = None) -> str:
    """The searchable text of a payload: its prompts (see app.catalog.roles) and its output."""
    parts = [text for _, text in roles.prompt_texts(model_id, payload)]
    if isinstance(payload.get("out"), str):
        parts.append(payload["out"])
    return "\n".join(parts)


_JSON = {"payload", "result", "history", "tags"}
_BOOL = {"mock", "favourite", "deleted"}
_COLUMNS = [f.name for f in fields(JobRecord)]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL UNIQUE,
    remote_id TEXT,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT,
    credits_estimated INTEGER NOT NULL DEFAULT 0,
    credits_charged INTEGER,
    mock INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    submitted_at REAL,
    started_at REAL,
    finished_at REAL,
    result_path TEXT,
    result TEXT,
    favourite INTEGER NOT NULL DEFAULT 0,
    parent_id TEXT,
    history TEXT NOT NULL DEFAULT '[]',
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(deleted, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_model ON jobs(model_id, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_fav ON jobs(favourite, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_remote ON jobs(remote_id);
CREATE INDEX IF NOT EXISTS jobs_parent ON jobs(parent_id);
-- what the manager needs to resume exactly: the bytes POSTed, where the result goes
CREATE TABLE IF NOT EXISTS job_wire (
    id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    body BLOB,
    final_path TEXT
);
"""

#: Schema steps after the first release, in order; `PRAGMA user_version` counts those applied.
_MIGRATIONS = [
    # 1: a cross-process claim on a take (who follows and downloads it, until when)
    "ALTER TABLE job_wire ADD COLUMN claimed_by TEXT;"
    "ALTER TABLE job_wire ADD COLUMN claim_until REAL;",
    # 2: takes belong to a profile (older ones were all made on the sandbox); the ledger
    f"ALTER TABLE jobs ADD COLUMN profile TEXT NOT NULL DEFAULT '{SANDBOX_NAME}';"
    "ALTER TABLE jobs ADD COLUMN credits_estimated_min INTEGER;"
    "ALTER TABLE jobs ADD COLUMN credits_refunded INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX IF NOT EXISTS jobs_profile ON jobs(profile, deleted, created_at DESC);",
    # 3: a provider's queue position (fal says it while a request waits)
    "ALTER TABLE jobs ADD COLUMN queue_position INTEGER;",
    # 4: a take renamed and tagged by the user
    "ALTER TABLE jobs ADD COLUMN name TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';",
    # 5: takes belong to a project ('' : none)
    "ALTER TABLE jobs ADD COLUMN project TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX IF NOT EXISTS jobs_project ON jobs(project, deleted, created_at DESC);",
]
#: a lineage (ancestors and descendants of a take) is read at most this deep and this large
LINEAGE_DEPTH, LINEAGE_SIZE = 64, 400
MAX_NAME, MAX_TAG, MAX_TAGS = 120, 40, 20


def check_label(name: Any = "", tags: Any = ()) -> tuple[str, list[str]]:
    """A take's name and tags as kept (spaces collapsed, tags unique); ValueError says why."""
    if not isinstance(name, str):
        raise ValueError("A name is text.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise ValueError(f"A name has at most {MAX_NAME} characters and no control "
                         "characters.")
    if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
        raise ValueError("Tags are a list of words.")
    kept: list[str] = []
    for t in (" ".join(t.split()) for t in tags):
        if not t:
            continue
        if len(t) > MAX_TAG or "," in t or any(ord(c) < 32 for c in t):
            raise ValueError(f"A tag has at most {MAX_TAG} characters, no commas and no "
                             "control characters.")
        if t.lower() not in (k.lower() for k in kept):
            kept.append(t)
    if len(kept) > MAX_TAGS:
        raise ValueError(f"A take has at most {MAX_TAGS} tags.")
    return name, kept
SCHEMA_VERSION = len(_MIGRATIONS)


def default_path() -> Path:
    return data_dir() / "jobs.sqlite3"


class DuplicateKey(Exception):
    """A take with this idempotency key is already stored (another call or process made it)."""


class JobStore:
    """Thread-safe; every write is committed before the call returns."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def __repr__(self) -> str:
        return f"JobStore({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _migrate(self) -> None:
        """Bring a store written by older code up to `SCHEMA_VERSION` (one process does it;
        the others wait for its transaction). A newer store than this code is refused."""
        with self._atomic():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} was written by a newer Takes (schema "
                                   f"{version}, this one knows {SCHEMA_VERSION})")
            for step in _MIGRATIONS[version:]:
                for statement in filter(str.strip, step.split(";")):
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # ---- writes -------------------------------------------------------------------------

    def add(self, rec: JobRecord, claim: tuple[str, float] | None = None) -> JobRecord:
        """Insert a new take, claimed by `claim` = (owner, lease seconds) in the same
        transaction; `DuplicateKey` if its idempotency key is already stored."""
        row = _to_row(rec)
        row["prompt"] = prompt_text(rec.payload, rec.model_id)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        try:
            with self._atomic():
                self._db.execute(f"INSERT INTO jobs ({cols}) VALUES ({marks})",
                                 list(row.values()))
                if claim is not None:
                    self._db.execute("INSERT INTO job_wire (id, claimed_by, claim_until) "
                                     "VALUES (?, ?, ?)",
                                     (rec.id, claim[0], time.time() + claim[1]))
        except sqlite3.IntegrityError as e:
            if "idempotency_key" not in str(e):
                raise
            raise DuplicateKey(rec.idempotency_key) from None
        return rec

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        """One write transaction (or a part of the caller's, when one is open)."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def update(self, id: str, **changes: Any) -> JobRecord:
        """Change fields of a record; a status change is appended to its history."""
        unknown = set(changes) - set(_COLUMNS) - {"id"}
        if unknown or "id" in changes:
            raise ValueError(f"cannot update {sorted(unknown | ({'id'} & set(changes)))}")
        with self._lock:
            rec = self.get(id)
            if rec is None:
                raise KeyError(id)
            if "status" in changes and changes["status"] != rec.status:
                if changes["status"] not in STATUSES:
                    raise ValueError(f"unknown status {changes['status']!r}")
                history = list(changes.get("history") or rec.history)
                history.append((changes["status"], time.time()))
                changes["history"] = history
            charged = changes.get("credits_charged")
            if isinstance(charged, int) and isinstance(rec.credits_charged, int) and \
                    charged < rec.credits_charged and "credits_refunded" not in changes:
                changes["credits_refunded"] = rec.credits_refunded + rec.credits_charged - \
                    charged  # the API gave credits back
            for k, v in changes.items():
                setattr(rec, k, v)
            row = _to_row(rec)
            if "payload" in changes:
                row["prompt"] = prompt_text(rec.payload, rec.model_id)
            sets = {k: row[k] for k in [*changes, *(["prompt"] if "payload" in changes else [])]}
            assignments = ", ".join(f"{k} = ?" for k in sets)
            self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?",
                             [*sets.values(), id])
        return rec

    def delete(self, id: str, keep_row: bool = False) -> None:
        """Remove a take; `keep_row` only marks it deleted (hidden from queries)."""
        with self._lock:
            if keep_row:
                self._db.execute("UPDATE jobs SET deleted = 1 WHERE id = ?", (id,))
            else:
                self._db.execute("DELETE FROM jobs WHERE id = ?", (id,))

    # ---- the manager's side table -------------------------------------------------------

    def set_wire(self, id: str, *, body: bytes | None = None,
                 final_path: str | None = None) -> None:
        with self._atomic():  # one transaction: a crash leaves both values or neither
            self._db.execute("INSERT INTO job_wire (id) VALUES (?) ON CONFLICT(id) DO NOTHING",
                             (id,))
            if body is not None:
                self._db.execute("UPDATE job_wire SET body = ? WHERE id = ?", (body, id))
            if final_path is not None:
                self._db.execute("UPDATE job_wire SET final_path = ? WHERE id = ?",
                                 (final_path, id))

    # ---- cross-process claims: one process follows and downloads a take ---------------

    def claim(self, id: str, owner: str, lease_s: float, *, steal_from: str | None = None
              ) -> bool:
        """Claim a take for `owner` for `lease_s` seconds: True when it was free, expired,
        already `owner`'s, or held by `steal_from` (a claimer known to be dead)."""
        now = time.time()
        with self._atomic():
            self._db.execute("INSERT INTO job_wire (id) VALUES (?) ON CONFLICT(id) DO NOTHING",
                             (id,))
            cur = self._db.execute(
                "UPDATE job_wire SET claimed_by = ?, claim_until = ? WHERE id = ? AND "
                "(claimed_by IS NULL OR claimed_by = ? OR claimed_by = ? OR claim_until < ?)",
                (owner, now + lease_s, id, owner, steal_from, now))
        return cur.rowcount == 1

    def claimer(self, id: str) -> str | None:
        """Who holds a live claim on a take (None when free or expired)."""
        with self._lock:
            row = self._db.execute("SELECT claimed_by FROM job_wire WHERE id = ? AND "
                                   "claim_until >= ?", (id, time.time())).fetchone()
        return row[0] if row else None

    def renew_claims(self, owner: str, lease_s: float) -> None:
        with self._lock:
            self._db.execute("UPDATE job_wire SET claim_until = ? WHERE claimed_by = ?",
                             (time.time() + lease_s, owner))

    def release(self, owner: str, id: str | None = None) -> None:
        """Give up `owner`'s claim on one take (or on all of them)."""
        sql = "UPDATE job_wire SET claimed_by = NULL, claim_until = NULL WHERE claimed_by = ?"
        with self._lock:
            if id is None:
                self._db.execute(sql, (owner,))
            else:
                self._db.execute(sql + " AND id = ?", (owner, id))

    def wire(self, id: str) -> tuple[bytes | None, str | None]:
        """(the exact body POSTed or to be POSTed, the result's chosen final path)."""
        with self._lock:
            row = self._db.execute("SELECT body, final_path FROM job_wire WHERE id = ?",
                                   (id,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    # ---- reads --------------------------------------------------------------------------

    def get(self, id: str) -> JobRecord | None:
        with self._lock:
            cur = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (id,))
            row = cur.fetchone()
        return _from_row(row) if row else None

    def by_remote_id(self, remote_id: str) -> JobRecord | None:
        return self._one("remote_id", remote_id)

    def by_idempotency_key(self, key: str) -> JobRecord | None:
        """The take made for this intent, if any (deleted ones included: a key is spent)."""
        return self._one("idempotency_key", key)

    def _one(self, column: str, value: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE {column} = ?",
                                   (value,)).fetchone()
        return _from_row(row) if row else None

    def label(self, id: str, name: str | None = None, tags: Any = None) -> JobRecord:
        """Rename and/or tag a take (`check_label`: ValueError for what cannot be kept)."""
        rec = self.get(id)
        if rec is None:
            raise KeyError(id)
        name, tags = check_label(rec.name if name is None else name,
                                 rec.tags if tags is None else tags)
        return self.update(id, name=name, tags=tags)

    def children(self, job_id: str, limit: int = 100) -> list[JobRecord]:
        """The takes made from `job_id` (its result used as their input, or it rendered
        again), newest first (deleted ones left out)."""
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE parent_id = ? AND deleted = 0 "
               "ORDER BY created_at DESC, rowid DESC LIMIT ?")
        with self._lock:
            rows = self._db.execute(sql, [job_id, limit]).fetchall()
        return [_from_row(r) for r in rows]

    def move_to_project(self, ids: Iterable[str], project: str) -> list[JobRecord]:
        """Put takes into `project` ('' : no project), in one transaction; returns the takes
        changed (unknown and deleted ids are skipped). Their files are not moved."""
        if not isinstance(project, str) or "\x00" in project or len(project) > 200:
            raise ValueError("A project is named by a short text.")
        wanted = list(dict.fromkeys(ids))
        with self._atomic():
            for chunk in (wanted[i:i + 500] for i in range(0, len(wanted), 500)):
                self._db.execute(
                    f"UPDATE jobs SET project = ? WHERE deleted = 0 AND id IN "
                    f"({', '.join('?' for _ in chunk)})", [project, *chunk])
        got = [self.get(i) for i in wanted]
        return [r for r in got if r is not None and not r.deleted]

    def drop_project(self, project: str) -> int:
        """Every take of `project` back to no project (the project was deleted; nothing
        else changes). Returns how many, deleted ones included."""
        if not project:
            return 0
        with self._lock:
            return self._db.execute("UPDATE jobs SET project = '' WHERE project = ?",
                                    (project,)).rowcount

    def lineage(self, job_id: str, depth: int = LINEAGE_DEPTH, size: int = LINEAGE_SIZE
                ) -> list[str]:
        """The ids of a take's lineage: itself, what it was made from (its parent, the
        parent's parent…) and what was made from it (children, their children…), walked at
        most `depth` steps each way and `size` takes in all; a take is visited once, so a
        cycle in damaged data ends the walk. Deleted takes are walked through but left out."""
        seen: dict[str, bool] = {}  # id -> deleted
        with self._lock:
            row = self._db.execute("SELECT parent_id, deleted FROM jobs WHERE id = ?",
                                   (job_id,)).fetchone()
            if row is None:
                return []
            seen[job_id] = bool(row[1])
            parent = row[0]
            for _ in range(depth):  # up
                if not parent or parent in seen or len(seen) >= size:
                    break
                up = self._db.execute("SELECT parent_id, deleted FROM jobs WHERE id = ?",
                                      (parent,)).fetchone()
                if up is None:
                    break
                seen[parent] = bool(up[1])
                parent = up[0]
            frontier = [job_id]
            for _ in range(depth):  # down, a generation at a time
                if not frontier or len(seen) >= size:
                    break
                marks = ", ".join("?" for _ in frontier)
                rows = self._db.execute(
                    f"SELECT id, deleted FROM jobs WHERE parent_id IN ({marks}) "
                    "ORDER BY created_at, rowid LIMIT ?", [*frontier, size]).fetchall()
                frontier = []
                for child, deleted in rows:
                    if child not in seen and len(seen) < size:
                        seen[child] = bool(deleted)
                        frontier.append(child)
        return [i for i, deleted in seen.items() if not deleted]

    def query(self, search: str | None = None, model_id: str | None = None,
              status: str | Iterable[str] | None = None, favourite: bool | None = None,
              since: float | None = None, limit: int = 100, offset: int = 0,
              profile: str | None = None, project: str | None = None,
              ids: Iterable[str] | None = None) -> list[JobRecord]:
        """Records matching every filter given, newest first (deleted ones left out);
        `profile`: only that profile's takes; `project`: only that project's ('' : the takes
        of no project); `ids`: only these takes (a lineage)."""
        where, args = _filters(search, model_id, status, favourite, since, profile, project,
                               ids)
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE {where} "
               "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?")
        with self._lock:
            rows = self._db.execute(sql, [*args, limit, offset]).fetchall()
        return [_from_row(r) for r in rows]

    def count(self, search: str | None = None, model_id: str | None = None,
              status: str | Iterable[str] | None = None, favourite: bool | None = None,
              since: float | None = None, profile: str | None = None,
              project: str | None = None, ids: Iterable[str] | None = None) -> int:
        where, args = _filters(search, model_id, status, favourite, since, profile, project,
                               ids)
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM jobs WHERE {where}",
                                        args).fetchone()[0])

    def unfinished(self, profile: str | None = None) -> list[JobRecord]:
        """Takes still to follow: not confirmed, being sent (a provider without idempotency
        keys: the manager marks it unknown, never re-sends it), queued, running, or done but
        not downloaded (`profile`: only that profile's, which only its own connection can
        follow)."""
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE deleted = 0 AND "
               "(status IN ('pending', 'sending', 'queued', 'running') OR "
               "(status = 'succeeded' AND result_path IS NULL AND result IS NOT NULL))" +
               (" AND profile = ?" if profile is not None else "") + " ORDER BY created_at")
        with self._lock:
            rows = self._db.execute(sql, [] if profile is None else [profile]).fetchall()
        return [_from_row(r) for r in rows]

    def all_takes(self, profile: str | None = None, since: float | None = None
                  ) -> list[JobRecord]:
        """Every take, deleted ones included (their credits were spent), oldest first: the
        ledger's rows."""
        clauses, args = ["1"], []
        if profile is not None:
            clauses.append("profile = ?")
            args.append(profile)
        if since is not None:
            clauses.append("created_at >= ?")
            args.append(since)
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE {' AND '.join(clauses)} "
               "ORDER BY created_at, rowid")
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_from_row(r) for r in rows]

    def spent(self, profile: str, start: float, end: float) -> int:
        """Credits a profile's paid takes made in [start, end) spent or hold: what was
        charged once the API said so, the estimate's top until then; nothing for a take that
        ended without a charge (deleted takes count: their credits were spent)."""
        sql = ("SELECT COALESCE(SUM(CASE WHEN credits_charged IS NOT NULL AND status != "
               "'pending' THEN credits_charged WHEN status IN ('failed', 'canceled', "
               "'timed_out', 'succeeded') THEN COALESCE(credits_charged, 0) ELSE "
               "credits_estimated END), 0) FROM jobs WHERE profile = ? AND mock = 0 AND "
               "created_at >= ? AND created_at < ?")
        with self._lock:
            return int(self._db.execute(sql, (profile, start, end)).fetchone()[0])

    def uses_out(self, out: str) -> bool:
        """Whether a stored take (not deleted) is saved or will be saved under `out`."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM jobs WHERE deleted = 0 AND "
                                   "json_extract(payload, '$.out') = ? LIMIT 1",
                                   (out,)).fetchone()
        return row is not None


def _filters(search: str | None, model_id: str | None, status: str | Iterable[str] | None,
             favourite: bool | None, since: float | None, profile: str | None = None,
             project: str | None = None, ids: Iterable[str] | None = None
             ) -> tuple[str, list[Any]]:
    clauses = ["deleted = 0"]
    args: list[Any] = []
    if profile is not None:
        clauses.append("profile = ?")
        args.append(profile)
    if project is not None:
        clauses.append("project = ?")
        args.append(project)
    if ids is not None:
        wanted = list(dict.fromkeys(ids))[:LINEAGE_SIZE]
        clauses.append(f"id IN ({', '.join('?' for _ in wanted)})" if wanted else "0")
        args += wanted
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("(prompt LIKE ? ESCAPE '\\' OR model_id LIKE ? ESCAPE '\\' OR "
                       "name LIKE ? ESCAPE '\\' OR tags LIKE ? ESCAPE '\\')")
        args += [f"%{escaped}%"] * 4
    if model_id:
        clauses.append("model_id = ?")
        args.append(model_id)
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        clauses.append(f"status IN ({', '.join('?' for _ in wanted)})")
        args += wanted
    if favourite is not None:
        clauses.append("favourite = ?")
        args.append(int(favourite))
    if since is not None:
        clauses.append("created_at >= ?")
        args.append(since)
    return " AND ".join(clauses), args


def _to_row(rec: JobRecord) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in _COLUMNS:
        v = getattr(rec, name)
        if name in _JSON:
            v = None if v is None else json.dumps(v, ensure_ascii=False)
        elif name in _BOOL:
            v = int(bool(v))
        row[name] = v
    return row


def _from_row(row: tuple[Any, ...]) -> JobRecord:
    values: dict[str, Any] = {}
    for name, v in zip(_COLUMNS, row, strict=True):
        if name in _JSON:
            v = None if v is None else json.loads(v)
        elif name in _BOOL:
            v = bool(v)
        values[name] = v
    values["history"] = [(s, t) for s, t in values["history"] or []]
    return JobRecord(**values)
