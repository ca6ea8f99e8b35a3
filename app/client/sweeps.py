"""The sweeps made, kept in the data folder so that history can show a sweep's contact sheet
after a restart: `<data>/sweeps/<id>.json`, one file per sweep, written whole (a temporary file
then a rename: a crash leaves the old file or the new one, never half of one).

A record holds the model, the varied fields, the number of takes and each cell: its varied
values, take number, whether it was valid (and why not), its estimate, its idempotency key, its
job id once sent, and why it is held when the guard-rails refused it while sending. Qt-free;
the window calls it on the core thread (`studio.read`), `takes sweep` directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FOLDER = "sweeps"
MAX_FILE = 4 * 1024 * 1024
_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class SweepCell:
    index: int
    vary: dict[str, Any]
    take: int
    valid: bool
    errors: list[dict[str, Any]] = field(default_factory=list)
    credits: dict[str, int | None] = field(default_factory=dict)
    key: str | None = None
    job_id: str | None = None
    held: str | None = None  # why the guard-rails kept it unsent (cap, balance), else None

    def label(self, takes: int = 1) -> str:
        words = ", ".join(f"{k} {_shown(v)}" for k, v in self.vary.items())
        if takes > 1:
            return f"{words} · take {self.take}" if words else f"take {self.take}"
        return words or f"take {self.take}"


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class SweepRecord:
    id: str
    model_id: str
    fields: list[str]
    takes: int
    cells: list[SweepCell]
    intent: str = ""
    profile: str | None = None
    created_at: float = 0.0

    @classmethod
    def new(cls, model_id: str, fields: list[str], takes: int, cells: list[SweepCell], *,
            intent: str = "", profile: str | None = None) -> SweepRecord:
        return cls(uuid.uuid4().hex, model_id, list(fields), takes, cells, intent, profile,
                   time.time())

    def cell_of(self, job_id: str) -> SweepCell | None:
        return next((c for c in self.cells if c.job_id == job_id), None)

    @property
    def job_ids(self) -> list[str]:
        return [c.job_id for c in self.cells if c.job_id]

    def values(self, name: str) -> list[Any]:
        """The values of one varied field, in the order of the cells."""
        out: list[Any] = []
        for c in self.cells:
            v = c.vary.get(name)
            if not any(v == o and type(v) is type(o) for o in out):
                out.append(v)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> SweepRecord:
        """A record read back; ValueError for anything that is not one."""
        if not isinstance(data, dict) or not _ID.match(str(data.get("id", ""))):
            raise ValueError("not a sweep record")
        cells = []
        for c in data.get("cells") or []:
            if not isinstance(c, dict) or not isinstance(c.get("vary"), dict):
                raise ValueError("a cell of the sweep record is not an object")
            cells.append(SweepCell(
                int(c.get("index", len(cells))), dict(c["vary"]), int(c.get("take", 1)),
                bool(c.get("valid")), list(c.get("errors") or []), dict(c.get("credits") or {}),
                _text(c.get("key")), _text(c.get("job_id")), _text(c.get("held"))))
        fields = data.get("fields")
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise ValueError("the sweep record's fields are not a list of names")
        return cls(str(data["id"]), str(data.get("model_id", "")), fields,
                   max(1, int(data.get("takes", 1))), cells, str(data.get("intent", "")),
                   _text(data.get("profile")), float(data.get("created_at", 0.0)))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class SweepBook:
    """The sweep records of one data folder."""

    def __init__(self, data_dir: Path | str) -> None:
        self.root = Path(data_dir) / FOLDER

    def path(self, sweep_id: str) -> Path:
        if not _ID.match(sweep_id):
            raise ValueError(f"not a sweep id: {sweep_id[:40]!r}")
        return self.root / f"{sweep_id}.json"

    def save(self, rec: SweepRecord) -> Path:
        path = self.path(rec.id)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump(rec.to_dict(), fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return path

    def get(self, sweep_id: str) -> SweepRecord | None:
        try:
            path = self.path(sweep_id)
            if path.stat().st_size > MAX_FILE:
                return None
            return SweepRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def all(self, profile: str | None = None) -> list[SweepRecord]:
        """Every readable record, newest first (an unreadable file is skipped, not fatal)."""
        try:
            names = sorted(p.stem for p in self.root.glob("*.json"))
        except OSError:
            return []
        found = [r for r in (self.get(n) for n in names if _ID.match(n)) if r is not None]
        if profile is not None:
            found = [r for r in found if r.profile in (None, profile)]
        return sorted(found, key=lambda r: r.created_at, reverse=True)

    def by_job(self, profile: str | None = None) -> dict[str, SweepRecord]:
        """job id → the sweep it belongs to."""
        out: dict[str, SweepRecord] = {}
        for rec in self.all(profile):
            for job_id in rec.job_ids:
                out.setdefault(job_id, rec)
        return out
